"""Subcommands of ``lms-console``, one module each, registered in :data:`lms_console.cli.COMMANDS`.

A command module provides two functions::

    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...     # 0 ok, 1 failure, 2 usage error

``run`` raises :class:`UsageError` for a bad combination of arguments and lets
:class:`~lms_console.services.lms.errors.LmsError` subclasses (including
profile and credential errors) propagate: ``cli.main`` prints them as one line
plus a hint, never a traceback. The helpers below give every command the same
profile option, stores and token lookup.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Mapping

from lms_console.services.credentials import (
    KeyringTokenStore,
    Secret,
    TokenStore,
    resolve_token,
)
from lms_console.services.profiles import Profile, ProfileError, ProfileStore

log = logging.getLogger(__name__)


class UsageError(Exception):
    """The arguments do not make sense together; exit code 2."""


def token_store() -> TokenStore:
    """The OS keychain (whatever ``keyring`` detects; ``PYTHON_KEYRING_BACKEND`` overrides it)."""
    return KeyringTokenStore()


def profile_store(tokens: TokenStore | None = None) -> ProfileStore:
    """Profiles in ``$LMS_CONSOLE_CONFIG_DIR`` (or the user config dir), caches in the data dir."""
    return ProfileStore(tokens=tokens if tokens is not None else token_store())


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """``-p/--profile NAME``; without it the most recently used profile is taken."""
    parser.add_argument("-p", "--profile", metavar="NAME",
                        help="connection profile to use (default: the one used last)")


def load_profile(store: ProfileStore, name: str | None) -> Profile:
    if name:
        return store.get(name)
    last = store.last_used()
    if last is not None:
        return last
    profiles = store.list()
    if len(profiles) == 1:
        return profiles[0]
    if not profiles:
        raise ProfileError("No connection profile yet: add one with `lms-console profile add NAME --url URL`.")
    raise UsageError("Several profiles exist and none was used yet: choose one with --profile NAME.")


def profile_and_token(name: str | None, *, env: Mapping[str, str] | None = None,
                      store: ProfileStore | None = None) -> tuple[Profile, Secret]:
    """The profile (``--profile`` or last used) and its token (keychain, else ``$LMS_CONSOLE_TOKEN``)."""
    store = store if store is not None else profile_store()
    profile = load_profile(store, name)
    return profile, resolve_token(profile, store.tokens, os.environ if env is None else env)


def record_use(store: ProfileStore, profile: Profile) -> None:
    """Remember ``profile`` as the last used one, so the next command without ``-p`` takes it.

    Called once a command that worked on the profile succeeded. Failing to write this down
    (profile removed meanwhile, read-only config folder) never fails the command itself.
    """
    try:
        store.set_last_used(profile.name)
    except (ProfileError, OSError) as exc:
        log.info("could not record %r as the last used profile: %s", profile.name, exc)


def check_output_path(path: str | Path, option: str) -> None:
    """Refuse, before any work, a file that cannot be written: its folder is missing, not a
    folder or not writable, or the path is itself a folder. Raises :class:`UsageError`."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise UsageError(f"{option} {str(path)!r}: the folder {str(folder)!r} does not exist; create it first "
                         "or choose another place.")
    if not folder.is_dir():
        raise UsageError(f"{option} {str(path)!r}: {str(folder)!r} is a file, not a folder.")
    if target.is_dir():
        raise UsageError(f"{option} {str(path)!r} is a folder; give a file name inside it.")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{option} {str(path)!r}: cannot write there (permission denied); choose another place.")
