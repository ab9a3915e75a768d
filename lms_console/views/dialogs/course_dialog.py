"""Dialogs of the content pane: a new course (or a copy of a template course), and "pick one".

Both are opened with ``open()`` and say what they produce through a signal; nothing is sent from
here: the pane hands the change to the ChangeEngine, whose preview confirms it.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lms_console.services.changes.model import Change

FORMATS = (("topics", "Custom sections"), ("weeks", "Weekly sections"), ("singleactivity", "Single activity"),
           ("social", "Social"))


def category_paths(categories) -> list[tuple[str, int]]:
    """(“Faculty › Department”, id) for (ContentRef, depth) pairs given in tree order."""
    stack: list[str] = []
    out = []
    for ref, depth in categories:
        del stack[depth:]
        stack.append(ref.name)
        out.append((" › ".join(stack), ref.id))
    return out


def _category_combo(categories, selected: int | None) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName("CategoryCombo")
    combo.setMinimumContentsLength(24)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    for path, ident in category_paths(categories):
        combo.addItem(path, ident)
        if ident == selected:
            combo.setCurrentIndex(combo.count() - 1)
    return combo


class CourseDialog(QDialog):
    """Create a course in a category, or duplicate a template course.

    Signals:
        change_ready(object): the Change (course.create or course.duplicate) the admin asked for.
    """

    change_ready = Signal(object)

    def __init__(self, categories, *, category: int | None = None, template=None, taken: frozenset[str] = frozenset(),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.template = template
        self._taken = {t.lower() for t in taken}
        duplicate = template is not None
        self.setObjectName("CourseDialog")
        self.setWindowTitle(f"Duplicate {template.name.split(' — ')[0]}" if duplicate else "New course")
        self.setMinimumWidth(500)
        layout = QVBoxLayout(self)
        heading = QLabel("A copy of the template course: a backup and restore on the site, which can take several "
                         "minutes for a big course." if duplicate else
                         "The course is created on the site after you confirm the preview.")
        heading.setObjectName("DialogHint")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.fullname = QLineEdit(f"{template.name.split(' — ', 1)[-1]} (copy)" if duplicate else "")
        self.fullname.setMaxLength(254)
        self.shortname = QLineEdit(f"{template.name.split(' — ')[0]}-COPY" if duplicate else "")
        self.shortname.setMaxLength(255)
        self.category = _category_combo(categories, category)
        form.addRow("&Full name", self.fullname)
        form.addRow("&Short name", self.shortname)
        form.addRow("&Category", self.category)
        self.idnumber = QLineEdit()
        self.idnumber.setMaxLength(100)
        self.format = QComboBox()
        self.format.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        for key, label in FORMATS:
            self.format.addItem(label, key)
        self.sections = QSpinBox()
        self.sections.setRange(0, 52)
        self.sections.setValue(4)
        today = QDate.currentDate().addDays(1)
        self.start = QDateEdit(today)
        self.end = QDateEdit(today.addYears(1))
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
            edit.setMinimumWidth(140)
        self.has_end = QCheckBox("Ends on")
        self.has_end.setChecked(True)
        self.has_end.toggled.connect(self.end.setEnabled)
        end_row = QHBoxLayout()
        end_row.addWidget(self.has_end)
        end_row.addWidget(self.end)
        end_row.addStretch(1)
        self.completion = QCheckBox("Track completion")
        self.completion.setChecked(True)
        self.visible = QCheckBox("Visible to students")
        self.visible.setChecked(not duplicate)
        self.users = QCheckBox("Copy enrolled users and their roles")
        if duplicate:
            form.addRow("", self.visible)
            form.addRow("", self.users)
        else:
            form.addRow("&ID number", self.idnumber)
            form.addRow("F&ormat", self.format)
            form.addRow("Sec&tions", self.sections)
            form.addRow("Starts &on", self.start)
            form.addRow("", end_row)
            form.addRow("", self.completion)
            form.addRow("", self.visible)
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setObjectName("FieldError")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Preview duplicate…" if duplicate else "Preview new course…")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        for edit in (self.fullname, self.shortname):
            edit.textChanged.connect(self._check)
        self.start.dateChanged.connect(self._check)
        self.end.dateChanged.connect(self._check)
        self.has_end.toggled.connect(self._check)
        self._check()

    def problems(self) -> list[str]:
        out = []
        if not self.fullname.text().strip():
            out.append("Give the course a full name.")
        short = self.shortname.text().strip()
        if not short:
            out.append("Give the course a short name (unique on the site).")
        elif short.lower() in self._taken:
            out.append(f"The short name {short} is already used by another course.")
        if self.category.currentIndex() < 0:
            out.append("Choose a category.")
        if self.template is None and self.has_end.isChecked() and self.end.date() <= self.start.date():
            out.append("The end date must be after the start date.")
        return out

    def _check(self, *_args) -> None:
        problems = self.problems()
        self.problem.setText(problems[0] if problems and (self.fullname.text() or self.shortname.text()) else "")
        self.ok.setEnabled(not problems)

    def change(self) -> Change:
        common = {"fullname": self.fullname.text().strip(), "shortname": self.shortname.text().strip(),
                  "categoryid": int(self.category.currentData())}
        if self.template is not None:
            return Change("course.duplicate", {"courseid": self.template.id, **common,
                                               "visible": self.visible.isChecked(), "users": self.users.isChecked()})
        data = {**common, "format": self.format.currentData(), "numsections": self.sections.value(),
                "startdate": _stamp(self.start.date()), "enablecompletion": self.completion.isChecked(),
                "visible": self.visible.isChecked()}
        if self.idnumber.text().strip():
            data["idnumber"] = self.idnumber.text().strip()
        if self.has_end.isChecked():
            data["enddate"] = _stamp(self.end.date())
        return Change("course.create", data)

    def _accept(self) -> None:
        if self.problems():
            return
        self.change_ready.emit(self.change())
        self.accept()


def _stamp(date: QDate) -> int:
    return int(QDateTime(date, QTime(0, 0)).toSecsSinceEpoch())


class PickDialog(QDialog):
    """Choose one item of a list (a category, a section).

    Signals:
        picked(object): the chosen item's value.
    """

    picked = Signal(object)

    def __init__(self, title: str, text: str, options, *, current=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PickDialog")
        self.setWindowTitle(title)
        self.setMinimumSize(380, 360)
        layout = QVBoxLayout(self)
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.list = QListWidget()
        for option_text, value, depth in options:
            item = QListWidgetItem(("    " * depth) + option_text)
            item.setData(Qt.ItemDataRole.UserRole, value)
            self.list.addItem(item)
            if value == current:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _i: self._accept())
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choose(self, value) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == value:
                self.list.setCurrentRow(row)

    def _accept(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.picked.emit(item.data(Qt.ItemDataRole.UserRole))
        self.accept()
