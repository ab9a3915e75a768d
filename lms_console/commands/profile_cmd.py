"""``lms-console profile``: add, change, list, show and remove connection profiles; store a token.

Tokens are read from the terminal with echo off (``getpass``) or, with
``--token-stdin``, from standard input; never from the command line, where
they would land in shell history and the process list.

Without an OS keychain (headless machine, SSH), ``profile add`` refuses to
store the token and explains; ``--session-only`` saves the profile without a
token, and each later run takes it from ``$LMS_CONSOLE_TOKEN``. ``set-token``
then has nowhere to store a token and says to use that variable instead.

``profile update`` changes a profile's address or service with the rules of the desktop's Profiles
dialog (both through :meth:`ProfileStore.update`): moving it to another host or port forgets its
token, and a local copy of another site is set aside (or one of the new address put back).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shlex
import sys
import time

from lms_console.commands import UsageError, profile_store
from lms_console.services.cache.site_binding import set_aside_message
from lms_console.services.credentials import (
    TOKEN_ENV,
    TOKEN_PROFILE_ENV,
    CredentialError,
    KeychainUnavailable,
    Secret,
    TokenStore,
    check_token,
    has_token,
)
from lms_console.services.profile_rules import token_may_follow
from lms_console.services.profiles import DEFAULT_SERVICE, Profile
from lms_console.services.units import human_size

MAX_TOKEN_INPUT = 64 * 1024
_NO_KEYCHAIN_HINT = (
    "Re-run with --session-only to save the profile without storing the token, and give the token "
    f"at run time through the {TOKEN_ENV} environment variable.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="profile_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="add a connection profile and store its token in the OS keychain",
                         description="Add a connection profile. The token is asked for on the terminal "
                                     "(input hidden) or read from standard input with --token-stdin.")
    add.add_argument("name", metavar="NAME", help="a short name for the site, e.g. 'prod' or 'Campus Moodle'")
    add.add_argument("--url", required=True, help="the site's address, e.g. https://moodle.example.edu")
    add.add_argument("--insecure", action="store_true",
                     help="allow plain http:// to a host that is not this machine (the token travels "
                          "unencrypted; certificate checks are never turned off)")
    add.add_argument("--service", default=DEFAULT_SERVICE, metavar="SHORTNAME",
                     help=f"the site's external service short name (default: {DEFAULT_SERVICE})")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    how.add_argument("--session-only", action="store_true",
                     help=f"store no token; every run takes it from ${TOKEN_ENV} (for machines without a keychain)")

    up = sub.add_parser("update", help="change a profile's address or service (and its token)",
                        description="Change a saved profile. Moving it to another host or port forgets its "
                                    "token (a token is only ever sent to the site it was made for): give the "
                                    "new site's token with --token-stdin, or store it later with set-token.")
    up.add_argument("name", metavar="NAME")
    up.add_argument("--url", help="the site's new address, e.g. https://moodle.example.edu")
    up.add_argument("--insecure", action="store_true",
                    help="allow plain http:// to a host that is not this machine; needed again with every "
                         "new http:// --url")
    up.add_argument("--service", metavar="SHORTNAME", help="the site's external service short name")
    up.add_argument("--token-stdin", action="store_true", help="also store a new token, read from standard input")

    st = sub.add_parser("set-token", help="store (or replace) the token of a profile")
    st.add_argument("name", metavar="NAME")
    st.add_argument("--token-stdin", action="store_true", help="read the token from standard input")

    ls = sub.add_parser("list", help="list profiles")
    ls.add_argument("--json", action="store_true", help="machine-readable output")

    sh = sub.add_parser("show", help="show one profile")
    sh.add_argument("name", metavar="NAME")
    sh.add_argument("--json", action="store_true", help="machine-readable output")

    rm = sub.add_parser("remove", help="remove a profile and its stored token")
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("--delete-cache", action="store_true", help="also delete the profile's local cache file")


def run(args: argparse.Namespace) -> int:
    store = profile_store()
    action = {"add": _add, "update": _update, "set-token": _set_token, "list": _list, "show": _show,
              "remove": _remove}
    return action[args.profile_command](args, store)


# ---------------------------------------------------------------------------


def _add(args, store) -> int:
    profile = store.build(args.name, args.url, insecure=args.insecure, service=args.service)
    store.check_new(profile.name)
    if profile.security_warning:
        _warn(profile.security_warning)
    if args.session_only:
        store.add(profile.name, profile.url, insecure=profile.insecure, service=profile.service)
        print(f"Profile {profile.name!r} saved ({profile.url}) without a stored token.")
        _say_set_aside(store, profile.name)
        print(f"Give the token at run time: {TOKEN_ENV}=... lms-console ... "
              f"(optionally {TOKEN_PROFILE_ENV}={profile.name} to use it for this profile only).")
        return 0
    tokens = store.tokens
    _require_keychain(tokens)
    token = _read_token(args, profile.name)
    try:
        tokens.set(profile, token)
    except KeychainUnavailable as exc:
        raise KeychainUnavailable(exc.message, hint=_NO_KEYCHAIN_HINT) from None
    try:
        store.add(profile.name, profile.url, insecure=profile.insecure, service=profile.service)
    except BaseException:
        with contextlib.suppress(CredentialError):
            tokens.delete(profile)
        raise
    print(f"Profile {profile.name!r} saved ({profile.url}); token stored in {tokens.backend_name()}.")
    _say_set_aside(store, profile.name)
    return 0


def _say_set_aside(store, name: str) -> None:
    note = set_aside_message(store.set_aside, store.put_back)
    if note:
        print(note)
    # Saving asks nothing of the site (a wrong port, token or address shows only later): say how to check now.
    print(f"Check the connection now: lms-console doctor -p {shlex.quote(name)}")


def _set_token_hint(name: str) -> str:
    # set-token has no --session-only: a CLI process ends with the command, so a token kept "for this
    # session" would be forgotten at once. The environment variable is the session-only way here.
    return (f"Nothing was stored. Give the token to each run instead: {TOKEN_ENV}=... lms-console sync -p {name} "
            f"(add {TOKEN_PROFILE_ENV}={name} to use it for this profile only); or start and unlock an OS "
            "keychain (GNOME Keyring, KWallet) and run set-token again.")


def _set_token(args, store) -> int:
    profile = store.get(args.name)
    _require_keychain(store.tokens, hint=_set_token_hint(profile.name))
    token = _read_token(args, profile.name)
    try:
        store.tokens.set(profile, token)
    except KeychainUnavailable as exc:
        raise KeychainUnavailable(exc.message, hint=_set_token_hint(profile.name)) from None
    print(f"Token for profile {profile.name!r} stored in {store.tokens.backend_name()}.")
    return 0


def _update(args, store) -> int:
    old = store.get(args.name)
    if args.url is None and args.service is None and not args.insecure and not args.token_stdin:
        raise UsageError(f"Nothing to change for profile {old.name!r}: give --url, --service, --insecure or "
                         "--token-stdin.")
    # Consent to plain HTTP goes with the address it was given for: a new --url needs --insecure again.
    insecure = args.insecure if args.url is not None else (True if args.insecure else None)
    new = store.build(old.name, old.url if args.url is None else args.url,
                      insecure=old.insecure if insecure is None else insecure,
                      service=old.service if args.service is None else args.service)  # checks every value
    changed = (new.url, new.insecure, new.service) != (old.url, old.insecure, old.service)
    if not changed and not args.token_stdin:  # already so: a script that runs again is not an error
        print(f"Nothing to change: profile {old.name!r} already has the address {old.url} and the service "
              f"{old.service}.")
        return 0
    token = None
    if args.token_stdin:
        _require_keychain(store.tokens, hint=_set_token_hint(old.name))
        token = _read_token(args, old.name)
    moves = not token_may_follow(old.url, new.url)
    had_token = moves and has_token(store.tokens, old)
    profile = old
    if changed:
        profile = store.update(old.name, url=None if args.url is None else new.url, insecure=insecure,
                               service=args.service)
        print(f"Profile {profile.name!r} updated: {_changes(old, profile)}.")
    if profile.security_warning:
        _warn(profile.security_warning)
    if had_token:
        print(f"Its token was deleted from {store.tokens.backend_name()}: {profile.url} is on another host or port, "
              "and a token is only ever sent to the site it was made for.")
    if token is not None:
        _store_new_token(store, profile, token)
    elif moves:
        print(_new_site_token_hint(store.tokens, profile.name))
    _say_set_aside(store, profile.name)
    return 0


def _store_new_token(store, profile: Profile, token: Secret) -> None:
    try:
        store.tokens.set(profile, token)
    except CredentialError as exc:
        exc.message = f"The profile was changed, but not its token: {exc.message}"
        exc.hint = _set_token_hint(profile.name)
        raise
    print(f"Token for profile {profile.name!r} stored in {store.tokens.backend_name()}.")


def _new_site_token_hint(tokens: TokenStore, name: str) -> str:
    if tokens.available():
        return f"Store the new site's token: lms-console profile set-token {shlex.quote(name)} --token-stdin"
    return (f"Give the new site's token at run time: {TOKEN_ENV}=... lms-console ... "
            f"(optionally {TOKEN_PROFILE_ENV}={name} to use it for this profile only).")


def _changes(old: Profile, new: Profile) -> str:
    """What changed between two versions of a profile, in words."""
    said = [f"{label} {before} -> {after}" for label, before, after in (
        ("address", old.url, new.url), ("service", old.service, new.service),
        ("plain HTTP allowed", _yes_no(old.insecure), _yes_no(new.insecure))) if before != after]
    return "; ".join(said)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _list(args, store) -> int:
    profiles = store.list()
    tokens = store.tokens
    rows = [(p, _token_state(tokens, p)) for p in profiles]
    if args.json:
        print(json.dumps([_as_json(p, state) for p, state in rows], indent=2, ensure_ascii=False))
        return 0
    if not profiles:
        print("No profiles yet. Add one with: lms-console profile add NAME --url https://moodle.example.edu")
        return 0
    table = [("NAME", "URL", "BACKEND", "INSECURE", "TOKEN", "LAST USED")]
    for p, state in rows:
        table.append((p.name, p.url, p.backend, "INSECURE" if p.insecure else "no", state, _when(p.last_used)))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    for p, _state in rows:
        if p.security_warning:
            _warn(f"{p.name}: {p.security_warning}")
    if any(state == "?" for _p, state in rows):
        print(f"TOKEN '?': no OS keychain is available here; set {TOKEN_ENV} at run time.", file=sys.stderr)
    return 0


def _show(args, store) -> int:
    p = store.get(args.name)
    state = _token_state(store.tokens, p)
    if args.json:
        print(json.dumps(_as_json(p, state), indent=2, ensure_ascii=False))
        return 0
    token_text = {
        "yes": f"stored in {store.tokens.backend_name()}",
        "no": "not stored",
        "env": f"not stored; ${TOKEN_ENV} is set and will be used",
        "?": f"unknown: no OS keychain is available here; set ${TOKEN_ENV} at run time",
    }[state]
    if p.cache_path.exists():
        cache_text = f"{p.cache_path} ({human_size(p.cache_path.stat().st_size)})"
    else:
        cache_text = f"{p.cache_path} (not created yet)"
    if p.security_warning:
        transport = p.security_warning
    elif p.url.startswith("https://"):
        transport = "encrypted (https, certificate always checked)"
    else:
        transport = "plain http to this machine only (loopback)"
    lines = [
        ("name", p.name), ("url", p.url), ("backend", p.backend), ("service", p.service),
        ("transport", transport),
        ("token", token_text), ("cache", cache_text),
        ("created", _when(p.created)), ("last used", _when(p.last_used)),
    ]
    for key, value in lines:
        print(f"{key + ':':<11}{value}")
    if p.security_warning:
        _warn(p.security_warning)
    return 0


def _remove(args, store) -> int:
    report = store.remove(args.name, delete_cache=args.delete_cache)
    p = report.profile
    print(f"Removed profile {p.name!r} ({p.url}).")
    if report.token_removed:
        print(f"Its token (if any) was deleted from {store.tokens.backend_name()}.")
    if args.delete_cache:
        print(f"Cache {'deleted' if report.cache_removed else 'was not there'}: {p.cache_path}")
    elif p.cache_path.exists():
        print(f"Cache kept: {p.cache_path} (use --delete-cache to delete it).")
    for note in report.notes:  # the profile is gone either way; say what could not be cleaned up
        _warn(note)
    return 0


# ---------------------------------------------------------------------------


def _require_keychain(tokens: TokenStore, hint: str = _NO_KEYCHAIN_HINT) -> None:
    if not tokens.available():
        raise KeychainUnavailable(hint=hint)


def _read_token(args, name: str) -> Secret:
    if getattr(args, "token_stdin", False):
        raw = sys.stdin.read(MAX_TOKEN_INPUT + 1)
        if len(raw) > MAX_TOKEN_INPUT:
            raise UsageError("The input on stdin is too long to be a token.")
        if raw.strip().count("\n"):
            raise UsageError("Standard input holds several lines; pipe in only the token.")
        return check_token(raw)
    if not sys.stdin.isatty():
        raise UsageError("No terminal to ask for the token on; pipe it in with --token-stdin.")
    return check_token(getpass.getpass(f"Token for {name} (input hidden): "))


def _token_state(tokens: TokenStore, profile: Profile) -> str:
    stored = has_token(tokens, profile)
    if stored:
        return "yes"
    scope = os.environ.get(TOKEN_PROFILE_ENV, "").strip()
    env_applies = bool(os.environ.get(TOKEN_ENV)) and (not scope or scope.casefold() == profile.name.casefold())
    if env_applies:
        return "env"
    return "no" if stored is False else "?"


def _as_json(p: Profile, token_state: str) -> dict:
    data = p.to_json()
    data.update(token=token_state, security_warning=p.security_warning, cache_path=str(p.cache_path))
    return data


def _when(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


def _warn(text: str) -> None:
    print(f"WARNING: {text}", file=sys.stderr)
