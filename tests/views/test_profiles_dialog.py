"""The Profiles dialog, driven like a user would, against a real sandbox LMS over HTTP.

Real ProfileStore in tmp dirs, the in-memory keyring of the shared conftest (``memory_keyring``),
a real TaskRunner (``runner`` from tests/views/conftest.py).
"""

from __future__ import annotations

import logging

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QMessageBox

from lms_console.models.profiles_checks import CANNOT_CREATE_TOKEN
from lms_console.models.profiles_model import DoctorReportModel, ProfilesModel
from lms_console.sandbox.server import SandboxServer
from lms_console.views import theme

WAIT_MS = 15_000


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=30, courses=2).start()
    yield site
    site.stop()


@pytest.fixture
def seeded_user(server) -> str:
    with server.store.connection() as conn:
        return conn.execute("SELECT username FROM user WHERE id > 3 AND auth = 'manual' AND suspended = 0 "
                            "AND deleted = 0 ORDER BY id LIMIT 1").fetchone()[0]


def type_into(qtbot, edit: QLineEdit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def fill(qtbot, dialog, name=None, url=None, token=None) -> None:
    for edit, text in ((dialog.name_edit, name), (dialog.url_edit, url), (dialog.token_edit, token)):
        if text is not None:
            type_into(qtbot, edit, text)


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def tick(qtbot, check) -> None:
    """Click a check box on its indicator (its middle may be empty space past the label)."""
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))


def shown_texts(dialog) -> str:
    """Every text the dialog shows or holds: fields, labels, buttons, tooltips, the feature list."""
    texts = [dialog.windowTitle(), dialog.banner.details_text()]
    for edit in dialog.findChildren(QLineEdit):
        texts += [edit.text(), edit.displayText(), edit.placeholderText(), edit.toolTip()]
    for label in dialog.findChildren(QLabel):
        texts += [label.text(), label.toolTip()]
    for button in dialog.findChildren(QAbstractButton):
        texts += [button.text(), button.toolTip()]
    model = dialog.feature_tree.model()
    stack = [model.index(r, c) for r in range(model.rowCount()) for c in range(model.columnCount())]
    while stack:
        index = stack.pop()
        texts += [str(index.data(Qt.ItemDataRole.DisplayRole)), str(index.data(Qt.ItemDataRole.ToolTipRole))]
        stack += [model.index(r, 0, index) for r in range(model.rowCount(index))]
    return "\n".join(texts)


def files_text(*folders) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for folder in folders if folder.exists()
                     for p in folder.rglob("*") if p.is_file())


def run_test(qtbot, dialog, controller) -> None:
    with qtbot.waitSignals([controller.connection_test_started]):
        click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=WAIT_MS)


def feature_rows(dialog) -> dict[str, tuple[str, str, list[str]]]:
    """feature key -> (works, why not, fix steps)."""
    model = dialog.feature_tree.model()
    rows = {}
    for r in range(model.rowCount()):
        first = model.index(r, 0)
        steps = [model.index(c, 0, first).data() for c in range(model.rowCount(first))]
        rows[first.data(DoctorReportModel.FeatureKeyRole)] = (model.index(r, 1).data(), model.index(r, 2).data(),
                                                               steps)
    return rows


# -- adding, editing, removing -------------------------------------------------------------------------


def test_add_with_a_pasted_token_keeps_it_in_the_keyring_only(qtbot, caplog, open_dialog, server, memory_keyring,
                                                               config_dir, data_dir, controller):
    caplog.set_level(logging.DEBUG)
    token = server.admin_token
    dialog = open_dialog()
    assert dialog.current_profile is None and dialog.save_button.text() == "Add"
    assert not dialog.connect_button.isEnabled() and not dialog.remove_button.isEnabled()
    fill(qtbot, dialog, "Sandbox", server.url, token)
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password
    with qtbot.waitSignal(dialog.profiles_changed):
        click(qtbot, dialog.save_button)
    assert memory_keyring.passwords == {("lms-console", "Sandbox"): token}
    assert dialog.current_profile == "Sandbox" and dialog.save_button.text() == "Save"
    assert dialog.name_edit.isReadOnly() and dialog.token_edit.text() == ""
    assert "Saved. The token is in your OS keychain." in dialog.save_status.text()
    assert "A token is stored in your OS keychain" in dialog.token_note.text()
    assert dialog.connect_button.isEnabled()
    assert controller.model.index(0, 0).data(ProfilesModel.HasTokenRole) is True
    gui = QSettings(str(config_dir / "gui.ini"), QSettings.Format.IniFormat)  # the app's QSettings file
    assert all(token not in str(gui.value(k)) for k in gui.allKeys())
    assert token not in files_text(config_dir, data_dir)
    assert token not in shown_texts(dialog)
    assert token not in caplog.text


