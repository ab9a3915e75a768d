"""The Profiles dialog never drops unsaved edits silently: picking another profile in its list, New, and Connect
ask first, with the question Close asks (Save / Discard / Keep editing; Connect: Save and connect / Connect
without saving / Cancel). Real widgets, a real ProfileStore in tmp dirs (the in-memory keyring of the shared
conftest), a real TaskRunner; the sandbox site of tests/views/conftest.py where the console connects."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from lms_console.models.profiles_model import ProfilesModel
from lms_console.models.session import Online
from lms_console.views.dialogs.profiles_dialog import ProfilesDialog

WAIT_MS = 20_000
LEFT = Qt.MouseButton.LeftButton
PROD, OTHER = "https://moodle.prod.example", "https://moodle.other.example"


def type_into(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def tick(qtbot, check) -> None:
    qtbot.mouseClick(check, LEFT, pos=QPoint(8, check.height() // 2))


def click_row(qtbot, dialog: ProfilesDialog, name: str) -> None:
    """Click profile ``name`` in the dialog's list, as the admin does."""
    view = dialog.profile_list
    qtbot.mouseClick(view.viewport(), LEFT, pos=view.visualRect(view.model().index_of(name)).center())


def question(dialog: ProfilesDialog) -> QMessageBox:
    boxes = [b for b in dialog.findChildren(QMessageBox, "DiscardEditsQuestion") if b.isVisible()]
    assert len(boxes) == 1, f"{len(boxes)} questions about unsaved edits are open"
    return boxes[0]


def no_question(dialog: ProfilesDialog) -> bool:
    return not [b for b in dialog.findChildren(QMessageBox, "DiscardEditsQuestion") if b.isVisible()]


def answer(qtbot, box: QMessageBox, text: str) -> None:
    [button] = [b for b in box.buttons() if b.text() == text]
    qtbot.mouseClick(button, LEFT)


def listed(dialog: ProfilesDialog) -> tuple[str | None, list[str]]:
    """The list's current profile and the profiles it highlights."""
    view = dialog.profile_list
    selected = [i.data(ProfilesModel.NameRole) for i in view.selectionModel().selectedIndexes()]
    return view.currentIndex().data(ProfilesModel.NameRole), selected


def shows_still(qtbot, dialog: ProfilesDialog, name: str | None) -> None:
    """The form and the list stay on ``name`` (None: the new profile), also once the click is done with."""
    qtbot.wait(50)
    assert dialog.current_profile == name
    assert listed(dialog) == (name, [name] if name else [])


# -- 1. picking another profile in the list ------------------------------------------------------------------------


def test_picking_another_profile_with_an_unsaved_address_asks_and_keep_editing_stays(qtbot, open_dialog, controller,
                                                                                     store):
    controller.add("Prod", PROD)
    controller.add("Other", OTHER)
    dialog = open_dialog("Prod")
    type_into(qtbot, dialog.url_edit, "https://moodle.new-prod.example")
    click_row(qtbot, dialog, "Other")
    box = question(dialog)
    assert box.text() == "Discard your changes to \u201cProd\u201d?"
    assert box.informativeText() == "You changed Site URL. Nothing of it has been saved."
    assert {b.text() for b in box.buttons()} == {"Save", "Discard", "Keep editing"}
    assert box.defaultButton().text() == "Keep editing" and box.escapeButton().text() == "Keep editing"
    shows_still(qtbot, dialog, "Prod")  # while the question is open too
    answer(qtbot, box, "Keep editing")
    shows_still(qtbot, dialog, "Prod")
    assert dialog.url_edit.text() == "https://moodle.new-prod.example" and store.get("Prod").url == PROD


def test_discard_switches_to_the_picked_profile_and_drops_the_edits(qtbot, open_dialog, controller, store):
    controller.add("Prod", PROD)
    controller.add("Other", OTHER)
    dialog = open_dialog("Prod")
    dialog.advanced_toggle.click()
    type_into(qtbot, dialog.service_edit, "console_v2")
    click_row(qtbot, dialog, "Other")
    box = question(dialog)
    assert box.informativeText() == "You changed Service. Nothing of it has been saved."
    answer(qtbot, box, "Discard")
    shows_still(qtbot, dialog, "Other")
    assert dialog.url_edit.text() == OTHER and store.get("Prod").service != "console_v2"
    click_row(qtbot, dialog, "Prod")  # nothing edited now: no question
    assert no_question(dialog) and dialog.current_profile == "Prod"
    assert dialog.service_edit.text() == store.get("Prod").service


