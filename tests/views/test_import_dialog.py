"""The import dialog driven like an admin would: a real file, a real SQLite cache, the TaskRunner;
"Apply…" hands the expected changes to the change engine (a recording stand-in, and once the real
ChangeEngine against the sandbox)."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import Cohort, Course, User
from lms_console.services.lms.errors import Cancelled
from lms_console.views.import_wiring import install_import_dialog

PW = "Secret-123"
CSV = (f"Username;First name;Surname;E-mail;Password;Cohort1;Course1;Role1\n"
       f"dave;Dave;Doe;dave@example.org;{PW};staff;C101;student\n"
       f"alice;Alice;Archer-Smith;alice@example.org;;;;\n"
       f"bob;Bob;Baker;bob@example.org;;;;\n"
       f"erin;Erin;Eve;=HYPERLINK(\"x\");{PW};;;\n"
       f";;;;;;;\n"
       f"fred;Fred;Fox;fred@example.org;{PW};nope;;\n")


class RecordingEngine(QObject):
    planned = Signal(object)

    def __init__(self):
        super().__init__()
        self.calls = []

    def plan(self, changes, *, title="", enrol_first=False):
        self.calls.append((list(changes), title))
        return 1


class Banner:
    def __init__(self):
        self.messages = []

    def show_message(self, level, text, **_kw):
        self.messages.append((level, text))


@pytest.fixture
def db(tmp_path):
    database = CacheDb.open(tmp_path / "cache.sqlite")
    with CacheWriter(database) as writer:
        run = writer.begin_run(["users", "cohorts", "courses"])
        writer.upsert_users([User(10, "alice", "Alice", "Archer", "alice@example.org"),
                             User(11, "bob", "Bob", "Baker", "bob@example.org")], run)
        writer.upsert_cohorts([Cohort(3, "Staff", "staff", categoryid=0)], run)
        writer.upsert_courses([Course(7, "C101", "Course 101", 1)], run)
        writer.finish_run(run, "ok")
    yield database
    database.close()


@pytest.fixture
def window(qtbot):
    w = QWidget()
    w.banner = Banner()
    qtbot.addWidget(w)
    return w


@pytest.fixture
def opened(qtbot, db, runner, window):
    """``open_import()`` wired to a session on the test cache and a recording engine."""
    engine = RecordingEngine()
    session = SimpleNamespace(db=db, runner=runner, is_open=True)
    open_import = install_import_dialog(window, session, engine)
    dialogs = []

    def make():
        d = open_import()
        dialogs.append(d)
        return d

    yield make, engine
    for d in dialogs:
        try:
            d.close()
        except RuntimeError:  # deleted on close already
            pass


def read(qtbot, dialog, path):
    dialog.set_path(str(path))
    with qtbot.waitSignal(dialog.controller.file_read, timeout=10000):
        dialog.next_step()


def dry_run(qtbot, dialog):
    with qtbot.waitSignal(dialog.controller.dry_run_finished, timeout=30000):
        dialog.next_step()
    return dialog.controller.result


def test_dialog_drives_an_import_and_emits_the_plan(qtbot, tmp_path, opened):
    make, engine = opened
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    dialog = make()
    assert dialog.isVisible() and dialog.stack.currentIndex() == 0
    read(qtbot, dialog, path)
    assert dialog.stack.currentIndex() == 1
    assert "semicolon-separated" in dialog.source_label.text()
    assert dialog.targets() == ("username", "firstname", "lastname", "email", "password", "cohort1", "course1",
                                "role1")
    assert dialog.mapping_table.item(4, 2).text() == "(hidden) · (hidden) · (hidden)"  # never the passwords
    assert dialog.next_button.isEnabled() and dialog.next_button.text() == "Dry run ›"
    result = dry_run(qtbot, dialog)
    assert dialog.stack.currentIndex() == 2 and not dialog.progress_frame.isVisible()
    assert result.summary() == "1 to create, 1 to update, 1 unchanged, 2 errors, 1 skipped"
    assert dialog._class_buttons["create"].text() == "1 to create"
    assert dialog._class_buttons["conflict"].text() == "0 conflicts"
    assert not dialog._class_buttons["conflict"].isEnabled()
    # Filter the table by class, and read a row's details.
    dialog.show_only("error")
    assert [dialog.model.row_at(r).row for r in range(dialog.model.rowCount())] == [5, 7]
    dialog.rows_view.selectRow(1)
    assert "“Cohort1” = &#x27;nope&#x27;: no such cohort" in dialog.details_label.text()
    # Export the failed rows: the formula is escaped, the reason column is there.
    assert dialog.export_button.isEnabled()
    out = tmp_path / "people-failed.csv"
    with qtbot.waitSignal(dialog.controller.exported, timeout=10000):
        dialog.export_failed_to(out)
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0][-1] == "reason" and rows[1][3] == "'=HYPERLINK(\"x\")" and len(rows) == 3
    assert "Saved 2 failed rows" in dialog.run_message.text()
    # Apply: the change engine gets exactly the good rows' changes, and the dialog closes.
    assert dialog.apply_button.text() == "Apply… (4 changes)"
    dialog.apply_button.click()
    assert not dialog.isVisible()
    changes, title = engine.calls[0]
    assert title == "Import people.csv"
    assert [(c.kind, dict(c.data)) for c in changes] == [
        ("user.create", {"username": "dave", "firstname": "Dave", "lastname": "Doe", "email": "dave@example.org",
                         "password": PW}),
        ("user.update", {"id": 10, "fields": {"lastname": "Archer-Smith"}}),
        ("cohort.add_member", {"cohortid": 3, "userid": {"ref": 1, "field": "id"}}),
        ("enrol.add", {"courseid": 7, "userid": {"ref": 1, "field": "id"}, "roleid": 5}),
    ]


def test_enter_goes_to_the_pages_primary_action_never_close(qtbot, tmp_path, opened):
    """QA: after "Next ›" the focus moved on to "Close" (Next turns off while the file is read), which then
    took Enter: Enter closed the wizard and the work was lost. Enter is Next, then "Dry run ›", then "Apply…"."""
    from PySide6.QtWidgets import QApplication

    make, engine = opened
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    dialog = make()
    qtbot.waitExposed(dialog)

    def enter():
        assert not dialog.close_button.isDefault()
        qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_Return)

    qtbot.keyClicks(dialog.path_edit, str(path))
    assert dialog.next_button.isDefault()
    with qtbot.waitSignal(dialog.controller.file_read, timeout=10000):
        qtbot.mouseClick(dialog.next_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.stack.currentIndex() == 1 and dialog.next_button.isDefault()
    with qtbot.waitSignal(dialog.controller.dry_run_finished, timeout=30000):
        enter()
    assert dialog.isVisible() and dialog.stack.currentIndex() == 2
    dialog.close_button.setFocus()
    enter()
    assert not dialog.isVisible() and len(engine.calls) == 1  # "Apply…": the change engine has the changes


@pytest.mark.parametrize("content, words", [
    (b"username,email\n" + bytes(range(256)) * 10, "binary data"),
    (b"", "empty (0 bytes)"),
    ("username,email\nzoë,zoë@x.org\n".encode("utf-16-le"), None),  # read fine (guessed), no problem
])
def test_file_problems_show_in_the_first_step(qtbot, tmp_path, opened, content, words):
    make, _engine = opened
    path = tmp_path / "people.csv"
    path.write_bytes(content)
    dialog = make()
    dialog.set_path(str(path))
    if words is None:
        with qtbot.waitSignal(dialog.controller.file_read, timeout=10000):
            dialog.next_step()
        assert "UTF-16 little-endian (guessed)" in dialog.source_label.text()
        return
    with qtbot.waitSignal(dialog.controller.file_failed, timeout=10000):
        dialog.next_step()
    assert dialog.stack.currentIndex() == 0
    assert dialog.file_problem.isVisible() and words in dialog.file_problem.text()
    assert dialog.next_button.isEnabled() and dialog.next_button.text() == "Next ›"


def test_duplicated_and_missing_columns_block_the_dry_run(qtbot, tmp_path, opened):
    make, _engine = opened
    path = tmp_path / "people.csv"
    path.write_text("login,mail,email,shoe size\nann,ann@x.org,ann@y.org,42\n")
    dialog = make()
    read(qtbot, dialog, path)
    text = dialog.mapping_problems.text()
    assert dialog.mapping_problems.isVisible() and not dialog.next_button.isEnabled()
    assert "are all mapped to Email address" in text and "“shoe size” is not a known column" in text
    dialog.set_target(2, "")
    assert dialog.next_button.isEnabled()
    dialog.set_target(0, "")
    assert not dialog.next_button.isEnabled() and "No column is mapped to Username" in dialog.mapping_problems.text()


def test_browse_opens_the_qt_file_dialog(qtbot, tmp_path, opened):
    make, _engine = opened
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    dialog = make()
    chooser = dialog.browse()
    assert isinstance(chooser, QFileDialog) and chooser.isVisible()
    assert chooser.testOption(QFileDialog.Option.DontUseNativeDialog)
    with qtbot.waitSignal(dialog.controller.file_read, timeout=10000):
        chooser.fileSelected.emit(str(path))
    chooser.close()
    assert dialog.path_edit.text() == str(path) and dialog.stack.currentIndex() == 1
    saver = None
    with qtbot.waitSignal(dialog.controller.dry_run_finished, timeout=30000):
        dialog.next_step()
    saver = dialog.choose_export_path()
    assert saver.testOption(QFileDialog.Option.DontUseNativeDialog)
    assert saver.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    saver.close()


def test_the_dry_run_can_be_cancelled(qtbot, tmp_path, opened, monkeypatch):
    make, engine = opened
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    dialog = make()
    read(qtbot, dialog, path)

    def slow(db, table, targets, options, progress, cancel):
        from lms_console.services.progress import ProgressEvent

        progress(ProgressEvent("read", 5, 10, "2,000 rows read"))
        cancel.wait(10)
        raise Cancelled()

    monkeypatch.setattr("lms_console.services.importer.run_dry_run", slow)
    dialog.next_step()
    assert dialog.progress_frame.isVisible() and not dialog.back_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress_label.text() == "2,000 rows read", timeout=5000)
    with qtbot.waitSignal(dialog.controller.dry_run_cancelled, timeout=10000):
        dialog.cancel_button.click()
    assert not dialog.progress_frame.isVisible() and "cancelled" in dialog.run_message.text()
    assert not dialog.apply_button.isEnabled() and dialog.back_button.isEnabled() and not engine.calls


def test_counts_are_never_the_last_runs_and_a_cancelled_run_can_run_again(qtbot, tmp_path, opened, monkeypatch):
    make, _engine = opened
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    dialog = make()
    read(qtbot, dialog, path)
    dry_run(qtbot, dialog)
    assert dialog._class_buttons["create"].text() == "1 to create"
    assert not dialog.next_button.isVisible()  # after a good run: "Apply…", not another run

    def slow(db, table, targets, options, progress, cancel):
        cancel.wait(10)
        raise Cancelled()

    monkeypatch.setattr("lms_console.services.importer.run_dry_run", slow)
    dialog.back_button.click()
    dialog.next_step()
    assert dialog.progress_frame.isVisible() and dialog.model.rowCount() == 0
    # While it runs, no count of the last run shows above the empty table.
    assert all(not b.text() and not b.isEnabled() for b in dialog._class_buttons.values())
    assert not dialog.counts_bar.isVisible()
    assert not dialog.next_button.isVisible()
    with qtbot.waitSignal(dialog.controller.dry_run_cancelled, timeout=10000):
        dialog.cancel_button.click()
    assert all(not b.text() for b in dialog._class_buttons.values()) and not dialog.counts_bar.isVisible()
    # The message names a button that is there, on this step.
    assert dialog.stack.currentIndex() == 2
    assert "“Run again”" in dialog.run_message.text()
    assert dialog.next_button.isVisible() and dialog.next_button.isEnabled()
    assert dialog.next_button.text() == "Run again"
    monkeypatch.undo()
    with qtbot.waitSignal(dialog.controller.dry_run_finished, timeout=30000):
        dialog.next_button.click()
    assert not dialog.run_message.isVisible() and not dialog.next_button.isVisible()
    assert dialog.counts_bar.isVisible() and dialog._class_buttons["error"].text() == "2 errors"
    assert dialog.model.rowCount() == 6


def test_counts_are_hidden_after_a_failed_dry_run(qtbot, tmp_path, opened):
    make, _engine = opened
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    dialog = make()
    read(qtbot, dialog, path)
    dry_run(qtbot, dialog)
    path.write_text(CSV + "gina;Gina;Gray;gina@example.org;;;;\n")  # changed since it was read
    dialog.back_button.click()
    with qtbot.waitSignal(dialog.controller.dry_run_failed, timeout=30000):
        dialog.next_step()
    assert dialog.run_message.isVisible() and dialog.model.rowCount() == 0
    assert all(not b.text() for b in dialog._class_buttons.values()) and not dialog.counts_bar.isVisible()
    dialog.back_button.click()
    dialog.back_button.click()  # back to the file step: its button reads "Next", not "Dry run"
    assert dialog.stack.currentIndex() == 0 and dialog.next_button.text() == "Next ›"


# A combo box's popup grabs the keyboard, which the offscreen platform says it cannot do.
@pytest.mark.qt_log_ignore(r"^This plugin does not support (propagateSizeHints|raise)\(\)$",
                           r"^This plugin does not support grabbing the keyboard$")
def test_columns_left_out_on_purpose_are_not_warned_about(qtbot, tmp_path, opened):
    make, _engine = opened
    path = tmp_path / "people.csv"
    path.write_text("login,mail,email,shoe size,hat size\nann,ann@x.org,ann@y.org,42,7\n")
    dialog = make()
    read(qtbot, dialog, path)
    text = dialog.mapping_problems.text()
    assert "“shoe size” is not a known column" in text and "“hat size” is not a known column" in text
    # A column the auto-mapper knew, taken out of the import: not "unknown".
    dialog.set_target(1, "")
    assert "“mail”" not in dialog.mapping_problems.text()
    # An unknown column the admin picks "(not imported)" for in its menu (already shown): no warning.
    combo = dialog._combos[3]
    assert combo.currentData() == ""
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=5000)
    rect = view.visualRect(view.model().index(combo.findData(""), 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    text = dialog.mapping_problems.text()
    assert "“shoe size”" not in text and "“hat size” is not a known column" in text
    # Mapped to something and back to "(not imported)": still the admin's choice.
    dialog.set_target(4, "city")
    dialog.set_target(4, "")
    assert "is not a known column" not in dialog.mapping_problems.text()
    assert dialog.options().ignored == frozenset({1, 3, 4})


def test_no_open_profile_says_so(qtbot, runner, window):
    open_import = install_import_dialog(window, SimpleNamespace(db=None, runner=runner, is_open=False),
                                        RecordingEngine())
    assert open_import() is None
    assert window.banner.messages and "Open a connection profile first" in window.banner.messages[0][1]


def test_open_import_brings_the_open_dialog_forward(qtbot, opened):
    make, _engine = opened
    first = make()
    assert make() is first


# -- against the real change engine and the sandbox --------------------------------------------------------------

@pytest.fixture
def real_engine(qtbot, go_online):
    from lms_console.models.changes_model import ChangeEngine
    from lms_console.models.session import ConnectionSession
    from lms_console.models.tasks import TaskRunner
    from lms_console.sandbox.server import SandboxServer

    server = SandboxServer(users=40, courses=2, seed=11).start()
    runner = TaskRunner(http_workers=4)
    session = ConnectionSession(runner)
    engine = ChangeEngine(session)
    go_online(session, server, ("site", "users", "courses", "cohorts", "enrolments"))
    yield session, engine
    session.close()
    runner.shutdown(wait=True)
    server.stop()


def test_apply_plans_through_the_real_change_engine(qtbot, tmp_path, real_engine, window):
    session, engine = real_engine
    with session.db.read() as conn:
        users = conn.exec_driver_sql("SELECT username, email, lastname FROM users WHERE id > 3 ORDER BY id LIMIT 2"
                                     ).fetchall()
        course = conn.exec_driver_sql("SELECT shortname FROM courses ORDER BY id LIMIT 1").scalar()
    path = tmp_path / "people.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["username", "email", "lastname", "course1", "role1"])
    wb.active.append([users[0][0], users[0][1], users[0][2] + "-Renamed", course, "student"])
    wb.active.append([users[1][0], users[1][1], users[1][2], None, None])
    wb.save(path)
    dialog = install_import_dialog(window, session, engine)()
    read(qtbot, dialog, path)
    result = dry_run(qtbot, dialog)
    assert [r.klass.value for r in result.rows] == ["update", "unchanged"]
    with qtbot.waitSignal(engine.planned, timeout=20000) as planned:
        dialog.apply()
    plan = planned.args[0]
    assert plan.title == "Import people.xlsx"
    assert [i.change.kind for i in plan.items][:1] == ["user.update"]
    assert plan.items[0].outcome.value == "apply"
    assert ("lastname", users[0][2], users[0][2] + "-Renamed") in plan.items[0].diff


def test_the_import_comes_back_when_its_preview_is_closed_and_goes_once_applied(qtbot, tmp_path, change_console):
    from lms_console.sandbox.server import SandboxServer

    server = SandboxServer(users=30, courses=2, seed=13).start()
    try:
        session, engine, window, views, _ = change_console(server, ("site", "users", "courses", "cohorts",
                                                                     "enrolments"))
        with session.db.read() as conn:
            user = conn.exec_driver_sql("SELECT username, lastname FROM users WHERE id > 3 ORDER BY id LIMIT 1").first()
        path = tmp_path / "people.csv"
        path.write_text(f"username,lastname\n{user[0]},{user[1]}-Renamed\n", encoding="utf-8")
        dialog = install_import_dialog(window, session, engine)()
        read(qtbot, dialog, path)
        dry_run(qtbot, dialog)
        with qtbot.waitSignal(engine.planned, timeout=20000):
            dialog.apply()
        assert not dialog.isVisible()  # out of the preview's way
        qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=10000)
        views.preview.reject()  # the admin closes the preview: nothing was sent
        qtbot.waitUntil(dialog.isVisible, timeout=5000)
        assert dialog.stack.currentIndex() == 2 and dialog.controller.result is not None  # all as it was
        assert "nothing was sent" in dialog.run_message.text()
        with qtbot.waitSignal(engine.planned, timeout=20000):
            dialog.apply()
        qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=10000)
        gone = []
        dialog.destroyed.connect(lambda *_a: gone.append(True))
        views.preview.apply_button.click()
        qtbot.waitUntil(lambda: bool(gone), timeout=20000)  # applied: the import is done and goes
    finally:
        server.stop()


def test_closing_while_a_job_runs_drops_its_result(qtbot, tmp_path, opened, runner):
    make, _engine = opened
    path = tmp_path / "people.csv"
    path.write_text(CSV * 200)
    dialog = make()
    dialog.set_path(str(path))
    dialog.next_step()
    dialog.close()  # deleted on close; the read job's late result must not reach it
    qtbot.waitUntil(lambda: not runner.running(), timeout=10000)
    qtbot.wait(50)
