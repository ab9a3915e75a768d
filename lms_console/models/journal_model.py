"""Models of the change journal: the journal itself (a paged, windowed table over the cache's
change_items) and the outbox.

Every read runs on the TaskRunner with its own read connection; results come back as lists
of frozen JournalRow.  The journal keeps only the pages near what the view shows, so 50,000
entries cost a count and a page, not 50,000 rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal

from lms_console.models.paging import PageCache
from lms_console.models.plan_model import (STATUS_ICON, STATUS_TONE, ColourProvider, IconProvider, clip,
                                           diff_pairs, format_value, plain_message, shown_status, status_text,
                                           waiting_reason)
from lms_console.models.row_table import RowTableModel
from lms_console.models.session import Online
from lms_console.services.changes import journal as J
from lms_console.services.changes.journal import JournalRow
from lms_console.services.changes.model import Status


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""


def fields_text(value, keys: Sequence[str] | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # the engine's own fields ("_roleids" behind the role names) are not shown
        value = {k: v for k, v in value.items() if not str(k).startswith("_")}
    if keys is not None and isinstance(value, dict):
        value = {k: value.get(k) for k in keys}
    elif isinstance(value, dict) and "username" in value:  # who it is first (the journal stores sorted keys)
        value = {"username": value["username"], **value}
    return format_value(value)


def before_after(row: JournalRow) -> tuple[str, str]:
    """Only the fields the item changed, before and after."""
    if row.after is None and row.before is not None:
        return fields_text(row.before), "(deleted)" if row.kind.endswith("delete") else ""
    pairs = diff_pairs(row.before, row.after)
    if pairs and pairs[0][0]:
        keys = [p[0] for p in pairs]
        return fields_text(row.before or {}, keys), fields_text(row.after or {}, keys)
    return fields_text(row.before), fields_text(row.after)


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """What the journal shows: a search text, results, change kinds and (optionally) one run."""

    search: str = ""
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Query:
    total: int
    first: list
    kinds: list
    everything: bool  # the first page holds every row (a run's items)
    going_out: frozenset[int] = frozenset()  # the runs being sent right now (see _going_out)


def _going_out(conn) -> frozenset[int]:
    """The runs being sent right now: only their items are "Queued" or "Sending"; those of any other run
    wait in the outbox (see plan_model.shown_status)."""
    return frozenset(r[0] for r in conn.exec_driver_sql("SELECT id FROM change_runs WHERE status = 'applying'"))


def _outbox_runs(conn) -> dict[int, tuple[int, str]]:
    """The runs with items in the outbox: run id -> (when it was planned, its status)."""
    return {r[0]: (r[1] or 0, r[2] or "") for r in conn.exec_driver_sql(
        "SELECT id, created_at, status FROM change_runs WHERE id IN (SELECT run_id FROM change_items "
        "WHERE status IN ('queued', 'sending', 'held'))")}


# The ChangeEngine's jobs that send changes: ChangeEngine.apply ("apply-<n>") and resume_outbox ("outbox <profile>").
SEND_JOBS = ("apply-", "outbox ")


def sends_running(runner) -> list:
    """The sends running now (an Apply, the outbox going out), as the runner's JobInfo."""
    return [job for job in runner.running() if job.name.startswith(SEND_JOBS)]


# Why a queued item waits when nothing sends it now and the site answers: by how its run last stopped.
_RUN_STOPPED = {
    "cancelled": "the send was stopped before this went out",
    "waiting": "the site stopped answering while this run went out",
    "failed": "the send stopped on an error (see this run in the journal)",
    "applying": "the send was interrupted (the console closed) before this went out",
}