def test_save_saves_the_edits_then_switches(qtbot, open_dialog, controller, store):
    """A plain-HTTP address and its consent, then the Up key in the list."""
    controller.add("Prod", PROD)
    controller.add("Other", OTHER)
    dialog = open_dialog("Prod")
    type_into(qtbot, dialog.url_edit, "http://moodle.prod.example")
    tick(qtbot, dialog.insecure_check)
    assert [controller.model.index(r, 0).data(ProfilesModel.NameRole) for r in range(2)] == ["Other", "Prod"]
    dialog.profile_list.setFocus()
    qtbot.keyClick(dialog.profile_list, Qt.Key.Key_Up)
    box = question(dialog)
    assert box.informativeText() == ("You changed Site URL and Allow insecure HTTP. Nothing of it has been "
                                     "saved.")
    shows_still(qtbot, dialog, "Prod")
    answer(qtbot, box, "Save")
    shows_still(qtbot, dialog, "Other")
    assert store.get("Prod").url == "http://moodle.prod.example" and store.get("Prod").insecure


def test_a_typed_token_is_asked_about_and_saved_before_switching(qtbot, open_dialog, controller, server,
                                                                 memory_keyring):
    controller.add("Prod", server.url)
    controller.add("Other", OTHER)
    dialog = open_dialog("Prod")
    type_into(qtbot, dialog.token_edit, server.admin_token)
    click_row(qtbot, dialog, "Other")
    box = question(dialog)
    assert box.informativeText() == "You changed Token. Nothing of it has been saved."
    assert server.admin_token not in box.text() + box.informativeText()
    answer(qtbot, box, "Save")
    shows_still(qtbot, dialog, "Other")
    assert memory_keyring.passwords == {("lms-console", "Prod"): server.admin_token}
    assert dialog.token_edit.text() == ""


def test_a_wrong_field_on_save_keeps_the_form_and_the_list_on_the_edited_profile(qtbot, open_dialog, controller,
                                                                                 store):
    controller.add("Prod", PROD)
    controller.add("Other", OTHER)
    dialog = open_dialog("Prod")
    type_into(qtbot, dialog.url_edit, "ftp://moodle.prod.example")
    click_row(qtbot, dialog, "Other")
    answer(qtbot, question(dialog), "Save")
    shows_still(qtbot, dialog, "Prod")
    assert "must start with https://" in dialog.field_error("url")
    assert dialog.url_edit.text() == "ftp://moodle.prod.example" and store.get("Prod").url == PROD


def test_a_new_profile_with_edits_asks_before_another_profile_is_shown(qtbot, open_dialog, controller, store):
    controller.add("Prod", PROD)
    dialog = open_dialog()
    dialog.new_button.click()
    type_into(qtbot, dialog.name_edit, "Staging")
    type_into(qtbot, dialog.url_edit, "https://moodle.staging.example")
    click_row(qtbot, dialog, "Prod")
    box = question(dialog)
    assert box.text() == "Discard your changes to the new profile?"
    assert box.informativeText() == "You changed Name and Site URL. Nothing of it has been saved."
    answer(qtbot, box, "Keep editing")
    shows_still(qtbot, dialog, None)
    assert dialog.name_edit.text() == "Staging"
    click_row(qtbot, dialog, "Prod")
    answer(qtbot, question(dialog), "Save")
    shows_still(qtbot, dialog, "Prod")
    assert store.get("Staging").url == "https://moodle.staging.example"


def test_new_with_unsaved_edits_asks_first(qtbot, open_dialog, controller, store):
    controller.add("Prod", PROD)
    dialog = open_dialog("Prod")
    type_into(qtbot, dialog.url_edit, "https://moodle.new-prod.example")
    qtbot.mouseClick(dialog.new_button, LEFT)
    box = question(dialog)
    assert box.text() == "Discard your changes to \u201cProd\u201d?"
    answer(qtbot, box, "Keep editing")
    shows_still(qtbot, dialog, "Prod")
    qtbot.mouseClick(dialog.new_button, LEFT)
    answer(qtbot, question(dialog), "Discard")
    shows_still(qtbot, dialog, None)
    assert dialog.name_edit.text() == "" and dialog.url_edit.text() == "" and store.get("Prod").url == PROD


# -- 2. Connect with unsaved edits ---------------------------------------------------------------------------------


