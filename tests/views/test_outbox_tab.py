"""The Journal's Outbox tab against the sandbox: its title counts what the engine counts (as the status bar
does), it lists items in the order they go out with the time their run was planned, and each waiting item
says what actually holds it (the site not answering, a stopped or interrupted send, its turn behind a send)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from lms_console.models.journal_model import OutboxTableModel, outbox_reason, when
from lms_console.models.session import Online
from lms_console.services.changes import Change, Status, record
from lms_console.services.changes import journal as J

WAIT = 20_000
LEFT = Qt.MouseButton.LeftButton
WHY = OutboxTableModel.COL_MESSAGE


@pytest.fixture
def console(server, template, change_console):
    """(session, engine, window, pane): online on a copy of the synced template."""
    session, engine, window, views, _ = change_console(server, (), cache_from=template)
    return session, engine, window, views.pane


def _users(session, n: int, offset: int = 0) -> list[int]:
    with session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 2 AND suspended = 0 AND auth = 'manual' ORDER BY id LIMIT ? OFFSET ?",
            (n, offset))]


def _plan(qtbot, engine, users, city: str):
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan([Change("user.update", {"id": u, "fields": {"city": city}}) for u in users], title=f"To {city}")
    return planned.args[0]


def _queue(qtbot, engine, job) -> object:
    """Run ``job(writer)`` on the writer thread (recording runs into the outbox), then wait for the engine's count."""
    result = []
    engine.session.run_writer("test-queue", job, on_done=result.append)
    qtbot.waitUntil(lambda: bool(result), timeout=WAIT)
    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT):  # a count started now replaces any earlier one
        engine.refresh_outbox()
    return result[0]


def _show_outbox(qtbot, window, pane):
    with qtbot.waitSignal(pane.outbox_model.loaded, timeout=WAIT):
        window.outbox_indicator.clicked.emit()
    assert pane.tabs.currentIndex() == 1


def _reread(qtbot, pane):
    with qtbot.waitSignal(pane.outbox_model.loaded, timeout=WAIT):
        pane.outbox_model.refresh()


def _why(pane, run_id: int) -> list[str]:
    model = pane.outbox_model
    return [model.index(r, WHY).data() for r in range(model.rowCount()) if model.row_at(r).run_id == run_id]


def test_the_tab_title_counts_what_the_engine_counts_as_the_status_bar_does(qtbot, console):
    session, engine, window, pane = console
    first, more = _plan(qtbot, engine, _users(session, 3), "Lyon"), _plan(qtbot, engine, _users(session, 2, 3), "Nice")
    _queue(qtbot, engine, lambda w: record(w, first, profile="site", lms_user="admin"))
    _show_outbox(qtbot, window, pane)
    assert pane.tabs.tabText(1) == "Outbox (3)" and window.outbox_indicator.count() == 3

    # More waits (an apply queued behind a sync, the CLI): the engine counts it, the title says it at once,
    # not only after the outbox has been read again.
    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT) as counted:
        session.run_writer("test-more", lambda w: record(w, more, profile="site", lms_user="admin"),
                           on_done=lambda _r: engine.refresh_outbox())
    assert counted.args[0] == 5 and window.outbox_indicator.count() == 5
    assert pane.tabs.tabText(1) == "Outbox (5)"
    qtbot.waitUntil(lambda: pane.outbox_model.rowCount() == 5, timeout=WAIT)
    assert pane.tabs.tabText(1) == "Outbox (5)"


def test_items_are_listed_in_the_order_they_go_out_with_the_time_their_run_was_planned(qtbot, console):
    session, engine, window, pane = console
    early, late = _plan(qtbot, engine, _users(session, 3), "Metz"), _plan(qtbot, engine, _users(session, 2, 3), "Pau")
    planned = int(time.time()) - 600

    def queue(writer):
        first = record(writer, early, profile="site", lms_user="admin", now=planned)
        second = record(writer, late, profile="site", lms_user="admin", now=planned + 120)
        with writer.batch() as raw:
            ids = [r[0] for r in raw.execute("SELECT id FROM change_items WHERE run_id = ? ORDER BY seq", (first,))]
        # A send of the first run was stopped mid-batch: that batch went back to the outbox just now.
        J.mark(writer, ids[:2], Status.QUEUED)
        J.set_run_status(writer, first, "cancelled")
        return first, second

    first, second = _queue(qtbot, engine, queue)
    _show_outbox(qtbot, window, pane)
    model = pane.outbox_model
    assert [model.row_at(r).run_id for r in range(model.rowCount())] == [first] * 3 + [second] * 2  # as they go out
    shown = [model.index(r, model.COL_TIME).data() for r in range(model.rowCount())]
    assert shown == [when(planned)] * 3 + [when(planned + 120)] * 2  # not the time the batch went back
    assert shown == sorted(shown)  # so the order is also oldest plan first
    assert "in the order it goes out" in pane.subtitle.text()


