"""The users pane with real widgets over a real cache: search, filters, chips, bulk actions on a
selection or on the filter, columns remembered per view, export, saved filters in the tree."""

from __future__ import annotations

import csv
import time

import pytest
from PySide6.QtCore import QItemSelectionModel, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QMenu, QMessageBox

from lms_console.models.dnd import read_user_drag
from lms_console.models.nav_model import NavTarget, TargetRole
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.changes.model import Change
from lms_console.services.lms.base import (
    Cohort,
    Course,
    CustomField,
    Group,
    Members,
    User,
)
from lms_console.services.profiles import ProfileStore
from lms_console.services.users_query import Condition, FilterOptions, UserFilter
from lms_console.views.main_window import MainWindow
from lms_console.views.users_pane import UsersPane
from lms_console.views.users_wiring import install_users_views
from lms_console.views.widgets import banner as banner_module

NOW = 1_767_225_600
N = 300


class FakeEngine(QObject):
    """Records plans instead of opening the preview.

    Signals:
        changes_applied(object): as ChangeEngine's.
        planned(object): unused here.
    """

    changes_applied = Signal(object)
    planned = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.plans: list[tuple[list[Change], str]] = []

    def plan(self, changes, *, title="", enrol_first=False):
        self.plans.append((list(changes), title))
        return 1


def seed(db) -> None:
    last = ("Adams", "Brown", "Clark", "Smith", "Young")
    users = [User(id=i, username=f"user{i:03d}", firstname=f"Ann{i % 7}", lastname=last[i % 5],
                  email=f"user{i}@example.org", suspended=i % 10 == 0, lastaccess=0 if i % 6 == 0 else NOW - i,
                  customfields=(CustomField("faculty", "Arts & Crafts" if i % 2 else "Science", "Faculty"),))
             for i in range(2, N + 2)]
    with CacheWriter(db, clock=lambda: NOW) as w:
        run = w.begin_run(["users"])
        w.upsert_users(users, run)
        w.upsert_cohorts([Cohort(1, "Sales & Marketing"), Cohort(2, "Staff")], run)
        w.replace_cohort_members([Members(1, tuple(range(2, 22)))], run)
        w.upsert_courses([Course(100, "C101", "Chemistry", 1)], run)


@pytest.fixture
def session(qapp, tmp_path):
    runner = TaskRunner(http_workers=4)
    s = ConnectionSession(runner)
    s.db = CacheDb.open(tmp_path / "cache.sqlite")
    seed(s.db)
    yield s
    runner.shutdown(wait=True)
    s.db.close()


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def pane(qtbot, session, settings):
    p = UsersPane(session, FakeEngine(), settings)
    qtbot.addWidget(p)
    p.resize(1100, 700)
    p.show()
    with qtbot.waitSignal(p.model.counted, timeout=10000):
        p.show_target(NavTarget("users", label="Users"))
    qtbot.waitUntil(lambda: bool(p.model.options.cohorts), timeout=10000)
    return p


