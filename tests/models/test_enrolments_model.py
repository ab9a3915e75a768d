"""A course's enrolments table and the enrolment actions against a real sandbox, session and
cache: windowed pages, SQL sorting and filters (text, status, role), ids of unread rows, bulk
suspend / reactivate / end / unenrol plans, the matrix (many users x many courses) applied in one
run, and the choices the dialogs offer."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from lms_console.models.changes_model import ChangeEngine
from lms_console.models.dnd import UserDrag
from lms_console.models.enrolments_model import (
    KEYS,
    EnrolmentQuery,
    EnrolmentsTableModel,
    bulk_changes,
    read_course_choices,
    read_roles,
)
from lms_console.models.groups_actions import DropOptions, GroupsActions
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.changes import Status
from lms_console.services.changes.model import Outcome
from lms_console.services.users_query import Condition, UserFilter


@pytest.fixture
def site(qtbot, go_online):
    server = SandboxServer(users=150, courses=3, seed=43).start()
    runner = TaskRunner(http_workers=4)
    session = ConnectionSession(runner)
    engine = ChangeEngine(session)
    go_online(session, server, ("site", "users", "categories", "courses", "cohorts", "groups", "enrolments"))
    yield session, engine, server
    session.close()
    runner.shutdown(wait=True)
    server.stop()


def q(session, sql, *params):
    with session.db.read() as conn:
        return conn.exec_driver_sql(sql, params).all()


def biggest_course(session) -> int:
    return q(session, "SELECT courseid FROM enrolments GROUP BY courseid ORDER BY count(*) DESC LIMIT 1")[0][0]


def shown(qtbot, model, query):
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.show(query)
    return model


def test_enrolments_page_in_sql_order_with_filters(qtbot, qtmodeltester, site):
    session, _engine, _server = site
    courseid = biggest_course(session)
    total = q(session, "SELECT count(*) FROM enrolments WHERE courseid = ?", courseid)[0][0]
    model = shown(qtbot, EnrolmentsTableModel(session, page_size=20), EnrolmentQuery(courseid))
    qtmodeltester.check(model)
    assert model.rowCount() == total > 40
    assert model.index(0, KEYS.index("roles")).data() in ("Student", "Teacher", "Non-editing teacher", "Manager")
    # Rows beyond the first page arrive when asked for.
    assert model.index(45, 0).data() == "…"
    qtbot.waitUntil(lambda: model.index(45, 0).data() != "…", timeout=10000)
    last_names = [r[0] for r in q(session, "SELECT u.lastname FROM enrolments e JOIN users u ON u.id = e.userid "
                                           "WHERE e.courseid = ? ORDER BY u.lastname, u.firstname, u.id", courseid)]
    assert model.index(45, 0).data().endswith(last_names[45])
    for col, key in enumerate(KEYS):
        with qtbot.waitSignal(model.loaded, timeout=10000):
            model.sort(col, Qt.SortOrder.DescendingOrder)
        assert (model.query.sort, model.query.descending) == (key, True)
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.update_query(sort="username", descending=True)
    usernames = [r[0] for r in q(session, "SELECT u.username FROM enrolments e JOIN users u ON u.id = e.userid "
                                          "WHERE e.courseid = ? ORDER BY u.username DESC", courseid)]
    assert [model.index(r, 1).data() for r in range(5)] == usernames[:5]
    suspended = q(session, "SELECT count(*) FROM enrolments WHERE courseid = ? AND suspended = 1", courseid)[0][0]
    with qtbot.waitSignal(model.counted, timeout=10000) as counted:
        model.update_query(status="suspended")
    assert counted.args[0] == suspended
    with qtbot.waitSignal(model.counted, timeout=10000) as counted:
        model.update_query(status="", roleid=5)
    assert counted.args[0] == q(session, "SELECT count(*) FROM enrolment_roles WHERE courseid = ? AND roleid = 5",
                                courseid)[0][0]
    name = q(session, "SELECT u.lastname FROM enrolments e JOIN users u ON u.id = e.userid WHERE e.courseid = ? "
                      "LIMIT 1", courseid)[0][0]
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.update_query(roleid=None, text=name)
    assert model.rowCount() >= 1 and all(name in model.index(r, 0).data() for r in range(model.rowCount()))
    qtmodeltester.check(model)


def test_ids_of_selected_rows_come_from_memory_or_sql(qtbot, site):
    session, _engine, _server = site
    courseid = biggest_course(session)
    model = shown(qtbot, EnrolmentsTableModel(session, page_size=10), EnrolmentQuery(courseid, sort="username"))
    expected = [r[0] for r in q(session, "SELECT u.id FROM enrolments e JOIN users u ON u.id = e.userid "
                                         "WHERE e.courseid = ? ORDER BY u.username, u.id", courseid)]
    got = []
    model.ids_for_rows([0, 1, 2], got.append)
    assert got == [expected[:3]]
    with qtbot.waitSignal(model.runner.job_changed, timeout=10000, check_params_cb=lambda i: i.state.finished):
        model.ids_for_rows([0, 30, 31, 32], got.append)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=10000)
    assert got[1] == [expected[0], *expected[30:33]]


def test_bulk_changes_keep_role_and_status_when_an_end_date_is_set(site):
    session, _engine, _server = site
    courseid = biggest_course(session)
    rows = q(session, "SELECT userid, roleids, suspended, timestart FROM enrolments WHERE courseid = ? "
                      "ORDER BY suspended DESC LIMIT 3", courseid)
    ids = [r[0] for r in rows]
    with session.db.read() as conn:
        assert [c.kind for c in bulk_changes(conn, courseid, ids, "suspend")] == ["enrol.suspend"] * 3
        assert [c.kind for c in bulk_changes(conn, courseid, ids, "reactivate")] == ["enrol.unsuspend"] * 3
        assert [c.kind for c in bulk_changes(conn, courseid, ids, "unenrol")] == ["enrol.remove"] * 3
        ends = bulk_changes(conn, courseid, ids, "end", timeend=1_900_000_000)
        with pytest.raises(ValueError, match="end"):
            bulk_changes(conn, courseid, ids, "end")
        with pytest.raises(ValueError, match="unknown"):
            bulk_changes(conn, courseid, ids, "promote")
    import json

    for change, (uid, roleids, suspended, start) in zip(ends, rows):
        assert change.kind == "enrol.add" and change.data["userid"] == uid
        assert change.data["roleid"] == json.loads(roleids)[0] and change.data["suspend"] == suspended
        assert change.data["timeend"] == 1_900_000_000 and change.data.get("timestart", 0) == (start or 0)


def test_bulk_plans_name_what_is_already_so(qtbot, site):
    session, engine, _server = site
    actions = GroupsActions(session, engine)
    courseid = biggest_course(session)
    suspended = [r[0] for r in q(session, "SELECT userid FROM enrolments WHERE courseid = ? AND suspended = 1 LIMIT 2",
                                 courseid)]
    active = [r[0] for r in q(session, "SELECT userid FROM enrolments WHERE courseid = ? AND suspended = 0 LIMIT 2",
                              courseid)]
    with qtbot.waitSignal(actions.planned, timeout=10000) as got:
        actions.plan_bulk(courseid, suspended + active, "suspend")
    plan = got.args[0]
    assert plan.count(Outcome.NOOP) == len(suspended) and plan.count(Outcome.APPLY) == len(active)
    assert plan.title.startswith(f"Suspend {len(suspended) + len(active)} enrolments in")
    with qtbot.waitSignal(actions.planned, timeout=10000) as got:
        actions.plan_bulk(courseid, active, "unenrol")
    assert got.args[0].irreversible  # the preview asks to confirm


def test_the_matrix_enrols_many_users_in_many_courses_in_one_run(qtbot, site):
    session, engine, server = site
    actions = GroupsActions(session, engine)
    courses = [r[0] for r in q(session, "SELECT id FROM courses WHERE format <> 'site' ORDER BY id LIMIT 2")]
    users = [r[0] for r in q(session, "SELECT id FROM users WHERE id > 3 AND suspended = 0 AND id NOT IN (SELECT "
                                      "userid FROM enrolments) LIMIT 4")]
    start = int(time.time()) + 86_400
    with qtbot.waitSignal(actions.planned, timeout=15000) as got:
        actions.plan_enrol(courses, UserDrag(ids=tuple(users)), DropOptions(roleid=5, timestart=start, suspend=True))
    plan = got.args[0]
    assert plan.counts["apply"] == len(users) * len(courses) == 8
    assert plan.title == f"Enrol {len(users)} users in 2 courses"
    with qtbot.waitSignal(engine.applied, timeout=30000) as applied:
        engine.apply(plan)
    summary = applied.args[0]
    assert summary.status == "done" and summary.count(Status.DONE) == 8 and len({r.item_id for r in summary.results}) == 8
    with server.store.connection() as conn:
        rows = conn.execute("SELECT ue.status, ue.timestart FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid "
                            f"WHERE ue.userid IN ({','.join(map(str, users))})").fetchall()
    assert len(rows) == 8 and {r[0] for r in rows} == {1} and {r[1] for r in rows} == {start}
    cohort = q(session, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    with qtbot.waitSignal(actions.problem, timeout=10000) as got:  # an empty cohort: nobody to enrol
        actions.plan_enrol(courses, UserDrag(spec=UserFilter(conditions=(Condition("cohort", "in", cohort),))))
    assert "match nobody" in got.args[0]
    problems = []
    actions.problem.connect(problems.append)
    actions.plan_enrol([], UserDrag(ids=(5,)))
    assert problems[-1] == "Choose at least one course."


def test_choices_for_the_dialogs(site):
    session, _engine, _server = site
    roles = read_roles(session.db)
    assert roles[0] == (5, "Student") and all(r[1] not in ("Guest", "Authenticated user") for r in roles)
    short = q(session, "SELECT shortname FROM courses WHERE format <> 'site' LIMIT 1")[0][0]
    found = read_course_choices(session.db, short)
    assert found and found[0][1] == short and isinstance(found[0][4], int)
    assert read_course_choices(session.db, "%_no_such_%") == []
