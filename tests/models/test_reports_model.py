"""ReportsModel against a synced sandbox: reports, drill-down, snapshots, comparison, grades, exports;
the table models pass qtmodeltester."""

from __future__ import annotations


import pytest
from PySide6.QtCore import Qt

from lms_console.models.reports_model import (
    FrameTableModel,
    ReportsModel,
    SnapshotsModel,
    format_cell,
)
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.reports import DrillRequest, ReportParams, RequiredCourse


@pytest.fixture(scope="module")
def site():
    server = SandboxServer(users=120, courses=4, seed=17).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template(site, tmp_path_factory, synced_template):
    """The site synced without grades (as a default sync leaves them out)."""
    return synced_template(site, tmp_path_factory.mktemp("reports-model") / "template.sqlite")


@pytest.fixture
def model(qtbot, site, template, go_online):
    runner = TaskRunner(http_workers=4)
    session = ConnectionSession(runner)
    m = ReportsModel(session)
    go_online(session, site, cache_from=template)
    yield m
    session.close()
    runner.shutdown(wait=True)


def run(qtbot, m, kind, params=None):
    with qtbot.waitSignal(m.report_ready, timeout=30000) as got:
        m.run(kind, params or ReportParams())
    return got.args[0]


def test_runs_reports_off_the_gui_thread(qtbot, model):
    r = run(qtbot, model, "completion")
    assert not r.is_empty and model.current is r and r.main["Learners"].sum() > 0
    # Asking again before the first answers: only the last one arrives.
    got = []
    model.report_ready.connect(got.append)
    model.run("engagement", ReportParams())
    with qtbot.waitSignal(model.report_ready, timeout=30000):
        model.run("enrolments", ReportParams())
    qtbot.wait(200)
    assert [x.kind for x in got] == ["enrolments"]


