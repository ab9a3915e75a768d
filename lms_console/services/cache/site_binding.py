"""Which site a profile's local copy belongs to.

A profile's cache file is named after the profile. When a profile is removed without its cache and
another profile of the same name is added for another site, or a profile's address is changed to
another site, the file would otherwise be opened for the new site: every id in it (users, courses,
cohorts) is the old site's, so a change planned from it reaches whoever has that id on the new site.
Before a profile is (re)bound to an address, a cache holding another site's data is set aside
(renamed, never deleted: its journal is the audit trail of what was done to that site).

An address corrected back (a typo, a wrong port) would otherwise leave the profile on an empty copy, its
journal and outbox out of sight, and start a full sync (tens of thousands of requests on a big site). So
when the profile is bound to an address and the copy in place is absent, holds nothing yet, or is of
another site, the newest copy of this profile set aside earlier that holds the address's site is put back
(:func:`plan_rebinding`, :func:`rebind`).
"""

from __future__ import annotations

import contextlib
import gc
import glob
import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Iterator, NamedTuple
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SIDE_FILES = ("-wal", "-shm", "-journal")
_STAMP_FORMAT = "%Y%m%d-%H%M%S"
# "<cache stem>.other-site-<stamp>[-<n>]": the name a copy is set aside under (see _free_name for -<n>).
_ASIDE_NAME = re.compile(r"\.other-site-(\d{8}-\d{6})(?:-(\d+))?$")
# What an admin's own work leaves in a copy (the journal and outbox, saved filters, snapshots, rules, uploads).
_OWN_WORK_TABLES = ("change_runs", "saved_filters", "report_snapshots", "cohort_rules", "upload_items")


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
        with _peek(path) as conn:
            row = conn.execute("SELECT siteurl FROM site_info LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row and row[0] else None


@contextlib.contextmanager
def _peek(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the SQLite file at ``path`` (sqlite3.Error when it cannot be read). A read-only
    connection to a WAL-mode file leaves the -wal/-shm it made behind when it closes: they are folded away after
    it (by :func:`in_use`, which does so only when nothing else has the file open)."""
    had_wal = path.with_name(path.name + "-wal").exists()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
    try:
        yield conn
    finally:
        conn.close()
        if not had_wal:
            in_use(path)


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
    return _plan_aside(path, other, clock)


def _plan_aside(path: Path, other: str, clock) -> SetAside:
    stamp = time.strftime(_STAMP_FORMAT, time.localtime(clock()))
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
    if not _closed(source, wait_s):
        if not anyway:
            return None
        log.warning("local copy %s is still open elsewhere: set aside all the same", source.name)
    target = plan.target if not plan.target.exists() else _free_name(source, plan.target.stem)
    _rename_with_side_files(source, target)
    log.info("local copy %s held %s: set aside as %s", source.name, plan.other, target.name)
    return target


def _closed(path: Path, wait_s: float) -> bool:
    """Whether nothing has the SQLite file at ``path`` open, waiting up to ``wait_s`` for that."""
    deadline = time.monotonic() + wait_s
    while in_use(path):
        gc.collect()  # a connection handed back to a closed (disposed) pool closes only when collected
        if not in_use(path):
            break
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _rename_with_side_files(source: Path, target: Path) -> None:
    source.rename(target)
    for suffix in _SIDE_FILES:
        side = source.with_name(source.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))


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


# -- putting a copy back ----------------------------------------------------------------------------------


class PutBack(NamedTuple):
    """A copy set aside earlier that holds the site a profile is bound to again: it goes back into place."""

    source: Path  # the set-aside copy
    target: Path  # the profile's cache file
    site: str  # the site it holds
    set_aside_at: float  # when it was set aside (Unix seconds, from its name)


class Rebinding(NamedTuple):
    """What binding a profile's cache file to an address does (see :func:`plan_rebinding`)."""

    aside: SetAside | None  # the copy in place holds another site: it is set aside
    discard: Path | None  # the copy in place holds nothing (see holds_nothing): it is deleted to make room
    back: PutBack | None  # the newest set-aside copy of the address's site: it is put back


def holds_nothing(path: Path) -> bool:
    """Whether the cache at ``path`` holds no site (never synced: no site_info) and nothing an admin did in
    it (no journal or outbox, saved filter, snapshot, rule or upload). Such a copy is what opening a profile
    at an address where no site answered (a typo, a wrong port) leaves behind: it may be deleted to put the
    site's own copy back in its place. False when it cannot be read (then it is kept)."""
    try:
        with _peek(path) as conn:
            return not any(_has_rows(conn, table) for table in ("site_info", *_OWN_WORK_TABLES))
    except sqlite3.Error:
        return False


def _has_rows(conn: sqlite3.Connection, table: str) -> bool:
    try:
        return conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return False  # a file made before that table was: none of it
        raise


def newest_set_aside(path: Path, url: str) -> PutBack | None:
    """The copy of the cache at ``path`` set aside most recently (``<stem>.other-site-<stamp>``, next to it)
    that holds the site at ``url``, or None."""
    found = []
    for candidate in path.parent.glob(f"{glob.escape(path.stem)}.other-site-*{glob.escape(path.suffix)}"):
        named = _ASIDE_NAME.search(candidate.stem)
        if named is None or candidate.stem[:named.start()] != path.stem:
            continue  # another profile's name, or a copy of a copy
        site = cached_site_url(candidate)
        if site is not None and site_key(site) == site_key(url):
            found.append(((named.group(1), int(named.group(2) or 1)), candidate, site))
    if not found:
        return None
    (stamp, _n), source, site = max(found)
    return PutBack(source, path, site, time.mktime(time.strptime(stamp, _STAMP_FORMAT)))


def plan_rebinding(path: Path, url: str, *, clock=time.time) -> Rebinding | None:
    """What binding the cache at ``path`` to ``url`` does (nothing is moved yet): a copy of another site is set
    aside (as :func:`plan_set_aside`), and when the copy in place is absent, holds nothing (:func:`holds_nothing`)
    or is set aside, the newest set-aside copy of ``url``'s site is put back. None when there is nothing to do:
    the copy is of this site, or never synced but holding the admin's work, or empty with nothing to put back."""
    other = cached_site_url(path)
    if other is not None and site_key(other) == site_key(url):
        return None
    if other is None and path.exists() and not holds_nothing(path):
        return None
    back = newest_set_aside(path, url)
    aside = None if other is None else _plan_aside(path, other, clock)
    discard = path if other is None and back is not None and path.exists() else None
    return None if aside is None and back is None else Rebinding(aside, discard, back)


def discard_empty(path: Path, *, wait_s: float = 0.0) -> bool | None:
    """Delete the cache at ``path`` and its side files once nothing has it open, if it still holds nothing
    (:func:`holds_nothing`). True: deleted (or gone), False: kept (something was written into it meanwhile),
    None: still open after ``wait_s``."""
    if not path.exists():
        return True
    if not _closed(path, wait_s):
        return None
    if not holds_nothing(path):
        return False
    for suffix in ("", *_SIDE_FILES):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.unlink()
    log.info("local copy %s held no site and no journal: deleted", path.name)
    return True


def put_back(plan: PutBack, *, wait_s: float = 0.0) -> bool:
    """Move the set-aside copy of ``plan`` and its side files back into place once nothing has it open. False,
    with nothing moved, when it is still open after ``wait_s``, is gone, or its place is taken (a file there,
    or a -wal/-shm left by another one, which SQLite would read as this copy's)."""
    target = plan.target
    if not plan.source.exists() or any(target.with_name(target.name + s).exists() for s in ("", *_SIDE_FILES)):
        return False
    if not _closed(plan.source, wait_s):
        return False
    _rename_with_side_files(plan.source, target)
    log.info("local copy %s of %s put back as %s", plan.source.name, plan.site, target.name)
    return True


def rebind(plan: Rebinding, *, wait_s: float = 0.0, anyway: bool = False) -> Rebinding | None:
    """Carry out ``plan`` once nothing has the copy in place open (waiting up to ``wait_s``): set it aside, or
    delete it when it holds nothing, then put the set-aside copy back. Returns what was done (``aside`` with
    where it went; None in the parts not done), or None, with nothing done, when the copy in place is still open
    (``anyway``: a copy of another site is set aside all the same, an empty one is kept and nothing put back).
    A set-aside copy still open elsewhere is not put back: the profile starts a new copy, as without one."""
    aside = None
    if plan.aside is not None:
        moved = move_aside(plan.aside, wait_s=wait_s, anyway=anyway)
        if moved is None:
            return None
        aside = plan.aside._replace(target=moved)
    if plan.discard is not None:
        discarded = discard_empty(plan.discard, wait_s=wait_s)
        if discarded is None and not anyway:
            return None
        if not discarded:
            log.warning("local copy %s is still open, or was written to: it stays, and %s is not put back",
                        plan.discard.name, plan.back.source.name if plan.back else "nothing")
            return Rebinding(aside, None, None)
    back = plan.back
    if back is not None and not put_back(back, wait_s=wait_s):
        log.warning("local copy %s could not be put back (still open elsewhere, or its place taken): the "
                    "profile starts a new copy", back.source.name)
        back = None
    return Rebinding(aside, plan.discard, back)


def set_aside_message(set_aside: tuple[Path, str] | None, put_back: PutBack | None = None) -> str:
    """What to tell the admin after a copy of another site was set aside (:func:`set_aside_if_other_site`,
    :func:`rebind`) and a copy of this site put back ("" if neither)."""
    said = []
    if set_aside is not None:
        path, other = set_aside
        starts = "" if put_back is not None else ", and this profile starts a new one with its first sync"
        said.append(f"The local copy kept under this name was of another site ({other}): it was set aside as "
                    f"{path.name} (its journal stays there){starts}.")
    if put_back is not None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(put_back.set_aside_at))
        said.append(f"The local copy of {put_back.site} set aside on {when} was put back: its journal and "
                    "outbox are as they were.")
    return " ".join(said)


def rebinding_message(done: Rebinding | None) -> str:
    """:func:`set_aside_message` of what :func:`rebind` did (its result; None: nothing)."""
    if done is None:
        return ""
    return set_aside_message(None if done.aside is None else (done.aside.target, done.aside.other), done.back)


def pending_rebinding_message(plan: Rebinding) -> str:
    """What to tell the admin of ``plan`` (:func:`plan_rebinding`) while the copy in place is still open, so that
    nothing of it was moved yet: it is, as soon as what still uses it has stopped ("" if it says nothing)."""
    said = []
    if plan.aside is not None:
        starts = "" if plan.back is not None else ", and this profile then starts a new one with its first sync"
        said.append(f"The local copy kept under this name is of another site ({plan.aside.other}) and still in "
                    "use (a sync or run of it still stopping): it will be set aside (its journal stays there) as "
                    f"soon as that has stopped{starts}.")
    if plan.back is not None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(plan.back.set_aside_at))
        said.append(f"The local copy of {plan.back.site} set aside on {when} will then be put back: its journal "
                    "and outbox as they were.")
    return " ".join(said)


__all__ = ["PutBack", "Rebinding", "SetAside", "cached_site_url", "discard_empty", "holds_nothing", "in_use",
           "move_aside", "newest_set_aside", "pending_rebinding_message", "plan_rebinding", "plan_set_aside", "put_back",
           "rebind", "rebinding_message", "set_aside", "set_aside_if_other_site", "set_aside_message", "site_key"]
