"""Sync: a full sync versus only downloading the same pages, and versus one page at a time.

The sandbox runs in its own process with 30 ms of latency per request (a
remote site).  Three timings, in the same run:

1. the sync itself (fresh cache): fetch concurrently, parse, write with one writer;
2. download-only: every request the sync made, replayed with the same
   concurrency, bodies read and thrown away (no parsing, no cache) - and with no
   dependencies between requests, so it is a strict lower bound;
3. sequential: the same requests one at a time.

Targets: (1) <= 1.3 x (2), and (3) >= 3 x (1).  Peak memory of the syncing
process is reported.

Entities: the default sync (grades are fetched on demand, see sync.py) minus
the per-user ones (`completion`: one call per enrolled user; `activity_completion`:
one per enrolment with progress): at 30 ms a sequential baseline of 100,000+
such calls alone would take an hour.

Regimes.  By default the sandbox computes every answer, as a real site does; it is
one Python process sharing this 2-core machine with the client, so its CPU bounds
both the sync and the baselines.  With ``LMS_BENCH_SYNC_CACHED=1`` the sandbox
answers repeated requests from a response cache filled by a warm-up sync: the server
is then nearly free, and the figures show the client's own cost.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from benchmarks._common import Result, peak_rss_mb, say, temp_dir
from lms_console.sandbox import SandboxProcess
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.http import HttpTransport
from lms_console.services.lms.moodle import MoodleClient
from lms_console.services.sync import SyncEngine, SyncOptions

LATENCY_MS = 30
CONCURRENCY = 8
BULK = ("site", "categories", "courses", "contents", "users", "cohorts", "groups", "enrolments")


class RecordingTransport(HttpTransport):
    """Keeps the exact form of every request, so the baselines replay the same pages."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.recorded: list[tuple[str, list[tuple[str, str]]]] = []
        self._rec_lock = threading.Lock()

    def post_form(self, path, fields, **kw):
        with self._rec_lock:
            self.recorded.append((path, list(fields)))
        return super().post_form(path, fields, **kw)


def replay(url: str, recorded, concurrency: int) -> tuple[float, int]:
    local = threading.local()

    def fetch(item) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        path, fields = item
        with session.post(url + path, data=fields, timeout=300) as resp:
            return len(resp.content)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        total = sum(pool.map(fetch, recorded))
    return time.perf_counter() - t0, total


def run(quick: bool) -> Result:
    users, courses, per_user = (3_000, 30, 10.0) if quick else (100_000, 400, 10.0)
    entities = BULK
    cached = os.environ.get("LMS_BENCH_SYNC_CACHED") == "1"
    cache_dir = Path(tempfile.gettempdir()) / "lms-console-bench"
    cache_dir.mkdir(exist_ok=True)
    site_db = cache_dir / f"sandbox-{users}-{courses}-{per_user:g}.sqlite"
    say(f"sandbox: {users:,} users, {courses} courses, ~{int(users * per_user):,} enrolments, "
        f"{LATENCY_MS} ms latency, {'cached' if cached else 'computed'} answers "
        f"({'reusing' if site_db.exists() else 'seeding'} {site_db})")
    with SandboxProcess(users=users, courses=courses, latency_ms=LATENCY_MS, path=site_db, startup_timeout=900,
                        extra_args=["--enrolments-per-user", str(per_user)] + (["--response-cache"] if cached else [])) as site, \
            temp_dir() as tmp:
        def sync(path):
            transport = RecordingTransport(site.url, pool_size=CONCURRENCY + 4)
            client = MoodleClient(transport, site.admin_token)
            with CacheDb.open(path) as db, CacheWriter(db) as writer, ThreadPoolExecutor(CONCURRENCY) as pool:
                t0, c0 = time.perf_counter(), time.process_time()
                result = SyncEngine(client, db, writer, pool,
                                    SyncOptions(entities=entities, concurrency=CONCURRENCY)).run()
                seconds = time.perf_counter() - t0
                say(f"  ({seconds:.1f} s wall, {time.process_time() - c0:.1f} s CPU of this process)")
            transport.close()
            assert result.status == "ok", result
            return transport, result, seconds

        if cached:
            t_warm = sync(tmp / "warm-up.sqlite")[2]
            say(f"warm-up sync (fills the sandbox's response cache): {t_warm:.1f} s")
        rss_before = peak_rss_mb()
        transport, result, t_sync = sync(tmp / "cache.sqlite")
        peak = peak_rss_mb()
        recorded = transport.recorded
        say(f"sync: {t_sync:.1f} s, {len(recorded):,} requests, {transport.stats.bytes_received / 2**20:.0f} MiB")
        for e in result.entities:
            say(f"  {e.entity:<20} {e.rows:>10,} rows {e.requests:>7,} requests {e.seconds:7.1f} s")
        t_dl, nbytes = replay(site.url, recorded, CONCURRENCY)
        say(f"download only, {CONCURRENCY} at a time: {t_dl:.1f} s ({nbytes / 2**20:.0f} MiB)")
        t_seq, _ = replay(site.url, recorded, 1)
        say(f"one page at a time: {t_seq:.1f} s")
    overhead = t_sync / t_dl
    speedup = t_seq / t_sync
    say(f"sync / download-only = {overhead:.2f} (target <= 1.3); sequential / sync = {speedup:.1f}x "
        f"(target >= 3); peak RSS {peak:.0f} MiB (+{peak - rss_before:.0f} MiB during the sync)")
    res = Result("sync", overhead, "ratio", 1.3, lower_is_better=True,
                 details=[f"second target: sequential / sync = {speedup:.1f}x (>= 3 required): "
                          f"{'met' if speedup >= 3 else 'NOT met'}"],
                 also_required=[speedup >= 3])
    return res


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(run(quick=True).line())
