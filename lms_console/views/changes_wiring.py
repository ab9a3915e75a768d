"""Connects the change engine to the window: plans open the preview, Apply sends them, results
open when a run the admin started ends, the outbox count goes to the status bar, and the
journal pane is registered as the "journal" pane.

The preview and the results belong to the window the admin planned from (a user's properties, the
access check): they open over it and, once closed, hand the keyboard back to it, not to the main window.

They also belong to the profile open when the admin planned: when it closes (another profile opened, or none)
its preview and results close, the plans waiting for their turn are not sent, and a run of it still going pauses
(the engine stops it at its next chunk; the rest waits in that profile's outbox), said in a banner, not a results
window (see :meth:`ChangeViews._on_profile_closed`).

``app.py`` calls :func:`install_change_views` once, after it built the window and the engine.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from lms_console.models.plan_model import count_phrase
from lms_console.services.changes.model import RunSummary, Status
from lms_console.services.lms.errors import Unreachable
from lms_console.views.dialogs.preview_dialog import PreviewDialog
from lms_console.views.dialogs.results_dialog import ResultsDialog
from lms_console.views.journal_pane import JournalPane


class ChangeViews(QObject):
    """The change engine's views for one main window (preview, results, journal pane).

    Applies run one at a time: a plan confirmed while another run is still going waits
    for it (the engine's apply job is a named job, and a second one would cancel the first).

    The preview opens over the window the admin was in when the plan came (its ``return_to``),
    the results over the one they are in when the run ends (else the preview's); each gives that
    window the keyboard back when it closes.

    Signals:
        preview_finished(str, bool): a preview closed: the plan's title, and whether it was applied
            (not sent for one replaced by its own re-plan).
    """

    preview_finished = Signal(str, bool)

    def __init__(self, window, engine, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window = window
        self.engine = engine
        self.runner = engine.session.runner
        self.pane = JournalPane(engine.session, engine)
        window.register_pane("journal", self.pane)
        self.preview: PreviewDialog | None = None
        self.results: ResultsDialog | None = None
        self._jobs: dict[int, tuple[str, QWidget | None, object]] = {}  # apply jobs the admin started -> (title, from where, plan)
        self._queue: list[tuple[object, QWidget | None]] = []  # (plan, from where) confirmed while a run went
        self._finished: tuple[str, QWidget | None, object] | None = None
        self._cancelled: list[tuple[str, QWidget | None, object]] = []  # cancelled runs whose results may follow
        self._profile = ""  # the open profile's name (its runs and plans are said to be of it once it is closed)
        self._closed_jobs: dict[int, tuple[str, str]] = {}  # runs of profiles closed since -> (title, profile)
        self._unsent: list[str] = []  # plans that waited for those runs, not sent: said when the last one ends
        self._sync_wait: tuple[int, str] | None = None  # (apply job, banner text) while it waits for a sync
        engine.planned.connect(self.show_preview)
        engine.plan_failed.connect(window.show_problem)
        engine.applied.connect(self._on_applied)
        engine.closed_run_ended.connect(self._on_closed_run_ended)
        engine.outbox_changed.connect(window.outbox_indicator.set_count)
        window.outbox_indicator.clicked.connect(self.show_outbox)
        self.runner.job_changed.connect(self._on_job_changed)
        engine.session.opened.connect(self._on_profile_opened)
        engine.session.closed.connect(self._on_profile_closed)
        if engine.session.is_open:
            self._profile = engine.session.profile.name

    # -- preview ----------------------------------------------------------------------------
    def show_preview(self, plan) -> PreviewDialog:
        """Open the preview of ``plan`` (replacing one still open) over the window the admin is in."""
        origin = self._where_admin_is()  # first: a preview being replaced leads back to its own origin
        if self.preview is not None:
            self.preview.replaced = self.preview.plan.title == plan.title  # its re-plan, not a new one
            self.preview.close()
        dialog = PreviewDialog(plan, origin or self.window, runner=self.runner)
        self._leads_back_to(dialog, origin)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.apply_requested.connect(lambda p, d=dialog: self.apply(p, origin=d.return_to))
        outcome = {"applied": False}
        dialog.apply_requested.connect(lambda _plan: outcome.update(applied=True))
        dialog.finished.connect(lambda _r, d=dialog, t=plan.title: None if getattr(d, "replaced", False)
                                else self.preview_finished.emit(t, outcome["applied"]))
        dialog.replan_requested.connect(lambda enrol_first, p=plan: self._replan(p, enrol_first))
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget_preview(d))
        self.preview = dialog
        dialog.open()
        return dialog

    def _forget_preview(self, dialog) -> None:
        if self.preview is dialog:
            self.preview = None

    def _replan(self, plan, enrol_first: bool) -> None:
        # The items carry the changes as planned (a plan without enrol-first has no added enrolments).
        self.engine.plan([i.change for i in plan.items], title=plan.title, enrol_first=enrol_first)

    # -- apply ----------------------------------------------------------------------------------
    def apply(self, plan, origin: QWidget | None = None) -> int | None:
        """Send a confirmed plan (queued behind a run that is still going). ``origin``: the window it was
        planned from (its results lead back there when the admin has not moved on)."""
        if self._jobs:
            self._queue.append((plan, origin))
            self.window.banner.show_message(
                "info", f"“{plan.title}” waits for the run in progress to finish, then starts by itself.")
            return None
        job = self.engine.apply(plan)
        if job is None:
            self.window.banner.show_message(
                "warning", "Not sent: no connection profile is open. Open one (File › Profiles…) and plan again.")
            return None
        self._jobs[job] = (plan.title, origin, plan)
        self._say_waits_for_sync(job, plan.title)
        return job

    def _say_waits_for_sync(self, job: int, title: str) -> None:
        """The profile syncs: the run waits for the sync to end (the writer thread runs one job at a time). Say
        so, until it starts or ends (:meth:`_on_sync_wait_over`); it starts by itself."""
        session = self.engine.session
        if session.syncing:
            text = f"“{title}” starts when the sync of {session.profile.name} has finished."
            self.window.banner.show_message("info", text, title="Waiting for the sync")
            self._sync_wait = job, text

    def _on_sync_wait_over(self, info) -> None:
        """The run said to wait for the sync has started or ended: its banner goes (unless replaced already)."""
        if self._sync_wait is None or info.id != self._sync_wait[0] or info.state.value == "queued":
            return
        (_job, text), self._sync_wait = self._sync_wait, None
        if self.window.banner.message_text() == text:
            self.window.banner.clear()

    def _on_job_changed(self, info) -> None:
        self._on_sync_wait_over(info)
        if not info.state.finished:
            return
        # ``applied`` follows the job_changed of its run at once, or never (a run of a closed profile, a result
        # dropped after Cancel): the title of a run that ended earlier is never given to a later one (the outbox).
        self._finished = None
        if info.id in self._closed_jobs:
            if info.state.value == "failed":  # no summary follows
                self._say_closed_run_ended(info.id, error=info.error)
            else:  # its summary follows at once (closed_run_ended), unless it never started
                QTimer.singleShot(0, self, lambda job=info.id: self._say_closed_run_ended(job))
            return
        if info.id not in self._jobs:
            return
        title, origin, plan = self._jobs.pop(info.id)
        if info.state.value == "done":
            self._finished = title, origin, plan  # ``applied`` follows this job_changed, with the summary
        elif info.state.value == "cancelled":
            # Cancelled between chunks, it hands back what it did (``applied`` follows at once): its results open,
            # as the run's own, never the outbox's words. Cancelled before it sent anything: a banner says so.
            self._finished = entry = (title, origin, plan)
            self._cancelled.append(entry)
            QTimer.singleShot(0, self, lambda e=entry: self._say_cancelled_unless_shown(e))
        else:
            self._say_stopped(title, f"stopped: {info.error}")  # a failed job never emits ``applied``
        if self._queue:
            self.apply(*self._queue.pop(0))

    def _say_stopped(self, title: str, what: str) -> None:
        self.window.banner.show_message("warning", f"“{title}” {what}. The journal shows which items went through.",
                                        actions=[("Show journal", self.show_journal)])
        if self.pane.model.is_active():
            self.pane.model.refresh()

    def _say_cancelled_unless_shown(self, entry) -> None:
        """A run the admin cancelled whose results did not come (``applied`` follows its job_changed at once, or
        never): say it was cancelled."""
        if any(e is entry for e in self._cancelled):
            self._cancelled = [e for e in self._cancelled if e is not entry]
            self._say_stopped(entry[0], "was cancelled")

    def _on_applied(self, summary: RunSummary) -> None:
        finished, self._finished = self._finished, None
        if finished is not None:
            self._cancelled = [e for e in self._cancelled if e is not finished]  # its results say it all
            self.show_results(summary, *finished)
            return
        # A run the console started by itself (the outbox going out): a banner, not a window.
        done, failed, held = (summary.count(s) for s in (Status.DONE, Status.FAILED, Status.HELD))
        waiting = summary.count(Status.QUEUED) + summary.count(Status.SENDING)
        parts = [f"{done:,} done"] + ([f"{failed:,} failed"] if failed else []) + \
                ([f"{held:,} held for you"] if held else [])
        if summary.status in ("waiting", "cancelled") and waiting:
            why = "the site did not answer" if summary.status == "waiting" else "sending was cancelled"
            text = (f"The outbox did not go out: {why}. {count_phrase(waiting, 'change')} still wait"
                    f"{'s' if waiting == 1 else ''} and go out when the site answers"
                    + (f" ({', '.join(parts)} before that)." if done or failed or held else "."))
            level = "warning"
        else:
            text = f"The outbox went out to the site: {', '.join(parts)}."
            level = "warning" if failed or held else "info"
        self.window.banner.show_message(
            level, text, actions=[("Show results", lambda s=summary: self.show_results(s, "The outbox"))])

    # -- another profile ----------------------------------------------------------------------------
    def _on_profile_opened(self, profile) -> None:
        self._profile = profile.name

    def _on_profile_closed(self) -> None:
        """The profile the admin planned on was closed (another opened, or none). Its runs still going pause at
        their next chunk (the engine stops them: the next profile's jobs do not wait for them), what they did not
        send waiting in its outbox; their results are not this profile's: no results window opens for them (its
        Retry and Undo would plan against the profile open now, its titles and journal link would read the wrong
        journal); when one stops, a banner says what went through, what waits, and where its results are. Plans
        confirmed but still waiting for their turn are not sent (they were planned against the closed profile's
        site and copy): a banner names them. Its preview and results close."""
        closed, self._profile = self._profile, ""
        self._closed_jobs.update({job: (title, closed) for job, (title, _origin, _plan) in self._jobs.items()})
        self._jobs.clear()
        self._finished = None
        waiting, self._queue = [plan.title for plan, _origin in self._queue], []
        for dialog in (self.preview, self.results):
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.close()
        if waiting:
            self._unsent += waiting
            them = "it" if len(waiting) == 1 else "them"
            text = f"{self._not_sent(waiting, closed)} To send {them}, open {closed} and plan {them} again."
            # Once the next profile has opened (which clears the banner), not under it.
            QTimer.singleShot(0, self, lambda: self.window.banner.show_message("error", text, title="Not sent"))

    @staticmethod
    def _not_sent(titles: list[str], profile: str) -> str:
        names = ", ".join(f"“{t}”" for t in titles)
        return f"Not sent: {names} waited for a run of profile {profile}, which was closed."

    def _on_closed_run_ended(self, job: int, summary: RunSummary) -> None:
        self._say_closed_run_ended(job, summary)

    def _say_closed_run_ended(self, job: int, summary: RunSummary | None = None, error: str = "") -> None:
        """A run of a profile closed since has stopped (paused when it closed, or ended after): say what went
        through, what waits, and where its results are (no results window: see :meth:`_on_profile_closed`).
        ``summary`` None: it failed (``error``) or never started."""
        if job not in self._closed_jobs:
            return  # said already, with its summary
        title, profile = self._closed_jobs.pop(job)
        if summary is not None:
            what, level = _closed_run_words(summary, profile)
        elif error:
            what, level = f"stopped after {profile} was closed ({error}).", "error"
        else:
            what = (f"was not sent: {profile} was closed before it started. To send it, open {profile} and plan "
                    "it again.")
            level = "error"
        text, actions = f"“{title}” (profile {profile}) {what}", []
        if summary is not None or error:
            if profile == self._profile:  # opened again since: its journal is the one shown here
                text, actions = text + " Its results are in the journal.", [("Show journal", self.show_journal)]
            else:
                text += f" Its results are in the journal of {profile}: open {profile} to see them."
        unsent = []
        if not self._closed_jobs:  # the last of them: what waited for it was not sent
            unsent, self._unsent = self._unsent, []
        if unsent:
            text, level = text + " " + self._not_sent(unsent, profile), "error"
        self.window.banner.show_message(level, text, actions=actions)

    # -- results --------------------------------------------------------------------------------
    def show_results(self, summary: RunSummary, title: str = "", origin: QWidget | None = None,
                     plan=None) -> ResultsDialog:
        """Open the results of a run over the window the admin is in, else over ``origin`` (where it was
        planned) while that is still open. ``plan``: the plan the run sent (its titles show at once)."""
        back = self._where_admin_is() or self._on_screen(origin)
        if self.results is not None:
            self.results.close()
        dialog = ResultsDialog(summary, back or self.window, title=title, session=self.engine.session, plan=plan)
        self._leads_back_to(dialog, back)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.retry_requested.connect(self.engine.plan_retry)
        dialog.journal_requested.connect(self.show_journal)
        dialog.journal_requested.connect(lambda _id, d=dialog: setattr(d, "return_to", self.window))
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget_results(d))
        self.results = dialog
        dialog.open()
        return dialog

    def _forget_results(self, dialog) -> None:
        if self.results is dialog:
            self.results = None

    # -- where the admin works --------------------------------------------------------------------
    def _on_screen(self, widget) -> QWidget | None:
        """``widget`` when it is this main window or one of its windows, alive and shown; else None."""
        if widget is None or not shiboken6.isValid(widget) or not widget.isVisible():
            return None
        owner = widget
        while owner is not None and owner is not self.window:
            owner = owner.parentWidget()
        return widget if owner is self.window else None

    def _where_admin_is(self) -> QWidget | None:
        """The window of this console the admin works in: the active one (for a preview or results dialog,
        the window it leads back to); None when none of them is active."""
        active = QApplication.activeWindow()
        if active is not None and shiboken6.isValid(active):
            active = getattr(active, "return_to", active)
        return self._on_screen(active)

    def _leads_back_to(self, dialog: QWidget, window: QWidget | None) -> None:
        """When ``dialog`` closes it gives the keyboard back to ``window``; the main window (or None) is
        left to the window system, so a dialog that stepped aside, like the import, can come back there."""
        dialog.return_to = None if window is self.window else window
        dialog.finished.connect(lambda _r, d=dialog: self._lead_back(d.return_to))

    def _lead_back(self, target: QWidget | None) -> None:
        target = self._on_screen(target)
        if target is None or (self.preview is not None and self.preview.isVisible()):
            return  # gone (or a preview is up: it keeps the keyboard)
        target.raise_()
        target.activateWindow()

    # -- journal --------------------------------------------------------------------------------
    def show_journal(self, run_id: int | None = None) -> None:
        self._go_to_journal()
        if run_id is not None:
            self.pane.show_run(run_id)

    def show_outbox(self) -> None:
        self._go_to_journal()
        self.pane.show_outbox()

    def _go_to_journal(self) -> None:
        self.window.go_to("journal")
        if self.window.stack.currentWidget() is not self.pane:  # no navigation tree yet
            self.window.show_pane("journal")
            self.pane.show_target(None)


def _closed_run_words(summary: RunSummary, profile: str) -> tuple[str, str]:
    """What became of a run of ``profile`` that stopped after it was closed, from its summary (after "“title”
    (profile big) "), and the banner's level: paused when it closed, stopped by its site, cancelled, finished."""
    done, failed, held = (summary.count(s) for s in (Status.DONE, Status.FAILED, Status.HELD))
    unsent = sum(1 for r in summary.results if r.status == Status.SKIPPED and r.code == "cancelled")
    waiting = summary.count(Status.QUEUED) + summary.count(Status.SENDING)
    total = done + failed + held + waiting + unsent  # what was to be sent (not what planning skipped)
    counts = ", ".join([f"{done:,} of {total:,} went through"] + ([f"{failed:,} failed"] if failed else [])
                       + ([f"{held:,} held for you"] if held else []))
    rest = ""
    if waiting:
        rest = (f"; the other {waiting:,} wait in {profile}'s outbox and go out when {profile} is open again"
                + (" and its site answers" if isinstance(summary.error, Unreachable) else ""))
    elif unsent:
        rest = f"; the other {unsent:,} were not sent"
    if summary.status == "waiting" and summary.error is None:
        what = f"paused when {profile} was closed"
    elif summary.error is not None:
        what = (f"stopped when {profile}'s site did not answer, after {profile} was closed"
                if isinstance(summary.error, Unreachable) else f"stopped after {profile} was closed ({summary.error})")
    elif summary.status == "cancelled":
        what = f"was cancelled after {profile} was closed"
    else:
        what = f"finished after {profile} was closed"
    # What waits goes out by itself: said as information (the main window also clears warnings once the next
    # profile's site answers, which may come after this).
    level = "error" if summary.status == "failed" else "warning" if (unsent or failed or held) else "info"
    return f"{what}: {counts}{rest}.", level


def install_change_views(window, engine) -> ChangeViews:
    """Register the journal pane and route the engine's plans, runs and outbox to the window."""
    if not getattr(window, "completed", True):
        raise RuntimeError("install_change_views needs the window's models and status bar: call it after "
                           "MainWindow.complete()")
    views = ChangeViews(window, engine)
    window.change_views = views  # keeps it alive with the window
    return views


__all__ = ["ChangeViews", "install_change_views"]
