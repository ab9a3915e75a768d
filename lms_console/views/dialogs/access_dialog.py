""""Why can't X get in?": pick a user (and optionally a course), the console asks the site about
them and lists every reason in plain words, each with its one-click fix where there is one."""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.access_model import AccessChecker
from lms_console.services.access import BLOCKS, INFO, OK, WARNING
from lms_console.views.dialogs.user_dialog import plain_label
from lms_console.views.icons import icon
from lms_console.views.widgets.pick_list import chosen_index, make_searchable
from lms_console.views.widgets.text_wrap import breakable

_ICON = {BLOCKS: "error", WARNING: "warning", INFO: "info", OK: "success"}


class AccessDialog(QDialog):
    """The access check for one user and optional course; re-checks after a fix was applied.

    Signals: none of its own (fixes go to the change engine through the AccessChecker).
    """

    def __init__(self, session, engine, parent: QWidget | None = None, *, userid: int | None = None,
                 courseid: int | None = None, options=None) -> None:
        super().__init__(parent)
        self.setObjectName("AccessDialog")
        self.setWindowTitle("Why can't they get in?")
        self.resize(640, 560)
        self.checker = AccessChecker(session, engine, self)
        self.userid = userid
        self.report = None
        self.fix_buttons: dict[str, QPushButton] = {}

        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("AccessUser")
        self.user_edit.setPlaceholderText("Username, email address, ID or name")
        self.user_edit.setClearButtonEnabled(True)
        self.user_edit.textEdited.connect(lambda _t: self._user_edited())
        self.user_edit.returnPressed.connect(self.check)
        self.user_note = plain_label("", "AccessUserNote")
        self.course_combo = QComboBox()
        self.course_combo.setObjectName("AccessCourse")
        self.course_combo.addItem("The account only (no course)", None)
        for cid, short, full in getattr(options, "courses", ()) or ():
            self.course_combo.addItem(f"{short} — {full}" if full else short, cid)
        # Sized for ordinary names, not the longest one (a 180-character short name made the dialog 2,300 px wide).
        self.course_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.course_combo.setMinimumContentsLength(40)
        make_searchable(self.course_combo)
        if courseid is not None:
            self.course_combo.setCurrentIndex(max(self.course_combo.findData(courseid), 0))
        self.check_button = QPushButton("Check")
        self.check_button.setObjectName("AccessCheckButton")
        self.check_button.setProperty("primary", True)
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.check)
        form = QFormLayout()
        user_row = QHBoxLayout()
        user_row.addWidget(self.user_edit, 1)
        user_row.addWidget(self.check_button)
        form.addRow("User", user_row)
        form.addRow("", self.user_note)
        form.addRow("Course", self.course_combo)

        self.verdict = plain_label("", "AccessVerdict")
        self.verdict.setWordWrap(True)
        self.source = plain_label("", "AccessSource")
        self.source.setWordWrap(True)
        self.reasons_box = QWidget()
        self.reasons_box.setObjectName("AccessReasons")
        self.reasons_layout = QVBoxLayout(self.reasons_box)
        self.reasons_layout.setContentsMargins(0, 0, 0, 0)
        self.reasons_layout.setSpacing(8)
        self.reasons_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("AccessScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.reasons_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.verdict)
        lay.addWidget(self.source)
        lay.addWidget(scroll, 1)
        lay.addWidget(buttons)

        self._find_timer = QTimer(self, singleShot=True, interval=250)
        self._find_timer.timeout.connect(lambda: self.checker.find(self.user_edit.text()))
        self.checker.found.connect(self._on_found)
        self.checker.checked.connect(self.show_report)
        self.checker.failed.connect(self._on_failed)
        if engine is not None:
            engine.changes_applied.connect(self._after_fix)
        if userid is not None:
            self.user_edit.setText(str(userid))
            QTimer.singleShot(0, self.check)

    # -- picking the user --------------------------------------------------------------------------
    def _user_edited(self) -> None:
        self.userid = None
        self.user_note.setText("")
        self._find_timer.start()

    def _on_found(self, found) -> None:
        if found is None:
            if self.user_edit.text().strip():
                self.user_note.setText("No single user matches: type a username, email address or ID.")
            self.userid = None
            return
        self.userid, label = found
        self.user_note.setText(breakable(label))

    # -- checking ------------------------------------------------------------------------------------
    def check(self) -> None:
        course = chosen_index(self.course_combo)
        if course < 0:
            self._say_course_unknown()
            return
        if self.userid is None:
            text = self.user_edit.text().strip()
            if not text:
                self.user_note.setText("Type the username, email address or ID of the user who cannot get in.")
                self.user_edit.setFocus()
                return
            if text.isdigit():
                self.userid = int(text)
            else:
                self._find_timer.stop()
                self.checker.found.connect(self._check_when_found, Qt.ConnectionType.SingleShotConnection)
                self.checker.find(text)
                return
        self.verdict.setText("Asking the site about this user…")
        self.verdict.setProperty("state", "busy")
        self._repolish(self.verdict)
        self.source.setText("")
        self.checker.check(self.userid, self.course_combo.itemData(course))

    def _say_course_unknown(self) -> None:
        typed = self.course_combo.currentText().strip()
        self.verdict.setText(breakable(f"No course in the list matches “{typed}”: choose one from the list, or “The "
                                       "account only”." if typed else "Choose a course from the list, or “The account "
                                       "only”."))
        self.verdict.setProperty("state", "blocked")
        self._repolish(self.verdict)

    def _check_when_found(self, found) -> None:
        if found is not None:
            self.check()

    def _after_fix(self, _summary) -> None:
        course = chosen_index(self.course_combo)
        if self.report is not None and self.userid is not None and course >= 0:
            self.checker.check(self.userid, self.course_combo.itemData(course))

    def _on_failed(self, message: str) -> None:
        self.verdict.setText(message)
        self.verdict.setProperty("state", "blocked")
        self._repolish(self.verdict)

    def show_report(self, report) -> None:
        self.report = report
        self.user_note.setText(breakable(report.label))
        self.verdict.setText(breakable(report.verdict))
        blocked = not report.can_sign_in or report.can_enter_course is False
        self.verdict.setProperty("state", "blocked" if blocked else "ok")
        self._repolish(self.verdict)
        stamp = time.strftime("%H:%M", time.localtime(report.checked_at))
        self.source.setText(f"Asked the site at {stamp}." if report.refreshed else
                            report.refresh_problem or "From the local copy.")
        while self.reasons_layout.count() > 1:
            item = self.reasons_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.fix_buttons = {}
        for n, reason in enumerate(report.reasons):
            self.reasons_layout.insertWidget(n, self._reason_card(reason))

    def _reason_card(self, reason) -> QFrame:
        card = QFrame()
        card.setObjectName("AccessReason")
        card.setProperty("severity", reason.severity)
        row = QHBoxLayout(card)
        row.setContentsMargins(10, 8, 10, 8)
        row.setSpacing(10)
        pic = QLabel()
        pic.setPixmap(icon(_ICON[reason.severity]).pixmap(QSize(20, 20)))
        pic.setAlignment(Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.setSpacing(2)
        title = plain_label(breakable(reason.title), "AccessReasonTitle")
        title.setWordWrap(True)
        text.addWidget(title)
        if reason.detail:
            detail = plain_label(breakable(reason.detail), "AccessReasonDetail")
            detail.setWordWrap(True)
            text.addWidget(detail)
        row.addWidget(pic)
        row.addLayout(text, 1)
        if reason.fixes:
            button = QPushButton(reason.fix_label + "…")
            button.setObjectName("AccessFixButton")
            button.setToolTip("Opens the preview; nothing is sent until you apply it")
            button.clicked.connect(lambda _=False, r=reason: self.fix(r))
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            self.fix_buttons[reason.code] = button
        return card

    def fix(self, reason) -> None:
        if self.report is not None:
            self.checker.fix(reason, self.report)

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)