def test_show_token_toggles_the_echo_mode(qtbot, open_dialog):
    dialog = open_dialog()
    fill(qtbot, dialog, token="abc123")
    click(qtbot, dialog.reveal_button)
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Normal and dialog.reveal_button.text() == "Hide"
    click(qtbot, dialog.reveal_button)
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password


def test_edit_a_profile(qtbot, open_dialog, controller, server, memory_keyring, store):
    controller.add("Prod", server.url)
    controller.set_token("Prod", server.admin_token)
    dialog = open_dialog()
    assert dialog.current_profile == "Prod" and dialog.url_edit.text() == server.url
    click(qtbot, dialog.advanced_toggle)
    assert dialog.service_edit.isVisible()
    type_into(qtbot, dialog.service_edit, "bad service")
    assert "is not valid" in dialog.field_error("service")
    type_into(qtbot, dialog.service_edit, "console_v2")
    assert dialog.field_error("service") == ""
    click(qtbot, dialog.save_button)
    assert store.get("Prod").service == "console_v2" and memory_keyring.passwords  # same host: token kept
    # Another host: the dialog says the token will be forgotten, and it is.
    type_into(qtbot, dialog.url_edit, "https://moodle.elsewhere.example")
    assert "its stored token is forgotten" in dialog.url_note.text()
    click(qtbot, dialog.save_button)
    assert store.get("Prod").url == "https://moodle.elsewhere.example" and memory_keyring.passwords == {}
    assert "No token stored yet" in dialog.token_note.text() and not dialog.connect_button.isEnabled()


def test_remove_confirms_and_offers_to_delete_the_cache(qtbot, open_dialog, controller, server, memory_keyring,
                                                         store):
    profile = controller.add("Prod", server.url)
    controller.set_token("Prod", server.admin_token)
    controller.add("Other", "https://moodle.example.edu")
    profile.cache_path.parent.mkdir(parents=True, exist_ok=True)
    profile.cache_path.write_bytes(b"cache")
    dialog = open_dialog()
    dialog.show_profile("Prod")
    click(qtbot, dialog.remove_button)
    box = dialog.findChild(QMessageBox, "RemoveProfileBox")
    assert box is not None and box.isVisible() and "Prod" in box.text()
    # Cancel first: nothing happens.
    click(qtbot, box.button(QMessageBox.StandardButton.Cancel))
    assert store.exists("Prod") and memory_keyring.passwords
    click(qtbot, dialog.remove_button)
    box = next(b for b in dialog.findChildren(QMessageBox, "RemoveProfileBox") if b.isVisible())
    box.checkBox().setChecked(True)
    remove = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    with qtbot.waitSignal(dialog.profiles_changed):
        click(qtbot, remove)
    assert not store.exists("Prod") and memory_keyring.passwords == {} and not profile.cache_path.exists()
    assert dialog.current_profile == "Other"


def test_bad_input_is_flagged_next_to_the_field(qtbot, open_dialog, controller, store):
    controller.add("Prod", "https://moodle.example.edu")
    dialog = open_dialog()
    click(qtbot, dialog.new_button)
    assert dialog.field_error("name") == "" and dialog.field_error("url") == ""  # nothing typed yet: no nagging
    assert dialog.save() is False
    assert dialog.field_error("name") == "Profile name is empty." and dialog.field_error("url") == "URL is empty."
    fill(qtbot, dialog, name="prod")
    assert "already exists" in dialog.field_error("name")
    fill(qtbot, dialog, name="a/b")
    assert "'/'" in dialog.field_error("name")
    fill(qtbot, dialog, name="Staging", url="moodle.staging.example")
    assert dialog.field_error("name") == ""
    assert "did you mean 'https://moodle.staging.example'" in dialog.field_error("url")
    fill(qtbot, dialog, url="ftp://moodle.staging.example")
    assert "must start with https://" in dialog.field_error("url")
    fill(qtbot, dialog, token="two words")
    assert "spaces" in dialog.field_error("token")
    click(qtbot, dialog.save_button)
    assert [p.name for p in store.list()] == ["Prod"]
    fill(qtbot, dialog, url="HTTPS://Moodle.Staging.Example/", token="")
    assert "Will be saved as https://moodle.staging.example" in dialog.url_note.text()
    assert dialog.field_error("url") == "" and dialog.field_error("token") == ""
    click(qtbot, dialog.save_button)
    assert store.get("Staging").url == "https://moodle.staging.example"


