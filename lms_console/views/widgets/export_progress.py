"""A slim strip under a table while its export runs: what is being written, a progress bar and
Cancel. It follows one TaskRunner job and hides itself when the job ends."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget


class ExportProgress(QWidget):
    """Shows the progress of one export job of ``runner`` (``what``: "users", for the texts).

    Signals:
        finished(str): the job ended; its state ("done", "failed", "cancelled").
    """

    finished = Signal(str)

    def __init__(self, runner, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.what = what
        self.job: int | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setObjectName("ExportProgressLabel")
        self.bar = QProgressBar()
        self.bar.setObjectName("ExportProgress")
        self.bar.setMaximumWidth(280)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        self.hide()
        runner.job_changed.connect(self._on_job_changed)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, job: int | None, total: int) -> None:
        """Follow ``job`` (None: the export did not start; nothing to show)."""
        self.job = job
        if job is None:
            return
        self.label.setText(f"Exporting {total:,} {self.what}…")
        self.bar.setRange(0, 0)
        self.show()

    def cancel(self) -> None:
        if self.job is not None:
            self.runner.cancel(self.job)

    def _on_job_changed(self, info) -> None:
        if self.job is None or info.id != self.job:
            return
        if info.total:
            self.bar.setRange(0, info.total)
            self.bar.setValue(info.done)
            self.label.setText(f"Exporting… {info.done:,} of {info.total:,} {self.what}")
        if info.state.finished:
            self.job = None
            self.hide()
            self.finished.emit(info.state.value)
