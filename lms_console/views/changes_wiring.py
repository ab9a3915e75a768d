"""Connects the change engine to the window: plans open the preview, Apply sends them, results
open when a run the admin started ends, the outbox count goes to the status bar, and the
journal pane is registered as the "journal" pane.

``app.py`` calls :func:`install_change_views` once, after it built the window and the engine.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from lms_console.models.plan_model import count_phrase
from lms_console.services.changes.model import RunSummary, Status
from lms_console.views.dialogs.preview_dialog import PreviewDialog
from lms_console.views.dialogs.results_dialog import ResultsDialog
from lms_console.views.journal_pane import JournalPane


class ChangeViews(QObject):
    """The change engine's views for one main window (preview, results, journal pane).

    Applies run one at a time: a plan confirmed while another run is still going waits
    for it (the engine's apply job is a named job, and a second one would cancel the first).

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
        self._jobs: dict[int, str] = {}  # apply jobs the admin started -> the plan's title
        self._queue: list = []  # plans confirmed while another run was going
        self._finished_title: str | None = None
        engine.planned.connect(self.show_preview)
        engine.plan_failed.connect(window.show_problem)
        engine.applied.connect(self._on_applied)
        engine.outbox_changed.connect(window.outbox_indicator.set_count)
        window.outbox_indicator.clicked.connect(self.show_outbox)
        self.runner.job_changed.connect(self._on_job_changed)

    # -- preview ----------------------------------------------------------------------------
    def show_preview(self, plan) -> PreviewDialog:
        """Open the preview of ``plan`` (replacing one still open)."""
        if self.preview is not None:
            self.preview.replaced = self.preview.plan.title == plan.title  # its re-plan, not a new one
            self.preview.close()
        dialog = PreviewDialog(plan, self.window, runner=self.runner)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.apply_requested.connect(self.apply)
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
    def apply(self, plan) -> int | None:
        """Send a confirmed plan (queued behind a run that is still going)."""
        if self._jobs:
            self._queue.append(plan)
            self.window.banner.show_message(
                "info", f"“{plan.title}” waits for the run in progress to finish, then starts by itself.")
            return None
        job = self.engine.apply(plan)
        if job is None:
            self.window.banner.show_message(
                "warning", "Not sent: no connection profile is open. Open one (File › Profiles…) and plan again.")
            return None
        self._jobs[job] = plan.title
        return job

    def _on_job_changed(self, info) -> None:
        if info.id not in self._jobs or not info.state.finished:
            return
        title = self._jobs.pop(info.id)
        if info.state.value == "done":
            self._finished_title = title  # ``applied`` follows this job_changed, with the summary
        else:
            # A cancelled or failed job never emits ``applied``: say what happened and where to look.
            what = "was cancelled" if info.state.value == "cancelled" else f"stopped: {info.error}"
            self.window.banner.show_message(
                "warning", f"“{title}” {what}. The journal shows which items went through.",
                actions=[("Show journal", self.show_journal)])
            if self.pane.model.is_active():
                self.pane.model.refresh()
        if self._queue:
            self.apply(self._queue.pop(0))

    def _on_applied(self, summary: RunSummary) -> None:
        title, self._finished_title = self._finished_title, None
        if title is not None:
            self.show_results(summary, title)
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

    # -- results --------------------------------------------------------------------------------
    def show_results(self, summary: RunSummary, title: str = "") -> ResultsDialog:
        if self.results is not None:
            self.results.close()
        dialog = ResultsDialog(summary, self.window, title=title, session=self.engine.session)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.retry_requested.connect(self.engine.plan_retry)
        dialog.journal_requested.connect(self.show_journal)
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget_results(d))
        self.results = dialog
        dialog.open()
        return dialog

    def _forget_results(self, dialog) -> None:
        if self.results is dialog:
            self.results = None

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


def install_change_views(window, engine) -> ChangeViews:
    """Register the journal pane and route the engine's plans, runs and outbox to the window."""
    if not getattr(window, "completed", True):
        raise RuntimeError("install_change_views needs the window's models and status bar: call it after "
                           "MainWindow.complete()")
    views = ChangeViews(window, engine)
    window.change_views = views  # keeps it alive with the window
    return views


__all__ = ["ChangeViews", "install_change_views"]
