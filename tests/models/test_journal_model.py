"""JournalTableModel (paged, filtered, exported off the GUI thread) and OutboxTableModel,
over the journal of real runs against the sandbox."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from lms_console.models.changes_model import ChangeEngine
from lms_console.models.journal_model import JournalTableModel, OutboxTableModel
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.changes import Change, Status, record
from lms_console.services.changes import journal as J

DISPLAY = Qt.ItemDataRole.DisplayRole
WAIT = 20000


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=80, courses=2, seed=37).start()
    yield site
    site.stop()


@pytest.fixture
def engine(qtbot, server, go_online):
    runner = TaskRunner(http_workers=2)
    session = ConnectionSession(runner)
    engine = ChangeEngine(session)
    go_online(session, server, ("site", "users", "courses", "cohorts", "enrolments"))
    yield engine
    session.close()
    runner.shutdown(wait=True)


def _users(engine, n):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT ?", (n,))]


def _run(qtbot, engine, changes, title):
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan(changes, title=title)
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        engine.apply(planned.args[0])
    return applied.args[0]


def _load(qtbot, model, **flt):
    with qtbot.waitSignal(model.loaded, timeout=WAIT) as loaded:
        if flt:
            model.set_filter(**flt)
        else:
            model.refresh()
    return loaded.args[0]


def test_pages_are_read_as_the_view_needs_them(qtbot, qtmodeltester, engine):
    users = _users(engine, 12)
    summary = _run(qtbot, engine, [Change("user.update", {"id": u, "fields": {"city": "Porto"}}) for u in users],
                   "Move twelve to Porto")
    model = JournalTableModel(engine.session, page_size=5)
    assert model.rowCount() == 0  # nothing is read before the pane asks
    assert _load(qtbot, model) == 12
    assert model.rowCount() == 12 and model.row_at(4) is not None and model.row_at(7) is None
    assert model.index(7, JournalTableModel.COL_TITLE).data(DISPLAY) == "Loading…"
    with qtbot.waitSignal(model.dataChanged, timeout=WAIT):
        pass  # the page of row 7 arrives from the runner
    row = model.row_at(7)
    assert row is not None and row.run_id == summary.run_id
    model.index(11, 0).data(DISPLAY)  # scrolled to the end: the last page is asked for
    qtbot.waitUntil(lambda: model.row_at(11) is not None, timeout=WAIT)
    qtmodeltester.check(model)
    assert model.index(0, JournalTableModel.COL_STATUS).data(DISPLAY) == "Done"
    assert model.index(0, JournalTableModel.COL_BEFORE).data(DISPLAY).startswith("city: ")
    assert model.index(0, JournalTableModel.COL_AFTER).data(DISPLAY) == "city: Porto"
    assert model.index(0, JournalTableModel.COL_FUNCTION).data(DISPLAY) == "core_user_update_users"
    assert model.index(0, JournalTableModel.COL_PROFILE).data(DISPLAY) == "site"


def test_filters_search_and_follow_new_runs(qtbot, engine):
    users = _users(engine, 5)
    first = _run(qtbot, engine, [Change("user.suspend", {"id": u}) for u in users[:3]], "Suspend three")
    model = JournalTableModel(engine.session)
    assert _load(qtbot, model) == 3
    kinds = []
    model.kinds_loaded.connect(kinds.append)
    # A new run re-queries by itself (cache_changed after the run).
    with qtbot.waitSignal(model.loaded, timeout=WAIT) as loaded:
        _run(qtbot, engine, [Change("user.update", {"id": u, "fields": {"department": "Physics"}})
                             for u in users[3:]], "Physics department")
    qtbot.waitUntil(lambda: model.total() == 5, timeout=WAIT)
    assert loaded.args[0] in (3, 5)
    assert kinds and kinds[-1] == ["user.suspend", "user.update"]
    assert _load(qtbot, model, search="physics") == 2  # the run's title matches
    assert _load(qtbot, model, search="", kinds=["user.suspend"]) == 3
    assert _load(qtbot, model, kinds=[], statuses=["failed"]) == 0
    assert _load(qtbot, model, statuses=[], run_id=first.run_id) == 3
    assert [model.row_at(r).seq for r in range(3)] == [1, 2, 3]  # a run reads in plan order
    assert _load(qtbot, model, run_id=None) == 5


def test_export_writes_safe_csv_and_xlsx(qtbot, engine, tmp_path):
    user = _users(engine, 1)[0]
    _run(qtbot, engine, [Change("user.update", {"id": user, "fields": {"department": "=HYPERLINK(1)"}})],
         "@risky title")
    model = JournalTableModel(engine.session)
    _load(qtbot, model)
    with qtbot.waitSignal(model.exported, timeout=WAIT) as exported:
        model.export(tmp_path / "journal.csv")
    assert exported.args == [str(tmp_path / "journal.csv"), 1]
    with open(tmp_path / "journal.csv", encoding="utf-8-sig") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert any("HYPERLINK" in c for c in cells)
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    with qtbot.waitSignal(model.exported, timeout=WAIT):
        model.export(tmp_path / "journal.xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "journal.xlsx").active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    with qtbot.waitSignal(model.export_failed, timeout=WAIT) as failed:
        model.export(tmp_path / "no-such-folder" / "journal.csv")
    assert "Could not write" in failed.args[0]


def test_outbox_lists_waiting_and_held_items(qtbot, qtmodeltester, engine):
    users = _users(engine, 2)
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan([Change("user.suspend", {"id": u}) for u in users], title="Offline suspensions")
    plan = planned.args[0]

    def queue_and_hold(writer):
        run_id = record(writer, plan, profile="site", lms_user="admin")
        with writer.batch() as raw:
            ids = [r[0] for r in raw.execute("SELECT id FROM change_items WHERE run_id = ? ORDER BY seq", (run_id,))]
        J.mark(writer, ids[:1], Status.HELD, code="conflict", message="changed on the site since it was planned")
        return ids

    with qtbot.waitSignal(engine.session.runner.job_changed, timeout=WAIT,
                          check_params_cb=lambda info: info.name == "hold" and info.state.finished):
        engine.session.run_writer("hold", queue_and_hold)
    model = OutboxTableModel(engine.session)
    with qtbot.waitSignal(model.loaded, timeout=WAIT) as loaded:
        model.refresh()
    assert loaded.args[0] == 2 and model.held_count() == 1
    qtmodeltester.check(model)
    assert model.index(0, OutboxTableModel.COL_STATUS).data(DISPLAY) == "Held"
    assert "changed on the site" in model.index(0, OutboxTableModel.COL_MESSAGE).data(DISPLAY)
    assert model.index(0, OutboxTableModel.COL_CHANGE).data(DISPLAY) == "suspended: no → suspended: yes"
    assert "Send now sends it, in order" in model.index(1, OutboxTableModel.COL_MESSAGE).data(DISPLAY)  # the site answers
