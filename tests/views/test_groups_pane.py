"""The groups pane driven as an admin would, against the sandbox: the navigation node, drops of
users (QMimeData + QDropEvent at a QPointF) on cohorts, groups and courses with their previews,
the bad input named in the preview (already members, suspended, not visible to the token, not
enrolled, a cohort deleted meanwhile), removal with the Delete key, the cohort and group dialogs,
rule-based cohorts with their drift notice, and the membership import."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import QByteArray, QDate, QItemSelectionModel, QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QPushButton

from lms_console.models.dnd import USER_IDS_MIME, read_user_drag, user_ids_mime
from lms_console.models.groups_model import CountRole
from lms_console.models.plan_model import COL_DIFF
from lms_console.models.users_model import UsersTableModel
from lms_console.sandbox.server import SandboxServer
from lms_console.services.changes import Status
from lms_console.services.users_query import UserFilter
from lms_console.views.dialogs.cohort_dialog import CohortDialog
from lms_console.views.dialogs.enrolment_matrix_dialog import EnrolDropDialog
from lms_console.views.dialogs.group_dialog import GroupDialog
from lms_console.views.groups_import import ImportMembershipsDialog
from lms_console.views.groups_pane import PAGE_COURSE, PAGE_MEMBERS
from lms_console.views.groups_rules import RuleDialog
from lms_console.views.groups_wiring import install_groups_views
from lms_console.views.widgets.users_table import DraggableUsersTable

WAIT = 20000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def server():
    site = SandboxServer(users=120, courses=3, seed=47).start()
    yield site
    site.stop()


@pytest.fixture
def console(qtbot, server, change_console):
    """(window, pane, session, engine, server): a synced sandbox, the window, the change and groups views."""
    session, engine, window, _views, views = change_console(
        server, ("site", "users", "categories", "courses", "cohorts", "groups", "enrolments"), install_groups_views)
    window.resize(1400, 860)
    pane = views.pane
    window.show()
    window.go_to("groups")
    assert window.stack.currentWidget() is pane
    qtbot.waitUntil(lambda: pane.tree_model.find("cohort").isValid(), timeout=WAIT)
    return window, pane, session, engine, server


def q(session, sql, *params):
    with session.db.read() as conn:
        return conn.exec_driver_sql(sql, params).all()


def select(qtbot, pane, kind, ident):
    """Select a node as an admin would: its branch opened, the row scrolled into view."""
    index = pane.tree_model.find(kind, ident)
    assert index.isValid()
    parent = index.parent()
    while parent.isValid():
        pane.tree.expand(parent)
        parent = parent.parent()
    pane.tree.setCurrentIndex(index)
    pane.tree.scrollTo(index)
    qtbot.waitUntil(lambda: pane.tree.visualRect(pane.tree_model.find(kind, ident)).isValid(), timeout=WAIT)
    return pane.tree_model.find(kind, ident)


def drop_on(pane, index, mime) -> QDropEvent:
    """Drag ``mime`` in, over ``index`` and drop it there, as Qt delivers a real drag."""
    pane.tree.scrollTo(index)
    pos = QPointF(pane.tree.visualRect(index).center())
    actions, mods = Qt.DropAction.CopyAction, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(pane.tree.viewport(), QDragEnterEvent(pos.toPoint(), actions, mime, LEFT, mods))
    QApplication.sendEvent(pane.tree.viewport(), QDragMoveEvent(pos.toPoint(), actions, mime, LEFT, mods))
    event = QDropEvent(pos, actions, mime, LEFT, mods)
    QApplication.sendEvent(pane.tree.viewport(), event)
    return event


def preview_after(qtbot, window, engine, start):
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        start()
    qtbot.waitUntil(lambda: window.change_views.preview is not None, timeout=WAIT)
    return window.change_views.preview


def titles(dialog) -> list[str]:
    m = dialog.model
    return [m.item_at(r).title for r in range(m.rowCount())]


def test_the_pane_is_reached_from_the_navigation_and_shows_a_cohort(qtbot, console):
    window, pane, session, _engine, _server = console
    assert window.nav_model.find("groups").isValid()
    window.go_to("groups")
    assert window.stack.currentWidget() is pane
    cid, name, members = q(session, "SELECT c.id, c.name, count(*) FROM cohorts c JOIN cohort_members m "
                                    "ON m.cohortid = c.id GROUP BY c.id ORDER BY c.id LIMIT 1")[0]
    window.nav.setCurrentIndex(window.nav.model().mapFromSource(window.nav_model.find("cohort", cid)))
    assert window.stack.currentWidget() is pane
    qtbot.waitUntil(lambda: pane.details.currentIndex() == PAGE_MEMBERS and pane.members.model.total() == members,
                    timeout=WAIT)
    assert pane.members.title.text() == name and "Users in cohort" in pane.members.filter_bar.sentence.text()
    courseid = q(session, "SELECT courseid FROM enrolments GROUP BY courseid LIMIT 1")[0][0]
    select(qtbot, pane, "course", courseid)
    qtbot.waitUntil(lambda: pane.details.currentIndex() == PAGE_COURSE and pane.course.model.total() > 0,
                    timeout=WAIT)


def test_dropping_users_on_a_cohort_previews_every_case_by_name_and_applies(qtbot, console):
    window, pane, session, engine, _server = console
    cid = q(session, "SELECT id FROM cohorts WHERE name = 'All Staff'")[0][0]
    member = q(session, "SELECT userid FROM cohort_members WHERE cohortid = ? LIMIT 1", cid)[0][0]
    suspended = q(session, "SELECT id FROM users WHERE suspended = 1 AND id NOT IN (SELECT userid FROM cohort_members "
                           "WHERE cohortid = ?) LIMIT 1", cid)[0][0]
    fresh = q(session, "SELECT id FROM users WHERE suspended = 0 AND id > 3 AND id NOT IN (SELECT userid FROM "
                       "cohort_members WHERE cohortid = ?) LIMIT 1", cid)[0][0]
    index = select(qtbot, pane, "cohort", cid)
    before = index.data(CountRole)
    mime = user_ids_mime([member, suspended, fresh, 987_654], "users")
    dialog = preview_after(qtbot, window, engine, lambda: drop_on(pane, index, mime))
    plan = dialog.plan
    assert plan.counts == {"apply": 2, "noop": 1, "conflict": 0, "error": 1}
    dialog.toggles.set_only("apply")
    assert any("(suspended account)" in t for t in titles(dialog))
    dialog.toggles.set_only("error")
    assert "not visible to the token" in dialog.model.index(0, 4).data()
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(dialog.apply_button, LEFT)
    assert applied.args[0].count(Status.DONE) == 2
    qtbot.waitUntil(lambda: pane.tree_model.find("cohort", cid).data(CountRole) == before + 2, timeout=WAIT)
    qtbot.waitUntil(lambda: pane.members.model.total() == before + 2, timeout=WAIT)


def test_dropping_on_a_group_of_a_course_they_are_not_in_offers_enrolment_first(qtbot, console):
    window, pane, session, engine, server = console
    gid, courseid, stranger = q(session, 'SELECT g.id, g.courseid, u.id FROM "groups" g JOIN users u '
                                         "ON u.suspended = 0 AND u.id > 3 WHERE NOT EXISTS (SELECT 1 FROM enrolments e "
                                         "WHERE e.courseid = g.courseid AND e.userid = u.id) ORDER BY g.id LIMIT 1")[0]
    suspended = q(session, "SELECT e.userid FROM enrolments e JOIN users u ON u.id = e.userid WHERE u.suspended = 1 "
                           "AND e.courseid = ? AND e.userid NOT IN (SELECT userid FROM group_members WHERE groupid = ?) "
                           "LIMIT 1", courseid, gid)[0][0]
    course = select(qtbot, pane, "course", courseid)
    pane.tree.expand(course)
    qtbot.waitUntil(lambda: pane.tree_model.find("group", gid).isValid(), timeout=WAIT)
    dialog = preview_after(qtbot, window, engine,
                           lambda: drop_on(pane, pane.tree_model.find("group", gid),
                                           user_ids_mime([stranger, suspended])))
    assert dialog.plan.counts["conflict"] == 1 and dialog.prerequisite_notice.isVisibleTo(dialog)
    assert dialog.plan.counts["apply"] == 1
    first = dialog
    dialog = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(first.enrol_first_button, LEFT))
    assert [i.change.kind for i in dialog.plan.items] == ["enrol.add", "group.add_member", "group.add_member"]
    assert dialog.plan.counts["apply"] == 3
    assert [t for t in titles(dialog) if "(suspended account)" in t] == [dialog.plan.items[2].title]  # notes kept
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(dialog.apply_button, LEFT)
    assert applied.args[0].status == "done"
    with server.store.connection() as conn:
        assert len(conn.execute(f"SELECT 1 FROM groups_members WHERE groupid = ? AND userid IN ({stranger}, "
                                f"{suspended})", (gid,)).fetchall()) == 2


def test_dropping_on_a_course_asks_for_role_and_dates_first(qtbot, console):
    window, pane, session, engine, _server = console
    courseid = q(session, "SELECT id FROM courses WHERE format <> 'site' ORDER BY id LIMIT 1")[0][0]
    users = [r[0] for r in q(session, "SELECT id FROM users WHERE id > 3 AND suspended = 0 AND id NOT IN (SELECT "
                                      "userid FROM enrolments WHERE courseid = ?) LIMIT 2", courseid)]
    drop_on(pane, select(qtbot, pane, "course", courseid), user_ids_mime(users))
    dialog = pane.dialogs.open_dialogs["enrol-drop"]
    assert isinstance(dialog, EnrolDropDialog) and dialog.isVisible() and dialog.windowTitle().startswith("Enrol in")
    box = dialog.box
    box.role.setCurrentIndex(box.role.findData(3))
    box.has_start.setChecked(True)
    box.has_end.setChecked(True)
    box.end.setDate(box.start.date().addDays(-1))
    assert not dialog.ok.isEnabled() and box.problem.isVisibleTo(dialog)
    box.end.setDate(box.start.date().addDays(30))
    assert dialog.ok.isEnabled()
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    assert preview.plan.counts["apply"] == 2
    assert {i.change.data["roleid"] for i in preview.plan.items} == {3}
    assert all(i.change.data["timeend"] > i.change.data["timestart"] for i in preview.plan.items)


def test_users_dropped_on_the_members_list_join_the_shown_group(qtbot, console):
    window, pane, session, engine, _server = console
    gid, courseid = q(session, 'SELECT g.id, g.courseid FROM "groups" g ORDER BY g.id LIMIT 1')[0]
    user = q(session, "SELECT userid FROM enrolments WHERE courseid = ? AND userid NOT IN (SELECT userid FROM "
                      "group_members WHERE groupid = ?) LIMIT 1", courseid, gid)[0][0]
    pane.tree.expand(select(qtbot, pane, "course", courseid))
    qtbot.waitUntil(lambda: pane.tree_model.find("group", gid).isValid(), timeout=WAIT)
    select(qtbot, pane, "group", gid)
    qtbot.waitUntil(lambda: pane.details.currentIndex() == PAGE_MEMBERS, timeout=WAIT)
    members = pane.members
    mime, own = user_ids_mime([user], "user-list"), user_ids_mime([user], "members")
    pos = QPointF(members.rect().center())
    actions, mods = Qt.DropAction.CopyAction, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos.toPoint(), actions, own, LEFT, mods)
    QApplication.sendEvent(members, enter)
    assert not enter.isAccepted()  # its own members dragged back onto it: nothing to do
    QApplication.sendEvent(members, QDragEnterEvent(pos.toPoint(), actions, mime, LEFT, mods))
    QApplication.sendEvent(members, QDragMoveEvent(pos.toPoint(), actions, mime, LEFT, mods))
    dialog = preview_after(qtbot, window, engine,
                           lambda: QApplication.sendEvent(members, QDropEvent(pos, actions, mime, LEFT, mods)))
    assert [(i.change.kind, i.change.data["groupid"]) for i in dialog.plan.items] == [("group.add_member", gid)]


def test_drops_elsewhere_are_refused_and_say_why(qtbot, console):
    _window, pane, _session, _engine, _server = console
    hints = []
    pane.tree.drop_hint.connect(hints.append)
    category = pane.tree_model.find("category")
    pane.tree.scrollTo(category)
    one, two = user_ids_mime([5]), user_ids_mime([5, 6])  # kept alive: the events only point at them
    spot = pane.tree.visualRect(category).center()
    QApplication.sendEvent(pane.tree.viewport(), QDragEnterEvent(spot, Qt.DropAction.CopyAction, one, LEFT,
                                                                 Qt.KeyboardModifier.NoModifier))
    move = QDragMoveEvent(spot, Qt.DropAction.CopyAction, one, LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(pane.tree.viewport(), move)
    assert not move.isAccepted() and "Drop users on a course of this category" in hints[-1]
    cohort = select(qtbot, pane, "cohort", pane.tree_model.find("cohort").internalPointer().id)
    move = QDragMoveEvent(pane.tree.visualRect(cohort).center(), Qt.DropAction.CopyAction, two,
                          LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(pane.tree.viewport(), move)
    assert move.isAccepted() and hints[-1].startswith("Drop to add")
    assert not drop_on(pane, category, user_ids_mime([5])).isAccepted()
    plain = QMimeData()
    plain.setText("5, 6")
    assert not drop_on(pane, cohort, plain).isAccepted()
    broken = QMimeData()
    broken.setData(USER_IDS_MIME, QByteArray(b"{oops"))
    drop_on(pane, cohort, broken)
    assert "could not be read" in pane.banner.message_text()


def test_delete_removes_the_selected_members_through_the_preview(qtbot, console):
    window, pane, session, engine, _server = console
    cid = q(session, "SELECT cohortid FROM cohort_members GROUP BY cohortid ORDER BY count(*) DESC LIMIT 1")[0][0]
    select(qtbot, pane, "cohort", cid)
    table = pane.members.table
    qtbot.waitUntil(lambda: pane.members.model.total() > 3 and pane.members.model.user_id(1) is not None,
                    timeout=WAIT)
    sm = table.selectionModel()
    for row in (0, 1):
        sm.select(pane.members.model.index(row, 0),
                  QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    chosen = {pane.members.model.user_id(0), pane.members.model.user_id(1)}
    assert pane.members.remove_button.isEnabled()
    table.setFocus()
    dialog = preview_after(qtbot, window, engine, lambda: qtbot.keyClick(table, Qt.Key.Key_Delete))
    assert {i.change.kind for i in dialog.plan.items} == {"cohort.remove_member"}
    assert {i.change.data["userid"] for i in dialog.plan.items} == chosen
    assert read_user_drag(table.drag_mime()).ids == tuple(sorted(chosen, key=[pane.members.model.user_id(0),
                                                                               pane.members.model.user_id(1)].index))


def test_a_cohort_deleted_on_the_site_meanwhile_is_named_and_nothing_is_sent(qtbot, console):
    window, pane, session, engine, server = console
    cid = q(session, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    users = [r[0] for r in q(session, "SELECT id FROM users WHERE id > 3 LIMIT 3")]
    session._client.call("core_cohort_delete_cohorts", {"cohortids": [cid]}, write=True)
    requests_before = len(server.requests)
    dialog = preview_after(qtbot, window, engine,
                           lambda: drop_on(pane, select(qtbot, pane, "cohort", cid), user_ids_mime(users)))
    assert dialog.plan.counts == {"apply": 0, "noop": 0, "conflict": 0, "error": 3}
    assert not dialog.apply_button.isEnabled()
    assert "deleted on the site after the last sync" in dialog.model.index(0, 4).data()
    assert "deleted on the site" in dialog.details.text()
    writes = [r for r in server.requests[requests_before:] if "add_cohort_members" in str(r)]
    assert writes == []


def test_cohort_and_group_dialogs_name_bad_input_and_plan_what_is_asked(qtbot, console):
    window, pane, session, engine, _server = console
    taken = q(session, "SELECT idnumber FROM cohorts WHERE idnumber <> '' LIMIT 1")[0][0]
    select(qtbot, pane, "context", 0)
    pane.dialogs.new_cohort()
    dialog = pane.dialogs.open_dialogs["cohort"]
    assert isinstance(dialog, CohortDialog) and not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.name, "Sales DE")
    dialog.idnumber.setText(taken.lower())
    assert not dialog.ok.isEnabled() and "already uses this ID number" in dialog.idnumber_problem.text()
    dialog.idnumber.setText("COH-SALES-DE")
    category = q(session, "SELECT id FROM categories ORDER BY id LIMIT 1")[0][0]
    dialog.context.setCurrentIndex(dialog.context.findData(category))
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    change = preview.plan.items[0].change
    assert change.kind == "cohort.create" and change.data["categoryid"] == category
    assert change.data["name"] == "Sales DE" and preview.plan.counts["apply"] == 1
    preview.close()
    gid, gname, courseid = q(session, 'SELECT id, name, courseid FROM "groups" ORDER BY id LIMIT 1')[0]
    course = select(qtbot, pane, "course", courseid)
    pane.tree.expand(course)
    qtbot.waitUntil(lambda: pane.tree_model.find("group", gid).isValid(), timeout=WAIT)
    pane.dialogs.new_group()
    dialog = pane.dialogs.open_dialogs["group"]
    assert isinstance(dialog, GroupDialog)
    dialog.name.setText(gname.upper())
    assert not dialog.ok.isEnabled() and "already has a group" in dialog.name_problem.text()
    dialog.name.setText("Evening tutorial")
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    assert preview.plan.items[0].change.data == {"courseid": courseid, "name": "Evening tutorial", "idnumber": "",
                                                 "description": ""}
    preview.close()
    select(qtbot, pane, "group", gid)
    preview = preview_after(qtbot, window, engine, pane.dialogs.delete_selected)
    assert preview.plan.items[0].change.kind == "group.delete" and preview.irreversible_warning.isVisibleTo(preview)


def test_a_cohort_sharing_its_id_number_is_edited_and_a_clash_names_the_other_cohorts(qtbot, console):
    window, pane, session, engine, _server = console
    (idnumber,) = q(session, "SELECT idnumber FROM cohorts WHERE idnumber <> '' GROUP BY idnumber "
                             "HAVING count(*) > 1 ORDER BY idnumber LIMIT 1")[0]
    pair = q(session, "SELECT id, name FROM cohorts WHERE idnumber = ? ORDER BY id", idnumber)
    (_first, first_name), (_second, second_name) = pair
    for cid, name in pair:  # each of the two: only its name changes, the shared ID number stays
        select(qtbot, pane, "cohort", cid)
        pane.dialogs.edit_selected()
        dialog = pane.dialogs.open_dialogs["edit"]
        assert isinstance(dialog, CohortDialog) and dialog.idnumber.text() == idnumber
        dialog.name.selectAll()
        qtbot.keyClicks(dialog.name, f"{name} (old)")
        assert dialog.ok.isEnabled() and not dialog.idnumber_problem.isVisibleTo(dialog)  # unchanged: not checked
        preview = preview_after(qtbot, window, engine, lambda d=dialog: qtbot.mouseClick(d.ok, LEFT))
        assert [(i.change.data["id"], i.change.data["fields"]) for i in preview.plan.items] == [
            (cid, {"name": f"{name} (old)"})]
        assert preview.plan.counts["apply"] == 1
        preview.close()
    other, other_name = q(session, "SELECT id, name FROM cohorts WHERE idnumber <> ? ORDER BY id LIMIT 1", idnumber)[0]
    select(qtbot, pane, "cohort", other)
    pane.dialogs.edit_selected()
    dialog = pane.dialogs.open_dialogs["edit"]
    dialog.idnumber.selectAll()
    qtbot.keyClicks(dialog.idnumber, idnumber.lower())
    problem = dialog.idnumber_problem.text()
    assert not dialog.ok.isEnabled() and dialog.idnumber_problem.isVisibleTo(dialog)
    assert problem.startswith("Cohorts “") and "already use this ID number" in problem
    assert f"“{first_name}”" in problem and f"“{second_name}”" in problem and other_name not in problem


def test_group_and_grouping_dialogs_name_a_clashing_id_number_or_name_in_the_course(qtbot, console):
    window, pane, session, engine, _server = console
    courseid = q(session, 'SELECT courseid FROM "groups" WHERE idnumber <> \'\' GROUP BY courseid HAVING count(*) > 1 '
                          "AND courseid IN (SELECT courseid FROM groupings) ORDER BY courseid LIMIT 1")[0][0]
    (gid, gname, gidnumber), (_hid, _hname, hidnumber) = q(
        session, 'SELECT id, name, idnumber FROM "groups" WHERE courseid = ? AND idnumber <> \'\' ORDER BY id LIMIT 2',
        courseid)
    elsewhere = q(session, 'SELECT idnumber FROM "groups" WHERE courseid <> ? AND idnumber <> \'\' LIMIT 1',
                  courseid)[0][0]
    pane.tree.expand(select(qtbot, pane, "course", courseid))
    qtbot.waitUntil(lambda: pane.tree_model.find("group", gid).isValid(), timeout=WAIT)
    pane.dialogs.new_group()
    dialog = pane.dialogs.open_dialogs["group"]
    qtbot.keyClicks(dialog.name, "Evening tutorial")
    qtbot.keyClicks(dialog.idnumber, gidnumber.lower())
    assert not dialog.ok.isEnabled() and dialog.idnumber_problem.isVisibleTo(dialog)
    assert f"Group “{gname}” in this course already uses this ID number" in dialog.idnumber_problem.text()
    dialog.idnumber.setText(elsewhere)  # another course's: not a clash
    assert dialog.ok.isEnabled() and not dialog.idnumber_problem.isVisibleTo(dialog)
    dialog.close()
    select(qtbot, pane, "group", gid)
    pane.dialogs.edit_selected()
    dialog = pane.dialogs.open_dialogs["edit"]
    assert isinstance(dialog, GroupDialog) and dialog.idnumber.text() == gidnumber
    qtbot.keyClicks(dialog.description, " Meets on Tuesdays.")
    assert dialog.ok.isEnabled() and not dialog.idnumber_problem.isVisibleTo(dialog)  # its own ID number
    dialog.idnumber.setText(hidnumber)
    assert not dialog.ok.isEnabled() and "already uses this ID number" in dialog.idnumber_problem.text()
    dialog.idnumber.setText(gidnumber)
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    assert list(preview.plan.items[0].change.data["fields"]) == ["description"]
    preview.close()
    gpid, gpname, gpidnumber = q(session, "SELECT id, name, idnumber FROM groupings WHERE courseid = ? ORDER BY id "
                                          "LIMIT 1", courseid)[0]
    select(qtbot, pane, "course", courseid)
    pane.dialogs.new_grouping()
    dialog = pane.dialogs.open_dialogs["grouping"]
    qtbot.keyClicks(dialog.name, gpname.upper())
    assert not dialog.ok.isEnabled() and "already has a grouping of this name" in dialog.name_problem.text()
    assert dialog.name_problem.isVisibleTo(dialog)
    dialog.name.setText("Seminars")
    assert dialog.ok.isEnabled()
    dialog.idnumber.setText(gpidnumber)
    assert not dialog.ok.isEnabled() and dialog.idnumber_problem.isVisibleTo(dialog)
    assert f"Grouping “{gpname}” in this course already uses this ID number" in dialog.idnumber_problem.text()
    dialog.idnumber.setText("SEMINARS")
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    assert preview.plan.items[0].change.data == {"courseid": courseid, "name": "Seminars", "idnumber": "SEMINARS"}
    assert gpid not in {i.change.data.get("id") for i in preview.plan.items}
    preview.close()


def test_a_grouping_is_renamed_from_its_properties(qtbot, console):
    """Properties… of a grouping edits its name, ID number and description (it only chose its groups)."""
    window, pane, session, engine, server = console
    courseid = q(session, "SELECT courseid FROM groupings GROUP BY courseid HAVING count(*) > 1 LIMIT 1")[0][0]
    (gpid, gpname, gpidnumber), (_other, other_name, other_idnumber) = q(
        session, "SELECT id, name, idnumber FROM groupings WHERE courseid = ? ORDER BY id LIMIT 2", courseid)
    pane.tree.expand(select(qtbot, pane, "course", courseid))
    qtbot.waitUntil(lambda: pane.tree_model.find("grouping", gpid).isValid(), timeout=WAIT)
    select(qtbot, pane, "grouping", gpid)
    assert pane.edit_action.isEnabled()
    pane.edit_action.trigger()
    dialog = pane.dialogs.open_dialogs["edit"]
    assert dialog.name.text() == gpname and not dialog.name.isReadOnly() and not dialog.ok.isEnabled()
    dialog.name.setText(other_name.upper())
    assert not dialog.ok.isEnabled() and "already has a grouping of this name" in dialog.name_problem.text()
    dialog.name.setText(f"{gpname} 2026")
    dialog.idnumber.setText(other_idnumber.lower())
    assert not dialog.ok.isEnabled() and f"Grouping “{other_name}”" in dialog.idnumber_problem.text()
    dialog.idnumber.setText(gpidnumber)
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(dialog.ok, LEFT))
    assert [(i.change.kind, i.change.data["id"], i.change.data["fields"]) for i in preview.plan.items] == [
        ("grouping.update", gpid, {"name": f"{gpname} 2026"})]
    assert preview.plan.items[0].title == f"Rename grouping {gpname} to {gpname} 2026"
    with qtbot.waitSignal(engine.applied, timeout=WAIT):
        preview.apply_button.click()
    with server.store.connection() as conn:
        assert conn.execute("SELECT name FROM groupings WHERE id = ?", (gpid,)).fetchone()[0] == f"{gpname} 2026"
    qtbot.waitUntil(lambda: pane.tree_model.find("grouping", gpid).data() == f"{gpname} 2026", timeout=WAIT)


def test_ending_enrolments_previews_the_end_date_as_a_readable_date(qtbot, console):
    window, pane, session, engine, _server = console
    courseid = q(session, "SELECT courseid FROM enrolments GROUP BY courseid ORDER BY courseid LIMIT 1")[0][0]
    select(qtbot, pane, "course", courseid)
    panel = pane.course
    qtbot.waitUntil(lambda: pane.details.currentIndex() == PAGE_COURSE and panel.model.total() > 1, timeout=WAIT)
    panel.table.selectRow(0)
    panel.table.selectionModel().select(panel.model.index(1, 0), QItemSelectionModel.SelectionFlag.Select
                                        | QItemSelectionModel.SelectionFlag.Rows)
    qtbot.waitUntil(lambda: panel.bulk_buttons["end"].isEnabled(), timeout=WAIT)
    qtbot.mouseClick(panel.bulk_buttons["end"], LEFT)
    qtbot.waitUntil(lambda: getattr(panel, "_dialog", None) is not None and panel._dialog.isVisible(), timeout=WAIT)
    end = panel._dialog
    end.date.setDate(QDate(2026, 12, 31))
    ok = end.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    preview = preview_after(qtbot, window, engine, lambda: qtbot.mouseClick(ok, LEFT))
    stamp = preview.plan.items[0].change.data["timeend"]
    assert [i.change.kind for i in preview.plan.items] == ["enrol.add", "enrol.add"]
    diff = preview.model.index(0, COL_DIFF).data()
    assert "timeend:" in diff and "→ 2026-12-31 23:59" in diff and str(stamp) not in diff
    preview.table.selectRow(0)
    assert "2026-12-31 23:59" in preview.details.text() and str(stamp) not in preview.details.text()


def test_a_rule_is_checked_saved_previewed_and_its_drift_announced_after_a_sync(qtbot, console):
    window, pane, session, engine, _server = console
    cid = q(session, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    dept, n = q(session, "SELECT department, count(*) FROM users WHERE department <> '' GROUP BY 1 LIMIT 1")[0]
    with qtbot.waitSignal(pane.rules.all_hold, timeout=WAIT) as held:  # "Check rules" always answers
        pane.rules_action.trigger()
    assert held.args == [0] and "no rule-based cohorts" in window.banner.message_text()
    select(qtbot, pane, "cohort", cid)
    qtbot.waitUntil(lambda: bool(pane.choices), timeout=WAIT)
    dialog = pane.dialogs.open_rule(cid)
    assert isinstance(dialog, RuleDialog) and not dialog.save_button.isEnabled()  # no value yet
    row = dialog._rows[0]
    row.field.setCurrentIndex(row.field.findText("Department"))
    row.value.setEditText(dept)
    assert dialog.save_button.isEnabled() and dept in dialog.sentence.text()
    with qtbot.waitSignal(pane.rules.diff_ready, timeout=WAIT):
        dialog.check()
    assert f"{n:,} to add" in dialog.diff_summary.text() and dialog.joins.count() == n
    preview = preview_after(qtbot, window, engine, dialog.apply)
    assert preview.plan.counts["apply"] == n and {i.change.kind for i in preview.plan.items} == {"cohort.add_member"}
    preview.close()
    qtbot.waitUntil(lambda: pane.rules.rule_for(cid) is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: pane.members.rule_strip.isVisibleTo(pane), timeout=WAIT)
    with qtbot.waitSignal(pane.rules.drift_found, timeout=60000):
        session.sync(("users", "cohorts"))
    assert "no longer match" in window.banner.message_text() and "Empty cohort" in window.banner.message_text()


def test_memberships_are_imported_with_a_dry_run_then_previewed(qtbot, console, tmp_path):
    window, pane, session, engine, _server = console
    idnumber = q(session, "SELECT idnumber FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    users = [r[0] for r in q(session, "SELECT username FROM users WHERE id > 3 LIMIT 3")]
    path = tmp_path / "members.csv"
    with open(path, "w", newline="", encoding="cp1252") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["Username", "Cohort"])
        w.writerows([[u, idnumber] for u in users] + [["ghost", idnumber]])
    pane.dialogs.open_import()
    dialog = pane.dialogs.open_dialogs["import"]
    assert isinstance(dialog, ImportMembershipsDialog)
    dialog.load(str(path))
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=WAIT)
    assert dialog.result.counts["add"] == 3 and dialog.result.counts["error"] == 1
    assert "4 rows: 3 to add, 1 error. 3 changes to preview." in dialog.summary.text()
    assert dialog.export_button.isEnabled()
    close = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Close")

    def enter_on_close():  # Enter is "Preview changes" even with the focus on Close (it closed the dialog)
        close.setFocus()
        qtbot.keyClick(close, Qt.Key.Key_Return)

    preview = preview_after(qtbot, window, engine, enter_on_close)
    assert preview.plan.counts["apply"] == 3
    preview.close()
    pane.dialogs.open_import()
    dialog = pane.dialogs.open_dialogs["import"]
    dialog.load(str(tmp_path / "missing.csv"))
    qtbot.waitUntil(lambda: "does not exist" in dialog.report.text(), timeout=WAIT)
    assert not dialog.preview_button.isEnabled()


def test_the_user_list_drags_its_selection_or_its_whole_search(qtbot, console):
    _window, pane, session, _engine, _server = console
    ul = pane.user_list
    qtbot.waitUntil(lambda: ul.model.total() > 0 and ul.model.user_id(0) is not None, timeout=WAIT)
    ul.table.selectRow(0)
    assert read_user_drag(ul.table.drag_mime()).ids == (ul.model.user_id(0),)
    # Everything selected in a list that has not read every row: the search itself is dragged.
    model = UsersTableModel(session, page_size=10)
    with qtbot.waitSignal(model.counted, timeout=WAIT):
        model.show(UserFilter("a"), ["username"])
    table = DraggableUsersTable("test")
    table.setModel(model)
    table.selectAll()
    drag = read_user_drag(table.drag_mime())
    assert drag.ok and drag.spec == UserFilter("a") and drag.size == model.total() > 10
    table.clearSelection()
    last = model.total() - 1
    for row in (0, 1, last):
        table.selectionModel().select(model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                      | QItemSelectionModel.SelectionFlag.Rows)
    notes = []
    table.drag_note.connect(notes.append)
    known, missing = model.loaded_ids([0, 1, last])
    assert len(read_user_drag(table.drag_mime()).ids) == len(known)
    assert bool(notes) == bool(missing)  # rows not read yet are named, never silently dropped
    if missing:
        assert f"Only the {len(known)} users read so far" in notes[0]


def test_the_menu_key_acts_on_the_current_node_and_row(qtbot, console, monkeypatch, menus,
                                                       press_menu_key):
    _window, pane, session, _engine, _server = console
    rules = []
    monkeypatch.setattr(pane.dialogs, "open_rule", lambda cid, check=False: rules.append(cid))
    # The tree: the cohort's own commands, not the next row's.
    cid = q(session, "SELECT cohortid FROM cohort_members GROUP BY cohortid HAVING count(*) BETWEEN 1 AND 8 "
                     "ORDER BY count(*), cohortid LIMIT 1")[0][0]
    select(qtbot, pane, "cohort", cid)
    pane.tree.setFocus()
    press_menu_key(pane.tree)
    rule = next(a for a in menus[-1][0].actions() if a.text() == "Membership rule…")
    rule.trigger()
    assert rules == [cid]
    # The members: the last row has a menu (the row below it is nothing).
    members = q(session, "SELECT count(*) FROM cohort_members WHERE cohortid = ?", cid)[0][0]
    table = pane.members.table
    qtbot.waitUntil(lambda: pane.details.currentIndex() == PAGE_MEMBERS and pane.members.model.total() == members
                    and pane.members.model.user_id(members - 1) is not None, timeout=WAIT)
    table.setFocus()
    table.setCurrentIndex(pane.members.model.index(members - 1, 0))
    assert table.viewport().rect().contains(table.visualRect(table.currentIndex()))
    shown = len(menus)
    press_menu_key(table)
    assert len(menus) == shown + 1 and "Remove" in menus[-1][0].actions()[0].text()
    # The enrolments of a course: the same.
    courseid, n = q(session, "SELECT courseid, count(*) FROM enrolments GROUP BY courseid ORDER BY count(*) LIMIT 1")[0]
    select(qtbot, pane, "course", courseid)
    qtbot.waitUntil(lambda: pane.details.currentIndex() == PAGE_COURSE and pane.course.model.total() == n,
                    timeout=WAIT)
    pane.course.search.setText(q(session, "SELECT u.username FROM enrolments e JOIN users u ON u.id = e.userid "
                                          "WHERE e.courseid = ? LIMIT 1", courseid)[0][0])
    qtbot.waitUntil(lambda: pane.course.model.total() == 1, timeout=WAIT)
    table = pane.course.table
    table.setFocus()
    table.setCurrentIndex(pane.course.model.index(0, 0))
    shown = len(menus)
    press_menu_key(table)
    assert len(menus) == shown + 1


def test_import_memberships_and_check_rules_have_keys_and_are_in_the_actions_menu(qtbot, console):
    window, pane, _session, _engine, _server = console
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    pane.tree.setFocus()
    with qtbot.waitSignal(pane.rules.all_hold, timeout=WAIT):
        qtbot.keyClick(pane.tree, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(pane.tree, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "import" in pane.dialogs.open_dialogs, timeout=WAIT)
    pane.dialogs.open_dialogs["import"].close()
    texts = [a.text() for a in window.pane_menu.actions()]
    assert "&Import memberships…" in texts and "Check &rules" in texts
