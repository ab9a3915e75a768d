"""The reports pane on a synced sandbox: chart and tables, drill-down to users, empty states, snapshots,
exports, printing, debounced resizing, theme switching, lazy imports, and the main-window wiring."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import QPoint, QSettings, QSize, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton

from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.views import theme
from lms_console.views.reports_chart import RESIZE_DELAY_MS
from lms_console.views.reports_dialogs import CompareDialog, DrillDialog
from lms_console.views.reports_pane import ReportsPane
from lms_console.views.reports_wiring import install_reports_views
from lms_console.views.widgets import banner as banner_module


@pytest.fixture(scope="module")
def site():
    server = SandboxServer(users=120, courses=4, seed=29).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template(site, tmp_path_factory, synced_template):
    return synced_template(site, tmp_path_factory.mktemp("reports-pane") / "template.sqlite")


@pytest.fixture
def session(qtbot, site, template, go_online):
    runner = TaskRunner(http_workers=4)
    s = ConnectionSession(runner)
    go_online(s, site, cache_from=template)
    yield s
    s.close()
    runner.shutdown(wait=True)


@pytest.fixture
def pane(qtbot, session, tmp_path):
    p = ReportsPane(session, settings=QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(p)
    p.resize(1300, 900)
    p.show()
    yield p
    for d in list(p.dialogs):
        d.close()
    p.close()


def choose(qtbot, pane, kind: str):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        row = [pane.chooser.item(r).data(Qt.ItemDataRole.UserRole) for r in range(pane.chooser.count())].index(kind)
        pane.chooser.setCurrentRow(row)
    return pane.result


def drawn(qtbot, pane):
    qtbot.waitUntil(lambda: pane.chart.canvas is not None and pane.chart.canvas.draw_count > 0, timeout=10000)
    return pane.chart.canvas


def test_shows_chart_and_numbers(qtbot, pane):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    canvas = drawn(qtbot, pane)
    assert pane.chart.stack.currentWidget() is canvas
    assert pane.result.kind == "completion" and "Data as of" in pane.as_of.text()
    tabs = [pane.tabs.tabText(i) for i in range(pane.tabs.count())]
    assert tabs == ["Numbers", "Notes", "Snapshots"]
    name, model = pane.current_table()
    assert name == "rates" and model.rowCount() == len(pane.result.main) and "_key" not in model.columns()
    assert "Learners:" in pane.notes.text()
    assert pane.save_button.isEnabled() and pane.export_button.isEnabled()


def test_every_report_draws_or_explains(qtbot, pane):
    for kind in ("completion_over_time", "engagement", "enrolments", "assessment", "compliance"):
        r = choose(qtbot, pane, kind)
        if r.is_empty:
            assert pane.chart.stack.currentWidget() is pane.chart.empty and pane.chart.empty_label.text()
        else:
            drawn(qtbot, pane)
    # No grades in a default sync: the assessment report offers to fetch them; compliance needs choices.
    r = choose(qtbot, pane, "assessment")
    assert r.is_empty and pane.chart.action_buttons["fetch_grades"].isVisibleTo(pane)
    assert pane.grades_button.isVisibleTo(pane)
    r = choose(qtbot, pane, "compliance")
    assert "Choose the required courses" in pane.chart.empty_label.text()
    assert not pane.save_button.isEnabled()


def test_fetching_grades_says_so_then_says_they_are_in_and_clears(qtbot, pane, monkeypatch):
    """QA: "Fetching grades…" stayed up after the grades were in and the report showed them."""
    monkeypatch.setattr(banner_module, "NOTICE_TIMEOUT_MS", 300)
    r = choose(qtbot, pane, "assessment")
    assert r.is_empty and "fetch_grades" in r.actions
    pane.model.active = True
    with qtbot.waitSignal(pane.model.report_ready, timeout=60000) as again:  # re-run when the grades are in
        pane.chart.action_buttons["fetch_grades"].click()
        assert pane.banner.message_text().startswith("Fetching grades")
    assert not again.args[0].is_empty
    assert pane.banner.message_text() == "The grades are in: the report shows them."
    qtbot.waitUntil(pane.banner.isHidden, timeout=3000)


def test_click_a_bar_then_hand_users_to_the_users_pane(qtbot, pane):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    canvas = drawn(qtbot, pane)
    bar = next(p for p in canvas.figure.axes[0].patches
               if getattr(p, "lms_drill", None) and p.lms_drill.status == "completed" and p.get_width() > 5)
    box = bar.get_window_extent()
    x, y = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    ratio = canvas.device_pixel_ratio
    pos = QPoint(int(x / ratio), int(canvas.height() - y / ratio))
    with qtbot.waitSignal(pane.model.drill_ready, timeout=20000) as got:
        QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    drill = got.args[0]
    assert drill.users is not None and "Completed" in drill.title
    dialog = next(d for d in pane.dialogs if isinstance(d, DrillDialog))
    assert dialog.isVisible() and dialog.model.rowCount() == len(drill.users)
    with qtbot.waitSignal(pane.users_requested, timeout=2000) as handed:
        dialog.hand_button.click()
    ids, title = handed.args
    assert sorted(ids) == sorted(set(drill.users["_userid"])) and "Completed" in title
    dialog.table.selectRow(0)
    with qtbot.waitSignal(pane.user_requested, timeout=2000) as opened:
        dialog.open_button.click()
    assert opened.args[0] == int(drill.users["_userid"].iloc[0])
    dialog.close()


def test_double_click_a_number(qtbot, pane):
    r = choose(qtbot, pane, "engagement")
    views = {name: view for name, view, _m in pane._tables}
    view = views["last_access"]
    model = view.model()
    row = next(i for i in range(model.rowCount()) if model.value(i, model.column_of("Users")) > 0)
    with qtbot.waitSignal(pane.model.drill_ready, timeout=20000) as got:
        view.doubleClicked.emit(model.index(row, model.column_of("Users")))
    assert len(got.args[0].users) == model.value(row, model.column_of("Users"))
    for d in list(pane.dialogs):
        d.close()
    inactive = next(v for n, v, _m in pane._tables if n.startswith("inactive"))
    with qtbot.waitSignal(pane.user_requested, timeout=2000) as opened:
        inactive.doubleClicked.emit(inactive.model().index(0, 0))
    assert opened.args[0] == int(r.tables[next(n for n in r.tables if n.startswith("inactive"))]["_userid"].iloc[0])


def test_resize_redraws_once_after_the_size_settles(qtbot, pane):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    canvas = drawn(qtbot, pane)
    qtbot.wait(RESIZE_DELAY_MS * 2)
    before = canvas.draw_count
    for w in (1200, 1150, 1100, 1050, 1000):
        pane.resize(QSize(w, 850))
        qtbot.wait(10)
    assert canvas.resize_pending and canvas.draw_count == before  # the old frame is shown scaled meanwhile
    canvas.grab()  # paints without drawing
    qtbot.waitUntil(lambda: canvas.draw_count == before + 1, timeout=3000)
    qtbot.wait(RESIZE_DELAY_MS * 2)
    assert canvas.draw_count == before + 1 and not canvas.resize_pending
    w = canvas.figure.get_size_inches()[0] * canvas.figure.dpi
    assert abs(w - canvas.width() * canvas.device_pixel_ratio) < 2


def test_theme_switch_redraws_in_the_dark_palette(qtbot, qapp, pane):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    drawn(qtbot, pane)
    theme.apply_theme(qapp, "dark")
    bg = theme.chart_palette("dark")["background"]
    face = pane.chart.figure.get_facecolor()
    assert tuple(round(c * 255) for c in face[:3]) == tuple(int(bg[i:i + 2], 16) for i in (1, 3, 5))


def test_snapshots_save_open_offline_and_compare(qtbot, pane):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    with qtbot.waitSignal(pane.model.snapshots_loaded, timeout=20000):
        pane.save_button.click()
    assert pane.snapshots_model.rowCount() == 1
    pane.snapshots_view.selectRow(0)
    assert pane.open_snapshot_button.isEnabled() and pane.compare_button.isEnabled()
    with qtbot.waitSignal(pane.model.comparison_ready, timeout=20000):
        pane.compare_button.click()  # one snapshot: compared with the report on screen
    dialog = next(d for d in pane.dialogs if isinstance(d, CompareDialog))
    assert dialog.model.rowCount() == len(pane.result.main) and "0 changed" in dialog.summary.text()
    dialog.only_changes.setChecked(True)
    assert dialog.model.rowCount() == 0
    dialog.close()
    pane.session.runner.cancel_all()
    with qtbot.waitSignal(pane.model.report_ready, timeout=20000):
        pane.open_snapshot_button.click()
    assert pane.result.from_snapshot and "offline copy" in pane.as_of.text()
    assert "snapshot" in pane.result_title.text() and not pane.save_button.isEnabled()


def select_snapshots(pane, rows):
    from PySide6.QtCore import QItemSelectionModel

    sel = pane.snapshots_view.selectionModel()
    sel.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in rows:
        sel.select(pane.snapshots_model.index(r, 0), flags)


def test_compare_only_snapshots_of_one_report(qtbot, pane):
    """Compare is off, and its tooltip says why, for snapshots of two different reports (and for one
    snapshot of another report than the one on screen); the service's message stays behind it."""
    choose(qtbot, pane, "completion")
    with qtbot.waitSignal(pane.model.snapshots_loaded, timeout=20000):
        pane.save_button.click()
    choose(qtbot, pane, "engagement")
    with qtbot.waitSignal(pane.model.snapshots_loaded, timeout=20000):
        pane.save_button.click()
    kinds = [pane.snapshots_model.item(r).kind for r in range(pane.snapshots_model.rowCount())]
    assert kinds == ["engagement", "completion"]  # newest first
    select_snapshots(pane, [0, 1])
    assert not pane.compare_button.isEnabled()
    tip = pane.compare_button.toolTip()
    assert "different reports" in tip and "Completion rates" in tip and "Engagement" in tip, tip
    assert pane.delete_snapshot_button.isEnabled()
    select_snapshots(pane, [0])  # the engagement snapshot, with engagement on screen
    assert pane.compare_button.isEnabled() and "different" not in pane.compare_button.toolTip()
    select_snapshots(pane, [1])  # the completion snapshot, with engagement on screen
    assert not pane.compare_button.isEnabled() and "report on screen" in pane.compare_button.toolTip()
    choose(qtbot, pane, "completion")  # now it can be compared with what is on screen
    assert pane.compare_button.isEnabled()
    with qtbot.waitSignal(pane.model.snapshots_loaded, timeout=20000):
        pane.save_button.click()
    select_snapshots(pane, [0, 2])  # two completion snapshots
    assert [s.kind for s in pane._selected_snapshots()] == ["completion", "completion"]
    assert pane.compare_button.isEnabled()
    with qtbot.waitSignal(pane.model.comparison_ready, timeout=20000) as got:
        pane.compare_button.click()
    assert got.args[0].table is not None and "different" not in got.args[0].message


