"""ChangeEngine (Qt side of the change engine) against the sandbox: plan, apply, broadcast, undo."""

from __future__ import annotations

import pytest

from lms_console.models.changes_model import ChangeEngine
from lms_console.models.session import ConnectionSession, Online
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
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
