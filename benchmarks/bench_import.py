"""Import dry run: 50,000 CSV rows against a cache of 100,000 accounts, versus pandas.read_csv.

The cache holds synced-like accounts (profile fields, cohorts, enrolments); about half of the
file's usernames exist there, so rows split into creates, updates, unchanged, conflicts and
errors (bad emails, over-long names, duplicates, unknown cohorts/courses/roles), with cohort
and course columns. The dry run is everything from the file to the classified rows and the
changes ready for the change engine: encoding and delimiter detection, parsing, per-row checks,
the cache look-ups. Baseline: ``pandas.read_csv`` of the same file (parsing only).
Both take the median of 5 alternating runs; the ratio is taken on CPU time (what other
processes on a shared machine disturb least), wall time is printed too.
Target: dry run <= 5 x pandas.read_csv.
"""

from __future__ import annotations

import csv
import random
import time
from pathlib import Path

from benchmarks._common import Result, median, say, temp_dir, timed_both
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.importer import auto_map, check_mapping, read_table, run_dry_run
from lms_console.services.lms.base import Cohort, Course, CustomField, Enrolment, Members, Role, User

DEPARTMENTS = ("Sales", "Finance", "Engineering", "Support", "Marketing", "Legal", "HR", "Operations")
CITIES = (("Berlin", "DE"), ("Porto", "PT"), ("Lyon", "FR"), ("Leeds", "GB"), ("Austin", "US"), ("Graz", "AT"))
FIRST = ("Anna", "Ben", "Chloé", "David", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Luca")
LAST = ("Müller", "Silva", "Dubois", "Smith", "Novak", "García", "Rossi", "Kowalski", "Jensen", "Okafor")
ROLES = (Role(5, "student", "Student"), Role(3, "editingteacher", "Teacher"), Role(4, "teacher", "Non-editing teacher"))


def _user(i: int, rnd: random.Random) -> User:
    city, country = CITIES[i % len(CITIES)]
    return User(i, f"user{i:06d}", FIRST[i % len(FIRST)], f"{LAST[i % len(LAST)]}{i}", f"user{i:06d}@example.org",
                idnumber=f"E{i:06d}", department=DEPARTMENTS[i % len(DEPARTMENTS)], institution="Acme",
                city=city, country=country, lastaccess=1_700_000_000 + rnd.randrange(10_000_000),
                customfields=(CustomField("team", f"T{i % 40}", "Team", "text"),))


def build_cache(path: Path, users: int, rnd: random.Random) -> CacheDb:
    db = CacheDb.open(path)
    with CacheWriter(db) as writer:
        run = writer.begin_run(["users", "cohorts", "courses", "enrolments"])
        for start in range(1, users + 1, 20_000):
            writer.upsert_users([_user(i, rnd) for i in range(start, min(users + 1, start + 20_000))], run)
        writer.upsert_cohorts([Cohort(c, f"Cohort {c}", f"COH{c}", categoryid=0) for c in range(1, 31)], run)
        writer.upsert_courses([Course(c, f"C{c:03d}", f"Course {c}", 1) for c in range(1, 61)], run)
        writer.replace_cohort_members([Members(c, tuple(range(c, users + 1, 30))) for c in range(1, 31)], run)
        writer.upsert_enrolments([Enrolment(1 + u % 60, u, (ROLES[0],)) for u in range(1, users + 1, 2)], run)
        writer.finish_run(run, "ok")
    return db


HEADER = ["username", "firstname", "lastname", "email", "password", "idnumber", "department", "institution", "city",
          "country", "cohort1", "course1", "role1", "profile_field_team"]


def write_csv(path: Path, rows: int, cache_users: int, rnd: random.Random) -> dict[str, int]:
    """~half existing accounts (most unchanged, some updated, a few with another email), the rest new;
    ~3% bad rows (email, length, unknown cohort/course/role, in-file duplicates), some empty rows."""
    mix = {"existing": 0, "new": 0, "bad": 0, "empty": 0}
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        existing = rnd.sample(range(1, cache_users + 1), rows // 2)
        k = 0
        for r in range(rows):
            roll = rnd.random()
            if roll < 0.003:
                out.writerow([""] * len(HEADER))
                mix["empty"] += 1
                continue
            if r % 2 == 0 and k < len(existing):
                i = existing[k]
                k += 1
                u = _user(i, rnd)
                dept = u.department if rnd.random() < 0.9 else "Training"
                email = u.email if rnd.random() > 0.01 else f"other{i}@example.net"
                row = [u.username, u.firstname, u.lastname, email, "", u.idnumber, dept, u.institution, u.city,
                       u.country, f"COH{i % 30 or 30}" if rnd.random() < 0.9 else f"COH{rnd.randrange(1, 31)}",
                       f"C{1 + i % 60:03d}" if i % 2 else "", "student" if i % 2 else "", f"T{i % 40}"]
                mix["existing"] += 1
            else:
                i = cache_users + 1 + r
                city, country = CITIES[r % len(CITIES)]
                row = [f"new{i:07d}", FIRST[r % len(FIRST)], LAST[r % len(LAST)], f"new{i:07d}@example.org",
                       f"Pw-{i:07d}x", f"N{i:07d}", DEPARTMENTS[r % len(DEPARTMENTS)], "Acme", city, country,
                       f"COH{rnd.randrange(1, 31)}", f"C{rnd.randrange(1, 61):03d}",
                       rnd.choice(("student", "student", "teacher")), f"T{r % 40}"]
                mix["new"] += 1
            if rnd.random() < 0.03:
                what = rnd.randrange(6)
                if what == 0:
                    row[3] = row[3].replace("@", " at ")
                elif what == 1:
                    row[1] = "X" * 120
                elif what == 2:
                    row[10] = "NO-SUCH-COHORT"
                elif what == 3:
                    row[11] = "NOPE101"
                elif what == 4:
                    row[12] = "overlord"
                else:
                    row[0] = f"user{rnd.randrange(1, cache_users):06d}" if rnd.random() < 0.5 else row[0].upper()
                mix["bad"] += 1
            out.writerow(row)
    return mix


def run(quick: bool) -> Result:
    import pandas

    cache_users, rows = (20_000, 5_000) if quick else (100_000, 50_000)
    rnd = random.Random(5)
    with temp_dir() as tmp:
        t0 = time.perf_counter()
        db = build_cache(tmp / "cache.sqlite", cache_users, rnd)
        path = tmp / "people.csv"
        mix = write_csv(path, rows, cache_users, rnd)
        say(f"cache of {cache_users:,} accounts and a {rows:,}-row CSV ({path.stat().st_size / 1e6:.1f} MB) built "
            f"in {time.perf_counter() - t0:.1f} s; file mix: {mix}")
        try:
            kept: list = []

            def dry():
                table = read_table(path)
                targets = auto_map(table.headers)
                assert check_mapping(table.headers, targets).ok
                kept.append(run_dry_run(db, table, targets))

            def baseline():
                kept.append(pandas.read_csv(path))

            # Results are dropped outside the timed calls (freeing 50,000 rows is not part of either).
            dry()  # warm the cache file's pages and the imports, as for the baseline
            baseline()
            result = kept[0]
            walls, cpus, base_walls, base_cpus = [], [], [], []
            for _ in range(5):
                kept.clear()
                w, c = timed_both(baseline)
                base_walls.append(w)
                base_cpus.append(c)
                kept.clear()
                w, c = timed_both(dry)
                walls.append(w)
                cpus.append(c)
            kept.clear()
        finally:
            db.close()
    ratio = median(cpus) / median(base_cpus)
    wall_ratio = median(walls) / median(base_walls)
    return Result("import", ratio, "ratio", 5, lower_is_better=True, details=[
        (f"dry run of {len(result.rows):,} rows: {result.summary()}; {len(result.changes):,} changes "
         f"({', '.join(f'{k} {n:,}' for k, n in _kinds(result).items())})"),
        f"pandas.read_csv: median {median(base_cpus) * 1000:.0f} ms CPU, {median(base_walls) * 1000:.0f} ms wall",
        f"dry run:         median {median(cpus) * 1000:.0f} ms CPU, {median(walls) * 1000:.0f} ms wall",
        f"ratio: {ratio:.2f}x on CPU time, {wall_ratio:.2f}x on wall time (target <= 5)",
    ])


def _kinds(result) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in result.changes:
        out[c.kind] = out.get(c.kind, 0) + 1
    return out