def test_plain_http_to_a_remote_host_needs_consent_and_stays_flagged(qtbot, open_dialog, store, controller):
    dialog = open_dialog()
    fill(qtbot, dialog, "Old campus", "http://localhost:8080")
    assert not dialog.insecure_check.isVisible() and dialog.field_error("url") == ""  # loopback: fine
    fill(qtbot, dialog, url="http://moodle.old-campus.example")
    assert dialog.insecure_check.isVisible() and not dialog.insecure_check.isChecked()
    assert "unencrypted" in dialog.field_error("url")
    assert dialog.save() is False
    tick(qtbot, dialog.insecure_check)
    assert dialog.field_error("url") == ""
    assert dialog.insecure_warning.isVisible() and "sent over plain HTTP" in dialog.insecure_warning.text()
    assert dialog.insecure_warning.styleSheet().endswith(f"{theme.color('error').name()};")
    click(qtbot, dialog.save_button)
    assert store.get("Old campus").insecure
    index = controller.model.index_of("Old campus")
    assert index.data(ProfilesModel.InsecureRole) and "Insecure" in index.data(Qt.ItemDataRole.ToolTipRole)
    # Back to https: the consent goes away with it.
    fill(qtbot, dialog, url="https://moodle.old-campus.example")
    assert not dialog.insecure_check.isVisible() and not dialog.insecure_check.isChecked()


# -- test connection ----------------------------------------------------------------------------------------


def test_connection_with_the_admin_token_shows_every_feature_working(qtbot, open_dialog, controller, server):
    controller.add("Sandbox", server.url)
    controller.set_token("Sandbox", server.admin_token)
    dialog = open_dialog()
    run_test(qtbot, dialog, controller)
    assert dialog.feature_tree.isVisible() and dialog.site_summary.isVisible()
    assert "Everything the console does works" in dialog.test_status.text()
    rows = feature_rows(dialog)
    assert len(rows) >= 8 and {works for works, _why, _steps in rows.values()} == {"Yes"}
    summary = dialog.connection_test.summary()
    assert summary["Site"].startswith(server.app.settings.sitename) and summary["Site administrator"] == "Yes"
    assert "admin" in summary["Signed in as"] and "Moodle" in summary["Release"]
    assert "per file" in summary["Files"]
    assert not dialog.banner.isVisible()


def test_connection_names_the_missing_functions(qtbot, open_dialog, controller, server):
    controller.add("Sandbox", server.url)
    controller.set_token("Sandbox", server.token_missing_functions(["core_user_create_users",
                                                                   "core_cohort_get_cohorts"]))
    dialog = open_dialog()
    run_test(qtbot, dialog, controller)
    rows = feature_rows(dialog)
    assert rows["users_write"][:2] == ("No", "Missing function: core_user_create_users")
    assert rows["cohorts"][0] == "No" and "core_cohort_get_cohorts" in rows["cohorts"][1]
    assert any("Add core_user_create_users to the service" in step for step in rows["users_write"][2])
    assert rows["users_read"][0] == "Yes"
    assert "2 of" in dialog.test_status.text()
    model = dialog.feature_tree.model()
    failing = model.index(list(rows).index("users_write"), 0)
    assert dialog.feature_tree.isExpanded(failing)  # the fix is in view without a click
    assert dialog.feature_tree.isFirstColumnSpanned(0, failing)


def test_connection_with_a_limited_token_says_not_a_site_administrator(qtbot, open_dialog, controller, server):
    dialog = open_dialog()
    fill(qtbot, dialog, "Limited", server.url, server.limited_token)
    run_test(qtbot, dialog, controller)  # an unsaved form is tested as it stands
    rows = feature_rows(dialog)
    assert rows["users_write"][0] == "No" and "is not a site administrator" in rows["users_write"][1]
    assert dialog.connection_test.summary()["Site administrator"].startswith("No")
    assert server.limited_token not in shown_texts(dialog).replace(dialog.token_edit.text(), "")


def test_a_wrong_token_shows_the_banner_with_invalidtoken(qtbot, open_dialog, controller, server):
    dialog = open_dialog()
    fill(qtbot, dialog, "Wrong", server.url, "0123456789abcdef0123456789abcdef")
    run_test(qtbot, dialog, controller)
    assert dialog.banner.isVisible() and dialog.banner.code_text() == "invalidtoken"
    assert "failed" in dialog.test_status.text() and not dialog.feature_tree.isVisible()