def test_snapshots_table_columns_are_readable(qtbot, pane):
    """At the pane's usual width the snapshot list's headers and dates show in full and the columns
    fill the table (they were 100 px each: "ata as of (UT", "2026-11-28 ...")."""
    pane.show_target(None)  # a report on screen, whichever run (the first, or a re-run) brought it
    qtbot.waitUntil(lambda: pane.result is not None and not pane.session.runner.is_running("report"), timeout=30000)
    with qtbot.waitSignal(pane.model.snapshots_loaded, timeout=20000):
        pane.save_button.click()
    pane.tabs.setCurrentWidget(pane.snapshots_page)
    view = pane.snapshots_view
    header = view.horizontalHeader()
    qtbot.waitUntil(lambda: header.length() == view.viewport().width(), timeout=3000)  # fills the width
    metrics = header.fontMetrics()
    model = pane.snapshots_model
    for c in range(model.columnCount()):
        title = model.headerData(c, Qt.Orientation.Horizontal)
        assert header.sectionSize(c) >= metrics.horizontalAdvance(title) + 8, title
        if c < model.columnCount() - 1:  # the parameters column takes what is left
            assert header.sectionSize(c) >= view.sizeHintForColumn(c), title
    saved = model.data(model.index(0, 1))
    assert len(saved) == 16 and view.sizeHintForColumn(1) >= view.fontMetrics().horizontalAdvance(saved)
    assert model.data(model.index(0, 4), Qt.ItemDataRole.ToolTipRole) == model.data(model.index(0, 4))


