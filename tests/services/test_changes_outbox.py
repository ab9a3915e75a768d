"""The change engine's offline outbox against the sandbox: changes that wait while the site is down,
conflicts held when the run resumes, Drop and Keep, a target with a change still waiting, what the
recheck reads, and a write answered with a redirect (nothing sent elsewhere, the items stay queued)."""

from __future__ import annotations

import pytest
from suite_helpers import apply, q, site_q

from lms_console.services import changes as C
from lms_console.services.changes import journal as J
from lms_console.services.changes.model import Outcome, Status


@pytest.fixture
def synced(synced_site):
    """(server, client, db, writer) of a fresh sandbox mirrored into the test's cache."""
    return synced_site(users=150, courses=4, seed=17)


def test_offline_changes_wait_in_the_outbox_and_conflicts_are_held(synced):
    server, client, db, writer = synced
    users = [r[0] for r in q(db, "SELECT id FROM users WHERE id > 3 AND suspended = 0 LIMIT 4")]
    plan = C.plan_changes(db, [C.Change("user.suspend", {"id": u}) for u in users[:3]])
    offline = _client_of_a_site_that_is_down(client)
    summary = apply(offline, writer, plan)
    assert summary.status == "waiting"
    with db.read() as conn:
        assert J.outbox_count(conn) == 3 and J.runs_with_work(conn) == [summary.run_id]
        assert {r.status for r in J.outbox(conn)} == {"queued"}  # provably never sent
    # Meanwhile someone suspends the second user on the site, and moves the fourth to another city.
    city = q(db, "SELECT city FROM users WHERE id = ?", users[3])[0][0]
    later = C.plan_changes(db, [C.Change("user.update", {"id": users[3], "fields": {"city": "Mine"}})])
    waiting = apply(offline, writer, later)
    with server.store.connection() as conn:
        conn.execute("UPDATE user SET suspended = 1 WHERE id = ?", (users[1],))
        conn.execute("UPDATE user SET city = 'Theirs' WHERE id = ?", (users[3],))
        conn.commit()
    resumed = C.apply_run(client, writer, summary.run_id, revalidate=True)
    by_target = {r.target: r for r in resumed.results}
    # Already as asked: nothing to decide, nothing to send.
    assert (by_target[f"user:{users[1]}"].status, by_target[f"user:{users[1]}"].code) == (Status.SKIPPED, "noop")
    assert "already so on the site" in by_target[f"user:{users[1]}"].message
    assert by_target[f"user:{users[0]}"].status == Status.DONE
    resumed = C.apply_run(client, writer, waiting.run_id, revalidate=True)
    held = resumed.results[0]
    assert held.status == Status.HELD and held.code == "conflict"
    assert f"changed on the site since it was planned: city “{city}” then, “Theirs” now" in held.message
    J.release_held(writer, held.item_id, "keep")  # "keep mine": sent despite the change on the site
    again = C.apply_run(client, writer, waiting.run_id, revalidate=True)
    assert again.results[0].status == Status.DONE
    again = C.apply_run(client, writer, summary.run_id, revalidate=True)  # nothing left there: nothing to report
    assert again.results == () and again.status == "done"
    assert site_q(server, "SELECT city FROM user WHERE id = ?", users[3])[0][0] == "Mine"
    with db.read() as conn:
        assert J.outbox_count(conn) == 0


def test_an_item_checked_absent_after_its_tries_is_held_as_not_applied(synced):
    """Sent, answers lost every time, and the site says it is not there: not "cannot tell"."""
    from lms_console.services.changes.applier import MAX_ATTEMPTS

    server, client, db, writer = synced
    user = q(db, "SELECT id FROM users WHERE id > 3 AND suspended = 0 LIMIT 1")[0][0]
    run_id = C.record(writer, C.plan_changes(db, [C.Change("user.suspend", {"id": user})]), profile="t", lms_user="a")
    with writer.batch() as raw:  # as a crash leaves it: marked sending, after the last try
        raw.execute("UPDATE change_items SET status = 'sending', attempts = ? WHERE run_id = ?", (MAX_ATTEMPTS, run_id))
    summary = C.apply_run(client, writer, run_id)
    [result] = summary.results
    assert result.status == Status.HELD and result.code == "notapplied"
    assert result.message.startswith("not applied: the site was checked and does not have it")
    assert site_q(server, "SELECT suspended FROM user WHERE id = ?", user)[0][0] == 0


def test_drop_withdraws_queued_items_but_never_touches_what_went_out(synced):
    server, client, db, writer = synced
    users = [r[0] for r in q(db, "SELECT id FROM users WHERE id > 3 AND suspended = 0 LIMIT 2")]
    plan = C.plan_changes(db, [C.Change("user.suspend", {"id": u}) for u in users])
    run_id = C.record(writer, plan, profile="t", lms_user="a")
    ids = [r[0] for r in q(db, "SELECT id FROM change_items WHERE run_id = ? ORDER BY seq", run_id)]
    assert J.release_held(writer, ids[0], "drop")  # queued: withdrawn
    assert not J.release_held(writer, ids[1], "keep")  # keep/theirs are for held items only
    summary = C.apply_run(client, writer, run_id)
    assert [r.status for r in summary.results] == [Status.SKIPPED, Status.DONE]
    assert not J.release_held(writer, ids[1], "drop")  # done: a late Drop changes nothing
    assert [r[0] for r in q(db, "SELECT status FROM change_items WHERE run_id = ? ORDER BY seq", run_id)] == [
        "skipped", "done"]


