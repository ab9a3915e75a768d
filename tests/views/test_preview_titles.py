"""QA: the preview and the results cut a long title off at its end ("Add the Teacher role to “…” in “…” and
reac…"), and a change left waiting in the outbox (the site did not answer) read "Sending" though nothing was
being sent. Driven like an admin would, against the sandbox: a real session, the real ChangeEngine and the
wiring the application uses."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView
from qt_helpers import shown_text

from lms_console.models.plan_model import COL_TITLE, RunResultsModel
from lms_console.services.changes import Change, Status
from lms_console.views.icons import icon

WAIT = 20000
LEFT = Qt.MouseButton.LeftButton
TOOLTIP, DECORATION = Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.DecorationRole


@pytest.fixture(scope="module")
def server(sandbox_site):
    return sandbox_site(users=40, courses=3, seed=43)


@pytest.fixture
def console(change_console, server, monkeypatch):
    """(engine, views): a synced session, the main window and its change views."""
    monkeypatch.setattr("lms_console.models.session.RETRY_DELAYS_S", (600,))  # the outbox stays put in the test
    _session, engine, _window, views, _ = change_console(server, ("site", "users", "courses", "enrolments"))
    return engine, views


def _q(engine, sql, *params):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(sql, params)]


def test_a_long_title_stays_readable_in_the_preview_table(qtbot, console):
    """QA: "Add the Teacher role to “jdoe” in “C101” and reactivate the enrolment" was cut off after "reac";
    only the details below the table showed it whole."""
    engine, views = console
    course = _q(engine, "SELECT courseid FROM enrolments WHERE courseid > 1 ORDER BY courseid LIMIT 1")[0]
    users = _q(engine, "SELECT userid FROM enrolments WHERE courseid = ? AND roleids = '[5]' ORDER BY userid "
                       "LIMIT 3", course)
    raw = sqlite3.connect(engine.session.db.path)  # suspended Student enrolments, as the last sync brought them
    with raw:
        raw.executemany("UPDATE enrolments SET suspended = 1 WHERE courseid = ? AND userid = ?",
                        [(course, u) for u in users])
    raw.close()
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan([Change("enrol.add", {"userid": u, "courseid": course, "roleid": 3, "suspend": 0})
                     for u in users], title="Teachers for the course")
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    dialog = views.preview
    qtbot.waitExposed(dialog)
    table = dialog.table
    titles = [dialog.model.item_at(r).title for r in range(dialog.model.rowCount())]
    assert all(t.startswith("Add the Teacher role to ") and t.endswith(" and reactivate the enrolment")
               for t in titles), titles

    assert table.horizontalHeader().sectionResizeMode(COL_TITLE) == QHeaderView.ResizeMode.Stretch
    assert [shown_text(table, r, COL_TITLE) for r in range(len(titles))] == titles  # whole, at the preview's size
    dialog.resize(1000, dialog.height())  # narrower: the titles are cut in the middle, their end stays
    qtbot.waitUntil(lambda: table.viewport().width() < 1000, timeout=WAIT)
    for row, title in enumerate(titles):
        shown = shown_text(table, row, COL_TITLE)
        start, end = shown.split("…")
        assert title.startswith(start) and title.endswith(end) and len(start) > 10 and len(end) > 10, shown
        assert title in dialog.model.index(row, COL_TITLE).data(TOOLTIP)  # and the tooltip says it all
    dialog.reject()


def test_a_change_the_site_did_not_answer_waits_to_be_sent_not_sending(qtbot, console, server):
    """QA: the site did not answer, so the changes wait in the outbox (they go out later), yet their result read
    "Sending": nothing was being sent. Only an item of a run going out right now is "Sending"."""
    engine, views = console
    users = _q(engine, "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT 2")
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan([Change("user.suspend", {"id": u}) for u in users], title="Suspend two")
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    server.set_faults(drop_before_rate=1.0)  # the site stops answering: the requests go out, no answer comes
    with qtbot.waitSignal(engine.applied, timeout=60000) as applied:
        qtbot.mouseClick(views.preview.apply_button, LEFT)
    summary = applied.args[0]
    assert summary.status == "waiting"
    # Sent without an answer: the journal keeps them as sending (checked on the site before any resend).
    assert {r.status for r in summary.results} == {Status.SENDING}

    qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
    results = views.results
    model = results.model
    qtbot.waitUntil(lambda: model.index(0, RunResultsModel.COL_TITLE).data().startswith("Suspend "), timeout=WAIT)
    assert results.toggles.button("queued").text() == "2 waiting to be sent"
    for row in range(model.rowCount()):
        assert model.index(row, RunResultsModel.COL_STATUS).data() == "Waiting to be sent"
        assert model.index(row, RunResultsModel.COL_STATUS).data(DECORATION).cacheKey() == icon("clock").cacheKey()
        assert "checked on the site before any resend" in model.index(row, RunResultsModel.COL_MESSAGE).data()
        title = model.index(row, RunResultsModel.COL_TITLE).data()
        assert model.index(row, RunResultsModel.COL_TITLE).data(TOOLTIP) == title  # the whole title, however narrow
    assert results.table.horizontalHeader().sectionResizeMode(RunResultsModel.COL_TITLE) == \
        QHeaderView.ResizeMode.Stretch
    results.close()

    outbox = views.pane.outbox_model  # the journal's outbox says the same
    with qtbot.waitSignal(outbox.loaded, timeout=WAIT):
        outbox.refresh()
    states = [outbox.index(r, outbox.COL_STATUS).data() for r in range(outbox.rowCount())]
    assert states == ["Waiting to be sent"] * 2
    with qtbot.waitSignal(views.pane.model.loaded, timeout=WAIT):
        views.pane.model.set_filter(run_id=summary.run_id)
    journal = views.pane.model
    assert {journal.index(r, journal.COL_STATUS).data() for r in range(journal.rowCount())} == {"Waiting to be sent"}

    raw = sqlite3.connect(engine.session.db.path)  # the same run while it goes out: its items are being sent
    with raw:
        raw.execute("UPDATE change_runs SET status = 'applying' WHERE id = ?", (summary.run_id,))
    raw.close()
    # Marked "applying" but sent by nobody (as a console that closed mid-send leaves it): still waiting.
    with qtbot.waitSignal(outbox.loaded, timeout=WAIT):
        outbox.refresh()
    assert [outbox.index(r, outbox.COL_STATUS).data() for r in range(outbox.rowCount())] == ["Waiting to be sent"] * 2
    with qtbot.waitSignal(journal.loaded, timeout=WAIT):
        journal.refresh()
    assert {journal.index(r, journal.COL_STATUS).data() for r in range(journal.rowCount())} == {"Waiting to be sent"}
    release = threading.Event()  # while this console sends it: "Sending", in both
    engine.session.runner.run(f"outbox {engine.session.profile.name}", lambda p, c: release.wait(10), label="Send")
    try:
        with qtbot.waitSignal(outbox.loaded, timeout=WAIT):
            outbox.refresh()
        assert [outbox.index(r, outbox.COL_STATUS).data() for r in range(outbox.rowCount())] == ["Sending"] * 2
        with qtbot.waitSignal(journal.loaded, timeout=WAIT):
            journal.refresh()
        assert {journal.index(r, journal.COL_STATUS).data() for r in range(journal.rowCount())} == {"Sending"}
    finally:
        release.set()
