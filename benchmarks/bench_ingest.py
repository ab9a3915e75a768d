"""Ingest: CacheWriter.upsert_users vs raw sqlite3 executemany of the same rows (target >= 0.6x).

Full size: 200,000 users with 2 custom fields each (--quick: 20,000). Two passes into a fresh cache:
insert (every row new) and update (every row conflicts; ~10 % changed lastaccess, 2 % names, 1 %
custom fields, 1 % e-mail, 0.5 % suspension). Baselines, each in its own file with the identical
schema (built by the same migrations, so the same tables, indexes and triggers), one transaction:

- raw: sqlite3 ``executemany`` of the writer's own statements (stage rows in a TEMP table, one
  set-based upsert), rows built BEFORE the clock starts. This isolates the writer's overhead (row
  building from DTOs, JSON of custom fields, SQLAlchemy transaction) and is the reported figure:
  value = min(writer rate / raw rate) over the two passes, rates from the CPU time of this process
  (median of 5 repeats, writer and raw alternating who goes first). Wall-time rates and ratios are
  printed too: on a shared 2-core machine other processes' load lands in them at random.
- naive (information): sqlite3 ``executemany`` of ``INSERT ... ON CONFLICT(id) DO UPDATE SET``
  every column straight into ``users``, the textbook upsert; shows what the staging buys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import sqlite3
from pathlib import Path
from typing import Sequence

from benchmarks._common import Result, median, peak_rss_mb, say, temp_dir, timed_both
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.schema import USER_COLUMNS
from lms_console.services.cache import writer as writer_module
from lms_console.services.cache.writer import CacheWriter, UsersIngestSql
from lms_console.services.lms.base import CustomField, User

NOW = 1_767_225_600  # the writer's clock, fixed so both files must come out identical
TARGET = 0.6

_FIRST = ("Anna", "José", "Łukasz", "Mia", "Noah", "Zoë", "Ben", "Chloé", "Ömer", "Li", "Aiko", "Søren",
          "Fatima", "Jürgen", "Amélie", "Dmitri", "Siobhán", "Mateo", "Nuño", "Kateřina", "Oliver", "Emma")
_LAST = ("Smith", "García", "Müller", "Nguyen", "Kowalski", "O'Brien", "van Dijk", "Rossi", "Ivanova",
         "Tanaka", "Dvořák", "Johansson", "Øvergaard", "Papadopoulos", "Hernández", "Schäfer", "Kim", "Brown")
_DEPTS = ("Mathematics", "Physics", "Art & Design", "Economics", "Nursing", "Computer Science", "", "History")
_COUNTRIES = ("DE", "FR", "GB", "ES", "PL", "NL", "US", "JP", "")
_AUTH = ("manual",) * 16 + ("ldap",) * 3 + ("oauth2",)
_FACULTIES = ("Science", "Arts", "Medicine", "Engineering", "Law")


def make_users(n: int, seed: int = 42) -> list[User]:
    """``n`` realistic users, deterministic for a seed, ids 2.. (1 is the guest in Moodle)."""
    rnd = random.Random(seed)
    users = []
    for i in range(n):
        first, last = rnd.choice(_FIRST), rnd.choice(_LAST)
        never = rnd.random() < 0.08
        first_access = 0 if never else 1_500_000_000 + rnd.randrange(200_000_000)
        faculty = rnd.choice(_FACULTIES)
        users.append(User(
            id=i + 2,
            username=f"{first[:1]}{last}{i}".lower().replace(" ", "").replace("'", ""),
            firstname=first,
            lastname=last,
            email=f"{first}.{last}.{i}@{rnd.choice(('uni.example.org', 'mail.example.com', 'staff.example.org'))}"
            .lower().replace(" ", "").replace("'", ""),
            idnumber=f"S{i:08d}" if rnd.random() < 0.9 else "",
            department=rnd.choice(_DEPTS),
            institution="Example University",
            city=rnd.choice(("Berlin", "Lyon", "Kraków", "Leeds", "Sevilla", "Utrecht", "")),
            country=rnd.choice(_COUNTRIES),
            auth=rnd.choice(_AUTH),
            suspended=rnd.random() < 0.03,
            confirmed=rnd.random() > 0.001,
            firstaccess=first_access,
            lastaccess=0 if never else first_access + rnd.randrange(60_000_000),
            lang=rnd.choice(("en", "de", "fr", "es")),
            timezone="99",
            phone1=f"+49 30 {rnd.randrange(10**6, 10**7)}" if rnd.random() < 0.3 else "",
            description="<p>Student representative</p>" if rnd.random() < 0.05 else "",
            customfields=(
                CustomField("faculty", faculty, name="Faculty", type="menu", displayvalue=faculty),
                CustomField("staffno", f"{rnd.randrange(10**7):07d}", name="Staff number", type="text"),
            ),
        ))
    return users


def modify(users: Sequence[User], seed: int = 7) -> list[User]:
    """The next sync's view of the same users: every row conflicts, some values changed."""
    rnd = random.Random(seed)
    out = []
    for u in users:
        changes: dict = {}
        r = rnd.random()
        if r < 0.10:
            changes["lastaccess"] = max(u.lastaccess, u.firstaccess) + 86_400 + rnd.randrange(86_400)
        if rnd.random() < 0.02:
            changes["lastname"] = rnd.choice(_LAST)
        if rnd.random() < 0.01:
            changes["customfields"] = (u.customfields[0], CustomField("staffno", "changed", name="Staff number",
                                                                      type="text"))
        if rnd.random() < 0.01:
            changes["email"] = f"moved.{u.id}@new.example.org"
        if rnd.random() < 0.005:
            changes["suspended"] = not u.suspended
        out.append(dataclasses.replace(u, **changes) if changes else u)
    return out


