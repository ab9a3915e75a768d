"""PlanTableModel and RunResultsModel over real plans and runs of the sandbox; the plain-words
formatting they share with the journal."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from lms_console.models.changes_model import ChangeEngine
from lms_console.models.plan_model import (
    COL_DIFF,
    COL_FIX,
    COL_OUTCOME,
    COL_PROBLEM,
    PlanTableModel,
    RunResultsModel,
    diff_pairs,
    format_value,
    irreversible_wording,
    plain_message,
    problem_text,
)
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.changes import Change, Outcome, Problem, Status

DISPLAY = Qt.ItemDataRole.DisplayRole


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=60, courses=2, seed=31).start()
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


def _users(engine, n, suspended=0):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = ? ORDER BY id DESC LIMIT ?", (suspended, n))]


def _plan(qtbot, engine, changes, title="Test plan"):
    with qtbot.waitSignal(engine.planned, timeout=10000) as planned:
        engine.plan(changes, title=title)
    return planned.args[0]


def test_plan_model_rows_outcomes_and_filter(qtbot, qtmodeltester, engine):
    active, suspended = _users(engine, 3), _users(engine, 1, suspended=1)
    plan = _plan(qtbot, engine, [Change("user.suspend", {"id": u}) for u in active] + [
        Change("user.suspend", {"id": suspended[0]}),
        Change("user.update", {"id": active[0], "fields": {"email": "not-an-email"}}),
    ])
    icons_asked = []
    model = PlanTableModel(plan, icons=lambda name: icons_asked.append(name) or None,
                           colours=lambda key: None)
    qtmodeltester.check(model)
    assert model.rowCount() == 5
    outcomes = [model.index(r, COL_OUTCOME).data(DISPLAY) for r in range(5)]
    assert outcomes == ["Will apply"] * 3 + ["Already so (dropped)", "Error"]
    assert model.index(0, COL_DIFF).data(DISPLAY) == "suspended: no → yes"
    error_text = model.index(4, COL_PROBLEM).data(DISPLAY)
    assert "email “not-an-email”" in error_text and "not a valid email" in error_text
    model.index(4, COL_OUTCOME).data(Qt.ItemDataRole.DecorationRole)
    assert icons_asked[-1] == "error"

    model.set_visible_outcomes({"error", "noop"})
    qtmodeltester.check(model)
    assert [model.item_at(r).outcome for r in range(model.rowCount())] == [Outcome.NOOP, Outcome.ERROR]
    assert model.index(0, 0).data(PlanTableModel.OutcomeRole) == "noop"
    model.set_visible_outcomes(Outcome)
    assert model.rowCount() == 5


def test_plan_model_shows_the_fix_and_deletions(qtbot, engine):
    user = _users(engine, 1)[0]
    plan = _plan(qtbot, engine, [Change("user.delete", {"id": user}), Change("user.suspend", {"id": 999999})])
    model = PlanTableModel(plan)
    assert model.index(0, COL_DIFF).data(DISPLAY).startswith("deleted (now: ")
    assert not model.item_at(0).reversible
    assert model.index(1, COL_FIX).data(DISPLAY)  # "Sync, then plan again."
    assert "id “999999”" in model.index(1, COL_PROBLEM).data(Qt.ItemDataRole.ToolTipRole)


def test_run_results_model_per_item_and_titles_from_the_journal(qtbot, qtmodeltester, server, engine):
    users = _users(engine, 4)
    plan = _plan(qtbot, engine, [Change("user.update", {"id": u, "fields": {"city": "Porto"}}) for u in users])
    with server.store.connection() as conn:  # the site refuses the first one
        conn.execute("UPDATE user SET deleted = 1 WHERE id = ?", (users[0],))
        conn.commit()
    with qtbot.waitSignal(engine.applied, timeout=20000) as applied:
        engine.apply(plan)
    summary = applied.args[0]
    model = RunResultsModel(summary)
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    with qtbot.waitSignal(model.titles_loaded, timeout=10000):
        model.load_titles(engine.session)
    assert model.index(1, RunResultsModel.COL_TITLE).data(DISPLAY).startswith("Update ")
    failed = [model.result_at(r) for r in range(4) if model.result_at(r).status == Status.FAILED]
    assert len(failed) == 1 and failed[0].code
    model.set_visible_statuses({Status.FAILED})
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    assert model.index(0, RunResultsModel.COL_STATUS).data(DISPLAY) == "Failed"
    assert model.index(0, RunResultsModel.COL_MESSAGE).data(DISPLAY)


def test_plain_words():
    assert format_value(True) == "yes" and format_value(None) == "(empty)" and format_value([1, 2]) == "1, 2"
    assert format_value("Sup3r#secret", "password") == "(hidden)"
    assert format_value({"city": "Porto", "suspended": False}) == "city: Porto; suspended: no"
    assert diff_pairs({"a": 1, "b": 2}, {"a": 1, "b": 3}) == [("b", 2, 3)]
    assert diff_pairs({"a": 1}, None) == []  # a deletion has no field diff
    assert problem_text(Problem("is not a valid email address", field="email", value="x@")) == \
        "email “x@” is not a valid email address"
    assert problem_text(Problem("is required", field="lastname")) == "lastname is required"
    assert "Moodle refused a value" in plain_message("invalidparameter", "Invalid parameter value detected")
    assert plain_message("", "User is a deleted user") == "User is a deleted user"


def test_dates_read_as_local_dates_in_diffs_problems_and_the_preview(qtbot, engine):
    end = int(time.mktime((2026, 12, 31, 23, 59, 59, 0, 0, -1)))
    start = int(time.mktime((2026, 9, 1, 0, 0, 0, 0, 0, -1)))
    assert format_value(end, "timeend") == "2026-12-31 23:59" and format_value(start, "timestart") == "2026-09-01"
    assert format_value(0, "timeend") == "(none)" and format_value(None, "lastaccess") == "(empty)"
    assert format_value({"lastaccess": end, "suspended": False}) == "lastaccess: 2026-12-31 23:59; suspended: no"
    assert format_value(end, "id") == str(end) and format_value("Europe/Lisbon", "timezone") == "Europe/Lisbon"
    assert problem_text(Problem("must be after the start date", field="timeend", value=end)) == \
        "timeend “2026-12-31 23:59” must be after the start date"
    with engine.session.db.read() as conn:
        courseid, userid = conn.exec_driver_sql("SELECT courseid, userid FROM enrolments ORDER BY courseid, userid "
                                                "LIMIT 1").one()
    plan = _plan(qtbot, engine, [Change("enrol.add", {"userid": userid, "courseid": courseid, "timeend": end})])
    model = PlanTableModel(plan)
    diff = model.index(0, COL_DIFF).data(DISPLAY)
    assert "timeend:" in diff and "→ 2026-12-31 23:59" in diff and str(end) not in diff
    assert str(end) not in model.index(0, COL_DIFF).data(Qt.ItemDataRole.ToolTipRole)


def test_what_cannot_be_undone_is_worded_per_kind_with_an_undoable_alternative():
    what, why, instead = irreversible_wording(["enrol.remove"])
    assert what == "1 unenrolment" and "course data" in why
    assert instead == "Suspending the enrolment instead keeps the course data and can be undone."
    assert irreversible_wording(["enrol.remove"] * 3)[0] == "3 unenrolments"
    assert irreversible_wording(["enrol.remove"] * 3)[2].startswith("Suspending the enrolments instead")
    assert irreversible_wording(["user.delete"]) == (
        "1 deletion", "Deleted items are gone from the site for good",
        "Suspending the account instead keeps its history and can be undone.")
    assert irreversible_wording(["user.delete"] * 2)[2].startswith("Suspending the accounts instead")
    for kind in ("course.delete", "section.delete", "module.delete"):
        assert irreversible_wording([kind])[2] == "Hiding instead of deleting can be undone."
    assert irreversible_wording(["group.delete", "cohort.delete"])[2] == ""  # nothing to hide them by
    what, why, instead = irreversible_wording(["enrol.remove", "user.delete"])
    assert what == "2 changes" and "Hiding" not in instead
    assert "Suspending the enrolment instead" in instead and "Suspending the account instead" in instead
    assert irreversible_wording(["user.force_password_change"]) == ("1 change", "The console cannot reverse them", "")
