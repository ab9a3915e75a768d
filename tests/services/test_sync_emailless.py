"""Sync of what the user directory's email partitions cannot list (accounts without an email), and of the
enrolments of courses deleted on the site when only enrolments are synced. Real sandbox over HTTP, real cache."""

from __future__ import annotations

from sqlalchemy import text

from lms_console.services.cache import queries
from lms_console.services.progress import CancelToken
from lms_console.services.sync_users import BY_ID, PROBE_BATCH


def cached(db, sql: str) -> int:
    with db.read() as conn:
        return conn.execute(text(sql)).scalar_one()


def site_users(server) -> int:
    with server.store.connection() as conn:
        return conn.execute("SELECT COUNT(*) FROM user WHERE deleted = 0").fetchone()[0]


def create_users(client, names: list[str]) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(names), 100):
        reply = client.call("core_user_create_users", {"users": [
            {"username": n, "firstname": n.title(), "lastname": "Directory", "email": f"{n}@example.org",
             "createpassword": 1} for n in names[i:i + 100]]}, write=True)
        ids.extend(r["id"] for r in reply)
    return ids


def drop_emails(server, ids: list[int]) -> None:
    """What an LDAP/CAS/OAuth sync or a plugin leaves: an account without an email (Moodle's own WS refuses
    to create one, so the test changes the site's database, as those do)."""
    with server.store.connection() as conn, server.store.transaction(conn):
        conn.executemany("UPDATE user SET email = '', auth = 'ldap' WHERE id = ?", [(i,) for i in ids])


def test_accounts_without_an_email_reach_the_local_copy(make_site, connect, cache, run_sync):
    server = make_site(users=60, courses=1, seed=21)
    db, _ = cache
    client = connect(server)
    # One between accounts with an email (a gap in the ids the partitions return), one after all of them.
    middle, with_email, last = create_users(client, ["ldapmiddle", "withemail", "ldaplast"])
    drop_emails(server, [middle, last])
    # As in Moodle: email='' is not refused, and answers nothing (the account's empty email drops it).
    answer = client.call("core_user_get_users", {"criteria": [{"key": "email", "value": ""}]})
    assert answer == {"users": [], "warnings": []}

    result = run_sync(client, entities=("site", "users"))
    assert result.status == "ok", result
    assert cached(db, f"SELECT COUNT(*) FROM users WHERE id IN ({middle}, {last}) AND email = ''") == 2
    assert cached(db, f"SELECT COUNT(*) FROM users WHERE id = {with_email}") == 1
    assert cached(db, "SELECT COUNT(*) FROM users") == site_users(server)
    with db.read() as conn:
        probe = queries.partitions(conn, "users")[BY_ID]
    assert probe.done_run == result.run_id and probe.last_count == 2


def test_an_account_without_an_email_deleted_on_the_site_leaves_the_local_copy(make_site, connect, cache,
                                                                               run_sync):
    server = make_site(users=50, courses=1, seed=22)
    db, _ = cache
    client = connect(server)
    gone, kept = create_users(client, ["ldapgone", "ldapkept"])
    drop_emails(server, [gone, kept])
    assert run_sync(client, entities=("site", "users")).status == "ok"
    assert cached(db, f"SELECT COUNT(*) FROM users WHERE id IN ({gone}, {kept})") == 2
    client.call("core_user_delete_users", {"userids": [gone]}, write=True)

    result = run_sync(client, entities=("site", "users"))
    assert result.status == "ok", result
    assert cached(db, f"SELECT COUNT(*) FROM users WHERE id = {gone}") == 0
    assert cached(db, f"SELECT COUNT(*) FROM users WHERE id = {kept} AND email = ''") == 1
    assert cached(db, "SELECT COUNT(*) FROM users") == site_users(server)


