"""The groups tree, the drag payload, the groups actions and the cohort-rules model against a real
sandbox, session and cache: counts, lazy courses, filtering, drop targets, drop plans with their
named problems (already members, suspended, not visible, not enrolled, deleted on the site),
and drift after a sync that is announced, never applied."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QByteArray, QMimeData

from lms_console.models.changes_model import ChangeEngine
from lms_console.models.cohort_rules import CohortRulesModel
from lms_console.models.dnd import USER_IDS_MIME, UserDrag, read_user_drag, user_filter_mime, user_ids_mime
from lms_console.models.groups_actions import DropOptions, GroupsActions
from lms_console.models.groups_model import CountRole, GroupsTreeModel, KindRole
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services import users_query as Q
from lms_console.services.changes import Status
from lms_console.services.changes.model import Outcome
from lms_console.services.users_filter_text import describe, names_for
from lms_console.services.users_query import Condition, UserFilter

ENTITIES = ("site", "users", "categories", "courses", "cohorts", "groups", "enrolments")


@pytest.fixture
def site(qtbot, go_online):
    server = SandboxServer(users=120, courses=4, seed=41).start()
    runner = TaskRunner(http_workers=4)
    session = ConnectionSession(runner)
    engine = ChangeEngine(session)
    go_online(session, server, ENTITIES)
    yield session, engine, server
    session.close()
    runner.shutdown(wait=True)
    server.stop()


def q(session, sql, *params):
    with session.db.read() as conn:
        return conn.exec_driver_sql(sql, params).all()


def loaded_tree(qtbot, session) -> GroupsTreeModel:
    model = GroupsTreeModel(session)
    with qtbot.waitSignal(model.rebuilt, timeout=10000):
        model.refresh()
    return model


def plan_of(qtbot, actions, start):
    """(plan, seconds from the request to the plan)."""
    with qtbot.waitSignal(actions.planned, timeout=15000) as got:
        start()
    return got.args[0], got.args[1]


# -- the tree -------------------------------------------------------------------------------------------------

def test_tree_shows_cohorts_by_context_and_courses_with_counts(qtbot, qtmodeltester, site):
    session, _engine, _server = site
    model = loaded_tree(qtbot, session)
    qtmodeltester.check(model)
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
        f"Cohorts ({q(session, 'SELECT count(*) FROM cohorts')[0][0]})",
        f"Courses ({q(session, 'SELECT count(*) FROM courses WHERE format <> ?', 'site')[0][0]})"]
    system = model.find("context", 0)
    assert system.data().startswith("System (")
    for cid, members in q(session, "SELECT c.id, (SELECT count(*) FROM cohort_members m WHERE m.cohortid = c.id) "
                                   "FROM cohorts c"):
        index = model.find("cohort", cid)
        assert index.data(CountRole) == members
        assert index.siblingAtColumn(1).data() == f"{members:,}"
    for course, enrolled in q(session, "SELECT k.id, (SELECT count(*) FROM enrolments e WHERE e.courseid = k.id) "
                                       "FROM courses k WHERE format <> 'site'"):
        assert model.find("course", course).data(CountRole) == enrolled
    hidden = q(session, "SELECT id FROM cohorts WHERE visible = 0")[0][0]
    assert "hidden" in model.find("cohort", hidden).data(3)  # tooltip says so


def test_a_course_reads_its_groups_and_groupings_when_expanded(qtbot, qtmodeltester, site):
    session, _engine, _server = site
    model = loaded_tree(qtbot, session)
    courseid = q(session, 'SELECT courseid FROM groupings GROUP BY courseid LIMIT 1')[0][0]
    course = model.find("course", courseid)
    assert model.hasChildren(course) and model.rowCount(course) == 0 and model.canFetchMore(course)
    with qtbot.waitSignal(model.course_loaded, timeout=10000):
        model.fetchMore(course)
    course = model.find("course", courseid)
    kinds = [model.index(r, 0, course).data(KindRole) for r in range(model.rowCount(course))]
    groups = q(session, 'SELECT id, (SELECT count(*) FROM group_members m WHERE m.groupid = g.id) FROM "groups" g '
                        "WHERE courseid = ?", courseid)
    groupings = q(session, "SELECT id FROM groupings WHERE courseid = ?", courseid)
    assert kinds.count("group") == len(groups) and kinds.count("grouping") == len(groupings)
    for gid, members in groups:
        assert model.find("group", gid).data(CountRole) == members
    grouping = model.find("grouping", groupings[0][0])
    inside = {model.index(r, 0, grouping).internalPointer().id for r in range(model.rowCount(grouping))}
    assert inside == {r[0] for r in q(session, "SELECT groupid FROM grouping_groups WHERE groupingid = ?",
                                       groupings[0][0])}
    qtmodeltester.check(model)
    # A rebuild (after any change) keeps the course read.
    with qtbot.waitSignal(model.rebuilt, timeout=10000):
        model.refresh()
    assert model.rowCount(model.find("course", courseid)) == len(kinds)


def test_the_tree_filter_keeps_matching_cohorts_and_courses_of_matching_groups(qtbot, site):
    session, _engine, _server = site
    model = loaded_tree(qtbot, session)
    with qtbot.waitSignal(model.rebuilt, timeout=10000):
        model.set_filter("students")
    names = [r.name for r in _cohort_nodes(model)]
    assert names and all("students" in n.lower() for n in names)
    group, courseid = q(session, 'SELECT name, courseid FROM "groups" LIMIT 1')[0]
    with qtbot.waitSignal(model.rebuilt, timeout=10000):
        model.set_filter(group)
    assert model.find("course", courseid).isValid()
    with qtbot.waitSignal(model.rebuilt, timeout=10000):
        model.set_filter("zzz-nothing-like-this")
    assert not model.find("cohort").isValid() and not model.find("course").isValid()


def _cohort_nodes(model):
    out, stack = [], [model.index(r, 0) for r in range(model.rowCount())]
    while stack:
        index = stack.pop()
        if index.data(KindRole) == "cohort":
            out.append(index.internalPointer())
        stack += [model.index(r, 0, index) for r in range(model.rowCount(index))]
    return out


def test_users_drop_on_cohorts_groups_and_courses_only(qtbot, site):
    session, _engine, _server = site
    model = loaded_tree(qtbot, session)
    assert model.mimeTypes() == [USER_IDS_MIME]
    cohort = model.find("cohort")
    assert model.drop_target(cohort) == ("cohort", cohort.internalPointer().id)
    assert model.drop_target(model.find("course"))[0] == "course"
    for kind in ("cohorts", "context", "courses", "category"):
        index = model.find(kind)
        assert model.drop_target(index) is None
        assert "Drop users on" in model.drop_refusal(kind)
    assert "holds groups, not users" in model.drop_refusal("grouping")


# -- the drag payload ---------------------------------------------------------------------------------------------

def test_drag_payload_round_trips_and_bad_payloads_are_named(qapp):
    drag = read_user_drag(user_ids_mime([5, 6, 5, 7], "users"))
    assert drag.ok and drag.ids == (5, 6, 7) and drag.source == "users" and drag.label() == "3 users"
    spec = UserFilter("ann", (Condition("suspended", "is", False),))
    drag = read_user_drag(user_filter_mime(spec, 50_000))
    assert drag.ok and drag.spec == spec and drag.size == 50_000
    for raw, why in ((b"{not json", "damaged"), (b"[1, 2]", "unexpected"), (b'{"ids": [1, -2]}', "positive"),
                     (b'{"ids": []}', "no users"), (b'{"ids": [true]}', "positive"),
                     (b'{"filter": {"conditions": [{"field": "nope"}]}}', "cannot be used")):
        mime = QMimeData()
        mime.setData(USER_IDS_MIME, QByteArray(raw))
        bad = read_user_drag(mime)
        assert not bad.ok and why in bad.problem
    assert not read_user_drag(QMimeData()).ok
    assert json.loads(bytes(user_ids_mime([1]).data(USER_IDS_MIME).data()))["version"] == 1


def test_group_condition_of_the_users_query(site):
    session, _engine, _server = site
    gid, members = q(session, 'SELECT g.id, (SELECT count(*) FROM group_members m WHERE m.groupid = g.id) '
                              'FROM "groups" g ORDER BY 2 DESC LIMIT 1')[0]
    name, course = q(session, 'SELECT g.name, c.shortname FROM "groups" g JOIN courses c ON c.id = g.courseid '
                              "WHERE g.id = ?", gid)[0]
    spec = UserFilter(conditions=(Condition("group", "in", gid),))
    with session.db.read() as conn:
        assert Q.count(conn, spec) == members
        assert describe(spec, names_for(conn, spec)) == f"Users in group {name} ({course})"
        outside = UserFilter(conditions=(Condition("group", "not_in", gid),))
        assert Q.count(conn, outside) == Q.count(conn, UserFilter()) - members
    assert UserFilter.loads(spec.dumps()) == spec


# -- drop plans -----------------------------------------------------------------------------------------------------

def test_a_drop_on_a_cohort_names_members_suspended_and_invisible_users(qtbot, site):
    session, engine, _server = site
    actions = GroupsActions(session, engine)
    cid = q(session, "SELECT id FROM cohorts WHERE name = 'All Staff'")[0][0]
    member = q(session, "SELECT userid FROM cohort_members WHERE cohortid = ? LIMIT 1", cid)[0][0]
    suspended = q(session, "SELECT id FROM users WHERE suspended = 1 AND id NOT IN (SELECT userid FROM "
                           "cohort_members WHERE cohortid = ?) LIMIT 1", cid)[0][0]
    fresh = q(session, "SELECT id FROM users WHERE suspended = 0 AND id > 3 AND id NOT IN (SELECT userid FROM "
                       "cohort_members WHERE cohortid = ?) LIMIT 2", cid)
    previews = []
    engine.planned.connect(previews.append)
    drag = UserDrag(ids=(member, suspended, fresh[0][0], fresh[1][0], 987_654))
    plan, seconds = plan_of(qtbot, actions, lambda: actions.plan_drop("cohort", cid, drag))
    assert previews == [plan] and seconds < 5
    by_user = {i.change.data["userid"]: i for i in plan.items}
    assert by_user[member].outcome == Outcome.NOOP
    assert by_user[suspended].outcome == Outcome.APPLY and "(suspended account)" in by_user[suspended].title
    assert by_user[987_654].outcome == Outcome.ERROR
    assert "not visible to the token" in by_user[987_654].problems[0].message
    assert plan.counts == {"apply": 3, "noop": 1, "conflict": 0, "error": 1}
    assert plan.title == "Add 5 users to cohort All Staff"


def test_a_filter_drag_reads_its_users_off_the_gui_thread(qtbot, site):
    session, engine, _server = site
    actions = GroupsActions(session, engine)
    cid = q(session, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    spec = UserFilter(conditions=(Condition("suspended", "is", True),))
    n = q(session, "SELECT count(*) FROM users WHERE suspended = 1")[0][0]
    plan, _s = plan_of(qtbot, actions, lambda: actions.plan_drop("cohort", cid, UserDrag(spec=spec, count=n)))
    assert plan.counts["apply"] == n and all("(suspended account)" in i.title for i in plan.items)
    problems = []
    actions.problem.connect(problems.append)
    actions.plan_drop("cohort", cid, UserDrag(problem="The dragged users could not be read."))
    assert problems == ["The dragged users could not be read."]
    with qtbot.waitSignal(actions.problem, timeout=10000) as got:
        actions.plan_drop("cohort", 555_555, UserDrag(ids=(5,)))
    assert "no longer in the local copy" in got.args[0]


def test_a_drop_on_a_group_offers_enrolment_first_and_keeps_its_notes(qtbot, site):
    session, engine, _server = site
    actions = GroupsActions(session, engine)
    gid, courseid = q(session, 'SELECT id, courseid FROM "groups" ORDER BY id LIMIT 1')[0]
    stranger = q(session, "SELECT id FROM users WHERE suspended = 1 AND id NOT IN (SELECT userid FROM enrolments "
                          "WHERE courseid = ?) LIMIT 1", courseid)[0][0]
    enrolled = q(session, "SELECT userid FROM enrolments WHERE courseid = ? AND userid NOT IN (SELECT userid FROM "
                          "group_members WHERE groupid = ?) LIMIT 1", courseid, gid)[0][0]
    plan, _s = plan_of(qtbot, actions, lambda: actions.plan_drop("group", gid, UserDrag(ids=(stranger, enrolled))))
    by_user = {i.change.data["userid"]: i for i in plan.items}
    assert by_user[stranger].outcome == Outcome.CONFLICT
    assert by_user[stranger].problems[0].prerequisite.kind == "enrol.add"
    assert by_user[enrolled].outcome == Outcome.APPLY
    assert actions.owns(plan)
    again, _s = plan_of(qtbot, actions, lambda: actions.replan(plan, True))
    assert [i.change.kind for i in again.items] == ["enrol.add", "group.add_member", "group.add_member"]
    assert again.counts["apply"] == 3
    assert "(suspended account)" in again.items[0].title  # the notes survive the re-plan


def test_a_drop_on_a_course_enrols_with_the_chosen_role_and_dates(qtbot, site):
    session, engine, server = site
    actions = GroupsActions(session, engine)
    courseid = q(session, "SELECT id FROM courses WHERE format <> 'site' LIMIT 1")[0][0]
    users = [r[0] for r in q(session, "SELECT id FROM users WHERE id > 3 AND suspended = 0 AND id NOT IN "
                                      "(SELECT userid FROM enrolments WHERE courseid = ?) LIMIT 3", courseid)]
    options = DropOptions(roleid=3, timestart=1_800_000_000, timeend=1_810_000_000)
    plan, _s = plan_of(qtbot, actions, lambda: actions.plan_drop("course", courseid, UserDrag(ids=tuple(users)),
                                                                 options))
    assert plan.counts["apply"] == 3
    assert all(i.change.data["roleid"] == 3 and i.change.data["timeend"] == 1_810_000_000 for i in plan.items)
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(plan)
    assert applied.args[0].count(Status.DONE) == 3
    with server.store.connection() as conn:
        rows = conn.execute("SELECT ue.userid, ue.timeend FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid "
                            f"WHERE e.courseid = ? AND ue.userid IN ({','.join(map(str, users))})", (courseid,)).fetchall()
    assert sorted(r[0] for r in rows) == sorted(users) and {r[1] for r in rows} == {1_810_000_000}
    bad = []
    actions.problem.connect(bad.append)
    with qtbot.waitSignal(actions.problem, timeout=10000):
        actions.plan_drop("course", courseid, UserDrag(ids=(users[0],)), DropOptions(timestart=20, timeend=10))
    assert "after the start date" in bad[0]


def test_a_cohort_deleted_on_the_site_makes_every_item_an_error(qtbot, site):
    session, engine, server = site
    actions = GroupsActions(session, engine)
    cid = q(session, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    users = tuple(r[0] for r in q(session, "SELECT id FROM users WHERE id > 3 LIMIT 4"))
    session._client.call("core_cohort_delete_cohorts", {"cohortids": [cid]}, write=True)  # meanwhile, elsewhere
    plan, _s = plan_of(qtbot, actions, lambda: actions.plan_drop("cohort", cid, UserDrag(ids=users)))
    assert plan.count(Outcome.APPLY) == 0 and plan.count(Outcome.ERROR) == 4
    assert all("deleted on the site after the last sync" in i.problems[-1].message for i in plan.items)


def test_removing_members_and_deleting_plans(qtbot, site):
    session, engine, _server = site
    actions = GroupsActions(session, engine)
    gid = q(session, 'SELECT groupid FROM group_members GROUP BY groupid LIMIT 1')[0][0]
    members = [r[0] for r in q(session, "SELECT userid FROM group_members WHERE groupid = ? LIMIT 2", gid)]
    plan, _s = plan_of(qtbot, actions, lambda: actions.plan_remove("group", gid, members + [members[0]]))
    assert [i.change.kind for i in plan.items] == ["group.remove_member"] * 2 and plan.counts["apply"] == 2
    assert plan.title.startswith("Remove 2 members from group")


# -- rules ------------------------------------------------------------------------------------------------------------

def test_rules_are_checked_after_each_sync_and_drift_is_announced_not_applied(qtbot, site):
    session, engine, server = site
    actions = GroupsActions(session, engine)
    rules = CohortRulesModel(session, actions)
    cid = q(session, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    dept = q(session, "SELECT department FROM users WHERE department <> '' LIMIT 1")[0][0]
    spec = UserFilter(conditions=(Condition("profile", "is", dept, "department"),))
    with qtbot.waitSignal(rules.rules_loaded, timeout=10000):
        rules.save(cid, spec)
    assert rules.rule_for(cid).spec == spec
    with qtbot.waitSignal(rules.drift_found, timeout=60000) as drift:
        session.sync(("users", "cohorts"))
    diff = next(d for d in drift.args[0] if d.rule.cohortid == cid)
    assert diff.drifted and set(diff.joins) == {r[0] for r in q(session, "SELECT id FROM users WHERE department = ?",
                                                                 dept)}
    with server.store.connection() as conn:  # nothing was sent
        assert conn.execute("SELECT count(*) FROM cohort_members WHERE cohortid = ?", (cid,)).fetchone()[0] == 0
    qtbot.waitUntil(lambda: rules.rule_for(cid) is not None and rules.rule_for(cid).joins == len(diff.joins),
                    timeout=10000)
    plan, _s = plan_of(qtbot, actions, lambda: rules.plan_diff(diff))
    assert plan.counts["apply"] == len(diff.joins) and plan.title.startswith("Apply the rule of cohort Empty cohort")
    problems = []
    rules.problem.connect(problems.append)
    rules.save(cid, UserFilter())
    assert "at least one condition" in problems[0]
