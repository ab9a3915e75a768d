"""Connection profiles: validation, URL rules, the JSON file, removal with token and cache."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from pathlib import Path

import keyring
import platformdirs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from keyring.backends import fail

from lms_console.services import profiles as profiles_mod
from lms_console.services.cache.site_binding import cached_site_url, set_aside_message
from lms_console.services.credentials import KEYRING_SERVICE, KeyringTokenStore, MemoryTokenStore, Secret
from lms_console.services.lms.errors import LmsError
from lms_console.services.profile_rules import is_loopback_host, normalise_url, validate_name
from lms_console.services.profiles import (
    DuplicateProfile,
    InvalidProfileValue,
    Profile,
    ProfileError,
    ProfileNotFound,
    ProfileStore,
    cache_filename,
    config_dir,
    data_dir,
)

TOKEN = "0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self, now: float = 1_700_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def tokens() -> KeyringTokenStore:
    return KeyringTokenStore()  # the pinned in-memory keyring from conftest


@pytest.fixture
def store(config_dir, data_dir, tokens) -> ProfileStore:
    return ProfileStore(config_dir, data_dir, tokens=tokens, clock=Clock())


# -- directories -----------------------------------------------------------------


def test_dirs_come_from_env_overrides_or_platformdirs(tmp_path):
    env = {"LMS_CONSOLE_CONFIG_DIR": str(tmp_path / "c"), "LMS_CONSOLE_DATA_DIR": str(tmp_path / "d")}
    assert config_dir(env) == tmp_path / "c" and data_dir(env) == tmp_path / "d"
    assert config_dir({}) == Path(platformdirs.user_config_dir("lms-console"))
    assert data_dir({"LMS_CONSOLE_DATA_DIR": " "}) == Path(platformdirs.user_data_dir("lms-console"))


def test_store_without_arguments_uses_the_environment(config_dir, data_dir, memory_keyring):
    store = ProfileStore()
    assert store.path == config_dir / "profiles.json" and store.data_dir == data_dir
    assert isinstance(store.tokens, KeyringTokenStore)


# -- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("https://moodle.example.edu", "https://moodle.example.edu"),
    ("  HTTPS://Moodle.Example.EDU/  ", "https://moodle.example.edu"),
    ("https://example.edu:443/moodle//", "https://example.edu/moodle"),
    ("https://example.edu:8443/a/b/", "https://example.edu:8443/a/b"),
    ("http://localhost:80/", "http://localhost"),
    ("http://[::1]:8080/x/", "http://[::1]:8080/x"),
])
def test_urls_are_normalised(raw, expected):
    assert normalise_url(raw) == expected


@pytest.mark.parametrize("raw, words", [
    ("", "empty"),
    ("moodle.example.edu", "did you mean 'https://moodle.example.edu'"),
    ("ftp://example.edu", "must start with https://"),
    ("https://", "no host"),
    ("https://example.edu/login?next=1", "query or fragment"),
    ("https://example.edu/#top", "query or fragment"),
    ("https://example.edu:99999", "not valid"),
    # A page copied from the browser or the web-service docs: the root it starts from is suggested.
    ("http://127.0.0.1:8080/webservice/rest/server.php", "not its address; give the address its pages start "
                                                         "from (http://127.0.0.1:8080)."),
    ("https://lms.example.edu/moodle/login/index.php", "(https://lms.example.edu/moodle)."),
    ("https://lms.example.edu/moodle/user/profile.php", "(perhaps https://lms.example.edu/moodle/user)."),
])
def test_bad_urls_are_refused_with_the_reason(raw, words):
    with pytest.raises(InvalidProfileValue) as info:
        normalise_url(raw)
    assert words in str(info.value) and info.value.field == "url"


@pytest.mark.parametrize("raw", [
    f"https://moodle.example.edu/webservice/rest/server.php?wstoken={TOKEN}",
    f"https://admin:{TOKEN}@moodle.example.edu",
])
def test_url_errors_never_repeat_secrets(raw):
    with pytest.raises(InvalidProfileValue) as info:
        normalise_url(raw)
    assert TOKEN not in str(info.value) and "moodle.example.edu" in str(info.value)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "::1", "[::1]"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "128.0.0.1", "localhost.example.com", "example.edu", "::2"])
def test_non_loopback_hosts(host):
    assert not is_loopback_host(host)


def test_plain_http_needs_loopback_or_explicit_insecure(store):
    assert store.add("lab", "http://127.0.0.1:8000").security_warning is None
    assert store.add("lab6", "http://[::1]:8000", insecure=True).insecure is False  # not needed, not recorded
    with pytest.raises(InvalidProfileValue) as info:
        store.add("lan", "http://10.0.0.7/moodle")
    assert "--insecure" in str(info.value) and "10.0.0.7" in str(info.value)
    lan = store.add("lan", "http://10.0.0.7/moodle", insecure=True)
    assert lan.insecure and lan.security_warning == "Insecure: token sent over plain HTTP to 10.0.0.7"
    assert store.get("lan").security_warning == lan.security_warning  # survives the file
    assert lan.verify_tls is True


def test_insecure_never_applies_to_https(store):
    with pytest.raises(InvalidProfileValue, match="certificate checks are never turned off"):
        store.add("prod", "https://moodle.example.edu", insecure=True)


# -- names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod", "Campus Moodle", "Ünïversität-2 (test)", "a", "x" * 64, "a.b@c+d_e"])
def test_good_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name, words", [
    ("", "empty"), ("   ", "empty"), (" prod", "space"), ("prod ", "space"), ("-prod", "start with"),
    ("a/b", "'/'"), ("a\\b", "'\\\\'"), ("a\nb", "'\\n'"), ("..", "start with"), ("x" * 65, "longer than 64"),
])
def test_bad_names_say_what_is_wrong(store, name, words):
    with pytest.raises(InvalidProfileValue) as info:
        store.add(name, "https://moodle.example.edu")
    assert words in str(info.value) and info.value.field == "name"
    assert not store.path.exists()


def test_names_are_unique_ignoring_case_and_found_ignoring_case(store):
    store.add("Prod", "https://a.example.edu")
    with pytest.raises(DuplicateProfile, match="'Prod' already exists"):
        store.add("PROD", "https://b.example.edu")
    assert store.get("prod").name == "Prod"
    with pytest.raises(ProfileNotFound) as info:
        store.get("staging")
    assert "'staging'" in str(info.value) and "Prod" in str(info.value)
    assert isinstance(info.value, LmsError)


# -- cache files ----------------------------------------------------------------------


def test_cache_file_lives_in_the_data_dir(store, data_dir):
    p = store.add("Campus Moodle", "https://moodle.example.edu")
    assert p.cache_path.parent == data_dir and p.cache_path.suffix == ".sqlite"
    assert p.cache_path.name.startswith("campus-moodle-")


@given(st.text(min_size=1, max_size=64))
def test_cache_filenames_are_safe_for_any_valid_name(name):
    try:
        name = validate_name(name)
    except InvalidProfileValue:
        return
    filename = cache_filename(name)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*-[0-9a-f]{8}\.sqlite", filename), filename
    for variant in (name.upper(), name.lower(), name.swapcase()):
        if variant.casefold() == name.casefold():  # the same profile name as far as the store is concerned
            assert cache_filename(variant) == filename


def _synced_copy(profile, siteurl: str) -> None:
    """A cache file for ``profile`` as a sync of the site at ``siteurl`` leaves it (its site_info row)."""
    from lms_console.services.cache.db import CacheDb
    from lms_console.services.cache.writer import CacheWriter
    from lms_console.services.lms.base import SiteInfo

    with CacheDb.open(profile.cache_path) as db, CacheWriter(db) as w:
        w.save_site_info(SiteInfo(1, "Old", siteurl, "5.2", "2025", 2, "admin", "Admin", True, frozenset(), True,
                                  True, 0, 0))


def test_a_new_profile_never_opens_another_sites_copy_left_under_its_name(store):
    """Removed with its cache kept, then the name reused for another site: the old copy's ids are another
    site's people (a suspension planned from it hit whoever had that id on the new site)."""
    old = store.add("site1", "http://127.0.0.1:18701")
    _synced_copy(old, "http://127.0.0.1:18701")
    store.remove("site1")  # the cache is kept by default
    again = store.add("site1", "http://127.0.0.1:18702")
    assert again.cache_path == old.cache_path and not again.cache_path.exists()
    moved, other = store.set_aside
    assert other == "http://127.0.0.1:18701" and moved.exists() and moved.parent == old.cache_path.parent
    assert "other-site" in moved.name and "set aside" in set_aside_message(store.set_aside)
    store.remove("site1")
    _synced_copy(again, "http://127.0.0.1:18702/")  # the same site again (a trailing slash): kept
    assert store.add("SITE1", "http://127.0.0.1:18702").cache_path.exists() and store.set_aside is None


