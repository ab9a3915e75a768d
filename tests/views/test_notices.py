"""QA: a banner saying something went well ("Saved …", "Exported …", "Snapshot saved", "Course duplicated")
stayed up until dismissed, like a problem; and the journal's details said "Queued" / "Sending" for an item
waiting in the outbox while the journal table said "Waiting to be sent". Notices now clear themselves,
problems stay, and the outbox state has one name. Driven against the sandbox: a real session, the real
ChangeEngine, the main window and the panes the application uses."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt

from lms_console.services.changes import Change, record
from lms_console.views.content_wiring import install_content_views
from lms_console.views.reports_pane import ReportsPane
from lms_console.views.widgets import banner as banner_module

WAIT = 30000
LEFT = Qt.MouseButton.LeftButton
NOTICE_MS = 300  # the notices' timeout in these tests


@pytest.fixture(scope="module")
def server(sandbox_site):
    return sandbox_site(users=40, courses=3, seed=53)


def shown_with_content_views(window, session, engine):
    content = install_content_views(window, session, engine)
    window.resize(1300, 850)
    window.show()
    return content


@pytest.fixture
def console(change_console, server, template, monkeypatch):
    """(session, engine, window, changes, content): the main window with its change and content views, on a
    session opened from a synced copy of the sandbox; notices clear after NOTICE_MS."""
    monkeypatch.setattr(banner_module, "NOTICE_TIMEOUT_MS", NOTICE_MS)
    return change_console(server, (), shown_with_content_views, cache_from=template)


def clears_itself(qtbot, banner, text: str) -> None:
    """``banner`` shows the notice ``text`` (info), then hides by itself."""
    assert not banner.isHidden() and banner.level == "info", (banner.level, banner.message_text())
    assert text in banner.message_text()
    qtbot.waitUntil(banner.isHidden, timeout=NOTICE_MS * 10)


def stays(qtbot, banner, level: str) -> None:
    """A problem stays up well past the notices' timeout."""
    qtbot.wait(NOTICE_MS * 4)
    assert not banner.isHidden() and banner.level == level


def _active(engine, n):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT ?", (n,))]


def _queue(qtbot, engine, views, changes, title):
    """Record ``changes`` in the outbox without sending them (as an apply that found the site down)."""
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan(changes, title=title)
    plan = planned.args[0]
    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT):
        engine.session.run_writer("queue", lambda w: record(w, plan, profile="site", lms_user="admin"),
                                  on_done=lambda _r: engine.refresh_outbox())
    if views.preview is not None:
        views.preview.reject()  # recorded as is: not applied from the preview
    return plan