def test_test_connection_without_a_token_says_so_at_the_token(qtbot, open_dialog, server):
    dialog = open_dialog()
    fill(qtbot, dialog, "New", server.url)
    click(qtbot, dialog.test_button)
    assert "no token to test with" in dialog.field_error("token")
    assert not dialog.banner.isVisible()


# -- sign in with a password ----------------------------------------------------------------------------------


def test_sign_in_gets_the_admin_token_without_showing_it(qtbot, open_dialog, controller, server, memory_keyring,
                                                         config_dir, data_dir):
    dialog = open_dialog()
    fill(qtbot, dialog, "Sandbox", server.url)
    click(qtbot, dialog.sign_in_toggle)
    assert dialog.sign_in_panel.isVisible()
    qtbot.keyClicks(dialog.username_edit, "admin")
    qtbot.keyClicks(dialog.password_edit, "Admin#2024")
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT_MS):
        click(qtbot, dialog.sign_in_button)
    assert "stored when you add the profile" in dialog.sign_in_message.text()
    assert dialog.password_edit.text() == "" and dialog.token_edit.text() == ""
    assert "A token is waiting" in dialog.token_note.text()
    assert server.admin_token not in shown_texts(dialog)
    click(qtbot, dialog.save_button)
    assert memory_keyring.passwords == {("lms-console", "Sandbox"): server.admin_token}
    for secret in (server.admin_token, "Admin#2024"):
        assert secret not in shown_texts(dialog) and secret not in files_text(config_dir, data_dir)
    assert dialog.connect_button.isEnabled()


def test_sign_in_refused_explains_that_a_token_must_be_pasted(qtbot, open_dialog, controller, server, seeded_user):
    dialog = open_dialog()
    fill(qtbot, dialog, "Teacher", server.url)
    click(qtbot, dialog.sign_in_toggle)
    qtbot.keyClicks(dialog.username_edit, seeded_user)
    qtbot.keyClicks(dialog.password_edit, "Sandbox#2024")
    with qtbot.waitSignal(controller.sign_in_failed, timeout=WAIT_MS):
        click(qtbot, dialog.sign_in_button)
    assert dialog.sign_in_message.text() == CANNOT_CREATE_TOKEN
    assert "never creates tokens through sign-in for site administrators" in CANNOT_CREATE_TOKEN
    assert "Paste a token instead" in CANNOT_CREATE_TOKEN
    assert dialog.sign_in_button.isEnabled()
    type_into(qtbot, dialog.password_edit, "wrong")
    with qtbot.waitSignal(controller.sign_in_failed, timeout=WAIT_MS):
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    assert dialog.sign_in_message.text().startswith("Wrong user name or password")


# -- no keychain -------------------------------------------------------------------------------------------------


def test_without_a_keychain_the_token_can_be_used_for_this_session_only(qtbot, open_dialog, controller, server,
                                                                        store, config_dir, data_dir):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    dialog = open_dialog()
    assert "No OS keychain" in dialog.token_note.text() and not dialog.keychain_warning.isVisible()  # said once
    assert dialog.session_only_check.isVisible() and dialog.session_only_check.isChecked()
    fill(qtbot, dialog, "Headless", server.url, server.admin_token)
    tick(qtbot, dialog.session_only_check)  # the user declines: the token cannot be kept anywhere
    assert dialog.save() is False
    assert "saved, but not its token" in dialog.field_error("token")
    assert dialog.token_note.text() == ("A token is waiting (hidden): it is kept for this session only when you save "
                                        "this profile (this computer has no OS keychain). Tick \u201cUse for this "
                                        "session only\u201d to use the token until the console exits.")
    assert not dialog.keychain_warning.isVisible()  # the note says why, once
    tick(qtbot, dialog.session_only_check)
    click(qtbot, dialog.save_button)
    assert "kept for this session only" in dialog.save_status.text()
    assert controller.token_state("Headless") == (True, True)
    assert dialog.connect_button.isEnabled()
    assert server.admin_token not in files_text(config_dir, data_dir)
    assert server.admin_token not in shown_texts(dialog)


# -- connect, theme ---------------------------------------------------------------------------------------------------


