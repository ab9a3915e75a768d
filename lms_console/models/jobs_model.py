"""Table model of running and finished jobs for the jobs panel."""

from __future__ import annotations

import re
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


# Jobs started without a ``label=`` carry their internal name as their label: what the panel says instead (the
# name, or its pattern). None is hidden: each runs on the cache-writer thread, and a job waiting behind a hidden
# one (an Apply, a sync) would seem to wait for nothing.
_UNLABELLED = tuple((re.compile(pattern), label) for pattern, label in (
    (r"save-site-info", "Save the site's details"),
    (r"close-cache", "Close the local copy of a closed profile"),
    (r"release-held-\d+", "Apply your decision on held changes"),
    (r"cohort-rules-[0-9a-f]+-record", "Record the cohort rule checks"),
    (r"cohort-rules-[0-9a-f]+-save", "Save the cohort rule"),
    (r"cohort-rules-[0-9a-f]+-delete", "Delete the cohort rule"),
))
UNLABELLED_JOB = "Background task"  # a job started without a label that the list above does not know
# "550 of 26120", "550/26120": progress counts in a job's message, written with thousands separators.
_COUNTS = re.compile(r"(?<![\d.,])(\d+)( of |/)(\d+)(?![\d.,])")
_RANK = {JobState.RUNNING: 0, JobState.QUEUED: 1}


def job_title(job: JobInfo) -> str:
    """What the panel calls ``job``: its label, never its internal name."""
    if job.label and job.label != job.name:
        return job.label
    return next((label for pattern, label in _UNLABELLED if pattern.fullmatch(job.name)), UNLABELLED_JOB)


def with_separators(text: str) -> str:
    """``text`` with its progress counts ("550 of 26120") written with thousands separators."""
    return _COUNTS.sub(lambda m: f"{int(m[1]):,}{m[2]}{int(m[3]):,}", text) if text else text


def job_order(job: JobInfo) -> tuple:
    """The panel's order: running jobs first, then queued ones (each in the order they started), then finished
    ones, newest first."""
    if job.state in _RANK:
        return (_RANK[job.state], job.id)
    return (2, -(job.finished or job.started), -job.id)


class JobsModel(RowTableModel):
    """Rows are jobs (newest first; the panel sorts them by :func:`job_order`); follows ``TaskRunner.job_changed``.

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
                return job_title(job)
            if col == 1:
                return _STATE_TEXT[job.state]
            if col == 2:
                if job.total:
                    return f"{job.done:,} / {job.total:,}"
                return "" if job.state.finished else "…"
            if col == 3:
                return job.error or with_separators(job.message)
            if col == 4:
                return time.strftime("%H:%M:%S", time.localtime(job.started))
            if col == 5:
                end = job.finished or time.time()
                return f"{end - job.started:.1f} s"
        elif role == Qt.ItemDataRole.ToolTipRole and col == 3:
            return job.error or with_separators(job.message) or None
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
