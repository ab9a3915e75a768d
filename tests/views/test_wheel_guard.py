"""The mouse wheel scrolls what the admin scrolls (QA): passing over a combo box it has not clicked or
tabbed into, the wheel scrolls the list around it and leaves the box as it was; a box with keyboard
focus still takes the wheel. Real wheel events, real widgets (the import wizard on a real file and a
real SQLite cache)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget

from lms_console.models.dnd import UserDrag
from lms_console.models.import_model import ImportController
from lms_console.models.session import ConnectionSession
from lms_console.services.users_query import FilterOptions
from lms_console.views.dialogs.bulk_action_dialog import BulkActionDialog
from lms_console.views.dialogs.cohort_dialog import CohortDialog
from lms_console.views.dialogs.course_dialog import CourseDialog
from lms_console.views.dialogs.create_user_dialog import CreateUserDialog
from lms_console.views.dialogs.enrolment_matrix_dialog import EnrolDropDialog
from lms_console.views.dialogs.import_dialog import ImportDialog
from lms_console.views.groups_rules import RuleDialog
from lms_console.views.widgets.filter_bar import _DIALOG_FIELDS, FilterBar

COHORT_COLUMNS = 30  # far more columns than the mapping list shows at once


def wheel(widget, down: bool = True) -> None:
    """A real (window-system) wheel turn with the pointer over the middle of ``widget``."""
    window = widget.window()
    pos = widget.mapTo(window, widget.rect().center())
    QTest.wheelEvent(window.windowHandle(), pos, QPoint(0, -120 if down else 120))


@pytest.fixture
def wizard(qtbot, tmp_path, runner, server, template, go_online):
    """The import wizard on its column step, with a file of many columns read against a profile's local copy."""
    session = ConnectionSession(runner)
    go_online(session, server, cache_from=template)
    headers = ["Username", "First name", "Surname", "E-mail", "Password"]
    headers += [f"Cohort{n}" for n in range(1, COHORT_COLUMNS + 1)]
    row = ["dave", "Dave", "Doe", "dave@example.org", "Secret-123"] + [""] * COHORT_COLUMNS
    path = tmp_path / "people.csv"
    path.write_text(";".join(headers) + "\n" + ";".join(row) + "\n", encoding="utf-8")
    dialog = ImportDialog(ImportController(session, None))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.set_path(str(path))
    with qtbot.waitSignal(dialog.controller.file_read, timeout=10000):
        dialog.next_step()
    assert dialog.stack.currentIndex() == 1
    yield dialog
    dialog.close()
    session.close()


def mapping_combo(qtbot, dialog, row: int) -> QComboBox:
    """The "Import as" menu of ``row``, in its cell (the table places cell widgets in a deferred layout)."""
    table = dialog.mapping_table
    combo = table.cellWidget(row, 3)
    qtbot.waitUntil(lambda: table.visualRect(table.model().index(row, 3)).contains(combo.geometry().center()),
                    timeout=2000)
    assert combo.isVisible() and combo.currentIndex() < combo.count() - 1  # a wheel turn could pick another
    return combo


def test_the_wheel_scrolls_the_column_list_and_leaves_the_mappings_alone(qtbot, wizard):
    bar = wizard.mapping_table.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    wizard.next_button.setFocus()
    combo = mapping_combo(qtbot, wizard, 2)
    before, targets = combo.currentIndex(), wizard.targets()
    pointer = combo.mapTo(wizard, combo.rect().center())
    wheel(combo, down=True)
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=2000)  # the list scrolled
    assert combo.currentIndex() == before and wizard.targets() == targets  # no column got another target
    assert not combo.hasFocus() and combo.focusPolicy() == Qt.FocusPolicy.StrongFocus
    # The pointer is now over another column's menu: back up the list, and still nothing changed.
    at = bar.value()
    other = wizard.childAt(pointer)
    assert isinstance(other, QComboBox) and other is not combo
    wheel(other, down=False)
    qtbot.waitUntil(lambda: bar.value() < at, timeout=2000)
    assert wizard.targets() == targets and not wizard._chosen
    # With keyboard focus (clicked or tabbed into) the wheel is the menu's again, and the list stays.
    combo = other
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    before, at = combo.currentIndex(), bar.value()
    wheel(combo, down=True)
    qtbot.waitUntil(lambda: combo.currentIndex() != before, timeout=2000)
    assert bar.value() == at
    wizard.next_button.setFocus()
    assert not wheel_changes_unfocused(wizard)  # nor does it change any other column's menu


