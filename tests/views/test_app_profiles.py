"""The composition root (ConsoleApp) and profiles: the toolbar's profile box, removing the open profile,
no keychain at start-up, the first run. Real sandbox LMS over HTTP, real ConsoleApp and MainWindow."""

from __future__ import annotations

import sqlite3

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from lms_console.app import ConsoleApp
from lms_console.models.session import Online
from lms_console.services.credentials import TOKEN_ENV
from lms_console.views.dialogs.profiles_dialog import ProfilesDialog

WAIT_MS = 15_000


def started(qtbot, console: ConsoleApp) -> ConsoleApp:
    """Show the window and wait until it is complete (its first paint opened the last profile)."""
    console.start()
    qtbot.waitUntil(lambda: hasattr(console, "engine"), timeout=WAIT_MS)
    return console


def add_profiles(console: ConsoleApp, server, **tokens) -> None:
    for name, token in tokens.items():
        console.profiles.add(name, server.url)
        if token:
            console.tokens.set(name, token)


def choose_in_profile_box(qtbot, console: ConsoleApp, name: str) -> None:
    """Pick ``name`` in the toolbar's profile box as its popup does (the offscreen platform cannot show
    one): the box shows the entry, then says it was chosen (also when it was shown already)."""
    combo = console.window.profile_combo
    index = combo.findText(name)
    assert index >= 0, name
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def banner_button(console: ConsoleApp, text: str) -> QPushButton | None:
    return next((b for b in console.window.banner.findChildren(QPushButton) if b.text() == text and b.isVisible()),
                None)


def test_the_profile_box_always_shows_the_open_profile(qtbot, console, server):
    add_profiles(console, server, Limited=server.limited_token, Sandbox=server.admin_token)
    console.profiles.set_last_used("Sandbox")
    started(qtbot, console)
    combo, session = console.window.profile_combo, console.session
    qtbot.waitUntil(lambda: session.is_open, timeout=WAIT_MS)
    assert session.profile.name == "Sandbox" and combo.currentText() == "Sandbox"

    choose_in_profile_box(qtbot, console, "Limited")
    qtbot.waitUntil(lambda: session.profile is not None and session.profile.name == "Limited", timeout=WAIT_MS)
    assert combo.currentText() == "Limited"

    choose_in_profile_box(qtbot, console, "Sandbox")  # the other entry can be chosen: it opens
    qtbot.waitUntil(lambda: session.profile is not None and session.profile.name == "Sandbox", timeout=WAIT_MS)
    assert combo.currentText() == "Sandbox"

    reopened = []
    session.opened.connect(reopened.append)
    choose_in_profile_box(qtbot, console, "Sandbox")  # the open one: nothing to do
    assert reopened == [] and combo.currentText() == "Sandbox"

    session.close()
    assert combo.currentIndex() == -1 and combo.currentText() == ""  # none open: none shown
    assert console.window.connection_indicator.text() == "No profile"


def test_a_profile_without_a_token_leaves_the_box_on_the_open_profile(qtbot, console, server):
    add_profiles(console, server, Sandbox=server.admin_token, Empty=None)
    console.profiles.set_last_used("Sandbox")
    started(qtbot, console)
    qtbot.waitUntil(lambda: console.session.is_open, timeout=WAIT_MS)
    choose_in_profile_box(qtbot, console, "Empty")
    assert console.window.banner.title_text() == "Token needed"
    assert console.session.profile.name == "Sandbox" and console.window.profile_combo.currentText() == "Sandbox"


def test_removing_the_open_profile_closes_it_and_nothing_syncs_it_any_more(qtbot, console, server):
    add_profiles(console, server, Sandbox=server.admin_token, Other=server.admin_token)
    console.profiles.set_last_used("Sandbox")
    started(qtbot, console)
    session = console.session
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not session.syncing, timeout=60_000)  # the sync on connect

    console.open_profiles_dialog()
    dialog = console._dialog
    qtbot.waitExposed(dialog)
    dialog.show_profile("Sandbox")
    box = dialog.confirm_remove()
    assert "is open in the console: it is closed first" in box.informativeText()
    remove = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)

    assert not console.profiles.exists("Sandbox")
    assert not session.is_open and session.profile is None
    assert console.window.profile_combo.currentText() == "" and console.window.windowTitle() == "LMS Console"
    assert console.window.connection_indicator.text() == "No profile"
    assert "was closed: it was removed" in console.window.banner.message_text()
    assert dialog.isVisible()  # the admin chooses or adds another profile there, as on a first run
    console.window.sync_action.trigger()  # F5
    assert not session.syncing and "Open a connection profile first" in console.window.banner.message_text()


