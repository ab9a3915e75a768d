"""The enrolment matrix (many users x many courses, role, dates, status -> preview -> one run) and
the course panel's bulk actions, driven through the groups pane against the sandbox."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from lms_console.models.groups_actions import MAX_CHANGES
from lms_console.sandbox.server import SandboxServer
from lms_console.services.changes import Status
from lms_console.views.dialogs.enrolment_matrix_dialog import EnrolmentMatrixDialog
from lms_console.views.groups_enrolments import EndDateDialog
from lms_console.views.groups_wiring import install_groups_views

WAIT = 20000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def server():
    site = SandboxServer(users=100, courses=3, seed=53).start()
    yield site
    site.stop()


@pytest.fixture
def console(qtbot, server, change_console):
    session, engine, window, _views, groups = change_console(
        server, ("site", "users", "categories", "courses", "cohorts", "groups", "enrolments"), install_groups_views)
    pane = groups.pane
    window.resize(1400, 860)
    window.show()
    window.go_to("groups")
    qtbot.waitUntil(lambda: pane.tree_model.find("course").isValid() and bool(pane.choices), timeout=WAIT)
    return window, pane, session, engine, server


def q(session, sql, *params):
    with session.db.read() as conn:
        return conn.exec_driver_sql(sql, params).all()


def preview_after(qtbot, window, engine, start):
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        start()
    qtbot.waitUntil(lambda: window.change_views.preview is not None, timeout=WAIT)
    return window.change_views.preview


def check_course(dialog, courseid):
    for i in range(dialog.course_list.count()):
        item = dialog.course_list.item(i)
        if item.data(Qt.ItemDataRole.UserRole)[0] == courseid:
            item.setCheckState(Qt.CheckState.Checked)
            return
    raise AssertionError(f"course {courseid} is not listed")


def test_many_users_into_many_courses_in_one_previewed_run(qtbot, console):
    window, pane, session, engine, server = console
    first, second = [r[0] for r in q(session, "SELECT id FROM courses WHERE format <> 'site' ORDER BY id LIMIT 2")]
    ul = pane.user_list
    qtbot.waitUntil(lambda: ul.model.total() > 0 and ul.model.user_id(5) is not None, timeout=WAIT)
    for row in (3, 4, 5):
        ul.table.selectionModel().select(ul.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                         | QItemSelectionModel.SelectionFlag.Rows)
    chosen = sorted(ul.model.user_id(r) for r in (3, 4, 5))
    pane.dialogs.open_matrix(courses=[first])
    dialog = pane.dialogs.open_dialogs["matrix"]
    assert isinstance(dialog, EnrolmentMatrixDialog) and dialog.from_selection.isChecked()
    qtbot.waitUntil(lambda: dialog.course_list.count() > 1, timeout=WAIT)
    assert dialog.checked == {first: q(session, "SELECT shortname FROM courses WHERE id = ?", first)[0][0]}
    check_course(dialog, second)
    box = dialog.options_box
    box.role.setCurrentIndex(box.role.findData(4))
    box.has_start.setChecked(True)
    box.has_end.setChecked(True)
    box.end.setDate(box.start.date())
    box.end.setDate(box.start.date().addDays(-3))
    assert not dialog.ok.isEnabled() and "after the start date" in dialog.summary.text()
    box.end.setDate(box.start.date().addDays(90))
    box.status.setCurrentIndex(1)  # suspended until the course opens
    assert dialog.ok.isEnabled() and "3 users × 2 courses = 6 enrolments" in dialog.summary.text()
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    plan = preview.plan
    assert len(plan.items) == 6 and plan.title == "Enrol 3 users in 2 courses"
    assert {(i.change.data["courseid"], i.change.data["userid"]) for i in plan.items} == \
        {(c, u) for c in (first, second) for u in chosen}
    assert {i.change.data["roleid"] for i in plan.items} == {4} and {i.change.data["suspend"] for i in plan.items} == {1}
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(preview.apply_button, LEFT)
    summary = applied.args[0]
    assert summary.status == "done" and summary.count(Status.DONE) == plan.counts["apply"]
    with server.store.connection() as conn:
        rows = conn.execute("SELECT DISTINCT e.courseid FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid "
                            f"WHERE ue.userid IN ({','.join(map(str, chosen))})").fetchall()
    assert {first, second} <= {r[0] for r in rows}


def test_the_preview_and_the_journal_say_a_role_is_added_and_name_roles(qtbot, console):
    """Enrolling as Teacher a student of the course adds a role to the enrolment: the preview and the journal
    say so in the roles' names ("Add the Teacher role", "roles: Student → Teacher, Student"), not as an
    enrolment "as editingteacher" with role ids; someone not enrolled yet is enrolled ("Enrol")."""
    from lms_console.models.journal_model import JournalTableModel
    from lms_console.models.plan_model import COL_DIFF, COL_TITLE

    window, pane, session, engine, _server = console
    ul = pane.user_list
    qtbot.waitUntil(lambda: ul.model.total() > 30 and ul.model.user_id(30) is not None, timeout=WAIT)
    rows = {ul.model.user_id(r): r for r in range(31)}
    for course, short in q(session, "SELECT id, shortname FROM courses WHERE format <> 'site' ORDER BY id"):
        enrolled = dict(q(session, "SELECT userid, roleids FROM enrolments WHERE courseid = ?", course))
        student = next((u for u in rows if enrolled.get(u) == "[5]"), None)
        newcomer = next((u for u in rows if u not in enrolled), None)
        if student and newcomer:
            break
    else:
        raise AssertionError("no course with a student and a user not enrolled among the first users")
    names = dict(q(session, f"SELECT id, username FROM users WHERE id IN ({student}, {newcomer})"))
    for user in (student, newcomer):
        ul.table.selectionModel().select(ul.model.index(rows[user], 0), QItemSelectionModel.SelectionFlag.Select
                                         | QItemSelectionModel.SelectionFlag.Rows)
    pane.dialogs.open_matrix(courses=[course])
    dialog = pane.dialogs.open_dialogs["matrix"]
    qtbot.waitUntil(lambda: course in dialog.checked, timeout=WAIT)  # the courses are read in the background
    box = dialog.options_box
    box.role.setCurrentIndex(box.role.findData(3))
    assert box.role.currentText() == "Teacher" and dialog.ok.isEnabled(), dialog.summary.text()
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    model = preview.model
    shown = {model.item_at(r).change.data["userid"]: (model.index(r, COL_TITLE).data(), model.index(r, COL_DIFF).data())
             for r in range(model.rowCount())}
    assert shown[student][0] == f"Add the Teacher role to {names[student]} in {short}"
    assert "roles: Student → Teacher, Student" in shown[student][1]
    assert shown[newcomer][0] == f"Enrol {names[newcomer]} in {short} as Teacher"
    assert "roles: (empty) → Teacher" in shown[newcomer][1]
    assert not any(w in text for t in shown.values() for text in t for w in ("roleid", "editingteacher", "3, 5"))
    assert {i.change.data["roleid"] for i in preview.plan.items} == {3}  # what is sent: the role's id
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(preview.apply_button, LEFT)
    assert applied.args[0].status == "done"
    qtbot.waitUntil(lambda: window.change_views.results is not None, timeout=WAIT)
    window.change_views.results.close()
    journal = window.change_views.pane
    with qtbot.waitSignal(journal.model.loaded, timeout=WAIT):
        window.change_views.show_journal(applied.args[0].run_id)
    jm = journal.model
    qtbot.waitUntil(lambda: jm.rowCount() == 2 and jm.row_at(1) is not None, timeout=WAIT)
    logged = {jm.row_at(r).change.data["userid"]: tuple(jm.index(r, c).data() for c in (
        JournalTableModel.COL_TITLE, JournalTableModel.COL_BEFORE, JournalTableModel.COL_AFTER)) for r in range(2)}
    assert logged[student][0] == shown[student][0] and logged[newcomer][0] == shown[newcomer][0]
    assert "roles: Student" in logged[student][1] and "roles: Teacher, Student" in logged[student][2]
    assert not any("roleid" in text for t in logged.values() for text in t)


def test_the_matrix_takes_a_cohort_or_a_saved_filter_and_refuses_what_it_cannot_do(qtbot, console):
    window, pane, session, engine, _server = console
    cid, members = q(session, "SELECT cohortid, count(*) FROM cohort_members GROUP BY cohortid ORDER BY 2 DESC "
                              "LIMIT 1")[0]
    pane.dialogs.open_matrix()
    dialog = pane.dialogs.open_dialogs["matrix"]
    assert not dialog.from_selection.isEnabled()
    # Nothing selected and the user list unfiltered: no source is pre-chosen (never "every account").
    assert dialog.from_search.isEnabled() and not dialog.from_search.isChecked()
    assert not dialog.ok.isEnabled() and dialog.summary.text() == "Choose the users to enrol."
    dialog.from_cohort.setChecked(True)
    dialog.cohort_combo.setCurrentIndex(dialog.cohort_combo.findData(cid))
    qtbot.waitUntil(lambda: dialog.course_list.count() > 0, timeout=WAIT)
    dialog.course_search.setText("zz-no-course")
    qtbot.waitUntil(lambda: dialog.course_list.count() == 0, timeout=WAIT)
    dialog.course_search.setText("")
    qtbot.waitUntil(lambda: dialog.course_list.count() > 0, timeout=WAIT)
    courseid = dialog.course_list.item(0).data(Qt.ItemDataRole.UserRole)[0]
    check_course(dialog, courseid)
    drag, n, _label = dialog.users()
    assert drag.spec is not None and n == members
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    assert len(preview.plan.items) == members
    preview.close()
    # Too big for one run: said before anything is planned.
    big = EnrolmentMatrixDialog(session, [(5, "Student")], cohorts=[(cid, "Huge", MAX_CHANGES)], parent=window)
    big.from_cohort.setChecked(True)
    qtbot.waitUntil(lambda: big.course_list.count() > 1, timeout=WAIT)
    check_course(big, big.course_list.item(0).data(Qt.ItemDataRole.UserRole)[0])
    check_course(big, big.course_list.item(1).data(Qt.ItemDataRole.UserRole)[0])
    assert not big.ok.isEnabled() and "one run takes at most" in big.summary.text()
    big.close()


def test_a_saved_filter_lists_the_built_in_filters_and_one_saved_since_the_pane_read_its_choices(qtbot, console):
    """QA: "A saved filter" was greyed out with an empty list while the navigation tree showed the four
    built-in filters (they are no rows of the saved_filters table). A filter saved after the pane read its
    choices is listed too: the dialog reads them as it opens."""
    from lms_console.services import saved_filters as SF
    from lms_console.services.users_query import DEFAULT_FILTERS, Condition, UserFilter

    window, pane, session, engine, _server = console
    assert pane.choices["saved"] == []
    spec = UserFilter(conditions=(Condition("suspended", "is", False),))
    saved = []
    session.run_writer("save-test-filter", lambda w: SF.save_filter(w, "Active staff", spec), on_done=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=WAIT)
    pane.dialogs.open_matrix()
    dialog = pane.dialogs.open_dialogs["matrix"]
    built_in = [label for _key, label in DEFAULT_FILTERS]
    combo = dialog.saved_combo
    qtbot.waitUntil(lambda: combo.count() == len(built_in) + 1, timeout=WAIT)
    assert [combo.itemText(i) for i in range(combo.count())] == [*built_in, "Active staff"]
    assert combo.itemData(combo.count() - 1) == spec
    assert dialog.from_saved.isEnabled()
    dialog.from_saved.click()
    assert dialog.from_saved.isChecked() and combo.isEnabled()
    combo.setCurrentIndex(combo.findText("No cohort"))
    qtbot.waitUntil(lambda: dialog.course_list.count() > 0, timeout=WAIT)
    courseid = dialog.course_list.item(0).data(Qt.ItemDataRole.UserRole)[0]
    check_course(dialog, courseid)
    assert dialog.ok.isEnabled() and dialog.summary.text().startswith("the users the filter matches × 1 course")
    loners = {r[0] for r in q(session, "SELECT id FROM users WHERE username <> 'guest' AND id NOT IN "
                                       "(SELECT userid FROM cohort_members)")}
    assert loners
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    assert {i.change.data["userid"] for i in preview.plan.items} == loners
    assert {i.change.data["courseid"] for i in preview.plan.items} == {courseid}
    preview.close()


def test_course_panel_suspends_ends_and_unenrols_selected_enrolments(qtbot, console):
    window, pane, session, engine, _server = console
    courseid = q(session, "SELECT courseid FROM enrolments GROUP BY courseid ORDER BY count(*) DESC LIMIT 1")[0][0]
    index = pane.tree_model.find("course", courseid)
    pane.tree.setCurrentIndex(index)
    panel = pane.course
    qtbot.waitUntil(lambda: panel.model.total() > 3 and panel.model.record(1) is not None, timeout=WAIT)
    assert not panel.bulk_buttons["suspend"].isEnabled()
    for row in (0, 1):
        panel.table.selectionModel().select(panel.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                            | QItemSelectionModel.SelectionFlag.Rows)
    chosen = {panel.model.record(0)[0], panel.model.record(1)[0]}
    assert panel.bulk_buttons["suspend"].isEnabled() and panel.selection_label.text() == "2 selected"
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(panel.bulk_buttons["suspend"], LEFT))
    assert {i.change.kind for i in preview.plan.items} == {"enrol.suspend"}
    assert {i.change.data["userid"] for i in preview.plan.items} == chosen
    preview.close()
    panel.request("end")
    qtbot.waitUntil(lambda: isinstance(panel._dialog, EndDateDialog), timeout=WAIT)
    end_dialog = panel._dialog
    # The table re-reads while the date is chosen (a run finishing): other users are in those rows now.
    panel.status_combo.setCurrentIndex(panel.status_combo.findData("suspended"))
    qtbot.waitUntil(lambda: panel.model.record(0) is not None and panel.model.record(0)[0] not in chosen
                    or panel.model.total() == 0, timeout=WAIT)
    preview = preview_after(qtbot, window, engine, end_dialog._accept)
    assert {i.change.kind for i in preview.plan.items} == {"enrol.add"}
    assert {i.change.data["userid"] for i in preview.plan.items} == chosen  # the users chosen, not the rows'
    assert preview.plan.title.startswith("End the enrolments of 2 users in ")  # not "End 2 enrolments"
    assert all(i.change.data["timeend"] > 0 and "suspend" in i.change.data for i in preview.plan.items)
    preview.close()
    panel.status_combo.setCurrentIndex(0)
    qtbot.waitUntil(lambda: panel.model.record(1) is not None and {panel.model.record(0)[0],
                                                                    panel.model.record(1)[0]} == chosen, timeout=WAIT)
    for row in (0, 1):
        panel.table.selectionModel().select(panel.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                            | QItemSelectionModel.SelectionFlag.Rows)
    panel.table.setFocus()
    preview = preview_after(qtbot, window, engine, lambda: qtbot.keyClick(panel.table, Qt.Key.Key_Delete))
    assert {i.change.kind for i in preview.plan.items} == {"enrol.remove"}
    assert preview.irreversible_warning.isVisibleTo(preview) and not preview.apply_button.isEnabled()
    with qtbot.waitSignal(panel.model.counted, timeout=WAIT) as counted:
        panel.status_combo.setCurrentIndex(panel.status_combo.findData("suspended"))
    assert counted.args[0] == q(session, "SELECT count(*) FROM enrolments WHERE courseid = ? AND suspended = 1",
                                courseid)[0][0]


def test_course_panel_buttons_drop_their_words_rather_than_be_cut_off(qtbot, console):
    window, pane, session, _engine, _server = console
    courseid = q(session, "SELECT courseid FROM enrolments GROUP BY courseid ORDER BY count(*) DESC LIMIT 1")[0][0]
    pane.tree.setCurrentIndex(pane.tree_model.find("course", courseid))
    panel = pane.course
    qtbot.waitUntil(lambda: panel.model.total() > 0 and panel.isVisible(), timeout=WAIT)
    buttons = list(panel.bulk_buttons.values())
    window.resize(1900, 860)
    qtbot.waitUntil(lambda: all(b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon for b in buttons),
                    timeout=WAIT)
    window.resize(1000, 860)
    qtbot.waitUntil(lambda: all(b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly for b in buttons),
                    timeout=WAIT)
    last = buttons[-1]
    assert last.mapTo(panel, last.rect().topRight()).x() <= panel.width()  # all of it inside the panel
    assert last.accessibleName() == "Unenrol" and "Remove the selected enrolments" in last.toolTip()


def test_from_a_searched_tree_the_matrix_offers_every_cohort_and_the_course_shown(qtbot, console):
    """QA: with a course typed in the tree's search, "The members of a cohort" was off with an empty list
    (the tree held no cohort), and the course selected in the tree was not ticked."""
    window, pane, session, engine, _server = console
    qtbot.waitUntil(lambda: "cohorts" in pane.choices, timeout=WAIT)
    course, shortname = q(session, "SELECT id, shortname FROM courses WHERE format <> 'site' ORDER BY id LIMIT 1")[0]
    cohorts = q(session, "SELECT count(*) FROM cohorts")[0][0]
    pane.tree_search.setText(shortname)
    qtbot.waitUntil(lambda: pane.tree_model.data_read.cohorts == () and pane.tree_model.find("course", course).isValid(),
                    timeout=WAIT)
    pane.tree.setCurrentIndex(pane.tree_model.find("course", course))
    pane.dialogs.open_matrix()
    dialog = pane.dialogs.open_dialogs["matrix"]
    assert dialog.from_cohort.isEnabled() and dialog.cohort_combo.count() == cohorts > 0
    qtbot.waitUntil(lambda: dialog.course_list.count() > 0, timeout=WAIT)
    assert dialog.checked == {course: shortname}
    dialog.close()
