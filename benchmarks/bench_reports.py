"""Completion-rate report over 10,000,000 activity completions and 1,000,000 course completions.

The report (aggregates in SQL, pandas for shaping) against a naive pandas load of every row of the
tables it reads followed by a groupby, in the same run, with the same answer (checked). Two
variants: all-time rates (reads course progress, enrolments, roles, users) and rates within a
date range (also derives completion dates from the activity completions). The figure is the
worse of the two ratios of CPU time (both sides are single-threaded and CPU-bound on a warm page
cache; CPU time is what other processes on a shared machine disturb least, see _common.timed_both);
wall-clock ratios are printed too. Target <= 0.5. The chart redraw of the report (Agg, 1200x700 px,
what the Qt canvas does on resize) must stay <= 250 ms.

The cache (100,000 users, 2,000 courses, 1,600,000 learner-course pairs of which 1,000,000 are
complete, 10,000,000 activity completions) is built once with raw executemany into a temp folder
and reused by later runs (``--quick``: a tenth of it).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import Result, say, timed_both

NOW = 1_780_000_000
DAY = 86400
SIZES = {
    False: {"users": 100_000, "courses": 2_000, "per_user": 16, "completed": 1_000_000, "activities": 10_000_000},
    True: {"users": 10_000, "courses": 200, "per_user": 16, "completed": 100_000, "activities": 1_000_000},
}
REDRAW_TARGET_MS = 250.0


def cache_path(quick: bool) -> Path:
    folder = Path(os.environ.get("LMS_BENCH_DIR") or Path(tempfile.gettempdir()) / "lms-bench-reports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"reports-{'quick' if quick else 'full'}.sqlite"


def build_cache(path: Path, size: dict) -> None:
    """A cache of the given size, inserted with raw executemany in one transaction per table."""
    from lms_console.services.cache.db import CacheDb

    for suffix in ("", "-wal", "-shm", ".ok"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    CacheDb.open(path).close()  # schema and migrations
    rnd = random.Random(7)
    users, courses, per_user = size["users"], size["courses"], size["per_user"]
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = OFF")
    c.execute("PRAGMA cache_size = -400000")
    t0 = time.perf_counter()
    c.execute("BEGIN")
    c.executemany("INSERT INTO categories (id, name, parent, path, depth) VALUES (?, ?, 0, ?, 1)",
                  [(i, f"Faculty {i}", f"/{i}") for i in range(1, 51)])
    c.executemany("INSERT INTO courses (id, shortname, fullname, categoryid, enablecompletion, startdate) "
                  "VALUES (?, ?, ?, ?, 1, ?)",
                  [(i, f"C{i:04d}", f"Course {i}", 1 + i % 50, NOW - 300 * DAY) for i in range(1, courses + 1)])
    c.executemany("INSERT INTO roles (id, shortname, name) VALUES (?, ?, ?)",
                  [(5, "student", "Student"), (3, "editingteacher", "Teacher")])
    c.executemany("INSERT INTO users (id, username, firstname, lastname, email, lastaccess, department, suspended) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  ((u, f"u{u}", "Learner", f"No{u}", f"u{u}@example.org", NOW - rnd.randrange(0, 200 * DAY),
                    f"Dept {u % 7}", int(u % 97 == 0)) for u in range(1, users + 1)))
    c.executemany("INSERT INTO sync_runs (id, started_at, finished_at, status, entities) VALUES (?, ?, ?, 'ok', ?)",
                  [(1, NOW - 400 * DAY, NOW - 400 * DAY, '["completion", "activity_completion"]'),
                   (2, NOW - DAY, NOW - DAY, '["completion", "activity_completion"]')])
    c.executemany("INSERT INTO sync_state (entity, status, last_success_at) VALUES (?, 'ok', ?)",
                  [(e, NOW) for e in ("courses", "enrolments", "completion", "activity_completion", "users")])
    c.execute("COMMIT")
    pairs = sorted((u, cid) for u in range(1, users + 1) for cid in rnd.sample(range(1, courses + 1), per_user))
    say(f"  users and courses: {time.perf_counter() - t0:.0f} s")
    c.execute("BEGIN")
    c.executemany("INSERT INTO enrolments (courseid, userid, roleids, suspended) VALUES (?, ?, ?, ?)",
                  ((cid, u, "[3]" if (u + cid) % 20 == 0 else "[5]", int((u * 7 + cid) % 50 == 0)) for u, cid in pairs))
    c.execute("COMMIT")
    say(f"  {len(pairs):,} enrolments: {time.perf_counter() - t0:.0f} s")
    done = set(rnd.sample(range(len(pairs)), size["completed"]))
    extra = size["activities"] - 6 * len(pairs)  # pairs with a 7th activity
    c.execute("BEGIN")
    c.executemany("INSERT INTO course_progress (userid, courseid, progress, completed, lastaccess, changed_run) "
                  "VALUES (?, ?, ?, ?, 0, ?)",
                  ((u, cid, 100.0 if i in done else float(rnd.randrange(0, 90)), int(i in done), 1 + (i % 10 == 0))
                   for i, (u, cid) in enumerate(pairs)))
    c.execute("COMMIT")
    say(f"  course progress: {time.perf_counter() - t0:.0f} s")

    def activities():
        for i, (u, cid) in enumerate(pairs):
            complete = i in done
            for j in range(7 if i < extra else 6):
                state = 1 if complete or (j < 3 and i % 3) else 0
                # a tenth of the completions have no activity dates (dated by the sync that saw them)
                when = NOW - (i % 300) * DAY - j * 3600 if state and i % 10 else 0
                yield u, cid * 10 + j, cid, state, when

    c.execute("BEGIN")
    c.executemany("INSERT INTO activity_completion (userid, cmid, courseid, state, timecompleted) "
                  "VALUES (?, ?, ?, ?, ?)", activities())
    c.execute("COMMIT")
    c.execute("ANALYZE")
    c.close()
    say(f"  activity completions: {time.perf_counter() - t0:.0f} s")
    Path(str(path) + ".ok").write_text(json.dumps(size))


def ensure_cache(quick: bool) -> Path:
    path = cache_path(quick)
    size = SIZES[quick]
    marker = Path(str(path) + ".ok")
    if path.exists() and marker.exists() and json.loads(marker.read_text()) == size:
        say(f"reusing {path}")
        return path
    say(f"building {path} (once; later runs reuse it)")
    build_cache(path, size)
    return path


# -- the naive way ----------------------------------------------------------------------------

def naive(path: Path, lo: int | None, hi: int | None):
    """Load every row of the tables the report reads with pandas.read_sql, then groupby."""
    import pandas as pd

    conn = sqlite3.connect(path)
    try:
        progress = pd.read_sql("SELECT * FROM course_progress", conn)
        roles = pd.read_sql("SELECT * FROM enrolment_roles", conn)
        enrol = pd.read_sql("SELECT * FROM enrolments", conn)
        users = pd.read_sql("SELECT * FROM users", conn)
        courses = pd.read_sql("SELECT * FROM courses", conn)
        acts = pd.read_sql("SELECT * FROM activity_completion", conn) if lo is not None else None
        runs = pd.read_sql("SELECT * FROM sync_runs", conn)
    finally:
        conn.close()
    student = roles[roles["roleid"] == 5][["courseid", "userid"]].drop_duplicates()
    p = progress.merge(student, on=["courseid", "userid"])
    p = p.merge(enrol[["courseid", "userid", "suspended"]], on=["courseid", "userid"], how="left")
    p = p[(p["suspended"].fillna(0) == 0) & p["progress"].notna()]
    p = p[~p["userid"].isin(users.loc[users["suspended"] == 1, "id"])]
    p = p[p["courseid"].isin(courses.loc[courses["enablecompletion"] == 1, "id"])]
    g = p.groupby("courseid")
    out = pd.DataFrame({"Learners": g.size(), "Completed": g["completed"].sum(),
                        "In progress": g.apply(lambda f: int(((f["completed"] == 0) & (f["progress"] > 0)).sum()),
                                               include_groups=False)})
    if acts is not None:
        dated = acts[acts["timecompleted"] > 0].groupby(["userid", "courseid"])["timecompleted"].max().rename("act")
        done = p[p["completed"] == 1].merge(dated, on=["userid", "courseid"], how="left")
        obs = runs.set_index("id")["finished_at"]
        d = done["act"].fillna(done["changed_run"].map(obs))
        inside = done.assign(d=d)[(d >= lo) & (d <= hi)].groupby("courseid").size()
        out["Completed in period"] = inside.reindex(out.index, fill_value=0)
    return out


def _check_same(report, reference) -> None:
    got = report.tables["rates"].assign(courseid=lambda t: t["_key"].str.slice(7).astype(int)).set_index("courseid")
    for col in reference.columns:
        a = got[col].sort_index().astype(int).tolist()
        b = reference[col].sort_index().astype(int).tolist()
        if a != b:
            raise AssertionError(f"the report and the naive computation disagree on {col!r}")


def _redraw_ms(result) -> tuple[float, float, float]:
    """(build + first draw, median redraw after a resize: wall, CPU) in ms, Agg at 100 dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from lms_console.services.charts import build_figure, palette

    t0 = time.perf_counter()
    fig = build_figure(result, palette("dark"), size=(12, 7), dpi=100)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    first = (time.perf_counter() - t0) * 1000
    wall, cpu = [], []
    for w, h in ((12, 7), (10, 6), (13, 8), (11, 7), (12, 7.5), (10.5, 6.5), (12, 7), (11.5, 7), (12, 7)):
        fig.set_size_inches(w, h)  # a resize: the next draw lays out and renders at the new size
        t, c = time.perf_counter(), time.process_time()
        canvas.draw()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return first, statistics.median(wall), statistics.median(cpu)