def test_run_button_icon_reads_on_the_accent(qtbot, qapp, pane):
    """The "Run report" button is filled with the accent colour: its icon is drawn in the accent's text
    colour (white), not the dark grey of icons on the window background, and follows theme switches."""
    from PySide6.QtGui import QColor

    def icon_colour():
        image = pane.run_button.icon().pixmap(QSize(24, 24)).toImage()
        solid = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
                 if image.pixelColor(x, y).alpha() > 200]
        assert solid
        return QColor(*(round(sum(getattr(c, k)() for c in solid) / len(solid)) for k in ("red", "green", "blue")))

    for name in ("light", "dark", "light"):
        theme.apply_theme(qapp, name)
        got, want = icon_colour(), theme.color("accent_text")
        assert max(abs(got.red() - want.red()), abs(got.green() - want.green()),
                   abs(got.blue() - want.blue())) < 16, (name, got.name(), want.name())
    assert theme.color("icon", "light").lightness() < 100  # what the icon was drawn in: dark grey


def icon_colour(qicon):
    """The mean colour of an icon's solid pixels."""
    from PySide6.QtGui import QColor

    image = qicon.pixmap(QSize(24, 24)).toImage()
    solid = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
             if image.pixelColor(x, y).alpha() > 200]
    assert solid
    return QColor(*(round(sum(getattr(c, k)() for c in solid) / len(solid)) for k in ("red", "green", "blue")))


