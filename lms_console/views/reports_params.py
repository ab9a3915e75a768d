"""The parameters panel of the reports pane: what a report covers.

Courses, categories and cohorts are checkable lists with a filter (nothing checked = all);
profile-field groups are a field and its values; then a date range, grouping, and the
options only some reports read (the panel shows what the chosen report uses). For compliance
the checked courses are the required ones, each with a due date.
"""

from __future__ import annotations

import calendar
import time

from PySide6.QtCore import QDate, QEvent, QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.services.reports import (
    KINDS,
    ReportOptions,
    ReportParams,
    RequiredCourse,
)
from lms_console.views.widgets.wheel_guard import WheelGuard

GROUP_LABELS = {"course": "Course", "category": "Category", "cohort": "Cohort", "field": "Profile field"}
NO_DEADLINE = QDate(2000, 1, 1)
DUE_ROWS_SHOWN = 6  # the due-dates table grows with its rows up to this many, then scrolls


def to_stamp(date: QDate, end_of_day: bool = False) -> int:
    return calendar.timegm((date.year(), date.month(), date.day(), 23 if end_of_day else 0,
                            59 if end_of_day else 0, 59 if end_of_day else 0))


def to_qdate(stamp: int) -> QDate:
    t = time.gmtime(stamp)
    return QDate(t.tm_year, t.tm_mon, t.tm_mday)


class DateEdit(QDateEdit):
    """A date typed as yyyy-MM-dd or picked from a calendar.

    Signals:
        committed(): the date changed and editing is finished (Enter, leaving the field, or a day
            picked in the calendar), not at every keystroke of a half-typed date.
    """

    committed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, calendarPopup=True)
        self.setDisplayFormat("yyyy-MM-dd")
        self._last = self.date()
        self.editingFinished.connect(self._commit)
        for picked in (self.calendarWidget().clicked, self.calendarWidget().activated):
            picked.connect(lambda _d: self._commit())

    def setDate(self, date: QDate) -> None:
        """Set by the program: nothing to commit."""
        super().setDate(date)
        self._last = self.date()

    def keyPressEvent(self, event) -> None:
        """A whole date typed over the field: Qt would drop a digit typed over the whole text, and a "-"
        typed after a full year (or month) skipped the section Qt had already moved to."""
        line = self.lineEdit()
        start = line.selectionStart() if line.hasSelectedText() else line.cursorPosition()
        if event.text().isdigit() and line.hasSelectedText() and line.selectedText() == line.text():
            self.setSelectedSection(self.sectionAt(0))
        elif event.text() and event.text() in "-/." and 0 < start <= len(line.text()) \
                and line.text()[start - 1] == "-":
            return  # already at the next section
        super().keyPressEvent(event)

    def _commit(self) -> None:
        if self.date() != self._last:
            self._last = self.date()
            self.committed.emit()


