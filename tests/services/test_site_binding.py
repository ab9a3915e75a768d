"""Setting a local copy of another site aside only once nothing has it open (site_binding, ProfileStore):
a SQLite file in WAL mode renamed under an open connection leaves its -wal/-shm behind (deleted, or
left, by their old names when it closes), and with them its last writes. And putting a set-aside copy back
when the profile's address is corrected back to its site."""

from __future__ import annotations

import pytest

from lms_console.services.cache.db import CacheDb
import shutil
import sqlite3
import time

from lms_console.services.cache.site_binding import (
    cached_site_url,
    in_use,
    move_aside,
    plan_rebinding,
    plan_set_aside,
    rebind,
    set_aside_message,
)
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.credentials import MemoryTokenStore
from lms_console.services.lms.base import SiteInfo
from lms_console.services.profiles import ProfileStore

OLD, NEW = "https://old.example.edu", "https://new.example.edu"


def _synced(path, site: str = OLD):
    """A cache file at ``path`` as a sync of ``site`` leaves it."""
    with CacheDb.open(path) as db, CacheWriter(db) as w:
        w.save_site_info(SiteInfo(1, "Old", site, "5.2", "2025", 2, "admin", "Admin", True, frozenset(), True,
                                  True, 0, 0))
    return path


@pytest.fixture
def copy(tmp_path):
    return _synced(tmp_path / "campus.sqlite")


def _side_files(path):
    return [p.name for p in path.parent.iterdir() if p.name.startswith(path.name + "-")]


def _last_write(path) -> str:
    with CacheDb.open(path) as db:
        assert db.integrity_check() == []
        with db.read() as conn:
            return conn.exec_driver_sql("SELECT title FROM change_runs ORDER BY id DESC").scalar()


def _write(db: CacheDb, title: str) -> None:
    with CacheWriter(db) as w, w.batch() as raw:
        raw.execute("INSERT INTO change_runs (created_at, profile, lms_user, title, origin, status) "
                    "VALUES (1, 'campus', 'admin', ?, 'gui', 'done')", (title,))


def test_a_copy_still_open_is_moved_only_once_it_is_closed(copy):
    plan = plan_set_aside(copy, NEW)
    assert plan is not None and plan.other == OLD and not plan.target.exists()  # planned, nothing moved
    db = CacheDb.open(copy)
    _write(db, "the last write")
    assert in_use(copy)
    assert move_aside(plan, wait_s=0.2) is None and copy.exists()  # still open: left where it is
    db.close()
    assert not in_use(copy)
    assert move_aside(plan) == plan.target and not copy.exists()
    assert _side_files(plan.target) == [] and _last_write(plan.target) == "the last write"
    assert move_aside(plan) == plan.target  # done already: nothing more to do


def test_a_reader_still_holding_the_copy_when_it_was_closed_is_waited_for(copy):
    """A query of another thread still running when the cache is closed keeps its connection; handed back
    to the closed pool, it stays open until the garbage collector frees it."""
    plan = plan_set_aside(copy, NEW)
    db = CacheDb.open(copy)
    _write(db, "the last write")
    reading = db.read()
    reading.__enter__().exec_driver_sql("SELECT count(*) FROM users").scalar()
    db.close()
    assert in_use(copy)  # the reader's connection
    reading.__exit__(None, None, None)
    assert move_aside(plan, wait_s=5) == plan.target
    assert _side_files(plan.target) == [] and _last_write(plan.target) == "the last write"


def test_the_store_can_leave_the_move_to_its_caller(tmp_path):
    """The console's open profile: the store says where its copy goes, the caller moves it once closed."""
    store = ProfileStore(tmp_path / "config", tmp_path / "data", tokens=MemoryTokenStore())
    copy = _synced(store.add("campus", OLD).cache_path)
    store.update("campus", url=NEW, set_aside_later=True)
    pending = store.set_aside_pending
    assert pending is not None and copy.exists()  # left in place
    assert store.set_aside == (pending.aside.target, OLD)  # what the admin is told: where it goes
    assert rebind(pending).aside.target == pending.aside.target and cached_site_url(pending.aside.target) == OLD
    store.update("campus", url=OLD)  # nothing of another site left under the name: nothing to set aside...
    assert store.set_aside is None and store.set_aside_pending is None
    assert store.put_back.source == pending.aside.target and cached_site_url(copy) == OLD  # ...its own copy is back


# -- putting a set-aside copy back ------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _titles(path) -> list[str]:
    with CacheDb.open(path) as db, db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT title FROM change_runs ORDER BY id")]


def _set_aside_files(path) -> list[str]:
    return sorted(p.name for p in path.parent.glob(f"{path.stem}.other-site-*"))


@pytest.fixture
def store(tmp_path):
    return ProfileStore(tmp_path / "config", tmp_path / "data", tokens=MemoryTokenStore(),
                        clock=Clock(time.mktime((2025, 3, 4, 9, 30, 0, 0, 0, -1))))


