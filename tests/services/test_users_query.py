"""services.users_query over a real cache filled by the CacheWriter: filters, sentences, paging,
sorting, ids, saved filters, exports, and hostile search text (hypothesis)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms_console.services import saved_filters as SF
from lms_console.services import users_query as Q
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import (
    Cohort,
    Course,
    CourseProgress,
    CustomField,
    Enrolment,
    Members,
    Role,
    User,
)
from lms_console.services.users_filter_text import describe, describe_condition, names_for
from lms_console.services.users_query import Condition, UserFilter

NOW = 1_767_225_600
DAY = 86_400
STUDENT = Role(5, "student", "Student")


def _user(uid, first, last, **kw):
    base = dict(username=f"{first[0]}{last}{uid}".lower().replace(" ", ""), firstname=first, lastname=last,
                email=f"{first}.{last}.{uid}@uni.example.org".lower().replace(" ", ""), lastaccess=NOW - 5 * DAY,
                firstaccess=NOW - 400 * DAY)
    base.update(kw)
    return User(id=uid, **base)


def seed(db: CacheDb) -> None:
    users = [
        _user(2, "Admin", "User", auth="manual"),
        _user(10, "Anna", "Smith", department="Sales",
              customfields=(CustomField("faculty", "Arts", "Faculty", "menu", "Arts"),)),
        _user(11, "Ben", "Smith", suspended=True, lastaccess=0, firstaccess=0,
              customfields=(CustomField("faculty", "Science", "Faculty", "menu", "Science"),)),
        _user(12, "Chloé", "Müller", auth="ldap", lastaccess=NOW - 200 * DAY),
        _user(13, "Dmitri", "O'Brien", auth="nologin", suspended=True, lastaccess=NOW - 100 * DAY),
        _user(14, "Emma", "García", confirmed=False, lastaccess=0, firstaccess=0, idnumber="S0042"),
        _user(15, "=cmd", "Formula", email="x@example.org", department="+SUM(A1)"),
    ]
    with CacheWriter(db, clock=lambda: NOW) as w:
        run = w.begin_run(["users"])
        w.upsert_users(users, run)
        w.upsert_cohorts([Cohort(1, "Sales"), Cohort(2, "Staff")], run)
        w.replace_cohort_members([Members(1, (10, 11)), Members(2, (2, 12))], run)
        w.upsert_courses([Course(100, "C101", "Chemistry 101", 1), Course(101, "B202", "Biology 202", 1)], run)
        w.upsert_enrolments([Enrolment(100, 10, (STUDENT,)), Enrolment(100, 11, (STUDENT,)),
                             Enrolment(101, 12, (STUDENT,))], run)
        w.upsert_course_progress([CourseProgress(10, 100, 100.0, True), CourseProgress(11, 100, 20.0, False)], run)


@pytest.fixture
def db(tmp_path):
    d = CacheDb.open(tmp_path / "cache.sqlite")
    seed(d)
    yield d
    d.close()


def ids_of(db, spec, **kw):
    with db.read() as conn:
        return sorted(i for chunk in Q.ids(conn, spec, now=NOW, **kw) for i in chunk)


def cond(field, op="is", value=None, key=""):
    return UserFilter(conditions=(Condition(field, op, value, key),))


FILTER_CASES = [
    (UserFilter(), [2, 10, 11, 12, 13, 14, 15]),
    (UserFilter("smith"), [10, 11]),
    (UserFilter("anna smi"), [10]),
    (UserFilter("mull"), [12]),  # accents ignored
    (UserFilter("s0042"), [14]),
    (UserFilter("s"), [10, 11, 14]),  # one letter: a field starts with it (Smith, Smith, S0042)
    (UserFilter("d o"), [13]),  # two one-letter words: each starts a field (Dmitri, O'Brien)
    (cond("auth", "is", "ldap"), [12]),
    (cond("auth", "is_not", "manual"), [12, 13]),
    (cond("suspended", "is", True), [11, 13]),
    (cond("suspended", "is", False), [2, 10, 12, 14, 15]),
    (cond("confirmed", "is", False), [14]),
    (cond("never_logged_in", "is", True), [11, 14]),
    (cond("last_access", "not_within", 90), [11, 12, 13, 14]),
    (cond("last_access", "within", 30), [2, 10, 15]),
    (cond("last_access", "before", NOW - 150 * DAY), [12]),
    (cond("last_access", "after", NOW - 150 * DAY), [2, 10, 13, 15]),
    (cond("cohort", "in", 1), [10, 11]),
    (cond("cohort", "not_in", 1), [2, 12, 13, 14, 15]),
    (cond("cohort", "none"), [13, 14, 15]),
    (cond("cohort", "any"), [2, 10, 11, 12]),
    (cond("course", "in", 100), [10, 11]),
    (cond("course", "not_in", 100), [2, 12, 13, 14, 15]),
    (cond("course", "none"), [2, 13, 14, 15]),
    (cond("completed", "is", 100), [10]),
    (cond("completed", "is_not", 100), [2, 11, 12, 13, 14, 15]),
    (cond("custom", "is", "Arts", "faculty"), [10]),
    (cond("custom", "is_not", "Arts", "faculty"), [2, 11, 12, 13, 14, 15]),
    (cond("custom", "is", "ARTS", "faculty"), [10]),  # regardless of case, as the standard fields
    (cond("custom", "is_not", "arts", "faculty"), [2, 11, 12, 13, 14, 15]),
    (cond("custom", "contains", "ien", "faculty"), [11]),
    (cond("custom", "empty", None, "faculty"), [2, 12, 13, 14, 15]),
    (cond("custom", "not_empty", None, "faculty"), [10, 11]),
]


@pytest.mark.parametrize("spec, expected", FILTER_CASES)
def test_each_filter_selects_exactly_its_users(db, spec, expected):
    assert ids_of(db, spec) == expected
    with db.read() as conn:
        assert Q.count(conn, spec, now=NOW) == len(expected)


GUEST = User(id=1, username="guest", firstname="Guest user", lastname=" ", email="root@localhost", auth="manual",
             description="This user is a special user that allows read-only access to some courses.")


@pytest.fixture
def guest_db(db):
    """The seeded cache plus the site's guest account as Moodle makes it (never logged in, in no cohort or
    course, no profile field filled in): what a sync brings along."""
    with CacheWriter(db, clock=lambda: NOW) as w:
        w.upsert_users([GUEST], w.begin_run(["users"]))
    return db


@pytest.mark.parametrize("spec, expected", FILTER_CASES + [
    (UserFilter("guest"), []),  # its own name: the count's index-only path too
    (UserFilter("g"), [14]),  # one letter (García)
    (UserFilter("root"), []),
    (cond("profile", "is_not", "Sales", "department"), [2, 11, 12, 13, 14, 15]),
    (cond("profile", "empty", None, "department"), [2, 11, 12, 13, 14]),
    (cond("course", "any"), [10, 11, 12]),
    (cond("users", "in", (1, 10)), [10]),
])
def test_no_filter_ever_matches_the_guest_account(guest_db, spec, expected):
    """QA: "is not", "not in" and "none" filters matched the guest account, so "suspend everyone who never
    logged in" planned a change on it. Moodle's user list and bulk actions leave it out (id <> siteguest):
    every filter does, and the count says what a bulk action would change."""
    assert ids_of(guest_db, spec) == expected
    with guest_db.read() as conn:
        assert Q.count(conn, spec, now=NOW) == len(expected)
        rows = Q.page(conn, spec, ["username"], "lastname", False, 0, 50, now=NOW)
        assert sorted(r[0] for r in rows) == expected
        assert sorted(Q.row_ids(conn, spec, "lastname", False, [(0, 49)], now=NOW)) == expected


def test_the_guest_account_stays_out_of_every_default_filter_and_where_clause(guest_db):
    with guest_db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM users WHERE username = 'guest'").scalar() == 1
        for key, spec in Q.DEFAULT_FILTER_SPECS.items():
            assert 1 not in [i for chunk in Q.ids(conn, spec, now=NOW) for i in chunk], key
        where, params = Q.where_sql(UserFilter(), NOW)  # what rule-based cohorts and the enrolments pane use
        assert conn.exec_driver_sql(f"SELECT u.id FROM users u {where} ORDER BY u.id", params).all() == \
            [(i,) for i in (2, 10, 11, 12, 13, 14, 15)]
        # Still known to the cache: a new account cannot take its username.
        assert Q.taken(conn, "guest")[0] == (1, "guest")


def test_conditions_combine_with_and(db):
    spec = UserFilter("smith", (Condition("suspended", "is", True), Condition("cohort", "in", 1),
                                Condition("never_logged_in", "is", True)))
    assert ids_of(db, spec) == [11]


def test_describe_reads_as_a_sentence(db):
    spec = UserFilter(conditions=(Condition("suspended", "is", True), Condition("cohort", "in", 1),
                                  Condition("never_logged_in", "is", True)))
    with db.read() as conn:
        names = names_for(conn, spec)
    assert describe(spec, names) == "Suspended users in cohort Sales who never logged in"
    assert describe(UserFilter()) == "All users"
    spec = UserFilter("anna", (Condition("course", "in", 100), Condition("completed", "is_not", 100),
                               Condition("custom", "is", "Arts", "faculty")))
    with db.read() as conn:
        names = names_for(conn, spec)
    assert describe(spec, names) == ("Users matching “anna” enrolled in C101 who have not completed C101 "
                                       "and whose Faculty is “Arts”")
    assert describe(cond("last_access", "not_within", 90)) == "Users who have not logged in for 90 days"
    assert describe_condition(Condition("cohort", "in", 1), names={("cohort", 1): "Sales"}) == "In cohort Sales"


def test_page_returns_visible_columns_in_sql_order(db):
    with db.read() as conn:
        rows = Q.page(conn, UserFilter(), ["lastname", "email"], "lastname", False, 0, 3, now=NOW)
        assert [r[1] for r in rows] == ["Formula", "García", "Müller"]
        assert len(rows[0]) == 3 and rows[0][0] == 15
        desc = Q.page(conn, UserFilter(), ["lastname"], "lastname", True, 0, 2, now=NOW)
        assert [r[1] for r in desc] == ["User", "Smith"]
        paged = [r[0] for off in range(0, 7, 2) for r in Q.page(conn, UserFilter(), ["username"], "lastaccess",
                                                                  False, off, 2, now=NOW)]
        assert sorted(paged) == [2, 10, 11, 12, 13, 14, 15] and len(paged) == 7
        custom = Q.page(conn, UserFilter(), ["cf:faculty"], "cf:faculty", True, 0, 2, now=NOW)
        assert [r[1] for r in custom] == ["Science", "Arts"]
        status = Q.page(conn, UserFilter(), ["status"], "status", True, 0, 1, now=NOW)
        assert Q.display("status", status[0][1]) == "Suspended"


def test_row_ids_follow_the_sort_order(db):
    with db.read() as conn:
        rows = Q.page(conn, UserFilter(), ["lastname"], "lastname", False, 0, 10, now=NOW)
        assert Q.row_ids(conn, UserFilter(), "lastname", False, [(0, 1), (4, 4)]) == \
            [rows[0][0], rows[1][0], rows[4][0]]


def test_ids_stream_in_chunks(db):
    with db.read() as conn:
        chunks = list(Q.ids(conn, UserFilter(), chunk=3))
    assert [len(c) for c in chunks] == [3, 3, 1]


def test_unknown_columns_and_bad_conditions_say_why():
    with pytest.raises(Q.FilterError, match="unknown column"):
        Q.column("password")
    with pytest.raises(Q.FilterError, match="whole number"):
        Condition("cohort", "in", "Sales")
    with pytest.raises(Q.FilterError, match="take"):
        Condition("suspended", "before", True)
    with pytest.raises(Q.FilterError, match="unknown filter field"):
        Condition("password", "is", "x")


def test_spec_round_trips_through_json():
    spec = UserFilter("anna", (Condition("cohort", "in", 3), Condition("custom", "is", "Arts", "faculty"),
                               Condition("suspended", "is", True)))
    assert UserFilter.loads(spec.dumps()) == spec
    with pytest.raises(Q.FilterError):
        UserFilter.loads("{not json")
    with pytest.raises(Q.FilterError):
        UserFilter.loads('{"conditions": [{"field": "cohort", "op": "in", "value": "x"}]}')


def test_adding_replaces_single_valued_conditions():
    spec = UserFilter().adding(Condition("suspended", "is", True)).adding(Condition("suspended", "is", False))
    assert spec.conditions == (Condition("suspended", "is", False),)
    spec = spec.adding(Condition("cohort", "in", 1)).adding(Condition("cohort", "in", 2))
    assert len(spec.conditions) == 3
    assert spec.without(0).conditions[0] == Condition("cohort", "in", 1)


def test_saved_filters_crud(db):
    spec = UserFilter(conditions=(Condition("suspended", "is", True),))
    with CacheWriter(db) as w:
        fid = SF.save_filter(w, "  Suspended   staff ", spec)
        assert SF.save_filter(w, "Suspended staff", UserFilter("x")) == fid  # same name: replaced
        other = SF.save_filter(w, "Other", UserFilter())
        with pytest.raises(Q.FilterError, match="Another saved filter"):
            SF.rename_saved_filter(w, other, "Suspended staff")
        with pytest.raises(Q.FilterError, match="Another saved filter"):
            SF.rename_saved_filter(w, other, "SUSPENDED STAFF")  # names differing only in case look the same
        for builtin in ("Suspended", "never logged IN"):  # the tree's default filters keep their names
            with pytest.raises(Q.FilterError, match="built-in filter"):
                SF.rename_saved_filter(w, other, builtin)
            with pytest.raises(Q.FilterError, match="built-in filter"):
                SF.save_filter(w, builtin, spec)
        assert SF.save_filter(w, "suspended Staff", UserFilter("y")) == fid  # replaced, whatever the case
        assert SF.save_filter(w, "Suspended staff", UserFilter("x")) == fid
        SF.rename_saved_filter(w, other, "Renamed")
        with pytest.raises(Q.FilterError, match="name"):
            SF.save_filter(w, "   ", spec)
    with db.read() as conn:
        saved = SF.saved_filters(conn)
        assert [(s.name, s.spec) for s in saved] == [("Suspended staff", UserFilter("x")), ("Renamed", UserFilter())]
        assert SF.get_saved_filter(conn, fid).name == "Suspended staff"
    with CacheWriter(db) as w:
        assert SF.delete_saved_filter(w, fid)
        with w.batch() as raw:
            raw.execute("UPDATE saved_filters SET spec = '{broken' WHERE id = ?", (other,))
    with db.read() as conn:
        (broken,) = SF.saved_filters(conn)
        assert broken.problem and broken.spec == UserFilter()


def test_filter_options_and_taken(db):
    with db.read() as conn:
        opts = Q.filter_options(conn)
        assert opts.auths == ("ldap", "manual", "nologin")
        assert opts.cohorts == ((1, "Sales"), (2, "Staff"))
        assert [c[1] for c in opts.courses] == ["B202", "C101"]
        assert opts.custom_fields == (("faculty", "Faculty"),)
        assert opts.column_titles == {"cf:faculty": "Faculty"}
        assert Q.taken(conn, "ASMITH10", "nobody@example.org") == ((10, "asmith10"), None)
        assert Q.taken(conn, "asmith10", "Anna.Smith.10@uni.example.org", exclude=10) == (None, None)
        holder = Q.taken(conn, "", "x@EXAMPLE.org")[1]
        assert holder is not None and holder[0] == 15 and holder[1]


def test_cancel_interrupts_a_running_query(db):
    from lms_console.services.lms.errors import Cancelled
    from lms_console.services.progress import CancelToken

    token = CancelToken()
    with db.read() as conn:
        with pytest.raises(Cancelled):
            with Q.interruptible(conn, token):
                conn.connection.driver_connection.create_function("slow", 0, lambda: token.cancel() or 1)
                conn.exec_driver_sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                     "WHERE i < 100000000) SELECT count(*) FROM n WHERE slow()").scalar()
        assert conn.exec_driver_sql("SELECT count(*) FROM users").scalar() == 7  # the connection still works


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40))
def test_hostile_search_text_never_breaks_the_query(db, text):
    spec = UserFilter(text)
    with db.read() as conn:
        n = Q.count(conn, spec, now=NOW)
        rows = Q.page(conn, spec, ["username", "email"], "lastname", False, 0, 50, now=NOW)
        assert len(rows) == n <= 7
    describe(spec)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(min_size=1, max_size=20), name=st.text(max_size=30))
def test_hostile_custom_values_and_names_are_data(db, value, name):
    for op in ("is", "is_not", "contains"):
        spec = cond("custom", op, value, "faculty")
        with db.read() as conn:
            Q.count(conn, spec, now=NOW)
    with db.read() as conn:
        Q.page(conn, UserFilter(), [f"cf:{name or 'x'}"], f"cf:{name or 'x'}", False, 0, 5)


def test_time_in_sentences_is_a_date():
    stamp = int(time.mktime((2024, 3, 1, 12, 0, 0, 0, 0, -1)))
    assert describe(cond("last_access", "before", stamp)) == "Users who last logged in before 1 Mar 2024"


def test_a_given_set_of_users(tmp_path):
    import json as _json

    from lms_console.services.users_query import Condition, UserFilter, where_sql

    spec = UserFilter("", (Condition("users", "in", (5, 3, 9), key="Completion: CS101"),))
    sql, params = where_sql(spec)
    assert "json_each" in sql and _json.loads(params[-1]) == [5, 3, 9]
    assert "among the 3 of Completion: CS101" in describe(spec)
    assert UserFilter.loads(spec.dumps()) == spec  # survives saving