def select_rows(pane, first, last):
    sel = pane.table.selectionModel()
    sel.select(pane.model.index(first, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
               | QItemSelectionModel.SelectionFlag.Rows)
    for r in range(first + 1, last + 1):
        sel.select(pane.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                   | QItemSelectionModel.SelectionFlag.Rows)


def test_shows_every_user_with_the_count_and_sentence(pane):
    assert pane.model.rowCount() == N
    assert pane.filter_bar.sentence.text() == "All users"
    assert pane.filter_bar.count.text() == f"{N} users"
    assert pane.model.data(pane.model.index(0, 0))  # first rows are there


def test_type_ahead_is_debounced_and_filters_in_sql(qtbot, pane):
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        qtbot.keyClicks(pane.filter_bar.search, "user01")
    assert pane.model.rowCount() == 10  # user010..user019
    assert pane.filter_bar.sentence.text() == "Users matching “user01”"
    assert pane.filter_bar.count.text() == "10 users"


@pytest.mark.parametrize("text", ['"', "*", "user\x00", "'; DROP TABLE users; --", "NEAR(a b)", "a\ud800b", "%_"])
def test_hostile_search_text_shows_a_result_not_a_crash(qtbot, pane, text):
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.search.setText(text)
    assert pane.model.rowCount() >= 0 and not pane.banner.isVisible()


def test_quick_filters_become_chips_and_sentence(qtbot, pane):
    action = next(a for a in pane.filter_bar.menu.actions() if a.text() == "Suspended")
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        action.trigger()
    assert pane.filter_bar.sentence.text() == "Suspended users"
    assert pane.model.rowCount() == len([i for i in range(2, N + 2) if i % 10 == 0])
    chips = [pane.filter_bar.chips.itemAt(i).widget() for i in range(pane.filter_bar.chips.count())]
    assert [c.text() for c in chips] == ["Suspended"]
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        chips[0].click()
    assert pane.model.rowCount() == N and not pane.filter_bar.chip_row.isVisible()


def test_condition_dialog_adds_a_cohort_condition(qtbot, pane):
    dialog = pane.filter_bar.ask_condition("cohort")
    assert dialog.isVisible()
    dialog.value_combo.setCurrentIndex(dialog.value_combo.findData(1))
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert pane.model.rowCount() == 20
    assert pane.filter_bar.sentence.text() == "Users in cohort Sales & Marketing"
    chip = pane.filter_bar.chips.itemAt(0).widget()
    assert chip.text() == "In cohort Sales && Marketing"  # "&" shown, not a shortcut


def test_custom_field_and_last_access_conditions(qtbot, pane):
    dialog = pane.filter_bar.ask_condition("custom")
    dialog.op_combo.setCurrentIndex(dialog.op_combo.findData("is"))
    dialog.text_edit.setText("Arts & Crafts")
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert pane.model.rowCount() == N // 2
    dialog = pane.filter_bar.ask_condition("last_access")
    dialog.op_combo.setCurrentIndex(dialog.op_combo.findData("not_within"))
    dialog.days_spin.setValue(1)
    assert dialog.condition() == Condition("last_access", "not_within", 1)
    dialog.close()


def test_bulk_action_on_a_selection_plans_exactly_those_users(qtbot, pane):
    select_rows(pane, 0, 2)
    ids = [pane.model.user_id(r) for r in range(3)]
    dialog = pane.bulk("suspend")
    assert dialog.selection_radio.isChecked() and "3 selected" in dialog.selection_radio.text()
    dialog.ok_button.click()
    assert pane.engine.plans == [([Change("user.suspend", {"id": i}) for i in ids], "Suspend 3 users")]


def test_bulk_action_on_everything_the_filter_matches(qtbot, pane):
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.add_condition(Condition("cohort", "in", 1))
    select_rows(pane, 0, 0)
    dialog = pane.bulk("add_to_cohort")
    dialog.filter_radio.setChecked(True)
    assert "20" in dialog.filter_radio.text() and dialog.ok_button.text() == "Preview for 20 users…"
    dialog.cohort_combo.setCurrentIndex(dialog.cohort_combo.findData(2))
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: bool(pane.engine.plans), timeout=10000)
    changes, title = pane.engine.plans[0]
    assert title == "Add 20 users to cohort Staff"
    assert changes == [Change("cohort.add_member", {"cohortid": 2, "userid": u}) for u in range(2, 22)]


def test_delete_names_the_count_and_suggests_suspend(qtbot, pane):
    select_rows(pane, 0, 4)
    dialog = pane.bulk("delete")
    assert "Deleting 5 users cannot be undone" in dialog.warning.text()
    assert "Suspending keeps everything" in dialog.warning.text()
    assert dialog.ok_button.text() == "Preview deletion of 5 users…"
    dialog.suspend_button.click()
    assert pane._dialog is not None and pane._dialog.action == "suspend"
    pane._dialog.close()


