"""The jobs panel: every background job with its progress, Cancel and Clear finished.

The main window puts it in a QDockWidget. It cancels jobs by calling
``TaskRunner.cancel`` itself (views may use models; no detour through the main
window). Failed jobs show their error in red; double-clicking a failed job that
was a bug opens the crash dialog with its traceback.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSize, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.jobs_model import JobsModel, job_order, with_separators
from lms_console.models.tasks import JobInfo, JobState, TaskRunner
from lms_console.views import crash_handler, theme
from lms_console.views.icons import icon
from lms_console.views.widgets.progress_delegate import ProgressDelegate

COL_JOB, COL_STATE, COL_PROGRESS, COL_DETAILS, COL_STARTED, COL_DURATION = range(6)

_STATE_ICONS = {
    JobState.QUEUED: "clock",
    JobState.RUNNING: "sync",
    JobState.DONE: "success",
    JobState.FAILED: "error",
    JobState.CANCELLED: "cancel",
}


class JobsFilterModel(QSortFilterProxyModel):
    """JobsModel as the panel shows it: cleared jobs hidden, running jobs first, then queued ones, then finished
    ones newest first (:func:`job_order`, kept as jobs change), failures in red, state icons, redacted errors.

    Signals: none of its own beyond QSortFilterProxyModel's.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hidden: set[int] = set()

    def _job(self, proxy_index: QModelIndex | QPersistentModelIndex) -> JobInfo | None:
        source = self.sourceModel()
        if not isinstance(source, JobsModel) or not proxy_index.isValid():
            return None
        return source.job_at(self.mapToSource(proxy_index).row())

    def job_at(self, row: int) -> JobInfo | None:
        return self._job(self.index(row, 0))

    def hide_finished(self) -> list[int]:
        """Hide every finished job shown now; returns their ids."""
        source = self.sourceModel()
        ids = [source.job_at(r).id for r in range(source.rowCount()) if source.job_at(r).state.finished]
        self.beginFilterChange()
        self._hidden.update(ids)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        return ids

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,  # noqa: N802 - Qt override
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        source = self.sourceModel()
        if not isinstance(source, JobsModel):
            return super().lessThan(left, right)
        return job_order(source.job_at(left.row())) < job_order(source.job_at(right.row()))

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        source = self.sourceModel()
        if not isinstance(source, JobsModel):
            return True
        return source.job_at(source_row).id not in self._hidden

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        job = self._job(index)
        col = index.column()
        if job is not None:
            failed = job.state is JobState.FAILED
            if role == Qt.ItemDataRole.ForegroundRole and failed and col in (COL_STATE, COL_DETAILS):
                return theme.color("error")
            if role == Qt.ItemDataRole.DecorationRole and col == COL_STATE:
                return icon(_STATE_ICONS[job.state])
            if role == Qt.ItemDataRole.DisplayRole and col == COL_DETAILS and job.error:
                return crash_handler.redact(job.error)
            if role == Qt.ItemDataRole.ToolTipRole and col in (COL_JOB, COL_STATE, COL_DETAILS):
                return _tooltip(job)
            if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_STARTED, COL_DURATION):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if not index.isValid():
            return None
        # The source's Python data(), not super().data(): a C++ data() call returning an
        # invalid QVariant drops a reference to None (PySide6 6.12, Python 3.11).
        return self.sourceModel().data(self.mapToSource(index), role)


def _tooltip(job: JobInfo) -> str | None:
    if job.state is JobState.FAILED:
        text = crash_handler.redact(job.error) or "Failed"
        if job.is_bug:
            return f"{text}\n\nThis is a bug in lms-console. Double-click for the details to report it."
        return text
    return with_separators(job.message) or None