def outbox_reason(row: JournalRow, run_status: str, *, going_out: bool, sending: bool, state: Online) -> str:
    """Why an item of the outbox waits, by what actually holds it: its run going out now, the site not
    answering, its turn behind another send, or its run having stopped (``run_status``); held and sending
    items say their own reason."""
    recorded = plain_message(row.code, row.message)
    if row.status != Status.QUEUED.value:
        return recorded or waiting_reason(row.status)
    if going_out:
        return "being sent now, in order"
    if state == Online.OFFLINE:
        return "waits for the site to answer; goes out in order when it answers again"
    if state == Online.AUTH_FAILED:
        return "waits: the site refused the token; goes out in order once you sign in again (File › Profiles…)"
    if sending:
        return "waits its turn: goes out after the changes above it"
    if recorded:  # kept by the admin, or the error that stopped its batch
        return recorded
    return f"{_RUN_STOPPED.get(run_status, 'not sent yet')}: Send now sends it, in order"


def _matches(row: JournalRow, flt: JournalFilter) -> bool:
    if flt.statuses and row.status not in flt.statuses:
        return False
    if flt.kinds and row.kind not in flt.kinds:
        return False
    if flt.search:
        needle = flt.search.lower()
        return any(needle in (v or "").lower() for v in (row.title, row.target, row.message, row.kind, row.run_title))
    return True


def _read(conn, flt: JournalFilter, limit: int, offset: int) -> list[JournalRow]:
    if flt.run_id is not None:  # journal() has no run filter; a run is read whole, in plan order
        rows = [r for r in J.run_rows(conn, flt.run_id) if _matches(r, flt)]
        return rows[offset: offset + limit]
    return J.journal(conn, search=flt.search, statuses=flt.statuses, kinds=flt.kinds, limit=limit, offset=offset)


