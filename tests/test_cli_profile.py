"""``lms-console profile ...`` run as a real process, plus the CLI's dispatch rules in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from lms_console import cli
from lms_console.commands import UsageError
from lms_console.services.credentials import Secret, TokenMissing
from lms_console.services.profiles import (
    DuplicateProfile,
    InvalidProfileValue,
    ProfileNotFound,
)

TOKEN = "f00dbabe0123456789abcdef01234567"
TESTS_DIR = Path(__file__).resolve().parent
SCRIPT = Path(sys.executable).with_name("lms-console")


class Console:
    """Runs ``lms-console`` with its own config/data dirs and a keyring that tests can look into."""

    def __init__(self, tmp_path: Path, keychain: bool = True) -> None:
        self.config = tmp_path / "config"
        self.data = tmp_path / "data"
        self.keyring_file = tmp_path / "keyring.json"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("LMS_CONSOLE_", "PYTHON_KEYRING", "DBUS_"))}
        self.env.update(
            LMS_CONSOLE_CONFIG_DIR=str(self.config), LMS_CONSOLE_DATA_DIR=str(self.data),
            LMS_CONSOLE_TEST_KEYRING_FILE=str(self.keyring_file),
            PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])),
            PYTHON_KEYRING_BACKEND="conftest_keyring.FileKeyring" if keychain else "keyring.backends.fail.Keyring",
        )
        self.outputs: list[str] = []
        self.argvs: list[list[str]] = []

    def __call__(self, *args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "lms_console"]
        argv = [*command, *args]
        proc = subprocess.run(
            argv, input=stdin, stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True, text=True, env={**self.env, **(env or {})}, timeout=60)
        self.argvs.append(argv)
        self.outputs += [proc.stdout, proc.stderr]
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def stored_tokens(self) -> dict:
        return json.loads(self.keyring_file.read_text()) if self.keyring_file.exists() else {}

    def assert_token_never_leaked(self, token: str = TOKEN) -> None:
        for text in self.outputs:
            assert token not in text
        for argv in self.argvs:
            assert token not in " ".join(argv)
        for path in [*self.config.rglob("*"), *self.data.rglob("*")]:
            if path.is_file():
                assert token.encode() not in path.read_bytes(), path


@pytest.fixture
def console(tmp_path) -> Console:
    return Console(tmp_path)


def test_add_list_show_remove_with_a_keychain(console):
    r = console("profile", "add", "prod", "--url", "https://Moodle.Example.edu/", "--token-stdin",
                stdin=TOKEN + "\n")
    assert r.returncode == 0, r.stderr
    assert "saved (https://moodle.example.edu)" in r.stdout
    assert "Check the connection now: lms-console doctor -p prod" in r.stdout  # saving asked nothing of the site
    assert console.stored_tokens() == {"lms-console\x00prod": TOKEN}

    r = console("profile", "list")
    assert r.returncode == 0
    header, row = r.stdout.splitlines()
    assert header.split() == ["NAME", "URL", "BACKEND", "INSECURE", "TOKEN", "LAST", "USED"]
    assert row.split() == ["prod", "https://moodle.example.edu", "moodle", "no", "yes", "never"]

    r = console("profile", "show", "PROD")
    assert r.returncode == 0 and "token:     stored in conftest_keyring.FileKeyring" in r.stdout
    assert "certificate always checked" in r.stdout
    shown = json.loads(console("profile", "show", "prod", "--json").stdout)
    assert shown["token"] == "yes" and shown["security_warning"] is None

    r = console("profile", "remove", "prod")
    assert r.returncode == 0 and "Removed profile 'prod'" in r.stdout
    assert console.stored_tokens() == {}
    assert "No profiles yet" in console("profile", "list").stdout
    assert json.loads(console("profile", "list", "--json").stdout) == []
    console.assert_token_never_leaked()


def test_token_is_never_read_from_a_non_terminal_without_token_stdin(console):
    r = console("profile", "add", "prod", "--url", "https://moodle.example.edu")
    assert r.returncode == 2 and "--token-stdin" in r.stderr
    assert not (console.config / "profiles.json").exists()


@pytest.mark.parametrize("stdin, words", [("", "empty"), ("a\nb\n", "several lines"), ("a b", "spaces")])
def test_bad_token_input_is_refused(console, stdin, words):
    r = console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--token-stdin", stdin=stdin)
    assert r.returncode == 2 and words in r.stderr
    assert console.stored_tokens() == {} and not (console.config / "profiles.json").exists()


def test_user_errors_are_one_clear_line(console):
    r = console("profile", "add", "prod", "--url", "moodle.example.edu", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == ("lms-console: error: URL 'moodle.example.edu' has no scheme; "
                                        "did you mean 'https://moodle.example.edu'?")
    r = console("profile", "add", "bad/name", "--url", "https://x.example.edu", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 2 and "Profile name 'bad/name' contains '/'" in r.stderr
    r = console("profile", "show", "nope")
    assert r.returncode == 2 and "No profile named 'nope'" in r.stderr  # a bad value, like any other: 2
    r = console("profile", "frobnicate")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    console.assert_token_never_leaked()


def test_duplicates_fail_and_keep_the_first_token(console):
    assert console("profile", "add", "prod", "--url", "https://a.example.edu", "--token-stdin",
                   stdin=TOKEN).returncode == 0
    r = console("profile", "add", "Prod", "--url", "https://b.example.edu", "--token-stdin", stdin="other")
    assert r.returncode == 2 and "'prod' already exists" in r.stderr
    assert console.stored_tokens() == {"lms-console\x00prod": TOKEN}


def test_plain_http_is_refused_or_flagged(console):
    r = console("profile", "add", "lan", "--url", "http://10.0.0.7", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 2 and "--insecure" in r.stderr
    r = console("profile", "add", "lan", "--url", "http://10.0.0.7", "--insecure", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 0 and "Insecure: token sent over plain HTTP to 10.0.0.7" in r.stderr
    r = console("profile", "list")
    assert "INSECURE" in r.stdout and "Insecure: token sent over plain HTTP to 10.0.0.7" in r.stderr
    assert "Insecure: token sent over plain HTTP" in console("profile", "show", "lan").stdout
    r = console("profile", "add", "dev", "--url", "http://localhost:8000", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 0 and "Insecure" not in r.stderr


def test_set_token_replaces_the_stored_token(console):
    console("profile", "add", "prod", "--url", "https://a.example.edu", "--token-stdin", stdin="first")
    r = console("profile", "set-token", "prod", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 0 and console.stored_tokens() == {"lms-console\x00prod": TOKEN}
    assert console("profile", "set-token", "nope", "--token-stdin", stdin=TOKEN).returncode == 2
    console.assert_token_never_leaked()


def test_remove_with_delete_cache(console):
    console("profile", "add", "prod", "--url", "https://a.example.edu", "--token-stdin", stdin=TOKEN)
    cache = Path(json.loads(console("profile", "show", "prod", "--json").stdout)["cache_path"])
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"SQLite format 3\x00" + bytes(300_000 - 16))
    shown = console("profile", "show", "prod").stdout
    assert f"{cache} (293 KiB)" in shown, shown  # the size as everywhere else in the console
    r = console("profile", "remove", "prod")
    assert "Cache kept" in r.stdout and cache.exists()
    console("profile", "add", "prod", "--url", "https://a.example.edu", "--token-stdin", stdin=TOKEN)
    r = console("profile", "remove", "prod", "--delete-cache")
    assert r.returncode == 0 and "Cache deleted" in r.stdout and not cache.exists()


def test_without_a_keychain_the_console_explains_and_offers_session_only(tmp_path):
    console = Console(tmp_path, keychain=False)
    r = console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 1
    assert "No OS keychain is available" in r.stderr and "Secret Service" in r.stderr
    assert "--session-only" in r.stderr and "LMS_CONSOLE_TOKEN" in r.stderr
    assert not (console.config / "profiles.json").exists()  # nothing half-done

    r = console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--session-only")
    assert r.returncode == 0 and "without a stored token" in r.stdout and "LMS_CONSOLE_TOKEN" in r.stdout
    r = console("profile", "list")
    assert r.returncode == 0 and r.stdout.splitlines()[1].split()[4] == "?"
    r = console("profile", "list", env={"LMS_CONSOLE_TOKEN": TOKEN})
    assert r.stdout.splitlines()[1].split()[4] == "env"
    r = console("profile", "remove", "prod")
    assert r.returncode == 0 and "could not be deleted" in r.stderr
    assert not console.keyring_file.exists()  # no plaintext fallback anywhere
    console.assert_token_never_leaked()


def test_set_token_without_a_keychain_gives_a_hint_that_set_token_can_follow(tmp_path):
    console = Console(tmp_path, keychain=False)
    assert console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--session-only").returncode == 0
    r = console("profile", "set-token", "prod", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 1 and "No OS keychain is available" in r.stderr
    assert "--session-only" not in r.stderr  # set-token has no such option
    assert "LMS_CONSOLE_TOKEN=... lms-console sync -p prod" in r.stderr and "LMS_CONSOLE_TOKEN_PROFILE=prod" in r.stderr
    assert "keychain" in r.stderr.splitlines()[-1] and "Nothing was stored" in r.stderr
    assert not console.keyring_file.exists()
    console.assert_token_never_leaked()


def test_unknown_profiles_and_taken_names_are_usage_errors_for_every_command(console):
    console("profile", "add", "prod", "--url", "https://a.example.edu", "--token-stdin", stdin=TOKEN)
    for args in (["doctor", "-p", "nosuch"], ["sync", "-p", "nosuch"], ["journal", "-p", "nosuch"],
                 ["report", "completion", "-p", "nosuch"], ["profile", "remove", "nosuch"]):
        r = console(*args, env={"LMS_CONSOLE_TOKEN": TOKEN})
        assert r.returncode == 2, (args, r.stderr)
        assert "No profile named 'nosuch' (known profiles: prod)" in r.stderr, args
    r = console("profile", "add", "PROD", "--url", "https://b.example.edu", "--session-only")
    assert r.returncode == 2 and "A profile named 'prod' already exists" in r.stderr
    console.assert_token_never_leaked()


def test_session_only_and_token_stdin_exclude_each_other(console):
    r = console("profile", "add", "p", "--url", "https://x.example.edu", "--session-only", "--token-stdin",
                stdin=TOKEN)
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_version_and_help(console):
    r = console("--version")
    assert r.returncode == 0 and r.stdout.startswith("lms-console ")
    r = console("--help")
    assert r.returncode == 0
    for name in ("profile", "doctor", "sync", "sandbox", "apply", "journal", "report"):
        assert name in r.stdout


# -- in-process: dispatch, GUI launch, lazy commands, exit codes ------------------------------


def test_no_subcommand_opens_the_gui_with_the_parsed_arguments(monkeypatch):
    seen = []
    fake = types.ModuleType("fake_app")
    fake.main = lambda args: seen.append(args) or 0
    monkeypatch.setitem(sys.modules, "lms_console._fake_app", fake)
    monkeypatch.setattr(cli, "GUI_MODULE", "lms_console._fake_app")
    assert cli.main(["--demo"]) == 0
    assert seen[0].demo is True and seen[0].command is None


def test_opening_the_window_builds_no_command_parser_but_errors_still_list_the_commands(monkeypatch, capsys):
    built = []
    real = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda *a, **kw: built.append(kw.get("with_commands")) or real(*a, **kw))
    fake = types.ModuleType("fake_app")
    seen = []
    monkeypatch.setitem(sys.modules, "lms_console._fake_app", fake)
    monkeypatch.setattr(cli, "GUI_MODULE", "lms_console._fake_app")
    fake.main = lambda args: seen.append(vars(args)) or 0
    assert cli.main([]) == 0 and cli.main(["--demo"]) == 0
    assert built == [False]  # none at all for no arguments; the short one for window flags
    assert seen[0] == cli.NO_ARGUMENTS == {k: v for k, v in vars(real().parse_args([])).items() if k != "_run"}
    assert seen[1] == {**cli.NO_ARGUMENTS, "demo": True}
    assert cli.main(["--bogus"]) == 2  # not a window flag: the whole parser, whose usage names COMMAND
    assert built[-1] is True and "COMMAND" in capsys.readouterr().err


def test_missing_gui_module_is_a_clear_message(monkeypatch, capsys):
    monkeypatch.setattr(cli, "GUI_MODULE", "lms_console._no_such_app")
    assert cli.main([]) == 2
    assert "desktop window is not available" in capsys.readouterr().err


def _fake_command_module(behaviour):
    module = types.ModuleType("fake_cmd")
    module.add_arguments = lambda parser: parser.add_argument("--flag", action="store_true")
    module.run = behaviour
    return module


@pytest.mark.parametrize("behaviour, code, words", [
    (lambda args: 0, 0, ""),
    (lambda args: 1, 1, ""),
    (lambda args: (_ for _ in ()).throw(UsageError("--flag needs a friend")), 2, "--flag needs a friend"),
    (lambda args: (_ for _ in ()).throw(InvalidProfileValue("bad url")), 2, "bad url"),
    (lambda args: (_ for _ in ()).throw(TokenMissing("No token stored for profile 'p'.", hint="do X")), 1,
     "No token stored for profile 'p'."),
    (lambda args: (_ for _ in ()).throw(ProfileNotFound("No profile named 'x'.")), 2, "No profile named 'x'."),
    (lambda args: (_ for _ in ()).throw(DuplicateProfile("A profile named 'x' already exists.")), 2, "already exists"),
])
def test_registered_commands_run_and_map_errors_to_exit_codes(monkeypatch, capsys, behaviour, code, words):
    monkeypatch.setitem(sys.modules, "lms_console._fake_cmd", _fake_command_module(behaviour))
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, cli.Command("fake", "lms_console._fake_cmd", "a fake")))
    assert cli.main(["-v", "fake", "--flag"]) == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_missing_command_module_is_a_clear_message(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", (cli.Command("ghost", "lms_console._ghost.cli", "not written yet"),))
    assert cli.main(["ghost", "--anything", "x"]) == 2
    err = capsys.readouterr().err
    assert "'ghost' command is not available" in err and "lms_console._ghost.cli" in err


def test_only_the_selected_command_module_is_imported(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, cli.Command("ghost", "lms_console._ghost", "x")))
    parser = cli.build_parser("profile")  # the ghost is listed but never imported
    assert parser.parse_args(["profile", "list"]).profile_command == "list"


def test_resolve_token_is_available_from_the_cli_module(monkeypatch):
    from lms_console.services.credentials import MemoryTokenStore

    assert cli.resolve_token("p", MemoryTokenStore(), {"LMS_CONSOLE_TOKEN": TOKEN}) == Secret(TOKEN)


# -- the README's setup list is the feature map ------------------------------------------------


def test_readme_lists_exactly_the_functions_of_the_feature_map():
    import re

    from lms_console.services.lms.base import FEATURES

    readme = (TESTS_DIR.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Prepare a real Moodle site once", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`((?:core|enrol|gradereport|local)_[a-z_]+)`", section))
    wanted = {f for feature in FEATURES for f in (*feature.functions, *feature.optional_functions)}
    assert listed == wanted, f"missing: {sorted(wanted - listed)}, extra: {sorted(listed - wanted)}"
    for feature in FEATURES:
        assert f"**{feature.title}" in section, feature.title


def test_a_profile_added_again_for_a_site_set_aside_before_gets_its_copy_back(console):
    from lms_console.services.cache.db import CacheDb
    from lms_console.services.cache.writer import CacheWriter
    from lms_console.services.lms.base import SiteInfo
    from lms_console.services.profiles import cache_filename

    campus = "https://moodle.example.edu"
    copy = console.data / cache_filename("campus")
    copy.parent.mkdir(parents=True)
    with CacheDb.open(copy) as db, CacheWriter(db) as w:  # left by a profile "campus" removed with its cache kept
        w.save_site_info(SiteInfo(1, "Campus", campus, "5.2", "2025", 2, "admin", "Admin", True, frozenset(), True,
                                  True, 0, 0))
    r = console("profile", "add", "campus", "--url", "https://other.example.edu", "--session-only")
    assert r.returncode == 0 and "it was set aside as" in r.stdout
    assert console("profile", "remove", "campus").returncode == 0
    r = console("profile", "add", "campus", "--url", campus, "--session-only")
    assert r.returncode == 0, r.stderr
    assert f"The local copy of {campus} set aside on " in r.stdout and "was put back" in r.stdout
    assert copy.exists() and not list(copy.parent.glob(f"{copy.stem}.other-site-*"))


# -- profile update ------------------------------------------------------------------------------------------


NEW_TOKEN = "0123456789abcdef0123456789abcdef"


def test_update_changes_the_service_and_a_path_on_the_same_host_keeping_the_token(console):
    console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--token-stdin", stdin=TOKEN)
    r = console("profile", "update", "prod", "--service", "admin_tools")
    assert r.returncode == 0, r.stderr
    assert "Profile 'prod' updated: service lms_console -> admin_tools." in r.stdout
    r = console("profile", "update", "PROD", "--url", "https://Moodle.example.edu/lms/")  # the address corrected
    assert r.returncode == 0, r.stderr
    assert "address https://moodle.example.edu -> https://moodle.example.edu/lms" in r.stdout
    assert "token" not in r.stdout  # nothing to say about it: it may follow
    shown = json.loads(console("profile", "show", "prod", "--json").stdout)
    assert (shown["url"], shown["service"], shown["token"]) == ("https://moodle.example.edu/lms", "admin_tools", "yes")
    assert console.stored_tokens() == {"lms-console\x00prod": TOKEN}
    console.assert_token_never_leaked()


@pytest.mark.parametrize("url", ["https://other.example.edu", "https://moodle.example.edu:8443"])
def test_update_to_another_host_or_port_forgets_the_token(console, url):
    console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--token-stdin", stdin=TOKEN)
    r = console("profile", "update", "prod", "--url", url)
    assert r.returncode == 0, r.stderr
    assert f"Its token was deleted from conftest_keyring.FileKeyring: {url} is on another host or port" in r.stdout
    assert "lms-console profile set-token prod --token-stdin" in r.stdout
    assert console.stored_tokens() == {}
    assert json.loads(console("profile", "show", "prod", "--json").stdout)["token"] == "no"
    console.assert_token_never_leaked()


def test_update_to_another_host_with_a_new_token_stores_it_for_the_new_site(console):
    console("profile", "add", "lan", "--url", "https://moodle.example.edu", "--token-stdin", stdin=TOKEN)
    r = console("profile", "update", "lan", "--url", "http://10.0.0.7", "--token-stdin", stdin=NEW_TOKEN)
    assert r.returncode == 2 and "--insecure" in r.stderr  # plain HTTP needs consent, as for add
    assert console.stored_tokens() == {"lms-console\x00lan": TOKEN}  # nothing half-done
    r = console("profile", "update", "lan", "--url", "http://10.0.0.7", "--insecure", "--token-stdin",
                stdin=NEW_TOKEN + "\n")
    assert r.returncode == 0, r.stderr
    assert "plain HTTP allowed no -> yes" in r.stdout and "Insecure: token sent over plain HTTP to 10.0.0.7" in r.stderr
    assert "Token for profile 'lan' stored" in r.stdout and "set-token" not in r.stdout
    assert console.stored_tokens() == {"lms-console\x00lan": NEW_TOKEN}
    r = console("profile", "update", "lan", "--url", "https://moodle.example.edu")  # back to https: consent dropped
    assert r.returncode == 0 and "plain HTTP allowed yes -> no" in r.stdout
    assert console.stored_tokens() == {}
    console.assert_token_never_leaked(NEW_TOKEN)


def test_update_with_only_a_token_replaces_it(console):
    console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--token-stdin", stdin=TOKEN)
    r = console("profile", "update", "prod", "--token-stdin", stdin=NEW_TOKEN)
    assert r.returncode == 0 and "updated" not in r.stdout and "Token for profile 'prod' stored" in r.stdout
    assert console.stored_tokens() == {"lms-console\x00prod": NEW_TOKEN}


def test_update_errors_are_one_clear_line_and_change_nothing(console):
    console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--token-stdin", stdin=TOKEN)
    before = (console.config / "profiles.json").read_bytes()
    cases = [
        (["nosuch", "--url", "https://x.example.edu"], "No profile named 'nosuch' (known profiles: prod)."),
        (["prod", "--url", "moodle.other.edu"],
         "URL 'moodle.other.edu' has no scheme; did you mean 'https://moodle.other.edu'?"),
        (["prod", "--service", "no spaces"], "Service short name 'no spaces' is not valid"),
        (["prod"], "Nothing to change for profile 'prod': give --url, --service, --insecure or --token-stdin."),
        (["prod", "--insecure"], ("insecure only permits plain http:// to a non-local host; "
                                  "https://moodle.example.edu is already https")),
    ]
    for args, words in cases:
        r = console("profile", "update", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.splitlines()[0].startswith(f"lms-console: error: {words}"), (args, r.stderr)
    r = console("profile", "update", "prod", "--url", "https://MOODLE.example.edu/")  # already so: said, not an error
    assert r.returncode == 0 and r.stdout.startswith("Nothing to change: profile 'prod' already has the address "
                                                     "https://moodle.example.edu and the service lms_console."), r
    r = console("profile", "update", "prod", "--url", "https://other.example.edu", "--token-stdin", stdin="two words")
    assert r.returncode == 2 and "spaces" in r.stderr  # the token is checked before anything changes
    assert (console.config / "profiles.json").read_bytes() == before
    assert console.stored_tokens() == {"lms-console\x00prod": TOKEN}


def test_update_without_a_keychain_says_how_to_give_the_new_sites_token(tmp_path):
    console = Console(tmp_path, keychain=False)
    console("profile", "add", "prod", "--url", "https://moodle.example.edu", "--session-only")
    r = console("profile", "update", "prod", "--url", "https://other.example.edu", "--token-stdin", stdin=TOKEN)
    assert r.returncode == 1 and "No OS keychain is available" in r.stderr and "Nothing was stored" in r.stderr
    assert json.loads(console("profile", "show", "prod", "--json").stdout)["url"] == "https://moodle.example.edu"
    r = console("profile", "update", "prod", "--url", "https://other.example.edu")
    assert r.returncode == 0, r.stderr
    assert "deleted" not in r.stdout and "LMS_CONSOLE_TOKEN=... lms-console" in r.stdout
    console.assert_token_never_leaked()


def test_update_sets_aside_the_local_copy_of_the_old_site_and_puts_it_back(console):
    from lms_console.services.cache.db import CacheDb
    from lms_console.services.cache.writer import CacheWriter
    from lms_console.services.lms.base import SiteInfo
    from lms_console.services.profiles import cache_filename

    campus = "https://moodle.example.edu"
    console("profile", "add", "campus", "--url", campus, "--token-stdin", stdin=TOKEN)
    copy = console.data / cache_filename("campus")
    copy.parent.mkdir(parents=True, exist_ok=True)
    with CacheDb.open(copy) as db, CacheWriter(db) as w:  # a synced copy of the campus site
        w.save_site_info(SiteInfo(1, "Campus", campus, "5.2", "2025", 2, "admin", "Admin", True, frozenset(), True,
                                  True, 0, 0))
    r = console("profile", "update", "campus", "--url", "https://other.example.edu")
    assert r.returncode == 0, r.stderr
    assert f"The local copy kept under this name was of another site ({campus}): it was set aside as" in r.stdout
    assert not copy.exists() and len(list(copy.parent.glob(f"{copy.stem}.other-site-*"))) == 1
    r = console("profile", "update", "campus", "--url", campus)  # the address corrected back
    assert r.returncode == 0, r.stderr
    assert f"The local copy of {campus} set aside on " in r.stdout and "was put back" in r.stdout
    assert copy.exists() and not list(copy.parent.glob(f"{copy.stem}.other-site-*"))
    console.assert_token_never_leaked()
