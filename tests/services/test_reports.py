"""Reports over a small hand-made cache: every number checked against values worked out by hand.

The cache (see ``small_cache``): categories Faculty (1) > Dept (2); courses C1 (cat 1), C2 (cat 2),
C3 (cat 1, completion tracking off), C4 (cat 1, tracks completion but no activity does);
users 1-8 (7 suspended, 8 a teacher in C1) and the guest account (9); cohorts Red {1, 3} and Blue {2}; custom field "team":
1 A, 2 B, 3 A. Learners per course: C1 {1, 2, 3, 4}, C2 {1, 2, 6} (5's enrolment is suspended).
"""

from __future__ import annotations

import calendar
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from lms_console.services import reports_export as X
from lms_console.services import reports_snapshots as SN
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.errors import Cancelled
from lms_console.services.progress import CancelToken
from lms_console.services.reports import (
    DrillRequest,
    ReportParams,
    RequiredCourse,
    different_reports,
    drill_users,
    load_options,
    run_report,
)

DAY = 86400
REF = 1_800_000_000  # the cache's as-of time: "now" for ages and deadlines


def _cf(team: str | None) -> str:
    return json.dumps([["team", team, team, "Team", "text"]]) if team else "[]"


def fill(raw: sqlite3.Connection) -> None:
    x = raw.executemany
    x("INSERT INTO categories (id, name, parent, path, depth) VALUES (?, ?, ?, ?, ?)",
      [(1, "Faculty", 0, "/1", 1), (2, "Dept", 1, "/1/2", 2)])
    x("INSERT INTO courses (id, shortname, fullname, categoryid, enablecompletion) VALUES (?, ?, ?, ?, ?)",
      [(10, "C1", "Course one", 1, 1), (11, "C2", "Course two", 2, 1), (12, "C3", "Untracked", 1, 0),
       (13, "C4", "No criteria", 1, 1)])
    x("INSERT INTO sections (id, courseid, section) VALUES (?, ?, ?)", [(1, 10, 0), (2, 13, 0)])
    x("INSERT INTO modules (cmid, courseid, sectionid, name, modname, completion) VALUES (?, ?, ?, ?, ?, ?)",
      [(101, 10, 1, "Quiz", "quiz", 2), (102, 10, 1, "Essay", "assign", 2), (131, 13, 2, "Page", "page", 0)])
    x("INSERT INTO roles (id, shortname, name) VALUES (?, ?, ?)", [(5, "student", "Student"), (3, "editingteacher", "T")])
    users = [(1, REF - DAY, 0, "A"), (2, REF - 10 * DAY, 0, "B"), (3, 0, 0, "A"), (4, REF - 100 * DAY, 0, None),
             (5, REF - 400 * DAY, 0, None), (6, REF - 40 * DAY, 0, None), (7, REF - DAY, 1, None), (8, REF - 2 * DAY, 0, None)]
    x("INSERT INTO users (id, username, firstname, lastname, email, lastaccess, suspended, department, customfields, "
      "synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [(u, f"user{u}", f"First{u}", f"Last{u}", f"user{u}@example.org", la, s, "Sales" if u % 2 else "Ops", _cf(t), REF)
       for u, la, s, t in users])
    # The site's guest account (never a learner, never counted: engagement and compliance leave it out).
    x("INSERT INTO users (id, username, firstname, lastname, email, lastaccess, suspended, synced_at) "
      "VALUES (9, 'guest', 'Guest user', ' ', 'root@localhost', 0, 0, ?)", [(REF,)])
    x("INSERT INTO cohorts (id, name) VALUES (?, ?)", [(1, "Red"), (2, "Blue")])
    x("INSERT INTO cohort_members (cohortid, userid) VALUES (?, ?)", [(1, 1), (1, 3), (2, 2)])
    enrol = [(10, 1, "[5]", 0, REF - 40 * DAY), (10, 2, "[5]", 0, None), (10, 3, "[5]", 0, None), (10, 4, "[5]", 0, None),
             (10, 7, "[5]", 0, None), (10, 8, "[3]", 0, None), (11, 1, "[5]", 0, None), (11, 2, "[5]", 0, None),
             (11, 5, "[5]", 1, None), (11, 6, "[5]", 0, None), (12, 1, "[5]", 0, None), (13, 3, "[5]", 0, None)]
    x("INSERT INTO enrolments (courseid, userid, roleids, suspended, timestart) VALUES (?, ?, ?, ?, ?)", enrol)
    # userid, courseid, progress, completed, changed_run
    progress = [(1, 10, 100.0, 1, 1), (2, 10, 100.0, 1, 2), (3, 10, 50.0, 0, 1), (4, 10, 0.0, 0, 1), (7, 10, 100.0, 1, 1),
                (8, 10, 0.0, 0, 1), (1, 11, 30.0, 0, 1), (2, 11, 100.0, 1, 1), (5, 11, 100.0, 1, 1), (6, 11, 100.0, 1, 1),
                (1, 12, None, 0, 1), (3, 13, 0.0, 0, 1)]
    x("INSERT INTO course_progress (userid, courseid, progress, completed, changed_run) VALUES (?, ?, ?, ?, ?)", progress)
    x("INSERT INTO activity_completion (userid, cmid, courseid, state, timecompleted) VALUES (?, ?, ?, ?, ?)",
      [(1, 101, 10, 1, 1000), (1, 102, 10, 1, 2000), (2, 201, 11, 1, 5000), (3, 101, 10, 1, 900)])
    x("INSERT INTO sync_runs (id, started_at, finished_at, status, entities) VALUES (?, ?, ?, 'ok', ?)",
      [(1, 100, 200, '["completion"]'), (2, 3000, 3100, '["completion"]'), (3, REF - 100, REF, '["users"]')])
    x("INSERT INTO sync_state (entity, status, last_success_at) VALUES (?, 'ok', ?)",
      [(e, REF) for e in ("courses", "enrolments", "completion", "activity_completion", "users", "cohorts", "grades")])
    x("INSERT INTO user_access_history (userid, courseid, lastaccess, observed_at) VALUES (?, ?, ?, ?)",
      [(1, 0, REF - 8 * DAY, REF - 7 * DAY), (2, 10, REF - 20 * DAY, REF - 19 * DAY)])
    x("INSERT INTO grade_items (id, courseid, itemname, itemtype, itemmodule, grademin, grademax) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [(1, 10, "Quiz", "mod", "quiz", 0, 10), (2, 10, "", "course", None, 0, 100)])
    x("INSERT INTO grades (itemid, userid, courseid, graderaw, percentage) VALUES (?, ?, ?, ?, ?)",
      [(1, 1, 10, 5.0, None), (1, 2, 10, 10.0, None), (1, 3, 10, 2.5, None), (1, 8, 10, 9.0, None), (2, 1, 10, 80.0, 80.0)])


@pytest.fixture
def small_cache(tmp_path):
    db = CacheDb.open(tmp_path / "small.sqlite")
    writer = CacheWriter(db)
    with writer.batch() as raw:
        fill(raw)
    yield db, writer
    writer.close()
    db.close()


@pytest.fixture
def db(small_cache):
    return small_cache[0]


def rows(result, key_col: str = "_key") -> dict:
    return {r[key_col]: r for r in result.main.to_dict("records")}


# -- completion rates -----------------------------------------------------------------------------

def test_completion_rates_per_course(db):
    r = run_report("completion", db, ReportParams())
    assert not r.is_empty and r.as_of == REF
    got = rows(r)
    assert set(got) == {"course:10", "course:11", "course:13"}  # C3 does not track completion
    c1, c2, c4 = got["course:10"], got["course:11"], got["course:13"]
    # C1: learners 1-4 (7 is suspended, 8 a teacher); 1 and 2 completed, 3 at 50 %, 4 at 0 %
    assert (c1["Learners"], c1["Completed"], c1["In progress"], c1["Not started"]) == (4, 2, 1, 1)
    assert c1["Completion %"] == 50.0 and c1["Average progress %"] == 62.5
    # C2: learners 1, 2, 6 (5's enrolment is suspended)
    assert (c2["Learners"], c2["Completed"], c2["In progress"], c2["Not started"]) == (3, 2, 1, 0)
    assert c2["Completion %"] == 66.7 and c2["Average progress %"] == 76.7
    assert (c4["Learners"], c4["Completed"]) == (1, 0)
    notes = " ".join(r.notes)
    assert "C3" in notes and "tracking off" in notes
    assert "No completion criteria" in notes and "C4" in notes
    assert r.drill["Completed"] == "completed"


def test_completion_rates_include_suspended(db):
    got = rows(run_report("completion", db, ReportParams(include_suspended=True)))
    assert got["course:10"]["Learners"] == 5 and got["course:10"]["Completed"] == 3
    assert got["course:11"]["Learners"] == 4


@pytest.mark.parametrize("group_by, params, expected", [
    ("cohort", {}, {"cohort:1": (4, 1), "cohort:2": (2, 2)}),
    ("field", {"field": "profile_field_team"}, {"field:A": (4, 1), "field:B": (2, 2), "field:": (2, 1)}),
    ("category", {}, {"category:1": (5, 2), "category:2": (3, 2)}),
    ("field", {"field": "department"}, {"field:Sales": (4, 1), "field:Ops": (4, 3)}),  # odd users: Sales
])
def test_completion_rates_groups(db, group_by, params, expected):
    r = run_report("completion", db, ReportParams(group_by=group_by, **params))
    got = {k: (v["Learners"], v["Completed"]) for k, v in rows(r).items()}
    assert got == expected


def test_group_labels_and_not_set(db):
    r = run_report("completion", db, ReportParams(group_by="field", field="profile_field_team"))
    assert set(r.main["Team"]) == {"A", "B", "(not set)"}
    r = run_report("completion", db, ReportParams(group_by="category"))
    assert set(r.main["Category"]) == {"Faculty", "Faculty / Dept"}


def test_filters_cohorts_fields_categories(db):
    # Red = users 1 and 3: C1 (1 done, 3 at 50 %), C2 (1 at 30 %), C4 (3 at 0 %)
    got = rows(run_report("completion", db, ReportParams(cohorts=(1,))))
    assert {k: (v["Learners"], v["Completed"]) for k, v in got.items()} == {
        "course:10": (2, 1), "course:11": (1, 0), "course:13": (1, 0)}
    got = rows(run_report("completion", db, ReportParams(field="profile_field_team", field_values=("B",))))
    assert {k: v["Learners"] for k, v in got.items()} == {"course:10": 1, "course:11": 1}
    got = rows(run_report("completion", db, ReportParams(categories=(2,))))
    assert set(got) == {"course:11"}
    got = rows(run_report("completion", db, ReportParams(categories=(1,))))  # subcategories included
    assert set(got) == {"course:10", "course:11", "course:13"}


def test_completions_in_a_period_use_derived_dates(db):
    r = run_report("completion", db, ReportParams(date_from=1500, date_to=4000))
    got = rows(r)
    # C1: user 1 by the last activity (2000), user 2 by the sync that first saw it (3100); C2: 5000 and 200 outside
    assert got["course:10"]["Completed in period"] == 2 and got["course:10"]["Completed in period %"] == 50.0
    assert got["course:11"]["Completed in period"] == 0
    notes = " ".join(r.notes)
    assert "last activity completion" in notes and "first saw" in notes and "first sync" in notes


def test_completion_over_time(db):
    r = run_report("completion_over_time", db, ReportParams(date_from=0, date_to=6 * 7 * DAY))
    t = r.tables["over_time"]
    assert r.chart["unit"] == "week"
    c1 = t[t["_key"] == "course:10"]
    # C1: 2000 (activity) and 3100 (observed) both in the first week
    assert c1["Cumulative completions"].iloc[0] == 2 and c1["Cumulative completions"].iloc[-1] == 2
    c2 = t[t["_key"] == "course:11"]
    # C2: user 6 at the first sync (200) and user 2 at 5000
    assert c2["New completions"].sum() == 2 and c2["Cumulative %"].iloc[-1] == 66.7
    summary = rows(type(r)(r.kind, r.title, r.params, {"s": r.tables["summary"]}))
    assert summary["course:11"]["Completed (dated)"] == 2
    assert r.drill["Cumulative completions"] == "completed_by"


def test_completion_over_time_monthly_and_baseline(db):
    r = run_report("completion_over_time", db, ReportParams(date_from=4000, date_to=400 * DAY))
    t = r.tables["over_time"]
    assert r.chart["unit"] == "month"
    c1 = t[t["_key"] == "course:10"]
    assert c1["New completions"].sum() == 0 and c1["Cumulative completions"].iloc[0] == 2  # before the range


def test_empty_states(db):
    r = run_report("completion", db, ReportParams(courses=(999,)))
    assert r.is_empty and "None of the chosen courses" in r.empty_reason
    r = run_report("completion", db, ReportParams(courses=(12,)))
    assert r.is_empty and "tracks completion" in r.empty_reason and "C3" in r.empty_reason
    r = run_report("completion", db, ReportParams(cohorts=(2,), courses=(13,)))
    assert r.is_empty and "No learners match" in r.empty_reason
    r = run_report("completion", db, ReportParams(group_by="field"))
    assert r.is_empty and "profile field" in r.empty_reason
    r = run_report("completion_over_time", db, ReportParams(date_from=10, date_to=5))
    assert r.is_empty and "start is after its end" in r.empty_reason
    r = run_report("completion_over_time", db, ReportParams(courses=(13,)))
    assert r.is_empty and "Nobody has completed" in r.empty_reason


def add_course_without_criteria(writer, learners=(1, 2, 3, 4)) -> None:
    """C5 (14): completion on, no activity tracks it: Moodle reports no progress for its learners."""
    with writer.batch() as raw:
        raw.execute("INSERT INTO courses (id, shortname, fullname, categoryid, enablecompletion) "
                    "VALUES (14, 'C5', 'No criteria either', 2, 1)")
        raw.executemany("INSERT INTO enrolments (courseid, userid, roleids, suspended) VALUES (14, ?, '[5]', 0)",
                        [(u,) for u in learners])
        raw.executemany("INSERT INTO course_progress (userid, courseid, progress, completed, changed_run) "
                        "VALUES (?, 14, NULL, 0, 1)", [(u,) for u in learners])


def test_a_course_without_completion_criteria_keeps_its_learners(small_cache):
    db, writer = small_cache
    add_course_without_criteria(writer)
    r = run_report("completion", db, ReportParams())
    got = rows(r)
    assert set(got) == {"course:10", "course:11", "course:13", "course:14"}  # every tracked course has a row
    assert "4 courses (1 without completion criteria)" in r.subtitle
    c5 = got["course:14"]
    assert (c5["Learners"], c5["Not tracked"], c5["Completed"], c5["Not started"]) == (4, 4, 0, 0)
    assert c5["Completion %"] != c5["Completion %"]  # n/a (NaN), not 0 %
    assert got["course:10"]["Not tracked"] == 0 and got["course:10"]["Completion %"] == 50.0
    assert any("no completion criteria" in n and "C5" in n for n in r.notes)
    # grouped: C5's learners are counted, but left out of the percentages
    cat = rows(run_report("completion", db, ReportParams(group_by="category")))["category:2"]
    assert (cat["Learners"], cat["Not tracked"], cat["Completed"], cat["Completion %"]) == (7, 4, 2, 66.7)
    # only that course: its learners, and no word about cohorts nobody chose
    r = run_report("completion", db, ReportParams(courses=(14,)))
    assert not r.is_empty and rows(r)["course:14"]["Learners"] == 4
    d = drill_users(db, "completion", ReportParams(), DrillRequest("course:14", "not_tracked"))
    assert sorted(d.users["_userid"]) == [1, 2, 3, 4]
    d = drill_users(db, "completion", ReportParams(), DrillRequest("course:14", "not_started"))
    assert d.users is None
    r = run_report("completion_over_time", db, ReportParams(courses=(14,)))
    assert r.is_empty and "has no completion criteria (C5)" in r.empty_reason
    assert "cohort" not in r.empty_reason
    r = run_report("completion_over_time", db, ReportParams())
    assert not r.is_empty and any("C5" in n and "left out" in n for n in r.notes)


def test_no_learners_reason_names_only_the_filters_chosen(small_cache):
    db, writer = small_cache
    with writer.batch() as raw:
        raw.execute("INSERT INTO courses (id, shortname, fullname, categoryid, enablecompletion) "
                    "VALUES (15, 'C6', 'Empty', 2, 1)")
    r = run_report("completion", db, ReportParams(courses=(15,)))
    assert r.is_empty and "cohort" not in r.empty_reason and "student enrolment" in r.empty_reason
    r = run_report("completion", db, ReportParams(courses=(15,), cohorts=(2,)))
    assert r.is_empty and "cohort Blue" in r.empty_reason
    r = run_report("completion", db, ReportParams())  # C6 has no learners: named, not silently dropped
    assert any("C6" in n and "No learners" in n for n in r.notes)


@pytest.mark.parametrize("kind, params, words", [
    ("engagement", ReportParams(cohorts=(1,)), ["cohort Red"]),
    ("enrolments", ReportParams(field="profile_field_team", field_values=("A",)), ["Team: A"]),
    ("completion", ReportParams(courses=(10, 11), categories=(1,)), ["courses C1, C2", "category Faculty"]),
    ("completion_over_time", ReportParams(cohorts=(1, 2)), ["cohorts Red, Blue"]),
    ("assessment", ReportParams(courses=(10,), cohorts=(2,)), ["course C1", "cohort Blue"]),
    ("completion", ReportParams(cohorts=(2,), courses=(13,)), ["cohort Blue", "course C4"]),  # an empty result
])
def test_the_summary_names_every_filter_in_force(db, kind, params, words):
    r = run_report(kind, db, params)
    assert all(w in r.subtitle for w in words), r.subtitle


def test_the_summary_leaves_out_what_a_report_does_not_read(db):
    r = run_report("compliance", db, ReportParams(cohorts=(1,), categories=(2,),
                                                  required=(RequiredCourse(10, REF + DAY),)))
    assert "Red" in r.subtitle and "Dept" not in r.subtitle and "filters" not in r.subtitle
    assert "filters" not in run_report("engagement", db, ReportParams()).subtitle


def test_never_synced(tmp_path):
    with CacheDb.open(tmp_path / "empty.sqlite") as empty:
        for kind in ("completion", "completion_over_time", "engagement", "enrolments", "compliance", "assessment"):
            r = run_report(kind, empty, ReportParams(cohorts=(1,), required=(RequiredCourse(1),)))
            assert r.is_empty and r.empty_reason, kind
        r = run_report("completion", empty)
        assert "sync" in r.actions


def test_cancel_interrupts(db):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_report("completion", db, ReportParams(), token)


def test_unknown_kind(db):
    with pytest.raises(ValueError):
        run_report("nope", db)


# -- drill-down -----------------------------------------------------------------------------------

@pytest.mark.parametrize("request_, users", [
    (DrillRequest("course:10", "completed"), [1, 2]),
    (DrillRequest("course:10", "in_progress"), [3]),
    (DrillRequest("course:10", "not_started"), [4]),
    (DrillRequest("course:10", "all"), [1, 2, 3, 4]),
    (DrillRequest("cohort:1", "all"), [1, 3]),
    (DrillRequest("course:10", "completed_by", None, 2500), [1]),
    (DrillRequest("course:11", "completed_between", 100, 300), [6]),
])
def test_drill_completion(db, request_, users):
    d = drill_users(db, "completion", ReportParams(), request_)
    assert sorted(set(d.users["_userid"])) == users


def test_drill_in_period_and_nobody(db):
    d = drill_users(db, "completion", ReportParams(date_from=1500, date_to=4000),
                    DrillRequest("course:10", "completed_in_period"))
    assert sorted(d.users["_userid"]) == [1, 2]
    d = drill_users(db, "completion", ReportParams(), DrillRequest("course:13", "completed"))
    assert d.users is None and d.note == "Nobody."


# -- engagement -----------------------------------------------------------------------------------

def _monday(stamp: int) -> int:
    d = datetime.fromtimestamp(stamp, tz=UTC).date()
    d -= timedelta(days=d.weekday())
    return calendar.timegm(d.timetuple())


def test_engagement(db):
    r = run_report("engagement", db, ReportParams())
    dist = {x["_key"]: x["Users"] for x in r.tables["last_access"].to_dict("records")}
    # users 1-6 and 8 (7 is suspended): never 3; <=7 days 1, 8; 8-30 2; 31-90 6; 91-180 4; >1 year 5
    assert dist == {"bucket:never": 1, "bucket:7": 2, "bucket:30": 1, "bucket:90": 1, "bucket:180": 1,
                    "bucket:365": 0, "bucket:older": 1}
    inactive = r.tables["inactive_30_days"]
    assert sorted(inactive["_userid"]) == [3, 4, 5, 6]
    assert inactive["_userid"].iloc[0] == 3  # never first, then the longest ago
    weekly = {x["_start"]: x["Active users"] for x in r.tables["weekly"].to_dict("records")}
    # site history: every user's last access (recorded when the user row came in: 4 at REF-100d, 6 at
    # REF-40d, 5 outside the 26 weeks, 7 suspended) and user 1's earlier access at REF-8d
    expected: dict[int, set] = {}
    for user, when in ((1, REF - DAY), (1, REF - 8 * DAY), (8, REF - 2 * DAY), (2, REF - 10 * DAY),
                       (6, REF - 40 * DAY), (4, REF - 100 * DAY)):
        expected.setdefault(_monday(when), set()).add(user)
    for week, users in expected.items():
        assert weekly[week] == len(users)
    assert sum(weekly.values()) == sum(len(u) for u in expected.values())


def test_engagement_for_courses_and_drill(db):
    r = run_report("engagement", db, ReportParams(courses=(10,)))
    dist = {x["_key"]: x["Users"] for x in r.tables["last_access"].to_dict("records")}
    assert sum(dist.values()) == 4  # learners of C1; nobody has a course access recorded
    assert dist["bucket:never"] == 4
    d = drill_users(db, "engagement", ReportParams(), DrillRequest("bucket:never", "last_access"))
    assert list(d.users["_userid"]) == [3]
    week = _monday(REF - DAY)
    d = drill_users(db, "engagement", ReportParams(), DrillRequest("all", "active", week, week + 7 * DAY - 1))
    assert sorted(d.users["_userid"]) == sorted({u for u, t in ((1, REF - DAY), (8, REF - 2 * DAY), (1, REF - 8 * DAY),
                                                                (2, REF - 10 * DAY)) if week <= t < week + 7 * DAY})


INACTIVE_BUCKETS = ("bucket:never", "bucket:90", "bucket:180", "bucket:365", "bucket:older")  # over 30 days


@pytest.mark.parametrize("params", [ReportParams(), ReportParams(courses=(11,))], ids=["site", "course"])
def test_engagement_buckets_and_inactive_count_the_same_whole_days(small_cache, params):
    """QA: "inactive for 30+ days: 841" while never + 31-90 + ... added up to 836: someone 30.5 days back
    was in "8-30 days ago" and inactive too. Both count whole days now: 30.5 days is 30, not inactive."""
    db, writer = small_cache
    with writer.batch() as raw:  # user 6 came in 30.5 days ago, user 2 exactly 31 days ago (site and course C2)
        for user, ago in ((6, 30 * DAY + DAY // 2), (2, 31 * DAY)):
            raw.execute("UPDATE users SET lastaccess = ? WHERE id = ?", (REF - ago, user))
            raw.execute("UPDATE enrolments SET lastcourseaccess = ? WHERE userid = ? AND courseid = 11", (REF - ago, user))
    r = run_report("engagement", db, params)
    dist = {x["_key"]: x["Users"] for x in r.tables["last_access"].to_dict("records")}
    inactive = r.tables["inactive_30_days"]
    assert sum(dist[k] for k in INACTIVE_BUCKETS) == len(inactive) == r.chart["inactive"]
    assert 6 not in set(inactive["_userid"]) and 2 in set(inactive["_userid"])
    assert inactive.set_index("_userid").loc[2, "Days since"] == 31
    thirty = drill_users(db, "engagement", params, DrillRequest("bucket:30", "last_access"))
    assert 6 in set(thirty.users["_userid"])
    assert "no access for over 30 days" in r.subtitle


# -- enrolments -----------------------------------------------------------------------------------

def test_enrolment_trends(db):
    r = run_report("enrolments", db, ReportParams())
    cur = rows(r)
    assert (cur["course:10"]["Active"], cur["course:10"]["Suspended"], cur["course:10"]["Total"]) == (4, 0, 4)
    assert (cur["course:11"]["Active"], cur["course:11"]["Suspended"], cur["course:11"]["Total"]) == (3, 1, 4)
    trend = r.tables["trend"]
    c1 = trend[trend["_key"] == "course:10"]
    assert c1["New enrolments"].sum() == 2  # user 1 by its start date, user 2 by the first course access seen
    assert "start date" in " ".join(r.notes)
    r = run_report("enrolments", db, ReportParams(group_by="category"))
    assert rows(r)["category:1"]["Total"] == 6  # C1 4, C3 1, C4 1
    d = drill_users(db, "enrolments", ReportParams(), DrillRequest("course:11", "suspended"))
    assert list(d.users["_userid"]) == [5]


# -- assessment -----------------------------------------------------------------------------------

def test_assessment(db):
    r = run_report("assessment", db, ReportParams(courses=(10, 11)))
    s = rows(r)
    quiz = s["item:1"]
    assert (quiz["Graded"], quiz["No grade"]) == (3, 1)  # learners 1-3 graded, 4 not; 8 is a teacher
    assert quiz["Mean %"] == 58.3 and quiz["Median %"] == 50.0 and quiz["Lowest %"] == 25.0 and quiz["Highest %"] == 100.0
    assert s["item:2"]["Grade item"] == "Course total"
    hist = r.tables["histogram"]
    q = hist[hist["_key"] == "item:1"].set_index("_lo")["Learners"]
    assert (q[20], q[50], q[90], q.sum()) == (1, 1, 1, 3)
    assert "fetch_grades" in r.actions and "C2" in " ".join(r.notes)
    d = drill_users(db, "assessment", ReportParams(), DrillRequest("item:1", "bin", 90, 100))
    assert list(d.users["_userid"]) == [2]
    d = drill_users(db, "assessment", ReportParams(), DrillRequest("item:1", "no_grade"))
    assert list(d.users["_userid"]) == [4]


def test_assessment_without_grades_offers_to_fetch(db):
    r = run_report("assessment", db, ReportParams(courses=(11,)))
    assert r.is_empty and "fetch_grades" in r.actions and "Grades for these courses" in r.empty_reason


# -- compliance -----------------------------------------------------------------------------------

def test_compliance(db):
    params = ReportParams(cohorts=(1, 2), required=(RequiredCourse(10, 2500), RequiredCourse(11, None)))
    r = run_report("compliance", db, params)
    totals = rows(r)
    c1, c2 = totals["course:10"], totals["course:11"]
    # C1 due 2500: 1 completed (2000), 2 completed late (3100), 3 overdue
    assert (c1["Completed"], c1["In progress"], c1["Not started"], c1["Overdue"], c1["Completed late"]) == (2, 0, 0, 1, 1)
    assert c1["Compliance %"] == 66.7 and c1["Due"] == "1970-01-01"
    # C2 no deadline: 2 completed, 1 in progress (30 %), 3 not enrolled
    assert (c2["Completed"], c2["In progress"], c2["Not started"], c2["Not enrolled"]) == (1, 1, 1, 1)
    matrix = r.tables["matrix"].set_index("_userid")
    assert matrix.loc[3, "C1"] == "Overdue" and matrix.loc[3, "C2"] == "Not enrolled"
    assert matrix.loc[2, "C1"].startswith("Completed late") and matrix.loc[1, "C2"] == "In progress (30 %)"
    assert matrix.loc[3, "_status_10"] == "overdue"
    assert "fully compliant: 1" in r.subtitle
    d = drill_users(db, "compliance", params, DrillRequest("course:10", "overdue"))
    assert list(d.users["_userid"]) == [3]


def test_compliance_empty_states(db):
    assert "required courses" in run_report("compliance", db, ReportParams(cohorts=(1,))).empty_reason
    assert "required for" in run_report("compliance", db, ReportParams(required=(RequiredCourse(10),))).empty_reason
    r = run_report("compliance", db, ReportParams(cohorts=(1,), required=(RequiredCourse(999),)))
    assert "None of the required courses" in r.empty_reason


# -- options, snapshots, exports ------------------------------------------------------------------

def test_options(db):
    o = load_options(db)
    assert [c[1] for c in o.courses] == ["C1", "C2", "C3", "C4"]
    assert dict(o.categories)[2] == "Faculty / Dept"
    assert o.fields["profile_field_team"] == ("Team", ("A", "B"))
    assert o.graded_courses == frozenset({10})


def test_snapshot_round_trip_offline_and_compare(small_cache, tmp_path):
    db, writer = small_cache
    before = run_report("completion", db, ReportParams(group_by="course"))
    with writer.batch() as raw:
        sid = SN.save_snapshot(raw, before, now=lambda: 1000)
    path = db.path
    db.close()
    offline = CacheDb.open(path)  # no site, no report data needed: the snapshot carries it
    try:
        infos = SN.list_snapshots(offline)
        assert [(i.id, i.kind, i.readable) for i in infos] == [(sid, "completion", True)]
        back = SN.load_snapshot(offline, sid)
        assert back.from_snapshot and back.as_of == REF and back.snapshot_created == 1000
        assert back.main.drop(columns=[]).equals(before.main)
        assert back.params == before.params and back.notes == before.notes
        # user 3 completes C1: compare the snapshot with the report now
        w = CacheWriter(offline)
        with w.batch() as raw:
            raw.execute("UPDATE course_progress SET completed = 1, progress = 100 WHERE userid = 3 AND courseid = 10")
        w.close()
        now = run_report("completion", offline, ReportParams(group_by="course"))
        cmp = SN.compare(back, now)
        changed = cmp.table.set_index("_key")
        assert changed.loc["course:10", "Δ Completed"] == 1 and changed.loc["course:10", "Change"] == "changed"
        assert changed.loc["course:11", "Change"] == ""
        assert cmp.counts["changed"] == 1 and "Δ Completion %" in cmp.delta_columns
        other = run_report("engagement", offline, ReportParams())
        refused = SN.compare(back, other)
        assert refused.table is None and "different reports" in refused.message
        assert refused.message == different_reports("completion", "engagement", back.title, other.title)
        assert "Completion rates and Engagement" in different_reports("completion", "engagement")
        assert different_reports("engagement", "engagement") == ""
    finally:
        offline.close()


@pytest.mark.parametrize("version, kind, data, words", [
    (0, "completion", "{}", "older than"),
    (7, "completion", "{}", "newer than"),
    (1, "mystery", "{}", "does not know"),
    (1, "completion", "{not json", "damaged"),
])
def test_unreadable_snapshots_explain_themselves(small_cache, version, kind, data, words):
    db, writer = small_cache
    with writer.batch() as raw:
        raw.execute("INSERT INTO report_snapshots (kind, title, params, data, schema_version, as_of, created_at) "
                    "VALUES (?, 'Old', '{\"courses\": [10]}', ?, ?, 5, 6)", (kind, data, version))
    info = SN.list_snapshots(db)[0]
    r = SN.load_snapshot(db, info.id)
    assert r.is_empty and words in r.empty_reason and not r.tables
    assert info.readable == (version == 1 and kind != "mystery")
    assert SN.load_snapshot(db, 12345).is_empty


def test_auto_snapshots_are_pruned(small_cache):
    db, writer = small_cache
    r = run_report("completion", db)
    with writer.batch() as raw:
        for i in range(5):
            SN.save_snapshot(raw, r, auto=True, keep_auto=3, now=lambda i=i: 100 + i)
        SN.save_snapshot(raw, r, now=lambda: 50)
    infos = SN.list_snapshots(db)
    assert sum(i.auto for i in infos) == 3 and sum(not i.auto for i in infos) == 1


def test_exports_are_formula_safe(small_cache, tmp_path):
    db, writer = small_cache
    with writer.batch() as raw:
        raw.execute("UPDATE courses SET shortname = '=HYPERLINK(\"http://x\",\"C1\")' WHERE id = 10")
        raw.execute("UPDATE courses SET shortname = '+1-2' WHERE id = 11")
    r = run_report("completion", db)
    text = X.csv_text(r)
    assert "'=HYPERLINK" in text and "'+1-2" in text and "_key" not in text
    assert text.splitlines()[0].startswith("Course,Learners,Completed")
    X.export_csv(r, tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    X.export_xlsx(r, tmp_path / "r.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == ["Rates", "About"]
    cells = [c for row in wb["Rates"].iter_rows() for c in row]
    formula = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert formula and all(c.data_type == "s" for c in formula)
    numbers = [c.value for c in wb["Rates"]["B"][1:]]
    assert all(isinstance(v, int) for v in numbers)
    about = {row[0].value: row[1].value for row in wb["About"].iter_rows()}
    assert about["Report"] == "Completion rates" and "2027" in about["Data as of (UTC)"]


def test_importing_reports_is_cheap():
    code = ("import sys; import lms_console.services.reports as r; "
            "assert 'pandas' not in sys.modules, 'pandas'; assert 'matplotlib' not in sys.modules, 'matplotlib'")
    subprocess.run([sys.executable, "-c", code], check=True)