def test_a_change_to_a_target_with_one_in_the_outbox_is_refused_until_that_one_went(synced):
    """Offline, the local copy does not show what waits in the outbox: planning again would queue a
    duplicate, or an "already so" that the waiting change then undoes."""
    server, client, db, writer = synced
    user = q(db, "SELECT id FROM users WHERE id > 3 AND suspended = 0 LIMIT 1")[0][0]
    waiting = apply(_client_of_a_site_that_is_down(client), writer,
                    C.plan_changes(db, [C.Change("user.suspend", {"id": user})], title="Suspend one"))
    assert waiting.status == "waiting"
    twice = C.plan_changes(db, [C.Change("user.suspend", {"id": user})])  # a duplicate
    back = C.plan_changes(db, [C.Change("user.unsuspend", {"id": user})])  # "already so" in the local copy
    assert [i.outcome for i in (*twice.items, *back.items)] == [Outcome.ERROR, Outcome.ERROR]
    problem = back.items[0].problems[-1]
    with db.read() as conn:
        title = J.run_rows(conn, waiting.run_id)[0].title
    assert problem.message == f"“{title}” (run {waiting.run_id}) still waits in the outbox for the same target"
    assert "Journal › Outbox" in problem.fix
    C.apply_run(client, writer, waiting.run_id, revalidate=True)  # the site answers: it goes out
    assert [i.outcome for i in C.plan_changes(db, [C.Change("user.unsuspend", {"id": user})]).items] == [Outcome.APPLY]


def test_the_outbox_recheck_reads_each_thing_once(synced):
    """276 additions to one cohort used to read its member list 276 times, one account at a time too."""
    server, client, db, writer = synced
    cohort = q(db, "SELECT id FROM cohorts LIMIT 1")[0][0]
    users = [r[0] for r in q(db, "SELECT id FROM users WHERE id > 3 AND suspended = 0 AND id NOT IN "
                                 "(SELECT userid FROM cohort_members WHERE cohortid = ?) LIMIT 40", cohort)]
    plan = C.plan_changes(db, [C.Change("cohort.add_member", {"cohortid": cohort, "userid": u}) for u in users[:30]]
                          + [C.Change("user.suspend", {"id": u}) for u in users[30:]])
    waiting = apply(_client_of_a_site_that_is_down(client), writer, plan)
    assert waiting.status == "waiting"
    server.clear_requests()
    resumed = C.apply_run(client, writer, waiting.run_id, revalidate=True)
    assert resumed.status == "done", [(r.status, r.message) for r in resumed.results if r.status != Status.DONE]
    reads = [r["function"] for r in server.requests]
    assert reads.count("core_cohort_get_cohort_members") == 1
    assert reads.count("core_user_get_users_by_field") == 1  # the ten accounts in one call


def _client_of_a_site_that_is_down(client):
    import socket

    from lms_console.services.lms.http import HttpTransport, RetryPolicy
    from lms_console.services.lms.moodle import MoodleClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    transport = HttpTransport(f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=1))
    return MoodleClient(transport, client._token)


def test_a_write_answered_with_a_redirect_stops_the_run_and_sends_nothing_elsewhere(synced):
    """A web server that starts redirecting (http moved to https, a new host) answers the write with a 3xx:
    nothing was applied, the token never follows, and the run stops as failed with the items queued."""
    import threading

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from lms_console.services.lms.http import HttpTransport, RetryPolicy
    from lms_console.services.lms.moodle import MoodleClient

    server, client, db, writer = synced
    moved = make_server("127.0.0.1", 0, Response("moved", status=301, headers={
        "Location": "http://127.0.0.1:9/webservice/rest/server.php"}), threaded=True)
    threading.Thread(target=moved.serve_forever, daemon=True).start()
    try:
        redirecting = MoodleClient(HttpTransport(f"http://127.0.0.1:{moved.server_port}",
                                                 retry=RetryPolicy(attempts=2)), client._token)
        users = [r[0] for r in q(db, "SELECT id FROM users WHERE id > 3 AND suspended = 0 LIMIT 2")]
        summary = apply(redirecting, writer, C.plan_changes(db, [C.Change("user.suspend", {"id": u}) for u in users]))
    finally:
        moved.shutdown()
        moved.server_close()
    assert summary.status == "failed" and "redirect" in str(summary.error)
    assert {r.status for r in summary.results} == {Status.QUEUED}
    assert all(site_q(server, "SELECT suspended FROM user WHERE id = ?", u)[0][0] == 0 for u in users)
