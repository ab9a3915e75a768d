"""The upload queue on the Qt side: a tree model of the rows, and the controller that runs them.

The controller runs one entry at a time as two TaskRunner jobs: "Upload …" streams the bytes
on an HTTP thread (``uploads_run.send_entry``, cancellable: Pause and Cancel stop it), then
"Add … to …" creates the activity on the cache-writer thread (``uploads_run.finish_entry``).
Per-file progress is read from a shared :class:`LiveProgress` on a timer while bytes move, so
no signal is sent per chunk. The queue lives in the cache: it is restored (and interrupted
uploads re-queued) whenever a profile opens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from lms_console.models.session import ConnectionSession, Online
from lms_console.services import uploads_store as store
from lms_console.services.lms.errors import AuthExpired, LmsError
from lms_console.services.uploads import (
    Dropped,
    DropTarget,
    Kind,
    LiveProgress,
    State,
    UploadItem,
    describe_total,
    plan_drop,
)
from lms_console.services.uploads_names import human_size
from lms_console.services.uploads_run import (
    cancel_rows,
    finish_entry,
    record_send,
    retry_rows,
    send_entry,
    to_send,
)

COLUMNS = ("Name", "Destination", "Size", "Progress", "Speed", "Status")
COL_PROGRESS, COL_SPEED, COL_STATUS = 3, 4, 5
ProgressRole = Qt.ItemDataRole.UserRole + 1  # 0..1, -1 unknown (ProgressDelegate)
DelegateStateRole = Qt.ItemDataRole.UserRole + 3  # queued | running | done | failed | cancelled
ItemRole = Qt.ItemDataRole.UserRole + 30
IconRole = Qt.ItemDataRole.UserRole + 2
_Index = QModelIndex | QPersistentModelIndex
POLL_MS = 250


@dataclass(eq=False, slots=True)
class _Row:
    item_id: int
    parent: _Row | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class QueueTotals:
    sent: int
    total: int
    speed: float
    done: int
    pending: int
    failed: int
    refused: int

    def text(self) -> str:
        if not (self.done or self.pending or self.failed or self.refused):
            return "No uploads. Drop files, folders or links onto a section or an activity."
        parts = [f"{self.done} of {self.done + self.pending + self.failed} done"]
        if self.total:
            parts.append(f"{human_size(self.sent)} of {human_size(self.total)}")
        if self.speed > 1:
            parts.append(f"{human_size(self.speed)}/s")
            if self.total > self.sent:
                parts.append(f"about {eta(max(self.total - self.sent, 0) / self.speed)} left")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.refused:
            parts.append(f"{self.refused} refused")
        return " · ".join(parts)


def eta(seconds: float) -> str:
    if seconds < 60:
        return f"{max(int(seconds), 1)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"


class UploadQueueModel(QAbstractItemModel):
    """The queue as a tree: files, folders and links at the top; a folder's files under it.

    Roles: ``ProgressRole`` / ``DelegateStateRole`` for the progress delegate, ``ItemRole``
    (the UploadItem), ``IconRole`` (an icon name). Signals: none beyond QAbstractItemModel's.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: dict[int, UploadItem] = {}
        self._top: list[_Row] = []
        self._kids: dict[int, list[_Row]] = {}
        self._rows: dict[int, _Row] = {}
        self._live: dict[int, tuple[int, int, float]] = {}
        self.paused = False
        self.waiting = ""
        self.busy: set[int] = set()  # rows whose activity is being created now

    # -- content ----------------------------------------------------------------------------
    def set_items(self, items: Iterable[UploadItem]) -> None:
        self.beginResetModel()
        self._items, self._top, self._kids, self._rows = {}, [], {}, {}
        for item in items:
            self._place(item)
        self.endResetModel()

    def _place(self, item: UploadItem) -> _Row:
        self._items[item.id] = item
        if item.parent is None:
            row = _Row(item.id, None, len(self._top))
            self._top.append(row)
        else:
            parent = self._rows[item.parent]
            siblings = self._kids.setdefault(item.parent, [])
            row = _Row(item.id, parent, len(siblings))
            siblings.append(row)
        self._rows[item.id] = row
        return row

    def add(self, items: Sequence[UploadItem]) -> None:
        """New rows (entries followed by their children, as the store returns them)."""
        for item in items:
            if item.id in self._items:
                continue
            if item.parent is None:
                self.beginInsertRows(QModelIndex(), len(self._top), len(self._top))
                self._place(item)
                self.endInsertRows()
            elif item.parent in self._rows:
                parent = self._rows[item.parent]
                n = len(self._kids.get(item.parent, []))
                self.beginInsertRows(self.createIndex(parent.row, 0, parent), n, n)
                self._place(item)
                self.endInsertRows()

    def update(self, items: Iterable[UploadItem]) -> None:
        for item in items:
            if item.id not in self._items:
                self.add([item])
                continue
            self._items[item.id] = item
            self._changed(item.id)

    def _changed(self, item_id: int) -> None:
        row = self._rows.get(item_id)
        if row is not None:
            self.dataChanged.emit(self.createIndex(row.row, 0, row), self.createIndex(row.row, len(COLUMNS) - 1, row))

    def set_live(self, live: dict[int, tuple[int, int, float]]) -> None:
        changed = set(live) | set(self._live)
        self._live = dict(live)
        for item_id in changed:
            self._changed(item_id)
            item = self._items.get(item_id)
            if item is not None and item.parent is not None:
                self._changed(item.parent)

    def set_flags(self, *, paused: bool | None = None, waiting: str | None = None) -> None:
        if paused is not None:
            self.paused = paused
        if waiting is not None:
            self.waiting = waiting
        for item_id, item in self._items.items():
            if item.state == State.QUEUED:
                self._changed(item_id)

    def item(self, item_id: int) -> UploadItem | None:
        return self._items.get(item_id)

    def items(self) -> list[UploadItem]:
        return list(self._items.values())

    def entry_and_children(self, item_id: int) -> tuple[UploadItem, list[UploadItem]]:
        item = self._items[item_id]
        entry = self._items[item.parent] if item.parent is not None else item
        return entry, [self._items[r.item_id] for r in self._kids.get(entry.id, [])]

    def next_pending(self, skip: set[int] = frozenset()) -> int | None:
        for row in self._top:
            entry = self._items[row.item_id]
            if entry.id in skip:
                continue
            kids = [self._items[r.item_id] for r in self._kids.get(entry.id, [])]
            if entry.state in (State.QUEUED, State.UPLOADED, State.CREATING):
                return entry.id
            if entry.cmid is not None and any(k.state in (State.QUEUED, State.UPLOADED) for k in kids):
                return entry.id
        return None

    def totals(self) -> QueueTotals:
        items = list(self._items.values())
        sent, total, speed = describe_total(items, self._live)
        counted = [i for i in items if i.kind in (Kind.FILE, Kind.CHILD, Kind.URL)]
        return QueueTotals(sent, total, speed,
                           sum(1 for i in counted if i.state == State.DONE),
                           sum(1 for i in counted if not i.state.final),
                           sum(1 for i in counted if i.state in (State.FAILED, State.CANCELLED)),
                           sum(1 for i in counted if i.state == State.REFUSED))

    def index_of(self, item_id: int, column: int = 0) -> QModelIndex:
        row = self._rows.get(item_id)
        return self.createIndex(row.row, column, row) if row is not None else QModelIndex()

    # -- presentation ------------------------------------------------------------------------------
    def _progress(self, item: UploadItem) -> float:
        if item.kind == Kind.FOLDER:
            kids = [self._items[r.item_id] for r in self._kids.get(item.id, [])]
            sent, total, _ = describe_total(kids, self._live)
            if item.state == State.DONE:
                return 1.0
            return sent / total if total else -1.0
        if item.state in (State.DONE, State.UPLOADED, State.CREATING):
            return 1.0
        live = self._live.get(item.id)
        if live is not None and item.state in (State.QUEUED, State.UPLOADING) and live[1]:
            return min(live[0] / live[1], 1.0)
        return -1.0  # waiting or given up: no bar

    def _delegate_state(self, item: UploadItem) -> str:
        if item.state == State.DONE:
            return "done"
        if item.state in (State.FAILED, State.REFUSED):
            return "failed"
        if item.state == State.CANCELLED:
            return "cancelled"
        if item.id in self._live or item.state in (State.UPLOADING, State.CREATING) or item.id in self.busy:
            return "running"
        return "queued"

    def status_text(self, item: UploadItem) -> str:
        live = self._live.get(item.id)
        if item.state == State.QUEUED:
            if live is not None:
                return f"Uploading {min(live[0] / live[1], 1.0):.0%}" if live[1] else "Uploading"
            if item.id in self.busy:
                return "Checking the section…"
            if self.waiting:
                return "Waiting for the site"
            return "Paused" if self.paused else ("Interrupted: will be sent again" if item.message else "Queued")
        text = {State.UPLOADING: "Uploading", State.UPLOADED: "Uploaded; creating the activity…",
                State.CREATING: "Creating the activity…", State.DONE: "Done", State.FAILED: "Failed",
                State.REFUSED: "Not sent", State.CANCELLED: "Cancelled"}[item.state]
        if item.state == State.DONE and item.kind == Kind.FOLDER:
            kids = [self._items[r.item_id] for r in self._kids.get(item.id, [])]
            bad = sum(1 for k in kids if k.state in (State.FAILED, State.REFUSED, State.CANCELLED))
            if bad:
                text = f"Done, {bad} file(s) not added"
        if item.message and item.state in (State.FAILED, State.REFUSED, State.CANCELLED):
            return f"{text}: {item.message}"
        return text

    def _tooltip(self, item: UploadItem) -> str:
        lines = [item.source if item.kind != Kind.CHILD else f"{item.source}\n→ {item.relpath}{item.filename}"]
        if item.message:
            lines.append(item.message)
        if item.note:
            lines.append(item.note)
        if item.cmid and item.state == State.DONE:
            lines.append(f"Activity id {item.cmid} on the site.")
        return "\n".join(lines)

    def _speed(self, item: UploadItem) -> str:
        live = self._live.get(item.id)
        if item.kind == Kind.FOLDER:
            speed = sum(self._live[r.item_id][2] for r in self._kids.get(item.id, []) if r.item_id in self._live)
        else:
            speed = live[2] if live else 0.0
        return f"{human_size(speed)}/s" if speed > 1 else ""

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.internalPointer()
        item = self._items.get(row.item_id) if isinstance(row, _Row) else None
        if item is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return item.label() if item.kind == Kind.CHILD else item.name
            if col == 1:
                return "" if item.kind == Kind.CHILD else item.destination
            if col == 2:
                return human_size(item.size) if item.size else ""
            if col == COL_SPEED:
                return self._speed(item)
            if col == COL_STATUS:
                return self.status_text(item)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item)
        if role == ProgressRole:
            return self._progress(item) if col == COL_PROGRESS else None
        if role == DelegateStateRole:
            return self._delegate_state(item)
        if role == ItemRole:
            return item
        if role == IconRole and col == 0:
            return {Kind.FOLDER: "activity-folder", Kind.URL: "activity-url"}.get(item.kind, "activity-resource")
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, COL_SPEED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- Qt model API -----------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not 0 <= column < len(COLUMNS):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, self._top[row]) if 0 <= row < len(self._top) else QModelIndex()
        if parent.column() != 0:
            return QModelIndex()
        prow = parent.internalPointer()
        kids = self._kids.get(prow.item_id, []) if isinstance(prow, _Row) and prow.parent is None else []
        return self.createIndex(row, column, kids[row]) if 0 <= row < len(kids) else QModelIndex()

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        row = index.internalPointer()
        if not isinstance(row, _Row) or row.parent is None:
            return QModelIndex()
        return self.createIndex(row.parent.row, 0, row.parent)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        if not parent.isValid():
            return len(self._top)
        if parent.column() != 0:
            return 0
        prow = parent.internalPointer()
        return len(self._kids.get(prow.item_id, [])) if isinstance(prow, _Row) and prow.parent is None else 0

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None