class JobsPanel(QWidget):
    """Table of background jobs with Cancel and Clear finished.

    Signals: none; Cancel calls ``TaskRunner.cancel`` directly and bug details
    open through ``crash_handler.report_bug``.
    """

    def __init__(self, runner: TaskRunner, model: JobsModel | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("JobsPanel")
        self._runner = runner
        self._model = model if model is not None else JobsModel(runner, self)
        self._bugs: dict[int, BaseException] = {}
        runner.job_failed.connect(self._on_job_failed)

        self._proxy = JobsFilterModel(self)
        self._proxy.setSourceModel(self._model)
        self._proxy.sort(COL_JOB)  # by job_order, whatever the column; re-sorted as jobs start and end

        self._table = QTableView()
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, not walks its cells
        self._table.setObjectName("JobsTable")
        self._table.setModel(self._proxy)
        self._table.setAccessibleName("Jobs")
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setAlternatingRowColors(True)
        self._table.setShowGrid(False)
        self._table.setWordWrap(False)
        self._table.setIconSize(QSize(16, 16))
        self._table.verticalHeader().hide()
        self._table.verticalHeader().setDefaultSectionSize(26)
        self._delegate = ProgressDelegate(self._table)
        self._table.setItemDelegateForColumn(COL_PROGRESS, self._delegate)
        header = self._table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_DETAILS, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_JOB, 200), (COL_STATE, 110), (COL_PROGRESS, 160),
                           (COL_STARTED, 80), (COL_DURATION, 80)):
            self._table.setColumnWidth(col, width)
        self._table.doubleClicked.connect(self._on_double_clicked)
        self._table.selectionModel().selectionChanged.connect(self._update_actions)

        self._empty = QLabel("No jobs yet.\nSyncs, imports, uploads and reports show their progress here.")
        self._empty.setObjectName("JobsEmpty")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setEnabled(False)  # drawn in the disabled (muted) text colour
        self._stack = QStackedWidget()
        self._stack.addWidget(self._empty)
        self._stack.addWidget(self._table)

        self.cancel_action = QAction("Cancel", self)
        self.cancel_action.setToolTip("Cancel the selected job")
        self.cancel_action.triggered.connect(self.cancel_selected)
        self.clear_action = QAction("Clear finished", self)
        self.clear_action.setToolTip("Remove finished, failed and cancelled jobs from the list")
        self.clear_action.triggered.connect(self.clear_finished)
        toolbar = QToolBar()
        toolbar.setObjectName("JobsToolbar")
        toolbar.setIconSize(QSize(16, 16))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.cancel_action)
        toolbar.addAction(self.clear_action)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(toolbar)
        layout.addWidget(self._stack, 1)

        # Durations of running jobs change without model signals: repaint once a second.
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._table.viewport().update)
        runner.busy_changed.connect(self._on_busy_changed)
        for signal in (self._proxy.rowsInserted, self._proxy.rowsRemoved, self._proxy.modelReset,
                       self._proxy.dataChanged, self._proxy.layoutChanged):
            signal.connect(self._update_actions)
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()
        self._update_actions()
        self._on_busy_changed(bool(runner.running()))

    # -- public API ------------------------------------------------------------------------
    def table(self) -> QTableView:
        return self._table

    def filter_model(self) -> JobsFilterModel:
        return self._proxy

    def selected_job(self) -> JobInfo | None:
        rows = self._table.selectionModel().selectedRows()
        return self._proxy.job_at(rows[0].row()) if rows else None

    def select_job(self, job_id: int) -> bool:
        for row in range(self._proxy.rowCount()):
            job = self._proxy.job_at(row)
            if job is not None and job.id == job_id:
                self._table.selectRow(row)
                return True
        return False

    def cancel_selected(self) -> None:
        job = self.selected_job()
        if job is not None and not job.state.finished:
            self._runner.cancel(job.id)

    def clear_finished(self) -> None:
        for job_id in self._proxy.hide_finished():
            self._bugs.pop(job_id, None)
        self._update_actions()

    def show_bug_details(self, job_id: int) -> bool:
        """Open the crash dialog for a job that failed with a bug; False if it did not."""
        exc = self._bugs.get(job_id)
        if exc is None:
            return False
        crash_handler.report_bug(exc, getattr(exc, "__lms_traceback__", None), parent=self.window())
        return True

    # -- internals -----------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """The panel opens at its top, on the running jobs (not where it was left, jobs ago)."""
        super().showEvent(event)
        self._table.scrollToTop()

    def _on_job_failed(self, info: JobInfo, exc: object) -> None:
        if info.is_bug and isinstance(exc, BaseException):
            self._bugs[info.id] = exc

    def _on_double_clicked(self, index: QModelIndex) -> None:
        job = self._proxy.job_at(index.row())
        if job is not None and job.state is JobState.FAILED and job.is_bug:
            self.show_bug_details(job.id)

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            self._clock.start()
        else:
            self._clock.stop()
            self._table.viewport().update()

    def _update_actions(self, *_args) -> None:
        job = self.selected_job()
        self.cancel_action.setEnabled(job is not None and not job.state.finished)
        rows = self._proxy.rowCount()
        self.clear_action.setEnabled(any(
            (j := self._proxy.job_at(r)) is not None and j.state.finished for r in range(rows)
        ))
        self._stack.setCurrentWidget(self._table if rows else self._empty)

    def _refresh_icons(self, *_args) -> None:
        self.cancel_action.setIcon(icon("cancel"))
        self.clear_action.setIcon(icon("remove"))
        self._table.viewport().update()
