"""Objects the site reports as gone (a user or a course deleted there since the last sync): what the
kinds make of the site's answer, so "Retry failed" does not plan the same failure again.

Deleting an account that is already deleted is done (the wanted state holds) and leaves the cache;
updating or suspending it fails with the site's message, and the cache learns the account is gone;
enrolling in a deleted course fails, and the cache learns the course is gone. Each answer comes from
the sandbox over real HTTP.

The kinds say it (``Kind.refused`` for an exception answered to an item alone in its call,
``ItemOutcome.gone`` and ``Kind.forget`` for the cache); the applier acts on it.
"""

from __future__ import annotations

import time

import pytest

from lms_console.services import changes as C
from lms_console.services.changes import journal as J
from lms_console.services.changes.model import Outcome, Status
from lms_console.services.lms.errors import ApiRejected, FunctionNotAvailable

@pytest.fixture
def synced(synced_site):
    """(server, client, db, writer) of a fresh sandbox mirrored into the test's cache."""
    return synced_site(users=60, courses=3, seed=29)


def cached(db, sql, *params):
    with db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql, params).all()]


def a_user(db):
    return cached(db, "SELECT id FROM users WHERE id > 3 AND username <> 'guest' AND suspended = 0 "
                      "ORDER BY id LIMIT 1")[0][0]


def delete_on_site(server, userid):
    with server.store.connection() as conn:
        conn.execute("UPDATE user SET deleted = 1 WHERE id = ?", (userid,))
        conn.commit()


def delete_course_on_site(server, courseid):
    with server.store.connection() as conn:  # delete_course() takes the course's context with it
        conn.execute("DELETE FROM context WHERE contextlevel = 50 AND instanceid = ?", (courseid,))
        conn.execute("DELETE FROM course WHERE id = ?", (courseid,))
        conn.commit()


def problems(db, change):
    item = C.plan_changes(db, [change]).items[0]
    return item.outcome, " ".join(str(p) for p in item.problems)


def site_error(call) -> ApiRejected:
    with pytest.raises(ApiRejected) as caught:
        call()
    return caught.value


# -- the kinds' reading of the site's answers ------------------------------------------------------

def test_deleting_an_account_already_deleted_on_the_site_reads_as_done(synced):
    server, client, db, writer = synced
    user = a_user(db)
    delete_on_site(server, user)
    error = site_error(lambda: client.call("core_user_delete_users", {"userids": [user]}, write=True))
    assert error.code == "invalidrecordunknown"
    outcome = C.kind("user.delete").refused({"id": user}, error)
    assert outcome.ok and "already deleted" in outcome.message
    # The same code when the function itself is missing from the token's service is a failure.
    missing = FunctionNotAvailable("core_user_delete_users is not in the token's web service",
                                   code="invalidrecordunknown")
    assert not C.kind("user.delete").refused({"id": user}, missing).ok


def test_suspending_an_account_deleted_on_the_site_fails_and_the_cache_forgets_it(synced):
    server, client, db, writer = synced
    user = a_user(db)
    delete_on_site(server, user)
    spec = C.kind("user.suspend")
    data = {"id": user}
    response = client.call(spec.function, spec.params([data]), write=True)
    [outcome] = spec.outcomes([data], response)
    assert not outcome.ok and outcome.code == "usernotupdateddeleted" and outcome.message and outcome.gone
    for kind in ("user.update", "user.force_password_change"):  # the same answer, the same reading
        other = C.kind(kind)
        assert other.outcomes([data], response)[0].gone, kind
    with writer.batch() as raw:
        assert spec.forget(raw, data, int(time.time())) == "users"
    assert cached(db, "SELECT id FROM users WHERE id = ?", user) == []
    outcome, why = problems(db, C.Change("user.suspend", data))
    assert outcome == Outcome.ERROR and "no such user" in why


def test_another_warning_leaves_the_account_in_the_cache(synced):
    server, client, db, writer = synced
    user, other = (r[0] for r in cached(db, "SELECT id, email FROM users WHERE id > 3 ORDER BY id LIMIT 2"))
    taken = cached(db, "SELECT email FROM users WHERE id = ?", other)[0][0]
    spec = C.kind("user.update")
    data = {"id": user, "fields": {"email": taken}}
    [outcome] = spec.outcomes([data], client.call(spec.function, spec.params([data]), write=True))
    assert not outcome.ok and outcome.code == "useremailduplicate" and not outcome.gone