def _cf_json_plain(cfs: Sequence[CustomField]) -> str:
    # The same text as custom_fields_json, without its memo (which must not be warmed for the writer).
    return json.dumps([[f.shortname, f.value, f.displayvalue, f.name, f.type] for f in cfs], ensure_ascii=False,
                      separators=(",", ":"))


def _rows(users: Sequence[User]) -> list[tuple]:
    fields = UsersIngestSql.STAGE_COLUMNS[:-1]
    return [tuple(getattr(u, f) for f in fields) + (_cf_json_plain(u.customfields),) for u in users]


def _raw_connect(path: Path) -> sqlite3.Connection:
    with CacheDb.open(path):  # the identical schema, by the same migrations
        pass
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "temp_store = MEMORY",
                   "cache_size = -65536", "busy_timeout = 10000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


Timing = tuple[float, float]  # (wall, cpu) seconds


def _writer_passes(path: Path, users: Sequence[User], changed: Sequence[User]) -> tuple[Timing, Timing]:
    with CacheDb.open(path) as db, CacheWriter(db, clock=lambda: NOW) as writer:
        writer_module._CF_FRAGMENTS.clear()  # start cold, as a new process would
        t_insert = timed_both(lambda: writer.upsert_users(users, 1))
        writer_module._CF_FRAGMENTS.clear()
        t_update = timed_both(lambda: writer.upsert_users(changed, 2))
    return t_insert, t_update


def _raw_passes(path: Path, rows: list[tuple], rows_changed: list[tuple]) -> tuple[Timing, Timing]:
    q = UsersIngestSql
    conn = _raw_connect(path)
    try:
        conn.execute(q.CREATE_STAGE)

        def ingest(batch: list[tuple], run_id: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            for start in range(0, len(batch), q.CHUNK):
                conn.executemany(q.STAGE, batch[start:start + q.CHUNK])
                conn.execute(q.APPLY, (run_id, NOW))
                conn.execute(q.MARK_SEEN, (run_id, NOW))
                conn.execute(q.CLEAR)
            conn.execute("COMMIT")

        return timed_both(lambda: ingest(rows, 1)), timed_both(lambda: ingest(rows_changed, 2))
    finally:
        conn.close()


def _naive_passes(path: Path, rows: list[tuple], rows_changed: list[tuple]) -> tuple[Timing, Timing]:
    cols = USER_COLUMNS
    sql = (f"INSERT INTO users ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT (id) "
           f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols[1:])}")
    conn = _raw_connect(path)
    try:
        def ingest(batch: list[tuple], run_id: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, [r + (run_id, NOW) for r in batch])
            conn.execute("COMMIT")

        return timed_both(lambda: ingest(rows, 1)), timed_both(lambda: ingest(rows_changed, 2))
    finally:
        conn.close()


