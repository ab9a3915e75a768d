"""UsersTableModel (lazy, windowed, SQL-sorted), UsersActions (bulk plans, edits, saved filters),
the detail/journal models and the AccessChecker over a real cache filled by the CacheWriter."""

from __future__ import annotations

import csv
import gc
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, Signal

from lms_console.models.access_model import AccessChecker
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.models.users_actions import (
    UsersActions,
    bulk_changes,
    bulk_title,
    create_change,
    create_problems,
    edit_changes,
)
from lms_console.models.users_detail_model import UserDetailLoader, UserJournalModel
from lms_console.models.users_export import export_view
from lms_console.models.users_model import UsersTableModel
from lms_console.services import saved_filters as SF
from lms_console.services import users_query as Q
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.changes import journal as J
from lms_console.services.changes import plan_changes
from lms_console.services.changes.model import Change
from lms_console.services.lms.base import (
    Cohort,
    Course,
    CourseProgress,
    CustomField,
    Enrolment,
    Fetched,
    Group,
    Members,
    Role,
    User,
)
from lms_console.services.users_query import Condition, UserFilter

NOW = 1_767_225_600
N = 1000
LAST = ("Adams", "Brown", "Clark", "Davis", "Evans", "Smith", "Young")


def users(n=N):
    return [User(id=i, username=f"user{i:04d}", firstname=f"First{i % 13}", lastname=LAST[i % len(LAST)],
                 email=f"user{i}@example.org", department="Sales" if i % 3 == 0 else "Staff",
                 suspended=i % 10 == 0, lastaccess=0 if i % 7 == 0 else NOW - i * 3600,
                 customfields=(CustomField("faculty", "Arts" if i % 2 else "Science", "Faculty", "menu"),))
            for i in range(2, n + 2)]


class FakeEngine(QObject):
    """Records what would have gone to the preview.

    Signals:
        changes_applied(object): as ChangeEngine's.
    """

    changes_applied = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.plans: list[tuple[list[Change], str]] = []

    def plan(self, changes, *, title="", enrol_first=False):
        self.plans.append((list(changes), title))
        return 1


@pytest.fixture
def session(qapp, tmp_path):
    runner = TaskRunner(http_workers=4)
    s = ConnectionSession(runner)
    db = CacheDb.open(tmp_path / "cache.sqlite")
    with CacheWriter(db, clock=lambda: NOW) as w:
        run = w.begin_run(["users"])
        w.upsert_users(users(), run)
        w.upsert_cohorts([Cohort(1, "Sales")], run)
        w.replace_cohort_members([Members(1, tuple(range(2, 50)))], run)
        w.upsert_courses([Course(100, "C101", "Chemistry", 1)], run)
        w.upsert_enrolments([Enrolment(100, 5, (Role(5, "student"),))], run)
        w.upsert_course_progress([CourseProgress(5, 100, 40.0, False)], run)
    s.db = db
    yield s
    runner.shutdown(wait=True)
    db.close()


@pytest.fixture
def model(qtbot, session):
    m = UsersTableModel(session, page_size=50)
    with qtbot.waitSignal(m.counted, timeout=10000):
        m.refresh()
    return m


def wait_query(qtbot, model, action):
    with qtbot.waitSignals([model.loaded, model.counted], timeout=10000):
        action()


def test_model_passes_the_model_tester(qtmodeltester, qtbot, model):
    qtbot.waitUntil(lambda: not model.is_counting())
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == N and model.columnCount() == len(Q.DEFAULT_COLUMNS)


def test_first_page_then_pages_on_demand(qtbot, model, session):
    assert model.rowCount() == N
    assert model.data(model.index(0, 0)) != "…"
    deep = model.index(700, 0)
    assert model.data(deep) == "…"  # not read yet: asked for
    qtbot.waitUntil(lambda: model.data(deep) != "…", timeout=10000)
    with session.db.read() as conn:
        expected = Q.page(conn, UserFilter(), ["username"], "lastname", False, 700, 1)
    assert model.data(deep) == expected[0][1]
    assert len(model._pages) <= model.MAX_PAGES


