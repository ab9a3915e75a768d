"""Token stores: keychain, memory, session fallback; Secret; resolve_token; a real Secret Service."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import keyring
import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked

from lms_console.services.credentials import (
    KEYRING_SERVICE,
    TOKEN_ENV,
    TOKEN_PROFILE_ENV,
    CredentialError,
    InvalidToken,
    KeychainLocked,
    KeychainUnavailable,
    KeyringTokenStore,
    MemoryTokenStore,
    Secret,
    SessionFallbackTokenStore,
    TokenMissing,
    TokenStore,
    check_token,
    has_token,
    resolve_token,
)
from lms_console.services.lms.errors import LmsError
from lms_console.services.profiles import Profile

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def no_keychain():
    """keyring as on a headless machine: the fail backend."""
    keyring.set_keyring(fail.Keyring())


# -- Secret ------------------------------------------------------------------


def test_secret_never_shows_its_value(caplog):
    s = Secret(TOKEN)
    assert repr(s) == str(s) == f"{s}" == "Secret('***')"
    assert "%s" % s == "Secret('***')"
    assert s.reveal() == TOKEN
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("token is %s / %r", s, s)
    assert TOKEN not in caplog.text
    assert TOKEN not in str(ValueError("bad", s))
    assert TOKEN not in repr({"token": s})


def test_secret_compares_by_value_and_is_not_hashable_or_picklable():
    assert Secret(TOKEN) == Secret(TOKEN)
    assert Secret(TOKEN) != Secret("other")
    assert Secret(TOKEN) != TOKEN  # a Secret is not a str
    assert Secret(Secret(TOKEN)).reveal() == TOKEN
    assert not Secret("") and Secret("x")
    with pytest.raises(TypeError):
        hash(Secret(TOKEN))
    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["  abc\n", "abc\r\n", "\tabc"])
def test_check_token_strips_surrounding_whitespace(raw):
    assert check_token(raw).reveal() == "abc"


@pytest.mark.parametrize("raw, words", [
    ("", "empty"), ("   \n", "empty"), ("abc def", "spaces"), ("abc\ndef", "line breaks"),
    ("abc\x00def", "control"),
])
def test_check_token_rejects_broken_tokens_without_echoing_them(raw, words):
    with pytest.raises(InvalidToken) as info:
        check_token(raw)
    assert words in str(info.value)
    if raw.strip():
        assert raw.strip() not in str(info.value)


# -- MemoryTokenStore ----------------------------------------------------------


def test_memory_store_round_trip_by_name_or_profile():
    store = MemoryTokenStore()
    profile = Profile("prod", "https://moodle.example.edu")
    assert isinstance(store, TokenStore) and store.available()
    assert store.get(profile) is None
    store.set(profile, TOKEN + "\n")
    assert store.get("prod") == Secret(TOKEN)
    assert TOKEN not in repr(store)
    store.delete("prod")
    store.delete("prod")  # twice is fine
    assert store.get(profile) is None


# -- KeyringTokenStore ---------------------------------------------------------


def test_keyring_store_uses_service_and_profile_name(memory_keyring):
    store = KeyringTokenStore()
    assert store.available()
    store.set("Campus Moodle", Secret(TOKEN))
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "Campus Moodle"): TOKEN}
    got = store.get("Campus Moodle")
    assert isinstance(got, Secret) and got.reveal() == TOKEN
    assert store.get("other") is None
    store.delete("Campus Moodle")
    store.delete("Campus Moodle")  # nothing there: no error
    assert memory_keyring.passwords == {}


def test_keyring_store_with_pinned_backend_ignores_the_global_one(memory_keyring):
    own = type(memory_keyring)()
    KeyringTokenStore(service="svc", backend=own).set("p", "t")
    assert own.passwords == {("svc", "p"): "t"}
    assert memory_keyring.passwords == {}


def test_no_keychain_is_said_clearly_and_nothing_is_written(no_keychain, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    store = KeyringTokenStore()
    assert not store.available()
    assert "no OS keychain" in store.backend_name()
    for op in (lambda: store.set("p", Secret(TOKEN)), lambda: store.get("p"), lambda: store.delete("p")):
        with pytest.raises(KeychainUnavailable) as info:
            op()
        text = info.value.describe()
        assert "Secret Service" in text and "this session only" in text and TOKEN_ENV in text
        assert TOKEN not in text
    assert not (tmp_path / "home").exists() and not (tmp_path / "xdg").exists()  # no plaintext fallback


def test_null_keyring_and_empty_chainer_count_as_no_keychain(monkeypatch):
    assert not KeyringTokenStore(backend=null.Keyring()).available()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    empty = KeyringTokenStore(backend=chainer.ChainerBackend())
    assert not empty.available()
    with pytest.raises(KeychainUnavailable):
        empty.set("p", TOKEN)  # an empty chainer would silently drop it


def test_chainer_with_a_real_backend_is_usable(monkeypatch, memory_keyring):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [memory_keyring])
    store = KeyringTokenStore(backend=chainer.ChainerBackend())
    assert store.available()
    store.set("p", TOKEN)
    assert store.get("p") == Secret(TOKEN)


def test_backend_failures_become_credential_errors_without_the_token(memory_keyring, monkeypatch):
    def locked(*a):
        raise KeyringLocked("Failed to unlock the collection!")

    def leaky(service, username, password):
        raise OSError(f"D-Bus said no to {password}")

    store = KeyringTokenStore()
    monkeypatch.setattr(memory_keyring, "get_password", locked)
    with pytest.raises(KeychainLocked, match="locked"):
        store.get("p")
    monkeypatch.setattr(memory_keyring, "set_password", leaky)
    with pytest.raises(CredentialError) as info:
        store.set("p", TOKEN)
    assert TOKEN not in str(info.value) and "***" in str(info.value)
    assert isinstance(info.value, LmsError)  # an expected problem, not a crash


# -- SessionFallbackTokenStore -------------------------------------------------


def test_session_fallback_without_keychain(no_keychain):
    store = SessionFallbackTokenStore()
    assert not store.available()
    with pytest.raises(KeychainUnavailable):
        store.set("p", TOKEN)
    with pytest.raises(KeychainUnavailable):
        store.get("p")
    store.set("p", TOKEN, session_only=True)  # the user opted in
    assert store.get("p") == Secret(TOKEN) and store.is_session_only("p")
    with pytest.raises(KeychainUnavailable):
        store.delete("p")
    assert not store.is_session_only("p")  # the session copy is gone anyway


def test_session_fallback_prefers_the_keychain_when_there_is_one(memory_keyring):
    store = SessionFallbackTokenStore()
    store.set("p", "session-token", session_only=True)
    store.set("p", TOKEN)
    assert not store.is_session_only("p")
    assert store.get("p") == Secret(TOKEN)
    store.delete("p")
    assert store.get("p") is None and memory_keyring.passwords == {}


def test_has_token():
    store = MemoryTokenStore()
    assert has_token(store, "p") is False
    store.set("p", TOKEN)
    assert has_token(store, "p") is True
    keyring.set_keyring(fail.Keyring())
    assert has_token(KeyringTokenStore(), "p") is None


# -- resolve_token -------------------------------------------------------------


def test_resolve_prefers_the_stored_token():
    store = MemoryTokenStore()
    store.set("prod", TOKEN)
    assert resolve_token("prod", store, {TOKEN_ENV: "from-env"}) == Secret(TOKEN)


def test_resolve_falls_back_to_the_environment(no_keychain):
    assert resolve_token("prod", MemoryTokenStore(), {TOKEN_ENV: " envtok\n"}) == Secret("envtok")
    assert resolve_token("prod", KeyringTokenStore(), {TOKEN_ENV: "envtok"}) == Secret("envtok")


def test_resolve_respects_the_profile_scope_of_the_environment_token():
    env = {TOKEN_ENV: "envtok", TOKEN_PROFILE_ENV: "Staging"}
    assert resolve_token("staging", MemoryTokenStore(), env) == Secret("envtok")
    with pytest.raises(TokenMissing) as info:
        resolve_token("prod", MemoryTokenStore(), env)
    assert "'Staging'" in str(info.value) and "envtok" not in str(info.value)
    # the variable IS set: the hint says how to let it through, not to set it
    assert f"{TOKEN_PROFILE_ENV}=prod" in info.value.hint and f"set {TOKEN_ENV} for" not in info.value.hint


def test_a_scoped_environment_token_without_a_keychain_says_how_to_let_it_through(no_keychain):
    with pytest.raises(KeychainUnavailable) as info:
        resolve_token("prod", KeyringTokenStore(), {TOKEN_ENV: "envtok", TOKEN_PROFILE_ENV: "staging"})
    assert info.value.hint == f"Set {TOKEN_PROFILE_ENV}=prod if {TOKEN_ENV} is this site's token."


def test_resolve_errors_say_what_to_do(no_keychain):
    with pytest.raises(TokenMissing) as info:
        resolve_token("prod", MemoryTokenStore(), {})
    assert "'prod'" in str(info.value) and "set-token prod" in info.value.hint
    with pytest.raises(KeychainUnavailable) as info:
        resolve_token("prod", KeyringTokenStore(), {})
    assert "'prod'" in str(info.value) and TOKEN_ENV in info.value.hint
    with pytest.raises(InvalidToken) as info:
        resolve_token("prod", MemoryTokenStore(), {TOKEN_ENV: "two words"})
    assert TOKEN_ENV in str(info.value) and "two words" not in str(info.value)


# -- a real Secret Service -------------------------------------------------------

_SECRET_SERVICE_SCRIPT = textwrap.dedent("""
    import sys
    from lms_console.services.credentials import KeyringTokenStore, Secret
    store = KeyringTokenStore(service=sys.argv[1])
    assert store.available(), store.backend_name()
    token = sys.stdin.read()
    store.set("itest", Secret(token))
    assert store.get("itest").reveal() == token, "read back a different token"
    store.delete("itest")
    assert store.get("itest") is None, "token still there after delete"
    print("OK", store.backend_name())
""")


@pytest.mark.secret_service
def test_keyring_store_against_a_real_secret_service(tmp_path):
    """Store, read and delete in GNOME Keyring on a private D-Bus session (never the user's own)."""
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(tool) is None]
    if missing:
        reason = (f"needs {' and '.join(missing)} for a private Secret Service "
                  "(apt-get install gnome-keyring dbus dbus-x11; ./dev test installs them)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"), "LANG": "C.UTF-8",
        # Pin the real backend: neither this process's test keyring nor a keyringrc can interfere.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
    }
    starter = 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"'
    service = f"lms-console-test-{uuid.uuid4().hex[:8]}"
    cmd = ["dbus-run-session", "--", "sh", "-c", starter, "sh",
           sys.executable, "-c", _SECRET_SERVICE_SCRIPT, service]
    proc = subprocess.run(cmd, input=TOKEN, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("OK Secret Service"), proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr
    assert TOKEN not in " ".join(cmd)
    assert not any(Path(home).rglob("*.json")), "nothing but the keyring's own files may be written"
