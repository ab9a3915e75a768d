"""The results of a run, item by item: done, failed (with the LMS's code and a plain message),
skipped, held. Counts on top filter the table; "Retry failed" plans only the failed items
again (and previews them); "Show in journal" opens the run in the journal pane.
Opened with ``open()``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.plan_model import RunResultsModel, count_phrase
from lms_console.services.changes.model import RunSummary, Status
from lms_console.views import theme
from lms_console.views.dialogs.preview_dialog import CountToggles, make_table, show_long_titles
from lms_console.views.icons import icon

_STATUS_LABELS = (
    (Status.DONE, "success", "done", "done", ""),
    (Status.FAILED, "error", "failed", "failed", "error"),
    (Status.SKIPPED, "remove", "skipped", "skipped", ""),
    (Status.HELD, "warning", "held for you", "held for you", "warning"),
    (Status.QUEUED, "clock", "waiting to be sent", "waiting to be sent", ""),
)

_HEADLINES = {
    "done": "Finished: every change went through",
    "partial": "Finished with failures",
    "failed": "Stopped: the site refused the console's token",
    "waiting": "Waiting: the site did not answer",
    "cancelled": "Cancelled",
    "held": "Finished: some changes wait for your decision",
}


def headline(summary: RunSummary) -> str:
    """The run's outcome in a few words ("Finished with failures"; none of it when nothing went through)."""
    if summary.status == "failed" and not summary.stopped:  # went to its end, and none of it through
        return "Finished: nothing went through"
    return _HEADLINES.get(summary.status, summary.status.capitalize())


def explain(summary: RunSummary) -> str:
    """What happened, in a sentence or two, from the run's status and counts."""
    failed, held = summary.count(Status.FAILED), summary.count(Status.HELD)
    waiting = summary.count(Status.QUEUED) + summary.count(Status.SENDING)
    parts = []
    if summary.status == "done" and not failed:
        parts.append("The site accepted every change that was sent.")
    if failed:
        parts.append(f"The site refused {count_phrase(failed, 'item')}; each shows the LMS's error code and "
                     "message. Fix what it says, then Retry failed: only those are planned again.")
    if waiting:
        parts.append(f"{count_phrase(waiting, 'change')} wait{'s' if waiting == 1 else ''} in the outbox and go "
                     "out, in order, when the site answers again.")
    if held:
        parts.append(f"{count_phrase(held, 'change')} {'is' if held == 1 else 'are'} held: changed on the site "
                     "since planned, or the answer was lost. Decide in Journal › Outbox.")
    if summary.status == "cancelled":
        parts.append("Items not sent before Cancel are skipped; what was sent is recorded.")
    skipped = summary.count(Status.SKIPPED)
    if skipped:
        parts.append(f"{count_phrase(skipped, 'item')} {'was' if skipped == 1 else 'were'} not sent (already so, "
                     "invalid, cancelled or depending on a failed item).")
    return " ".join(parts)


