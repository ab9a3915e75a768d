"""A user's properties dialog asks before closing (Close, Esc, the window's close button) loses edits that
never went to the preview. Real widgets over a real cache synced from the sandbox; a real change engine."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from lms_console.models.changes_model import ChangeEngine
from lms_console.models.session import ConnectionSession
from lms_console.models.users_actions import UsersActions
from lms_console.models.users_model import UsersTableModel
from lms_console.views.dialogs.user_dialog import UserDialog

WAIT = 20000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def template(server, synced_template, tmp_path_factory):
    """Only what a user's dialog reads (tests/views/conftest.py's ``template`` syncs every entity)."""
    return synced_template(server, tmp_path_factory.mktemp("unsaved") / "cache.sqlite",
                           ("site", "users", "courses", "cohorts", "enrolments", "groups"))


@pytest.fixture
def console(runner, server, template, go_online):
    """(session, engine, actions): a session on the sandbox with a copy of the synced cache."""
    session = ConnectionSession(runner)
    engine = ChangeEngine(session)
    go_online(session, server, cache_from=template)
    yield session, engine, UsersActions(session, engine, UsersTableModel(session))
    session.close()


def open_user(qtbot, console) -> UserDialog:
    session, _engine, actions = console
    with session.db.read() as conn:
        userid = conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 2 AND suspended = 0 AND auth = 'manual' ORDER BY id LIMIT 1").scalar()
    dialog = UserDialog(session, actions, userid)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=WAIT)
    return dialog


def question(dialog) -> QMessageBox | None:
    boxes = [b for b in dialog.findChildren(QMessageBox, "DiscardEditsQuestion") if b.isVisible()]
    assert len(boxes) <= 1, "the question was asked twice"
    return boxes[0] if boxes else None


def button(box: QMessageBox, text: str):
    return next(b for b in box.buttons() if b.text() == text)


def asked_and_kept(qtbot, dialog) -> None:
    """Close, be asked, keep editing."""
    dialog.reject()
    box = question(dialog)
    assert box is not None and dialog.isVisible()
    qtbot.mouseClick(button(box, "Keep editing"), LEFT)
    qtbot.waitUntil(lambda: question(dialog) is None, timeout=WAIT)


def edit_city(qtbot, dialog, text="Porto") -> None:
    dialog.tabs.setCurrentIndex(1)  # Profile
    dialog.edits["city"].clear()
    qtbot.keyClicks(dialog.edits["city"], text)
    assert dialog.has_edits()


def test_closing_with_an_edit_asks_and_keep_editing_keeps_it(qtbot, console):
    dialog = open_user(qtbot, console)
    edit_city(qtbot, dialog)
    dialog.reject()  # the Close button
    box = question(dialog)
    assert box is not None and dialog.isVisible()
    assert box.text() == f"Discard your changes to \u201c{dialog.detail.user.username}\u201d?"
    assert "You changed City/town." in box.informativeText() and "Nothing has been sent" in box.informativeText()
    assert sorted(b.text() for b in box.buttons()) == ["Discard", "Keep editing", "Preview…"]
    assert box.defaultButton() is button(box, "Keep editing")
    qtbot.mouseClick(button(box, "Keep editing"), LEFT)
    qtbot.waitUntil(lambda: question(dialog) is None, timeout=WAIT)
    assert dialog.isVisible() and dialog.edits["city"].text() == "Porto" and dialog.has_edits()

    dialog.reject()
    box = question(dialog)
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # Esc on the question: keep editing
    qtbot.waitUntil(lambda: question(dialog) is None, timeout=WAIT)
    assert dialog.isVisible() and dialog.edits["city"].text() == "Porto"
    dialog.discard()


def test_discard_closes_and_the_window_close_button_asks_too(qtbot, console):
    dialog = open_user(qtbot, console)
    edit_city(qtbot, dialog)
    dialog.suspended_check.setChecked(True)
    assert not dialog.close()  # the window's close button: refused until answered
    box = question(dialog)
    assert box is not None and dialog.isVisible()
    assert "You changed City/town and Status." in box.informativeText()
    with qtbot.waitSignal(dialog.rejected, timeout=WAIT):
        qtbot.mouseClick(button(box, "Discard"), LEFT)
    assert not dialog.isVisible()


def test_nothing_edited_closes_without_asking(qtbot, console):
    dialog = open_user(qtbot, console)
    dialog.reject()  # nothing edited
    assert not dialog.isVisible() and question(dialog) is None
    dialog.show()
    edit_city(qtbot, dialog)
    asked_and_kept(qtbot, dialog)
    dialog.edits["city"].setText(dialog.detail.user.city)  # edited back: nothing to lose
    assert not dialog.has_edits()
    dialog.reject()
    assert not dialog.isVisible() and question(dialog) is None


def test_esc_asks_like_close(qtbot, console):
    dialog = open_user(qtbot, console)
    edit_city(qtbot, dialog)
    qtbot.keyClick(dialog.edits["city"], Qt.Key.Key_Escape)
    box = question(dialog)
    assert box is not None and dialog.isVisible()
    qtbot.mouseClick(button(box, "Discard"), LEFT)
    assert not dialog.isVisible()


def test_preview_from_the_question_keeps_the_dialog_and_then_closing_does_not_ask(qtbot, console):
    _session, engine, _actions = console
    dialog = open_user(qtbot, console)
    edit_city(qtbot, dialog, "Braga")
    dialog.reject()
    box = question(dialog)
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        qtbot.mouseClick(button(box, "Preview…"), LEFT)
    assert dialog.isVisible() and dialog.edits["city"].text() == "Braga"
    assert [i.change.data["fields"] for i in planned.args[0].items] == [{"city": "Braga"}]
    dialog.reject()  # the edits are in the preview now: nothing is lost
    assert not dialog.isVisible() and question(dialog) is None


def test_a_field_with_a_problem_cannot_be_previewed_from_the_question(qtbot, console):
    dialog = open_user(qtbot, console)
    dialog.edits["email"].setText("not-an-address")
    dialog.reject()
    box = question(dialog)
    assert not button(box, "Preview…").isEnabled()
    assert "first fix what is wrong: Email address." in box.informativeText()
    qtbot.mouseClick(button(box, "Discard"), LEFT)
    assert not dialog.isVisible()


def test_after_the_edits_are_applied_closing_does_not_ask(qtbot, console):
    """Applied edits: the dialog reads the user again from the cache and has no edits left."""
    session, engine, _actions = console
    dialog = open_user(qtbot, console)
    edit_city(qtbot, dialog, "Coimbra")
    asked_and_kept(qtbot, dialog)
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan(dialog.changes(), title="Edit")  # not through the dialog's own preview
    with qtbot.waitSignal(session.cache_changed, timeout=WAIT):
        engine.apply(planned.args[0])
    qtbot.waitUntil(lambda: dialog.detail.user.city == "Coimbra", timeout=WAIT)
    assert not dialog.has_edits() and dialog.edits["city"].text() == "Coimbra"
    dialog.reject()
    assert not dialog.isVisible() and question(dialog) is None


def test_closing_the_profile_closes_the_dialog_without_asking(qtbot, console):
    """The users views close every user dialog when the session closes: no question over a closed profile."""
    session, _engine, _actions = console
    dialog = open_user(qtbot, console)
    edit_city(qtbot, dialog)
    asked_and_kept(qtbot, dialog)
    session.close()
    assert dialog.close()
    assert not dialog.isVisible() and question(dialog) is None