def run(quick: bool) -> Result:
    from lms_console.services.cache.db import CacheDb
    from lms_console.services.reports import ReportParams, run_report

    path = ensure_cache(quick)
    lo, hi = NOW - 90 * DAY, NOW
    repeats = 3
    with CacheDb.open(path, check=False) as db:
        # Warm the OS page cache for both sides alike.
        with db.read() as conn:
            for table in ("course_progress", "activity_completion", "enrolments", "enrolment_roles", "users"):
                conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
        results = {}

        def report(params):
            results[params] = run_report("completion", db, params)

        all_time, in_range = ReportParams(), ReportParams(date_from=lo, date_to=hi)
        t_all = [timed_both(lambda: report(all_time)) for _ in range(repeats)]
        t_range = [timed_both(lambda: report(in_range)) for _ in range(repeats)]
        ref: dict = {}
        n_all = timed_both(lambda: ref.__setitem__("all", naive(path, None, None)))
        n_range = timed_both(lambda: ref.__setitem__("range", naive(path, lo, hi)))
        _check_same(results[all_time], ref["all"])
        _check_same(results[in_range], ref["range"])
        first_ms, redraw_ms, redraw_cpu = _redraw_ms(results[all_time])

    def med(pairs, i):
        return statistics.median(p[i] for p in pairs)

    lines = []
    ratios = []
    for label, rep, nai in (("all-time rates:  ", t_all, n_all), ("rates in a range:", t_range, n_range)):
        wall, cpu = med(rep, 0) / nai[0], med(rep, 1) / nai[1]
        ratios.append(cpu)
        lines.append(f"{label} report {med(rep, 0):6.2f} s wall / {med(rep, 1):6.2f} s CPU (median of {repeats}) vs "
                     f"naive load+groupby {nai[0]:6.2f} s wall / {nai[1]:6.2f} s CPU -> ratio {cpu:.3f} CPU, "
                     f"{wall:.3f} wall")
    ratio = max(ratios)
    size = SIZES[quick]
    details = [
        (f"cache: {size['activities']:,} activity completions, {size['completed']:,} course completions, "
        f"{size['users'] * size['per_user']:,} learner-course pairs in {size['courses']:,} courses"),
        *lines,
        "both answers equal the naive computation's",
        (f"chart: build + first draw {first_ms:.0f} ms; redraw after a resize {redraw_ms:.0f} ms wall, "
        f"{redraw_cpu:.0f} ms CPU (median of 9; target <= {REDRAW_TARGET_MS:.0f} ms, judged on CPU time)"),
    ]
    return Result("reports", ratio, "ratio", 0.5, lower_is_better=True, details=details,
                  also_required=[redraw_cpu <= REDRAW_TARGET_MS])
