"""services.access: a user's detail from the cache and "why can't X get in?" for prepared cases,
with the site's fresh answer overlaid and written back."""

from __future__ import annotations

import pytest

from lms_console.services import access as A
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
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
from lms_console.services.lms.errors import Unreachable

NOW = 1_767_225_600
DAY = 86_400
STUDENT = Role(5, "student", "Student")
TEACHER = Role(3, "editingteacher", "Teacher")


def _u(uid, **kw):
    base = dict(username=f"user{uid}", firstname="Pat", lastname=f"Case{uid}", email=f"u{uid}@example.org",
                lastaccess=NOW - DAY, firstaccess=NOW - 300 * DAY)
    base.update(kw)
    return User(id=uid, **base)


@pytest.fixture
def db(tmp_path):
    d = CacheDb.open(tmp_path / "cache.sqlite")
    with CacheWriter(d, clock=lambda: NOW) as w:
        run = w.begin_run(["users"])
        w.upsert_users([
            _u(10, customfields=(CustomField("faculty", "Arts", "Faculty", "menu", "Arts"),)),
            _u(11, suspended=True),
            _u(12, auth="nologin"),
            _u(13, auth="email", confirmed=False, lastaccess=0, firstaccess=0),
            _u(14, auth="ldap"),
            _u(15, lastaccess=0, firstaccess=0),
        ], run)
        w.upsert_courses([Course(100, "C101", "Chemistry", 1), Course(101, "HID", "Hidden course", 1, visible=False),
                          Course(102, "FUT", "Future course", 1, startdate=NOW + 10 * DAY)], run)
        w.upsert_enrolments([
            Enrolment(100, 10, (STUDENT,)),
            Enrolment(101, 10, (STUDENT,)),
            Enrolment(101, 14, (TEACHER,)),
            Enrolment(102, 10, (STUDENT,)),
            Enrolment(100, 11, (STUDENT,), suspended=True),
            Enrolment(100, 14, (STUDENT,), suspended=True, timestart=NOW - 100 * DAY, timeend=NOW - 2 * DAY),
            Enrolment(100, 15, (STUDENT,), suspended=True, timestart=NOW + 5 * DAY),
        ], run)
        w.upsert_course_progress([CourseProgress(10, 100, 50.0, False, lastaccess=NOW - 3 * DAY)], run)
        w.upsert_cohorts([Cohort(1, "Sales")], run)
        w.replace_cohort_members([Members(1, (10,))], run)
        w.replace_course_groups(100, [Group(7, 100, "Group A")], [], run)
        w.replace_group_members([Members(7, (10,))], run)
    yield d
    d.close()


def report(db, userid, courseid=None, **kw):
    with db.read() as conn:
        return A.access_report(conn, userid, courseid, now=NOW, **kw)


def codes(rep):
    return [r.code for r in rep.reasons]


def test_user_detail_gathers_everything(db):
    with db.read() as conn:
        d = A.user_detail(conn, 10)
        assert A.user_detail(conn, 999) is None
    assert d.user.username == "user10" and d.label == "Pat Case10 (user10)"
    assert d.custom == (A.CustomValue("faculty", "Faculty", "Arts", "menu"),)
    assert d.cohorts == ((1, "Sales", ""),)
    assert d.groups == ((100, "C101", 7, "Group A"),)
    e = {x.course.shortname: x for x in d.enrolments}
    assert set(e) == {"C101", "HID", "FUT"}
    assert e["C101"].roles == ("Student",) and e["C101"].progress == 50.0 and e["C101"].lastaccess == NOW - 3 * DAY


def test_a_healthy_account_can_sign_in(db):
    rep = report(db, 10, 100)
    assert rep.can_sign_in and rep.can_enter_course
    assert codes(rep) == ["account.ok", "course.ok"]
    assert rep.verdict == "Nothing the console can see stops Pat Case10 (user10) from signing in and getting into C101."


@pytest.mark.parametrize("userid, code, fix", [
    (11, "account.suspended", Change("user.unsuspend", {"id": 11})),
    (12, "account.nologin", Change("user.update", {"id": 12, "fields": {"auth": "manual"}})),
    (13, "account.unconfirmed", None),
])
def test_account_blockers_with_their_fix(db, userid, code, fix):
    rep = report(db, userid)
    assert not rep.can_sign_in
    reason = rep.reasons[0]
    assert reason.code == code and reason.severity == A.BLOCKS
    assert reason.fixes == ((fix,) if fix else ())
    assert "cannot sign in" in rep.verdict


def test_never_logged_in_and_external_auth_are_explained(db):
    assert "account.never" in codes(report(db, 15))
    assert "account.never" in codes(report(db, 13))
    rep = report(db, 14)
    assert "account.external" in codes(rep) and rep.can_sign_in


def test_not_enrolled_offers_enrolment(db):
    rep = report(db, 12, 101)
    r = next(r for r in rep.reasons if r.code == "course.not_enrolled")
    assert r.fixes == (Change("enrol.add", {"userid": 12, "courseid": 101, "roleid": 5}),)


