"""QA on the reports' options: a start date typed after the end date ran the report over an empty range
("completed between 2026-12-31 and 2026-11-29", 0 everywhere) without a word; the range typed for one
profile's report was still there in the next profile's; and at a 1400 px window the options scrolled
sideways, the end date cut off. Against the sandbox: real sessions and cache files, the real pane in the
main window, the theme's style sheet, dates typed with the keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDate, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea

from lms_console.models.session import Online
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore
from lms_console.services.reports import KINDS
from lms_console.views import theme
from lms_console.views.reports_params import to_stamp
from lms_console.views.reports_wiring import install_reports_views

WAIT = 30_000
ENTITIES = ("site", "users", "courses", "cohorts", "enrolments")
RERUN_PAUSE = 900  # longer than the pane's pause before a re-run


@pytest.fixture
def opened(qtbot, qapp, change_console, server, template):
    """(session, window, pane): the main window at ``size`` with the reports pane shown, its first report in."""

    def make(size=(1400, 900)):
        theme.apply_theme(qapp, "light")  # the style sheet's paddings are part of the widths
        session, _engine, window, _views, pane = change_console(
            server, ENTITIES, setup=lambda w, s, _e: install_reports_views(w, s), cache_from=template)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitSignals([pane.model.report_ready, pane.model.options_loaded], timeout=WAIT):
            window.show_pane("reports")
            pane.show_target(None)
        return session, window, pane

    return make


def choose(qtbot, pane, kind: str) -> None:
    with qtbot.waitSignal(pane.model.report_ready, timeout=WAIT):
        row = [pane.chooser.item(r).data(Qt.ItemDataRole.UserRole) for r in range(pane.chooser.count())].index(kind)
        pane.chooser.setCurrentRow(row)


def type_date(qtbot, pane, edit, text: str) -> None:
    """Type ``text`` over the whole date and press Enter, as the admin does."""
    pane.findChild(QScrollArea, "ReportParamsScroll").ensureWidgetVisible(edit)
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(edit, text)
    QTest.keyClick(edit, Qt.Key.Key_Return)


def limit_dates(qtbot, pane) -> None:
    with qtbot.waitSignal(pane.model.report_ready, timeout=WAIT):
        pane.params.limit_dates.setChecked(True)


def test_a_start_after_the_end_is_refused_at_the_field_and_not_run(qtbot, opened):
    _session, _window, pane = opened()
    params = pane.params
    limit_dates(qtbot, pane)
    params.date_to.setDate(QDate(2026, 11, 29))
    changed, started = [], []
    params.changed.connect(lambda: changed.append(1))
    pane.model.report_started.connect(started.append)
    type_date(qtbot, pane, params.date_from, "20261231")
    assert params.date_from.date() == QDate(2026, 12, 31)
    assert changed == []  # no re-run over an empty range
    said = "The start (2026-12-31) is after the end (2026-11-29)"
    assert params.date_problem.isVisible() and params.date_problem.text().startswith(said)
    assert params.date_from.accessibleDescription().startswith(said)
    qtbot.mouseClick(pane.run_button, Qt.MouseButton.LeftButton)  # nor when asked for
    qtbot.wait(RERUN_PAUSE)
    assert started == [] and pane.result is None
    # A report without dates runs; back to one with dates, the range is refused again.
    choose(qtbot, pane, "compliance")
    assert not params.date_problem.isVisibleTo(params)
    pane.chooser.setCurrentRow(0)
    qtbot.wait(RERUN_PAUSE)
    assert params.date_problem.isVisible() and pane.result is None
    # Corrected, the report runs over the range as typed.
    with qtbot.waitSignal(pane.model.report_ready, timeout=WAIT) as got:
        type_date(qtbot, pane, params.date_to, "20270131")
    assert not params.date_problem.isVisible()
    assert (got.args[0].params.date_from, got.args[0].params.date_to) == \
        (to_stamp(QDate(2026, 12, 31)), to_stamp(QDate(2027, 1, 31), end_of_day=True))


def test_the_range_and_choices_of_one_profile_are_not_carried_to_the_next(qtbot, opened, other_server):
    session, _window, pane = opened()
    params = pane.params
    limit_dates(qtbot, pane)
    type_date(qtbot, pane, params.date_from, "20240101")
    params.courses.set_checked([params.courses.model.item(0).data(Qt.ItemDataRole.UserRole)])
    assert params.params().date_from == to_stamp(QDate(2024, 1, 1)) and params.params().courses
    store = ProfileStore()
    profile = store.get("B") if store.exists("B") else store.add("B", other_server.url)
    assert session.open(profile, Secret(other_server.admin_token))
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT)
    assert not params.limit_dates.isChecked() and not params.date_from.isEnabled()
    today = QDate.currentDate()
    assert (params.date_from.date(), params.date_to.date()) == (today.addMonths(-6), today)
    assert params.params().date_from is None and params.params().courses == ()
    assert not params.date_problem.isVisible()


@pytest.mark.parametrize("size", [(1400, 900), (1280, 800)])  # QA's window, and the default one
def test_the_options_fit_the_sidebar(qtbot, opened, size):
    _session, window, pane = opened(size)
    assert window.width() == size[0]
    scroll = pane.findChild(QScrollArea, "ReportParamsScroll")
    params = pane.params
    limit_dates(qtbot, pane)
    for kind in KINDS:
        row = [pane.chooser.item(r).data(Qt.ItemDataRole.UserRole) for r in range(pane.chooser.count())].index(kind)
        pane.chooser.setCurrentRow(row)
        qtbot.wait(50)
        assert params.minimumSizeHint().width() <= scroll.viewport().width(), kind
        assert not scroll.horizontalScrollBar().isVisible(), kind
        if "dates" in KINDS[kind].uses:
            edge = params.date_to.mapTo(scroll.viewport(), QPoint(params.date_to.width(), 0)).x()
            assert edge <= scroll.viewport().width(), kind  # the end date whole, not cut off
    pane._rerun.stop()
