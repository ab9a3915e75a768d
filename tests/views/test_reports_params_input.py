"""The reports pane's options under the mouse wheel and the keyboard (QA): the wheel scrolls the panel
instead of changing the boxes it passes over, and a compliance due date can be typed and picked near
today, re-running the report once the date is finished."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDate, QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea, QTableView

from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.views.reports_pane import ReportsPane
from lms_console.views.reports_params import to_stamp


@pytest.fixture(scope="module")
def site():
    server = SandboxServer(users=60, courses=3, seed=29).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template(site, tmp_path_factory, synced_template):
    return synced_template(site, tmp_path_factory.mktemp("reports-params") / "template.sqlite")


@pytest.fixture
def pane(qtbot, site, template, go_online, tmp_path):
    runner = TaskRunner(http_workers=2)
    session = ConnectionSession(runner)
    go_online(session, site, cache_from=template)
    p = ReportsPane(session, settings=QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(p)
    p.resize(1100, 560)  # small enough for the options to scroll
    p.show()
    qtbot.waitExposed(p)
    with qtbot.waitSignals([p.model.report_ready, p.model.options_loaded], timeout=30000):
        p.show_target(None)
    yield p
    p.close()
    session.close()
    runner.shutdown(wait=True)


def choose(qtbot, pane, kind: str) -> None:
    with qtbot.waitSignal(pane.model.report_ready, timeout=30000):
        row = [pane.chooser.item(r).data(Qt.ItemDataRole.UserRole) for r in range(pane.chooser.count())].index(kind)
        pane.chooser.setCurrentRow(row)


def wheel(widget, down: bool = True) -> None:
    """A real (window-system) wheel turn with the pointer over the middle of ``widget``."""
    window = widget.window()
    pos = widget.mapTo(window, widget.rect().center())
    QTest.wheelEvent(window.windowHandle(), pos, QPoint(0, -120 if down else 120))


def value(widget):
    return widget.currentIndex() if hasattr(widget, "currentIndex") else widget.text()


def scrolls_past(qtbot, pane, box) -> None:
    """A wheel turn over ``box`` (not focused) scrolls the options and leaves ``box`` as it was."""
    scroll = pane.findChild(QScrollArea, "ReportParamsScroll")
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0
    pane.chooser.setFocus()
    scroll.ensureWidgetVisible(box)
    before, at = value(box), bar.value()
    down = at < bar.maximum()
    wheel(box, down)
    qtbot.waitUntil(lambda: bar.value() != at, timeout=2000)  # the panel scrolled
    assert (bar.value() > at) == down
    assert value(box) == before, box.accessibleName()  # the box did not change
    assert box.focusPolicy() == Qt.FocusPolicy.StrongFocus  # and a wheel turn does not focus it


def test_the_wheel_scrolls_the_options_and_leaves_unfocused_boxes_alone(qtbot, pane):
    choose(qtbot, pane, "engagement")  # profile field, dates, "inactive after"
    params = pane.params
    params.limit_dates.setChecked(True)  # the date boxes take part
    qtbot.waitSignal(pane.model.report_ready, timeout=30000).wait()
    assert params.field_combo.count() > 1  # a wheel turn could pick another field
    runs = []
    params.changed.connect(lambda: runs.append(1))
    for box in (params.field_combo, params.date_from, params.date_to, params.inactive_days):
        assert box.isVisibleTo(pane) and box.isEnabled()
        scrolls_past(qtbot, pane, box)
    assert not runs and not pane._rerun.isActive()
    # With keyboard focus the wheel is the box's again.
    combo = params.field_combo
    pane.findChild(QScrollArea, "ReportParamsScroll").ensureWidgetVisible(combo)
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    before = combo.currentIndex()
    wheel(combo, down=True)
    qtbot.waitUntil(lambda: combo.currentIndex() != before, timeout=2000)
    pane._rerun.stop()


def test_the_wheel_passes_over_the_group_chart_and_due_date_boxes(qtbot, pane):
    choose(qtbot, pane, "completion_over_time")
    scrolls_past(qtbot, pane, pane.params.group_combo)
    choose(qtbot, pane, "assessment")
    scrolls_past(qtbot, pane, pane.params.style_combo)
    edit = due_edit(qtbot, pane)
    scrolls_past(qtbot, pane, edit)
    assert edit.text() == "No deadline" and not pane._rerun.isActive()


def due_edit(qtbot, pane):
    choose(qtbot, pane, "compliance")
    courses = pane.params.courses
    courses.model.item(0).setCheckState(Qt.CheckState.Checked)
    pane._rerun.stop()
    due = pane.params.due
    edit = due.cellWidget(0, 1)
    # The table places its cell widgets in a deferred layout: wait until the date edit is in its cell.
    qtbot.waitUntil(lambda: due.visualRect(due.model().index(0, 1)).contains(edit.geometry().center()), timeout=2000)
    pane.findChild(QScrollArea, "ReportParamsScroll").ensureWidgetVisible(edit)
    return edit


@pytest.mark.qt_log_ignore(r"^This plugin does not support (propagateSizeHints|raise)\(\)$",
                           r"^This plugin does not support grabbing the keyboard$")  # the calendar popup, offscreen
def test_a_due_date_opens_its_calendar_near_today(qtbot, pane):
    edit = due_edit(qtbot, pane)
    assert edit.text() == "No deadline" and pane.params.params().required[0].due is None
    arrow = QPoint(edit.width() - 6, edit.height() // 2)
    QTest.mouseMove(edit, arrow)
    QTest.mouseClick(edit, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, arrow)
    calendar = edit.calendarWidget()
    qtbot.waitUntil(calendar.isVisible, timeout=2000)
    today = QDate.currentDate()
    assert (calendar.yearShown(), calendar.monthShown()) == (today.year(), today.month())  # not January 2000
    picked = today.addDays(10)
    view = calendar.findChild(QTableView, "qt_calendar_calendarview")
    calendar.setSelectedDate(picked)  # as the arrow keys move it
    assert not pane._rerun.isActive()
    with qtbot.waitSignal(pane.params.changed, timeout=2000):  # a picked day is a finished edit
        QTest.keyClick(view, Qt.Key.Key_Return)
    assert edit.date() == picked and not calendar.isVisible()
    assert pane.params.params().required[0].due == to_stamp(picked, end_of_day=True)
    pane._rerun.stop()


def test_a_due_date_is_typed_and_reruns_once_it_is_finished(qtbot, pane):
    edit = due_edit(qtbot, pane)
    runs = []
    pane.params.changed.connect(lambda: runs.append(edit.text()))
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    due = QDate(QDate.currentDate().year() + 1, 10, 1)  # another year than today's: the year is typed too
    typed = due.toString("yyyy-MM-dd")
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(edit, typed)
    assert edit.text() == typed and edit.date() == due
    assert runs == [] and not pane._rerun.isActive()  # not while typing
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert runs == [typed] and pane._rerun.isActive()
    assert pane.params.params().required[0].due == to_stamp(due, end_of_day=True)
    pane._rerun.stop()
    # Delete on the whole date: no deadline again, committed when the field is left.
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    assert edit.text() == "No deadline" and len(runs) == 1
    pane.chooser.setFocus()
    qtbot.waitUntil(lambda: len(runs) == 2, timeout=2000)
    assert pane.params.params().required[0].due is None
    pane._rerun.stop()


def test_the_date_range_reruns_once_a_date_is_finished(qtbot, pane):
    choose(qtbot, pane, "engagement")
    params = pane.params
    params.limit_dates.setChecked(True)
    qtbot.waitSignal(pane.model.report_ready, timeout=30000).wait()
    runs = []
    params.changed.connect(lambda: runs.append(1))
    edit = params.date_from
    pane.findChild(QScrollArea, "ReportParamsScroll").ensureWidgetVisible(edit)
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    day = QDate(QDate.currentDate().year() - 2, 3, 4)
    QTest.keyClicks(edit, day.toString("yyyy-M-d"))  # without leading zeros too
    assert edit.date() == day and runs == []
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert runs == [1]
    pane._rerun.stop()