def test_the_delete_key_asks_before_deleting(qtbot, pane):
    select_rows(pane, 0, 2)
    pane.table.setFocus()
    qtbot.keyClick(pane.table, Qt.Key.Key_Delete)
    assert pane._dialog is not None and pane._dialog.action == "delete"
    assert pane._dialog.ok_button.text() == "Preview deletion of 3 users…"
    pane._dialog.close()


def test_selected_users_can_be_dragged_onto_groups(qtbot, pane):
    select_rows(pane, 0, 3)
    drag = read_user_drag(pane.table.drag_mime())
    ids = [pane.model.user_id(r) for r in range(4)]
    assert drag.ok and list(drag.ids) == ids and drag.source == "users"
    pane.table.selectAll()  # everything listed: the search itself travels, not 60 ids
    drag = read_user_drag(pane.table.drag_mime())
    assert drag.ok and drag.spec is not None and drag.count == pane.model.total()


def test_enrol_dialog_passes_role_and_dates(qtbot, pane):
    select_rows(pane, 0, 1)
    dialog = pane.bulk("enrol")
    dialog.end_check.setChecked(True)
    dialog.start_check.setChecked(True)
    dialog.end_date.setDate(dialog.start_date.date().addDays(-1))
    assert not dialog.ok_button.isEnabled() and "after the start" in dialog.warning.text()
    dialog.end_date.setDate(dialog.start_date.date().addDays(30))
    dialog.ok_button.click()
    changes, title = pane.engine.plans[0]
    assert title.startswith("Enrol 2 users in C101 as")
    assert all(c.kind == "enrol.add" and c.data["timeend"] > c.data["timestart"] for c in changes)


def test_enter_and_double_click_open_the_user(qtbot, pane):
    pane.table.setCurrentIndex(pane.model.index(1, 0))
    select_rows(pane, 1, 1)
    with qtbot.waitSignal(pane.user_open_requested) as opened:
        pane.table.setFocus()
        qtbot.keyClick(pane.table, Qt.Key.Key_Return)
    assert opened.args == [pane.model.user_id(1)]
    menu = pane.context_menu()
    texts = [a.text() for a in menu.actions()]
    assert "Open properties" in texts and "Suspend…" in texts and "Delete…" in texts
    menu.deleteLater()


def test_columns_and_sort_are_remembered_per_view(qtbot, pane, session, settings):
    with qtbot.waitSignal(pane.model.loaded, timeout=10000):
        pane._toggle_column("cf:faculty", True)
    assert pane.model.headerData(len(pane.model.columns) - 1, Qt.Orientation.Horizontal) == "Faculty"
    with qtbot.waitSignal(pane.model.loaded, timeout=10000):
        pane.table.horizontalHeader().setSortIndicator(pane.model.columns.index("username"),
                                                       Qt.SortOrder.DescendingOrder)
    assert pane.model.data(pane.model.index(0, 0)) == f"user{N + 1:03d}"
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.show_target(NavTarget("filter", "suspended", "Suspended"))
    assert "cf:faculty" not in pane.model.columns  # another view, its own columns
    again = UsersPane(session, FakeEngine(), settings)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.model.counted, timeout=10000):
        again.show_target(NavTarget("users", label="Users"))
    assert "cf:faculty" in again.model.columns and again.model.sort_key == "username" and again.model.descending


def test_export_writes_the_view(qtbot, pane, tmp_path, monkeypatch):
    monkeypatch.setattr(banner_module, "NOTICE_TIMEOUT_MS", 300)
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.add_condition(Condition("suspended", "is", True))
    path = tmp_path / "out.csv"
    pane.export_to(str(path))
    qtbot.waitUntil(lambda: pane.banner.isVisible(), timeout=20000)
    assert "Exported 30 users" in pane.banner.message_text()
    qtbot.waitUntil(pane.banner.isHidden, timeout=3000)  # a success notice: it clears itself
    with open(path, encoding="utf-8-sig") as fh:
        assert len(list(csv.reader(fh))) == 31