def test_report_list_icons_follow_a_theme_switch(qtbot, qapp, pane):
    from lms_console.views.icons import icon

    seen = {}
    for name in ("light", "dark", "light"):
        theme.apply_theme(qapp, name)
        want = {"chart": icon_colour(icon("chart")), "save": icon_colour(icon("save"))}
        got = {icon_colour(pane.chooser.item(r).icon()).name() for r in range(pane.chooser.count())}
        assert got == {want["chart"].name()}, name  # drawn for this theme, not kept from the last one
        assert icon_colour(pane.save_button.icon()) == want["save"], name
        seen[name] = want["chart"].name()
    assert seen["light"] != seen["dark"]


def test_exports_and_print(qtbot, pane, tmp_path):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")):
        pane.export(str(tmp_path / f"c.{fmt}"), fmt)
        assert (tmp_path / f"c.{fmt}").read_bytes().startswith(magic)
    for fmt in ("csv", "xlsx"):
        with qtbot.waitSignal(pane.model.exported, timeout=20000):
            pane.export(str(tmp_path / f"d.{fmt}"), fmt)
        assert (tmp_path / f"d.{fmt}").stat().st_size > 0
    assert (tmp_path / "d.csv").read_text("utf-8-sig").startswith("Course,Learners")
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter()
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    pane.print_to(printer)
    assert (tmp_path / "printed.pdf").read_bytes().startswith(b"%PDF")


