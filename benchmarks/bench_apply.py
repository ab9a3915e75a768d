"""Apply: 5,000 cohort memberships through the change engine versus the bare web-service calls.

Applying (what follows the admin's "Apply") records the run (journal and outbox), marks
each chunk before sending, records every item's result and updates the cache.  Planning
(checking every item against the cache for the preview) happens before the admin
confirms; it is timed and printed separately.
The baseline sends exactly the same calls (same chunks, same fields) with requests and
nothing else.  Both run against the same sandbox (in its own process); in each of 5 rounds
the baseline adds the users to a fresh cohort, then the engine adds them to another fresh
cohort; the figure is median(engine) / median(baseline) (this machine is shared and noisy).
Target: engine <= 1.5 x baseline.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor


from benchmarks._common import Result, bare_member_adds, say, temp_dir
from lms_console.sandbox import SandboxProcess
from lms_console.services import changes as C
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.http import HttpTransport
from lms_console.services.lms.moodle import MoodleClient
from lms_console.services.sync import SyncEngine, SyncOptions


def run(quick: bool) -> Result:
    n = 1_000 if quick else 5_000
    rounds = 3 if quick else 5
    with temp_dir() as tmp, SandboxProcess(users=n + 500, courses=2, path=tmp / "site.sqlite") as site, \
            HttpTransport(site.url) as transport:
        client = MoodleClient(transport, site.admin_token)
        cohorts = [client.call("core_cohort_create_cohorts", {"cohorts": [{
            "categorytype": {"type": "system", "value": ""}, "name": f"Bench {i}", "idnumber": f"BENCH-{i}",
            "description": "", "visible": True}]}, write=True)[0]["id"] for i in range(2 * rounds)]
        with CacheDb.open(tmp / "cache.sqlite") as db, CacheWriter(db) as writer, ThreadPoolExecutor(8) as pool:
            assert SyncEngine(client, db, writer, pool, SyncOptions(
                entities=("site", "users", "cohorts"))).run().status == "ok"
            with db.read() as conn:
                users = [r[0] for r in conn.exec_driver_sql("SELECT id FROM users WHERE id > 3 ORDER BY id LIMIT ?",
                                                            (n,))]
            bares, engines, plans = [], [], []
            for r in range(rounds):
                # Baseline: the same calls, bare.
                seconds, ncalls = bare_member_adds(db, site, cohorts[2 * r], users, timeout=120)
                bares.append(seconds)

                # The engine. Planning is the preview, before the admin confirms; applying is what
                # follows "Apply": record the run (journal + outbox), send, record every result,
                # update the cache.
                t0 = time.perf_counter()
                plan = C.plan_changes(db, [C.Change("cohort.add_member", {"cohortid": cohorts[2 * r + 1], "userid": u})
                                           for u in users])
                plans.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                run_id = C.record(writer, plan, profile="bench", lms_user="admin")
                summary = C.apply_run(client, writer, run_id)
                engines.append(time.perf_counter() - t0)
                assert summary.status == "done" and summary.count(C.Status.DONE) == n, summary.status
    t_bare, t_engine, t_plan = statistics.median(bares), statistics.median(engines), statistics.median(plans)
    say("  bare:   " + ", ".join(f"{t:.2f}" for t in bares) + " s")
    say("  engine: " + ", ".join(f"{t:.2f}" for t in engines) + " s")
    ratio = t_engine / t_bare
    say(f"{n:,} memberships in {ncalls} calls, medians of {rounds}: bare {t_bare:.2f} s; applying through the engine "
        f"{t_engine:.2f} s -> {ratio:.2f}x (planning and preview before that: {t_plan:.2f} s; "
        f"with it {(t_engine + t_plan) / t_bare:.2f}x)")
    return Result("apply", ratio, "ratio", 1.5, lower_is_better=True)
