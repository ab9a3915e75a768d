"""What the jobs panel says of each job, and in which order: labels (never internal names, also for the session's
housekeeping jobs), running jobs first, then queued ones, then finished ones newest first, the panel opening at
its top, counts with thousands separators. A real TaskRunner, a real ConnectionSession on a sandbox site."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt

from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import JobState
from lms_console.services.progress import ProgressEvent
from lms_console.views.jobs_panel import COL_DETAILS, COL_JOB, COL_PROGRESS, COL_STATE, JobsPanel

WAIT_MS = 10_000


@pytest.fixture
def panel(qtbot, runner):
    p = JobsPanel(runner)
    qtbot.addWidget(p)
    p.resize(900, 300)
    p.show()
    qtbot.waitExposed(p)
    return p


def shown(panel: JobsPanel, col: int = COL_JOB) -> list[str]:
    proxy = panel.filter_model()
    return [proxy.index(r, col).data() for r in range(proxy.rowCount())]


def shown_ids(panel: JobsPanel) -> list[int]:
    proxy = panel.filter_model()
    return [proxy.job_at(r).id for r in range(proxy.rowCount())]


def held(started: threading.Event, release: threading.Event):
    def job(progress, cancel):
        started.set()
        release.wait(WAIT_MS / 1000)

    return job


def test_the_sessions_housekeeping_jobs_are_named_in_words(qtbot, runner, panel, server, go_online):
    session = ConnectionSession(runner)
    go_online(session, server)  # online: the site's details are saved to the local copy
    session.close()  # the local copy is closed on the writer thread
    unnamed = runner.run("cohort-rules-7f3a2c-save", lambda p, c: None, writer=True)
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)

    names = {runner.job(i).name for i in shown_ids(panel)}
    assert {"save-site-info", "close-cache"} <= names
    titles = shown(panel)
    assert "Save the site's details" in titles
    assert "Close the local copy of a closed profile" in titles
    assert "Save the cohort rule" in titles
    assert not names & set(titles), f"internal job names shown: {names & set(titles)}"
    assert runner.job(unnamed).label == "cohort-rules-7f3a2c-save"  # what the runner calls it


def test_a_job_started_without_a_label_is_never_shown_by_its_name(qtbot, runner, panel):
    job = runner.run("uploads-restore-3", lambda p, c: None)
    qtbot.waitUntil(lambda: runner.job(job).state is JobState.DONE, timeout=WAIT_MS)
    assert shown(panel) == ["Background task"]


def test_running_jobs_first_then_queued_then_finished_newest_first(qtbot, runner, panel):
    first = runner.run("first", lambda p, c: 1, label="First done")
    qtbot.waitUntil(lambda: runner.job(first).state is JobState.DONE, timeout=WAIT_MS)
    qtbot.wait(20)
    second = runner.run("second", lambda p, c: 2, label="Second done")
    qtbot.waitUntil(lambda: runner.job(second).state is JobState.DONE, timeout=WAIT_MS)
    started, release = threading.Event(), threading.Event()
    running = runner.run("apply-1", held(started, release), label="Apply: 3 changes", writer=True)
    queued = [runner.run(f"apply-{n}", lambda p, c: None, label=f"Apply {n}", writer=True) for n in (2, 3)]
    assert started.wait(5)
    qtbot.waitUntil(lambda: runner.job(running).state is JobState.RUNNING, timeout=WAIT_MS)

    assert shown_ids(panel) == [running, *queued, second, first]
    assert shown(panel, COL_STATE) == ["Running", "Queued", "Queued", "Done", "Done"]

    release.set()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    proxy = panel.filter_model()
    finished = [proxy.job_at(r).finished for r in range(proxy.rowCount())]
    assert finished == sorted(finished, reverse=True)
    assert shown_ids(panel)[-2:] == [second, first]


def test_the_panel_opens_at_its_top(qtbot, runner, panel):
    jobs = [runner.run(f"read-{n}", lambda p, c: None, label=f"Read {n}") for n in range(60)]
    qtbot.waitUntil(lambda: all(runner.job(j).state.finished for j in jobs), timeout=WAIT_MS)
    bar = panel.table().verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2)  # the admin scrolled down, then closed the panel
    panel.hide()
    started, release = threading.Event(), threading.Event()
    runner.run("sync", held(started, release), label="Sync site")
    assert started.wait(5)

    panel.show()
    qtbot.waitExposed(panel)
    assert bar.value() == 0
    top = panel.table().indexAt(panel.table().viewport().rect().topLeft())
    assert top.row() == 0 and top.siblingAtColumn(COL_JOB).data() == "Sync site"
    release.set()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)


def test_counts_in_a_jobs_message_have_thousands_separators(qtbot, runner, panel):
    """The messages of an apply ("550 of 26120 changes") and of a sync ("users: 550/26120 requests")."""
    said, next_one = threading.Event(), threading.Event()

    def apply(progress, cancel):
        for message in ("550 of 26120 changes", "users: 550/26120 requests"):
            progress(ProgressEvent("apply", 550, 26120, message))
            said.set()
            next_one.wait(WAIT_MS / 1000)
            next_one.clear()
            time.sleep(0.15)  # the runner passes on at most ~10 progress reports a second

    job = runner.run("apply-1", apply, label="Apply: 26120 changes", writer=True)
    details = panel.filter_model().index(0, COL_DETAILS)
    for message, text in (("550 of 26120 changes", "550 of 26,120 changes"),
                          ("users: 550/26120 requests", "users: 550/26,120 requests")):
        assert said.wait(5)
        said.clear()
        qtbot.waitUntil(lambda m=message: runner.job(job).message == m, timeout=WAIT_MS)
        assert details.data() == text
        assert details.data(Qt.ItemDataRole.ToolTipRole) == text
        assert panel.filter_model().index(0, COL_PROGRESS).data() == "550 / 26,120"
        next_one.set()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