def test_print_button_opens_the_print_dialog_and_prints(qtbot, pane, tmp_path):
    """Print… shows Qt's print dialog window-modal (no nested event loop) and prints what is on screen
    when it is accepted; here to the dialog's "Print to File (PDF)"."""
    from PySide6.QtPrintSupport import QPrintDialog
    from PySide6.QtWidgets import QLineEdit

    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    assert pane.print_button.isEnabled()
    pane.print_button.click()  # returns: the dialog does not run its own event loop
    dialog = pane.findChild(QPrintDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    printer = dialog.printer()
    assert printer.docName() == pane.result.title
    out = tmp_path / "printed-from-dialog.pdf"
    dialog.findChild(QLineEdit, "filename").setText(str(out))  # the Print to File (PDF) destination
    dialog.accept()
    assert not dialog.isVisible()
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 10000
    # A second Print… opens a fresh dialog; closing it prints nothing.
    pane.print_button.click()
    again = pane._print_dialog[0]
    assert again is not dialog and again.isVisible()
    again.findChild(QLineEdit, "filename").setText(str(tmp_path / "not-printed.pdf"))
    again.reject()
    assert not again.isVisible() and not (tmp_path / "not-printed.pdf").exists()


def test_parameters_rerun_after_a_pause_and_settings_persist(qtbot, pane):
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    pane.params.group_combo.setCurrentIndex(pane.params.group_combo.findData("cohort"))
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000) as got:
        pass
    assert got.args[0].params.group_by == "cohort" and "Cohort" in got.args[0].main.columns
    pane.auto_snapshot.setChecked(True)
    assert pane.model.auto_snapshot and pane.settings.value("reports/auto_snapshot", type=bool)