def test_a_stopped_or_interrupted_send_is_said_so_not_the_site_not_answering(qtbot, console, server):
    session, engine, window, pane = console
    stopped, interrupted, fresh = (_plan(qtbot, engine, _users(session, 2, 2 * i), city)
                                   for i, city in enumerate(("Agen", "Albi", "Auch")))

    def queue(writer):
        runs = [record(writer, p, profile="site", lms_user="admin") for p in (stopped, interrupted, fresh)]
        J.set_run_status(writer, runs[1], "applying")  # the console closed while it went out
        return runs

    runs = _queue(qtbot, engine, queue)
    _show_outbox(qtbot, window, pane)

    # A real send of the outbox, cancelled by the admin while it re-checks the items against the site.
    server.set_faults(latency_ms=1500)
    try:
        name = f"outbox {session.profile.name}"
        qtbot.mouseClick(pane.send_button, LEFT)
        qtbot.waitUntil(lambda: session.runner.is_running(name), timeout=WAIT)
        model = pane.outbox_model
        qtbot.waitUntil(lambda: _why(pane, runs[2])[:1] == ["waits its turn: goes out after the changes above it"],
                        timeout=WAIT)

        def status(run_id):
            with session.db.read() as conn:
                return conn.exec_driver_sql("SELECT status FROM change_runs WHERE id = ?", (run_id,)).scalar()

        qtbot.waitUntil(lambda: status(runs[0]) == "applying", timeout=WAIT)
        with qtbot.waitSignal(engine.applied, timeout=WAIT):
            session.runner.cancel_named(name)
    finally:
        server.clear_faults()
    assert status(runs[0]) == "cancelled" and status(runs[1]) == "applying"
    qtbot.waitUntil(lambda: not session.runner.is_running(name), timeout=WAIT)
    _reread(qtbot, pane)
    assert model.rowCount() == 6 and session.state.status == Online.ONLINE
    assert _why(pane, runs[0]) == ["the send was stopped before this went out: Send now sends it, in order"] * 2
    assert _why(pane, runs[1]) == ["the send was interrupted (the console closed) before this went out: "
                                   "Send now sends it, in order"] * 2
    assert _why(pane, runs[2]) == ["not sent yet: Send now sends it, in order"] * 2
    # Nothing goes out now: a run left "applying" waits like the others, it is not "Queued".
    assert {model.index(r, model.COL_STATUS).data() for r in range(6)} == {"Waiting to be sent"}
    assert not any("waits for the site" in why for why in _why(pane, runs[0]))


def _item(status: str = "queued", code: str = "", message: str = "") -> J.JournalRow:
    return J.JournalRow(1, 7, 1, 0, "site", "admin", "user.update", "user:5", "Move", {}, {}, status, "", code, message,
                        None, None, None)


def _say(run: str, row: J.JournalRow | None = None, *, going_out: bool = False, sending: bool = False,
         state: Online = Online.ONLINE) -> str:
    return outbox_reason(row or _item(), run, going_out=going_out, sending=sending, state=state)


def test_the_reason_follows_what_holds_the_item():
    assert _say("waiting", state=Online.OFFLINE) == ("waits for the site to answer; goes out in order when it answers "
                                                     "again")
    assert _say("waiting") == "the site stopped answering while this run went out: Send now sends it, in order"
    assert _say("cancelled", sending=True) == "waits its turn: goes out after the changes above it"
    assert _say("applying", going_out=True, sending=True) == "being sent now, in order"
    assert "sign in again" in _say("failed", state=Online.AUTH_FAILED)
    assert _say("held", _item(code="kept", message="kept by the admin: will be sent")) == \
        "kept by the admin: will be sent"
    held = _item("held", "conflict", "changed on the site since it was planned")
    assert _say("held", held).startswith("changed on the site since it was planned")
