"""Table model of running and finished jobs for the jobs panel."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QObject, Qt

from lms_console.models.row_table import RowTableModel
from lms_console.models.tasks import JobInfo, JobState, TaskRunner

COLUMNS = ("Job", "State", "Progress", "Details", "Started", "Duration")
MAX_FINISHED = 200

_STATE_TEXT = {
    JobState.QUEUED: "Queued",
    JobState.RUNNING: "Running",
    JobState.DONE: "Done",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
}


class JobsModel(RowTableModel):
    """Rows are jobs (newest first); follows ``TaskRunner.job_changed``.

    Signals: none of its own beyond QAbstractItemModel's. ``ProgressRole`` gives
    the fraction (0..1, or -1 when unknown) for a progress-bar delegate.
    """

    COLUMNS = COLUMNS
    ProgressRole = Qt.ItemDataRole.UserRole + 1
    JobIdRole = Qt.ItemDataRole.UserRole + 2
    StateRole = Qt.ItemDataRole.UserRole + 3

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[JobInfo] = []  # updated in place as jobs change
        runner.job_changed.connect(self._on_job_changed)

    def cell(self, job: JobInfo, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return job.label
            if col == 1:
                return _STATE_TEXT[job.state]
            if col == 2:
                if job.total:
                    return f"{job.done:,} / {job.total:,}"
                return "" if job.state.finished else "…"
            if col == 3:
                return job.error or job.message
            if col == 4:
                return time.strftime("%H:%M:%S", time.localtime(job.started))
            if col == 5:
                end = job.finished or time.time()
                return f"{end - job.started:.1f} s"
        elif role == Qt.ItemDataRole.ToolTipRole and col == 3:
            return job.error or job.message or None
        elif role == self.ProgressRole:
            return job.fraction if job.fraction is not None else -1.0
        elif role == self.JobIdRole:
            return job.id
        elif role == self.StateRole:
            return job.state.value
        return None

    def job_at(self, row: int) -> JobInfo:
        return self._rows[row]

    def _on_job_changed(self, info: JobInfo) -> None:
        if info.quiet:
            return
        for row, existing in enumerate(self._rows):
            if existing.id == info.id:
                self._rows[row] = info
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, info)
        self.endInsertRows()
        finished = [i for i, r in enumerate(self._rows) if r.state.finished]
        if len(finished) > MAX_FINISHED:
            last = finished[-1]
            self.beginRemoveRows(QModelIndex(), last, last)
            del self._rows[last]
            self.endRemoveRows()