def value(box):
    return box.currentIndex() if isinstance(box, QComboBox) else box.text()


def boxes_in_scrolling(root: QWidget) -> list[QWidget]:
    """The combo, date and spin boxes of ``root``'s window that sit inside a scroll area, table or list."""
    out = []
    for box in root.findChildren(QWidget):
        if not isinstance(box, (QComboBox, QAbstractSpinBox)) or box.window() is not root.window():
            continue
        parent = box.parentWidget()
        while parent is not None:
            if isinstance(parent, QAbstractScrollArea):
                out.append(box)
                break
            parent = None if parent.isWindow() else parent.parentWidget()
    return out


def wheel_changes_unfocused(root: QWidget) -> list[str]:
    """The boxes inside something that scrolls that a wheel turn changes while they are not focused."""
    changed = []
    for box in boxes_in_scrolling(root):
        assert not box.hasFocus()
        centre = QPointF(box.rect().center())
        for down in (True, False):  # a box at the end of its list would not change one way
            before = value(box)
            turn = QWheelEvent(centre, QPointF(box.mapToGlobal(box.rect().center())), QPoint(),
                               QPoint(0, -120 if down else 120), Qt.MouseButton.NoButton,
                               Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
            QApplication.sendEvent(box, turn)
            if value(box) != before:
                changed.append(box.accessibleName() or box.objectName() or type(box).__name__)
                break
    return changed


class UsersActionsStandIn(QObject):
    """What the create-user form connects to (the taken username/email check never answers here)."""
    taken_checked = Signal(object)

    def check_taken(self, *_args, **_kw) -> None:
        pass


OPTIONS = FilterOptions(auths=("manual", "ldap"), cohorts=((1, "Staff"), (2, "Pupils")),
                        courses=((7, "C101", "Course 101"), (8, "C102", "Course 102")),
                        custom_fields=(("dept", "Department"),), roles=((5, "Student"), (3, "Teacher")))
DIALOGS = {
    **{f"filter {field}": (lambda f=field: FilterBar().ask_condition(f)) for field in _DIALOG_FIELDS},
    **{f"bulk {action}": (lambda a=action: BulkActionDialog(a, selected=2, matching=9, description="All users",
                                                              options=OPTIONS))
       for action in ("add_to_cohort", "add_to_group", "enrol")},
    "enrol after a drop": lambda: EnrolDropDialog("C101", UserDrag(ids=(1, 2)), OPTIONS.roles),
    "create user": lambda: CreateUserDialog(UsersActionsStandIn(), options=OPTIONS),
    "cohort rule": lambda: RuleDialog(1, "Staff", cohorts=OPTIONS.cohorts, courses=OPTIONS.courses,
                                      auths=OPTIONS.auths, choices={"department": ("Sales", "IT")}),
    "new course": lambda: CourseDialog([]),
    "new cohort": lambda: CohortDialog([(1, "Faculty")]),
}


@pytest.mark.parametrize("name", list(DIALOGS))
def test_boxes_in_dialogs_that_do_not_scroll_keep_the_wheel(qtbot, name):
    """The users filter's conditions (its "Add filter" dialog), the bulk action's role and dates, the enrolment
    options, the create-user form, the cohort rule's conditions, the course and cohort forms: no box sits in
    anything that scrolls (the dialogs grow to fit), so the wheel over a box has nothing else to do and the box
    keeps it (no guard). Should one of them get a scroll area, its boxes must be guarded: this says so."""
    dialog = DIALOGS[name]()
    qtbot.addWidget(dialog.parentWidget() or dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.findChildren(QComboBox) or dialog.findChildren(QAbstractSpinBox)
    assert [b.objectName() or type(b).__name__ for b in boxes_in_scrolling(dialog)] == []
    dialog.close()