def test_import_button_emits_the_intent(qtbot, pane):
    with qtbot.waitSignal(pane.import_requested):
        pane.import_action.trigger()


@pytest.fixture
def window(qtbot, session, settings):
    session.profile = ProfileStore().add("site", "https://lms.example.org")
    win = MainWindow(session, settings)
    qtbot.addWidget(win)
    imported = []
    views = install_users_views(win, session, FakeEngine(), settings, on_import=lambda: imported.append(1))
    win.show()
    with qtbot.waitSignal(win.nav_model.rebuilt, timeout=10000):
        win.nav_model.refresh()
    yield win, views, imported
    session.profile = None


def test_window_routes_users_and_filters_to_the_pane(qtbot, window):
    win, views, imported = window
    win.go_to("users")
    assert win.stack.currentWidget() is views.pane
    qtbot.waitUntil(lambda: views.pane.model.total() == N, timeout=10000)
    win.find_action.trigger()  # Ctrl+F
    assert win.focusWidget() is views.pane.filter_bar.search
    index = win.nav_model.find("filter", "never_logged_in")
    win.nav.setCurrentIndex(win.nav.model().mapFromSource(index))
    qtbot.waitUntil(lambda: views.pane.filter_bar.sentence.text() == "Users who never logged in", timeout=10000)
    views.pane.import_action.trigger()
    assert imported == [1]


def test_saved_filter_appears_in_the_navigation_tree(qtbot, window):
    win, views, _ = window
    win.go_to("users")
    pane = views.pane
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.add_condition(Condition("suspended", "is", True))
    dialog = pane.ask_save_filter()
    dialog.setTextValue("Suspended people")
    with qtbot.waitSignal(win.nav_model.rebuilt, timeout=10000):
        dialog.accept()
    index = win.nav_model.find("filter")
    saved = [win.nav_model.itemFromIndex(index.parent()).child(r).data(TargetRole)
             for r in range(win.nav_model.itemFromIndex(index.parent()).rowCount())]
    assert [t.label for t in saved if str(t.id).startswith("saved:")] == ["Suspended people"]
    qtbot.waitUntil(lambda: str(win.current_target().id).startswith("saved:"), timeout=10000)
    qtbot.waitUntil(lambda: pane.filter_bar.sentence.text() == "Suspended users", timeout=10000)
    assert pane.delete_filter_action.isEnabled()
    with qtbot.waitSignal(win.nav_model.rebuilt, timeout=10000):
        pane.delete_saved_filter()
    qtbot.waitUntil(lambda: win.current_target() is not None and win.current_target().kind == "users",
                    timeout=10000)


def test_the_users_view_survives_a_tree_rebuild(qtbot, window):
    win, views, _ = window
    win.go_to("users")
    pane = views.pane
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.search.setText("user02")
        pane.filter_bar._emit_now()
    with qtbot.waitSignal(win.nav_model.rebuilt, timeout=10000):
        win.nav_model.refresh()
    assert win.stack.currentWidget() is pane and pane.filter_bar.search.text() == "user02"


def test_a_report_can_hand_over_a_set_of_users(qtbot, pane):
    pane.show_users([12, 10, 11, 10], "Completion: CS101 not completed")
    qtbot.waitUntil(lambda: pane.model.rowCount() == 3, timeout=5000)
    assert sorted(pane.model.user_id(r) for r in range(3)) == [10, 11, 12]
    qtbot.waitUntil(lambda: "among the 3 of Completion: CS101 not completed" in pane.filter_bar.sentence.text(),
                    timeout=5000)


# -- long lists: what is typed must name what is sent ---------------------------------------------------

MANY = FilterOptions(cohorts=tuple((i, f"Cohort {i:02d} staff") for i in range(1, 21)),
                     courses=tuple((100 + i, f"C{100 + i}", f"Course {i}") for i in range(1, 21)),
                     roles=((5, "Student"), (3, "Teacher")))


