"""ImportRowsModel (qtmodeltester, filtering by class) and ImportController (read, dry run with progress
and Cancel, export, apply) on a real TaskRunner and a real SQLite cache."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Qt, Signal

from lms_console.models.import_model import COL_CHANGES, COL_CLASS, COL_PROBLEM, ImportController, ImportRowsModel
from lms_console.models.tasks import TaskRunner
from lms_console.services import importer as I
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import Cohort, Course, CustomField, User
from lms_console.services.lms.errors import Cancelled

PW = "Secret-123"
CSV = (f"username,firstname,lastname,email,password,cohort1,course1\n"
       f"dave,Dave,Doe,dave@example.org,{PW},staff,C101\n"
       f"alice,Alice,Archer-Smith,alice@example.org,,,\n"
       f"bob,Bob,Baker,bob@example.org,,,\n"
       f"erin,Erin,Eve,not-an-email,{PW},,\n"
       f",,,,,,\n"
       f"fred,Fred,Fox,fred@,{PW},,\n")


@pytest.fixture
def db(tmp_path):
    database = CacheDb.open(tmp_path / "cache.sqlite")
    with CacheWriter(database) as writer:
        run = writer.begin_run(["users", "cohorts", "courses"])
        writer.upsert_users([User(10, "alice", "Alice", "Archer", "alice@example.org",
                                  customfields=(CustomField("team", "red"),)),
                             User(11, "bob", "Bob", "Baker", "bob@example.org")], run)
        writer.upsert_cohorts([Cohort(3, "Staff", "staff", categoryid=0)], run)
        writer.upsert_courses([Course(7, "C101", "Course 101", 1)], run)
        writer.finish_run(run, "ok")
    yield database
    database.close()


@pytest.fixture
def result(tmp_path, db):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    table = I.read_table(path)
    return I.run_dry_run(db, table, I.auto_map(table.headers))


@pytest.fixture
def runner(qapp):
    r = TaskRunner(http_workers=2)
    yield r
    r.shutdown(wait=True)


class FakeEngine(QObject):
    planned = Signal(object)

    def __init__(self):
        super().__init__()
        self.calls = []

    def plan(self, changes, *, title="", enrol_first=False):
        self.calls.append((list(changes), title))
        return 99


def test_model_passes_qtmodeltester_and_filters(qtmodeltester, result):
    model = ImportRowsModel(icons=lambda name: name, colours=lambda key: key)
    qtmodeltester.check(model)
    model.set_result(result)
    qtmodeltester.check(model)
    assert model.rowCount() == 6
    classes = [model.data(model.index(r, COL_CLASS)) for r in range(model.rowCount())]
    assert classes == ["Create", "Update", "Unchanged", "Error", "Skipped", "Error"]
    model.set_visible_classes(["error", "conflict"])
    qtmodeltester.check(model)
    assert [model.row_at(r).row for r in range(model.rowCount())] == [5, 7]
    assert "not a valid email address" in model.data(model.index(0, COL_PROBLEM))
    assert model.data(model.index(0, COL_CLASS), Qt.ItemDataRole.DecorationRole) == "error"
    assert model.data(model.index(0, COL_CLASS), Qt.ItemDataRole.ForegroundRole) == "error"
    assert model.data(model.index(0, 0), ImportRowsModel.ClassRole) == "error"
    model.set_visible_classes(["update"])
    assert model.data(model.index(0, COL_CHANGES)) == "lastname: Archer → Archer-Smith"
    assert model.data(model.index(0, 2), Qt.ItemDataRole.ToolTipRole) == "alice (account id 10)"
    model.set_visible_classes(["create"])
    assert "password: (hidden)" in model.data(model.index(0, COL_CHANGES))
    assert PW not in model.data(model.index(0, COL_CHANGES), Qt.ItemDataRole.ToolTipRole)
    model.set_result(None)
    assert model.rowCount() == 0


def test_controller_reads_dry_runs_exports_and_applies(qtbot, tmp_path, db, runner):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    engine = FakeEngine()
    controller = ImportController(SimpleNamespace(db=db, runner=runner), engine)
    with qtbot.waitSignal(controller.file_read, timeout=10000) as read:
        controller.read(str(path))
    assert read.args[0].headers[0] == "username" and controller.profile_fields == ["team"]
    targets = controller.auto_map()
    assert controller.check(targets).ok
    progress = []
    controller.dry_run_progress.connect(lambda *a: progress.append(a))
    with qtbot.waitSignal(controller.dry_run_finished, timeout=20000) as done:
        controller.dry_run(targets)
    dry = done.args[0]
    assert dry.summary() == "1 to create, 1 to update, 1 unchanged, 2 errors, 1 skipped"
    out = tmp_path / "failed.csv"
    with qtbot.waitSignal(controller.exported, timeout=10000) as exported:
        controller.export(str(out))
    assert exported.args == [str(out), 2] and "not a valid email address" in out.read_text(encoding="utf-8-sig")
    with qtbot.waitSignal(controller.apply_requested, timeout=1000):
        assert controller.apply() == 99
    changes, title = engine.calls[0]
    assert title == "Import people.csv" and [c.kind for c in changes] == [
        "user.create", "user.update", "cohort.add_member", "enrol.add"]


def test_controller_reports_file_problems(qtbot, tmp_path, db, runner):
    path = tmp_path / "people.csv"
    path.write_bytes(b"username\n" + b"\x00\x01\x02" * 100)
    controller = ImportController(SimpleNamespace(db=db, runner=runner))
    with qtbot.waitSignal(controller.file_failed, timeout=10000) as failed:
        controller.read(str(path))
    assert isinstance(failed.args[0], I.ImportFileError) and "binary data" in failed.args[0].message
    big = tmp_path / "big.csv"
    big.write_text(CSV * 10)
    limited = ImportController(SimpleNamespace(db=db, runner=runner), max_bytes=100)
    with qtbot.waitSignal(limited.file_failed, timeout=10000) as failed:
        limited.read(str(big))
    assert "the import reads files up to 100 bytes" in failed.args[0].message


def test_controller_cancels_the_dry_run(qtbot, tmp_path, db, runner, monkeypatch):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    controller = ImportController(SimpleNamespace(db=db, runner=runner))
    with qtbot.waitSignal(controller.file_read, timeout=10000):
        controller.read(str(path))

    def slow(db_, table, targets, options, progress, cancel):
        from lms_console.services.progress import ProgressEvent

        progress(ProgressEvent("read", 1, 10, "1 row read"))
        cancel.wait(10)
        raise Cancelled()

    monkeypatch.setattr("lms_console.services.importer.run_dry_run", slow)
    finished = []
    controller.dry_run_finished.connect(finished.append)
    controller.dry_run(controller.auto_map())
    qtbot.waitUntil(controller.is_running, timeout=5000)
    with qtbot.waitSignal(controller.dry_run_cancelled, timeout=10000):
        controller.cancel()
    assert not finished and controller.result is None


def test_no_profile_open_is_said(qtbot, tmp_path, runner):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    controller = ImportController(SimpleNamespace(db=None, runner=runner))
    with qtbot.waitSignal(controller.file_read, timeout=10000):
        controller.read(str(path))
    with qtbot.waitSignal(controller.dry_run_failed, timeout=1000) as failed:
        assert controller.dry_run(controller.auto_map()) is None
    assert "No connection profile is open" in failed.args[0].message


def test_a_rows_problem_text_leaves_its_notes_out_when_something_is_wrong():
    from lms_console.models.import_model import problem_text
    from lms_console.services.importer_model import RowClass, RowIssue, RowResult

    note = "username changed to lower case (as Moodle stores it)"
    bad = RowResult(8, RowClass.ERROR, "qa bad5!", issues=(RowIssue(8, "username", "QA Bad5!", "may only contain …"),),
                    notes=(note,))
    assert problem_text(bad) == "“username” = 'QA Bad5!': may only contain …"
    fine = RowResult(9, RowClass.CREATE, "anna", notes=(note,))
    assert problem_text(fine) == note