def test_only_a_window_of_pages_stays_in_memory(qtbot, session):
    m = UsersTableModel(session, page_size=10)
    m._cache.max_pages = 5
    with qtbot.waitSignal(m.counted, timeout=10000):
        m.refresh()
    for row in range(0, N, 10):
        m.data(m.index(row, 0))
        qtbot.waitUntil(lambda r=row: m.data(m.index(r, 0)) != "…", timeout=10000)
    assert len(m._pages) <= 5 and 0 in m._pages


def test_sort_by_any_column_is_sql(qtbot, model, session):
    col = model.columns.index("lastname")
    wait_query(qtbot, model, lambda: model.sort(col, Qt.SortOrder.DescendingOrder))
    assert model.data(model.index(0, col)) == "Young"
    assert model.sort_key == "lastname" and model.descending
    wait_query(qtbot, model, lambda: model.sort(model.columns.index("lastaccess")))
    assert model.data(model.index(0, model.columns.index("lastaccess"))) == "Never"


def test_type_ahead_keeps_only_the_last_query(qtbot, model):
    with qtbot.waitSignal(model.counted, timeout=10000,
                          check_params_cb=lambda n: model.spec.text == "user0011"):
        for text in ("u", "us", "user", "user0", "user001", "user0011"):
            model.set_text(text)
    assert model.rowCount() == 1 and model.data(model.index(0, 0)) == "user0011"
    assert model.description == "Users matching “user0011”"


def test_filters_describe_and_count(qtbot, model):
    spec = UserFilter(conditions=(Condition("suspended", "is", True), Condition("cohort", "in", 1)))
    with qtbot.waitSignal(model.described, timeout=10000) as described:
        model.set_filter(spec)
    assert described.args[0] == "Suspended users in cohort Sales"
    qtbot.waitUntil(lambda: not model.is_counting())
    assert model.rowCount() == len([i for i in range(2, 50) if i % 10 == 0])
    assert all(model.data(model.index(r, 0), UsersTableModel.SuspendedRole) for r in range(model.rowCount()))


def test_columns_include_custom_fields(qtbot, model):
    with qtbot.waitSignal(model.options_loaded, timeout=10000):
        model.load_options()
    assert ("cf:faculty", "Faculty") in model.available_columns()
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.set_columns(["username", "cf:faculty"])
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Faculty"
    assert model.data(model.index(0, 1)) in ("Arts", "Science")
    model.set_columns(["password", "nonsense"])  # unknown columns: the defaults
    assert model.columns == Q.DEFAULT_COLUMNS


def test_requeries_when_the_cache_changes(qtbot, model, session):
    first = model.data(model.index(0, 0))
    with CacheWriter(session.db) as w:
        w.upsert_users([User(id=5000, username="aaa-new", lastname="Aaron")], 99)
    with qtbot.waitSignal(model.counted, timeout=10000):
        session.cache_changed.emit(frozenset({"users"}))
    assert model.rowCount() == N + 1 and model.data(model.index(0, 0)) == "aaa-new" != first


