"""ChangeEngine (Qt side of the change engine) against the sandbox: plan, apply, broadcast, undo."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lms_console.models.changes_model import ChangeEngine
from lms_console.models.session import ConnectionSession, Online
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.cache.db import CacheDb
from lms_console.services.changes import Change, Status
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore


@pytest.fixture
def engine(qtbot):
    server = SandboxServer(users=80, courses=3, seed=23).start()
    runner = TaskRunner(http_workers=4)
    session = ConnectionSession(runner)
    engine = ChangeEngine(session)
    profile = ProfileStore().add("site", server.url)
    session.open(profile, Secret(server.admin_token))
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=10000)
    with qtbot.waitSignal(session.sync_finished, timeout=60000):
        session.sync(("site", "users", "courses", "cohorts", "enrolments"))
    yield engine, server
    session.close()
    runner.shutdown(wait=True)
    server.stop()


def test_plan_apply_broadcast_and_undo(qtbot, engine):
    engine, server = engine
    with engine.session.db.read() as conn:
        users = [r[0] for r in conn.exec_driver_sql("SELECT id FROM users WHERE id > 3 AND suspended = 0 LIMIT 4")]
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan([Change("user.suspend", {"id": u}) for u in users], title="Suspend four")
    plan = planned.args[0]
    assert plan.counts["apply"] == 4 and plan.title == "Suspend four"
    broadcasts = []
    engine.changes_applied.connect(broadcasts.append)
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(plan)
    summary = applied.args[0]
    assert summary.status == "done" and summary.count(Status.DONE) == 4
    assert broadcasts and "users" in broadcasts[0].entities
    with server.store.connection() as conn:
        assert [r[0] for r in conn.execute(f"SELECT suspended FROM user WHERE id IN ({','.join(map(str, users))})")] \
            == [1, 1, 1, 1]
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan_undo(run_id=summary.run_id)
    undo = planned.args[0]
    assert [i.change.kind for i in undo.items] == ["user.unsuspend"] * 4
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(undo)
    assert applied.args[0].status == "done"
    with engine.session.db.read() as conn:
        statuses = {r[0] for r in conn.exec_driver_sql("SELECT status FROM change_items WHERE run_id = ?",
                                                        (summary.run_id,))}
    assert statuses == {"undone"}


def test_outbox_count_is_published(qtbot, engine):
    engine, _server = engine
    with qtbot.waitSignal(engine.outbox_changed, timeout=10000) as counted:
        engine.refresh_outbox()
    assert counted.args[0] == 0


def _users(engine, n):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT ?", (n,))]


def _queue(qtbot, engine, changes) -> int:
    """Record ``changes`` in the outbox without sending them (as an apply that found the site down)."""
    from lms_console.services.changes import plan_changes, record

    plan = plan_changes(engine.session.db, changes)
    run = []
    engine.session.run_writer("queue", lambda w: run.append(record(w, plan, profile="site", lms_user="admin")))
    qtbot.waitUntil(lambda: bool(run), timeout=10000)
    return run[0]


def _statuses(engine, run_id):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT status FROM change_items WHERE run_id = ? ORDER BY seq",
                                                   (run_id,))]


def _suspended_on_site(server, users):
    with server.store.connection() as conn:
        return [r[0] for r in conn.execute(f"SELECT suspended FROM user WHERE id IN ({','.join(map(str, users))}) "
                                           "ORDER BY id")]


def test_an_apply_the_site_does_not_answer_goes_offline_and_goes_out_when_it_answers(qtbot, engine, monkeypatch):
    engine, server = engine
    monkeypatch.setattr("lms_console.models.session.RETRY_DELAYS_S", (0.2,))  # no real back-off in a test
    users = _users(engine, 3)
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan([Change("user.suspend", {"id": u}) for u in users], title="Suspend three")
    server.set_faults(drop_before_rate=1.0)  # the site stops answering
    with qtbot.waitSignal(engine.applied, timeout=60000) as applied:
        engine.apply(planned.args[0])
    assert applied.args[0].status == "waiting"
    assert engine.session.state.status == Online.OFFLINE  # so the session retries, and says so
    with qtbot.waitSignal(engine.applied, timeout=60000) as resent:
        server.clear_faults()
    assert resent.args[0].status == "done" and resent.args[0].count(Status.DONE) == 3
    assert _suspended_on_site(server, users) == [1, 1, 1]


def test_send_now_twice_sends_once_and_a_cancelled_send_keeps_the_outbox(qtbot, engine):
    engine, server = engine
    users = _users(engine, 6)
    first = _queue(qtbot, engine, [Change("user.suspend", {"id": u}) for u in users[:3]])
    second = _queue(qtbot, engine, [Change("user.suspend", {"id": u}) for u in users[3:]])
    server.set_faults(latency_ms=150)
    job = engine.resume_outbox()
    assert job is not None and engine.resume_outbox() is None  # the second click does not cancel the first
    with qtbot.waitSignal(engine.applied, timeout=60000) as applied:
        qtbot.waitUntil(lambda: "done" in _statuses(engine, first), timeout=30000)
        engine.runner.cancel(job)  # the admin presses Cancel while it goes out
    assert applied.args[0].status == "cancelled"
    left = _statuses(engine, first) + _statuses(engine, second)
    assert "skipped" not in left and "queued" in left  # what was not sent still waits, nothing was dropped
    server.clear_faults()
    with qtbot.waitSignal(engine.applied, timeout=60000) as applied:
        engine.resume_outbox()
    summary = applied.args[0]
    assert summary.status == "done" and summary.run_id == second  # both runs, reported as one
    assert _statuses(engine, first) + _statuses(engine, second) == ["done"] * 6
    assert _suspended_on_site(server, users) == [1] * 6


def test_what_waited_goes_out_when_the_profile_is_opened_again(qtbot, engine):
    engine, server = engine
    users = _users(engine, 2)
    run = _queue(qtbot, engine, [Change("user.suspend", {"id": u}) for u in users])
    session = engine.session
    profile = session.profile
    session.close()
    with qtbot.waitSignal(engine.applied, timeout=60000) as applied:
        session.open(profile, Secret(server.admin_token))
    assert applied.args[0].status == "done" and _statuses(engine, run) == ["done", "done"]


def test_decisions_on_several_items_apply_to_all_and_drop_withdraws_queued_ones(qtbot, engine):
    from lms_console.services.changes import journal as J

    engine, server = engine
    users = _users(engine, 5)
    run = _queue(qtbot, engine, [Change("user.suspend", {"id": u}) for u in users])
    with engine.session.db.read() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM change_items WHERE run_id = ? ORDER BY seq", (run,))]
    engine.session.run_writer("hold", lambda w: J.mark(w, ids[:3], Status.HELD, code="conflict"))
    with qtbot.waitSignal(engine.outbox_changed, timeout=10000):
        engine.release_held(ids[:3], "theirs")  # three held items at once: all three
        engine.release_held(ids[3:], "drop")  # queued, not sent yet: withdrawn
    qtbot.waitUntil(lambda: _statuses(engine, run) == ["skipped"] * 5, timeout=10000)
    assert engine.resume_outbox() is not None
    qtbot.wait(500)
    assert _suspended_on_site(server, users) == [0] * 5  # nothing went out


def test_an_undo_holds_a_change_made_on_the_site_since_and_undoes_the_rest(qtbot, engine):
    engine, server = engine
    users = _users(engine, 2)
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan([Change("user.update", {"id": u, "fields": {"department": "Mine"}}) for u in users])
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(planned.args[0])
    run = applied.args[0].run_id
    with server.store.connection() as conn:  # a colleague edits the second account on the site
        conn.execute("UPDATE user SET department = 'Theirs' WHERE id = ?", (users[1],))
        conn.commit()
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan_undo(run_id=run)
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(planned.args[0])
    assert applied.args[0].status == "held"
    assert _statuses(engine, run) == ["undone", "done"]  # only what went back is marked undone
    with server.store.connection() as conn:
        assert conn.execute("SELECT department FROM user WHERE id = ?", (users[1],)).fetchone()[0] == "Theirs"


def _suspend_and_plan_undo(qtbot, engine, users):
    """Suspend ``users`` through the engine, then plan the undo of that run: (run id, the undo's plan)."""
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan([Change("user.suspend", {"id": u}) for u in users], title=f"Suspend {len(users)}")
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(planned.args[0])
    run = applied.args[0].run_id
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan_undo(run_id=run)
    return run, planned.args[0]


def test_a_partly_failed_undo_marks_only_what_it_undid(qtbot, engine):
    engine, server = engine
    users = _users(engine, 3)
    run, undo = _suspend_and_plan_undo(qtbot, engine, users)
    with server.store.connection() as conn:  # one of them is deleted on the site before the undo goes
        conn.execute("UPDATE user SET deleted = 1 WHERE id = ?", (users[1],))
        conn.commit()
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(undo)
    assert applied.args[0].status == "partial"
    assert _statuses(engine, run) == ["undone", "done", "undone"]  # the failed undo leaves its original done


def test_an_undo_that_changed_nothing_still_marks_what_was_already_so(qtbot, engine):
    """Every undo item sent failed, the others were already undone on the site: the undo run is failed
    (nothing changed), and the originals already back as they were are marked undone all the same."""
    engine, server = engine
    users = _users(engine, 2)
    run, undo = _suspend_and_plan_undo(qtbot, engine, users)
    with server.store.connection() as conn:  # on the site meanwhile: one reactivated by hand, one deleted
        conn.execute("UPDATE user SET suspended = 0 WHERE id = ?", (users[0],))
        conn.execute("UPDATE user SET deleted = 1 WHERE id = ?", (users[1],))
        conn.commit()
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(undo)
    summary = applied.args[0]
    assert sorted(_statuses(engine, summary.run_id)) == ["failed", "skipped"]  # refused; already so
    assert summary.status == "failed" and not summary.stopped
    assert _statuses(engine, run) == ["undone", "done"]


def test_a_run_of_the_outbox_that_failed_whole_does_not_hold_back_the_next(qtbot, engine):
    """A run whose items the site all refused is failed, but it did not stop: the outbox sends the runs
    after it, and reports the send as partly failed."""
    engine, server = engine
    users = _users(engine, 3)
    first = _queue(qtbot, engine, [Change("user.suspend", {"id": u}) for u in users[:2]])
    second = _queue(qtbot, engine, [Change("user.suspend", {"id": users[2]})])
    with server.store.connection() as conn:  # both accounts of the first run deleted on the site meanwhile
        conn.execute(f"UPDATE user SET deleted = 1 WHERE id IN ({users[0]}, {users[1]})")
        conn.commit()
    with qtbot.waitSignal(engine.applied, timeout=60000) as applied:
        engine.resume_outbox()
    summary = applied.args[0]
    assert _statuses(engine, first) == ["failed", "failed"] and _statuses(engine, second) == ["done"]
    assert summary.status == "partial" and summary.run_id == second
    assert _suspended_on_site(server, users[2:]) == [1]


def _undo_waiting_in_the_outbox(qtbot, engine, server, monkeypatch, *, whole_run: bool):
    """Suspend three accounts, then undo the run (or its first two items) while the site answers nothing:
    the undo waits in the outbox. Returns (the original run, its accounts)."""
    monkeypatch.setattr("lms_console.models.session.RETRY_DELAYS_S", (0.2,))  # no real back-off in a test
    users = _users(engine, 3)
    run, undo = _suspend_and_plan_undo(qtbot, engine, users)
    if not whole_run:
        with engine.session.db.read() as conn:
            ids = [r[0] for r in conn.exec_driver_sql(
                "SELECT id FROM change_items WHERE run_id = ? ORDER BY seq LIMIT 2", (run,))]
        with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
            engine.plan_undo(item_ids=ids)
        undo = planned.args[0]
    server.set_faults(drop_before_rate=1.0)  # the site stops answering
    with qtbot.waitSignal(engine.applied, timeout=60000) as applied:
        engine.apply(undo)
    assert applied.args[0].status == "waiting"
    assert _statuses(engine, run) == ["done"] * 3 and _suspended_on_site(server, users) == [1, 1, 1]
    return run, users


@pytest.mark.parametrize("whole_run", [True, False], ids=["run", "items"])
def test_an_undo_sent_later_from_the_outbox_marks_its_originals_undone(qtbot, engine, monkeypatch, whole_run):
    """QA: an undo that waited in the outbox went out when the site answered again, but the journal kept
    showing the run as done (and offered Undo for it again)."""
    engine, server = engine
    run, users = _undo_waiting_in_the_outbox(qtbot, engine, server, monkeypatch, whole_run=whole_run)
    with qtbot.waitSignal(engine.applied, timeout=60000) as resent:
        server.clear_faults()  # the site answers again: the outbox goes out
    assert resent.args[0].status == "done"
    if whole_run:
        assert _statuses(engine, run) == ["undone"] * 3 and _suspended_on_site(server, users) == [0, 0, 0]
    else:  # only the chosen items
        assert _statuses(engine, run) == ["undone", "undone", "done"]
        assert _suspended_on_site(server, users) == [0, 0, 1]


def test_an_undo_sent_by_apply_resume_marks_its_originals_undone(qtbot, engine, monkeypatch):
    """The console's undo left waiting in the outbox, sent by `lms-console apply --resume`."""
    engine, server = engine
    run, users = _undo_waiting_in_the_outbox(qtbot, engine, server, monkeypatch, whole_run=True)
    engine.session.close()  # the console is closed before the site answers again
    closed = []
    engine.runner.run("barrier", lambda p, c: closed.append(True), writer=True)
    qtbot.waitUntil(lambda: bool(closed), timeout=10000)
    server.clear_faults()
    out = subprocess.run([sys.executable, "-m", "lms_console", "apply", "-p", "site", "--resume", "-q"],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, LMS_CONSOLE_TOKEN=server.admin_token))
    assert out.returncode == 0, out.stdout + out.stderr
    assert _suspended_on_site(server, users) == [0, 0, 0]
    with CacheDb.open(ProfileStore().get("site").cache_path) as db, db.read() as conn:
        statuses = [r[0] for r in conn.exec_driver_sql(
            "SELECT status FROM change_items WHERE run_id = ? ORDER BY seq", (run,))]
    assert statuses == ["undone"] * 3