def test_without_a_keychain_the_environment_token_opens_the_profile(qtbot, console, server, monkeypatch):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    add_profiles(console, server, Sandbox=None)
    console.profiles.set_last_used("Sandbox")
    monkeypatch.setenv(TOKEN_ENV, server.admin_token)
    started(qtbot, console)
    qtbot.waitUntil(lambda: console.session.state.status == Online.ONLINE, timeout=WAIT_MS)
    assert console.session.profile.name == "Sandbox"
    assert console.window.connection_indicator.text() == "Online"


def test_without_a_keychain_or_token_it_says_how_to_enter_one(qtbot, console, server):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    add_profiles(console, server, Sandbox=None)
    console.profiles.set_last_used("Sandbox")
    started(qtbot, console)
    banner = console.window.banner
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=WAIT_MS)
    assert banner.title_text() == "Token needed"  # not "Problem talking to the site": it was never asked
    assert banner.message_text() == ("No token for Sandbox: this computer has no keychain, so tokens are kept for "
                                     "one session only. Open Profiles\u2026 to enter it.")
    indicator = console.window.connection_indicator
    assert indicator.text() == "Token needed" and indicator.text() != "Connecting\u2026"
    button = banner_button(console, "Open Profiles\u2026")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: console._dialog is not None and console._dialog.isVisible(), timeout=WAIT_MS)
    assert console._dialog.current_profile == "Sandbox"
    assert console._dialog.token_note.text().startswith("No token for this session yet")


def test_first_run_shows_no_profile_and_opens_the_profiles_dialog(qtbot, console):
    started(qtbot, console)
    qtbot.waitUntil(lambda: console._dialog is not None and console._dialog.isVisible(), timeout=WAIT_MS)
    assert console.window.connection_indicator.text() == "No profile"
    assert console.window.profile_combo.currentText() == ""


def test_opening_a_profile_synced_minutes_ago_does_not_sync_it_again(qtbot, console, server):
    """Switching between profiles re-synced each one: tens of thousands of requests for a 50,000-account
    site. A copy completely synced within the last half hour is opened as it is; F5 syncs now."""
    add_profiles(console, server, Sandbox=server.admin_token, Other=server.admin_token)
    console.profiles.set_last_used("Sandbox")
    session = started(qtbot, console).session
    qtbot.waitUntil(lambda: session.is_open, timeout=WAIT_MS)
    with qtbot.waitSignal(session.sync_finished, timeout=60_000) as first:  # never synced: it syncs
        pass
    assert first.args[0].status == "ok"
    choose_in_profile_box(qtbot, console, "Other")
    qtbot.waitUntil(lambda: session.profile is not None and session.profile.name == "Other", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not session.syncing, timeout=60_000)
    started_syncs = []
    session.sync_started.connect(started_syncs.append)
    choose_in_profile_box(qtbot, console, "Sandbox")
    qtbot.waitUntil(lambda: session.profile is not None and session.profile.name == "Sandbox", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "F5 syncs now" in console.window.sync_label.text(), timeout=WAIT_MS)
    assert started_syncs == [] and not session.syncing
    choose_in_profile_box(qtbot, console, "Other")
    qtbot.waitUntil(lambda: session.profile is not None and session.profile.name == "Other", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not session.syncing, timeout=60_000)
    raw = sqlite3.connect(console.profiles.get("Sandbox").cache_path)  # an hour later: a stale copy
    with raw:
        raw.execute("UPDATE sync_state SET last_success_at = last_success_at - 3600 WHERE entity = 'users'")
    raw.close()
    choose_in_profile_box(qtbot, console, "Sandbox")
    qtbot.waitUntil(lambda: bool(started_syncs), timeout=WAIT_MS)


