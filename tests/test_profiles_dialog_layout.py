"""The Profiles dialog's layout and what it says once: Save stays put while the form warns, and the keychain
is explained in one place.

Real ProfileStore in tmp dirs, the in-memory keyring of the shared conftest (or keyring's "fail" backend for a
machine without a keychain), a real TaskRunner, real widgets driven with qtbot.
"""

from __future__ import annotations

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QLabel

from lms_console.models.profiles_controller import ProfilesController
from lms_console.models.tasks import TaskRunner
from lms_console.services.credentials import (
    KeyringTokenStore,
    SessionFallbackTokenStore,
)
from lms_console.services.profiles import ProfileStore
from lms_console.views.dialogs.profiles_dialog import ProfilesDialog

SITE = "https://moodle.example.edu"


@pytest.fixture
def runner(qapp):
    r = TaskRunner(http_workers=2)
    yield r
    r.shutdown(wait=True)


@pytest.fixture
def controller(config_dir, data_dir, runner):
    store = ProfileStore(config_dir, data_dir, tokens=SessionFallbackTokenStore(KeyringTokenStore()))
    ctl = ProfilesController(store, store.tokens, runner)
    yield ctl
    ctl.deleteLater()


@pytest.fixture
def open_dialog(qtbot, controller):
    dialogs: list[ProfilesDialog] = []

    def make() -> ProfilesDialog:
        dialog = ProfilesDialog(controller)
        dialogs.append(dialog)
        dialog.open()
        qtbot.waitExposed(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.close()
        dialog.deleteLater()


def type_into(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def save_geometry(qtbot, dialog) -> QRect:
    """Where Save is in the dialog, once the layout has settled."""
    qtbot.wait(50)  # layouts settle on posted events
    button = dialog.save_button
    return QRect(button.mapTo(dialog, QPoint(0, 0)), button.size())


def visible_texts(dialog) -> list[str]:
    """The texts of the dialog's labels that are shown (the banner's too)."""
    return [label.text() for label in dialog.findChildren(QLabel) if label.isVisible() and label.text()]


# -- Save stays under the pointer -------------------------------------------------------------------------


def test_warnings_while_typing_an_address_do_not_move_save(qtbot, open_dialog, controller):
    """QA: a plain-HTTP warning (and the moved-address note) pushed Save down ~95 px, away from the pointer."""
    controller.add("Prod", SITE)
    dialog = open_dialog()
    dialog.show_profile("Prod")
    before = save_geometry(qtbot, dialog)

    type_into(qtbot, dialog.url_edit, "http://moodle.other.example")  # another host, over plain HTTP
    assert dialog.field_error("url").startswith("Plain http:// to moodle.other.example")
    assert dialog.insecure_check.isVisible()
    assert save_geometry(qtbot, dialog) == before

    tick = QPoint(8, dialog.insecure_check.height() // 2)  # on the box itself
    qtbot.mouseClick(dialog.insecure_check, Qt.MouseButton.LeftButton, pos=tick)
    assert dialog.insecure_warning.isVisible() and "its stored token is forgotten" in dialog.url_note.text()
    assert save_geometry(qtbot, dialog) == before
    type_into(qtbot, dialog.token_edit, "two words")
    assert dialog.field_error("token")
    assert save_geometry(qtbot, dialog) == before

    dialog.advanced_toggle.click()  # the admin opens more of the form: Save still stays
    dialog.sign_in_toggle.click()
    assert dialog.sign_in_panel.isVisible()
    assert save_geometry(qtbot, dialog) == before


def test_a_long_save_status_does_not_move_save(qtbot, open_dialog, controller):
    controller.add("Prod", SITE)
    dialog = open_dialog()
    dialog.show_profile("Prod")
    before = save_geometry(qtbot, dialog)
    type_into(qtbot, dialog.name_edit, "")  # read-only for a saved profile: nothing changes
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "cannot connect until it has a token" in dialog.save_status.text()  # two wrapped lines or more
    assert dialog.save_status.isVisible()
    assert save_geometry(qtbot, dialog) == before


def test_a_new_profile_keeps_save_in_place_while_its_name_is_wrong(qtbot, open_dialog):
    dialog = open_dialog()
    before = save_geometry(qtbot, dialog)
    type_into(qtbot, dialog.name_edit, "bad/name")
    assert "contains '/'" in dialog.field_error("name")
    type_into(qtbot, dialog.url_edit, "moodle.example.edu")
    assert "has no scheme" in dialog.field_error("url")
    assert save_geometry(qtbot, dialog) == before


# -- the keychain, said once --------------------------------------------------------------------------------


def test_without_a_keychain_testing_a_saved_profile_says_so_once(qtbot, open_dialog, controller):
    """QA: the test's banner repeated the keychain warning shown under the token ("No OS keychain is
    available ..." twice); the test now says only that there is no token to test with."""
    keyring.set_keyring(keyring.backends.fail.Keyring())
    controller.add("Headless", SITE)
    dialog = open_dialog()
    dialog.show_profile("Headless")
    assert dialog.keychain_warning.isVisible()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.field_error("token") == ("There is no token to test with: paste a token or sign in with a "
                                           "password first.")
    assert not dialog.banner.isVisible()
    about_the_keychain = [t for t in visible_texts(dialog) if "No OS keychain" in t]
    assert about_the_keychain == [dialog.keychain_warning.text()]
