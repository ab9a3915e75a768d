"""The crash dialog: "Something went wrong", with details to copy or save for a bug report.

Opened by :mod:`lms_console.views.crash_handler` with ``open()`` (never ``exec()``);
further crashes while it is open are appended. Every text it shows, copies or
saves passes through the ``redact`` function it was given.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Callable

import PySide6
from PySide6.QtCore import QSize, QStandardPaths, Qt, Signal, qVersion
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import lms_console
from lms_console.views.icons import icon

_SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard


def environment_text() -> str:
    """Versions that matter for a bug report (no user names, paths or hosts)."""
    app = QGuiApplication.instance()
    plugin = QGuiApplication.platformName() if app is not None else "none"
    return "\n".join([
        f"lms-console: {lms_console.__version__}",
        f"Python: {platform.python_version()} ({platform.python_implementation()}, {sys.platform})",
        f"Qt: {qVersion()} (PySide6 {PySide6.__version__}, platform {plugin})",
        f"OS: {platform.system()} {platform.release()} ({platform.machine()})",
    ])


class CrashDialog(QDialog):
    """Shows one or more bugs; details are folded away until asked for.

    Signals:
        report_added(object): a CrashReport was added (the first or an appended one).
        details_copied(): "Copy details" put the (redacted) report on the clipboard.
        report_saved(str): the report was written to this path.
    """

    report_added = Signal(object)
    details_copied = Signal()
    report_saved = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, redact: Callable[[str], str] | None = None) -> None:
        super().__init__(parent)
        if redact is None:
            from lms_console.views.crash_handler import redact
        self._redact = redact
        self._reports: list = []
        self._environment = environment_text()
        self.setObjectName("CrashDialog")
        self.setWindowTitle("lms-console: something went wrong")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setSizeGripEnabled(True)

        badge = QLabel()
        badge.setPixmap(icon("error").pixmap(QSize(36, 36), self.devicePixelRatioF()))
        badge.setFixedSize(40, 40)
        badge.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)

        title = QLabel("Something went wrong")
        title.setObjectName("CrashTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(
            "This is a bug in lms-console, not a problem with your site or your data. "
            "You can keep working; if it happens again, send the details below with a bug report "
            "(tokens and passwords are removed from them)."
        )
        intro.setObjectName("CrashIntro")
        intro.setWordWrap(True)
        self._summary = QLabel()
        self._summary.setObjectName("CrashSummary")
        self._summary.setWordWrap(True)
        self._summary.setTextFormat(Qt.TextFormat.PlainText)
        self._summary.setTextInteractionFlags(_SELECTABLE)
        self._summary.setAccessibleName("Error")
        summary_font = self._summary.font()
        summary_font.setBold(True)
        self._summary.setFont(summary_font)
        self._count = QLabel()
        self._count.setObjectName("CrashCount")
        self._count.hide()

        self._toggle = QToolButton()
        self._toggle.setObjectName("CrashDetailsToggle")
        self._toggle.setText("Show details")
        self._toggle.setCheckable(True)
        self._toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._toggle.setIcon(icon("chevron-right"))
        self._toggle.setIconSize(QSize(14, 14))
        self._toggle.setAccessibleName("Show details")
        self._toggle.toggled.connect(self.set_details_visible)

        self._details = QPlainTextEdit()
        self._details.setObjectName("CrashDetails")
        self._details.setReadOnly(True)
        self._details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._details.setAccessibleName("Crash details")
        self._details.setMinimumHeight(220)
        self._details.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._details.hide()

        self._status = QLabel()
        self._status.setObjectName("CrashStatus")
        self._status.setTextInteractionFlags(_SELECTABLE)

        copy_button = QPushButton(icon("copy"), "Copy details")
        copy_button.setObjectName("CrashCopy")
        copy_button.setAutoDefault(False)
        copy_button.clicked.connect(self.copy_details)
        save_button = QPushButton(icon("save"), "Save report…")
        save_button.setObjectName("CrashSave")
        save_button.setAutoDefault(False)
        save_button.clicked.connect(self._ask_where_to_save)
        close_button = QPushButton("Close")
        close_button.setObjectName("CrashClose")
        close_button.setDefault(True)
        close_button.clicked.connect(self.close)

        head_text = QVBoxLayout()
        head_text.setSpacing(6)
        head_text.addWidget(title)
        head_text.addWidget(self._summary)
        head_text.addWidget(self._count)
        head_text.addWidget(intro)
        head = QHBoxLayout()
        head.setSpacing(12)
        head.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        head.addLayout(head_text, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(copy_button)
        buttons.addWidget(save_button)
        buttons.addSpacing(8)
        buttons.addWidget(self._status, 1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.setSpacing(10)
        layout.addLayout(head)
        layout.addWidget(self._toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._details, 1)
        layout.addLayout(buttons)
        self.resize(620, 200)

    # -- content ------------------------------------------------------------------------
    def add_report(self, report) -> None:
        """Add a CrashReport (the first one or a later crash while the dialog is open)."""
        self._reports.append(report)
        first = self._reports[0]
        self._summary.setText(self._redact(first.summary))
        extra = len(self._reports) - 1
        self._count.setText(
            f"and {extra} more problem{'s' if extra > 1 else ''} since (all listed in the details)"
        )
        self._count.setVisible(extra > 0)
        self._details.setPlainText(self.details_text())
        if not self.details_visible():
            self._fit_height()
        self.report_added.emit(report)

    def has_report(self, exc: BaseException) -> bool:
        """Whether this very exception object is already listed."""
        return any(r.exception is exc for r in self._reports)

    def reports(self) -> list:
        return list(self._reports)

    def summary_text(self) -> str:
        return self._summary.text()

    def details_text(self) -> str:
        """The whole report as shown, copied and saved: redacted."""
        n = len(self._reports)
        parts = [f"lms-console crash report ({time.strftime('%Y-%m-%d %H:%M:%S %z')})", self._environment, ""]
        for i, r in enumerate(self._reports, 1):
            when = time.strftime("%H:%M:%S", time.localtime(r.when))
            parts.append(f"=== Problem {i} of {n}: {r.summary} (thread {r.thread}, {when}) ===")
            parts.append(r.traceback.rstrip())
            parts.append("")
        return self._redact("\n".join(parts))

    # -- actions --------------------------------------------------------------------------
    def set_details_visible(self, shown: bool) -> None:
        if self._toggle.isChecked() != shown:
            self._toggle.setChecked(shown)  # re-enters through toggled
            return
        self._details.setVisible(shown)
        self._toggle.setText("Hide details" if shown else "Show details")
        self._toggle.setAccessibleName(self._toggle.text())
        self._toggle.setIcon(icon("chevron-down" if shown else "chevron-right"))
        if shown:
            self.resize(max(self.width(), 760), max(self.height(), 540))
        else:
            self._fit_height()

    def _fit_height(self) -> None:
        # Word-wrapped labels need height-for-width, which a top-level's minimum size ignores.
        layout = self.layout()
        width = max(self.width(), 620)
        self.resize(width, max(layout.heightForWidth(width), layout.minimumSize().height()))

    def details_visible(self) -> bool:
        return self._toggle.isChecked()

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details_text())
        self._show_status("Details copied to the clipboard.")
        self.details_copied.emit()

    def save_report(self, path: str | Path) -> bool:
        """Write the redacted report to ``path``; False (and a message) if that failed."""
        try:
            Path(path).write_text(self.details_text() + "\n", encoding="utf-8")
        except OSError as exc:
            self._show_status(f"Could not save: {exc.strerror or exc}", error=True)
            return False
        self._show_status(f"Saved to {Path(path).name}")
        self._status.setToolTip(str(path))
        self.report_saved.emit(str(path))
        return True

    def _ask_where_to_save(self) -> None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name = time.strftime("lms-console-crash-%Y%m%d-%H%M%S.txt")
        chooser = QFileDialog(self, "Save crash report", str(Path(folder or Path.home()) / name),
                              "Text files (*.txt);;All files (*)")
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.setDefaultSuffix("txt")
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.fileSelected.connect(self.save_report)
        chooser.open()

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self._status.setText(text)
        self._status.setProperty("error", error)
        self._status.style().unpolish(self._status)
        self._status.style().polish(self._status)
