"""The main window says what is true now: a success notice ("Reconnected", "back online") clears itself while
problems stay, and the status bar stops saying the last sync failed once the connection it failed on was
replaced (a new token the site accepts, another profile). Real sandbox LMS over HTTP, real ConsoleApp and
MainWindow."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from lms_console.app import ConsoleApp
from lms_console.models.session import ConnectionSession, Online
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore
from lms_console.views.main_window import MainWindow
from lms_console.views.widgets import banner as banner_module

WAIT_MS = 15_000
NOTICE_MS = 300  # the notices' timeout in these tests (8 s in the console)
REFUSED_TOKEN = "0123456789abcdef0123456789abcdef"  # well formed, unknown to the site: invalidtoken


@pytest.fixture(autouse=True)
def short_notices(monkeypatch):
    monkeypatch.setattr(banner_module, "NOTICE_TIMEOUT_MS", NOTICE_MS, raising=False)


@pytest.fixture
def window(qtbot, runner, tmp_path):
    """A main window on a session of its own (no ConsoleApp: nothing else writes its status bar)."""
    win = MainWindow(ConnectionSession(runner), QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.session.close()


def opened_with(qtbot, console: ConsoleApp, server, token: str) -> ConsoleApp:
    """The console started on the profile "Sandbox" of ``server`` with ``token``, its sync on connect done."""
    console.profiles.add("Sandbox", server.url)
    console.tokens.set("Sandbox", token)
    console.profiles.set_last_used("Sandbox")
    console.start()
    session = console.session
    qtbot.waitUntil(lambda: session.is_open and session.state.status not in (Online.UNKNOWN, Online.CONNECTING),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: session.last_sync is not None and not session.syncing, timeout=60_000)
    return console


def save_in_profiles_dialog(qtbot, console: ConsoleApp, url: str = "", token: str = "") -> None:
    """In the Profiles dialog, give the open profile ``url`` and/or ``token``, click Save, close the dialog."""
    console.open_profiles_dialog()
    dialog = console._dialog
    qtbot.waitExposed(dialog)
    dialog.show_profile("Sandbox")
    for edit, text in ((dialog.url_edit, url), (dialog.token_edit, token)):
        if text:
            edit.selectAll()
            qtbot.keyClick(edit, Qt.Key.Key_Delete)
            qtbot.keyClicks(edit, text)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    dialog.close()


def refused_then_a_new_token(qtbot, console: ConsoleApp, server) -> ConsoleApp:
    """The open profile's token is refused (its sync on connect failed), then a valid one is saved."""
    window = opened_with(qtbot, console, server, REFUSED_TOKEN).window
    assert console.session.state.status == Online.AUTH_FAILED and window.banner.level == "error"
    assert window.sync_label.text() == "Sync failed."
    save_in_profiles_dialog(qtbot, console, token=server.admin_token)
    qtbot.waitUntil(lambda: window.banner.title_text() == "Reconnected", timeout=WAIT_MS)
    assert console.session.state.status == Online.ONLINE
    return console


# -- 1. a success notice clears itself, problems stay ----------------------------------------------------------------


def test_the_reconnected_notice_after_a_new_token_clears_itself(qtbot, console, server):
    """QA: "Reconnected" stayed until the admin dismissed it."""
    banner = refused_then_a_new_token(qtbot, console, server).window.banner
    assert banner.level == "info" and banner.isVisible()
    qtbot.waitUntil(lambda: banner.isHidden(), timeout=NOTICE_MS * 10)
    assert banner.title_text() == ""


def test_reconnected_at_a_new_address_names_the_copy_set_aside_until_dismissed(qtbot, console, server, other_server):
    """The address of the open profile changed, the console reconnected. The message names the local copy of
    the old site, set aside: the only place the main window says where it went, so it is not a notice that
    clears itself (a plain "Reconnected", after a new token, is: see the test above)."""
    window = opened_with(qtbot, console, server, server.admin_token).window
    save_in_profiles_dialog(qtbot, console, url=other_server.url, token=other_server.admin_token)
    qtbot.waitUntil(lambda: window.banner.title_text() == "Reconnected", timeout=WAIT_MS)
    assert console.session.profile.url == other_server.url
    assert ".other-site-" in window.banner.message_text()
    qtbot.waitUntil(lambda: console.session.state.status == Online.ONLINE, timeout=WAIT_MS)
    qtbot.wait(NOTICE_MS * 3)
    assert window.banner.isVisible() and window.banner.title_text() == "Reconnected"


