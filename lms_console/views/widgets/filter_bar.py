"""The users pane's filter bar: type-ahead search, structured conditions as removable chips, and
the active filter as a sentence with its count.

Conditions come from the "Add filter" menu; the ones that need a value (a cohort, a course, a
date, a custom field) open a small :class:`ConditionDialog` (``open()``, never ``exec()``).
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimer, Signal
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
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.services import users_query as Q
from lms_console.services.users_filter_text import describe_condition
from lms_console.services.users_query import Condition, FilterOptions, UserFilter
from lms_console.views.icons import icon
from lms_console.views.widgets.pick_list import chosen_index, make_searchable

SEARCH_DELAY_MS = 150

# field -> (menu label, operators with their labels)
_DIALOG_FIELDS = {
    "auth": ("Authentication method…", (("is", "is"), ("is_not", "is not"))),
    "last_access": ("Last access…", (("not_within", "not in the last … days"), ("within", "in the last … days"),
                                     ("before", "before"), ("after", "on or after"))),
    "cohort": ("Cohort membership…", (("in", "is a member of"), ("not_in", "is not a member of"),
                                      ("any", "is in any cohort"), ("none", "is in no cohort"))),
    "course": ("Course enrolment…", (("in", "is enrolled in"), ("not_in", "is not enrolled in"),
                                     ("any", "is enrolled in any course"), ("none", "is enrolled in no course"))),
    "completed": ("Course completion…", (("is", "has completed"), ("is_not", "has not completed"))),
    "custom": ("Custom profile field…", (("is", "is"), ("is_not", "is not"), ("contains", "contains"),
                                         ("empty", "is empty"), ("not_empty", "is filled in"))),
}
_QUICK = (
    ("Suspended", Condition("suspended", "is", True)),
    ("Not suspended", Condition("suspended", "is", False)),
    ("Unconfirmed", Condition("confirmed", "is", False)),
    ("Never logged in", Condition("never_logged_in", "is", True)),
    ("Has logged in", Condition("never_logged_in", "is", False)),
)


class ConditionDialog(QDialog):
    """Asks for one condition of ``field`` (operator and value).

    Signals:
        condition_chosen(object): the Condition the admin confirmed.
    """

    condition_chosen = Signal(object)

    def __init__(self, field: str, options: FilterOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        label, ops = _DIALOG_FIELDS[field]
        self.setWindowTitle("Filter users: " + label.rstrip("…").lower())
        self.setObjectName("ConditionDialog")
        self.setMinimumWidth(380)
        form = QFormLayout()
        self.op_combo = QComboBox()
        for op, text in ops:
            self.op_combo.addItem(text, op)
        self.value_combo = QComboBox()
        self.value_combo.setMinimumContentsLength(24)
        self.key_combo = QComboBox()
        self.text_edit = QLineEdit()
        self.days_spin = QSpinBox(minimum=1, maximum=36_500, value=90, suffix=" days")
        self.date_edit = QDateEdit(QDate.currentDate().addMonths(-3), calendarPopup=True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.problem = QLabel()
        self.problem.setObjectName("FieldProblem")
        if field == "custom":
            for short, name in options.custom_fields:
                self.key_combo.addItem(name, short)
            form.addRow("Field", self.key_combo)
        form.addRow("User", self.op_combo)
        if field == "auth":
            self.value_combo.setEditable(True)
            self.value_combo.addItems(list(options.auths) or ["manual"])
            form.addRow("Method", self.value_combo)
        elif field == "cohort":
            for cid, name in options.cohorts:
                self.value_combo.addItem(name, cid)
            form.addRow("Cohort", self.value_combo)
        elif field in ("course", "completed"):
            for cid, short, full in options.courses:
                self.value_combo.addItem(f"{short} — {full}" if full else short, cid)
            form.addRow("Course", self.value_combo)
        elif field == "custom":
            form.addRow("Value", self.text_edit)
        elif field == "last_access":
            form.addRow("Days", self.days_spin)
            form.addRow("Date", self.date_edit)
        if field != "auth":
            make_searchable(self.value_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.problem)
        lay.addWidget(self.buttons)
        self._form = form
        self.op_combo.currentIndexChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        op = self.op_combo.currentData()
        needs_value = (self.field, op) not in Q.NO_VALUE
        for w in (self.value_combo, self.text_edit):
            if self._form.indexOf(w) >= 0:
                self._form.setRowVisible(w, needs_value)
        if self.field == "last_access":
            self._form.setRowVisible(self.days_spin, op in ("within", "not_within"))
            self._form.setRowVisible(self.date_edit, op in ("before", "after"))
        empty = self.field in ("cohort", "course", "completed", "custom") and needs_value and (
            (self.field == "custom" and self.key_combo.count() == 0) or
            (self.field != "custom" and self.value_combo.count() == 0))
        self.problem.setText("Nothing to choose from in the local copy yet: sync first." if empty else "")
        self.problem.setVisible(empty)

    def condition(self) -> Condition:
        op = self.op_combo.currentData()
        f = self.field
        if (f, op) in Q.NO_VALUE:
            return Condition(f, op, None, self.key_combo.currentData() or "" if f == "custom" else "")
        if f == "auth":
            if not self.value_combo.currentText().strip():
                raise Q.FilterError("type or choose an authentication method (e.g. manual, ldap)")
            return Condition(f, op, self.value_combo.currentText().strip())
        if f == "custom":
            if not self.text_edit.text().strip():
                raise Q.FilterError(f"type the value to look for in “{self.key_combo.currentText()}”")
            return Condition(f, op, self.text_edit.text(), self.key_combo.currentData() or "")
        if f == "last_access":
            if op in ("within", "not_within"):
                return Condition(f, op, self.days_spin.value())
            stamp = QDateTime(self.date_edit.date(), QTime(0, 0)).toSecsSinceEpoch()
            return Condition(f, op, int(stamp))
        index = chosen_index(self.value_combo)
        if index < 0:
            typed = self.value_combo.currentText().strip()
            what = "cohort" if f == "cohort" else "course"
            raise Q.FilterError(f"no {what} in the list matches “{typed}”: choose one from the list (typing part of "
                                "its name narrows it down)" if typed else f"choose a {what} from the list")
        return Condition(f, op, self.value_combo.itemData(index))

    def _accept(self) -> None:
        try:
            cond = self.condition()
        except Q.FilterError as exc:
            text = str(exc)
            self.problem.setText(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
            self.problem.show()
            return
        self.condition_chosen.emit(cond)
        self.accept()


class FilterBar(QWidget):
    """Search box, "Add filter" menu, condition chips, the sentence and the count.

    Signals:
        spec_changed(object): the UserFilter changed (search debounced by SEARCH_DELAY_MS).
        save_requested(): the admin clicked "Save filter…".
    """

    spec_changed = Signal(object)
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FilterBar")
        self._spec = UserFilter()
        self._options = FilterOptions()
        self._names: dict = {}
        self._dialog: ConditionDialog | None = None
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._emit_text)

        self.search = QLineEdit()
        self.search.setObjectName("UsersSearch")
        self.search.setPlaceholderText("Search username, name, email, ID number or department  (Ctrl+F)")
        self.search.setToolTip("Each word matches the start of a word in those fields; a single letter matches "
                               "the start of a field. Accents and case are ignored.")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search users")
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self._emit_now)

        self.add_button = QToolButton()
        self.add_button.setObjectName("AddFilterButton")
        self.add_button.setText("Add filter")
        self.add_button.setIcon(icon("filter"))
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.add_button)
        for label, cond in _QUICK:
            self.menu.addAction(label, lambda c=cond: self.add_condition(c))
        self.menu.addSeparator()
        self.field_actions = {}
        for field, (label, _ops) in _DIALOG_FIELDS.items():
            self.field_actions[field] = self.menu.addAction(label, lambda f=field: self.ask_condition(f))
        self.add_button.setMenu(self.menu)

        self.save_button = QToolButton()
        self.save_button.setObjectName("SaveFilterButton")
        self.save_button.setText("Save filter…")
        self.save_button.setIcon(icon("save"))
        self.save_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.save_button.setToolTip("Keep this filter in the navigation tree under Users")
        self.save_button.clicked.connect(self.save_requested)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(8)
        top.addWidget(self.search, 1)
        top.addWidget(self.add_button)
        top.addWidget(self.save_button)

        self.chips = QHBoxLayout()
        self.chips.setContentsMargins(0, 0, 0, 0)
        self.chips.setSpacing(6)
        self.clear_button = QToolButton()
        self.clear_button.setObjectName("ClearFiltersButton")
        self.clear_button.setText("Clear all")
        self.clear_button.setAutoRaise(True)
        self.clear_button.clicked.connect(self.clear)
        chip_row = QHBoxLayout()
        chip_row.setContentsMargins(0, 0, 0, 0)
        chip_row.addLayout(self.chips)
        chip_row.addWidget(self.clear_button)
        chip_row.addStretch(1)
        self.chip_row = QWidget()
        self.chip_row.setObjectName("FilterChips")
        self.chip_row.setLayout(chip_row)

        self.sentence = QLabel("All users")
        self.sentence.setObjectName("FilterSentence")
        self.sentence.setTextFormat(Qt.TextFormat.PlainText)  # the search text is data, never markup
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sentence.setWordWrap(True)
        self.count = QLabel("")
        self.count.setObjectName("FilterCount")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.sentence, 1)
        line.addWidget(self.count)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addLayout(top)
        lay.addWidget(self.chip_row)
        lay.addLayout(line)
        self._rebuild_chips()

    # -- state -------------------------------------------------------------------------------
    def spec(self) -> UserFilter:
        return self._spec.with_text(self.search.text())

    def set_spec(self, spec: UserFilter) -> None:
        """Show ``spec`` without announcing it (the pane already queries it)."""
        self._timer.stop()
        self._spec = spec
        self.search.blockSignals(True)
        self.search.setText(spec.text)
        self.search.blockSignals(False)
        self._rebuild_chips()

    def set_options(self, options: FilterOptions) -> None:
        self._options = options
        self._names = {("cohort", c): n for c, n in options.cohorts}
        self._names.update({("course", c): s for c, s, _f in options.courses})
        self._names.update({("custom", s): n for s, n in options.custom_fields})
        self.field_actions["custom"].setEnabled(bool(options.custom_fields))
        self._rebuild_chips()

    def set_sentence(self, text: str) -> None:
        self.sentence.setText(text)

    def set_count(self, n: int | None, *, counting: bool = False, selected: int = 0) -> None:
        if counting or n is None:
            text = "Counting…"
        else:
            text = f"{n:,} user{'s' if n != 1 else ''}"
        if selected:
            text += f" · {selected:,} selected"
        self.count.setText(text)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- conditions ------------------------------------------------------------------------------
    def add_condition(self, cond: Condition) -> None:
        self._spec = self._spec.adding(cond)
        self._changed()

    def remove_condition(self, index: int) -> None:
        self._spec = self._spec.without(index)
        self._changed()

    def clear(self) -> None:
        self._spec = UserFilter()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._changed()

    def ask_condition(self, field: str) -> ConditionDialog:
        if self._dialog is not None:
            self._dialog.close()
        dialog = ConditionDialog(field, self._options, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.condition_chosen.connect(self.add_condition)
        dialog.destroyed.connect(lambda _o=None: setattr(self, "_dialog", None))
        self._dialog = dialog
        dialog.open()
        return dialog

    def _changed(self) -> None:
        self._timer.stop()
        self._rebuild_chips()
        self.spec_changed.emit(self.spec())

    def _emit_text(self) -> None:
        self.spec_changed.emit(self.spec())

    def _emit_now(self) -> None:
        self._timer.stop()
        self._emit_text()

    def _rebuild_chips(self) -> None:
        while self.chips.count():
            item = self.chips.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for n, cond in enumerate(self._spec.conditions):
            chip = QToolButton()
            chip.setObjectName("FilterChip")
            chip.setText(describe_condition(cond, self._names).replace("&", "&&"))  # "&" is no shortcut
            chip.setIcon(icon("close"))
            chip.setLayoutDirection(Qt.LayoutDirection.RightToLeft)  # the × after the text
            chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            chip.setToolTip("Remove this condition")
            chip.setAccessibleName(f"Remove filter: {describe_condition(cond, self._names)}")
            chip.clicked.connect(lambda _=False, i=n: self.remove_condition(i))
            self.chips.addWidget(chip)
        self.chip_row.setVisible(bool(self._spec.conditions))
        self.clear_button.setVisible(bool(self._spec.conditions))

