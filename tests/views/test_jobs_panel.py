"""The jobs panel over a real TaskRunner: progress, cancel, clear finished, failures."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from lms_console.models.jobs_model import JobsModel
from lms_console.models.tasks import JobState
from lms_console.services.lms.errors import Unreachable
from lms_console.services.progress import ProgressEvent
from lms_console.views import crash_handler, theme
from lms_console.views.jobs_panel import COL_DETAILS, COL_PROGRESS, COL_STATE, JobsPanel


@pytest.fixture
def panel(qtbot, runner):
    p = JobsPanel(runner)
    qtbot.addWidget(p)
    p.resize(900, 300)
    p.show()
    qtbot.waitExposed(p)
    yield p


def _cooperative(started: threading.Event, total: int = 0, hold: threading.Event | None = None):
    def job(progress, cancel):
        started.set()
        i = 0
        while not cancel.cancelled and (hold is None or not hold.is_set()):
            i += 1
            progress(ProgressEvent("rows", min(i, total - 1) if total else i, total, f"row {i}"))
            time.sleep(0.01)
        cancel.raise_if_cancelled()
        return i

    return job


def _row_of(panel: JobsPanel, job_id: int) -> int:
    proxy = panel.filter_model()
    return next(r for r in range(proxy.rowCount()) if proxy.job_at(r).id == job_id)


def test_empty_panel_says_what_it_is_for(qtbot, runner, panel):
    empty = panel.findChild(QLabel, "JobsEmpty")
    assert empty.isVisible() and "progress" in empty.text()
    assert not panel.table().isVisible()
    assert not panel.cancel_action.isEnabled() and not panel.clear_action.isEnabled()
    runner.run("quick", lambda p, c: None, label="Quick")
    qtbot.waitUntil(panel.table().isVisible, timeout=3000)
    assert not empty.isVisible()


def test_progress_is_shown_and_running_jobs_cancel(qtbot, runner, panel):
    started = threading.Event()
    job_id = runner.run("sync", _cooperative(started, total=200), label="Sync users")
    assert started.wait(5)
    qtbot.waitUntil(lambda: runner.job(job_id).done > 0, timeout=5000)
    row = _row_of(panel, job_id)
    proxy = panel.filter_model()
    fraction = proxy.index(row, COL_PROGRESS).data(JobsModel.ProgressRole)
    assert 0 < fraction < 1
    assert not panel.grab().isNull()  # the progress delegate paints
    assert panel.select_job(job_id) and panel.cancel_action.isEnabled()
    panel.cancel_action.trigger()
    qtbot.waitUntil(lambda: runner.job(job_id).state is JobState.CANCELLED, timeout=5000)
    qtbot.waitUntil(lambda: not panel.cancel_action.isEnabled(), timeout=2000)


def test_unknown_progress_animates_only_while_running(qtbot, runner, panel):
    started, hold = threading.Event(), threading.Event()
    job_id = runner.run("report", _cooperative(started, total=0, hold=hold), label="Build report")
    assert started.wait(5)
    qtbot.waitUntil(lambda: runner.job(job_id).state is JobState.RUNNING, timeout=5000)
    assert panel.filter_model().index(0, COL_PROGRESS).data(JobsModel.ProgressRole) == -1.0
    panel.table().viewport().repaint()
    delegate = panel.table().itemDelegateForColumn(COL_PROGRESS)
    assert delegate.is_animating()
    hold.set()
    qtbot.waitUntil(lambda: runner.job(job_id).state is JobState.DONE, timeout=5000)
    qtbot.waitUntil(lambda: not delegate.is_animating(), timeout=2000)


def test_clear_finished_keeps_running_jobs(qtbot, runner, panel):
    started, hold = threading.Event(), threading.Event()
    running = runner.run("long", _cooperative(started, hold=hold), label="Long job")
    done = runner.run("short", lambda p, c: 1, label="Short job")
    qtbot.waitUntil(lambda: runner.job(done).state is JobState.DONE, timeout=5000)
    qtbot.waitUntil(panel.clear_action.isEnabled, timeout=2000)
    assert panel.filter_model().rowCount() == 2
    panel.clear_action.trigger()
    proxy = panel.filter_model()
    assert [proxy.job_at(r).id for r in range(proxy.rowCount())] == [running]
    assert not panel.clear_action.isEnabled()
    hold.set()
    qtbot.waitUntil(lambda: runner.job(running).state.finished, timeout=5000)


def test_failures_are_red_with_the_error_in_the_tooltip(qtbot, runner, panel):
    def offline(progress, cancel):
        raise Unreachable("cannot connect to moodle.example.edu", function="core_user_get_users")

    job_id = runner.run("groups", offline, label="Sync groups")
    qtbot.waitUntil(lambda: runner.job(job_id).state is JobState.FAILED, timeout=5000)
    proxy = panel.filter_model()
    row = _row_of(panel, job_id)
    red = proxy.index(row, COL_DETAILS).data(Qt.ItemDataRole.ForegroundRole)
    assert isinstance(red, QColor) and red == theme.color("error")
    assert "cannot connect" in proxy.index(row, COL_DETAILS).data(Qt.ItemDataRole.ToolTipRole)
    assert proxy.index(row, COL_STATE).data() == "Failed"
    assert not panel.show_bug_details(job_id)  # expected errors have no crash details


def test_double_clicking_a_failed_bug_opens_the_crash_details(qtbot, runner, panel):
    token = "0123456789abcdef0123456789abcdef"

    def bug(progress, cancel):
        raise KeyError(f"fullname (wstoken={token})")

    job_id = runner.run("import", bug, label="Import users.csv")
    qtbot.waitUntil(lambda: runner.job(job_id).state is JobState.FAILED, timeout=5000)
    proxy = panel.filter_model()
    row = _row_of(panel, job_id)
    assert token not in proxy.index(row, COL_DETAILS).data()
    assert "Double-click" in proxy.index(row, COL_STATE).data(Qt.ItemDataRole.ToolTipRole)
    panel.table().doubleClicked.emit(proxy.index(row, COL_STATE))
    qtbot.waitUntil(lambda: crash_handler.current_dialog() is not None, timeout=3000)
    dialog = crash_handler.current_dialog()
    assert "KeyError" in dialog.summary_text() and "Traceback" in dialog.details_text()
    assert token not in dialog.details_text()
