"""Setting a local copy of another site aside only once nothing has it open (site_binding, ProfileStore):
a SQLite file in WAL mode renamed under an open connection leaves its -wal/-shm behind (deleted, or
left, by their old names when it closes), and with them its last writes."""

from __future__ import annotations

import pytest

from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.site_binding import cached_site_url, in_use, move_aside, plan_set_aside
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.credentials import MemoryTokenStore
from lms_console.services.lms.base import SiteInfo
from lms_console.services.profiles import ProfileStore

OLD, NEW = "https://old.example.edu", "https://new.example.edu"


def _synced(path):
    """A cache file at ``path`` as a sync of OLD leaves it."""
    with CacheDb.open(path) as db, CacheWriter(db) as w:
        w.save_site_info(SiteInfo(1, "Old", OLD, "5.2", "2025", 2, "admin", "Admin", True, frozenset(), True,
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
    assert store.set_aside == (pending.target, OLD)  # what the admin is told: where it goes
    assert move_aside(pending) == pending.target and cached_site_url(pending.target) == OLD
    store.update("campus", url=OLD)  # nothing of another site left under the name: nothing to set aside
    assert store.set_aside is None and store.set_aside_pending is None
