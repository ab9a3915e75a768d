"""Quitting the console (File > Quit, Ctrl+Q, the window's close button) or opening another profile closes every
user properties dialog: with edits in them that never went to the preview, the window asks once first. Real
sandbox LMS over HTTP, real ConsoleApp, MainWindow and user dialogs over a copy of a synced cache."""

from __future__ import annotations

import shutil

import pytest
import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from lms_console.models.session import Online

WAIT = 20_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def console(console, qtbot, server, template):
    """The console open on "Sandbox" (and "Other", another profile of the same site, not open), each on a copy
    of ``template``: opening them syncs nothing."""
    for name in ("Sandbox", "Other"):
        profile = console.profiles.add(name, server.url)
        console.tokens.set(name, server.admin_token)
        profile.cache_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, profile.cache_path)
    console.profiles.set_last_used("Sandbox")
    console.start()
    qtbot.waitUntil(lambda: hasattr(console, "engine") and console.session.state.status == Online.ONLINE,
                    timeout=WAIT)
    return console


def user_ids(console, n: int) -> list[int]:
    with console.session.db.read() as conn:
        return list(conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 2 AND suspended = 0 AND auth = 'manual' ORDER BY id LIMIT ?",
            (n,)).scalars())


def open_user(qtbot, console, userid: int):
    dialog = console.users_views.open_user(userid)
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=WAIT)
    return dialog


def edit_city(qtbot, dialog, text: str = "Porto") -> None:
    dialog.tabs.setCurrentIndex(1)  # Profile
    dialog.edits["city"].clear()
    qtbot.keyClicks(dialog.edits["city"], text)
    assert dialog.unsent_edits()


def question() -> QMessageBox | None:
    """The window's question, found as the admin sees it: among the top-level windows."""
    boxes = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.objectName() == "DiscardUnsentEditsQuestion" and w.isVisible()]
    assert len(boxes) <= 1, "the question was asked twice"
    return boxes[0] if boxes else None


def dialog_questions() -> list[QMessageBox]:
    """The user dialogs' own questions (Close with unsent edits): never asked on quit or switch."""
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == "DiscardEditsQuestion" and w.isVisible()]


def button(box: QMessageBox, text: str):
    return next(b for b in box.buttons() if b.text() == text)


def runs_until_quit(action) -> bool:
    """Run the event loop as ``main()`` does and do ``action`` in it: True when the console quits by itself
    (the last window closed ends the loop), False when it was still running after 10 s."""
    app = QApplication.instance()
    quit_by_itself = []
    app.lastWindowClosed.connect(lambda: quit_by_itself.append(True))
    safety = QTimer(singleShot=True, interval=10_000)
    safety.timeout.connect(app.quit)
    safety.start()
    QTimer.singleShot(0, action)
    app.exec()
    safety.stop()
    return bool(quit_by_itself)


def choose_in_profile_box(console, name: str) -> None:
    """Pick ``name`` in the toolbar's profile box as its popup does (offscreen has no popup)."""
    combo = console.window.profile_combo
    index = combo.findText(name)
    assert index >= 0, name
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_quitting_with_unsent_edits_asks_once_and_cancel_keeps_the_window_and_the_edits(qtbot, console):
    first_id, second_id, untouched_id = user_ids(console, 3)
    first, second = open_user(qtbot, console, first_id), open_user(qtbot, console, second_id)
    untouched = open_user(qtbot, console, untouched_id)
    edit_city(qtbot, first, "Porto")
    edit_city(qtbot, second, "Braga")
    window = console.window

    window.quit_action.trigger()  # File > Quit and Ctrl+Q
    box = question()
    assert box is not None and window.isVisible()
    assert box.text() == f"You have unsaved changes to \u201c{first.detail.user.username}\u201d and 1 other user."
    assert box.informativeText() == "Nothing has been sent to the site. Discard the changes and quit?"
    assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Discard"]
    assert box.defaultButton() is button(box, "Cancel") and dialog_questions() == []
    second.activateWindow()
    qtbot.waitUntil(second.isActiveWindow, timeout=WAIT)
    qtbot.mouseClick(button(box, "Cancel"), LEFT)
    qtbot.waitUntil(lambda: question() is None, timeout=WAIT)
    assert window.isVisible() and console.session.is_open
    assert all(d.isVisible() for d in (first, second, untouched))
    assert first.edits["city"].text() == "Porto" and second.edits["city"].text() == "Braga"
    qtbot.waitUntil(first.isActiveWindow, timeout=WAIT)  # the first dialog with edits comes to the front

    assert not window.close()  # the window's close button asks the same; Esc on the question cancels
    box = question()
    assert box is not None
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: question() is None, timeout=WAIT)
    assert window.isVisible() and first.unsent_edits() and second.unsent_edits()

    second.discard()  # one user left with edits: named alone
    window.quit_action.trigger()
    assert question().text() == f"You have unsaved changes to \u201c{first.detail.user.username}\u201d."
    qtbot.mouseClick(button(question(), "Cancel"), LEFT)


