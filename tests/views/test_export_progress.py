"""The export strip under a table: follows one job's progress, Cancel stops it, it hides when done."""

from __future__ import annotations

import threading

import pytest

from lms_console.models.tasks import TaskRunner
from lms_console.services.progress import ProgressEvent
from lms_console.views.widgets.export_progress import ExportProgress


@pytest.fixture
def runner(qapp):
    r = TaskRunner(http_workers=2)
    yield r
    r.shutdown(wait=True)


def _export(step: threading.Event, rows: int = 3):
    def work(progress, cancel):
        for i in range(rows):
            progress(ProgressEvent("export", i + 1, rows))
            assert step.wait(10)
            step.clear()
            cancel.raise_if_cancelled()
        return rows

    return work


def test_the_strip_counts_rows_and_hides_when_the_export_ends(qtbot, runner):
    strip = ExportProgress(runner, "users")
    qtbot.addWidget(strip)
    strip.show()
    step = threading.Event()
    other_step = threading.Event()
    runner.run("other", _export(other_step, 1))  # another job's progress is not ours
    strip.start(runner.run("export", _export(step)), 3)
    assert strip.busy and strip.isVisible() and strip.label.text() == "Exporting 3 users…"
    qtbot.waitUntil(lambda: strip.label.text() == "Exporting… 1 of 3 users", timeout=5000)
    assert (strip.bar.value(), strip.bar.maximum()) == (1, 3)
    with qtbot.waitSignal(strip.finished, timeout=5000) as done:
        for _ in range(3):
            step.set()
            qtbot.waitUntil(lambda: not step.is_set(), timeout=5000)
    assert done.args == ["done"] and not strip.busy and strip.isHidden()
    other_step.set()


def test_cancel_stops_the_job_and_says_so(qtbot, runner):
    strip = ExportProgress(runner, "groups")
    qtbot.addWidget(strip)
    strip.show()
    step = threading.Event()
    strip.start(runner.run("export", _export(step)), 3)
    qtbot.waitUntil(lambda: strip.bar.maximum() == 3, timeout=5000)
    with qtbot.waitSignal(strip.finished, timeout=5000) as done:
        strip.cancel_button.click()
        step.set()
    assert done.args == ["cancelled"] and strip.isHidden() and not strip.busy


def test_an_export_that_did_not_start_shows_nothing(qtbot, runner):
    strip = ExportProgress(runner, "users")
    qtbot.addWidget(strip)
    strip.start(None, 10)
    assert not strip.busy and strip.isHidden()
