"""Course progress costs one request per user (Moodle has no bulk read): a re-sync reads it only for the
users it may have changed for (new enrolments, recent activity), and everyone once a day. Real sandbox
over HTTP, real SQLite cache."""

from __future__ import annotations

import time

from lms_console.services.sync_completion import FULL_EVERY_S, RECENT_LAG_S

PROGRESS = "core_enrol_get_users_courses"


def rows(db, sql: str, *params) -> list[tuple]:
    with db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql, params)]


def progress_reads(server) -> set[int]:
    return {int(r["params"]["userid"]) for r in server.requests if r["function"] == PROGRESS}


def quiet_site(server) -> None:
    """Nobody has used the site for ten days."""
    with server.store.connection() as conn:
        conn.execute("UPDATE user SET lastaccess = ?", (int(time.time()) - 10 * 86_400,))
        conn.commit()


def test_a_resync_reads_progress_only_where_it_may_have_changed(make_site, connect, cache, run_sync):
    server = make_site(users=60, courses=2, seed=3)
    db, writer = cache
    client = connect(server)
    quiet_site(server)
    assert run_sync(client, activity_completion="off").status == "ok"  # the first pass reads everyone
    enrolled = {r[0] for r in rows(db, "SELECT DISTINCT userid FROM enrolments")}
    assert progress_reads(server) == enrolled and len(enrolled) > 20
    before = rows(db, "SELECT userid, courseid, progress FROM course_progress ORDER BY userid, courseid")

    active, newcomer = sorted(enrolled)[3], next(u for u in range(4, 60) if u not in enrolled)
    course = rows(db, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0][0]
    with server.store.connection() as conn:  # one learner works today; another is enrolled
        conn.execute("UPDATE user SET lastaccess = ? WHERE id = ?", (int(time.time()), active))
        conn.commit()
    client.call("enrol_manual_enrol_users", {"enrolments": [{"roleid": 5, "userid": newcomer, "courseid": course}]},
                write=True)
    server.clear_requests()
    result = run_sync(client, activity_completion="off")
    assert result.status == "ok" and progress_reads(server) == {active, newcomer}
    after = rows(db, "SELECT userid, courseid, progress FROM course_progress WHERE userid <> ? "
                     "ORDER BY userid, courseid", newcomer)
    assert after == before  # everyone else's progress is kept, not swept
    assert rows(db, "SELECT courseid FROM course_progress WHERE userid = ?", newcomer) == [(course,)]


def test_everyone_is_read_again_once_a_day_and_with_completion_all(make_site, connect, cache, run_sync):
    server = make_site(users=40, courses=2, seed=4)
    db, writer = cache
    client = connect(server)
    quiet_site(server)
    assert run_sync(client, activity_completion="off").status == "ok"
    enrolled = {r[0] for r in rows(db, "SELECT DISTINCT userid FROM enrolments")}
    server.clear_requests()
    assert run_sync(client, completion="all", activity_completion="off").status == "ok"
    assert progress_reads(server) == enrolled
    with writer.batch() as raw:  # the last full pass was yesterday
        raw.execute("UPDATE sync_state SET detail = json_set(detail, '$.full_at', json_extract(detail, '$.full_at') "
                    "- ?) WHERE entity = 'completion'", (FULL_EVERY_S + 60,))
    server.clear_requests()
    assert run_sync(client, activity_completion="off").status == "ok"
    assert progress_reads(server) == enrolled
    server.clear_requests()
    assert run_sync(client, activity_completion="off").status == "ok"  # and then not again that day
    assert progress_reads(server) == set()


def test_progress_of_an_unenrolment_goes_even_when_its_user_is_not_read(make_site, connect, cache, run_sync):
    server = make_site(users=40, courses=2, seed=5)
    db, writer = cache
    client = connect(server)
    quiet_site(server)
    assert run_sync(client, activity_completion="off").status == "ok"
    userid, courseid = rows(db, "SELECT userid, courseid FROM course_progress ORDER BY userid LIMIT 1")[0]
    client.call("enrol_manual_unenrol_users", {"enrolments": [{"userid": userid, "courseid": courseid}]}, write=True)
    server.clear_requests()
    assert run_sync(client, activity_completion="off").status == "ok"
    assert userid not in progress_reads(server)  # nothing to read for them...
    assert rows(db, "SELECT 1 FROM course_progress WHERE userid = ? AND courseid = ?", userid, courseid) == []


def test_a_last_access_just_before_the_last_read_still_counts(make_site, connect, cache, run_sync):
    """Course completion is aggregated by the site's cron after the learner's last click: a learner active
    shortly before their progress was read is read again, in case the cron completed their course since."""
    server = make_site(users=40, courses=2, seed=6)
    db, writer = cache
    client = connect(server)
    quiet_site(server)
    assert run_sync(client, activity_completion="off").status == "ok"
    learner = rows(db, "SELECT userid FROM course_progress ORDER BY userid LIMIT 1")[0][0]
    with server.store.connection() as conn:
        conn.execute("UPDATE user SET lastaccess = ? WHERE id = ?", (int(time.time()) - RECENT_LAG_S // 2, learner))
        conn.commit()
    assert run_sync(client, activity_completion="off").status == "ok"  # brings the last access in
    server.clear_requests()
    assert run_sync(client, activity_completion="off").status == "ok"
    assert progress_reads(server) == {learner}