def _fingerprint(path: Path) -> str:
    """Digest of everything the ingest writes, to prove writer and baseline did the same work."""
    digest = hashlib.sha256()
    conn = sqlite3.connect(path)
    try:
        for sql in ("SELECT * FROM users ORDER BY id", "SELECT * FROM user_custom_fields ORDER BY userid, shortname",
                    "SELECT * FROM user_access_history ORDER BY userid, courseid, lastaccess",
                    "SELECT rowid FROM users_fts WHERE users_fts MATCH 'example' ORDER BY rowid"):
            for row in conn.execute(sql):
                digest.update(repr(row).encode())
    finally:
        conn.close()
    return digest.hexdigest()[:16]


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run(quick: bool) -> Result:
    n = 20_000 if quick else 200_000
    repeats = 5
    say(f"ingest: {n:,} users x 2 custom fields, {repeats} repeats (median; writer and raw alternate who goes "
        f"first), SQLite {sqlite3.sqlite_version}")
    users = make_users(n)
    changed = modify(users)
    rows, rows_changed = _rows(users), _rows(changed)
    # times[side][phase] = [(wall, cpu), ...]
    times: dict[str, dict[str, list[Timing]]] = {s: {"insert": [], "update": []} for s in ("writer", "raw")}
    with temp_dir() as tmp:
        w_path, r_path = tmp / "writer.sqlite", tmp / "raw.sqlite"
        for r in range(repeats):
            steps = [("writer", lambda: _writer_passes(w_path, users, changed)),
                     ("raw", lambda: _raw_passes(r_path, rows, rows_changed))]
            for side, step in steps if r % 2 == 0 else reversed(steps):
                ins, upd = step()
                times[side]["insert"].append(ins)
                times[side]["update"].append(upd)
            if _fingerprint(w_path) != _fingerprint(r_path):
                raise AssertionError("writer and raw baseline produced different caches")
            if r == 0:
                with CacheDb.open(w_path) as db:
                    problems = db.integrity_check()
                if problems:
                    raise AssertionError(f"integrity check failed after ingest: {problems[:3]}")
            _remove(w_path)
            _remove(r_path)
            w, b = times["writer"], times["raw"]
            say(f"  repeat {r + 1}: rows/s wall (cpu) insert / update: writer "
                f"{n / w['insert'][-1][0]:,.0f} ({n / w['insert'][-1][1]:,.0f}) / "
                f"{n / w['update'][-1][0]:,.0f} ({n / w['update'][-1][1]:,.0f}), raw "
                f"{n / b['insert'][-1][0]:,.0f} ({n / b['insert'][-1][1]:,.0f}) / "
                f"{n / b['update'][-1][0]:,.0f} ({n / b['update'][-1][1]:,.0f})")
        naive = _naive_passes(tmp / "naive.sqlite", rows, rows_changed)
    details = []
    cpu_ratios = {}
    for phase, nv in zip(("insert", "update"), naive):
        wall_w, cpu_w = (median([t[i] for t in times["writer"][phase]]) for i in (0, 1))
        wall_b, cpu_b = (median([t[i] for t in times["raw"][phase]]) for i in (0, 1))
        cpu_ratios[phase] = cpu_b / cpu_w
        details.append(f"{phase} pass: writer {n / wall_w:,.0f} rows/s wall ({n / cpu_w:,.0f} cpu), raw "
                       f"{n / wall_b:,.0f} rows/s wall ({n / cpu_b:,.0f} cpu); ratio {cpu_b / cpu_w:.2f} cpu, "
                       f"{wall_b / wall_w:.2f} wall; naive raw upsert {n / nv[0]:,.0f} rows/s wall "
                       f"(writer {nv[0] / wall_w:.1f}x that)")
    details.append("figure = the worse pass's CPU-time ratio (wall time on a shared machine also bills other "
                   "processes; both are shown)")
    details.append(f"peak RSS {peak_rss_mb():,.0f} MiB")
    return Result("ingest", min(cpu_ratios.values()), "ratio", TARGET, details=details)