def test_a_search_typed_on_one_profile_is_not_carried_to_the_next(qtbot, console, server):
    add_profiles(console, server, Sandbox=server.admin_token, Other=server.admin_token)
    console.profiles.set_last_used("Sandbox")
    started(qtbot, console)
    session, window = console.session, console.window
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not session.syncing, timeout=60_000)  # the sync on connect
    window.go_to("users")
    pane = console.users_views.pane
    pane.filter_bar.search.setText("abdullah")
    pane.filter_bar.search.returnPressed.emit()
    qtbot.waitUntil(lambda: pane.filter_bar.sentence.text() == "Users matching \u201cabdullah\u201d", timeout=WAIT_MS)

    choose_in_profile_box(qtbot, console, "Other")
    qtbot.waitUntil(lambda: session.profile is not None and session.profile.name == "Other", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    window.go_to("users")
    assert window.stack.currentWidget() is pane
    assert pane.filter_bar.search.text() == "" and pane.filter_bar.spec().text == ""
    qtbot.waitUntil(lambda: pane.filter_bar.sentence.text() == "All users", timeout=WAIT_MS)
    assert pane.model.spec.text == "" and not pane.model.spec.conditions


# -- changing the open profile's address ---------------------------------------------------------------------------


def open_and_synced(qtbot, console: ConsoleApp, server) -> ConsoleApp:
    add_profiles(console, server, Sandbox=server.admin_token)
    console.profiles.set_last_used("Sandbox")
    started(qtbot, console)
    session = console.session
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not session.syncing and session.last_sync is not None, timeout=60_000)
    return console


def save_address(qtbot, console: ConsoleApp, url: str, token: str = "", service: str = "") -> ProfilesDialog:
    """In the Profiles dialog, give the open profile ``url`` (and ``token``, and the web ``service``, under
    Advanced) and click Save; an empty value leaves its field as it is."""
    console.open_profiles_dialog()
    dialog = console._dialog
    qtbot.waitExposed(dialog)
    dialog.show_profile("Sandbox")
    if service:
        dialog.advanced_toggle.setChecked(True)
    for edit, text in ((dialog.service_edit, service), (dialog.url_edit, url), (dialog.token_edit, token)):
        if text:
            edit.selectAll()
            qtbot.keyClick(edit, Qt.Key.Key_Delete)
            qtbot.keyClicks(edit, text)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    return dialog


def test_changing_the_open_profiles_address_reconnects_to_the_new_site(qtbot, console, server, other_server):
    """QA: saving another address for the open profile closed it and left the console with no profile."""
    session = open_and_synced(qtbot, console, server).session
    old_copy = session.profile.cache_path
    dialog = save_address(qtbot, console, other_server.url, other_server.admin_token)  # one Save: address and token
    assert "The console opens it again at the new address." in dialog.save_status.text()
    assert "set aside" in dialog.save_status.text()
    # QA: the long status wrapped in half the row and pushed Save down, so clicks missed it.
    qtbot.waitUntil(lambda: dialog.save_status.isVisible())
    status, button = dialog.save_status.geometry(), dialog.save_button.geometry()
    assert button.top() <= status.top() + 4 and status.width() > 0.7 * (status.right() - button.left())
    qtbot.waitUntil(lambda: session.is_open, timeout=WAIT_MS)
    assert session.profile.name == "Sandbox" and session.profile.url == other_server.url
    banner = console.window.banner
    assert banner.title_text() == "Reconnected"
    assert banner.message_text().startswith(f"\u201cSandbox\u201d was opened again at its new address, "
                                            f"{other_server.url}.")
    assert f"of another site ({server.url})" in banner.message_text()  # the old copy was set aside, as before
    assert list(old_copy.parent.glob(f"{old_copy.stem}.other-site-*.sqlite"))
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    assert console.window.connection_indicator.state() == "online"
    assert console.window.profile_combo.currentText() == "Sandbox"
    qtbot.waitUntil(lambda: not session.syncing and session.site is not None, timeout=60_000)
    assert session.site.siteurl.rstrip("/") == other_server.url.rstrip("/")  # the new site's data, not the old


def test_a_new_address_that_refuses_the_token_shows_it_is_refused(qtbot, console, server, other_server):
    session = open_and_synced(qtbot, console, server).session
    save_address(qtbot, console, other_server.url, server.admin_token)  # the old site's token, typed again: refused
    qtbot.waitUntil(lambda: session.is_open and session.state.status == Online.AUTH_FAILED, timeout=WAIT_MS)
    assert session.profile.url == other_server.url
    assert console.window.connection_indicator.state() == "rejected"
    assert console.window.banner.level == "error"


