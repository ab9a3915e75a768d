"""Status-bar indicators: connection, freshness, jobs, outbox."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from lms_console.models.tasks import JobInfo, JobState
from lms_console.views.widgets.status_widgets import (
    ConnectionIndicator,
    FreshnessLabel,
    JobsIndicator,
    OutboxIndicator,
    clock_text,
)


@pytest.fixture
def add(qtbot):
    def _add(widget):
        qtbot.addWidget(widget)
        return widget

    return _add


def _at(hour: int, minute: int, days_ago: int = 0) -> float:
    now = time.localtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday - days_ago, hour, minute, 0, 0, 0, -1))


def _job(job_id: int, done: int = 0, total: int = 0, state: JobState = JobState.RUNNING) -> JobInfo:
    return JobInfo(job_id, f"job{job_id}", f"Job {job_id}", state, time.time(), done=done, total=total)


def test_clock_text_is_short_today_and_dated_otherwise():
    assert clock_text(_at(10, 42)) == "10:42"
    assert clock_text(_at(10, 42, days_ago=3)).endswith("10:42") and " " in clock_text(_at(10, 42, days_ago=3))


def test_connection_indicator_states(qtbot, add):
    ind = add(ConnectionIndicator())
    assert ind.state() == "none" and ind.text() == "No profile"  # nothing connects before a profile opens
    assert "Profiles" in ind.findChild(QToolButton).toolTip()
    ind.set_connecting("moodle.example.edu")
    assert ind.state() == "connecting" and ind.text() == "Connecting…"
    ind.set_online("moodle.example.edu")
    assert ind.text() == "Online" and ind.property("state") == "online"
    assert "moodle.example.edu" in ind.findChild(QToolButton).toolTip()
    ind.set_offline(_at(13, 5), reason="Connection refused")
    assert ind.text() == "Offline since 13:05" and ind.state() == "offline"
    tip = ind.findChild(QToolButton).toolTip()
    assert "Connection refused" in tip and "cache" in tip
    ind.set_token_needed("Prod")
    assert ind.state() == "token" and ind.text() == "Token needed"
    assert "No token for Prod" in ind.findChild(QToolButton).toolTip()
    ind.set_no_profile()
    assert ind.text() == "No profile"
    with qtbot.waitSignal(ind.clicked):
        qtbot.mouseClick(ind.findChild(QToolButton), Qt.MouseButton.LeftButton)


def test_freshness_shows_the_stalest_entity_and_lists_all(add):
    label = add(FreshnessLabel(stale_after=10 * 365 * 86400))
    assert label.isHidden()  # nothing to say before a profile is open
    label.set_times({"Users": _at(10, 42), "Groups": _at(9, 5), "Courses": _at(11, 0)})
    assert label.text() == "As of 09:05" and not label.is_stale()
    tip = label.toolTip()
    assert all(name in tip for name in ("Users", "Groups", "Courses"))
    assert tip.index("Groups") < tip.index("Users") < tip.index("Courses")  # stalest first
    assert "09:05:00" in tip


def test_freshness_flags_stale_and_never_synced_data(add):
    label = add(FreshnessLabel(stale_after=3600))
    label.set_times({"Users": time.time() - 7200})
    assert label.is_stale()
    label.set_times({"Users": time.time(), "Cohorts": None})
    assert label.text().endswith("(1 never synced)") and label.is_stale()
    assert "never synced" in label.toolTip()
    label.set_times({"Users": None})
    assert label.text() == "Not synced yet"
    label.set_times({})
    assert label.isHidden()


def test_jobs_indicator_shows_a_bar_only_after_half_a_second(qtbot, add):
    ind = add(JobsIndicator())
    assert ind.count() == 0 and ind.text() == ""
    ind.set_jobs([_job(1, 5, 10), _job(2)])
    assert ind.text() == "2 jobs running" and not ind.bar_visible()
    qtbot.wait(200)
    assert not ind.bar_visible()
    qtbot.waitUntil(ind.bar_visible, timeout=2000)
    assert "Job 1: 5 of 10" in ind.findChild(QToolButton).toolTip()
    ind.set_jobs([_job(1, 5, 10), _job(2), _job(3, state=JobState.QUEUED), _job(4, state=JobState.QUEUED)])
    assert ind.text() == "2 jobs running, 2 waiting"  # queued jobs are not said to run
    ind.set_jobs([_job(3, state=JobState.QUEUED)])
    assert ind.text() == "1 job waiting"
    ind.set_jobs([_job(1, 10, 10, JobState.DONE)])
    assert ind.count() == 0 and not ind.bar_visible()
    with qtbot.waitSignal(ind.clicked):
        ind.findChild(QToolButton).click()


def test_a_short_job_never_shows_the_bar(qtbot, add):
    ind = add(JobsIndicator())
    ind.set_jobs([_job(1)])
    qtbot.wait(100)
    ind.set_jobs([])
    qtbot.wait(600)
    assert not ind.bar_visible()


def test_jobs_indicator_tracks_a_runner(qtbot, add, runner):
    ind = add(JobsIndicator())
    ind.track(runner)
    release = threading.Event()
    runner.run("slow", lambda p, c: release.wait(5), label="Slow")
    qtbot.waitUntil(lambda: ind.text() == "1 job running", timeout=3000)
    release.set()
    qtbot.waitUntil(lambda: ind.count() == 0, timeout=3000)


def test_outbox_indicator_hides_at_zero(add):
    ind = add(OutboxIndicator())
    assert ind.isHidden()
    ind.set_count(3)
    assert not ind.isHidden() and ind.text() == "3 changes waiting"
    ind.set_count(1)
    assert ind.text() == "1 change waiting"
    ind.set_count(2899)  # as the results and the journal count them
    assert ind.text() == "2,899 changes waiting"
    ind.set_count(0)
    assert ind.isHidden()


def test_pane_heading_elides_a_long_title_and_wraps_the_facts_under_it(qtbot):
    """A narrow detail view (tree and users list beside it): the buttons keep their room, the title ends
    in "…" with the whole of it in the tooltip, and the facts wrap across the full width, unclipped."""
    from PySide6.QtWidgets import QPushButton, QWidget

    from lms_console.views.widgets.pane_heading import pane_heading

    host = QWidget()
    buttons = (QPushButton("Membership rule…"), QPushButton("Properties…"))
    head, _icon, title, info = pane_heading(*buttons)
    host.setLayout(head)
    qtbot.addWidget(host)
    title.setText("Computer Science Department and Friends of the Faculty")
    info.setText("Cohort · System · ID number COH-DEPT-CS · visible · 139 members · rule-based · last checked today")
    host.resize(460, 160)
    host.show()
    qtbot.waitExposed(host)
    assert title.is_elided() and title.toolTip() == title.text()
    assert all(b.width() >= b.sizeHint().width() for b in buttons)
    assert info.width() > 380  # the whole width, not the strip beside the buttons
    assert info.height() >= info.heightForWidth(info.width())  # every wrapped line shows
    title.setText("Staff")
    assert not title.is_elided() and title.toolTip() == ""


def test_connection_indicator_says_a_rejected_token_is_no_offline_site(add):
    ind = add(ConnectionIndicator())
    ind.set_token_rejected("Sandbox LMS", reason="Invalid token - token not found")
    assert ind.state() == "rejected" and ind.text() == "Token rejected: sign in again"
    tip = ind.findChild(QToolButton).toolTip()
    assert "Sandbox LMS answers but rejects the token" in tip and "Invalid token" in tip and "Profiles" in tip
    assert "No answer from the site" not in tip and "Offline" not in ind.text()
