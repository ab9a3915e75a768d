"""The upload queue on the Qt side: the controller that runs the rows of ``UploadQueueModel``
(``content_uploads.py``).

The controller runs one entry at a time as two TaskRunner jobs: "Upload …" streams the bytes
on an HTTP thread (``uploads_run.send_entry``, cancellable: Pause and Cancel stop it), then
"Add … to …" creates the activity on the cache-writer thread (``uploads_run.finish_entry``).
Per-file progress is read from a shared :class:`LiveProgress` on a timer while bytes move, so
no signal is sent per chunk. The queue lives in the cache: it is restored (and interrupted
uploads re-queued) whenever a profile opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal

from lms_console.models.content_uploads import (  # noqa: F401  (re-exported for views and tests)
    COL_PROGRESS,
    COL_SPEED,
    COL_STATUS,
    COLUMNS,
    DelegateStateRole,
    IconRole,
    ItemRole,
    ProgressRole,
    QueueTotals,
    UploadQueueModel,
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
    plan_drop,
)
from lms_console.services.uploads_run import (
    RequestCap,
    cancel_rows,
    finish_entry,
    record_send,
    retry_rows,
    send_entry,
    to_send,
)

POLL_MS = 250


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
        self.cap = RequestCap()  # the web server's request cap, learnt from its 413s (per profile)
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
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)
        session.state_changed.connect(self._on_connection)
        self.runner.job_changed.connect(self._on_job_changed)

    # -- public API -----------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def _on_opened(self, _profile) -> None:
        self.restore()

    def restore(self) -> int | None:
        """Load the queue of the open profile; rows a crash left half-way go back to the queue."""
        if self.session.db is None:
            return None
        return self.session.run_writer("uploads-restore", store.resume, label="Restore the upload queue",
                                       on_done=self.session.for_this_profile(self._restored))

    def drop(self, dropped: Sequence[Dropped], target: DropTarget, *, visible: bool = True) -> int | None:
        """Check and queue what was dropped onto ``target``; every refusal ends on its row."""
        if self.session.db is None or not dropped:
            return None
        site = self.session.site

        def job(writer):
            plan = plan_drop(dropped, target, site, visible=visible)
            return plan.refusal, store.add_plan(writer, plan)

        return self.session.run_writer("uploads-add", job, label=f"Queue {len(dropped)} dropped item(s)",
                                       on_done=self.session.for_this_profile(self._queued))

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
        self.cap.forget()
        self._save(retry_rows(entry, kids, item_id), then_start=True)

    def retry_failed(self) -> None:
        rows: list[UploadItem] = []
        for item in self.model.items():
            if item.parent is None and (item.state in (State.FAILED, State.CANCELLED) or (
                    item.kind == Kind.FOLDER and item.state == State.DONE)) and item.id != self._current:
                entry, kids = self.model.entry_and_children(item.id)
                rows += retry_rows(entry, kids, item.id)
        self._skip.clear()
        self.cap.forget()
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
                                on_done=self.session.for_this_profile(self.model.set_items))

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
        client, site, live, cap = session._client, session.site, self.live, self.cap
        self.model.busy = {entry.id}
        self.model.update([entry])
        verb = "Check" if entry.kind == Kind.URL else "Upload"
        self._send_job = self.runner.run(
            "upload-send", lambda p, c: send_entry(client, entry, kids, site=site, live=live, cancel=c, cap=cap),
            label=f"{verb} {entry.name}", on_done=self.session.for_this_profile(self._sent),
            on_error=self.session.for_this_profile(self._job_error))
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
        self.session.run_writer("upload-create", job, with_progress=True,
                                on_done=self.session.for_this_profile(self._finished),
                                on_error=self.session.for_this_profile(self._job_error),
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
                                on_done=self.session.for_this_profile(done))

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
        self.cap.forget()
        if self._send_job is not None:
            self.runner.cancel(self._send_job)
        self._send_job = self._current = self._waiting = None
        self._forget_live()
        self.model.set_items(())
        self._set_state("idle")


__all__ = ["COLUMNS", "COL_PROGRESS", "COL_SPEED", "COL_STATUS", "DelegateStateRole", "IconRole", "ItemRole",
           "ProgressRole", "QueueTotals", "UploadController", "UploadQueueModel"]
