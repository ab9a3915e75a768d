"""Fixtures for the cache tests: real SQLite files in tmp_path, always closed (filterwarnings = error).

Test modules cannot import each other (``--import-mode=importlib``), so the small helpers are
fixtures too: ``dto`` builds DTOs, ``sql`` reads the cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import Course, CustomField, User

NOW = 1_767_225_600


class Clock:
    """A settable clock for the writer (``synced_at``, run times, freshness)."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Dto:
    @staticmethod
    def user(uid: int, **kw) -> User:
        base = dict(username=f"user{uid}", firstname="First", lastname=f"Last{uid}", email=f"user{uid}@example.org")
        base.update(kw)
        return User(id=uid, **base)

    @staticmethod
    def cf(shortname: str, value: str, displayvalue: str | None = None) -> CustomField:
        return CustomField(shortname=shortname, value=value, name=shortname.title(), type="text",
                           displayvalue=displayvalue)

    @staticmethod
    def course(cid: int, **kw) -> Course:
        base = dict(shortname=f"C{cid}", fullname=f"Course {cid}", categoryid=1)
        base.update(kw)
        return Course(id=cid, **base)


class Sql:
    """Reads through a fresh reader connection each call (what a pane would see)."""

    def __init__(self, db: CacheDb) -> None:
        self.db = db

    def scalar(self, sql: str, params: tuple = ()):
        with self.db.read() as conn:
            return conn.exec_driver_sql(sql, params).scalar()

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.db.read() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, params)]

    def count(self, table: str, where: str = "1", params: tuple = ()) -> int:
        return self.scalar(f'SELECT count(*) FROM "{table}" WHERE {where}', params)


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "profile" / "cache.sqlite"


@pytest.fixture
def db(cache_path: Path) -> Iterator[CacheDb]:
    with CacheDb.open(cache_path) as database:
        yield database


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def writer(db: CacheDb, clock: Clock) -> Iterator[CacheWriter]:
    with CacheWriter(db, clock=clock) as w:
        yield w


@pytest.fixture
def dto() -> type[Dto]:
    return Dto


@pytest.fixture
def sql(db: CacheDb) -> Sql:
    return Sql(db)