class DueDateEdit(DateEdit):
    """A due date or "No deadline" (the earliest date, NO_DEADLINE): typing a digit or stepping up from
    "No deadline" starts from today (typing into the "No deadline" text went nowhere), the calendar
    opens at today's month (not at January 2000), and Delete or Backspace on the whole date clears it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumDate(NO_DEADLINE)
        self.setSpecialValueText("No deadline")
        self.setDate(NO_DEADLINE)
        self.calendarWidget().installEventFilter(self)

    def due(self) -> QDate | None:
        return None if self.date() == NO_DEADLINE else self.date()

    def set_due(self, date: QDate | None) -> None:
        self.setDate(date if date is not None else NO_DEADLINE)

    def _edit_to(self, date: QDate) -> None:
        """An edit of the admin's (committed when editing is finished), not the program's setDate."""
        QDateEdit.setDate(self, date)

    def _start_today(self) -> None:
        self._edit_to(QDate.currentDate())
        self.selectAll()

    def keyPressEvent(self, event) -> None:
        whole = self.lineEdit().selectedText() == self.lineEdit().text()
        if self.due() is None and event.text().isdigit():
            self._start_today()
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and (whole or self.due() is None):
            self._edit_to(NO_DEADLINE)  # not a half-erased "No deadline" either
            return
        super().keyPressEvent(event)

    def stepBy(self, steps: int) -> None:
        if self.due() is None and steps > 0:
            self._start_today()
            return
        super().stepBy(steps)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.calendarWidget() and event.type() == QEvent.Type.Show and self.due() is None:
            today = QDate.currentDate()
            obj.setCurrentPage(today.year(), today.month())
        return super().eventFilter(obj, event)


class CheckList(QWidget):
    """A filterable list of checkable items; ``checked()`` is empty when nothing is checked (= all).

    Signals:
        changed(): the checked items changed.
    """

    changed = Signal()

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self.model = QStandardItemModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        top = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(f"Filter {what}…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName(f"Filter {what}")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip(f"Uncheck every {what.removesuffix('s')} (= all)")
        self.clear_button.clicked.connect(self.clear)
        top.addWidget(self.filter, 1)
        top.addWidget(self.clear_button)
        lay.addLayout(top)
        self.view = QListView()
        self.view.setObjectName("ReportCheckList")
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)
        self.view.setMaximumHeight(130)
        self.view.setAccessibleName(what.capitalize())
        lay.addWidget(self.view)
        self.summary = QLabel()
        self.summary.setObjectName("ReportParamSummary")
        lay.addWidget(self.summary)
        self.model.itemChanged.connect(self._on_item_changed)
        self._update_summary()

    def set_items(self, items: list[tuple[object, str, str]]) -> None:
        """(value, text, tooltip) items; checks of values still present are kept."""
        keep = set(self.checked())
        self.model.blockSignals(True)
        self.model.clear()
        for value, text, tip in items:
            item = QStandardItem(text)
            item.setEditable(False)
            item.setCheckable(True)
            item.setData(value, Qt.ItemDataRole.UserRole)
            if tip:
                item.setToolTip(tip)
            item.setCheckState(Qt.CheckState.Checked if value in keep else Qt.CheckState.Unchecked)
            self.model.appendRow(item)
        self.model.blockSignals(False)
        self.proxy.invalidate()
        self._update_summary()

    def checked(self) -> list:
        out = []
        for r in range(self.model.rowCount()):
            item = self.model.item(r)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def text_of(self, value) -> str:
        for r in range(self.model.rowCount()):
            item = self.model.item(r)
            if item.data(Qt.ItemDataRole.UserRole) == value:
                return item.text()
        return str(value)

    def set_checked(self, values) -> None:
        wanted = set(values)
        self.model.blockSignals(True)
        for r in range(self.model.rowCount()):
            item = self.model.item(r)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in wanted
                               else Qt.CheckState.Unchecked)
        self.model.blockSignals(False)
        self._update_summary()
        self.view.viewport().update()

    def clear(self) -> None:
        if self.checked():
            self.set_checked(())
            self.changed.emit()

    def _on_item_changed(self, _item) -> None:
        self._update_summary()
        self.changed.emit()

    def _update_summary(self) -> None:
        n = len(self.checked())
        total = self.model.rowCount()
        self.summary.setText(f"All {total:,} {self.what}" if not n else f"{n:,} of {total:,} {self.what} chosen")


class ParamsPanel(QWidget):
    """Parameters of the chosen report.

    Signals:
        changed(): a parameter changed (the pane re-runs the report after a short pause).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReportParams")
        self.kind = "completion"
        self.options = ReportOptions()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.form = form
        self.courses = CheckList("courses")
        self.categories = CheckList("categories")
        self.cohorts = CheckList("cohorts")
        self.field_combo = QComboBox()
        self.field_combo.setAccessibleName("Profile field")
        self.field_values = CheckList("values")
        self.group_combo = QComboBox()
        self.group_combo.setAccessibleName("Group by")
        dates = self._build_dates()
        self.suspended = QCheckBox("Include suspended users and enrolments")
        self.inactive_days = QSpinBox()
        self.inactive_days.setRange(1, 3650)
        self.inactive_days.setValue(30)
        self.inactive_days.setSuffix(" days")
        self.inactive_days.setAccessibleName("Inactive after")
        self.style_combo = QComboBox()
        self.style_combo.addItem("Box plots", "box")
        self.style_combo.addItem("Histograms", "histogram")
        self.style_combo.setAccessibleName("Chart")
        self.due = QTableWidget(0, 2)
        self.due.setObjectName("ReportDueDates")
        self.due.setHorizontalHeaderLabels(["Required course", "Due"])
        self.due.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.due.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.due.setColumnWidth(1, 130)
        self.due.verticalHeader().hide()
        self.due.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # the columns fit
        self.due.setToolTip("Check the required courses above; set each one's due date here: type it "
                            "(yyyy-mm-dd) or pick it in the calendar. Delete clears it (no deadline).")
        self.rows = {
            "courses": ("Courses", self.courses), "categories": ("Categories (with their subcategories)", self.categories),
            "cohorts": ("Cohorts", self.cohorts), "field": ("Profile field", self.field_combo),
            "field_values": ("Values", self.field_values), "group_by": ("Group by", self.group_combo),
            "dates": ("Dates (UTC)", dates), "inactive_days": ("Inactive after", self.inactive_days),
            "style": ("Chart", self.style_combo), "required": ("Due dates", self.due),
            "suspended": ("", self.suspended),
        }
        for (label, widget) in self.rows.values():
            form.addRow(label, widget)
        for w in (self.courses, self.categories, self.cohorts, self.field_values):
            w.changed.connect(self.changed)
        self.courses.changed.connect(self._sync_due_rows)
        self.field_combo.currentIndexChanged.connect(self._on_field)
        for combo in (self.group_combo, self.style_combo):
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.limit_dates.toggled.connect(self._on_limit_dates)
        for w in (self.date_from, self.date_to):
            w.committed.connect(self._on_date)
        self.suspended.toggled.connect(lambda _b: self.changed.emit())
        self.inactive_days.valueChanged.connect(lambda _v: self.changed.emit())
        self.wheel_guard = WheelGuard(self)  # and each due date, as its row is made
        for box in (self.field_combo, self.group_combo, self.style_combo, self.date_from, self.date_to,
                    self.inactive_days):
            self.wheel_guard.guard(box)
        self.set_kind("completion")

    def _build_dates(self) -> QWidget:
        """"Between" over the two dates (side by side with it they were wider than the sidebar: a horizontal
        scroll bar, the end date cut off), and under them what is wrong with the range, if anything."""
        dates = QWidget()
        lay = QVBoxLayout(dates)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.limit_dates = QCheckBox("Between")
        self.date_from = DateEdit()
        self.date_to = DateEdit()
        for w, name in ((self.date_from, "From date"), (self.date_to, "To date")):
            w.setAccessibleName(name)
            w.setEnabled(False)
        self._reset_dates()
        row = QHBoxLayout()
        row.addWidget(self.date_from, 1)
        row.addWidget(QLabel("and"))
        row.addWidget(self.date_to, 1)
        self.date_problem = QLabel()
        self.date_problem.setObjectName("FieldProblem")
        self.date_problem.setWordWrap(True)
        self.date_problem.hide()
        lay.addWidget(self.limit_dates)
        lay.addLayout(row)
        lay.addWidget(self.date_problem)
        return dates

    def _reset_dates(self) -> None:
        today = QDate.currentDate()
        self.date_from.setDate(today.addMonths(-6))
        self.date_to.setDate(today)

    def reset(self) -> None:
        """Back to the defaults, without emitting ``changed``: another profile is open. Its site has other
        courses, categories and cohorts (the same ids would be other ones), and a date range typed for one
        site's report is not the next site's: parameters are not carried from one profile to another."""
        self.set_params(self.kind, ReportParams())
        self._reset_dates()
        self._check_dates()

    def problem(self) -> str:
        """Why the chosen report cannot run with these parameters ("" when it can): a range that ends before
        it starts (every count would be 0)."""
        if "dates" not in KINDS[self.kind].uses or not self.limit_dates.isChecked():
            return ""
        start, end = self.date_from.date(), self.date_to.date()
        if start <= end:
            return ""
        fmt = "yyyy-MM-dd"
        return (f"The start ({start.toString(fmt)}) is after the end ({end.toString(fmt)}): change one of them. "
                "The report is not run with this range.")

    def _check_dates(self) -> bool:
        """Show what is wrong with the date range under it; True when nothing is."""
        text = self.problem()
        self.date_problem.setText(text)
        self.date_problem.setVisible(bool(text))
        for w in (self.date_from, self.date_to):
            w.setAccessibleDescription(text)
        return not text

    def _on_date(self) -> None:
        if self._check_dates() and self.limit_dates.isChecked():
            self.changed.emit()

    # -- choices ----------------------------------------------------------------------------------
    def set_options(self, options: ReportOptions) -> None:
        self.options = options
        self.courses.set_items([(c[0], c[1] + ("" if c[4] else "  (no completion tracking)") + ("" if c[5] else "  (hidden)"),
                                 c[2]) for c in options.courses])
        self.categories.set_items([(cid, name, "") for cid, name in options.categories])
        self.cohorts.set_items([(cid, f"{name} ({members:,})", "") for cid, name, members in options.cohorts])
        current = self.field_combo.currentData()
        self.field_combo.blockSignals(True)
        self.field_combo.clear()
        self.field_combo.addItem("— none —", "")
        for name, (label, _values) in options.fields.items():
            self.field_combo.addItem(label, name)
        idx = self.field_combo.findData(current)
        self.field_combo.setCurrentIndex(max(0, idx))
        self.field_combo.blockSignals(False)
        self._on_field(emit=False)
        self._sync_due_rows()

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        spec = KINDS[kind]
        uses = set(spec.uses)
        field_chosen = bool(self.field_combo.currentData())
        shown = {"courses": "courses" in uses or "required" in uses, "categories": "categories" in uses,
                 "cohorts": "cohorts" in uses, "field": "field" in uses, "field_values": "field" in uses and field_chosen,
                 "group_by": bool(spec.group_by), "dates": "dates" in uses, "inactive_days": "inactive_days" in uses,
                 "style": "style" in uses, "required": "required" in uses, "suspended": "suspended" in uses}
        for key, (_label, widget) in self.rows.items():
            self.form.setRowVisible(widget, shown[key])
        self.form.labelForField(self.courses).setText("Required courses" if kind == "compliance" else "Courses")
        current = self.group_combo.currentData()
        self.group_combo.blockSignals(True)
        self.group_combo.clear()
        for g in spec.group_by:
            self.group_combo.addItem(GROUP_LABELS[g], g)
        idx = self.group_combo.findData(current)
        self.group_combo.setCurrentIndex(max(0, idx))
        self.group_combo.blockSignals(False)
        self._sync_due_rows()
        self._check_dates()  # a range wrong for a report with dates says so (or not) as the report changes

    # -- values -----------------------------------------------------------------------------------
    def params(self) -> ReportParams:
        """What the chosen report covers: only the parameters it shows (choices made for another report
        stay in their widgets for it, but never apply unseen)."""
        uses = set(KINDS[self.kind].uses)
        field = (self.field_combo.currentData() or "") if "field" in uses else ""
        required = ()
        if "required" in uses:
            required = tuple(RequiredCourse(int(cid), self._due_of(int(cid))) for cid in self.courses.checked())
        limit = self.limit_dates.isChecked() and "dates" in uses
        default = ReportParams()
        return ReportParams(
            courses=tuple(int(c) for c in self.courses.checked()) if "courses" in uses else (),
            categories=tuple(int(c) for c in self.categories.checked()) if "categories" in uses else (),
            cohorts=tuple(int(c) for c in self.cohorts.checked()) if "cohorts" in uses else (),
            field=field, field_values=tuple(str(v) for v in self.field_values.checked()) if field else (),
            group_by=self.group_combo.currentData() or "",
            date_from=to_stamp(self.date_from.date()) if limit else None,
            date_to=to_stamp(self.date_to.date(), end_of_day=True) if limit else None,
            include_suspended=self.suspended.isChecked() if "suspended" in uses else default.include_suspended,
            inactive_days=self.inactive_days.value() if "inactive_days" in uses else default.inactive_days,
            style=(self.style_combo.currentData() or "") if "style" in uses else default.style, required=required)

    def set_params(self, kind: str, params: ReportParams) -> None:
        """Show ``params`` (a snapshot's, or a saved report's) without emitting ``changed``."""
        self.blockSignals(True)
        try:
            self.set_kind(kind)
            courses = [r.courseid for r in params.required] if kind == "compliance" else list(params.courses)
            self.courses.set_checked(courses)
            self.categories.set_checked(params.categories)
            self.cohorts.set_checked(params.cohorts)
            idx = self.field_combo.findData(params.field)
            self.field_combo.setCurrentIndex(max(0, idx))
            self._on_field(emit=False)
            self.field_values.set_checked(params.field_values)
            idx = self.group_combo.findData(params.group_by)
            if idx >= 0:
                self.group_combo.setCurrentIndex(idx)
            has_dates = params.date_from is not None or params.date_to is not None
            self.limit_dates.setChecked(has_dates)
            if params.date_from is not None:
                self.date_from.setDate(to_qdate(params.date_from))
            if params.date_to is not None:
                self.date_to.setDate(to_qdate(params.date_to))
            self.suspended.setChecked(params.include_suspended)
            self.inactive_days.setValue(params.inactive_days)
            idx = self.style_combo.findData(params.style)
            if idx >= 0:
                self.style_combo.setCurrentIndex(idx)
            self._sync_due_rows()
            for r in params.required:
                self._set_due(r.courseid, r.due)
            self._check_dates()
        finally:
            self.blockSignals(False)

    # -- internals --------------------------------------------------------------------------------
    def _on_field(self, _index: int = 0, emit: bool = True) -> None:
        name = self.field_combo.currentData() or ""
        values = self.options.fields.get(name, ("", ()))[1] if name else ()
        self.field_values.set_items([(v, v, "") for v in values])
        uses_field = "field" in KINDS[self.kind].uses
        self.form.setRowVisible(self.field_values, bool(name) and uses_field)
        if emit:
            self.changed.emit()

    def _on_limit_dates(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self._check_dates()
        self.changed.emit()  # unlimited or not, the report on screen no longer fits: the pane refuses a bad range

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._fit_due()
        super().changeEvent(event)

    def _fit_due(self) -> None:
        """The due-dates table as tall as its rows (at least one, at most DUE_ROWS_SHOWN, then it scrolls):
        in the scrolling panel a table is otherwise squeezed to a row or less."""
        rows = self.due.verticalHeader()
        edits = [self.due.cellWidget(r, 1) for r in range(self.due.rowCount())]
        rows.setDefaultSectionSize(max([rows.defaultSectionSize()] + [e.sizeHint().height() for e in edits if e]))
        n = self.due.rowCount()
        body = sum(self.due.rowHeight(r) for r in range(min(n, DUE_ROWS_SHOWN))) or rows.defaultSectionSize()
        header = self.due.horizontalHeader().sizeHint().height()
        self.due.setFixedHeight(header + body + 2 * self.due.frameWidth())

    def _sync_due_rows(self) -> None:
        if self.kind != "compliance":
            return
        wanted = [int(c) for c in self.courses.checked()]
        have = {self.due.item(r, 0).data(Qt.ItemDataRole.UserRole): self._due_of_row(r)
                for r in range(self.due.rowCount()) if self.due.item(r, 0) is not None}
        self.due.setRowCount(0)
        for cid in wanted:
            row = self.due.rowCount()
            self.due.insertRow(row)
            item = QTableWidgetItem(self.courses.text_of(cid).split("  (")[0])
            item.setData(Qt.ItemDataRole.UserRole, cid)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.due.setItem(row, 0, item)
            edit = DueDateEdit()
            edit.setAccessibleName(f"Due date of {item.text()}")
            due = have.get(cid)
            edit.set_due(to_qdate(due) if due else None)
            edit.committed.connect(self.changed)
            self.wheel_guard.guard(edit)
            self.due.setCellWidget(row, 1, edit)
        self._fit_due()

    def _due_of_row(self, row: int) -> int | None:
        edit = self.due.cellWidget(row, 1)
        date = edit.due() if edit is not None else None
        return to_stamp(date, end_of_day=True) if date is not None else None

    def _due_of(self, courseid: int) -> int | None:
        for r in range(self.due.rowCount()):
            if self.due.item(r, 0).data(Qt.ItemDataRole.UserRole) == courseid:
                return self._due_of_row(r)
        return None

    def _set_due(self, courseid: int, due: int | None) -> None:
        for r in range(self.due.rowCount()):
            if self.due.item(r, 0).data(Qt.ItemDataRole.UserRole) == courseid:
                self.due.cellWidget(r, 1).set_due(to_qdate(due) if due else None)