def test_a_new_address_that_does_not_answer_works_offline(qtbot, console, server):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    session = open_and_synced(qtbot, console, server).session
    save_address(qtbot, console, f"http://127.0.0.1:{port}", server.admin_token)
    qtbot.waitUntil(lambda: session.is_open and session.state.status == Online.OFFLINE, timeout=WAIT_MS)
    assert console.window.connection_indicator.state() == "offline"
    assert console.window.banner.title_text() == "Working offline"


@pytest.mark.parametrize("other_port", [False, True], ids=["host", "port"])
def test_a_new_host_without_a_token_says_one_is_needed(qtbot, console, server, other_server, other_port):
    """QA: moved to another port of the same host (another sandbox), the profile sent it the old site's token."""
    session = open_and_synced(qtbot, console, server).session
    # Another host or another port: the token is forgotten, never sent there.
    moved = other_server.url if other_port else server.url.replace("127.0.0.1", "localhost")
    other_server.clear_requests()
    save_address(qtbot, console, moved)
    qtbot.waitUntil(lambda: console.window.banner.title_text() == "Token needed", timeout=WAIT_MS)
    assert not session.is_open and console.window.connection_indicator.state() == "token"
    assert console.profiles.get("Sandbox").url == moved
    assert other_server.requests == []


def test_the_demo_site_at_a_new_port_opens_as_before(qtbot, console, server, other_server):
    """The demo profile follows its site to each run's port itself: no closing, no reconnecting, no copy set aside."""
    from lms_console.app import DEMO_PROFILE

    session = console.session
    add_profiles(console, server, **{DEMO_PROFILE: server.admin_token})
    console.profiles.set_last_used(DEMO_PROFILE)
    started(qtbot, console)
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)  # its copy knows the site
    console.open_profiles_dialog()  # the Profiles controller is wired
    console._dialog.close()
    copy = console.profiles.get(DEMO_PROFILE).cache_path
    console._demo_started((other_server.url, other_server.admin_token))  # the next run's demo, another port
    qtbot.waitUntil(lambda: session.is_open and session.state.status == Online.ONLINE, timeout=WAIT_MS)
    assert session.profile.name == DEMO_PROFILE and session.profile.url == other_server.url
    assert console.window.banner.title_text() not in ("Reconnecting", "Reconnected")
    assert copy.exists() and not list(copy.parent.glob(f"{copy.stem}.other-site-*"))


def test_the_old_copy_is_set_aside_only_once_closed_and_keeps_its_last_write(qtbot, console, server, other_server):
    """The old copy of the open profile was renamed at Save, while the writer thread still had it open (a
    run writing into it): a SQLite file renamed under an open connection can lose its last writes."""
    import threading

    from lms_console.services.cache.db import CacheDb

    session = open_and_synced(qtbot, console, server).session
    old_copy = session.profile.cache_path
    writing, release = threading.Event(), threading.Event()

    def run_still_writing(writer):  # e.g. an apply: one journal row written, the last one still to come
        def row(title):
            with writer.batch() as raw:
                raw.execute("INSERT INTO change_runs (created_at, profile, lms_user, title, origin, status) "
                            "VALUES (1, 'Sandbox', 'admin', ?, 'gui', 'done')", (title,))
        row("written before Save")
        writing.set()
        release.wait(30)
        row("the last write")

    session.run_writer("still-writing", run_still_writing)
    assert writing.wait(10)
    aside = f"{old_copy.stem}.other-site-*{old_copy.suffix}"
    try:
        dialog = save_address(qtbot, console, other_server.url, other_server.admin_token)
        assert "set aside" in dialog.save_status.text()  # said at once, as before
        assert old_copy.exists() and not list(old_copy.parent.glob(aside))  # nothing renamed while it is open
    finally:
        release.set()
    qtbot.waitUntil(lambda: session.is_open, timeout=WAIT_MS)  # at the new address, once it was set aside
    assert session.profile.url == other_server.url
    [moved] = old_copy.parent.glob(aside)
    assert not [p for p in old_copy.parent.iterdir() if p.name.startswith(moved.name + "-")]  # no -wal, -shm
    with CacheDb.open(moved) as db:
        assert db.integrity_check() == []
        with db.read() as conn:
            titles = [r[0] for r in conn.exec_driver_sql("SELECT title FROM change_runs ORDER BY id")]
    assert titles[-2:] == ["written before Save", "the last write"]