def test_a_long_list_takes_the_entry_the_typed_text_names_or_none(qapp):
    from PySide6.QtWidgets import QComboBox

    from lms_console.views.widgets.pick_list import chosen_index, make_searchable

    combo = QComboBox()
    for cid, short, full in MANY.courses:
        combo.addItem(f"{short} — {full}", cid)
    make_searchable(combo)
    assert combo.isEditable()
    combo.setCurrentIndex(0)
    for typed, expected in (("c105 — course 5", 105), ("C117", 117), ("Course 9", 109),
                            ("Nonexistent course", None), ("C1", None), ("", None)):
        combo.setEditText(typed)
        index = chosen_index(combo)
        assert (combo.itemData(index) if index >= 0 else None) == expected, typed
        if index >= 0:
            assert combo.currentIndex() == index and combo.currentText() == combo.itemText(index)
    short = QComboBox()
    short.addItems(["a", "b"])
    make_searchable(short)
    assert not short.isEditable() and chosen_index(short) == 0


@pytest.mark.parametrize("action, box, typed, field", [
    ("enrol", "course_combo", "Nonexistent course", "course"),
    ("add_to_cohort", "cohort_combo", "No such cohort", "cohort"),
])
def test_bulk_dialog_refuses_a_typed_name_that_matches_no_entry(qtbot, action, box, typed, field):
    from lms_console.views.dialogs.bulk_action_dialog import BulkActionDialog

    dialog = BulkActionDialog(action, selected=1, matching=10, description="", options=MANY)
    qtbot.addWidget(dialog)
    sent = []
    dialog.confirmed.connect(lambda *args: sent.append(args))
    combo = getattr(dialog, box)
    combo.setCurrentIndex(3)  # what was shown before the typing must not be what is sent
    combo.setEditText(typed)
    dialog.ok_button.click()
    assert sent == [] and f"No {field} in the list matches “{typed}”" in dialog.warning.text()
    combo.setEditText("07")  # part of one entry's name
    dialog.ok_button.click()
    assert len(sent) == 1
    _action, _scope, params, names = sent[0]
    if field == "course":
        assert params["courseid"] == 107 and names["course"] == "C107"
    else:
        assert params["cohortid"] == 7 and names["cohort"] == "Cohort 07 staff"


def test_condition_dialog_refuses_a_cohort_name_that_matches_none(qtbot):
    from lms_console.views.widgets.filter_bar import ConditionDialog

    dialog = ConditionDialog("cohort", MANY)
    qtbot.addWidget(dialog)
    chosen = []
    dialog.condition_chosen.connect(chosen.append)
    dialog.value_combo.setCurrentIndex(2)
    dialog.value_combo.setEditText("Nonexistent cohort")
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert chosen == [] and "No cohort in the list matches “Nonexistent cohort”" in dialog.problem.text()
    dialog.value_combo.setEditText("cohort 12")
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert chosen and chosen[0].value == 12


def test_no_match_says_so_where_the_table_was_and_leaves_nothing_to_act_on(qtbot, pane):
    assert pane.table_stack.currentWidget() is pane.table and pane.bulk_button.isEnabled()
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.search.setText("zz-nobody-at-all")
    qtbot.waitUntil(lambda: pane.table_stack.currentWidget() is pane.empty_label, timeout=10000)
    assert "No users match this search" in pane.empty_label.text()
    assert not pane.bulk_button.isEnabled() and not pane.export_action.isEnabled()
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.search.clear()
    qtbot.waitUntil(lambda: pane.table_stack.currentWidget() is pane.table, timeout=10000)
    assert pane.bulk_button.isEnabled()


def test_every_column_is_at_least_as_wide_as_its_heading(qtbot, pane):
    pane.model.set_columns(["username", "auth", "status", "lastaccess", "firstaccess", "department"])
    header = pane.table.horizontalHeader()
    for n in range(pane.model.columnCount()):
        assert header.sectionSize(n) >= header.sectionSizeFromContents(n).width(), pane.model.columns[n]



