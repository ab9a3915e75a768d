"""Fixtures for service tests: a real sandbox LMS over HTTP, a real SQLite cache in tmp, a sync runner."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from lms_console.sandbox.server import SandboxServer
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.http import HttpTransport, RetryPolicy
from lms_console.services.lms.moodle import MoodleClient
from lms_console.services.sync import SyncEngine, SyncOptions

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def site():
    """One shared sandbox for tests that only read (300 users, 8 courses)."""
    server = SandboxServer(users=300, courses=8, seed=3).start()
    yield server
    server.stop()


@pytest.fixture
def make_site():
    """Fresh sandboxes for tests that change data or inject faults."""
    servers: list[SandboxServer] = []

    def make(**kw) -> SandboxServer:
        kw.setdefault("users", 200)
        kw.setdefault("courses", 6)
        server = SandboxServer(**kw).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def connect():
    """``connect(server, token=None, retry=FAST_RETRY) -> MoodleClient`` (transports closed afterwards)."""
    transports: list[HttpTransport] = []

    def make(server, token: str | None = None, retry: RetryPolicy = FAST_RETRY, **kw) -> MoodleClient:
        transport = HttpTransport(server.url, retry=retry, **kw)
        transports.append(transport)
        return MoodleClient(transport, token or server.admin_token)

    yield make
    for t in transports:
        t.close()


@pytest.fixture
def cache(tmp_path):
    """(CacheDb, CacheWriter) on a real SQLite file."""
    db = CacheDb.open(tmp_path / "cache.sqlite")
    writer = CacheWriter(db)
    yield db, writer
    writer.close()
    db.close()


@pytest.fixture
def run_sync(cache):
    """``run_sync(client, progress=None, cancel=None, **options) -> SyncResult`` into the test's cache."""
    db, writer = cache
    pool = ThreadPoolExecutor(4, thread_name_prefix="test-sync")

    def run(client, progress=None, cancel=None, **options):
        options.setdefault("concurrency", 4)
        engine = SyncEngine(client, db, writer, pool, SyncOptions(**options))
        kwargs = {}
        if progress is not None:
            kwargs["progress"] = progress
        if cancel is not None:
            kwargs["cancel"] = cancel
        return engine.run(**kwargs)

    yield run
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def synced_site(make_site, connect, cache, run_sync):
    """``synced_site(**site) -> (server, client, db, writer)``: a fresh sandbox (``make_site`` arguments)
    mirrored into the test's cache (activity completion off)."""

    def make(**site):
        server = make_site(**site)
        client = connect(server)
        assert run_sync(client, activity_completion="off").status == "ok"
        db, writer = cache
        return server, client, db, writer

    return make
