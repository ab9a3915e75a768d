"""Quitting with work pending (a sync or a send running, changes waiting in the outbox) asks once, in the same
question as unsent edits in user dialogs; a quit signal never asks; Ctrl+Q quits from a user properties window
too. Real sandbox LMS over HTTP, real ConsoleApp, ChangeEngine and MainWindow over a copy of a synced cache."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from lms_console.models.session import Online
from lms_console.services.changes import Change, plan_changes, record

WAIT = 20_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def console(console, qtbot, server, template):
    """The console open on "Sandbox", a copy of ``template`` (opening it syncs nothing)."""
    profile = console.profiles.add("Sandbox", server.url)
    console.tokens.set("Sandbox", server.admin_token)
    profile.cache_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, profile.cache_path)
    console.profiles.set_last_used("Sandbox")
    console.start()
    qtbot.waitUntil(lambda: hasattr(console, "engine") and console.session.state.status == Online.ONLINE,
                    timeout=WAIT)
    yield console
    server.clear_faults()


def user_ids(console, n: int) -> list[int]:
    with console.session.db.read() as conn:
        return list(conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 2 AND suspended = 0 AND auth = 'manual' ORDER BY id LIMIT ?",
            (n,)).scalars())


def queue_in_outbox(qtbot, console, n: int) -> None:
    """``n`` changes recorded in the outbox, not sent (as after the site stopped answering); the engine counts them."""
    engine, session = console.engine, console.session
    plan = plan_changes(session.db, [Change("user.update", {"id": u, "fields": {"city": "Oslo"}})
                                     for u in user_ids(console, n)], site=session.site, title="To Oslo")
    with qtbot.waitSignal(engine.outbox_changed, timeout=WAIT, check_params_cb=lambda count: count == n) as counted:
        session.run_writer("test-queue", lambda w: record(w, plan, profile="Sandbox", lms_user="admin"),
                           on_done=lambda _r: engine.refresh_outbox())
    assert counted.args[0] == n and console.window.outbox_indicator.count() == n


def empty_outbox(qtbot, console) -> None:
    """The admin drops what waits (Outbox › Drop): nothing is left to go out."""
    with console.session.db.read() as conn:
        ids = list(conn.exec_driver_sql("SELECT id FROM change_items WHERE status = 'queued'").scalars())
    with qtbot.waitSignal(console.engine.outbox_changed, timeout=WAIT,
                          check_params_cb=lambda count: count == 0):
        console.engine.release_held(ids, "drop")
    assert console.window.outbox_indicator.count() == 0


def start_slow_sync(qtbot, console, server) -> None:
    server.set_faults(latency_ms=400)
    console.session.sync()
    qtbot.waitUntil(lambda: console.session.syncing, timeout=WAIT)


def questions(name: str) -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == name and w.isVisible()]


def pending_question() -> QMessageBox | None:
    boxes = questions("PendingWorkQuestion")
    assert len(boxes) <= 1, "the question was asked twice"
    return boxes[0] if boxes else None


def close_button(window) -> None:
    """The window manager's close button: a spontaneous close event on the window."""
    QApplication.sendEvent(window.windowHandle(), QCloseEvent())


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


def open_user(qtbot, console, userid: int):
    dialog = console.users_views.open_user(userid)
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=WAIT)
    return dialog


def test_quitting_during_a_sync_with_changes_waiting_asks_once_and_cancel_keeps_working(qtbot, console, server):
    window = console.window
    queue_in_outbox(qtbot, console, 2)
    start_slow_sync(qtbot, console, server)

    window.quit_action.trigger()  # File > Quit and Ctrl+Q
    box = pending_question()
    assert box is not None and window.isVisible()
    assert box.text() == ("A sync of Sandbox is running and 2 changes wait in the outbox: they go out the next time "
                          "Sandbox is open.")
    assert box.informativeText() == "Quit anyway?"
    assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Quit"]
    assert box.defaultButton() is button(box, "Cancel")
    window.quit_action.trigger()  # asked again: the same question is brought to the front, not a second one
    assert pending_question() is box
    qtbot.mouseClick(button(box, "Cancel"), LEFT)
    qtbot.waitUntil(lambda: pending_question() is None, timeout=WAIT)
    assert window.isVisible() and console.session.syncing  # nothing was stopped

    close_button(window)  # the window's close button asks the same
    assert pending_question() is not None and window.isVisible()
    assert runs_until_quit(lambda: qtbot.mouseClick(button(pending_question(), "Quit"), LEFT))
    assert not window.isVisible() and pending_question() is None


