"""ProfilesModel, DoctorReportModel and ProfilesController against a real sandbox over HTTP.

Real ProfileStore in tmp dirs, the in-memory keyring from the shared conftest, a real TaskRunner.
"""

from __future__ import annotations

import json
import logging

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt

from lms_console.models.profiles_checks import ConnectionSettings, explain_sign_in_failure
from lms_console.models.profiles_controller import ProfilesController
from lms_console.models.profiles_model import (
    DoctorReportModel,
    ProfilesModel,
    report_headline,
    report_summary,
)
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.credentials import (
    KeychainUnavailable,
    KeyringTokenStore,
    SessionFallbackTokenStore,
    TokenMissing,
)
from lms_console.services.lms.errors import AuthExpired, LmsError, PermissionDenied
from lms_console.services.profiles import (
    DuplicateProfile,
    InvalidProfileValue,
    ProfileStore,
)

WAIT_MS = 15_000


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=30, courses=2).start()
    yield site
    site.stop()


@pytest.fixture
def runner(qapp):
    r = TaskRunner(http_workers=4)
    yield r
    r.shutdown(wait=True)


@pytest.fixture
def store(config_dir, data_dir):
    return ProfileStore(config_dir, data_dir, tokens=SessionFallbackTokenStore(KeyringTokenStore()))


@pytest.fixture
def controller(store, runner):
    ctl = ProfilesController(store, store.tokens, runner)
    yield ctl
    ctl.deleteLater()


@pytest.fixture
def seeded_user(server) -> str:
    with server.store.connection() as conn:
        return conn.execute("SELECT username FROM user WHERE id > 3 AND auth = 'manual' AND suspended = 0 "
                            "AND deleted = 0 ORDER BY id LIMIT 1").fetchone()[0]


def _everything_written(config_dir, data_dir) -> str:
    texts = []
    for folder in (config_dir, data_dir):
        if folder.exists():
            texts += [p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()]
    return "\n".join(texts)


# -- the list model ---------------------------------------------------------------------------------


def test_model_lists_profiles_with_their_token_state(qtmodeltester, store, controller, server, memory_keyring):
    controller.add("Beta", server.url)
    controller.add("alpha", "http://lms.example.org", insecure=True)
    controller.set_token("Beta", server.admin_token)
    controller.select("Beta")
    model = controller.model
    qtmodeltester.check(model)
    assert model.names() == ["alpha", "Beta"]  # sorted regardless of case
    alpha, beta = model.index(0, 0), model.index(1, 0)
    assert alpha.data(Qt.ItemDataRole.DisplayRole) == "alpha"
    assert alpha.data(ProfilesModel.InsecureRole) is True
    assert "Insecure: token sent over plain HTTP to lms.example.org" in alpha.data(Qt.ItemDataRole.ToolTipRole)
    assert alpha.data(ProfilesModel.HasTokenRole) is False
    assert alpha.data(Qt.ItemDataRole.DecorationRole) is None  # views pick icons
    assert beta.data(ProfilesModel.UrlRole) == server.url
    assert beta.data(ProfilesModel.HasTokenRole) is True and beta.data(ProfilesModel.SessionOnlyRole) is False
    assert beta.data(ProfilesModel.LastUsedRole) > 0 and alpha.data(ProfilesModel.LastUsedRole) == 0
    assert beta.data(Qt.ItemDataRole.ToolTipRole) == server.url
    assert model.row_of("BETA") == 1 and not model.index_of("gamma").isValid()
    assert b"hasToken" in bytes(model.roleNames()[int(ProfilesModel.HasTokenRole)])


def test_model_reports_an_unreadable_profiles_file(qtbot, config_dir, data_dir):
    config_dir.mkdir(parents=True)
    (config_dir / "profiles.json").write_text("{not json", encoding="utf-8")
    store = ProfileStore(config_dir, data_dir)
    model = ProfilesModel(store)
    with qtbot.waitSignal(model.load_failed) as blocker:
        model.refresh()
    assert isinstance(blocker.args[0], LmsError) and "not valid JSON" in str(blocker.args[0])
    assert model.rowCount() == 0