def test_resolve_ranges_reads_unloaded_rows_from_sql(qtbot, model, session):
    got = []
    model.resolve_ranges([(0, 1), (600, 602)], got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    with session.db.read() as conn:
        expected = Q.row_ids(conn, UserFilter(), "lastname", False, [(0, 1), (600, 602)])
    assert sorted(got[0]) == sorted(expected)


def test_export_through_the_model(qtbot, model, tmp_path):
    results = []
    model.export(tmp_path / "users.csv", results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=20000)
    assert results[0].rows == N and not results[0].error


def test_closing_the_profile_empties_the_table(qtbot, model, session):
    session.closed.emit()
    assert model.rowCount() == 0


@pytest.fixture
def formula_db(tmp_path):
    db = CacheDb.open(tmp_path / "formula.sqlite")
    with CacheWriter(db, clock=lambda: NOW) as w:
        w.upsert_users([User(id=15, username="f", firstname="=cmd", lastname="Formula", department="+SUM(A1)"),
                        User(id=16, username="g", firstname="Plain", lastname="Zed"),
                        User(id=17, username="h", firstname="Bell", lastname="Zz\x07rang")], 1)
    yield db
    db.close()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_writes_the_view_with_formula_safe_cells(formula_db, tmp_path, suffix):
    path = tmp_path / f"users{suffix}"
    events = []
    with formula_db.read() as conn:
        result = export_view(conn, UserFilter(), ["firstname", "lastname", "department", "lastaccess"],
                               "lastname", False, path, progress=events.append)
    assert result.rows == 3 and not result.error
    assert events and events[-1].done == 3
    if suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["First name", "Last name", "Department", "Last access"]
        assert rows[1][:3] == ["'=cmd", "Formula", "'+SUM(A1)"]
    else:
        from openpyxl import load_workbook

        ws = load_workbook(path).active
        first = [c.value for c in next(ws.iter_rows(min_row=2, max_row=2))]
        assert first[:3] == ["=cmd", "Formula", "+SUM(A1)"]
        assert next(ws.iter_rows(min_row=2, max_row=2))[0].data_type == "s"
        # XLSX cannot hold control characters: they are dropped, not the export
        assert [c.value for c in next(ws.iter_rows(min_row=4, max_row=4))][:2] == ["Bell", "Zzrang"]


def test_export_to_an_unwritable_place_is_a_message(formula_db, tmp_path):
    with formula_db.read() as conn:
        result = export_view(conn, UserFilter(), ["username"], None, False, tmp_path / "missing" / "u.csv")
    assert result.error.startswith("Could not write")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_xlsx_export_onto_a_full_disk_is_a_message_and_nothing_else(formula_db, tmp_path, monkeypatch):
    """openpyxl failing halfway leaves objects that print "Exception ignored" tracebacks when collected."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    full = tmp_path / "users.xlsx"
    full.symlink_to("/dev/full")  # every write: ENOSPC
    with formula_db.read() as conn:
        result = export_view(conn, UserFilter(), ["username", "firstname"], None, False, full)
    gc.collect()
    assert "No space left" in result.error
    assert unraisable == []



# -- actions ---------------------------------------------------------------------------------------

def test_bulk_on_a_selection_plans_exactly_those_changes(qtbot, model):
    engine = FakeEngine()
    actions = UsersActions(model.session, engine, model)
    ids = [model.user_id(r) for r in (0, 1, 2)]
    actions.plan_bulk("suspend", ranges=[(0, 2)])
    assert engine.plans == [([Change("user.suspend", {"id": i}) for i in ids], "Suspend 3 users")]
    engine.plans.clear()
    actions.plan_bulk("add_to_cohort", ranges=[(0, 0), (700, 700)], params={"cohortid": 1},
                      names={"cohort": "Sales"})
    qtbot.waitUntil(lambda: bool(engine.plans), timeout=10000)
    changes, title = engine.plans[0]
    assert title == "Add 2 users to cohort Sales"
    assert {c.data["userid"] for c in changes} == {model.user_id(0), model.user_id(700) or changes[1].data["userid"]}
    assert all(c.kind == "cohort.add_member" and c.data["cohortid"] == 1 for c in changes)


def test_bulk_on_everything_the_filter_matches(qtbot, model, session):
    engine = FakeEngine()
    actions = UsersActions(session, engine, model)
    spec = UserFilter(conditions=(Condition("cohort", "in", 1),))
    with qtbot.waitSignal(model.counted, timeout=10000):
        model.set_filter(spec)
    with qtbot.waitSignals([actions.collecting, actions.collecting], timeout=10000):
        actions.plan_bulk("enrol", params={"courseid": 100, "roleid": 5, "timeend": NOW + 86400},
                          names={"course": "C101", "role": "Student"})
    changes, title = engine.plans[0]
    assert title == "Enrol 48 users in C101 as Student"
    assert sorted(c.data["userid"] for c in changes) == list(range(2, 50))
    assert changes[0] == Change("enrol.add", {"courseid": 100, "roleid": 5, "timeend": NOW + 86400, "userid": 2})


def test_bulk_on_a_filter_never_includes_the_guest_account_and_the_count_agrees(qtbot, model, session):
    """QA: "suspend everyone who never logged in" took in the site's guest account (in the cache, never
    logs in). Moodle's bulk user actions leave it out; the pane's "N users match" is what gets planned."""
    with CacheWriter(session.db, clock=lambda: NOW) as w:
        w.upsert_users([User(id=1, username="guest", firstname="Guest user", lastname=" ", email="root@localhost")],
                       w.begin_run(["users"]))
    engine = FakeEngine()
    actions = UsersActions(session, engine, model)
    with qtbot.waitSignal(model.counted, timeout=10000) as all_users:
        model.refresh()
    assert all_users.args == [N]  # the guest is not listed, as in Moodle's "Browse list of users"
    never = [u.id for u in users() if u.lastaccess == 0]
    with qtbot.waitSignal(model.counted, timeout=10000) as counted:
        model.set_filter(Q.DEFAULT_FILTER_SPECS["never_logged_in"])
    assert counted.args == [len(never)]
    with qtbot.waitSignals([actions.collecting, actions.collecting], timeout=10000):
        actions.plan_bulk("suspend")
    changes, title = engine.plans[0]
    assert sorted(c.data["id"] for c in changes) == never and title == f"Suspend {len(never)} users"
    actions.plan_bulk("add_to_cohort", ranges=[(0, len(never) - 1)], params={"cohortid": 1})
    qtbot.waitUntil(lambda: len(engine.plans) == 2, timeout=10000)
    assert sorted(c.data["userid"] for c in engine.plans[1][0]) == never


def test_bulk_helpers():
    assert bulk_changes("delete", [3]) == [Change("user.delete", {"id": 3})]
    assert bulk_changes("force_password_change", [3]) == [Change("user.force_password_change", {"id": 3})]
    assert bulk_changes("unsuspend", [3, 4])[1] == Change("user.unsuspend", {"id": 4})
    assert bulk_title("delete", 1) == "Delete 1 user"


def test_add_to_group_plans_one_change_per_user_and_the_planner_names_those_not_enrolled(qtbot, model, session):
    """PRODUCT.md: bulk "add to cohort/group". Moodle's core_group_add_group_members refuses users not
    enrolled in the course: one change per user, so the preview names the refused ones."""
    assert bulk_changes("add_to_group", [5, 6], {"groupid": 7}) == [
        Change("group.add_member", {"groupid": 7, "userid": 5}), Change("group.add_member", {"groupid": 7, "userid": 6})]
    assert bulk_title("add_to_group", 2, {"groupid": 7}, {"group": "Team A", "course": "C101"}) == \
        "Add 2 users to group Team A in C101"
    with CacheWriter(session.db, clock=lambda: NOW) as w:
        w.replace_course_groups(100, [Group(7, 100, "Team A"), Group(8, 100, "Team B")], [], w.begin_run(["groups"]))
    engine = FakeEngine()
    actions = UsersActions(session, engine, model)
    with qtbot.waitSignal(actions.groups_loaded, timeout=10000) as loaded:
        actions.load_groups(100)
    assert loaded.args == [100, [(7, "Team A"), (8, "Team B")]]
    with qtbot.waitSignal(model.counted, timeout=10000):
        model.set_filter(UserFilter("", (Condition("users", "in", (5, 6), key="two users"),)))
    with qtbot.waitSignals([actions.collecting, actions.collecting], timeout=10000):
        actions.plan_bulk("add_to_group", params={"groupid": 7}, names={"group": "Team A", "course": "C101"})
    changes, title = engine.plans[0]
    assert title == "Add 2 users to group Team A in C101"
    plan = plan_changes(session.db, changes, title=title)
    ok, refused = plan.items  # user 5 is enrolled in C101, user 6 is not
    assert not ok.problems and ok.title == "Add user0005 to group Team A"
    assert refused.title == "Add user0006 to group Team A"
    assert "not enrolled" in refused.problems[0].message


def test_edit_changes_only_what_changed():
    user = User(id=7, username="anna", firstname="Anna", email="a@x.org", suspended=False,
                customfields=(CustomField("faculty", "Arts"),))
    assert edit_changes(user, {"username": "anna", "email": "a@x.org"}, {"faculty": "Arts"}, False) == []
    assert edit_changes(user, {"email": "b@x.org", "firstname": "Anna"}, {"faculty": "Law"}, True) == [
        Change("user.update", {"id": 7, "fields": {"email": "b@x.org", "customfields": {"faculty": "Law"}}}),
        Change("user.suspend", {"id": 7})]


def test_create_problems_and_change():
    assert set(create_problems({})) == {"username", "firstname", "lastname", "email", "password"}
    ok = {"username": "Anna", "firstname": "Anna", "lastname": "Smith", "email": "anna@example.org",
          "password": "Secret-123", "country": "DE"}
    assert create_problems(ok) == {}
    assert create_problems({**ok, "password": "short"})["password"].startswith("Needs 8+ characters")
    assert create_problems({**ok, "email": "nope"})["email"] == "Not a valid email address."
    assert create_problems({**ok, "username": "a b"})["username"].startswith("Use lower-case")
    assert create_problems(ok, taken=((10, "anna"), (11, "ben"))) == {
        "username": "Another account already has this username (id 10).",
        "email": "Already used by the account “ben” (id 11)."}
    assert create_problems(ok, taken=((1, "guest"), None)) == {  # not listed in the pane: say whose it is
        "username": "This is the username of the site's guest account."}
    assert create_problems({**ok, "country": "XX"})["country"] == "Not a country code (ISO 3166, e.g. DE, FR, US)."
    assert create_problems({**ok, "country": "Deutschland"})["country"].startswith("Use a two-letter country code")
    assert "password" not in create_problems({**ok, "password": "", "createpassword": True})
    change = create_change({**ok, "idnumber": " ", "customfields": {"faculty": "Arts", "empty": ""}})
    assert change == Change("user.create", {"username": "anna", "firstname": "Anna", "lastname": "Smith",
                                            "email": "anna@example.org", "country": "DE", "password": "Secret-123",
                                            "customfields": {"faculty": "Arts"}})


def test_saved_filters_through_the_writer_thread(qtbot, model, session):
    actions = UsersActions(session, FakeEngine(), model)
    spec = UserFilter("smith", (Condition("suspended", "is", True),))
    with qtbot.waitSignal(actions.filter_saved, timeout=10000) as saved:
        actions.save_filter("Suspended Smiths", spec)
    fid, name = saved.args
    assert name == "Suspended Smiths"
    with qtbot.waitSignal(actions.saved_filter_loaded, timeout=10000) as loaded:
        actions.load_saved_filter(fid)
    assert loaded.args[0].spec == spec
    with qtbot.waitSignal(actions.problem, timeout=2000) as problem:
        actions.save_filter("   ", spec)
    assert "name" in problem.args[0]
    # A rename is checked before any job starts: a blank or over-long name is the admin's to fix.
    for bad in ("   ", "x" * 211):
        with qtbot.waitSignal(actions.problem, timeout=2000) as problem:
            assert actions.rename_filter(fid, bad) is None
        assert "name" in problem.args[0].lower()
    with qtbot.waitSignal(actions.filters_changed, timeout=10000):
        actions.rename_filter(fid, "  Smiths, suspended ")
    with session.db.read() as conn:
        assert [f.name for f in SF.saved_filters(conn)] == ["Smiths, suspended"]
    with qtbot.waitSignal(actions.filters_changed, timeout=10000):
        actions.delete_filter(fid)
    with session.db.read() as conn:
        assert SF.saved_filters(conn) == []


def test_taken_check_is_debounced_and_reads_the_cache(qtbot, model, session):
    actions = UsersActions(session, FakeEngine(), model)
    with qtbot.waitSignal(actions.taken_checked, timeout=10000) as checked:
        actions.check_taken("user0002", "x")
        actions.check_taken("user0003", "user9@example.org")
    assert checked.args[0] == ("user0003", "user9@example.org", ((3, "user0003"), (9, "user0009")))


# -- one user --------------------------------------------------------------------------------------

def test_detail_loader_and_journal_model(qtbot, qtmodeltester, session):
    loader = UserDetailLoader(session)
    with qtbot.waitSignal(loader.loaded, timeout=10000) as loaded:
        loader.load(5)
    assert loaded.args[0].user.username == "user0005" and loaded.args[0].enrolments[0].progress == 40.0
    plan = plan_changes(session.db, [Change("user.suspend", {"id": 5}), Change("user.suspend", {"id": 6})])
    with CacheWriter(session.db) as w:
        J.create_run(w, plan, profile="p", lms_user="admin")
    journal = UserJournalModel(session)
    with qtbot.waitSignal(journal.loaded, timeout=10000) as got:
        journal.set_user(5)
    assert got.args[0] == 1 and "Suspend" in journal.data(journal.index(0, 1))
    qtmodeltester.check(journal, force_py=True)


class FakeClient:
    def __init__(self, user):
        self.user = user

    def users_by_ids(self, ids, cancel=None):
        return Fetched((self.user,))

    def user_courses(self, userid, cancel=None):
        return Fetched((CourseProgress(userid, 100, 90.0, False),))


def test_access_checker_refreshes_checks_and_stores(qtbot, session):
    session._client = FakeClient(User(id=12, username="user0012", suspended=False, lastaccess=NOW))
    engine = FakeEngine()
    checker = AccessChecker(session, engine)
    with qtbot.waitSignal(checker.checked, timeout=10000) as checked, \
            qtbot.waitSignal(session.cache_changed, timeout=10000):
        checker.check(12, 100)  # not enrolled in the cache; the site says the enrolment is active
    report = checked.args[0]
    assert report.refreshed and report.can_sign_in and report.can_enter_course
    with session.db.read() as conn:
        assert conn.exec_driver_sql("SELECT suspended FROM enrolments WHERE userid = 12").scalar() == 0
    session._client = None
    with qtbot.waitSignal(checker.checked, timeout=10000) as checked:
        checker.check(20)  # suspended in the cache; offline
    report = checked.args[0]
    assert not report.refreshed and "local copy" in report.refresh_problem and not report.can_sign_in
    checker.fix(report.reasons[0], report)
    assert engine.plans == [([Change("user.unsuspend", {"id": 20})], "Unsuspend the account: First7 Young (user0020)")]
    with qtbot.waitSignal(checker.failed, timeout=10000) as failed:
        checker.check(99999)
    assert "not in the local copy" in failed.args[0]


def test_access_check_against_the_sandbox_refreshes_the_user(qtbot, tmp_path, go_online):
    """The real client: the site's answer (here: unsuspended on the site after the sync) wins."""
    from lms_console.models.changes_model import ChangeEngine
    from lms_console.sandbox.server import SandboxServer

    server = SandboxServer(users=60, courses=3, seed=31).start()
    runner = TaskRunner(http_workers=4)
    session = ConnectionSession(runner)
    try:
        engine = ChangeEngine(session)
        go_online(session, server, ("site", "users", "courses", "enrolments"))
        with session.db.read() as conn:
            userid, courseid = conn.exec_driver_sql(
                "SELECT e.userid, e.courseid FROM enrolments e JOIN users u ON u.id = e.userid "
                "WHERE u.suspended = 0 AND e.suspended = 0 AND u.id > 2 LIMIT 1").one()
        with server.store.connection() as conn:  # changed on the site since the sync
            conn.execute("UPDATE user SET suspended = 1 WHERE id = ?", (userid,))
        checker = AccessChecker(session, engine)
        with qtbot.waitSignal(checker.checked, timeout=20000) as checked, \
                qtbot.waitSignal(checker.refreshed, timeout=20000):
            checker.check(userid, courseid)
        report = checked.args[0]
        assert report.refreshed and not report.can_sign_in
        assert report.reasons[0].code == "account.suspended"
        with session.db.read() as conn:
            assert conn.exec_driver_sql("SELECT suspended FROM users WHERE id = ?", (userid,)).scalar() == 1
    finally:
        session.close()
        runner.shutdown(wait=True)
        server.stop()