def test_moving_a_profile_to_another_site_sets_its_copy_aside_unless_it_is_the_same_site(store):
    p = store.add("campus", "https://moodle.example.edu")
    _synced_copy(p, "https://moodle.example.edu")
    store.update("campus", service="moodle_mobile_app")  # no address change: nothing moves
    assert store.set_aside is None and p.cache_path.exists()
    store.update("campus", url="https://MOODLE.example.edu:443/", keep_token_on_host_change=True)
    assert store.set_aside is None and p.cache_path.exists()  # the same site written another way
    store.update("campus", url="https://demo.example.edu", keep_token_on_host_change=True, same_site=True)
    assert store.set_aside is None and p.cache_path.exists()  # the caller knows it is the same site (the demo)
    store.update("campus", url="https://other.example.edu")
    assert store.set_aside is not None and not p.cache_path.exists()
    assert cached_site_url(store.set_aside[0]) == "https://moodle.example.edu"


def test_a_copy_never_synced_is_not_set_aside(store):
    from lms_console.services.cache.db import CacheDb

    p = store.add("fresh", "https://a.example.edu")
    CacheDb.open(p.cache_path).close()  # opened, never synced: no site in it
    store.update("fresh", url="https://b.example.edu")
    assert store.set_aside is None and p.cache_path.exists()