def selected_rows(pane) -> list[int]:
    return sorted(i.row() for i in pane.table.selectionModel().selectedRows())


def test_the_menu_key_acts_on_the_current_row(qtbot, pane, menus, press_menu_key):
    pane.table.setFocus()
    pane.table.setCurrentIndex(pane.model.index(4, 0))
    pane.table.clearSelection()  # the menu selects the row it acts on
    press_menu_key(pane.table)
    assert len(menus) == 1 and selected_rows(pane) == [4] and pane.table.currentIndex().row() == 4
    rect = pane.table.visualRect(pane.model.index(4, 0))
    assert menus[0][1] == pane.table.viewport().mapToGlobal(rect.center())  # opens next to the row
    last = pane.model.index(pane.table.rowAt(pane.table.viewport().height() - 1), 0)  # the last row shown
    pane.table.setCurrentIndex(last)
    pane.table.clearSelection()
    press_menu_key(pane.table)
    assert len(menus) == 2 and selected_rows(pane) == [last.row()]


def test_a_right_click_acts_on_the_row_under_the_pointer(qtbot, pane, menus):
    qtbot.waitUntil(lambda: pane.model.user_id(2) is not None, timeout=10000)  # the row is on screen, as read
    pane.table.clearSelection()
    center = pane.table.visualRect(pane.model.index(2, 1)).center()
    vp = pane.table.viewport()
    QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, center, vp.mapToGlobal(center)))
    assert len(menus) == 1 and selected_rows(pane) == [2]


def long_job(_progress, cancel) -> None:
    deadline = time.monotonic() + 30
    while not cancel.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)


def test_esc_in_a_search_clears_it_and_elsewhere_asks_before_cancelling_a_sync(qtbot, window):
    win, views, _imported = window
    win.go_to("users")
    pane = views.pane
    qtbot.waitUntil(lambda: pane.model.total() == N, timeout=10000)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    win.session.runner.run("sync", long_job, label="Sync")  # a long sync
    qtbot.waitUntil(lambda: win.cancel_action.isEnabled() and win.session.syncing)
    search = pane.filter_bar.search
    search.setFocus()
    qtbot.keyClicks(search, "user01")
    qtbot.keyClick(search, Qt.Key.Key_Escape)  # clears the search...
    assert search.text() == "" and search.hasFocus()
    qtbot.keyClick(search, Qt.Key.Key_Escape)  # ...then leaves it
    assert not search.hasFocus()
    assert win.session.syncing and win.findChild(QMessageBox, "CancelJobsQuestion") is None
    pane.table.setFocus()
    qtbot.keyClick(pane.table, Qt.Key.Key_Escape)  # elsewhere: asks first
    box = win.findChild(QMessageBox, "CancelJobsQuestion")
    assert box is not None and box.text() == "Cancel the sync? What was fetched is kept."
    box.button(QMessageBox.StandardButton.No).click()
    qtbot.waitUntil(lambda: win.findChild(QMessageBox, "CancelJobsQuestion") is None)
    assert win.session.syncing
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    qtbot.keyClick(pane.table, Qt.Key.Key_Escape)
    win.findChild(QMessageBox, "CancelJobsQuestion").button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not win.session.syncing, timeout=10000)


def test_tab_leaves_the_table(qtbot, pane):
    pane.table.setFocus()
    pane.table.setCurrentIndex(pane.model.index(0, 0))
    qtbot.keyClick(pane.table, Qt.Key.Key_Tab)
    assert not pane.table.hasFocus() and pane.table.currentIndex().column() == 0