# -- the journal ---------------------------------------------------------------------------------------
def test_journal_details_say_waiting_to_be_sent_as_the_table_does(qtbot, console):
    """QA: an item waiting in the outbox read "Waiting to be sent" in the table and its raw status in the
    details below it; the result filter called the same thing "Waiting to go out"."""
    _session, engine, _window, changes, _content = console
    _queue(qtbot, engine, changes, [Change("user.update", {"id": u, "fields": {"city": "Faro"}})
                           for u in _active(engine, 2)], "Faro")
    pane = changes.pane
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        changes.show_journal()
    filters = [pane.status_combo.itemText(i) for i in range(pane.status_combo.count())]
    assert "Waiting to be sent" in filters and "Waiting to go out" not in filters
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        pane.status_combo.setCurrentIndex(pane.status_combo.findText("Waiting to be sent"))
    assert pane.model.total() == 2
    for row in range(2):
        assert pane.model.index(row, pane.model.COL_STATUS).data() == "Waiting to be sent"
        pane.table.selectionModel().setCurrentIndex(
            pane.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        assert pane.details.isVisibleTo(pane)
        details = pane.details.text()
        assert "Waiting to be sent" in details and "Queued" not in details and "Sending" not in details, details

    pane.tabs.setCurrentIndex(1)  # the outbox says it in the same words
    assert pane.subtitle.text().startswith("What waits to be sent to the site")


def test_a_journal_export_says_so_then_clears_but_a_failed_one_stays(qtbot, console, tmp_path):
    _session, engine, _window, changes, _content = console
    user = _active(engine, 1)[0]
    _queue(qtbot, engine, changes, [Change("user.update", {"id": user, "fields": {"city": "Porto"}})], "Porto")
    pane = changes.pane
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        changes.show_journal()
    with qtbot.waitSignal(pane.model.exported, timeout=WAIT):
        pane.export_to(str(tmp_path / "journal.csv"))
    clears_itself(qtbot, pane.banner, "Exported 1 entry to ")

    with qtbot.waitSignal(pane.model.export_failed, timeout=WAIT):
        pane.export_to(str(tmp_path / "no such folder" / "journal.csv"))
    stays(qtbot, pane.banner, "error")
    assert pane.banner.title_text() == "Export failed"


# -- the content pane ------------------------------------------------------------------------------------
def _show_course(qtbot, window, pane, courseid=2) -> None:
    """Navigate to a course like the admin does: its node in the navigation tree."""
    qtbot.waitUntil(lambda: window.nav_model.find("course", courseid).isValid(), timeout=WAIT)
    with qtbot.waitSignal(pane.tree_model.course_loaded, timeout=WAIT):
        window.nav.setCurrentIndex(window._nav_proxy.mapFromSource(window.nav_model.find("course", courseid)))


def _select(qtbot, pane, kind, ident) -> None:
    source = pane.tree_model.index_of(kind, ident)
    assert source.isValid(), (kind, ident)
    with qtbot.waitSignal(pane.details_model.loaded, timeout=WAIT):
        pane.tree.setCurrentIndex(pane._proxy.mapFromSource(source))


def test_a_download_and_a_course_copy_say_so_then_clear(qtbot, console, tmp_path):
    _session, engine, window, changes, content = console
    pane = content.pane
    _show_course(qtbot, window, pane)
    resource = next(m for s in pane.tree_model.sections_of(2) for m in pane.tree_model.modules_of(s.id)
                    if m.modname == "resource")
    _select(qtbot, pane, "module", resource.id)
    pane.actions.download.trigger()
    with qtbot.waitSignal(content.details_model.download_finished, timeout=WAIT):
        pane.actions.dialog.fileSelected.emit(str(tmp_path / "copy.bin"))
    pane.actions.dialog.close()
    clears_itself(qtbot, pane.banner, f"Saved {tmp_path / 'copy.bin'}")

    _select(qtbot, pane, "course", 2)
    pane.actions.duplicate_course.trigger()
    pane.actions.dialog.shortname.setText("CS101-N")
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        qtbot.mouseClick(pane.actions.dialog.ok, LEFT)
    qtbot.waitUntil(lambda: changes.preview is not None and changes.preview.isVisible(), timeout=WAIT)
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(changes.preview.apply_button, LEFT)
    copy_id = applied.args[0].results[0].result["id"]
    assert pane.banner.title_text() == "Course duplicated"
    # The results window is in front: the notice waits for the main window (it counts only while in view).
    qtbot.waitUntil(lambda: changes.results is not None and changes.results.isVisible(), timeout=WAIT)
    changes.results.close()
    window.activateWindow()
    clears_itself(qtbot, pane.banner, f"The copy is ready: course id {copy_id}")


# -- the reports pane ------------------------------------------------------------------------------------
@pytest.fixture
def reports(qtbot, console, tmp_path):
    session = console[0]
    pane = ReportsPane(session, settings=QSettings(str(tmp_path / "reports.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(pane)
    pane.resize(1300, 900)
    pane.show()
    with qtbot.waitSignal(pane.model.report_ready, timeout=WAIT):
        pane.show_target(None)
    yield pane
    for d in list(pane.dialogs):
        d.close()
    pane.close()


def test_a_report_snapshot_and_export_say_so_then_clear_but_a_failed_export_stays(qtbot, reports, tmp_path):
    with qtbot.waitSignal(reports.model.snapshot_saved, timeout=WAIT):
        reports.save_button.click()
    clears_itself(qtbot, reports.banner, "Snapshot saved")

    with qtbot.waitSignal(reports.model.exported, timeout=WAIT):
        reports.export(str(tmp_path / "report.csv"), "csv")
    clears_itself(qtbot, reports.banner, "Saved ")

    with qtbot.waitSignal(reports.model.problem, timeout=WAIT):
        reports.export(str(tmp_path / "no such folder" / "report.csv"), "csv")
    stays(qtbot, reports.banner, "warning")
