"""Which site a profile's local copy belongs to.

A profile's cache file is named after the profile. When a profile is removed without its cache and
another profile of the same name is added for another site, or a profile's address is changed to
another site, the file would otherwise be opened for the new site: every id in it (users, courses,
cohorts) is the old site's, so a change planned from it reaches whoever has that id on the new site.
Before a profile is (re)bound to an address, a cache holding another site's data is set aside
(renamed, never deleted: its journal is the audit trail of what was done to that site).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
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


def set_aside_if_other_site(path: Path, url: str, *, clock=time.time) -> tuple[Path, str] | None:
    """Rename the cache at ``path`` when it holds another site's data than ``url``'s; returns (new path, the
    other site's address), or None when the cache is absent, empty or of this site."""
    other = cached_site_url(path)
    if other is None or site_key(other) == site_key(url):
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    target = path.with_name(f"{path.stem}.other-site-{stamp}{path.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.other-site-{stamp}-{n}{path.suffix}")
    path.rename(target)
    for suffix in _SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    log.info("local copy %s held %s, not %s: set aside as %s", path.name, other, url, target.name)
    return target, other


def set_aside_message(set_aside: tuple[Path, str] | None) -> str:
    """What to tell the admin after :func:`set_aside_if_other_site` moved a copy away ("" if it did not)."""
    if set_aside is None:
        return ""
    path, other = set_aside
    return (f"The local copy kept under this name was of another site ({other}): it was set aside as "
            f"{path.name} (its journal stays there), and this profile starts a new one with its first sync.")


__all__ = ["cached_site_url", "set_aside_if_other_site", "set_aside_message", "site_key"]