def test_toolbar_commands_have_keys_and_are_in_the_actions_menu(qtbot, window):
    win, views, imported = window
    win.go_to("users")
    pane = views.pane
    qtbot.waitUntil(lambda: pane.model.total() == N, timeout=10000)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    pane.table.setFocus()
    qtbot.keyClick(pane.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert imported == [1]
    with qtbot.waitSignal(pane.new_user_requested):
        qtbot.keyClick(pane.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    views.create_dialog.close()
    menu = [a for a in pane.export_action.associatedObjects() if isinstance(a, QMenu)]
    assert menu and menu[0] is win.pane_menu  # Alt+A, then the mnemonics
    texts = [a.text() for a in win.pane_menu.actions()]
    assert {"&New user", "&Export…", "&Import…"} <= set(texts)
    win.go_to("overview")  # another pane and back: the menu is refilled, the pane's actions live on
    win.go_to("users")
    assert pane.export_action.text() == "&Export…" and pane.export_action in win.pane_menu.actions()




def test_another_node_clears_the_selection_so_bulk_actions_default_to_what_is_shown(qtbot, pane):
    # One user selected in a search result; then the admin clicks a saved filter that also lists them.
    with qtbot.waitSignal(pane.model.counted, timeout=10000):
        pane.filter_bar.search.setText("user050")
        pane.filter_bar._emit_now()
    select_rows(pane, 0, 0)
    assert pane.model.user_id(0) == 50 and pane.selected_count() == 1
    with qtbot.waitSignal(pane.actions.filter_saved, timeout=10000) as saved:
        pane.actions.save_filter("Suspended people", UserFilter(conditions=(Condition("suspended", "is", True),)))
    fid = saved.args[0]
    pane.show_target(NavTarget("filter", f"saved:{fid}", "Suspended people"))
    qtbot.waitUntil(lambda: pane.model.total() == N // 10 and not pane.model.is_loading(), timeout=10000)
    assert 50 in {pane.model.user_id(r) for r in range(pane.model.rowCount())}
    assert pane.selected_count() == 0 and pane.current_user_id() is None
    dialog = pane.bulk("suspend")
    assert dialog.filter_radio.isChecked() and not dialog.selection_radio.isEnabled()
    dialog.close()
    # The same node again (the tree was rebuilt after a change) keeps what the admin selected.
    select_rows(pane, 0, 1)
    pane.show_target(NavTarget("filter", f"saved:{fid}", "Suspended people"))
    assert pane.selected_count() == 2


def test_add_to_group_chooses_a_course_then_one_of_its_groups(qtbot, pane, session):
    # PRODUCT.md: bulk "add to cohort/group". The group list is the chosen course's, read from the cache.
    assert "Add to group…" in [a.text() for a in pane.bulk_menu.actions()]
    select_rows(pane, 0, 0)
    dialog = pane.bulk("add_to_group")
    qtbot.waitUntil(lambda: dialog._groups_of == 100, timeout=10000)
    assert dialog.group_combo.count() == 0 and not dialog.ok_button.isEnabled()
    assert "C101 has no groups in the local copy" in dialog.warning.text()
    dialog.close()
    with CacheWriter(session.db, clock=lambda: NOW) as w:
        w.replace_course_groups(100, [Group(7, 100, "Team A"), Group(8, 100, "Team B")], [], w.begin_run(["groups"]))
    dialog = pane.bulk("add_to_group")
    assert "enrolled" in dialog.findChild(QLabel, "PaneSubtitle").text()
    qtbot.waitUntil(lambda: dialog.group_combo.count() == 2, timeout=10000)
    assert dialog.group_combo.currentText() == "Team A"  # the first one is chosen, as in every other list here
    dialog.group_combo.setCurrentIndex(dialog.group_combo.findData(8))
    assert dialog.ok_button.isEnabled()
    dialog.ok_button.click()
    uid = pane.model.user_id(0)
    qtbot.waitUntil(lambda: bool(pane.engine.plans), timeout=10000)
    assert pane.engine.plans == [([Change("group.add_member", {"groupid": 8, "userid": uid})],
                                  "Add 1 user to group Team B in C101")]