# -- a token stored for the open profile ----------------------------------------------------------------------------

REFUSED_TOKEN = "0123456789abcdef0123456789abcdef"  # well formed, unknown to the site: invalidtoken


def test_a_token_saved_for_the_open_profile_is_used_at_once(qtbot, console, server):
    """QA: the open profile's token was refused; a valid one saved in the Profiles dialog (Test connection green)
    was not used until Connect: the red banner stayed, Retry did nothing visible, F5 failed with invalidtoken."""
    add_profiles(console, server, Sandbox=REFUSED_TOKEN)
    console.profiles.set_last_used("Sandbox")
    session, window = started(qtbot, console).session, console.window
    qtbot.waitUntil(lambda: session.state.status == Online.AUTH_FAILED and window.banner.level == "error",
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not session.syncing, timeout=WAIT_MS)  # the sync on connect, refused
    assert window.connection_indicator.state() == "rejected"
    dialog = save_address(qtbot, console, "", server.admin_token)  # the same address, a new token
    assert dialog.save_status.text() == "Saved. The token is in your OS keychain. The console uses it now."
    dialog.close()
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    assert window.connection_indicator.state() == "online"
    assert window.banner.level == "info" and window.banner.title_text() == "Reconnected"
    assert session.profile.name == "Sandbox"  # the same profile, not closed and opened again
    with qtbot.waitSignal(session.sync_finished, timeout=60_000) as synced:
        window.sync_action.trigger()  # F5
    assert synced.args[0].status == "ok"


def test_a_token_saved_while_offline_is_used_when_the_site_answers_again(qtbot, console, server):
    server.set_faults(drop_before_rate=1.0)  # the site does not answer
    try:
        add_profiles(console, server, Sandbox=REFUSED_TOKEN)
        console.profiles.set_last_used("Sandbox")
        session, window = started(qtbot, console).session, console.window
        qtbot.waitUntil(lambda: session.state.status == Online.OFFLINE, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not session.syncing, timeout=WAIT_MS)
        save_address(qtbot, console, "", server.admin_token).close()
        assert session.state.status == Online.OFFLINE and window.banner.title_text() == "Working offline"
    finally:
        server.clear_faults()
    session._retry.setInterval(10)  # do not wait for the back-off in a test
    session._retry.start()
    qtbot.waitUntil(lambda: session.state.status in (Online.ONLINE, Online.AUTH_FAILED), timeout=WAIT_MS)
    assert session.state.status == Online.ONLINE and window.connection_indicator.state() == "online"


def test_a_profile_waiting_for_a_token_opens_once_one_is_saved(qtbot, console, server):
    add_profiles(console, server, Sandbox=None)
    console.profiles.set_last_used("Sandbox")
    session, window = started(qtbot, console).session, console.window
    qtbot.waitUntil(lambda: window.banner.title_text() == "Token needed", timeout=WAIT_MS)
    assert not session.is_open and window.connection_indicator.state() == "token"
    save_address(qtbot, console, "", server.admin_token).close()
    qtbot.waitUntil(lambda: session.is_open and session.state.status == Online.ONLINE, timeout=WAIT_MS)
    assert session.profile.name == "Sandbox" and window.profile_combo.currentText() == "Sandbox"


# -- settings saved for the open profile -----------------------------------------------------------------------------


def save_service(qtbot, console: ConsoleApp, service: str, url: str = "", token: str = "") -> ProfilesDialog:
    """In the Profiles dialog, give the open profile the web service ``service`` (Advanced) and click Save."""
    return save_address(qtbot, console, url, token, service=service)