class UploadController(QObject):
    """Runs the upload queue of the open profile.

    Signals:
        state_changed(str): idle | running | paused | waiting.
        drop_refused(str): a drop (or part of it) cannot go to this site: why, and what it needs.
        contents_changed(int): a course's contents changed on the site and in the cache (its id).
        entry_finished(object): an entry reached a final state (its UploadItem).
        problem_occurred(object): an LmsError to show (the token was refused, ...).
        progress_changed(): bytes moved (the totals changed); emitted at most 4 times a second.
    """

    state_changed = Signal(str)
    drop_refused = Signal(str)
    contents_changed = Signal(int)
    entry_finished = Signal(object)
    problem_occurred = Signal(object)
    progress_changed = Signal()

    def __init__(self, session: ConnectionSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        self.model = UploadQueueModel(self)
        self.live = LiveProgress()
        self.state = "idle"
        self._paused = False
        self._waiting: LmsError | None = None
        self._current: int | None = None
        self._send_job: int | None = None
        self._cancel_ids: set[int] = set()
        self._skip: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._seen_version = -1
        self._generation = 0  # bumped when the profile closes: answers of its jobs are dropped
        session.opened.connect(lambda _p: self.restore())
        session.closed.connect(self._on_closed)
        session.state_changed.connect(self._on_connection)
        self.runner.job_changed.connect(self._on_job_changed)

    # -- public API -----------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def restore(self) -> int | None:
        """Load the queue of the open profile; rows a crash left half-way go back to the queue."""
        if self.session.db is None:
            return None
        return self.session.run_writer("uploads-restore", store.resume, label="Restore the upload queue",
                                       on_done=self._current_only(self._restored))

    def drop(self, dropped: Sequence[Dropped], target: DropTarget, *, visible: bool = True) -> int | None:
        """Check and queue what was dropped onto ``target``; every refusal ends on its row."""
        if self.session.db is None or not dropped:
            return None
        site = self.session.site

        def job(writer):
            plan = plan_drop(dropped, target, site, visible=visible)
            return plan.refusal, store.add_plan(writer, plan)

        return self.session.run_writer("uploads-add", job, label=f"Queue {len(dropped)} dropped item(s)",
                                       on_done=self._current_only(self._queued))

    def pause(self) -> None:
        self._paused = True
        self.model.set_flags(paused=True)
        if self._send_job is not None:
            self.runner.cancel(self._send_job)
        self._set_state("paused")

    def resume(self) -> None:
        self._paused = False
        self._skip.clear()
        if isinstance(self._waiting, AuthExpired):
            self._waiting = None
        self.model.set_flags(paused=False, waiting="" if self._waiting is None else None)
        self._set_state("idle")
        self.start()

    def cancel(self, item_id: int) -> None:
        item = self.model.item(item_id)
        if item is None:
            return
        entry, kids = self.model.entry_and_children(item_id)
        if entry.id == self._current and self._send_job is not None:
            self._cancel_ids.add(item_id)
            self.runner.cancel(self._send_job)
            return
        if entry.id == self._current:
            return  # the activity is being created: too late to cancel
        self._save(cancel_rows(entry, kids, item_id))

    def retry(self, item_id: int) -> None:
        if self.model.item(item_id) is None:
            return
        entry, kids = self.model.entry_and_children(item_id)
        if entry.id == self._current:
            return
        self._skip.discard(entry.id)
        self._save(retry_rows(entry, kids, item_id), then_start=True)

    def retry_failed(self) -> None:
        rows: list[UploadItem] = []
        for item in self.model.items():
            if item.parent is None and (item.state in (State.FAILED, State.CANCELLED) or (
                    item.kind == Kind.FOLDER and item.state == State.DONE)) and item.id != self._current:
                entry, kids = self.model.entry_and_children(item.id)
                rows += retry_rows(entry, kids, item.id)
        self._skip.clear()
        self._save(rows, then_start=True)

    def clear_finished(self) -> None:
        if self.session.db is None:
            return
        db = self.session.db

        def job(writer):
            store.clear_finished(writer)
            with db.read() as conn:
                return store.load(conn)

        self.session.run_writer("uploads-clear", job, label="Clear finished uploads",
                                on_done=self._current_only(self.model.set_items))

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Send the next pending entry, unless one is going, the queue is paused or the site is away."""
        session = self.session
        if self._current is not None or self._paused or self._waiting is not None or session._client is None:
            self._settle()
            return
        entry_id = self.model.next_pending(self._skip)
        if entry_id is None:
            self._settle()
            return
        entry, kids = self.model.entry_and_children(entry_id)
        self._current = entry.id
        self._set_state("running")
        if entry.state == State.CREATING or not (to_send(entry, kids) or entry.kind == Kind.URL):
            self._finish(entry, kids, None)
            return
        client, site, live = session._client, session.site, self.live
        self.model.busy = {entry.id}
        self.model.update([entry])
        verb = "Check" if entry.kind == Kind.URL else "Upload"
        self._send_job = self.runner.run(
            "upload-send", lambda p, c: send_entry(client, entry, kids, site=site, live=live, cancel=c),
            label=f"{verb} {entry.name}", on_done=self._current_only(self._sent),
            on_error=self._current_only(self._job_error))
        self._timer.start()

    def _sent(self, result) -> None:
        self._send_job = None
        self._forget_live()
        entry, kids = self.model.entry_and_children(result.entry_id)
        if result.wait is not None:
            self._current = None
            self.model.busy = set()
            self._wait(result.wait)
            return
        self._finish(entry, kids, result)

    def _finish(self, entry: UploadItem, kids: list[UploadItem], sent) -> None:
        client = self.session._client
        profile = self.session.profile.name if self.session.profile else ""
        user = self.session.site.username if self.session.site else ""
        self.model.busy = {entry.id}
        self.model.update([entry])

        def job(writer, progress, cancel):
            e, k = (entry, kids) if sent is None else record_send(writer, entry, kids, sent)
            return finish_entry(client, writer, e, k, profile=profile, lms_user=user, cancel=cancel)

        what = {Kind.FILE: "file", Kind.FOLDER: "folder", Kind.URL: "link"}[entry.kind]
        self.session.run_writer("upload-create", job, with_progress=True, on_done=self._current_only(self._finished),
                                on_error=self._current_only(self._job_error),
                                label=f"Add {what} “{entry.name}” to {entry.destination or 'the course'}")

    def _finished(self, finished) -> None:
        self._current = None
        self.model.busy = set()
        self.model.update([finished.entry, *finished.children])
        if finished.changed:
            self.contents_changed.emit(finished.entry.courseid)
        if finished.entry.state.final:
            self.entry_finished.emit(finished.entry)
        if finished.wait is not None:
            self._wait(finished.wait)
            return
        if not finished.entry.state.final and finished.entry.state != State.QUEUED:
            self._skip.add(finished.entry.id)  # nothing more can happen to it in this run
        self.progress_changed.emit()
        QTimer.singleShot(0, self.start)

    def _job_error(self, exc: BaseException) -> None:
        """A job ended with an error the steps did not turn into a row state (a bug, or the cache)."""
        entry_id, self._current, self._send_job = self._current, None, None
        self.model.busy = set()
        self._forget_live()
        if entry_id is not None:
            self._skip.add(entry_id)
            item = self.model.item(entry_id)
            if item is not None:
                self.model.update([replace(item, message="Stopped by an unexpected error (reported); "
                                                         "Resume tries again.")])
        if isinstance(exc, LmsError):
            self.problem_occurred.emit(exc)
        self._paused = True
        self.model.set_flags(paused=True)
        self._set_state("paused")

    def _on_job_changed(self, info) -> None:
        if info.id != self._send_job or info.state.value != "cancelled":
            return
        self._send_job = None
        self._forget_live()
        entry_id, self._current = self._current, None
        self.model.busy = set()
        cancelled, self._cancel_ids = self._cancel_ids, set()
        if entry_id is not None and self.model.item(entry_id) is not None:
            entry, kids = self.model.entry_and_children(entry_id)
            self.model.update([entry, *kids])
            rows: list[UploadItem] = []
            for item_id in cancelled:
                entry, kids = self.model.entry_and_children(entry_id)
                rows += cancel_rows(entry, kids, item_id)
            if rows:
                self._save(rows, then_start=not self._paused)
                return
        if not self._paused:
            QTimer.singleShot(0, self.start)
        else:
            self._settle()

    def _wait(self, exc: LmsError) -> None:
        self._waiting = exc
        self.model.set_flags(waiting=exc.message)
        self._set_state("waiting")
        if isinstance(exc, AuthExpired):
            self.problem_occurred.emit(exc)
        else:
            self.session.check_connection()  # the session goes offline and retries with back-off

    def _on_connection(self, state) -> None:
        if state.status == Online.ONLINE and self._waiting is not None and not isinstance(self._waiting, AuthExpired):
            self._waiting = None
            self.model.set_flags(waiting="")
            self._set_state("idle")
            self.start()

    # -- helpers ------------------------------------------------------------------------------------------
    def _save(self, rows: list[UploadItem], *, then_start: bool = False) -> None:
        if not rows or self.session.db is None:
            if then_start:
                self.start()
            return

        def done(saved) -> None:
            self.model.update(saved)
            self.progress_changed.emit()
            if then_start:
                self.start()

        self.session.run_writer("uploads-save", lambda w: store.save(w, rows), label="Save the upload queue",
                                on_done=self._current_only(done))

    def _current_only(self, callback):
        """``callback``, unless the profile it was made for has been closed meanwhile."""
        generation = self._generation
        return lambda result: callback(result) if generation == self._generation else None

    def _restored(self, items: list[UploadItem]) -> None:
        self.model.set_items(items)
        self.progress_changed.emit()
        self.start()

    def _queued(self, result) -> None:
        refusal, items = result
        self.model.add(items)
        self.progress_changed.emit()
        if refusal:
            self.drop_refused.emit(refusal)
        self.start()

    def _poll(self) -> None:
        if self.live.version != self._seen_version:
            self._seen_version = self.live.version
            self.model.set_live(self.live.snapshot())
            self.progress_changed.emit()

    def _forget_live(self) -> None:
        for item_id in list(self.live.snapshot()):
            self.live.forget(item_id)
        self.model.set_live({})
        self._timer.stop()

    def _settle(self) -> None:
        if self._current is None:
            self._timer.stop()
            if self.state == "running":
                self._set_state("idle")

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _on_closed(self) -> None:
        self._generation += 1
        if self._send_job is not None:
            self.runner.cancel(self._send_job)
        self._send_job = self._current = self._waiting = None
        self._forget_live()
        self.model.set_items(())
        self._set_state("idle")


__all__ = ["COLUMNS", "DelegateStateRole", "IconRole", "ItemRole", "ProgressRole", "QueueTotals", "UploadController",
           "UploadQueueModel"]
