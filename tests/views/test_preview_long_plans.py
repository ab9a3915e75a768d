"""QA: the preview of a long plan (20,000 new accounts) cut every title in its middle ("Create qa…Last1372)",
the username gone) while "Before → after" took most of the width: the titles keep a fair share, the diff is
cut instead. And the "Show:" count buttons of the preview and of the import's dry run looked the same
checked or not: their state is said (name, tooltip) and drawn apart. Against the sandbox: a real session,
the real ChangeEngine and the wiring the application uses; the import dialog on a real SQLite cache."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget
from qt_helpers import shown_text

from lms_console.models.plan_model import COL_DIFF, COL_TITLE
from lms_console.services.cache.db import CacheDb
from lms_console.services.changes import Change
from lms_console.views.dialogs.preview_dialog import CountToggle
from lms_console.views.import_wiring import install_import_dialog

WAIT = 60000
ITEMS = 20_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def server(sandbox_site):
    return sandbox_site(users=20, courses=2, seed=44)


def _create(i: int) -> Change:
    return Change("user.create", {"username": f"qa.tester.{i:05d}", "firstname": "First", "lastname": f"Last{i}",
                                  "email": f"qa.tester.{i:05d}@students.example.edu", "password": "Sup3r#secret",
                                  "city": "Porto", "department": "Quality assurance", "institution": "Example"})


@pytest.fixture
def long_preview(qtbot, change_console, server):
    """The preview of 20,000 new accounts, as the wiring opens it, at its default size."""
    _session, engine, _window, views, _ = change_console(server, ("site", "users"))
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan([_create(i) for i in range(ITEMS)], title="Import people.csv")
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    qtbot.waitExposed(views.preview)
    yield views.preview
    views.preview.reject()


def test_a_long_plan_keeps_its_titles_whole_and_cuts_the_diff(long_preview):
    table, model = long_preview.table, long_preview.model
    assert model.rowCount() == ITEMS
    rows = (0, 1372 - 1, table.rowAt(table.viewport().height() - 5))
    for row in rows:
        title = model.index(row, COL_TITLE).data()
        assert title.startswith("Create qa.tester.") and title.endswith(")"), title
        assert shown_text(table, row, COL_TITLE) == title  # not "Create qa…Last1372)"
        diff = model.index(row, COL_DIFF).data()
        assert shown_text(table, row, COL_DIFF) != diff  # the long list of fields is what gets cut
    room = table.columnWidth(COL_TITLE) + table.columnWidth(COL_DIFF)
    assert table.columnWidth(COL_TITLE) >= min(room * 2 // 5, table.sizeHintForColumn(COL_TITLE))


def test_the_previews_show_buttons_say_and_show_their_state(qtbot, long_preview):
    toggles = long_preview.toggles
    apply = toggles.button("apply")
    assert isinstance(apply, CountToggle) and apply.isChecked()
    assert apply.text() == f"{ITEMS:,} to apply"
    assert apply.accessibleName() == f"{ITEMS:,} to apply: shown"
    assert apply.toolTip().startswith("Shown:")
    shown_icon = apply.icon().cacheKey()
    shown_sheet = apply.styleSheet()
    qtbot.mouseClick(apply, LEFT)
    assert not apply.isChecked()
    assert apply.accessibleName() == f"{ITEMS:,} to apply: hidden"
    assert apply.toolTip().startswith("Hidden:") and "Click to show" in apply.toolTip()
    assert apply.icon().cacheKey() != shown_icon  # the tick box is empty
    assert apply.styleSheet() == shown_sheet and ":!checked" in shown_sheet and ":checked" in shown_sheet
    error = toggles.button("error")  # nothing to show or hide: just the count
    assert not error.isEnabled() and error.accessibleName() == "0 errors"


class _Engine(QObject):
    planned = Signal(object)

    def plan(self, changes, *, title="", enrol_first=False):
        return 1


def test_the_dry_runs_show_buttons_say_and_show_their_state(qtbot, tmp_path, runner):
    db = CacheDb.open(tmp_path / "cache.sqlite")
    window = QWidget()
    qtbot.addWidget(window)
    dialog = install_import_dialog(window, SimpleNamespace(db=db, runner=runner, is_open=True), _Engine())()
    try:
        path = tmp_path / "people.csv"
        path.write_text("username,firstname,lastname,email,password\n"
                        "nina,Nina,N,nina@example.org,Secret-123\nomar,Omar,O,not-an-email,Secret-123\n")
        dialog.set_path(str(path))
        with qtbot.waitSignal(dialog.controller.file_read, timeout=WAIT):
            dialog.next_step()
        with qtbot.waitSignal(dialog.controller.dry_run_finished, timeout=WAIT):
            dialog.next_step()
        create, error = dialog._class_buttons["create"], dialog._class_buttons["error"]
        assert isinstance(create, CountToggle)
        assert create.text() == "1 to create" and create.accessibleName() == "1 to create: shown"
        qtbot.mouseClick(error, LEFT)
        assert error.accessibleName() == "1 error: hidden" and error.toolTip().startswith("Hidden:")
        assert dialog.model.rowCount() == 1
        assert dialog._class_buttons["conflict"].accessibleName() == "0 conflicts"
    finally:
        dialog.close()
        db.close()