def _query(db, flt: JournalFilter, page_size: int) -> _Query:
    with db.read() as conn:
        kinds = [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT kind FROM change_items ORDER BY kind")]
        if flt.run_id is not None:
            rows = [r for r in J.run_rows(conn, flt.run_id) if _matches(r, flt)]
            return _Query(len(rows), rows, kinds, True, _going_out(conn))
        total = J.journal_count(conn, search=flt.search, statuses=flt.statuses, kinds=flt.kinds)
        first = J.journal(conn, search=flt.search, statuses=flt.statuses, kinds=flt.kinds, limit=page_size)
        return _Query(total, first, kinds, False, _going_out(conn))


def _export(db, flt: JournalFilter, path: str) -> tuple[str, int, str]:
    """Write the journal (as filtered) to ``path``; (path, rows, error) — an error is plain words."""

    def rows():
        with db.read() as conn:
            offset = 0
            while True:
                page = _read(conn, flt, 2000, offset)
                yield from page
                if len(page) < 2000:
                    return
                offset += len(page)

    writer = J.export_xlsx if Path(path).suffix.lower() == ".xlsx" else J.export_csv
    try:
        return path, writer(rows(), path), ""
    except OSError as exc:
        return path, 0, f"Could not write {path}: {exc.strerror or exc}"


class JournalTableModel(RowTableModel):
    """The journal, newest first, read a page at a time as the view scrolls.

    It queries only once :meth:`refresh` was called (the pane was shown), and then again
    whenever the cache changes (``session.cache_changed``, which the change engine also
    emits after every run) or the filter changes.

    Signals:
        loaded(int): a query finished; how many entries match the filter.
        kinds_loaded(object): list of the change kinds present in the journal (for a filter).
        exported(str, int): an export was written: its path and how many entries it holds.
        export_failed(str): an export could not be written: the reason in plain words.
    """

    loaded = Signal(int)
    kinds_loaded = Signal(object)
    exported = Signal(str, int)
    export_failed = Signal(str)

    COLUMNS = ("Time", "Profile", "LMS user", "Change", "Target", "Before", "After", "Result", "API function",
               "Code / message")
    (COL_TIME, COL_PROFILE, COL_USER, COL_TITLE, COL_TARGET, COL_BEFORE, COL_AFTER, COL_STATUS, COL_FUNCTION,
     COL_MESSAGE) = range(10)
    RowRole = Qt.ItemDataRole.UserRole + 1
    StatusRole = Qt.ItemDataRole.UserRole + 2
    PAGE_SIZE = 200
    MAX_PAGES = 50  # pages kept in memory (10,000 rows); the rest are read again when scrolled to

    def __init__(self, session, parent: QObject | None = None, *, icons: IconProvider | None = None,
                 colours: ColourProvider | None = None, page_size: int | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        self._icons, self._colours = icons, colours
        self._page_size = page_size or self.PAGE_SIZE
        self._filter = JournalFilter()
        self._total = 0
        self._going_out: frozenset[int] = frozenset()
        self._cache = PageCache(self._page_size, self.MAX_PAGES)  # pages of JournalRow
        self._generation = 0
        self._active = False
        self._loading = False
        self._name = f"journal-{id(self):x}"
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(0)
        self._fetch_timer.timeout.connect(self._fetch_wanted)
        session.cache_changed.connect(self._on_cache_changed)
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)

    # -- public API ----------------------------------------------------------------------------
    @property
    def filter(self) -> JournalFilter:
        return self._filter

    def set_filter(self, **changes) -> None:
        """Change some of search / statuses / kinds / run_id and query again."""
        for key in ("statuses", "kinds"):
            if key in changes:
                changes[key] = tuple(changes[key] or ())
        flt = replace(self._filter, **changes)
        if flt != self._filter:
            self._filter = flt
            self.refresh()

    def total(self) -> int:
        return self._total

    def is_active(self) -> bool:
        """Whether the model has been asked to read (and so follows cache changes)."""
        return self._active

    def is_loading(self) -> bool:
        return self._loading

    def row_at(self, row: int) -> JournalRow | None:
        return self._cache.get(row)

    def rows_of(self, ids) -> list[int]:
        """Rows (among those read) of the entries with these ids: to keep a selection across a re-query."""
        ids = set(ids)
        return [row for row, r in self._cache.loaded() if r.id in ids]

    def refresh(self) -> int | None:
        """Query again (count and first page) with the current filter; returns the job id."""
        self._active = True
        db = self.session.db
        if db is None:
            self._apply_query(self._generation + 1, _Query(0, [], [], True))
            return None
        self._generation += 1
        generation, flt, size = self._generation, self._filter, self._page_size
        self._loading = True
        return self.runner.run(f"{self._name}-query", lambda p, c: _query(db, flt, size), label="Read the journal",
                               on_done=lambda result: self._apply_query(generation, result))

    def export(self, path: str | Path) -> int | None:
        """Write what the filter shows to ``path`` (.csv, or .xlsx), off the GUI thread.
        Emits ``exported`` or ``export_failed``."""
        db, flt, path = self.session.db, self._filter, str(path)
        if db is None:
            self.export_failed.emit("No profile is open: there is no journal to export.")
            return None

        def done(result) -> None:
            written, rows, error = result
            if error:
                self.export_failed.emit(error)
            else:
                self.exported.emit(written, rows)

        return self.runner.run(f"{self._name}-export", lambda p, c: _export(db, flt, path),
                               label=f"Export the journal to {Path(path).name}", on_done=done)

    # -- loading ---------------------------------------------------------------------------------
    def _apply_query(self, generation: int, result: _Query) -> None:
        if generation < self._generation:
            return
        self._generation = generation
        self._loading = False
        self.beginResetModel()
        self._total = result.total
        # Only a run this console is sending goes out: one left "applying" by a console that closed mid-send waits.
        self._going_out = result.going_out if sends_running(self.runner) else frozenset()
        self._cache.reset(result.first)
        if result.everything:  # a short journal comes whole: kept whole, in pages
            for start in range(0, max(result.total, 1), self._page_size):
                self._cache.pages[start // self._page_size] = result.first[start: start + self._page_size]
        self.endResetModel()
        self.kinds_loaded.emit(result.kinds)
        self.loaded.emit(result.total)

    def _want(self, row: int) -> None:
        if self._cache.want(row) and not self._fetch_timer.isActive():
            self._fetch_timer.start()

    def _fetch_wanted(self) -> None:
        db = self.session.db
        if db is None:
            self._cache.wanted.clear()
            return
        generation, flt, size = self._generation, self._filter, self._page_size
        for page in self._cache.take_wanted():

            def job(p, c, page=page):
                with db.read() as conn:
                    return _read(conn, flt, size, page * size)

            self.runner.run(f"{self._name}-page-{page}", job, label="Read the journal",
                            on_done=lambda rows, page=page: self._apply_page(generation, page, rows))

    def _apply_page(self, generation: int, page: int, rows: list[JournalRow]) -> None:
        if generation != self._generation:
            return
        first, _n = self._cache.store(page, rows)
        last = min(first + self._page_size, self._total) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.COLUMNS) - 1))

    def _on_cache_changed(self, _entities) -> None:
        if self._active:
            self.refresh()

    def _on_opened(self, _profile) -> None:
        if self._active:
            self.refresh()

    def _on_closed(self) -> None:
        self._generation += 1
        self._apply_query(self._generation, _Query(0, [], [], True))

    # -- Qt model API (pages instead of one list of rows) ------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._total

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < self._total):
            return None
        row = self.row_at(index.row())
        col = index.column()
        if row is None:
            self._want(index.row())
            return "Loading…" if role == Qt.ItemDataRole.DisplayRole and col == self.COL_TITLE else None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.DecorationRole and col == self.COL_STATUS and self._icons is not None:
            return self._icons(STATUS_ICON.get(self._shown(row), "info"))
        if role == Qt.ItemDataRole.ForegroundRole and self._colours is not None and col in (
                self.COL_STATUS, self.COL_MESSAGE):
            tone = STATUS_TONE.get(row.status)
            return self._colours(tone) if tone else None
        if role == self.RowRole:
            return row
        if role == self.StatusRole:
            return row.status
        return None

    def _display(self, row: JournalRow, col: int) -> str:
        if col == self.COL_TIME:
            return when(row.time)
        if col == self.COL_PROFILE:
            return row.profile
        if col == self.COL_USER:
            return row.lms_user
        if col == self.COL_TITLE:
            return row.title
        if col == self.COL_TARGET:
            return row.target
        if col in (self.COL_BEFORE, self.COL_AFTER):
            return clip(before_after(row)[col == self.COL_AFTER], 120)
        if col == self.COL_STATUS:
            return status_text(self._shown(row))
        if col == self.COL_FUNCTION:
            return row.function
        if col == self.COL_MESSAGE:
            return clip(" ".join(t for t in (f"[{row.code}]" if row.code else "", row.message) if t), 200)
        return ""

    def _tooltip(self, row: JournalRow, col: int) -> str | None:
        if col in (self.COL_BEFORE, self.COL_AFTER):
            return before_after(row)[col == self.COL_AFTER] or None
        if col in (self.COL_STATUS, self.COL_MESSAGE):
            text = plain_message(row.code, row.message)
            return f"{status_text(self._shown(row))}{f' ({row.code})' if row.code else ''}: {text}" if text else None
        if col == self.COL_TITLE:
            return f"{row.title}\nRun {row.run_id}: {row.run_title}\n{row.kind}, item {row.seq}"
        return None

    def _shown(self, row: JournalRow) -> str:
        return shown_status(row.status, going_out=row.run_id in self._going_out)


