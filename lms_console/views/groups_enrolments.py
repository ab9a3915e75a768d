"""A course's enrolments in the groups pane: who, role, method, status, dates, last access to the
course; search, status and role filters; suspend, reactivate, end or remove enrolments in bulk.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, QModelIndex, QPoint, QSize, Qt, QTime, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.enrolments_model import COLUMNS, KEYS, STATUS_FILTERS, EnrolmentQuery, EnrolmentsTableModel
from lms_console.views import theme
from lms_console.views.icons import icon
from lms_console.views.widgets.item_menu import install_item_menu
from lms_console.views.widgets.pane_heading import ElidedLabel, pane_heading
from lms_console.views.widgets.users_table import SelectionTable, setup_users_table

WIDTHS = (170, 120, 210, 120, 110, 100, 90, 90, 140)
# key, button text, tooltip
BULK = (("suspend", "Suspend", "Suspend the selected enrolments: the users keep their data but lose access"),
        ("reactivate", "Reactivate", "Reactivate the selected suspended enrolments"),
        ("end", "End on…", "Set the date the selected enrolments end (role and status stay)"),
        ("unenrol", "Unenrol…", "Remove the selected enrolments (Delete); cannot be undone: Moodle drops their "
                                "course data"))


class EndDateDialog(QDialog):
    """Asks for the date enrolments end (``open()``; emits ``chosen`` with Unix seconds).

    Signals:
        chosen(int): the end date, as the end of that day in local time.
    """

    chosen = Signal(int)

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EndDateDialog")
        self.setWindowTitle("End enrolments")
        self.date = QDateEdit(QDate.currentDate(), calendarPopup=True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        text = QLabel(f"The {count:,} selected enrolment{'s' if count != 1 else ''} end at the end of this day. "
                      "Role and status stay as they are.")
        text.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Ends on", self.date)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Preview")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(text)
        lay.addLayout(form)
        lay.addWidget(buttons)

    def _accept(self) -> None:
        end = QDateTime(self.date.date(), QTime(23, 59, 59)).toSecsSinceEpoch()
        self.chosen.emit(int(end))
        self.accept()


class CoursePanel(QWidget):
    """The enrolments of one course.

    Signals:
        enrol_requested(int): open the enrolment matrix for this course.
        bulk_requested(str, int, object, int): action, course id, user ids, end date (Unix; "end" only).
    """

    enrol_requested = Signal(int)
    bulk_requested = Signal(str, int, object, int)

    def __init__(self, session, engine=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CoursePanel")
        self.session = session
        self.courseid: int | None = None
        self.model = EnrolmentsTableModel(session, self, colours=theme.color)
        self._dialog = None
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(lambda: self.model.update_query(text=self.search.text()))
        self._build()
        if engine is not None:
            engine.changes_applied.connect(self.model.on_changes_applied)
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._fit_buttons()

    def _fit_buttons(self) -> None:
        """The bulk buttons show their words when there is room (with the count and a readable hint
        beside them), else only their icons (the words are in the tooltips): never cut off. The
        search's placeholder likewise says "Search enrolled users" only where it fits."""
        words = "Search enrolled users"
        fits = self.search.width() >= self.search.fontMetrics().horizontalAdvance(words) + 60
        self.search.setPlaceholderText(words if fits else "Search")
        buttons = list(self.bulk_buttons.values())
        if self._text_widths is None:
            if not self.isVisible():
                return
            self._text_widths = sum(b.sizeHint().width() for b in buttons)
        room = (self.width() - self.count.sizeHint().width() - self.selection_label.minimumSizeHint().width() * 3
                - self._bottom.spacing() * (len(buttons) + 1))
        style = (Qt.ToolButtonStyle.ToolButtonTextBesideIcon if room >= self._text_widths
                 else Qt.ToolButtonStyle.ToolButtonIconOnly)
        for b in buttons:
            if b.toolButtonStyle() != style:
                b.setToolButtonStyle(style)

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.enrol_button = QPushButton("Enrol users…")
        self.enrol_button.setObjectName("EnrolUsersButton")
        self.enrol_button.setToolTip("Enrol users (a selection or a filter) in this and other courses: the "
                                     "enrolment matrix")
        self.enrol_button.clicked.connect(lambda: self.courseid is not None and self.enrol_requested.emit(self.courseid))
        head, self.icon_label, self.title, self.info = pane_heading(self.enrol_button)
        lay.addLayout(head)

        filters = QHBoxLayout()
        filters.setSpacing(8)
        self.search = QLineEdit()
        self.search.setObjectName("EnrolmentsSearch")
        self.search.setPlaceholderText("Search enrolled users")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search enrolled users")
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.status_combo = QComboBox()
        self.status_combo.setAccessibleName("Enrolment status")
        for key, label in STATUS_FILTERS:
            self.status_combo.addItem(label, key)
        self.status_combo.currentIndexChanged.connect(
            lambda _i: self.model.update_query(status=self.status_combo.currentData() or ""))
        self.role_combo = QComboBox()
        self.role_combo.setAccessibleName("Role")
        self.role_combo.addItem("Any role", None)
        self.role_combo.currentIndexChanged.connect(lambda _i: self.model.update_query(roleid=self.role_combo.currentData()))
        self.count = QLabel()
        self.count.setObjectName("FilterCount")
        # The panel's minimum width sets how wide the groups pane's tree can be in a 1024 px window: when
        # narrow, the search says only "Search" (_fit_buttons), the status filter shows the start of a long
        # choice, and the count goes under the table.
        self.search.setMinimumWidth(self.search.fontMetrics().horizontalAdvance("Search") + 60)
        self.status_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.status_combo.setMinimumContentsLength(6)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.status_combo)
        filters.addWidget(self.role_combo)
        lay.addLayout(filters)

        self.table = SelectionTable()
        setup_users_table(self.table, "EnrolmentsTable")
        self.table.setModel(self.model)
        self.table.setAccessibleName("Enrolments")
        install_item_menu(self.table, self._context_menu)
        self.table.horizontalHeader().sortIndicatorChanged.connect(lambda c, o: self.model.sort(c, o))
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.table.delete_pressed.connect(lambda: self.request("unenrol"))
        lay.addWidget(self.table, 1)

        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        self.selection_label = ElidedLabel()  # gives way ("…", all of it in the tooltip) to the buttons
        self.selection_label.setObjectName("GroupsHint")
        bottom.addWidget(self.count)
        bottom.addWidget(self.selection_label, 1)
        self.bulk_buttons: dict[str, QToolButton] = {}
        for key, label, tip in BULK:
            b = QToolButton()
            b.setObjectName(f"Bulk_{key}")
            b.setText(label)
            b.setToolTip(tip)
            b.setAccessibleName(label.rstrip("…"))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.clicked.connect(lambda _=False, k=key: self.request(k))
            # As narrow as its icon alone (what _fit_buttons shows when the words do not fit), so the
            # words do not set the panel's minimum width.
            b.setMinimumWidth(b.iconSize().width() + 14)
            self.bulk_buttons[key] = b
            bottom.addWidget(b)
        lay.addLayout(bottom)
        self._bottom = bottom
        self._text_widths: int | None = None
        self.model.counted.connect(lambda n: self.count.setText(f"{n:,} enrolment{'s' if n != 1 else ''}"))
        self.model.loaded.connect(self._widths_once)
        self.model.loaded.connect(lambda: self.table.setColumnHidden(KEYS.index("method"), not self.model.has_methods()))
        self._widths_done = False
        self._update_buttons()

    def _refresh_icons(self, *_args) -> None:
        self.icon_label.setPixmap(icon("course").pixmap(QSize(32, 32)))
        self.enrol_button.setIcon(icon("add"))
        for key, name in (("suspend", "user-suspended"), ("reactivate", "check"), ("end", "clock"),
                          ("unenrol", "remove")):
            self.bulk_buttons[key].setIcon(icon(name))

    def _widths_once(self) -> None:
        if self._widths_done:
            return
        self._widths_done = True
        header = self.table.horizontalHeader()
        for n, width in enumerate(WIDTHS):
            header.resizeSection(n, width)

    # -- what is shown -----------------------------------------------------------------------------------
    def show_course(self, courseid: int, name: str, info: str, roles: list[tuple[int, str]]) -> None:
        same = courseid == self.courseid
        self.courseid = courseid
        self.title.setText(name)
        self.info.setText(info)
        current = self.role_combo.currentData()
        self.role_combo.blockSignals(True)
        self.role_combo.clear()
        self.role_combo.addItem("Any role", None)
        for rid, rname in roles:
            self.role_combo.addItem(rname, rid)
        self.role_combo.setCurrentIndex(max(0, self.role_combo.findData(current)) if same else 0)
        self.role_combo.blockSignals(False)
        if not same:
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.status_combo.blockSignals(True)
            self.status_combo.setCurrentIndex(0)
            self.status_combo.blockSignals(False)
            self.table.clearSelection()
        q = self.model.query
        sort, desc = (q.sort, q.descending) if q is not None else ("fullname", False)
        self.model.show(EnrolmentQuery(courseid, self.search.text(), self.status_combo.currentData() or "",
                                       self.role_combo.currentData(), sort, desc))

    def _selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def _update_buttons(self) -> None:
        n = len(self._selected_rows())
        for b in self.bulk_buttons.values():
            b.setEnabled(n > 0)
        self.selection_label.setText(f"{n:,} selected" if n else "Select enrolments for bulk actions.")

    # -- bulk actions ------------------------------------------------------------------------------------------
    def request(self, action: str) -> None:
        rows = self._selected_rows()
        if not rows or self.courseid is None:
            return
        courseid = self.courseid
        if action == "end":
            # The users now: the table may re-read (a run finishing) while the date is being chosen.
            self.model.ids_for_rows(rows, lambda ids: self._ask_end_date(courseid, ids))
            return
        self.model.ids_for_rows(rows, lambda ids: self.bulk_requested.emit(action, courseid, ids, 0))

    def _ask_end_date(self, courseid: int, ids: list[int]) -> None:
        dialog = EndDateDialog(len(ids), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(lambda end: self.bulk_requested.emit("end", courseid, ids, end))
        self._dialog = dialog
        dialog.open()

    def _context_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if not index.isValid():
            return
        menu = QMenu(self.table)
        for key, _label, tip in BULK:
            menu.addAction(self.bulk_buttons[key].icon(), tip.split(":")[0].split(" (")[0], lambda k=key: self.request(k))
        menu.popup(pos)


__all__ = ["COLUMNS", "CoursePanel", "EndDateDialog"]