def test_a_service_saved_for_the_open_profile_is_used_at_once(qtbot, console, server):
    """QA: the open profile's web service changed in the Profiles dialog (no new token) was not applied until
    it reconnected (a token saved with it was)."""
    add_profiles(console, server, Sandbox=server.admin_token)
    console.profiles.set_last_used("Sandbox")
    session, window = started(qtbot, console).session, console.window
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not session.syncing, timeout=60_000)
    closed, opened = [], []
    session.closed.connect(lambda: closed.append(1))
    session.opened.connect(opened.append)
    server.clear_requests()
    save_service(qtbot, console, "console_v2").close()
    qtbot.waitUntil(lambda: session.profile.service == "console_v2", timeout=WAIT_MS)
    assert window.banner.title_text() == "Reconnecting"
    assert window.banner.message_text() == "\u201cSandbox\u201d now uses its saved settings: reconnecting\u2026"
    qtbot.waitUntil(lambda: window.banner.title_text() == "Reconnected", timeout=WAIT_MS)
    assert window.banner.message_text() == ("The site answers with the saved settings: \u201cSandbox\u201d is "
                                            "connected again.")
    assert session.state.status == Online.ONLINE and window.connection_indicator.state() == "online"
    assert closed == [] and opened == []  # the same profile goes on, with the token it has
    assert "core_webservice_get_site_info" in {r["function"] for r in server.requests}  # asked the site again


def test_a_service_saved_with_a_new_address_opens_the_profile_once(qtbot, console, server, other_server):
    """Moved to another site by the same Save: it opens again there (with the new service), once."""
    session = open_and_synced(qtbot, console, server).session
    opened = []
    session.opened.connect(opened.append)
    save_service(qtbot, console, "console_v2", other_server.url, other_server.admin_token)
    qtbot.waitUntil(lambda: session.is_open and session.state.status == Online.ONLINE, timeout=WAIT_MS)
    qtbot.wait(200)  # anything still queued by the Save
    assert [(p.url, p.service) for p in opened] == [(other_server.url, "console_v2")]
    assert session.profile.service == "console_v2" and console.window.banner.title_text() == "Reconnected"


# -- an address corrected back ----------------------------------------------------------------------------------------


def _counts(session) -> tuple[int, list[str]]:
    with session.db.read() as conn:
        users = conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
        titles = [r[0] for r in conn.exec_driver_sql("SELECT title FROM change_runs ORDER BY id")]
    return users, titles


def test_an_address_corrected_back_reopens_on_its_own_copy_without_a_full_sync(qtbot, console, server):
    """QA: a typo in the open profile's address set its copy aside; correcting it left the profile on an empty
    copy (its journal and outbox out of sight) and started a full sync (tens of thousands of requests)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens there once closed
    session = open_and_synced(qtbot, console, server).session
    copy = session.profile.cache_path
    done = []

    def journal_row(writer):
        with writer.batch() as raw:
            raw.execute("INSERT INTO change_runs (created_at, profile, lms_user, title, origin, status) "
                        "VALUES (1, 'Sandbox', 'admin', 'suspended 3 users', 'gui', 'done')")

    session.run_writer("journal-row", journal_row, on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)
    before = _counts(session)
    assert before[0] > 0 and before[1] == ["suspended 3 users"]

    save_address(qtbot, console, nowhere, server.admin_token)  # the typo
    qtbot.waitUntil(lambda: session.is_open and session.state.status == Online.OFFLINE, timeout=WAIT_MS)
    assert session.profile.url == nowhere and _counts(session) == (0, [])  # a new, empty copy
    assert list(copy.parent.glob(f"{copy.stem}.other-site-*{copy.suffix}"))
    qtbot.waitUntil(lambda: not session.syncing, timeout=WAIT_MS)

    server.clear_requests()
    syncs = []
    session.sync_started.connect(syncs.append)
    dialog = save_address(qtbot, console, server.url, server.admin_token)  # corrected
    assert "was put back: its journal and outbox are as they were." in dialog.save_status.text()
    qtbot.waitUntil(lambda: session.is_open and session.profile.url == server.url, timeout=WAIT_MS)
    assert _counts(session) == before  # right after opening: its own copy, journal and all
    assert f"The local copy of {server.url}" in console.window.banner.message_text()
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "F5 syncs now" in console.window.sync_label.text(), timeout=WAIT_MS)
    assert syncs == [] and {r["function"] for r in server.requests} <= {"core_webservice_get_site_info"}
    assert not list(copy.parent.glob(f"{copy.stem}.other-site-*"))  # the empty copy was not kept aside