def _apply(qtbot, engine, plan):
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(plan)
    return applied.args[0]


def _planned(qtbot, engine, ask):
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        ask()
    return planned.args[0]


@pytest.mark.parametrize("whole_run", [True, False], ids=["run", "items"])
def test_a_retry_of_a_partly_failed_undo_marks_its_originals_undone(qtbot, engine, whole_run):
    """QA: "Retry failed" on an undo whose item for one account failed made a normal run: when it went
    through, the original suspension was still shown as done (and offered for Undo again)."""
    engine, server = engine
    users = _users(engine, 3)
    run, undo = _suspend_and_plan_undo(qtbot, engine, users)
    if not whole_run:
        with engine.session.db.read() as conn:
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM change_items WHERE run_id = ? ORDER BY seq",
                                                      (run,))]
        undo = _planned(qtbot, engine, lambda: engine.plan_undo(item_ids=ids))
    with server.store.connection() as conn:  # one of them is deleted on the site before the undo goes
        conn.execute("UPDATE user SET deleted = 1 WHERE id = ?", (users[1],))
        conn.commit()
    failed_undo = _apply(qtbot, engine, undo)
    assert failed_undo.status == "partial" and _statuses(engine, run) == ["undone", "done", "undone"]
    with server.store.connection() as conn:  # the admin brings the account back
        conn.execute("UPDATE user SET deleted = 0 WHERE id = ?", (users[1],))
        conn.commit()
    with qtbot.waitSignal(engine.session.sync_finished, timeout=60000):
        engine.session.sync(("users",))
    retry = _planned(qtbot, engine, lambda: engine.plan_retry(failed_undo.run_id))
    assert [(i.change.kind, i.change.data["id"]) for i in retry.items] == [("user.unsuspend", users[1])]
    assert _apply(qtbot, engine, retry).status == "done"
    assert _suspended_on_site(server, users) == [0, 0, 0]
    assert _statuses(engine, run) == ["undone"] * 3