def test_model_says_unknown_when_the_keychain_cannot_be_asked(store, controller):
    controller.add("Site", "https://moodle.example.edu")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    controller.model.refresh()
    assert controller.model.index(0, 0).data(ProfilesModel.HasTokenRole) is None


# -- the controller: profiles and tokens -------------------------------------------------------------


def test_token_goes_to_the_keyring_and_nowhere_else(qtbot, caplog, controller, server, memory_keyring,
                                                     config_dir, data_dir):
    caplog.set_level(logging.DEBUG)
    token = server.admin_token
    seen = []
    for signal in (controller.profiles_changed, controller.profile_saved, controller.token_stored):
        signal.connect(lambda *args: seen.append(repr(args)))
    profile = controller.add("Prod", server.url)
    controller.set_token("Prod", f"  {token}\n")  # a pasted newline is trimmed
    assert memory_keyring.passwords == {("lms-console", "Prod"): token}
    assert controller.token_state("Prod") == (True, False)
    saved = json.loads((config_dir / "profiles.json").read_text(encoding="utf-8"))
    assert saved["profiles"][0]["url"] == profile.url
    assert token not in _everything_written(config_dir, data_dir)
    assert token not in caplog.text and token not in "".join(seen) and token not in repr(controller)


def test_bad_tokens_are_refused_without_repeating_them(controller):
    controller.add("Prod", "https://moodle.example.edu")
    assert controller.token_error("abc def") and "abc" not in controller.token_error("abc def")
    assert controller.token_error("") == "The token is empty."
    assert controller.token_error("0123456789abcdef") == ""
    with pytest.raises(LmsError) as info:
        controller.set_token("Prod", "abc\x07def")
    assert info.value.field == "token" and "abc" not in str(info.value)
    with pytest.raises(TokenMissing) as missing:
        controller.set_token("Prod", None)
    assert missing.value.field == "token"


def test_field_errors_name_what_is_wrong(controller):
    controller.add("Prod", "https://moodle.example.edu")
    assert controller.field_errors("", "https://a.example")["name"] == "Profile name is empty."
    assert "already exists" in controller.field_errors("prod", "https://a.example")["name"]
    assert "already exists" not in controller.field_errors("Prod", "https://a.example", editing="Prod").get(
        "name", "")
    assert "'/'" in controller.field_errors("a/b", "https://a.example")["name"]
    assert "did you mean 'https://moodle.example.edu'" in controller.field_errors("X", "moodle.example.edu")["url"]
    assert "must start with https://" in controller.field_errors("X", "ftp://moodle.example.edu")["url"]
    insecure = controller.field_errors("X", "http://moodle.example.edu")["url"]
    assert "unencrypted" in insecure and "Allow insecure HTTP" in insecure
    assert "url" not in controller.field_errors("X", "http://moodle.example.edu", insecure=True)
    assert "url" not in controller.field_errors("X", "http://localhost:8080")  # loopback needs no consent
    assert "service" in controller.field_errors("X", "https://a.example", service="bad service")
    check = controller.check_url("HTTPS://Moodle.Example.edu:443/")
    assert check.url == "https://moodle.example.edu" and check.host == "moodle.example.edu" and not check.error
    assert controller.check_url("http://10.0.0.5", insecure=True).plain_http_remote
    with pytest.raises(InvalidProfileValue) as info:
        controller.add("Y", "http://moodle.example.edu")
    assert info.value.field == "url"
    with pytest.raises(DuplicateProfile) as dup:
        controller.add("PROD", "https://moodle.example.edu")
    assert dup.value.field == "name"


def test_moving_a_profile_to_another_host_forgets_its_token(qtbot, controller, server, memory_keyring):
    controller.add("Prod", server.url)
    controller.set_token("Prod", server.admin_token)
    assert controller.host_changes("Prod", "https://elsewhere.example.edu")
    assert not controller.host_changes("Prod", server.url + "/")
    with qtbot.waitSignal(controller.profile_saved) as blocker:
        controller.update("Prod", url=server.url, insecure=False, service="other_service")
    assert blocker.args[0].service == "other_service" and memory_keyring.passwords  # same host: kept
    controller.update("Prod", url="https://elsewhere.example.edu", insecure=False)
    assert memory_keyring.passwords == {}
    assert controller.token_state("Prod") == (False, False)