def test_a_refused_token_stays_said_until_it_is_resolved(qtbot, console, server):
    """Problems are not notices: the refusal stays; a second refused token after it still says so."""
    window = opened_with(qtbot, console, server, REFUSED_TOKEN).window
    qtbot.wait(NOTICE_MS * 3)
    assert window.banner.isVisible() and window.banner.level == "error"
    save_in_profiles_dialog(qtbot, console, token="f" * 32)  # another token the site refuses
    qtbot.waitUntil(lambda: window.banner.title_text() != "Reconnecting", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: console.session.state.status == Online.AUTH_FAILED, timeout=WAIT_MS)
    qtbot.wait(NOTICE_MS * 3)
    assert window.banner.isVisible() and window.banner.level == "error"
    assert window.connection_indicator.state() == "rejected"
    assert window.sync_label.text() == "Sync failed."  # still true of the connection in use: it is refused


def test_a_problem_shown_over_a_notice_stays(qtbot, window):
    """A notice's timeout ends with the notice: a warning shown over it stays past that time."""
    banner = window.banner
    banner.show_notice("The site answers again: back online.")
    banner.show_message("warning", "Offline since 10:42: the site does not answer.", title="Working offline")
    qtbot.wait(NOTICE_MS * 3)
    assert banner.isVisible() and banner.title_text() == "Working offline"
    banner.show_notice("Reconnected.", title="Reconnected")
    qtbot.waitUntil(lambda: banner.isHidden(), timeout=NOTICE_MS * 10)


def test_the_back_online_notice_clears_itself_by_the_same_rule(qtbot, window, server):
    session = window.session
    session.open(ProfileStore().add("site", server.url), Secret(server.admin_token))
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    server.set_faults(drop_before_rate=1.0)  # the site stops answering
    try:
        session.check_connection()
        qtbot.waitUntil(lambda: session.state.status == Online.OFFLINE, timeout=WAIT_MS)
        qtbot.wait(NOTICE_MS * 3)
        assert window.banner.title_text() == "Working offline"  # a problem: it stays
    finally:
        server.clear_faults()
    session._retry.setInterval(10)  # do not wait for the back-off in a test
    session._retry.start()
    qtbot.waitUntil(lambda: "back online" in window.banner.message_text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.banner.isHidden(), timeout=NOTICE_MS * 10)


# -- 2. "Sync failed." is said of the connection it failed on only -------------------------------------------------------


def test_a_new_token_accepted_ends_the_old_tokens_sync_failure(qtbot, console, server):
    """QA: after a new token was accepted, the status bar still said "Sync failed." until the next sync."""
    window = refused_then_a_new_token(qtbot, console, server).window
    assert window.sync_label.text() == ""
    assert window.freshness_label.isVisible() and window.freshness_label.text() == "Not synced yet"
    with qtbot.waitSignal(console.session.sync_finished, timeout=60_000):
        window.sync_action.trigger()  # F5, with the new token: its own outcome
    assert window.sync_label.text().startswith("Synced in ")


def test_another_profile_is_not_said_to_have_failed_to_sync(qtbot, window, server, other_server):
    """QA: after a profile switch, the status bar said "Sync failed." of the profile that was open before."""
    session, store = window.session, ProfileStore()
    session.open(store.add("Refused", server.url), Secret(REFUSED_TOKEN))
    with qtbot.waitSignal(session.sync_finished, timeout=60_000):
        window.request_sync()
    assert window.sync_label.text() == "Sync failed."
    session.open(store.add("Other", other_server.url), Secret(other_server.admin_token))
    assert window.sync_label.text() == ""
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    assert window.sync_label.text() == ""

    session.open(store.get("Refused"), Secret(REFUSED_TOKEN))  # failed again, then closed: no profile to fail
    with qtbot.waitSignal(session.sync_finished, timeout=60_000):
        window.request_sync()
    assert window.sync_label.text() == "Sync failed."
    session.close()
    assert window.sync_label.text() == ""