def test_a_run_of_accounts_without_an_email_past_the_last_address_is_followed_to_its_end(make_site, connect,
                                                                                        cache, run_sync):
    """More new email-less accounts than one probe request holds, all after the last account with an email
    (a directory import through LDAP): each batch that finds accounts asks for the next one."""
    server = make_site(users=30, courses=1, seed=23)
    db, _ = cache
    client = connect(server)
    new = create_users(client, [f"ldap{i:04d}" for i in range(PROBE_BATCH + 120)])
    drop_emails(server, new)
    result = run_sync(client, entities=("site", "users"))
    assert result.status == "ok", result
    assert cached(db, "SELECT COUNT(*) FROM users WHERE email = ''") == len(new)
    assert cached(db, "SELECT COUNT(*) FROM users") == site_users(server)


def test_an_interrupted_pass_resumed_still_probes_for_accounts_without_an_email(make_site, connect, cache,
                                                                                run_sync):
    server = make_site(users=300, courses=1, seed=24)
    db, _ = cache
    client = connect(server)
    (lost,) = create_users(client, ["ldaplost"])
    drop_emails(server, [lost])
    server.set_faults(latency_ms=15)
    cancel = CancelToken()

    def progress(ev):
        if ev.done >= 40:
            cancel.cancel()

    assert run_sync(client, entities=("site", "users"), progress=progress, cancel=cancel).status == "cancelled"
    with db.read() as conn:
        interrupted = queries.sync_state(conn, "users").run_id
        assert BY_ID not in queries.partitions_done(conn, "users", interrupted)
    server.clear_faults()
    assert run_sync(client, entities=("site", "users")).status == "ok"
    with db.read() as conn:
        assert queries.partitions(conn, "users")[BY_ID].done_run == interrupted  # the resumed run's partition
    assert cached(db, f"SELECT COUNT(*) FROM users WHERE id = {lost}") == 1
    assert cached(db, "SELECT COUNT(*) FROM users") == site_users(server)


def test_syncing_only_enrolments_removes_those_of_a_course_deleted_on_the_site(make_site, connect, cache,
                                                                               run_sync):
    server = make_site(users=80, courses=3, seed=25)
    db, _ = cache
    admin = connect(server)
    assert run_sync(admin, entities=("site", "categories", "courses", "enrolments")).status == "ok"
    course = cached(db, "SELECT courseid FROM enrolments GROUP BY courseid ORDER BY COUNT(*) DESC LIMIT 1")
    others = cached(db, f"SELECT COUNT(*) FROM enrolments WHERE courseid <> {course}")
    teacher = cached(db, f"SELECT e.userid FROM enrolments e JOIN enrolment_roles r ON r.courseid = e.courseid "
                         f"AND r.userid = e.userid WHERE r.roleid = 3 AND e.courseid <> {course} LIMIT 1")
    assert cached(db, f"SELECT COUNT(*) FROM enrolments WHERE courseid = {course}") > 0
    admin.call("core_course_delete_courses", {"courseids": [course]}, write=True)

    # The course list cannot be read (the service lacks the function): the pass fails, removing nothing.
    blind = connect(server, server.token_missing_functions(["core_course_get_courses_by_field"]))
    assert run_sync(blind, entities=("site", "enrolments")).status == "failed"
    assert cached(db, f"SELECT COUNT(*) FROM enrolments WHERE courseid = {course}") > 0
    # A teacher's token sees only its own courses: the others must not read as deleted.
    result = run_sync(connect(server, server.new_token(userid=teacher)), entities=("site", "enrolments"))
    assert result.status == "partial"
    assert cached(db, f"SELECT COUNT(*) FROM enrolments WHERE courseid = {course}") > 0

    result = run_sync(admin, entities=("site", "enrolments"))
    assert result.status == "ok", result
    assert cached(db, f"SELECT COUNT(*) FROM enrolments WHERE courseid = {course}") == 0
    assert cached(db, f"SELECT COUNT(*) FROM enrolment_roles WHERE courseid = {course}") == 0
    assert cached(db, f"SELECT COUNT(*) FROM enrolments WHERE courseid <> {course}") == others