def test_similar_names_get_different_cache_files():
    names = ["a b", "a-b", "a_b", "A.B", "ä b"]
    assert len({cache_filename(n) for n in names}) == len(names)


# -- the file ------------------------------------------------------------------------


def test_file_is_versioned_private_and_holds_no_token(store, tokens, memory_keyring):
    p = store.add("prod", "https://moodle.example.edu")
    tokens.set(p, Secret(TOKEN))
    store.set_last_used("prod")
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600
    text = store.path.read_text()
    assert TOKEN not in text
    doc = json.loads(text)
    assert doc["version"] == 1 and doc["last_used"] == "prod"
    assert doc["profiles"][0]["url"] == "https://moodle.example.edu"
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "prod"): TOKEN}
    assert sorted(os.listdir(store.config_dir)) == ["profiles.json", "profiles.json.lock"]


def test_a_failed_write_leaves_the_old_file_whole(store, monkeypatch):
    store.add("prod", "https://moodle.example.edu")
    before = store.path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(profiles_mod.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.add("staging", "https://staging.example.edu")
    assert store.path.read_bytes() == before
    assert sorted(os.listdir(store.config_dir)) == ["profiles.json", "profiles.json.lock"]


@pytest.mark.parametrize("content, words", [
    ("{not json", "not valid JSON"),
    ('{"version": 1}', "no 'profiles' list"),
    ('{"version": 99, "profiles": []}', "newer lms-console"),
    ('{"version": 1, "profiles": [{"name": "x"}]}', "profile #1 is broken"),
    ('{"version": 1, "profiles": [{"name": "x", "url": "http://10.1.1.1"}]}', "plain http"),
])
def test_damaged_files_give_clear_errors_and_are_not_overwritten(store, content, words):
    store.config_dir.mkdir(parents=True)
    store.path.write_text(content)
    with pytest.raises(ProfileError) as info:
        store.list()
    assert words in str(info.value) and str(store.path) in str(info.value)
    with pytest.raises(ProfileError):
        store.add("new", "https://example.edu")
    assert store.path.read_text() == content


def test_two_stores_see_each_other_and_concurrent_adds_are_not_lost(config_dir, data_dir):
    def add_many(prefix):
        s = ProfileStore(config_dir, data_dir, tokens=MemoryTokenStore())
        for i in range(10):
            s.add(f"{prefix}{i}", f"https://{prefix}{i}.example.edu")

    threads = [threading.Thread(target=add_many, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ProfileStore(config_dir, data_dir, tokens=MemoryTokenStore()).list()) == 40


# -- update, last used, remove -----------------------------------------------------------


def test_list_is_sorted_and_last_used_is_remembered(store):
    assert store.list() == [] and store.last_used() is None
    for name in ("b", "C", "a"):
        store.add(name, f"https://{name}.example.edu")
    assert [p.name for p in store.list()] == ["a", "b", "C"]
    used = store.set_last_used("c")
    assert used.last_used > used.created
    assert store.last_used().name == "C"
    store.remove("C")
    assert store.last_used() is None


def test_update_keeps_the_token_on_the_same_host(store, tokens):
    store.add("prod", "https://moodle.example.edu")
    tokens.set("prod", TOKEN)
    p = store.update("prod", url="https://moodle.example.edu/moodle/", service="custom_service")
    assert p.url == "https://moodle.example.edu/moodle" and p.service == "custom_service"
    assert store.get("prod") == p and tokens.get("prod") == Secret(TOKEN)


def test_update_to_another_host_drops_the_token_unless_kept(store, tokens):
    store.add("prod", "https://old.example.edu")
    tokens.set("prod", TOKEN)
    store.update("prod", url="https://new.example.edu", keep_token_on_host_change=True)
    assert tokens.get("prod") == Secret(TOKEN)
    store.update("prod", url="https://other.example.edu")
    assert tokens.get("prod") is None


@pytest.mark.parametrize("old, new, kept", [
    ("http://127.0.0.1:38617", "http://127.0.0.1:18233", False),  # another port: perhaps another site
    ("https://moodle.example.edu", "https://moodle.example.edu:8443", False),
    ("https://moodle.example.edu", "https://Moodle.example.edu:443/lms/", True),  # the same server, a path fixed
    ("http://moodle.example.edu", "https://moodle.example.edu", True),  # moved to TLS at the default ports
    ("http://127.0.0.1:8080", "https://127.0.0.1:8443", False),
])
def test_a_token_never_follows_the_profile_to_another_port(store, tokens, old, new, kept):
    store.add("prod", old, insecure=old.startswith("http:") and "127.0.0.1" not in old)
    tokens.set("prod", TOKEN)
    store.update("prod", url=new)
    assert (tokens.get("prod") == Secret(TOKEN)) is kept


def test_update_follows_the_http_rules(store):
    store.add("lan", "http://10.0.0.7", insecure=True)
    assert store.update("lan", url="https://10.0.0.7").insecure is False  # https drops the consent
    with pytest.raises(InvalidProfileValue):
        store.update("lan", url="http://10.0.0.8")
    with pytest.raises(ProfileNotFound, match=r"No profile named 'nope' \(known profiles: lan\)"):
        store.update("nope", url="https://x.example.edu")
    with pytest.raises(ProfileNotFound, match=r"known profiles: lan\)"):
        store.set_last_used("nope")


def test_remove_deletes_token_and_optionally_the_cache(store, tokens, memory_keyring):
    a = store.add("a", "https://a.example.edu")
    b = store.add("b", "https://b.example.edu")
    tokens.set(a, TOKEN)
    tokens.set(b, TOKEN)
    for p in (a, b):
        p.cache_path.parent.mkdir(parents=True, exist_ok=True)
        p.cache_path.write_bytes(b"SQLite format 3\x00")
        p.cache_path.with_name(p.cache_path.name + "-wal").write_bytes(b"")
    report = store.remove("A")
    assert report.token_removed and not report.cache_removed and report.notes == ()
    assert a.cache_path.exists()
    report = store.remove("b", delete_cache=True)
    assert report.cache_removed and not b.cache_path.exists()
    assert not b.cache_path.with_name(b.cache_path.name + "-wal").exists()
    assert memory_keyring.passwords == {} and store.list() == []
    with pytest.raises(ProfileNotFound, match=r"No profile named 'a' \(known profiles: none\)"):
        store.remove("a")


def test_remove_without_keychain_still_removes_and_says_so(store):
    store.add("prod", "https://moodle.example.edu")
    keyring.set_keyring(fail.Keyring())
    report = store.remove("prod")
    assert report.token_removed is None and "keyring del lms-console 'prod'" in report.notes[0]
    assert store.list() == []


def test_profile_objects_are_frozen_and_normalise_themselves():
    p = Profile("prod", "HTTPS://Moodle.Example.edu/")
    assert p.url == "https://moodle.example.edu" and p.host == "moodle.example.edu"
    with pytest.raises(AttributeError):
        p.url = "https://evil.example.com"  # type: ignore[misc]
    with pytest.raises(InvalidProfileValue, match="not supported"):
        Profile("prod", "https://x.example.edu", backend="blackboard")
    with pytest.raises(InvalidProfileValue, match="Service short name"):
        Profile("prod", "https://x.example.edu", service="has space")