def test_remove_deletes_token_and_optionally_the_cache(qtbot, controller, server, memory_keyring):
    profile = controller.add("Prod", server.url)
    controller.set_token("Prod", server.admin_token)
    profile.cache_path.parent.mkdir(parents=True, exist_ok=True)
    profile.cache_path.write_bytes(b"cache")
    with qtbot.waitSignal(controller.profile_removed) as blocker:
        controller.remove("Prod", delete_cache=True)
    assert blocker.args[0].cache_removed and blocker.args[0].token_removed
    assert memory_keyring.passwords == {} and not profile.cache_path.exists()
    assert controller.model.rowCount() == 0


def test_select_marks_the_profile_last_used(qtbot, controller, store):
    controller.add("Prod", "https://moodle.example.edu")
    with qtbot.waitSignal(controller.profile_selected) as blocker:
        controller.select("prod")
    assert blocker.args[0].name == "Prod" and blocker.args[0].last_used > 0
    assert store.last_used().name == "Prod"


def test_no_keychain_offers_session_only(qtbot, controller, store, server):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    assert not controller.keychain_available()
    controller.add("Headless", server.url)
    with qtbot.waitSignal(controller.keychain_unavailable) as blocker, pytest.raises(KeychainUnavailable):
        controller.set_token("Headless", server.admin_token)
    assert blocker.args[0] == "Headless" and "keychain" in blocker.args[1]
    # The token was kept: "use for this session only" needs no second paste.
    with qtbot.waitSignal(controller.token_stored) as stored:
        controller.set_token("Headless", None, session_only=True)
    assert stored.args == ["Headless", True]
    assert controller.token_state("Headless") == (True, True)
    assert controller.model.index(0, 0).data(ProfilesModel.SessionOnlyRole) is True
    controller.remove("Headless")
    assert store.tokens.session.get("Headless") is None


# -- the controller: the network ----------------------------------------------------------------------


def _run_test(qtbot, controller, target, token=None):
    results = []
    controller.connection_tested.connect(lambda name, report: results.append(("ok", name, report)))
    controller.connection_test_failed.connect(lambda name, err: results.append(("failed", name, err)))
    controller.test_connection(target, token)
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS)
    return results[0]


def test_connection_with_the_admin_token_is_healthy(qtbot, qtmodeltester, controller, server):
    controller.add("Prod", server.url)
    controller.set_token("Prod", server.admin_token)
    kind, name, report = _run_test(qtbot, controller, "Prod")
    assert (kind, name) == ("ok", "Prod") and report.healthy
    assert report_headline(report) == ("Connected. Everything the console does works with this token.", True)
    summary = dict(report_summary(report))
    assert summary["Site administrator"] == "Yes" and summary["Signed in as"].endswith("(admin)")
    model = DoctorReportModel()
    model.set_report(report)
    qtmodeltester.check(model)
    works = [model.index(r, 1).data() for r in range(model.rowCount())]
    assert works and set(works) == {"Yes"}


def test_connection_names_missing_functions(qtbot, qtmodeltester, controller, server):
    token = server.token_missing_functions(["core_user_create_users"])
    kind, _name, report = _run_test(qtbot, controller, ConnectionSettings("", server.url), token)
    assert kind == "ok" and not report.healthy
    model = DoctorReportModel()
    model.set_report(report)
    qtmodeltester.check(model)
    rows = {model.index(r, 0).data(DoctorReportModel.FeatureKeyRole): r for r in range(model.rowCount())}
    row = rows["users_write"]
    assert model.index(row, 1).data() == "No"
    assert model.index(row, 2).data() == "Missing function: core_user_create_users"
    step = model.index(0, 0, model.index(row, 0))
    assert step.data(DoctorReportModel.StepRole) and "Add core_user_create_users to the service" in step.data()
    assert "1 of" in report_headline(report)[0]


