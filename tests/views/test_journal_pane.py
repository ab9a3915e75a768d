"""The journal pane in the main window, against the sandbox: it lists applied items, searches
and filters off the GUI thread, exports safe CSV, undoes through the preview, and lets the
admin decide on held outbox items."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QFileDialog

from lms_console.sandbox.server import SandboxServer
from lms_console.services.changes import Change, Status, record
from lms_console.services.changes import journal as J

WAIT = 20000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=80, courses=2, seed=43).start()
    yield site
    site.stop()


@pytest.fixture
def console(server, change_console):
    """(engine, window, views): a synced session, the main window and the change views."""
    _session, engine, window, views, _ = change_console(server, ("site", "users", "courses", "cohorts", "enrolments"))
    return engine, window, views


def _active(engine, n):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT ?", (n,))]


def _run(qtbot, engine, views, changes, title):
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan(changes, title=title)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    if views.preview._irreversible:
        views.preview.confirm_check.setChecked(True)
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(views.preview.apply_button, LEFT)
    qtbot.waitUntil(lambda: views.results is not None, timeout=WAIT)
    views.results.close()
    return applied.args[0]


def _open_pane(qtbot, window, views):
    pane = views.pane
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        views.show_journal()
    assert window.stack.currentWidget() is pane
    return pane


def _select(pane, rows):
    sm = pane.table.selectionModel()
    sm.clearSelection()
    for r in rows:
        sm.select(pane.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                  | QItemSelectionModel.SelectionFlag.Rows)
    sm.setCurrentIndex(pane.model.index(rows[0], 0), QItemSelectionModel.SelectionFlag.NoUpdate)


def test_pane_lists_searches_filters_and_exports(qtbot, console, tmp_path):
    engine, window, views = console
    users = _active(engine, 4)
    _run(qtbot, engine, views, [Change("user.suspend", {"id": u}) for u in users[:3]], "Suspend three")
    _run(qtbot, engine, views, [Change("user.update", {"id": users[3], "fields": {"department": "=HYPERLINK(1)"}})],
         "Physics department")
    pane = _open_pane(qtbot, window, views)
    assert pane.model.total() == 4 and pane.count_label.text() == "4 entries"
    assert pane.model.index(0, pane.model.COL_TITLE).data().startswith("Update ")
    assert pane.model.index(0, pane.model.COL_STATUS).data() == "Done"

    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT) as loaded:
        qtbot.keyClicks(pane.search_edit, "physics")  # debounced: one query for the whole word
    assert loaded.args[0] == 1 and pane.count_label.text() == "1 entry match the filter"
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        pane.search_edit.clear()
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT) as loaded:
        pane.status_combo.setCurrentIndex(pane.status_combo.findText("Failed"))
    assert loaded.args[0] == 0 and pane.history_stack.currentWidget() is pane.empty_label
    assert "No entries match" in pane.empty_label.text()
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        pane.status_combo.setCurrentIndex(0)
    assert pane.kind_combo.findData("user.suspend") > 0
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT) as loaded:
        pane.kind_combo.setCurrentIndex(pane.kind_combo.findData("user.suspend"))
    assert loaded.args[0] == 3
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        pane.kind_combo.setCurrentIndex(0)

    dialog = pane.choose_export_file()
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.reject()
    with qtbot.waitSignal(pane.model.exported, timeout=WAIT):
        pane.export_to(str(tmp_path / "journal.csv"))
    assert "Exported 4 entries" in pane.banner.message_text()
    with open(tmp_path / "journal.csv", encoding="utf-8-sig") as fh:
        table = list(csv.reader(fh))
    assert len(table) == 5 and table[0][0] == "time"
    cells = [c for row in table for c in row]
    assert any("HYPERLINK" in c for c in cells) and not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_undo_selected_and_undo_run_go_through_the_preview(qtbot, console):
    engine, window, views = console
    users = _active(engine, 3)
    summary = _run(qtbot, engine, views, [Change("user.suspend", {"id": u}) for u in users], "Suspend three")
    pane = _open_pane(qtbot, window, views)
    assert not pane.undo_selected_action.isEnabled()
    _select(pane, [0, 1])
    assert pane.undo_selected_action.isEnabled() and pane.undo_run_action.isEnabled()
    chosen = {pane.model.row_at(0).id, pane.model.row_at(1).id}
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        pane.undo_selected_action.trigger()
    assert [i.change.kind for i in planned.args[0].items] == ["user.unsuspend"] * 2
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(views.preview.apply_button, LEFT)
    assert applied.args[0].status == "done"
    views.results.close()
    with engine.session.db.read() as conn:
        rows = {r.id: r.status for r in J.run_rows(conn, summary.run_id)}
    assert {rows[i] for i in chosen} == {"undone"} and sorted(rows.values()) == ["done", "undone", "undone"]
    qtbot.waitUntil(lambda: pane.model.total() == 5, timeout=WAIT)  # the undo run is journaled too
    assert {r.id for r in pane.selected_rows()} == chosen  # the re-query kept the selection
    assert {r.status for r in pane.selected_rows()} == {"undone"} and not pane.undo_selected_action.isEnabled()

    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        pane.show_run(summary.run_id)
    pane.table.selectionModel().clear()  # the run shown is the one meant: no row needs choosing
    qtbot.waitUntil(lambda: pane.undo_run_action.isEnabled(), timeout=WAIT)
    assert not pane.retry_action.isEnabled()  # nothing failed in this run: nothing to retry
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        pane.undo_run_action.trigger()
    assert len(planned.args[0].items) == 1  # only what is still done is undone
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.plan is planned.args[0], timeout=WAIT)
    views.preview.reject()


def test_held_items_can_be_dropped_or_kept(qtbot, console):
    engine, window, views = console
    users = _active(engine, 3)
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan([Change("user.update", {"id": u, "fields": {"city": "Lisbon"}}) for u in users],
                    title="Offline moves")
    plan = planned.args[0]

    def queue_and_hold(writer):
        run_id = record(writer, plan, profile="site", lms_user="admin")
        with writer.batch() as raw:
            ids = [r[0] for r in raw.execute("SELECT id FROM change_items WHERE run_id = ? ORDER BY seq", (run_id,))]
        J.mark(writer, ids[:2], Status.HELD, code="conflict", message="changed on the site since it was planned")
        return ids

    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT) as counted:
        engine.session.run_writer("hold", queue_and_hold, on_done=lambda _ids: engine.refresh_outbox())
    assert counted.args[0] == 3 and window.outbox_indicator.count() == 3
    pane = views.pane
    with qtbot.waitSignal(pane.outbox_model.loaded, timeout=WAIT):
        window.outbox_indicator.clicked.emit()
    assert window.stack.currentWidget() is pane and pane.tabs.currentIndex() == 1
    assert pane.tabs.tabText(1) == "Outbox (3) · 2 held"
    assert not pane.drop_button.isEnabled()

    pane.outbox_table.selectRow(0)
    dropped = pane.outbox_model.row_at(0).id
    assert pane.drop_button.isEnabled()
    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT) as counted:
        qtbot.mouseClick(pane.drop_button, LEFT)
    assert counted.args[0] == 2
    qtbot.waitUntil(lambda: pane.outbox_model.rowCount() == 2, timeout=WAIT)
    pane.outbox_table.selectRow(0)
    kept = pane.outbox_model.row_at(0).id
    assert pane.outbox_model.row_at(0).status == "held"
    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT):
        qtbot.mouseClick(pane.keep_button, LEFT)
    qtbot.waitUntil(lambda: pane.tabs.tabText(1) == "Outbox (2)", timeout=WAIT)
    with engine.session.db.read() as conn:
        assert J.item_row(conn, dropped).status == "skipped" and J.item_row(conn, dropped).code == "drop"
        assert J.item_row(conn, kept).status == "queued"
    assert window.outbox_indicator.count() == 2


def test_the_outbox_banner_says_whether_it_went_out_and_send_now_waits_for_the_site(qtbot, console, server):
    engine, window, views = console
    users = _active(engine, 2)
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan([Change("user.update", {"id": u, "fields": {"city": "Faro"}}) for u in users], title="Faro")
    plan = planned.args[0]
    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT):
        engine.session.run_writer("queue", lambda w: record(w, plan, profile="site", lms_user="admin"),
                                  on_done=lambda _r: engine.refresh_outbox())
    pane = views.pane
    with qtbot.waitSignal(pane.outbox_model.loaded, timeout=WAIT):
        window.outbox_indicator.clicked.emit()
    assert pane.subtitle.text().startswith("What waits to be sent to the site")
    assert pane.send_button.isEnabled()
    server.set_faults(drop_before_rate=1.0)
    try:
        with qtbot.waitSignal(engine.applied, timeout=60000):
            qtbot.mouseClick(pane.send_button, LEFT)
        # the session goes offline (and retries), and its banner says so; the two changes still wait
        qtbot.waitUntil(lambda: window.banner.message_text().startswith("Offline since"), timeout=WAIT)
        assert window.outbox_indicator.count() == 2
        qtbot.waitUntil(lambda: not pane.send_button.isEnabled(), timeout=WAIT)  # offline: it goes by itself
        assert "goes out by itself" in pane.send_button.toolTip()
    finally:
        server.clear_faults()
    with qtbot.waitSignal(engine.applied, timeout=60000):
        engine.session.check_connection()  # the retry finds the site again: the outbox goes out by itself
    assert window.banner.message_text() == "The outbox went out to the site: 2 done."
    pane.tabs.setCurrentIndex(0)
    assert pane.subtitle.text() == "Every change sent to the site, newest first."


def test_the_menu_key_acts_on_the_current_entry(qtbot, console, menus, press_menu_key):
    engine, window, views = console
    users = _active(engine, 2)
    _run(qtbot, engine, views, [Change("user.update", {"id": u, "fields": {"city": "Evora"}}) for u in users], "Evora")
    pane = _open_pane(qtbot, window, views)
    qtbot.waitUntil(lambda: pane.model.rowCount() >= 2, timeout=WAIT)
    pane.table.setFocus()
    pane.table.setCurrentIndex(pane.model.index(0, 0))
    pane.table.clearSelection()
    press_menu_key(pane.table)
    assert len(menus) == 1
    assert [i.row() for i in pane.table.selectionModel().selectedRows()] == [0]  # not the entry below


def test_undoing_a_run_with_no_way_back_says_so_instead_of_an_empty_preview(qtbot, console):
    engine, window, views = console
    user = _active(engine, 1)[0]
    summary = _run(qtbot, engine, views, [Change("user.delete", {"id": user})], "Delete one")
    assert summary.status == "done"
    pane = _open_pane(qtbot, window, views)
    _select(pane, [0])
    assert pane.undo_run_action.isEnabled()
    with qtbot.waitSignal(engine.plan_failed, timeout=WAIT) as failed:
        pane.undo_run_action.trigger()
    text = str(failed.args[0])
    assert f"Nothing in run {summary.run_id} can be undone" in text and "“Delete " in text
    assert views.preview is None or not views.preview.isVisible()
    assert f"run {summary.run_id} can be undone" in window.banner.message_text()


def test_a_run_shown_on_one_profile_is_not_carried_to_the_next(qtbot, console):
    """QA: "Run 2" stayed on the journal of the next profile opened, with "Undo this run" enabled for it."""
    engine, window, views = console
    summary = _run(qtbot, engine, views, [Change("user.suspend", {"id": _active(engine, 1)[0]})], "Suspend one")
    pane = _open_pane(qtbot, window, views)
    with qtbot.waitSignal(pane.model.loaded, timeout=WAIT):
        pane.show_run(summary.run_id)
    pane.search_edit.setText("Suspend")
    assert not pane.run_chip.isHidden() and pane.undo_run_action.isEnabled()
    engine.session.close()
    qtbot.waitUntil(lambda: pane.model.total() == 0, timeout=WAIT)
    assert pane.model.filter.run_id is None and pane.model.filter.search == ""
    assert pane.run_chip.isHidden() and pane.search_edit.text() == ""
    assert not pane.undo_run_action.isEnabled() and not pane.retry_action.isEnabled()