def test_a_retry_names_what_it_leaves_out_in_its_notes(qtbot, engine):
    """QA: "Retry failed" left out, without a word, a membership of an account whose creation was undone since."""
    engine, server = engine
    with engine.session.db.read() as conn:
        cohort = conn.exec_driver_sql("SELECT id FROM cohorts LIMIT 1").scalar()
    plan = _planned(qtbot, engine, lambda: engine.plan([
        Change("user.create", {"username": "left.out", "firstname": "Left", "lastname": "Out",
                               "email": "left.out@example.org", "password": "Fresh#2024x"}),
        Change("cohort.add_member", {"cohortid": cohort, "userid": {"ref": 1, "field": "id"}})]))
    with server.store.connection() as conn:  # the cohort goes away on the site: the membership fails
        conn.execute("DELETE FROM cohort WHERE id = ?", (cohort,))
        conn.commit()
    run = _apply(qtbot, engine, plan).run_id
    assert _statuses(engine, run) == ["done", "failed"]
    with engine.session.db.read() as conn:
        created = conn.exec_driver_sql("SELECT id FROM change_items WHERE run_id = ? AND seq = 1", (run,)).scalar()
    _apply(qtbot, engine, _planned(qtbot, engine, lambda: engine.plan_undo(item_ids=[created])))
    assert _statuses(engine, run) == ["undone", "failed"]
    with qtbot.waitSignal(engine.plan_failed, timeout=10000) as failed:  # nothing left to retry: said why
        engine.plan_retry(run)
    note = str(failed.args[0])
    assert note.startswith(f"Nothing in run {run} can be retried: 1 failed change is left out of the retry: “")
    assert plan.items[1].title in note
    assert f"(it needs “{plan.items[0].title}”, which was undone since)" in note


def test_a_retry_with_nothing_to_retry_says_so_instead_of_an_empty_preview(qtbot, engine):
    engine, _server = engine
    run, _undo = _suspend_and_plan_undo(qtbot, engine, _users(engine, 2))  # a run in which everything went through
    with qtbot.waitSignal(engine.plan_failed, timeout=10000) as failed:
        engine.plan_retry(run)
    assert str(failed.args[0]) == f"Nothing in run {run} can be retried: none of its changes failed."