def test_discard_quits(qtbot, console):
    dialog = open_user(qtbot, console, user_ids(console, 1)[0])
    edit_city(qtbot, dialog)
    window = console.window
    window.quit_action.trigger()
    box = question()
    assert box is not None
    assert runs_until_quit(lambda: qtbot.mouseClick(button(box, "Discard"), LEFT))
    assert not window.isVisible() and question() is None
    assert not shiboken6.isValid(dialog) or not dialog.isVisible()  # closed with the window, without asking
    assert dialog_questions() == []


def test_opening_another_profile_with_unsent_edits_asks_first(qtbot, console):
    session, window = console.session, console.window
    dialog = open_user(qtbot, console, user_ids(console, 1)[0])
    edit_city(qtbot, dialog)

    choose_in_profile_box(console, "Other")  # the toolbar's profile box
    box = question()
    assert box is not None
    assert box.text() == f"You have unsaved changes to \u201c{dialog.detail.user.username}\u201d."
    assert box.informativeText() == "Nothing has been sent to the site. Discard the changes and open \u201cOther\u201d?"
    assert session.profile.name == "Sandbox" and window.profile_combo.currentText() == "Sandbox"
    qtbot.mouseClick(button(box, "Cancel"), LEFT)
    qtbot.waitUntil(lambda: question() is None, timeout=WAIT)
    assert session.profile.name == "Sandbox" and window.profile_combo.currentText() == "Sandbox"
    assert dialog.isVisible() and dialog.edits["city"].text() == "Porto" and dialog.unsent_edits()

    console.open_profiles_dialog()  # Connect in the Profiles dialog asks the same
    profiles = console._dialog
    qtbot.waitExposed(profiles)
    profiles.show_profile("Other")
    qtbot.mouseClick(profiles.connect_button, LEFT)
    box = question()
    assert box is not None and session.profile.name == "Sandbox"
    with qtbot.waitSignal(session.opened, timeout=WAIT):
        qtbot.mouseClick(button(box, "Discard"), LEFT)
    assert session.profile.name == "Other" and window.profile_combo.currentText() == "Other"
    assert not dialog.isVisible() and question() is None and dialog_questions() == []


def test_without_unsent_edits_nothing_is_asked(qtbot, console):
    session, window = console.session, console.window
    dialog = open_user(qtbot, console, user_ids(console, 1)[0])
    edit_city(qtbot, dialog)
    dialog.edits["city"].setText(dialog.detail.user.city)  # edited back: nothing to lose
    assert not dialog.unsent_edits()
    with qtbot.waitSignal(session.opened, timeout=WAIT):
        choose_in_profile_box(console, "Other")
    assert question() is None and session.profile.name == "Other" and not dialog.isVisible()

    other = open_user(qtbot, console, user_ids(console, 1)[0])  # open, never edited
    window.quit_action.trigger()
    assert question() is None and not window.isVisible()
    console.shutdown()
    assert not other.isVisible()