@pytest.fixture
def saved_prod(controller, server):
    """Profile "Prod" on the sandbox site with the limited token stored (it connects, not as an administrator)."""
    controller.add("Prod", server.url)
    controller.set_token("Prod", server.limited_token)
    return "Prod"


def test_connect_with_unsaved_edits_asks_and_cancel_connects_nothing(qtbot, open_dialog, saved_prod, server, store):
    dialog = open_dialog(saved_prod)
    type_into(qtbot, dialog.token_edit, server.admin_token)
    requested: list[str] = []
    dialog.connect_requested.connect(requested.append)
    qtbot.mouseClick(dialog.connect_button, LEFT)
    box = question(dialog)
    assert box.text() == "Save the changes to \u201cProd\u201d and connect?"
    assert box.informativeText() == ("You changed Token. Nothing of it has been saved. Without saving, the console "
                                     "connects with the saved settings.")
    assert {b.text() for b in box.buttons()} == {"Save and connect", "Connect without saving", "Cancel"}
    assert box.defaultButton().text() == "Save and connect" and box.escapeButton().text() == "Cancel"
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: no_question(dialog))
    assert dialog.isVisible() and requested == [] and store.last_used() is None
    assert dialog.token_edit.text() == server.admin_token


def test_save_and_connect_saves_the_edits_before_connecting(qtbot, open_dialog, saved_prod, server, store,
                                                            memory_keyring):
    dialog = open_dialog(saved_prod)
    dialog.advanced_toggle.click()
    type_into(qtbot, dialog.service_edit, "console_v2")
    type_into(qtbot, dialog.token_edit, server.admin_token)
    stored_at_connect: list = []
    dialog.connect_requested.connect(lambda name: stored_at_connect.append(
        (name, store.get(name).service, memory_keyring.passwords[("lms-console", name)])))
    qtbot.mouseClick(dialog.connect_button, LEFT)
    box = question(dialog)
    assert "You changed Service and Token." in box.informativeText()
    answer(qtbot, box, "Save and connect")
    assert stored_at_connect == [("Prod", "console_v2", server.admin_token)]
    assert not dialog.isVisible() and store.last_used().name == "Prod"


def test_connect_without_saving_connects_with_the_saved_settings(qtbot, open_dialog, saved_prod, server, store,
                                                                 memory_keyring):
    dialog = open_dialog(saved_prod)
    type_into(qtbot, dialog.token_edit, server.admin_token)
    with qtbot.waitSignal(dialog.connect_requested) as connected:
        qtbot.mouseClick(dialog.connect_button, LEFT)
        answer(qtbot, question(dialog), "Connect without saving")
    assert connected.args == ["Prod"] and not dialog.isVisible()
    assert memory_keyring.passwords == {("lms-console", "Prod"): server.limited_token}


def test_save_and_connect_to_another_site_without_a_token_saves_and_says_it_cannot_connect(qtbot, open_dialog,
                                                                                           saved_prod, store):
    """A new host forgets the stored token: saved, but nothing connects; the save status says why."""
    dialog = open_dialog(saved_prod)
    type_into(qtbot, dialog.url_edit, OTHER)
    requested: list[str] = []
    dialog.connect_requested.connect(requested.append)
    qtbot.mouseClick(dialog.connect_button, LEFT)
    answer(qtbot, question(dialog), "Save and connect")
    assert store.get("Prod").url == OTHER and requested == [] and dialog.isVisible()
    assert "cannot connect until it has a token" in dialog.save_status.text()
    assert not dialog.connect_button.isEnabled()


def test_the_console_connects_with_the_token_typed_before_save_and_connect(qtbot, console, server):
    """End to end: the stored token is not an administrator's; the admin pastes the administrator's token and
    presses Connect. The console opens the profile with the typed token, not the stored one."""
    console.profiles.add("Sandbox", server.url)
    console.tokens.set(console.profiles.get("Sandbox"), server.limited_token)
    console.start()  # no profile used yet: the Profiles dialog opens by itself
    qtbot.waitUntil(lambda: console._dialog is not None and console._dialog.isVisible(), timeout=WAIT_MS)
    dialog = console._dialog
    assert dialog.current_profile == "Sandbox"
    type_into(qtbot, dialog.token_edit, server.admin_token)
    qtbot.mouseClick(dialog.connect_button, LEFT)
    answer(qtbot, question(dialog), "Save and connect")
    session = console.session
    qtbot.waitUntil(lambda: session.is_open and session.state.status == Online.ONLINE, timeout=WAIT_MS)
    assert session.profile.name == "Sandbox" and session.site.is_site_admin