def test_an_address_corrected_back_puts_the_set_aside_copy_back(store):
    """QA: a typo in the address set the copy aside, and correcting it left the profile on an empty copy (its
    journal and outbox out of sight) and started a full sync."""
    copy = _synced(store.add("campus", OLD).cache_path)
    with CacheDb.open(copy) as db:
        _write(db, "suspended 3 users")
    store.update("campus", url="https://old.example.edux")  # the typo: nothing answers there
    assert store.set_aside is not None and not copy.exists()
    CacheDb.open(copy).close()  # the console opened it there: a new, empty copy
    store.update("campus", url=OLD)  # corrected
    assert store.set_aside is None and store.put_back is not None
    assert cached_site_url(copy) == OLD and _titles(copy) == ["suspended 3 users"]
    assert _set_aside_files(copy) == []  # the empty copy was deleted, nothing else was set aside
    assert set_aside_message(store.set_aside, store.put_back) == (
        f"The local copy of {OLD} set aside on 2025-03-04 09:30 was put back: its journal and outbox are as "
        "they were.")


def test_moving_to_a_site_set_aside_before_swaps_the_copies(store):
    copy = _synced(store.add("campus", OLD).cache_path)
    store.update("campus", url=NEW)
    _synced(copy, NEW)  # synced at NEW
    store.update("campus", url=OLD)  # back: NEW's copy is set aside, OLD's put back
    assert cached_site_url(copy) == OLD and store.set_aside[1] == NEW and store.put_back.site == OLD
    note = set_aside_message(store.set_aside, store.put_back)
    assert "starts a new one" not in note and "was put back" in note
    [aside] = _set_aside_files(copy)
    assert cached_site_url(copy.with_name(aside)) == NEW


def test_the_newest_copy_of_the_site_is_put_back(store, tmp_path):
    copy = store.add("campus", OLD).cache_path
    for when, title in ((1_700_000_000, "older"), (1_750_000_000, "newest"), (1_720_000_000, "between")):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
        aside = _synced(copy.with_name(f"{copy.stem}.other-site-{stamp}{copy.suffix}"))
        with CacheDb.open(aside) as db:
            _write(db, title)
    _synced(copy.with_name(f"{copy.stem}.other-site-20991231-235959{copy.suffix}"), NEW)  # newer, another site
    _synced(tmp_path / "data" / f"x{copy.stem}.other-site-20991231-235959{copy.suffix}")  # another profile's
    plan = plan_rebinding(copy, OLD)
    assert plan.aside is None and plan.discard is None and plan.back.set_aside_at == 1_750_000_000
    assert rebind(plan) == plan and _titles(copy) == ["newest"]
    assert len(_set_aside_files(copy)) == 3


def test_a_set_aside_copy_comes_back_with_its_last_writes_in_its_wal(store):
    """A copy set aside whole with its -wal (its last writes are there, not yet in the file)."""
    copy = store.add("campus", OLD).cache_path
    _synced(copy)
    raw = sqlite3.connect(copy)
    raw.execute("PRAGMA wal_autocheckpoint = 0")
    raw.execute("INSERT INTO change_runs (created_at, profile, lms_user, title, origin, status) "
                "VALUES (1, 'campus', 'admin', 'only in the wal', 'gui', 'done')")
    raw.commit()
    aside = copy.with_name(f"{copy.stem}.other-site-20250101-120000{copy.suffix}")
    for suffix in ("", "-wal"):  # as a process that ended without closing it left them
        shutil.copy(f"{copy}{suffix}", f"{aside}{suffix}")
    raw.close()
    copy.unlink()
    assert (aside.parent / (aside.name + "-wal")).exists()
    store.update("campus", url=NEW)
    store.update("campus", url=OLD)
    assert store.put_back is not None and _titles(copy) == ["only in the wal"]
    assert _set_aside_files(copy) == [] and _side_files(copy) == []


def test_a_set_aside_copy_still_open_is_not_put_back(store):
    copy = _synced(store.add("campus", OLD).cache_path)
    store.update("campus", url=NEW)
    [aside] = _set_aside_files(copy)
    db = CacheDb.open(copy.with_name(aside))  # someone looks into it
    try:
        _write(db, "written elsewhere")
        store.update("campus", url=OLD)
        assert store.put_back is None and not copy.exists()  # the profile starts a new copy, as before
    finally:
        db.close()
    assert _set_aside_files(copy) == [aside]


def test_a_copy_holding_the_admins_work_is_never_deleted_to_put_one_back(store):
    copy = _synced(store.add("campus", OLD).cache_path)
    store.update("campus", url=NEW)
    with CacheDb.open(copy) as db:  # never synced at NEW, but a change was queued there
        _write(db, "queued at NEW")
    store.update("campus", url=OLD)
    assert store.put_back is None and store.set_aside is None and _titles(copy) == ["queued at NEW"]
    assert len(_set_aside_files(copy)) == 1