def test_suspended_enrolment_offers_reactivation(db):
    rep = report(db, 11, 100)
    r = next(r for r in rep.reasons if r.code == "course.suspended")
    assert r.fixes == (Change("enrol.unsuspend", {"userid": 11, "courseid": 100}),)
    # Moodle says "not active" alike for suspended, not started and ended enrolments, and gives no dates.
    assert r.title == "The enrolment in C101 is not active."
    assert "suspended, or its start or end date keeps them out" in r.detail
    assert "clears its start and end dates" in r.detail
    with CacheWriter(db, clock=lambda: NOW) as w:  # dates the console set itself: only a suspension is left
        w.upsert_enrolments([Enrolment(101, 11, (STUDENT,), suspended=True, timeend=NOW + 9 * DAY)],
                            w.begin_run(["enrolments"]))
    r = next(r for r in report(db, 11, 101).reasons if r.code == "course.suspended")
    assert r.title == "The enrolment in HID is suspended."


def test_ended_enrolment_offers_an_extension(db):
    rep = report(db, 14, 100)
    r = next(r for r in rep.reasons if r.code == "course.ended")
    (fix,) = r.fixes
    assert fix.kind == "enrol.add" and fix.data["timeend"] == NOW + 30 * DAY
    assert fix.data["timestart"] == NOW - 100 * DAY and fix.data["roleid"] == 5
    assert rep.can_sign_in and not rep.can_enter_course


def test_enrolment_not_started_offers_to_start_now(db):
    rep = report(db, 15, 100)
    r = next(r for r in rep.reasons if r.code == "course.not_started")
    assert r.fixes[0].data["timestart"] == NOW


def test_hidden_course_blocks_students_not_teachers(db):
    student = report(db, 10, 101)
    assert [r.severity for r in student.reasons if r.code == "course.hidden"] == [A.BLOCKS]
    teacher = report(db, 14, 101)
    assert [r.severity for r in teacher.reasons if r.code == "course.hidden"] == [A.WARNING]
    assert teacher.can_enter_course


def test_future_course_start_is_information(db):
    rep = report(db, 10, 102)
    assert "course.future" in codes(rep) and rep.can_enter_course


def test_unknown_course(db):
    rep = report(db, 10, 999)
    assert "course.unknown" in codes(rep) and not rep.can_enter_course


class FakeClient:
    def __init__(self, user=None, courses=(), fail=False):
        self.user, self.courses, self.fail = user, courses, fail
        self.calls = []

    def users_by_ids(self, ids, cancel=None):
        self.calls.append(("users", list(ids)))
        if self.fail:
            raise Unreachable("connection refused")
        return Fetched((self.user,) if self.user else ())

    def user_courses(self, userid, cancel=None):
        self.calls.append(("courses", userid))
        return Fetched(tuple(self.courses))


def test_fresh_answer_overrides_a_stale_cache_and_is_written_back(db):
    # The cache says suspended; the site says it was unsuspended and the enrolment is active again.
    client = FakeClient(_u(11, suspended=False), [CourseProgress(11, 100, 80.0, False, lastaccess=NOW)])
    fresh = A.fetch_fresh(client, 11)
    rep = report(db, 11, 100, fresh=fresh)
    assert rep.refreshed and rep.can_sign_in and rep.can_enter_course
    with CacheWriter(db) as w:
        A.write_fresh(w, fresh)
    with db.read() as conn:
        d = A.user_detail(conn, 11)
    assert not d.user.suspended
    assert [(e.course.id, e.suspended, e.progress) for e in d.enrolments] == [(100, False, 80.0)]


def test_site_says_enrolment_is_no_longer_active(db):
    fresh = A.fetch_fresh(FakeClient(_u(10), []), 10)
    rep = report(db, 10, 100, fresh=fresh)
    assert "course.suspended" in codes(rep) and not rep.can_enter_course
    with CacheWriter(db) as w:
        A.write_fresh(w, fresh)
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT suspended FROM enrolments WHERE userid = 10 AND courseid = 100").scalar()


def test_deleted_on_the_site(db):
    fresh = A.fetch_fresh(FakeClient(None), 10)
    rep = report(db, 10, fresh=fresh)
    assert codes(rep) == ["account.deleted"] and not rep.can_sign_in


def test_user_only_on_the_site_is_checked_from_its_answer(db):
    fresh = A.fetch_fresh(FakeClient(_u(77)), 77)
    rep = report(db, 77, fresh=fresh)
    assert rep.can_sign_in
    assert report(db, 77) is None


def test_refresh_problem_is_reported(db):
    with pytest.raises(Unreachable):
        A.fetch_fresh(FakeClient(fail=True), 10)
    rep = report(db, 10, refresh_problem="The site did not answer")
    assert rep.refresh_problem and not rep.refreshed