def test_connection_with_a_limited_token_says_not_a_site_administrator(qtbot, controller, server):
    kind, _name, report = _run_test(qtbot, controller, ConnectionSettings("Lim", server.url),
                                    server.limited_token)
    assert kind == "ok" and not report.site.is_site_admin
    model = DoctorReportModel()
    model.set_report(report)
    reasons = [model.index(r, 2).data() for r in range(model.rowCount())]
    assert any("is not a site administrator" in r for r in reasons)
    assert dict(report_summary(report))["Site administrator"].startswith("No")


def test_connection_with_a_wrong_token_fails_with_invalidtoken(qtbot, controller, server):
    kind, name, err = _run_test(qtbot, controller, ConnectionSettings("New", server.url), "0" * 32)
    assert (kind, name) == ("failed", "New") and isinstance(err, AuthExpired) and err.code == "invalidtoken"
    assert "0" * 32 not in str(err)


def test_connection_needs_a_token(controller, server):
    with pytest.raises(TokenMissing) as info:
        controller.test_connection(ConnectionSettings("New", server.url))
    assert info.value.field == "token"
    with pytest.raises(InvalidProfileValue) as bad_url:
        controller.test_connection(ConnectionSettings("New", "http://moodle.example.edu"), "abc")
    assert bad_url.value.field == "url"


def test_a_saved_token_is_never_sent_to_another_host(controller, server):
    controller.add("Prod", server.url)
    controller.set_token("Prod", server.admin_token)
    with pytest.raises(TokenMissing):  # the form now points elsewhere: no stored token for it
        controller.test_connection(ConnectionSettings("Prod", "https://elsewhere.example.edu"))


def test_unreachable_site_fails_quickly(qtbot, controller):
    kind, _name, err = _run_test(qtbot, controller, ConnectionSettings("X", "http://127.0.0.1:9"), "abc123")
    assert kind == "failed" and err.hint


def test_sign_in_returns_the_existing_admin_token_to_the_controller_only(qtbot, caplog, controller, server,
                                                                          memory_keyring, config_dir, data_dir):
    caplog.set_level(logging.DEBUG)
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT_MS) as blocker:
        controller.sign_in(server.url, "admin", "Admin#2024")
    assert blocker.args == [False]  # held until the profile is saved; the view never gets it
    assert controller.has_pending_token(server.url + "/")
    controller.add("Prod", server.url)
    controller.set_token("Prod", None)
    assert memory_keyring.passwords == {("lms-console", "Prod"): server.admin_token}
    assert not controller.has_pending_token(server.url)
    # Signed in again for the saved profile: stored at once.
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT_MS) as again:
        controller.sign_in(server.url, "admin", "Admin#2024", profile="Prod")
    assert again.args == [True]
    for secret in ("Admin#2024", server.admin_token):
        assert secret not in caplog.text and secret not in _everything_written(config_dir, data_dir)


def test_sign_in_refused_for_a_user_without_a_token(qtbot, controller, server, seeded_user):
    with qtbot.waitSignal(controller.sign_in_failed, timeout=WAIT_MS) as blocker:
        controller.sign_in(server.url, seeded_user, "Sandbox#2024")
    err = blocker.args[0]
    assert isinstance(err, PermissionDenied) and err.code == "cannotcreatetoken"
    assert "Sandbox#2024" not in str(err) and not controller.has_pending_token(server.url)
    with qtbot.waitSignal(controller.sign_in_failed, timeout=WAIT_MS) as wrong:
        controller.sign_in(server.url, "admin", "not-the-password")
    assert wrong.args[0].code == "invalidlogin" and "not-the-password" not in wrong.args[0].describe()


def test_sign_in_checks_its_input_first(controller):
    for args, field in ((("http://moodle.example.edu", "a", "b"), "url"), (("https://a.example", " ", "b"), "username"),
                        (("https://a.example", "a", ""), "password")):
        with pytest.raises(InvalidProfileValue) as info:
            controller.sign_in(*args)
        assert info.value.field == field


