"""The Profiles dialog while the profiles are read again in the background, Connect with a typed token, and the
keychain said once. Real widgets, a real ProfileStore in tmp dirs, the in-memory keyring (``memory_keyring``)."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from lms_console.views import theme

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER_SITE = "https://moodle.example.edu"


def click_row(qtbot, dialog, name: str) -> None:
    rect = dialog.profile_list.visualRect(dialog.profile_list.model().index_of(name))
    qtbot.mouseClick(dialog.profile_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def type_token(qtbot, dialog, text: str) -> None:
    qtbot.mouseClick(dialog.token_edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.token_edit, text)


def question(dialog) -> QMessageBox:
    box = dialog.discard_box
    assert box is not None and box.isVisible(), "the dialog did not ask about the unsaved edits"
    return box


def answer(qtbot, box: QMessageBox, text: str) -> None:
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == text), Qt.MouseButton.LeftButton)


def visible_texts(dialog) -> list[str]:
    return [label.text() for label in dialog.findChildren(QLabel) if label.isVisible() and label.text()]


# -- 1. a refresh keeps the selection and the unsaved edits ----------------------------------------------


def test_a_background_refresh_keeps_the_selection_and_the_typed_token(qtbot, open_dialog, controller, store,
                                                                       server):
    """QA: typing big's token while the open profile's first sync finished, then picking small, lost the token
    without asking. The refresh (its time last used saved, another profile's token stored) must leave the list's
    selection and the form alone."""
    for name, url in (("big", server.url), ("open", OTHER_SITE), ("small", OTHER_SITE)):
        controller.add(name, url)
    dialog = open_dialog("open")
    click_row(qtbot, dialog, "big")
    type_token(qtbot, dialog, TOKEN)
    qtbot.keyClicks(dialog.url_edit, "/")  # an edited address too
    moves = []
    selection = dialog.profile_list.selectionModel()
    selection.currentChanged.connect(lambda current, _previous: moves.append(current.data()))
    selection.selectionChanged.connect(lambda *_a: moves.append("selection"))

    store.set_last_used("open")  # as the console does when it opens a profile
    controller.model.refresh()
    controller.set_token("open", server.admin_token)  # profiles_changed: the model is read again

    assert moves == []  # the list never lost its selection, not even for a moment
    assert dialog.current_profile == "big" and dialog.profile_list.currentIndex().data() == "big"
    assert dialog.token_edit.text() == TOKEN and dialog.url_edit.text() == server.url + "/"
    assert dialog.unsaved_edits() == ["Token"]  # the "/" saves as the same address

    click_row(qtbot, dialog, "small")
    box = question(dialog)
    assert box.text() == "Discard your changes to \u201cbig\u201d?"
    answer(qtbot, box, "Keep editing")
    qtbot.waitUntil(lambda: dialog.profile_list.currentIndex().data() == "big")
    assert dialog.current_profile == "big" and dialog.token_edit.text() == TOKEN


def test_a_profile_added_in_the_background_keeps_the_form_and_its_edits(qtbot, open_dialog, controller, store,
                                                                         server):
    """A profile added elsewhere (the command line) resets the list: the form's profile is selected again, and
    what was typed stays."""
    controller.add("big", server.url)
    controller.add("small", OTHER_SITE)
    dialog = open_dialog("big")
    type_token(qtbot, dialog, TOKEN)
    store.add("alpha", OTHER_SITE)  # sorts first: every row moves
    controller.model.refresh()
    assert dialog.profile_list.currentIndex().data() == "big" and dialog.current_profile == "big"
    assert dialog.token_edit.text() == TOKEN
    click_row(qtbot, dialog, "small")
    assert question(dialog).text() == "Discard your changes to \u201cbig\u201d?"


# -- 2. Connect with a token typed for a saved profile without one -----------------------------------------


def test_a_typed_token_enables_connect_which_saves_it_first(qtbot, open_dialog, controller, server,
                                                            memory_keyring):
    controller.add("big", server.url)
    dialog = open_dialog("big")
    assert not dialog.connect_button.isEnabled()
    assert dialog.connect_button.toolTip() == "Paste this profile\u2019s token (or sign in) to connect"
    type_token(qtbot, dialog, server.admin_token)
    assert dialog.connect_button.isEnabled()

    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    box = question(dialog)
    assert box.text() == "Save the changes to \u201cbig\u201d and connect?"
    # Nothing saved to connect with: no "Connect without saving".
    assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Save and connect"]
    assert "It has no token saved yet, so it can connect only once saved." in box.informativeText()
    answer(qtbot, box, "Cancel")
    assert dialog.isVisible() and dialog.token_edit.text() == server.admin_token and memory_keyring.passwords == {}

    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(dialog.connect_requested) as connected:
        answer(qtbot, question(dialog), "Save and connect")
    assert connected.args == ["big"] and not dialog.isVisible()
    assert memory_keyring.passwords == {("lms-console", "big"): server.admin_token}


def test_emptying_the_typed_token_disables_connect_again(qtbot, open_dialog, controller, server):
    controller.add("big", server.url)
    dialog = open_dialog("big")
    type_token(qtbot, dialog, TOKEN)
    assert dialog.connect_button.isEnabled()
    dialog.token_edit.selectAll()
    qtbot.keyClick(dialog.token_edit, Qt.Key.Key_Delete)
    assert not dialog.connect_button.isEnabled()


# -- 3. no OS keychain: said once, as a warning ------------------------------------------------------------


@pytest.mark.parametrize(("shown", "note"), [
    ("session token", ("A token is kept for this session only: it is forgotten when the console exits (this "
                       "computer has no OS keychain).")),
    ("no token", ("No token for this session yet: this computer has no OS keychain, so tokens are kept for one "
                  "session only. Paste it again, or sign in with a password.")),
    ("new profile", ("No OS keychain on this computer: the token is kept for this session only, never in the "
                     "profiles file.")),
])
def test_without_a_keychain_the_dialog_says_so_once(qtbot, open_dialog, controller, server, shown, note):
    """QA: a grey note ("A token is kept for this session only ...") and an orange warning ("No OS keychain is
    available here ...") said the same thing twice."""
    keyring.set_keyring(keyring.backends.fail.Keyring())
    controller.add("Headless", server.url)
    if shown == "session token":
        controller.set_token("Headless", server.admin_token, session_only=True)
    dialog = open_dialog(None if shown == "new profile" else "Headless")
    if shown == "new profile":
        dialog.new_profile()
    about_it = [t for t in visible_texts(dialog) if "keychain" in t.lower() or "session only" in t.lower()]
    assert about_it == [note] and dialog.token_note.text() == note
    assert dialog.token_note.styleSheet().endswith(f"{theme.color('warning').name()};")
    assert not dialog.keychain_warning.isVisible()
    assert dialog.session_only_check.isVisible() and dialog.session_only_check.isChecked()