class OutboxTableModel(RowTableModel):
    """Items waiting to go out (queued), sent without a recorded answer (sending), or held for
    the admin's decision (held), in the order they go out: run by run, each in its planned order.
    Runs are numbered as they are planned, so this is also oldest plan first; "Planned" is when
    the item's run was planned (an item's own time moves when a stopped send puts it back).

    Signals:
        loaded(int): the outbox was read; how many items wait.
    """

    loaded = Signal(int)

    COLUMNS = ("Planned", "Change", "Target", "Your change", "State", "Why")
    COL_TIME, COL_TITLE, COL_TARGET, COL_CHANGE, COL_STATUS, COL_MESSAGE = range(6)
    RowRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, session, parent: QObject | None = None, *, icons: IconProvider | None = None,
                 colours: ColourProvider | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._icons, self._colours = icons, colours
        self._name = f"outbox-{id(self):x}"
        self._going_out: frozenset[int] = frozenset()  # the runs being sent right now
        self._runs: dict[int, tuple[int, str]] = {}  # run id -> (planned at, status)
        self._sending = False  # an Apply or the outbox is going out
        self._sends: set[int] = set()  # ids of the send jobs seen running
        session.cache_changed.connect(self._on_cache_changed)
        session.closed.connect(self._on_closed)
        session.state_changed.connect(self._on_state_changed)
        session.runner.job_changed.connect(self._on_job_changed)

    def _on_cache_changed(self, _entities) -> None:
        self.refresh()

    def _on_closed(self) -> None:
        self._set_rows(([], frozenset(), {}))

    def _on_state_changed(self, _state) -> None:
        """The reasons depend on whether the site answers."""
        if self._rows:
            self.dataChanged.emit(self.index(0, self.COL_MESSAGE), self.index(len(self._rows) - 1, self.COL_MESSAGE))

    def _on_job_changed(self, info) -> None:
        """A send started or ended: what waits its turn, or goes out now, is read again."""
        if not info.name.startswith(SEND_JOBS):
            return
        known = info.id in self._sends
        if info.state.finished:
            self._sends.discard(info.id)
        else:
            self._sends.add(info.id)
        if known == info.state.finished and self.session.db is not None:
            self.refresh()

    def refresh(self) -> int | None:
        db = self.session.db
        if db is None:
            self._set_rows(([], frozenset(), {}))
            return None

        def job(p, c):
            with db.read() as conn:
                return J.outbox(conn), _going_out(conn), _outbox_runs(conn)

        # What waits in a closed profile's outbox is not the next profile's.
        return self.session.runner.run(self._name, job, label="Read the outbox",
                                       on_done=self.session.for_this_profile(self._set_rows))

    def held_count(self) -> int:
        return sum(1 for r in self._rows if r.status == Status.HELD.value)

    def _set_rows(self, read: tuple[list[JournalRow], frozenset[int], dict]) -> None:
        rows, going_out, self._runs = read
        self._sending = bool(sends_running(self.session.runner))
        # A run left "applying" by a console that closed mid-send is not going out: nothing sends it now.
        self._going_out = going_out if self._sending else frozenset()
        self.replace_rows(rows)
        self.loaded.emit(len(self._rows))

    def planned_at(self, row: JournalRow) -> int:
        """When the item's run was planned."""
        return self._runs.get(row.run_id, (row.time, ""))[0] or row.time

    def reason(self, row: JournalRow) -> str:
        return outbox_reason(row, self._runs.get(row.run_id, (0, ""))[1], going_out=row.run_id in self._going_out,
                             sending=self._sending, state=self.session.state.status)

    def cell(self, row: JournalRow, col: int, role: int):
        shown = shown_status(row.status, going_out=row.run_id in self._going_out)
        if role == Qt.ItemDataRole.DisplayRole:
            return (when(self.planned_at(row)), row.title, row.target, clip(_your_change(row), 120),
                    status_text(shown), clip(self.reason(row), 200))[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_MESSAGE:
            return self.reason(row) or None
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_CHANGE:
            return _your_change(row) or None
        if role == Qt.ItemDataRole.DecorationRole and col == self.COL_STATUS and self._icons is not None:
            return self._icons(STATUS_ICON.get(shown, "info"))
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_STATUS and self._colours is not None:
            tone = STATUS_TONE.get(row.status)
            return self._colours(tone) if tone else None
        if role == self.RowRole:
            return row
        return None


def _your_change(row: JournalRow) -> str:
    before, after = before_after(row)
    if before and after:
        return f"{before} → {after}"
    return after or before