def test_form_check_and_notes_speak_plainly(controller, server):
    controller.add("Prod", server.url)
    check = controller.check_form("", "http://moodle.example.edu", False, "lms_console", "two words")
    assert set(check.errors) == {"name", "url", "token"} and check.plain_http_remote
    allowed = controller.check_form("X", "http://moodle.example.edu", True, "lms_console")
    assert not allowed.errors and "sent over plain HTTP to moodle.example.edu" in allowed.insecure_warning
    moving = controller.check_form("Prod", "https://elsewhere.example.edu", False, "lms_console", editing="Prod")
    assert moving.moves_host and "token is forgotten" in moving.url_note
    assert controller.check_form("X", "HTTPS://A.Example/", False, "x").url_note == "Will be saved as https://a.example"
    assert controller.token_note("Prod", server.url)[0].startswith("No token stored yet")
    assert controller.token_note(None, server.url)[1] == "Paste the web service token"
    assert controller.initial_profile() == "Prod"
    assert "never creates tokens" in explain_sign_in_failure(PermissionDenied("x", code="cannotcreatetoken"))
    assert explain_sign_in_failure(AuthExpired("Bad", code="other", hint="Do this.")) == "Bad. Do this."


# -- the open profile, no keychain, no cache ---------------------------------------------------------------


def test_removing_the_open_profile_asks_to_close_it_before_anything_is_deleted(qtbot, controller, store, server):
    controller.add("Prod", server.url)
    controller.add("Other", server.url)
    controller.set_open_profile("Prod")
    assert controller.is_open("prod") and not controller.is_open("Other")
    seen = []
    controller.profile_closing.connect(lambda name: seen.append((name, store.exists(name))))
    controller.remove("Other")
    assert seen == []  # not the open one: nothing to close
    with qtbot.waitSignal(controller.profile_closing):
        controller.remove("Prod")
    assert seen == [("Prod", True)]  # asked while the profile (and its cache) still existed
    assert not store.exists("Prod")


def test_moving_the_open_profile_to_another_site_closes_it_and_sets_its_copy_aside(qtbot, controller, store,
                                                                                   server, memory_keyring):
    from lms_console.services.cache.db import CacheDb
    from lms_console.services.cache.writer import CacheWriter
    from lms_console.services.lms.base import SiteInfo

    profile = controller.add("Prod", server.url)
    with CacheDb.open(profile.cache_path) as db, CacheWriter(db) as w:
        w.save_site_info(SiteInfo(1, "Prod", server.url, "5.2", "2025", 2, "admin", "Admin", True, frozenset(),
                                  True, True, 0, 0))
    controller.set_open_profile("Prod")
    seen = []
    controller.profile_closing.connect(lambda name: seen.append((name, profile.cache_path.exists())))
    controller.update("Prod", url=server.url + "/", insecure=False)  # the same address: stays open
    assert seen == [] and controller.set_aside_note() == ""
    controller.update("Prod", url="https://elsewhere.example.edu", insecure=False)
    assert seen == [("Prod", True)]  # closed while its copy was still in place
    assert not profile.cache_path.exists() and f"of another site ({server.url})" in controller.set_aside_note()


def test_token_notes_without_a_keychain_say_the_token_is_for_this_session_only(controller, server):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    note, _placeholder = controller.token_note(None, server.url)
    assert note == ("No OS keychain on this computer: the token is kept for this session only, never in the "
                    "profiles file.")
    assert "Kept in your OS keychain" not in note
    controller.add("Headless", server.url)
    saved, _placeholder = controller.token_note("Headless", server.url)
    assert saved.startswith("No token for this session yet: this computer has no OS keychain")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_answer_promises_the_cache_only_when_there_is_one(qtbot, controller, store, server, synced_template):
    dead = f"http://127.0.0.1:{_closed_port()}"
    profile = controller.add("Down", dead)
    controller.set_token("Down", server.admin_token)
    assert not controller.has_synced_cache("Down")
    with qtbot.waitSignal(controller.connection_test_failed, timeout=WAIT_MS) as failed:
        controller.test_connection("Down")
    assert failed.args[1].hint and "cache" not in failed.args[1].hint.lower()
    # With a synced cache the console does keep working from it: then it says so.
    profile.cache_path.parent.mkdir(parents=True, exist_ok=True)
    synced_template(server, profile.cache_path, entities=("users",))
    assert controller.has_synced_cache("Down")
    with qtbot.waitSignal(controller.connection_test_failed, timeout=WAIT_MS) as failed:
        controller.test_connection("Down")
    assert "keeps working from its cache" in failed.args[1].hint