def test_connect_selects_the_profile_and_closes(qtbot, open_dialog, controller, server, store):
    controller.add("Sandbox", server.url)
    controller.set_token("Sandbox", server.admin_token)
    dialog = open_dialog()
    with qtbot.waitSignal(dialog.connect_requested) as blocker, qtbot.waitSignal(controller.profile_selected):
        click(qtbot, dialog.connect_button)
    assert blocker.args == ["Sandbox"] and not dialog.isVisible()
    assert store.last_used().name == "Sandbox"
    assert not controller.has_pending_token(server.url)


def test_dark_theme_recolours_the_messages(qtbot, qapp, open_dialog):
    dialog = open_dialog()
    fill(qtbot, dialog, url="http://moodle.example.com")
    theme.apply_theme(qapp, "dark")
    assert dialog.field_error("url")
    label = dialog._errors["url"]
    assert label.styleSheet() == f"color: {theme.color('error', 'dark').name()};"
    assert not dialog.grab().isNull()


# -- what the dialog says -------------------------------------------------------------------------------------------


def test_without_a_keychain_the_notes_agree_with_the_ticked_box(qtbot, open_dialog):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    dialog = open_dialog()
    assert dialog.session_only_check.isChecked()
    assert dialog.token_note.text() == ("No OS keychain on this computer: the token is kept for this session only, "
                                        "never in the profiles file.")
    assert "Kept in your OS keychain" not in shown_texts(dialog)
    assert dialog.token_note.styleSheet().endswith(f"{theme.color('warning').name()};")  # a warning, said once
    assert not dialog.keychain_warning.isVisible()
    tick(qtbot, dialog.session_only_check)  # unticked: now the advice applies
    assert dialog.token_note.text().endswith(" Tick \u201cUse for this session only\u201d to use the token until "
                                             "the console exits.")
    tick(qtbot, dialog.session_only_check)
    assert "Tick" not in dialog.token_note.text()


def test_saving_without_a_token_says_it_cannot_connect_yet(qtbot, open_dialog, controller, server):
    dialog = open_dialog()
    fill(qtbot, dialog, "Sandbox", server.url)
    click(qtbot, dialog.save_button)
    assert "cannot connect until it has a token" in dialog.save_status.text()
    fill(qtbot, dialog, token=server.admin_token)
    click(qtbot, dialog.save_button)
    assert dialog.save_status.text() == "Saved. The token is in your OS keychain."
    click(qtbot, dialog.save_button)  # saved again, token kept: nothing to warn about
    assert dialog.save_status.text() == "Saved."


def test_removing_the_open_profile_says_it_is_closed_first(qtbot, open_dialog, controller, server, store):
    controller.add("Prod", server.url)
    controller.add("Other", server.url)
    controller.set_open_profile("Prod")
    dialog = open_dialog()
    dialog.show_profile("Other")
    box = dialog.confirm_remove()
    assert "open in the console" not in box.informativeText()
    click(qtbot, box.button(QMessageBox.StandardButton.Cancel))
    dialog.show_profile("Prod")
    box = dialog.confirm_remove()
    assert "\u201cProd\u201d is open in the console: it is closed first" in box.informativeText()
    remove = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    with qtbot.waitSignal(controller.profile_closing) as closing:
        click(qtbot, remove)
    assert closing.args == ["Prod"] and not store.exists("Prod")


def test_a_new_profile_that_gets_no_answer_does_not_promise_a_cache(qtbot, open_dialog, controller, server):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    dialog = open_dialog()
    fill(qtbot, dialog, "Brand new", f"http://127.0.0.1:{port}", server.admin_token)
    run_test(qtbot, dialog, controller)
    assert dialog.banner.isVisible() and "did not answer" in dialog.banner.hint_text()
    assert "cache" not in shown_texts(dialog).lower()


# -- layout: Save stays under the pointer, the keychain is explained once ------------------------------------------
LAYOUT_SITE = "https://moodle.example.edu"


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
    controller.add("Prod", LAYOUT_SITE)
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
    controller.add("Prod", LAYOUT_SITE)
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
    controller.add("Headless", LAYOUT_SITE)
    dialog = open_dialog()
    dialog.show_profile("Headless")
    assert dialog.token_note.isVisible() and not dialog.keychain_warning.isVisible()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.field_error("token") == ("There is no token to test with: paste a token or sign in with a "
                                           "password first.")
    assert not dialog.banner.isVisible()
    about_the_keychain = [t for t in visible_texts(dialog) if "no os keychain" in t.lower()]
    assert about_the_keychain == [dialog.token_note.text()]