def test_enrolling_in_a_course_deleted_on_the_site_fails_and_the_cache_forgets_the_course(synced):
    server, client, db, writer = synced
    course = cached(db, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0][0]
    user = a_user(db)
    delete_course_on_site(server, course)
    spec = C.kind("enrol.add")
    data = {"userid": user, "courseid": course, "roleid": 5}
    error = site_error(lambda: client.call(spec.function, spec.params([data]), write=True))
    assert error.code == "invalidparameter"
    outcome = spec.refused(data, error)
    assert not outcome.ok and outcome.gone and outcome.message == error.message
    with writer.batch() as raw:
        assert spec.forget(raw, data, int(time.time())) == "courses"
    assert cached(db, "SELECT id FROM courses WHERE id = ?", course) == []
    assert cached(db, "SELECT 1 FROM enrolments WHERE courseid = ?", course) == []
    outcome, why = problems(db, C.Change("enrol.add", data))
    assert outcome == Outcome.ERROR and "no such course" in why


def test_an_unenrolment_refused_for_another_reason_keeps_the_course(synced):
    """unenrol_users says "invalidparameter" for a deleted user too: that is not the course gone."""
    server, client, db, writer = synced
    course, user = cached(db, "SELECT courseid, userid FROM enrolments WHERE courseid > 1 AND userid > 3 "
                              "ORDER BY courseid, userid LIMIT 1")[0]
    delete_on_site(server, user)
    spec = C.kind("enrol.remove")
    data = {"userid": user, "courseid": course}
    error = site_error(lambda: client.call(spec.function, spec.params([data]), write=True))
    assert error.code == "invalidparameter"
    assert not spec.refused(data, error).gone


# -- through the applier ------------------------------------------------------------------------------

def apply(client, writer, db, changes):
    plan = C.plan_changes(db, changes)
    assert [i.outcome for i in plan.items] == [Outcome.APPLY] * len(changes)
    return C.apply_run(client, writer, C.record(writer, plan, profile="test", lms_user="admin"))


def test_a_delete_of_an_account_gone_on_the_site_is_done_and_leaves_the_cache(synced):
    server, client, db, writer = synced
    gone, other = (r[0] for r in cached(db, "SELECT id FROM users WHERE id > 3 AND username <> 'guest' "
                                            "ORDER BY id LIMIT 2"))
    delete_on_site(server, gone)
    summary = apply(client, writer, db, [C.Change("user.delete", {"id": gone}), C.Change("user.delete", {"id": other})])
    assert [r.status for r in summary.results] == [Status.DONE, Status.DONE], summary.results
    assert "already deleted" in summary.results[0].message
    assert cached(db, "SELECT id FROM users WHERE id IN (?, ?)", gone, other) == []
    assert summary.status == "done"


def test_a_suspension_of_an_account_gone_on_the_site_fails_and_is_not_planned_again(synced):
    server, client, db, writer = synced
    user = a_user(db)
    delete_on_site(server, user)
    summary = apply(client, writer, db, [C.Change("user.suspend", {"id": user})])
    [result] = summary.results
    assert result.status == Status.FAILED and result.code == "usernotupdateddeleted" and result.message
    assert "users" in summary.entities
    with db.read() as conn:  # "Retry failed"
        [retry] = C.retry_changes(J.run_rows(conn, summary.run_id))
    outcome, why = problems(db, retry)
    assert outcome == Outcome.ERROR and "no such user" in why


def test_an_enrolment_in_a_course_gone_on_the_site_fails_and_is_not_planned_again(synced):
    server, client, db, writer = synced
    course = cached(db, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0][0]
    user = cached(db, "SELECT id FROM users WHERE id > 3 AND username <> 'guest' AND id NOT IN (SELECT userid FROM "
                      "enrolments WHERE courseid = ?) ORDER BY id LIMIT 1", course)[0][0]
    delete_course_on_site(server, course)
    summary = apply(client, writer, db, [C.Change("enrol.add", {"userid": user, "courseid": course})])
    [result] = summary.results
    assert result.status == Status.FAILED and result.code == "invalidparameter"
    assert "courses" in summary.entities
    outcome, why = problems(db, C.Change("enrol.add", {"userid": user, "courseid": course}))
    assert outcome == Outcome.ERROR and "no such course" in why