def test_table_models_pass_the_model_tester(qtbot, qtmodeltester, model):
    r = run(qtbot, model, "compliance", ReportParams(cohorts=(1, 2, 3), required=(RequiredCourse(2, 1), RequiredCourse(3))))
    table = FrameTableModel(colours=lambda key: key)
    table.set_frame(r.tables["matrix"], status_columns=r.chart["status_columns"])
    qtmodeltester.check(table)
    assert "_userid" not in table.columns() and table.rowCount() == len(r.tables["matrix"])
    status_col = next(i for i, c in enumerate(table.columns()) if c in r.chart["status_columns"])
    tones = {table.data(table.index(row, status_col), Qt.ItemDataRole.ForegroundRole) for row in range(table.rowCount())}
    assert tones <= {"success", "error", "info", "text_muted"} and "error" in tones  # due date 1 = long overdue
    table.sort(0, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(table)
    empty = FrameTableModel()
    qtmodeltester.check(empty)
    snaps = SnapshotsModel()
    qtmodeltester.check(snaps)


def test_drill_down_from_a_table_cell(qtbot, model):
    r = run(qtbot, model, "completion")
    table = FrameTableModel()
    table.set_frame(r.main)
    col = table.column_of("Completed")
    row = next(i for i in range(table.rowCount()) if table.value(i, col) > 0)
    request = table.drill_request(table.index(row, col), dict(r.drill))
    assert request.status == "completed" and request.key.startswith("course:")
    with qtbot.waitSignal(model.drill_ready, timeout=20000) as got:
        model.drill(request)
    users = got.args[0].users
    assert len(users) == table.value(row, col)
    assert table.drill_request(table.index(row, 0), dict(r.drill)) is None  # the name column has no users


def test_snapshots_save_open_compare(qtbot, model):
    r = run(qtbot, model, "completion", ReportParams(group_by="cohort"))
    with qtbot.waitSignal(model.snapshots_loaded, timeout=20000) as listed:
        model.save_snapshot(r)
    items = listed.args[0]
    assert len(items) == 1 and items[0].kind == "completion" and not items[0].auto
    with qtbot.waitSignal(model.report_ready, timeout=20000) as opened:
        model.open_snapshot(items[0].id)
    snap = opened.args[0]
    assert snap.from_snapshot and snap.main.equals(r.main) and snap.params == r.params
    problems = []
    model.problem.connect(problems.append)
    assert model.save_snapshot(snap) is None and problems == ["This is a snapshot already."]
    run(qtbot, model, "completion", ReportParams(group_by="cohort"))
    with qtbot.waitSignal(model.comparison_ready, timeout=20000) as compared:
        model.compare(items[0].id)
    cmp = compared.args[0]
    assert cmp.table is not None and cmp.counts["changed"] == 0 and "Nothing changed" in cmp.message
    with qtbot.waitSignal(model.snapshots_loaded, timeout=20000) as listed:
        model.delete_snapshots([items[0].id])
    assert listed.args[0] == []


def test_auto_snapshot_after_sync(qtbot, model):
    run(qtbot, model, "engagement")
    model.auto_snapshot = True
    with qtbot.waitSignal(model.snapshot_saved, timeout=60000):
        model.session.sync(("users",))
    with qtbot.waitSignal(model.snapshots_loaded, timeout=20000) as listed:
        model.refresh_snapshots()
    assert [(s.kind, s.auto) for s in listed.args[0]] == [("engagement", True)]


def test_fetch_grades_then_the_assessment_report(qtbot, model):
    r = run(qtbot, model, "assessment")
    assert r.is_empty and "fetch_grades" in r.actions
    model.active = True
    with qtbot.waitSignal(model.grades_fetch_started, timeout=5000):
        assert model.fetch_grades([2]) is not None
    with qtbot.waitSignal(model.report_ready, timeout=60000) as again:  # re-run when the grades are in
        pass
    assert again.args[0].kind == "assessment" and not again.args[0].is_empty


def test_exports_off_the_gui_thread(qtbot, model, tmp_path):
    r = run(qtbot, model, "enrolments")
    for fmt in ("csv", "xlsx"):
        with qtbot.waitSignal(model.exported, timeout=20000) as done:
            model.export_data(r, str(tmp_path / f"e.{fmt}"), fmt)
        assert (tmp_path / f"e.{fmt}").stat().st_size > 0 and done.args[0].endswith(fmt)
    with qtbot.waitSignal(model.problem, timeout=20000) as failed:
        model.export_data(r, str(tmp_path / "missing" / "e.csv"), "csv")
    assert "could not be written" in failed.args[0]


def test_two_exports_at_once_both_get_written(qtbot, model, tmp_path):
    r = run(qtbot, model, "enrolments")
    written = []
    model.exported.connect(written.append)
    model.export_data(r, str(tmp_path / "a.csv"), "csv")
    model.export_data(r, str(tmp_path / "a.xlsx"), "xlsx")  # used to cancel the first
    qtbot.waitUntil(lambda: len(written) == 2, timeout=20000)
    assert (tmp_path / "a.csv").stat().st_size > 0 and (tmp_path / "a.xlsx").stat().st_size > 0


def test_grades_cannot_be_fetched_offline_and_a_failed_fetch_says_so(qtbot, model, site):
    from lms_console.models.session import Online

    session = model.session
    site.set_faults(drop_before_rate=1.0)  # the site stops answering
    try:
        with qtbot.waitSignal(model.problem, timeout=60000) as failed:
            assert model.fetch_grades([2]) is not None
        assert failed.args[0].startswith("The grades were not fetched (")
        qtbot.waitUntil(lambda: session.state.status == Online.OFFLINE, timeout=30000)
        with qtbot.waitSignal(model.problem, timeout=1000) as refused:
            assert model.fetch_grades([2]) is None
        assert refused.args[0].startswith("The site is not answering, so the grades cannot be fetched now")
    finally:
        site.clear_faults()


def test_nothing_open(qtbot):
    runner = TaskRunner(http_workers=1)
    try:
        m = ReportsModel(ConnectionSession(runner))
        with qtbot.waitSignal(m.problem, timeout=1000) as p:
            assert m.run("completion", ReportParams()) is None
        assert "Open a connection profile" in p.args[0]
        assert m.drill(DrillRequest("course:1")) is None
    finally:
        runner.shutdown(wait=True)


@pytest.mark.parametrize("value, column, text", [
    (1234, "Learners", "1,234"), (12.34, "Completion %", "12.3"), (3.0, "Learners", "3"), (None, "x", ""),
    (float("nan"), "x", ""), (5, "Δ Completed", "▲ +5"), (-2, "Δ Completed", "▼ −2"), (0, "Δ Completed", "0"),
    (-1.25, "Δ Completion %", "▼ −1.2"), ("Overdue", "C1", "Overdue"), (True, "x", "yes"),
])
def test_format_cell(value, column, text):
    assert format_cell(value, column) == text
