"""The crash dialog path: hooks, worker threads, one dialog, and no secrets anywhere."""

from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from lms_console.services.lms.errors import Unreachable
from lms_console.views import crash_handler
from lms_console.views.crash_handler import REDACTED, redact, register_secret

TOKEN = "f00dfeedcafebabe1234567890abcdef"  # a Moodle-looking 32-hex token
PASSWORD = "correct horse battery"


def _raise(exc: BaseException):
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001
        return caught


def _dialog(qtbot):
    qtbot.waitUntil(lambda: crash_handler.current_dialog() is not None, timeout=3000)
    return crash_handler.current_dialog()


# -- redaction ----------------------------------------------------------------------------
def test_registered_secrets_are_removed_also_url_encoded():
    register_secret(PASSWORD)
    text = redact(f"login {PASSWORD} / {PASSWORD.replace(' ', '+')} / {PASSWORD.replace(' ', '%20')}")
    assert PASSWORD.split()[1] not in text and text.count(REDACTED) == 3


@pytest.mark.parametrize("text", [
    "GET /webservice/rest/server.php?wstoken=abc123def&wsfunction=core_user_get_users",
    "POST body: moodlewsrestformat=json&token=s3cr3tvalue",
    "password=hunter2 user=admin",
    '{"token": "opaque-value", "name": "x"}',
    "{'password': 'pa ss'}",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload",
    f"cannot reach site with {TOKEN}",
    "canvas 7~AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd",
])
def test_token_looking_strings_are_removed(text):
    out = redact(text)
    assert REDACTED in out
    for secret in ("abc123def", "s3cr3tvalue", "hunter2", "opaque-value", "pa ss", "eyJhbGci", TOKEN, "AbCdEfGh"):
        assert secret not in out
    assert "]]" not in out


def test_ordinary_text_and_short_secrets_are_left_alone():
    register_secret("ab")  # too short to cut safely
    text = 'File "sync.py", line 12, in pull\n  commit 0123456789abcdef0123456789abcdef01234567'
    assert redact(text) == text


# -- hooks ------------------------------------------------------------------------------
def test_install_and_uninstall_restore_the_original_hooks(qapp):
    before = (sys.excepthook, threading.excepthook)
    crash_handler.install()
    assert crash_handler.is_installed()
    assert sys.excepthook is not before[0] and threading.excepthook is not before[1]
    crash_handler.install()  # idempotent: the originals are still what uninstall restores
    crash_handler.uninstall()
    assert (sys.excepthook, threading.excepthook) == before
    assert not crash_handler.is_installed()


def test_excepthook_shows_one_redacted_dialog_and_copies_redacted_details(qtbot, qapp):
    register_secret(PASSWORD)
    crash_handler.install()
    exc = _raise(RuntimeError(f"login with {PASSWORD} failed; url=...?wstoken={TOKEN}"))
    sys.excepthook(type(exc), exc, exc.__traceback__)
    dialog = _dialog(qtbot)
    assert dialog.isVisible() and dialog.isModal()  # opened with open(), not exec()
    assert "RuntimeError" in dialog.summary_text()
    assert PASSWORD not in dialog.summary_text() and TOKEN not in dialog.summary_text()
    details = dialog.details_text()
    assert "Traceback" in details and "Python:" in details and "Qt:" in details and "lms-console:" in details
    assert PASSWORD not in details and TOKEN not in details and REDACTED in details
    with qtbot.waitSignal(dialog.details_copied):
        dialog.copy_details()
    clipboard = QGuiApplication.clipboard().text()
    assert "RuntimeError" in clipboard and PASSWORD not in clipboard and TOKEN not in clipboard


def test_a_second_crash_is_appended_to_the_open_dialog(qtbot, qapp):
    crash_handler.install()
    first = _raise(KeyError("fullname"))
    second = _raise(ValueError("bad page size"))
    sys.excepthook(type(first), first, first.__traceback__)
    dialog = _dialog(qtbot)
    sys.excepthook(type(second), second, second.__traceback__)
    qtbot.waitUntil(lambda: len(dialog.reports()) == 2, timeout=3000)
    assert crash_handler.current_dialog() is dialog
    assert "KeyError" in dialog.summary_text()  # the first problem stays the headline
    details = dialog.details_text()
    assert "Problem 1 of 2: KeyError" in details and "Problem 2 of 2: ValueError: bad page size" in details
    top_levels = [w for w in qapp.topLevelWidgets() if w.objectName() == "CrashDialog" and w.isVisible()]
    assert top_levels == [dialog]


def test_worker_thread_exceptions_reach_the_dialog_on_the_gui_thread(qtbot, qapp):
    crash_handler.install()
    shown_on = []
    crash_handler.handler().crash_reported.connect(
        lambda report: shown_on.append((report.thread, threading.current_thread() is threading.main_thread()))
    )

    def work():
        raise OSError(f"disk full while writing token={TOKEN}")

    worker = threading.Thread(target=work, name="lms-http_0")
    worker.start()
    worker.join(5)
    dialog = _dialog(qtbot)
    assert shown_on == [("lms-http_0", True)]
    assert "OSError" in dialog.summary_text() and TOKEN not in dialog.details_text()


def test_report_bug_shows_a_task_failure_once(qtbot, qapp):
    exc = _raise(ZeroDivisionError("division by zero"))
    crash_handler.report_bug(exc, "Traceback (most recent call last):\n  fake frame\nZeroDivisionError")
    dialog = _dialog(qtbot)
    crash_handler.report_bug(exc)  # e.g. double-clicking the failed job later
    assert len(dialog.reports()) == 1
    assert "fake frame" in dialog.details_text()


def test_report_job_failure_ignores_expected_errors(qtbot, qapp):
    class Info:
        is_bug = False

    crash_handler.report_job_failure(Info(), Unreachable("offline"))
    qtbot.wait(50)
    assert crash_handler.current_dialog() is None


def test_save_report_writes_the_redacted_text(qtbot, qapp, tmp_path):
    register_secret(PASSWORD)
    crash_handler.report_bug(_raise(RuntimeError(f"pw {PASSWORD}")))
    dialog = _dialog(qtbot)
    path = tmp_path / "crash.txt"
    with qtbot.waitSignal(dialog.report_saved):
        assert dialog.save_report(path)
    saved = path.read_text("utf-8")
    assert "RuntimeError" in saved and PASSWORD not in saved
    assert not dialog.save_report(tmp_path / "missing-dir" / "x.txt")  # reported, not raised


def test_details_fold_out_and_closing_forgets_the_dialog(qtbot, qapp):
    parent = QWidget()
    qtbot.addWidget(parent)
    crash_handler.install(parent=parent)
    crash_handler.report_bug(_raise(RuntimeError("x")))
    dialog = _dialog(qtbot)
    assert dialog.parent() is parent
    details = dialog.findChild(QWidget, "CrashDetails")
    assert details.isHidden()
    dialog.set_details_visible(True)
    assert not details.isHidden() and dialog.details_visible()
    dialog.close()
    qtbot.waitUntil(lambda: crash_handler.current_dialog() is None, timeout=3000)
