"""TaskRunner: results on the GUI thread, cancellation, named-job supersession, errors, the jobs model."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from lms_console.models.jobs_model import JobsModel
from lms_console.models.tasks import JobState, TaskRunner
from lms_console.services.importer_read import ImportFileError
from lms_console.services.lms.errors import Unreachable
from lms_console.services.progress import ProgressEvent


@pytest.fixture
def runner(qapp):
    r = TaskRunner(http_workers=4)
    yield r
    r.shutdown(wait=True)


def test_result_arrives_on_the_gui_thread(qtbot, runner):
    seen = {}

    def work(progress, cancel):
        seen["worker_thread"] = threading.current_thread().name
        return 42

    def done(result):
        seen["result"] = result
        seen["gui"] = QThread.currentThread() is qtbot_app_thread()

    def qtbot_app_thread():
        from PySide6.QtWidgets import QApplication
        return QApplication.instance().thread()

    runner.run("answer", work, on_done=done)
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == 42 and seen["gui"] is True
    assert seen["worker_thread"].startswith("lms-http")


def test_writer_jobs_run_one_at_a_time_on_one_thread(qtbot, runner):
    names, active, peak = [], [0], [0]
    lock = threading.Lock()

    def work(progress, cancel):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        names.append(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    for i in range(4):
        runner.run(f"w{i}", work, writer=True)
    qtbot.waitUntil(lambda: len(runner.running()) == 0, timeout=5000)
    assert peak[0] == 1 and len(set(names)) == 1 and names[0].startswith("lms-cache-writer")


def test_starting_a_named_job_again_cancels_the_old_run_and_drops_its_result(qtbot, runner):
    results = []
    release = threading.Event()

    def slow(progress, cancel):
        release.wait(5)
        return "old"

    first = runner.run("search", slow, on_done=results.append)
    runner.run("search", lambda p, c: "new", on_done=results.append)
    qtbot.waitUntil(lambda: results == ["new"], timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: runner.job(first).state.finished, timeout=5000)
    qtbot.wait(50)
    assert results == ["new"]
    assert runner.job(first).state is JobState.CANCELLED


def test_cancel_stops_a_cooperative_job(qtbot, runner):
    started = threading.Event()

    def loop(progress, cancel):
        started.set()
        for i in range(1000):
            cancel.raise_if_cancelled()
            progress(ProgressEvent("loop", i, 1000))
            time.sleep(0.01)
        return "finished"

    done = []
    job = runner.run("loop", loop, on_done=done.append)
    assert started.wait(5)
    runner.cancel(job)
    qtbot.waitUntil(lambda: runner.job(job).state is JobState.CANCELLED, timeout=5000)
    assert done == []


def test_expected_errors_and_bugs_are_told_apart(qtbot, runner):
    failures = []
    runner.job_failed.connect(lambda info, exc: failures.append((info, exc)))

    def offline(progress, cancel):
        raise Unreachable("cannot connect to example.org")

    def bug(progress, cancel):
        raise ZeroDivisionError("boom")

    def bad_file(progress, cancel):  # the admin's input: shown inline, not a crash report
        raise ImportFileError("The file is empty.", "Choose the file again.")

    runner.run("a", offline)
    runner.run("b", bug)
    runner.run("c", bad_file)
    qtbot.waitUntil(lambda: len(failures) == 3, timeout=5000)
    by_name = {info.name: (info, exc) for info, exc in failures}
    assert by_name["a"][0].is_bug is False and isinstance(by_name["a"][1], Unreachable)
    assert by_name["b"][0].is_bug is True and "ZeroDivisionError" in by_name["b"][1].__lms_traceback__
    assert by_name["c"][0].is_bug is False and not hasattr(by_name["c"][1], "__lms_traceback__")
    assert by_name["c"][0].error == "The file is empty. Choose the file again."


def test_progress_is_throttled_and_reaches_the_jobs_model(qtbot, qtmodeltester, runner):
    model = JobsModel(runner)
    qtmodeltester.check(model)

    def chatty(progress, cancel):
        for i in range(1, 2001):
            progress(ProgressEvent("x", i, 2000, f"{i} rows"))
        return None

    updates = []
    runner.job_changed.connect(updates.append)
    runner.run("chatty", chatty, label="Chatty job")
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.job_at(0).state is JobState.DONE, timeout=5000)
    assert len(updates) < 50  # 2,000 reports throttled to a handful of updates
    assert model.job_at(0).done == 2000
    assert model.index(0, 0).data() == "Chatty job"
    qtmodeltester.check(model)
