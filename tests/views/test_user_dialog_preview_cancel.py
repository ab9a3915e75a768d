"""A user's properties dialog, its preview and the local copy read again (QA): a preview cancelled leaves the
edits unsent (closing asks again), and a sync that changed nothing the form shows keeps the edits without
saying the user changed. Real widgets over a copy of a cache synced from the sandbox, the real change
engine and the change views the application uses."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

WAIT = 20000
LEFT = Qt.MouseButton.LeftButton
ENTITIES = ("site", "users", "courses", "cohorts", "enrolments", "groups")


@pytest.fixture(scope="module")
def template(server, synced_template, tmp_path_factory):
    """Only what a user's dialog reads (tests/views/conftest.py's ``template`` syncs every entity)."""
    return synced_template(server, tmp_path_factory.mktemp("preview-cancel") / "cache.sqlite", ENTITIES)


@pytest.fixture
def users_console(server, template, change_console):
    """(session, engine, window, views, users): the main window shown, with the users views and change views."""
    from lms_console.views.users_wiring import install_users_views

    session, engine, window, views, users = change_console(server, ENTITIES, setup=install_users_views,
                                                            cache_from=template)
    window.show()
    return session, engine, window, views, users


def open_user(qtbot, session, users, offset: int = 0):
    with session.db.read() as conn:
        userid = conn.exec_driver_sql("SELECT id FROM users WHERE id > 2 AND suspended = 0 AND auth = 'manual' "
                                      "ORDER BY id LIMIT 1 OFFSET ?", (offset,)).scalar()
    dialog = users.open_user(userid)
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=WAIT)
    return dialog


def question(dialog) -> QMessageBox | None:
    boxes = [b for b in dialog.findChildren(QMessageBox, "DiscardEditsQuestion") if b.isVisible()]
    return boxes[0] if boxes else None


def button(box: QMessageBox, text: str):
    return next(b for b in box.buttons() if b.text() == text)


def preview_from_the_question(qtbot, engine, views, dialog):
    """Close, answer "Preview…": the preview of the edits opens."""
    dialog.reject()
    box = question(dialog)
    assert box is not None and dialog.isVisible()
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        qtbot.mouseClick(button(box, "Preview…"), LEFT)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    return views.preview


def test_a_cancelled_preview_leaves_the_edits_unsent_and_closing_asks_again(qtbot, users_console):
    """QA: change Email, Close, "Preview…", Cancel in the preview, Close: the dialog closed at once and the
    edit was lost (nothing sent, nothing in the journal)."""
    session, engine, _window, views, users = users_console
    dialog = open_user(qtbot, session, users)
    dialog.edits["email"].setText("someone.else@example.org")
    preview = preview_from_the_question(qtbot, engine, views, dialog)
    with qtbot.waitSignal(views.preview_finished, timeout=WAIT):
        qtbot.mouseClick(preview.cancel_button, LEFT)
    assert dialog.isVisible() and dialog.unsent_edits() == dialog.changes() != []

    dialog.reject()  # asks again: the edit was never sent
    box = question(dialog)
    assert box is not None and dialog.isVisible()
    assert "You changed Email address." in box.informativeText()

    # Previewed once more from the question, and applied this time: closing during the run stays silent.
    qtbot.mouseClick(button(box, "Keep editing"), LEFT)
    preview = preview_from_the_question(qtbot, engine, views, dialog)
    with qtbot.waitSignal(engine.applied, timeout=WAIT):
        qtbot.mouseClick(preview.apply_button, LEFT)
        dialog.reject()
        assert not dialog.isVisible() and question(dialog) is None


def test_the_preview_of_another_users_edits_replaces_this_one(qtbot, users_console):
    """One preview at a time: the preview of another user's edits closes this one's unapplied, so these edits are
    unsent again; that other preview's own end concerns its edits only."""
    session, engine, _window, views, users = users_console
    first = open_user(qtbot, session, users)
    first.edits["city"].setText("Braga")
    preview_from_the_question(qtbot, engine, views, first)
    assert not first.unsent_edits()  # in the preview, open now
    second = open_user(qtbot, session, users, offset=1)
    second.edits["city"].setText("Faro")
    with qtbot.waitSignal(views.preview_finished, timeout=WAIT) as replaced, \
            qtbot.waitSignal(engine.planned, timeout=WAIT):
        second.preview()
    assert replaced.args == [f"Edit {first.detail.user.username}", False]
    assert first.unsent_edits() and not second.unsent_edits()
    with qtbot.waitSignal(views.preview_finished, timeout=WAIT):
        qtbot.mouseClick(views.preview.cancel_button, LEFT)
    assert first.unsent_edits() and second.unsent_edits()
    for dialog in (first, second):
        dialog.discard()


def test_a_preview_that_could_not_be_planned_leaves_the_edits_unsent(qtbot, users_console):
    """No preview opened (the local copy could not be read to plan the edits): closing asks."""
    session, engine, _window, _views, users = users_console
    dialog = open_user(qtbot, session, users)
    dialog.edits["city"].setText("Lagos")
    with sqlite3.connect(session.db.path) as conn:  # what planning reads is gone from the file
        conn.execute("ALTER TABLE users RENAME TO users_gone")
    with qtbot.waitSignal(engine.plan_failed, timeout=WAIT):
        dialog.preview()
    assert dialog.unsent_edits() == dialog.changes() != []
    dialog.discard()


def test_a_sync_that_changed_nothing_the_form_shows_keeps_the_edits_silently(qtbot, users_console):
    """QA: edit Last name, press Sync: "This user changed in the local copy since you opened it" though the sync
    only read the same values again."""
    session, _engine, _window, _views, users = users_console
    dialog = open_user(qtbot, session, users)
    dialog.tabs.setCurrentIndex(1)  # Profile
    dialog.edits["lastname"].setText("Newname")
    before = dialog.changes()
    with qtbot.waitSignal(dialog.loader.loaded, timeout=60000), qtbot.waitSignal(session.sync_finished, timeout=60000):
        session.sync(("users",))
    assert dialog.stale_note.isHidden()
    assert dialog.edits["lastname"].text() == "Newname" and dialog.changes() == before
    dialog.discard()


def test_a_sync_that_changed_the_user_says_so_and_keeps_the_edits(qtbot, users_console, server):
    session, _engine, _window, _views, users = users_console
    dialog = open_user(qtbot, session, users, offset=2)
    dialog.edits["lastname"].setText("Newname")
    with server.store.connection() as conn, server.store.transaction(conn):
        conn.execute("UPDATE user SET city = 'Changed on the site' WHERE id = ?", (dialog.userid,))
    with qtbot.waitSignal(dialog.loader.loaded, timeout=60000), qtbot.waitSignal(session.sync_finished, timeout=60000):
        session.sync(("users",))
    assert not dialog.stale_note.isHidden() and "changed in the local copy" in dialog.stale_note.text()
    assert dialog.edits["lastname"].text() == "Newname" and dialog.edits["city"].text() != "Changed on the site"
    dialog.discard()