def test_changes_waiting_alone_are_named_and_nothing_pending_asks_nothing(qtbot, console):
    window = console.window
    queue_in_outbox(qtbot, console, 1)
    window.quit_action.trigger()
    box = pending_question()
    assert box is not None
    assert box.text() == "1 change waits in the outbox: it goes out the next time Sandbox is open."
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # Esc cancels
    qtbot.waitUntil(lambda: pending_question() is None, timeout=WAIT)
    assert window.isVisible()

    empty_outbox(qtbot, console)
    window.quit_action.trigger()
    assert pending_question() is None and not window.isVisible()


def test_unsent_edits_and_pending_work_make_one_question(qtbot, console, server):
    window = console.window
    queue_in_outbox(qtbot, console, 3)
    dialog = open_user(qtbot, console, user_ids(console, 1)[0])
    dialog.tabs.setCurrentIndex(1)  # Profile
    dialog.edits["city"].setText("Porto")
    assert dialog.unsent_edits()
    start_slow_sync(qtbot, console, server)

    window.quit_action.trigger()
    edits = questions("DiscardUnsentEditsQuestion")
    assert len(edits) == 1 and pending_question() is None  # one question, listing everything
    box = edits[0]
    assert box.text() == (f"You have unsaved changes to \u201c{dialog.detail.user.username}\u201d.\n\n"
                          "A sync of Sandbox is running and 3 changes wait in the outbox: they go out the next time "
                          "Sandbox is open.")
    assert box.informativeText() == "Your edits have not been sent to the site. Discard them and quit anyway?"
    assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Discard"]
    assert runs_until_quit(lambda: qtbot.mouseClick(button(box, "Discard"), LEFT))
    assert not window.isVisible() and questions("DiscardUnsentEditsQuestion") == []


def test_a_quit_signal_never_asks(qtbot, console, server):
    window = console.window
    queue_in_outbox(qtbot, console, 2)
    start_slow_sync(qtbot, console, server)
    assert window.close_discarding()
    assert not window.isVisible() and pending_question() is None


def test_a_close_by_code_does_not_ask_about_pending_work(qtbot, console):
    """The self-test's shutdown closes the window by code: only the admin's own quit names the pending work."""
    window = console.window
    queue_in_outbox(qtbot, console, 2)
    assert window.close()
    assert not window.isVisible() and pending_question() is None


def test_ctrl_q_quits_from_a_user_properties_window(qtbot, console):
    window = console.window
    queue_in_outbox(qtbot, console, 2)
    dialog = open_user(qtbot, console, user_ids(console, 1)[0])
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT)
    focus = QApplication.focusWidget()
    assert focus is not None and focus.window() is dialog

    qtbot.keyClick(focus, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    box = pending_question()
    assert box is not None and window.isVisible()
    # The question is modal: Ctrl+Q on it does not ask a second time.
    qtbot.keyClick(box, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert pending_question() is box
    qtbot.mouseClick(button(box, "Cancel"), LEFT)
    qtbot.waitUntil(lambda: pending_question() is None, timeout=WAIT)
    assert dialog.isVisible() and window.isVisible()

    empty_outbox(qtbot, console)  # nothing pending: Ctrl+Q from the dialog quits at once, from a text field too
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT)
    dialog.tabs.setCurrentIndex(1)  # Profile
    dialog.edits["city"].setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.edits["city"], timeout=WAIT)
    qtbot.keyClick(dialog.edits["city"], Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()
