"""Which site a profile's local copy belongs to.

A profile's cache file is named after the profile. When a profile is removed without its cache and
another profile of the same name is added for another site, or a profile's address is changed to
another site, the file would otherwise be opened for the new site: every id in it (users, courses,
cohorts) is the old site's, so a change planned from it reaches whoever has that id on the new site.
Before a profile is (re)bound to an address, a cache holding another site's data is set aside
(renamed, never deleted: its journal is the audit trail of what was done to that site).
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SIDE_FILES = ("-wal", "-shm", "-journal")


def site_key(url: str) -> str:
    """``url`` reduced to what identifies a site: scheme, host and port (default ports left out) and the
    path without its trailing slash, all in lower case."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/').lower()}"


def cached_site_url(path: Path) -> str | None:
    """The site address the cache at ``path`` was filled from (its ``site_info``), or None when it has none
    (no file, never synced, or not readable: then there is nothing of another site to protect)."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT siteurl FROM site_info LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row and row[0] else None


class SetAside(NamedTuple):
    """A local copy of another site to set aside: where it is, where it goes, the site it holds."""

    source: Path
    target: Path
    other: str


def plan_set_aside(path: Path, url: str, *, clock=time.time) -> SetAside | None:
    """Where the cache at ``path`` goes when it holds another site's data than ``url``'s (nothing is moved);
    None when the cache is absent, empty or of this site."""
    other = cached_site_url(path)
    if other is None or site_key(other) == site_key(url):
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    return SetAside(path, _free_name(path, f"{path.stem}.other-site-{stamp}"), other)


def _free_name(path: Path, stem: str) -> Path:
    target, n = path.with_name(f"{stem}{path.suffix}"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{stem}-{n}{path.suffix}")
    return target


def in_use(path: Path) -> bool:
    """Whether a connection (of this process or another) still has the SQLite file at ``path`` open.

    The caches are in WAL mode, where the last connection to close folds the -wal file into the database
    and deletes it: a connection of our own that closes and leaves the -wal behind was not the last one."""
    if not path.with_name(path.name + "-wal").exists():
        return False  # no WAL-mode connection has it open (each keeps the -wal while open)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=2)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return True  # cannot tell: as if it were
    return path.with_name(path.name + "-wal").exists()


def move_aside(plan: SetAside, *, wait_s: float = 0.0, anyway: bool = False) -> Path | None:
    """Rename the copy and its side files once nothing has it open, waiting up to ``wait_s`` for that: a
    SQLite file renamed under an open connection loses its side files (they are deleted, or left behind,
    by their old names), and with them its last writes. Returns where it went (also when it had gone
    already), or None when it is still open after ``wait_s`` (``anyway``: then it is renamed all the same)."""
    source = plan.source
    if not source.exists():
        return plan.target  # set aside already (or gone): nothing of it is left to open
    deadline = time.monotonic() + wait_s
    while in_use(source):
        gc.collect()  # a connection handed back to a closed (disposed) pool closes only when collected
        if not in_use(source):
            break
        if time.monotonic() >= deadline:
            if not anyway:
                return None
            log.warning("local copy %s is still open elsewhere: set aside all the same", source.name)
            break
        time.sleep(0.05)
    target = plan.target if not plan.target.exists() else _free_name(source, plan.target.stem)
    source.rename(target)
    for suffix in _SIDE_FILES:
        side = source.with_name(source.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    log.info("local copy %s held %s: set aside as %s", source.name, plan.other, target.name)
    return target


def set_aside(plan: SetAside, *, wait_s: float = 2.0) -> Path:
    """Move the copy of ``plan`` aside now, after waiting up to ``wait_s`` for what still has it open; returns
    where it went. A copy another program keeps open is set aside all the same: the profile must never open
    it for the new address."""
    return move_aside(plan, wait_s=wait_s, anyway=True) or plan.target


def set_aside_if_other_site(path: Path, url: str, *, clock=time.time) -> tuple[Path, str] | None:
    """Rename the cache at ``path`` when it holds another site's data than ``url``'s (:func:`set_aside`);
    returns (new path, the other site's address), or None when the cache is absent, empty or of this site."""
    plan = plan_set_aside(path, url, clock=clock)
    return None if plan is None else (set_aside(plan), plan.other)


def set_aside_message(set_aside: tuple[Path, str] | None) -> str:
    """What to tell the admin after :func:`set_aside_if_other_site` moved a copy away ("" if it did not)."""
    if set_aside is None:
        return ""
    path, other = set_aside
    return (f"The local copy kept under this name was of another site ({other}): it was set aside as "
            f"{path.name} (its journal stays there), and this profile starts a new one with its first sync.")


__all__ = ["SetAside", "cached_site_url", "in_use", "move_aside", "plan_set_aside", "set_aside",
           "set_aside_if_other_site", "set_aside_message", "site_key"]