def test_wiring_registers_the_pane(qtbot, session, tmp_path):
    from lms_console.views.main_window import MainWindow

    window = MainWindow(session, QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    pane = install_reports_views(window, session)
    assert window.show_pane("reports") is pane and window.reports_pane is pane


def test_importing_the_pane_loads_neither_matplotlib_nor_pandas():
    code = ("import os, sys; os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen'); "
            "import lms_console.views.reports_pane, lms_console.views.reports_wiring; "
            "bad = [m for m in ('matplotlib', 'pandas', 'numpy') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_a_profile(qtbot, tmp_path):
    runner = TaskRunner(http_workers=1)
    try:
        p = ReportsPane(ConnectionSession(runner))
        qtbot.addWidget(p)
        p.run()
        assert "Open a connection profile" in p.chart.empty_label.text()
        assert not p.save_button.isEnabled() and not p.print_button.isEnabled()
    finally:
        runner.shutdown(wait=True)




def test_a_damaged_cache_reads_as_a_reason_not_a_crash(qtbot, pane, session):
    """A table gone from the cache behind the console's back: the report says the local copy could
    not be read, and why, in place of the chart."""
    import sqlite3

    raw = sqlite3.connect(session.db.path)
    try:
        raw.execute("DROP TABLE course_progress")
        raw.commit()
    finally:
        raw.close()
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    assert pane.result.is_empty and pane.chart.stack.currentWidget() is pane.chart.empty
    text = pane.chart.empty_label.text()
    assert "could not be read" in text and "course_progress" in text, text


def test_a_failed_report_says_why_and_keeps_the_last_one(qtbot, pane, session, monkeypatch):
    """A report that fails (a bug in its query, injected here) leaves the previous report on screen
    with its own date instead of "Working…", says what went wrong and offers to try again."""
    from lms_console.services import reports_completion

    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    before, as_of = pane.result, pane.as_of.text()
    assert "Data as of" in as_of

    def broken(*_a, **_k):
        raise RuntimeError("division by zero in the completion query")

    monkeypatch.setattr(reports_completion, "build_completion", broken)
    with qtbot.waitSignal(session.runner.job_failed, timeout=30000):
        pane.model.refresh()
    qtbot.waitUntil(pane.banner.isVisible, timeout=5000)
    assert pane.result is before and pane.as_of.text() == as_of
    assert not pane.cancel_button.isVisible()
    text = " ".join(w.text() for w in pane.banner.findChildren(QLabel))
    assert "could not be built" in text and "division by zero" in text, text
    monkeypatch.undo()
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.banner.findChild(QPushButton, "BannerRetry").click()
    assert pane.result is not before and "Data as of" in pane.as_of.text()


def start_with_options(qtbot, pane):
    """Run the first report and wait for the parameters' choices (courses, cohorts...)."""
    with qtbot.waitSignals([pane.model.report_ready, pane.model.options_loaded], timeout=30000):
        pane.show_target(None)
    return pane.params.options


def tab(pane) -> str:
    return pane.tabs.tabText(pane.tabs.currentIndex())


def test_a_report_opens_on_its_table_and_keeps_the_tab_the_admin_chose(qtbot, pane):
    assert tab(pane) == "Notes"  # nothing ran yet: the notes say so
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.show_target(None)
    assert tab(pane) == "Numbers"  # the first run shows its table, not the notes
    pane.tabs.setCurrentIndex([pane.tabs.tabText(i) for i in range(pane.tabs.count())].index("Notes"))
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        pane.run()
    assert tab(pane) == "Notes"  # the same report again: the admin's choice stays
    choose(qtbot, pane, "engagement")
    assert tab(pane) == "Per week"  # another report: its own table first
    choose(qtbot, pane, "completion")
    assert tab(pane) == "Numbers"


def test_filters_of_another_report_are_named_or_left_out(qtbot, pane):
    options = start_with_options(qtbot, pane)
    assert options.cohorts and options.categories
    cohort_id, cohort_name, _members = options.cohorts[0]
    choose(qtbot, pane, "compliance")
    pane.params.cohorts.set_checked([cohort_id])  # chosen for compliance
    r = choose(qtbot, pane, "engagement")
    assert r.params.cohorts == (cohort_id,) and not r.is_empty
    assert f"cohort {cohort_name}" in pane.as_of.text()  # it still applies: the summary says so
    pane.params.categories.set_checked([options.categories[0][0]])  # chosen for engagement
    r = choose(qtbot, pane, "compliance")
    assert r.params.categories == () and r.params.inactive_days == 30  # compliance shows neither
    pane._rerun.stop()


def test_the_due_dates_table_fits_its_rows(qtbot, pane):
    options = start_with_options(qtbot, pane)
    pane.resize(1300, 760)  # a laptop screen: the parameters scroll, and squeezed the table to one row
    choose(qtbot, pane, "compliance")
    due = pane.params.due

    def check(ids):
        for r in range(pane.params.courses.model.rowCount()):
            item = pane.params.courses.model.item(r)
            wanted = item.data(Qt.ItemDataRole.UserRole) in ids
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
        pane._rerun.stop()

    ids = [c[0] for c in options.courses]
    check(ids[:3])
    assert due.rowCount() == 3
    rows = sum(due.rowHeight(r) for r in range(3))
    qtbot.waitUntil(lambda: due.viewport().height() >= rows, timeout=3000)  # every row shows
    assert due.verticalScrollBar().maximum() == 0
    assert all(due.cellWidget(r, 1).height() <= due.rowHeight(r) for r in range(3))  # date edits are not clipped
    if len(ids) > 6:
        check(ids[:8])
        qtbot.waitUntil(lambda: due.verticalScrollBar().maximum() > 0, timeout=3000)  # at most 6 rows, then scrolls
        assert due.viewport().height() <= sum(due.rowHeight(r) for r in range(6)) + 2


def test_a_report_loading_says_so_and_the_open_a_profile_text_only_shows_without_one(qtbot, site, template,
                                                                                      go_online, tmp_path):
    runner = TaskRunner(http_workers=2)
    s = ConnectionSession(runner)
    p = ReportsPane(s, settings=QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(p)
    p.resize(1300, 900)
    p.show()
    try:
        assert p.chart.empty_label.text().startswith("Open a connection profile")  # none open yet
        go_online(s, site, cache_from=template)
        seen = []  # what the chart area says while the report is read
        p.model.report_started.connect(lambda _k: seen.append((p.chart.stack.currentWidget() is p.chart.empty,
                                                              p.chart.empty_label.text())))
        with qtbot.waitSignal(p.model.report_ready, timeout=30000):
            p.show_target(None)
        assert seen == [(True, "Reading the local copy…")]
        drawn(qtbot, p)

        s.close()  # the report of a profile that is closed goes with it
        assert p.result is None and p.chart.stack.currentWidget() is p.chart.empty
        assert p.chart.empty_label.text().startswith("Open a connection profile")
        assert p.result_title.text() == "" and not p.save_button.isEnabled()
    finally:
        p.close()
        s.close()
        runner.shutdown(wait=True)
