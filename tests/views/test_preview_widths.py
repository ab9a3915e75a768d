"""QA: the preview of a one-field user edit gave the title most of the width and cut "Before → after" to
"email: yusuf.abdullah@st…": the width goes where the text is. And the results of a run first listed raw
kinds and targets ("user.suspend user:26") until the titles came from the journal. Against the sandbox: a
real session, the real ChangeEngine and the wiring the application uses."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from qt_helpers import shown_text

from lms_console.models.plan_model import (
    COL_DIFF,
    COL_FIX,
    COL_PROBLEM,
    COL_TITLE,
    TITLE_PENDING,
    RunResultsModel,
)
from lms_console.services.changes import Change
from lms_console.views.dialogs.preview_dialog import diff_width
from lms_console.views.dialogs.results_dialog import ResultsDialog

WAIT = 20000
NEW_EMAIL = "yusuf.abdullah@students.example.edu"


@pytest.fixture(scope="module")
def server(sandbox_site):
    return sandbox_site(users=20, courses=2, seed=43)


@pytest.fixture
def preview(qtbot, change_console, server):
    """The preview of one user's new email, as the wiring opens it, at its default size."""
    _session, engine, _window, views, _ = change_console(server, ("site", "users"))
    with engine.session.db.read() as conn:
        uid = conn.exec_driver_sql("SELECT id FROM users WHERE id > 3 ORDER BY id LIMIT 1").scalar()
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan([Change("user.update", {"id": uid, "fields": {"email": NEW_EMAIL}})], title="Edit user")
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    qtbot.waitExposed(views.preview)
    yield views.preview
    views.preview.reject()


def test_a_one_field_edit_shows_its_whole_diff_and_title(preview):
    table, model = preview.table, preview.model
    diff = model.index(0, COL_DIFF).data()
    assert diff.startswith("email: ") and diff.endswith(f" → {NEW_EMAIL}"), diff
    assert table.visualRect(model.index(0, COL_DIFF)).width() > table.fontMetrics().horizontalAdvance(diff)
    assert shown_text(table, 0, COL_DIFF) == diff  # not "email: ruby.clarke@st…"
    assert shown_text(table, 0, COL_TITLE) == model.index(0, COL_TITLE).data()  # the title stays whole too
    # No item has a problem: those columns are only as wide as their headings.
    header = table.horizontalHeader()
    for col in (COL_PROBLEM, COL_FIX):
        assert table.columnWidth(col) <= header.sectionSizeHint(col) + 2


def test_the_admins_own_column_width_stays_when_the_preview_is_resized(qtbot, preview):
    table = preview.table
    table.horizontalHeader().resizeSection(COL_DIFF, 240)  # as a drag of the column's edge does
    before = table.viewport().width()
    preview.resize(preview.width() - 120, preview.height())
    qtbot.waitUntil(lambda: table.viewport().width() < before - 100, timeout=WAIT)
    assert table.columnWidth(COL_DIFF) == 240


def test_titles_and_diffs_share_the_room_by_what_they_need():
    assert diff_width(600, 200, 300) == 300  # both fit: the diff gets all it needs, the titles the rest
    assert diff_width(600, 300, 900) == 360  # neither fits: the titles keep a fair share (2/5), not 1/4
    assert diff_width(600, 900, 300) == 170  # long titles: the diff keeps its usual width
    assert diff_width(600, 900, 100) == 100  # ... or less when it needs less


def test_results_show_titles_never_raw_kinds_and_targets(qtbot, change_console, server):
    _session, engine, _window, views, _ = change_console(server, ("site", "users"))
    with engine.session.db.read() as conn:
        users = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id DESC LIMIT 2")]
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan([Change("user.suspend", {"id": u}) for u in users], title="Suspend two")
    plan = planned.args[0]
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    views.preview.reject()
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        engine.apply(plan)
    summary = applied.args[0]
    planned_titles = {i.seq: i.title for i in plan.items}
    col = RunResultsModel.COL_TITLE

    def titles(dialog):
        model = dialog.model
        return {model.result_at(r).seq: model.index(r, col).data() for r in range(model.rowCount())}

    # Opened without its plan (the outbox's runs): until the journal answers, a neutral placeholder.
    dialog = ResultsDialog(summary, session=engine.session)
    qtbot.addWidget(dialog)
    raw = {f"{r.kind} {r.target}" for r in summary.results}
    assert set(titles(dialog).values()) == {TITLE_PENDING}, raw
    qtbot.waitSignal(dialog.model.titles_loaded, timeout=WAIT).wait()
    assert titles(dialog) == planned_titles

    # Opened with the plan it sent: the planned titles from the start, nothing to read.
    dialog = ResultsDialog(summary, session=engine.session, plan=plan)
    qtbot.addWidget(dialog)
    assert titles(dialog) == planned_titles
    assert dialog.model.index(0, col).data(Qt.ItemDataRole.ToolTipRole) == planned_titles[1]