class ResultsDialog(QDialog):
    """Per-item results of one run (a RunSummary).

    Signals:
        retry_requested(int): plan the failed items of this run again (the run id).
        journal_requested(int): show this run in the journal (the run id).
    """

    retry_requested = Signal(int)
    journal_requested = Signal(int)

    def __init__(self, summary: RunSummary, parent: QWidget | None = None, *, title: str = "",
                 session=None, plan=None) -> None:
        """``plan``: the plan the run sent, when known: its items' titles show at once (else they are read
        from the journal of ``session``)."""
        super().__init__(parent)
        self.summary = summary
        self.setObjectName("ResultsDialog")
        self.setWindowTitle("Results")
        self.setSizeGripEnabled(True)
        self.resize(920, 560)
        self.model = RunResultsModel(summary, self, icons=icon, colours=theme.color, plan=plan)
        if session is not None:
            job = self.model.load_titles(session)
            if job is not None:  # closed before the titles arrive: the runner drops them
                self.finished.connect(lambda _r, runner=session.runner: runner.cancel(job))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 12)
        layout.setSpacing(10)
        heading = QHBoxLayout()
        heading.setSpacing(10)
        self.status_icon = QLabel()
        self.status_icon.setFixedSize(24, 24)
        heading.addWidget(self.status_icon, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.title_label = QLabel(headline(summary))
        self.title_label.setObjectName("DialogTitle")
        self.subtitle_label = QLabel(f"{title + ' — ' if title else ''}run {summary.run_id}, "
                                     f"{count_phrase(len(summary.results), 'item')}")
        self.subtitle_label.setObjectName("DialogSubtitle")
        self.subtitle_label.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle_label.setWordWrap(True)
        texts.addWidget(self.title_label)
        texts.addWidget(self.subtitle_label)
        heading.addLayout(texts, 1)
        layout.addLayout(heading)

        self.toggles = CountToggles()
        for status, icon_name, one, many, tone in _STATUS_LABELS:
            n = summary.count(status) + (summary.count(Status.SENDING) if status == Status.QUEUED else 0)
            if n or status in (Status.DONE, Status.FAILED, Status.SKIPPED):
                self.toggles.add(status.value, icon_name, n, one, many, tone)
        self.toggles.selection_changed.connect(self._filter)
        layout.addWidget(self.toggles)
        self.explanation = QLabel(explain(summary))
        self.explanation.setObjectName("ResultsExplanation")
        self.explanation.setWordWrap(True)
        layout.addWidget(self.explanation)

        self.table = make_table(self.model, "ResultsTable")
        self.table.setAccessibleName("Results per item")
        for col, width in ((0, 44), (2, 150), (3, 130)):
            self.table.setColumnWidth(col, width)
        show_long_titles(self.table, RunResultsModel.COL_TITLE)  # the titles share the room left with the messages
        self.table.horizontalHeader().setSectionResizeMode(RunResultsModel.COL_MESSAGE,
                                                           QHeaderView.ResizeMode.Stretch)
        self.model.modelReset.connect(self._fit_code_column)
        self._fit_code_column()
        layout.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.journal_button = QPushButton("Show in journal")
        self.journal_button.setAutoDefault(False)
        self.journal_button.clicked.connect(self._show_in_journal)
        failed = summary.count(Status.FAILED)
        self.retry_button = QPushButton(f"Retry failed ({failed:,})" if failed else "Retry failed")
        self.retry_button.setAutoDefault(False)
        self.retry_button.setEnabled(failed > 0)
        self.retry_button.setToolTip("Plan the failed items again, with the items skipped because they depended on "
                                     "them, and preview them" if failed
                                     else "Nothing failed in this run")
        self.retry_button.clicked.connect(self._retry)
        self.close_button = QPushButton("Close")
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.accept)
        row.addWidget(self.journal_button)
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addWidget(self.close_button)
        layout.addLayout(row)

        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()
        if failed and summary.count(Status.DONE) > 20:
            self.toggles.set_only(Status.FAILED.value)  # the failures first; "done" is one click away

    def _filter(self, keys: set[str]) -> None:
        statuses = set(keys)
        if Status.QUEUED.value in statuses:
            statuses.add(Status.SENDING.value)
        statuses.add(Status.UNDONE.value)
        self.model.set_visible_statuses(statuses)

    def _fit_code_column(self) -> None:
        # LMS codes are long single words (usernotupdateddeleted): never elide them.
        self.table.resizeColumnToContents(RunResultsModel.COL_CODE)
        self.table.setColumnWidth(RunResultsModel.COL_CODE, min(max(self.table.columnWidth(3), 90), 260))

    def _retry(self) -> None:
        self.retry_requested.emit(self.summary.run_id)
        self.accept()

    def _show_in_journal(self) -> None:
        self.journal_requested.emit(self.summary.run_id)
        self.accept()

    def _refresh_icons(self, *_args) -> None:
        name = {"done": "success", "partial": "error", "failed": "error", "waiting": "offline",
                "cancelled": "cancel", "held": "warning"}.get(self.summary.status, "info")
        self.status_icon.setPixmap(icon(name).pixmap(24, 24))
