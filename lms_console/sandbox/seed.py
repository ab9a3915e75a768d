"""Deterministic, realistic seed data for the sandbox LMS.

``seed(store, users=..., courses=..., seed=...)`` fills an empty store with a
university-like site: users from many cultures (with custom profile fields,
some suspended, some never logged in, access spread over the last year),
nested categories, courses with numbered sections and activities of every
common type (files included), cohorts, groups and groupings, enrolments with
Moodle's stock role ids, course and activity completions spread over months,
and grades.  Everything comes from one ``random.Random(seed)`` and a fixed
``now`` so the same arguments always give the same database.

Bulk tables are written with ``executemany`` in large transactions; per row
the seed only builds a tuple, which keeps 100,000 users with 1,000,000
enrolments well under a minute.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
import unicodedata
from dataclasses import dataclass

from . import seed_data as D
from .seed_courses import CourseBuilder
from .store import Store

DAY = 86400
YEAR = 365 * DAY
DEFAULT_PASSWORD = "Sandbox#2024"
ROLES = [(1, "manager", 1), (2, "coursecreator", 2), (3, "editingteacher", 3), (4, "teacher", 4),
         (5, "student", 5), (6, "guest", 6), (7, "user", 7), (8, "frontpage", 8)]
MODULE_NAMES = ["assign", "folder", "forum", "label", "page", "quiz", "resource", "url", "subsection"]


@dataclass
class SeedInfo:
    admin_token: str
    limited_token: str
    expired_token: str
    users: int
    courses: int
    enrolments: int


def hash_password(password: str, salt: str = "sandbox") -> str:
    return "sha256$" + salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


def check_password(password: str, stored: str) -> bool:
    try:
        _, salt, _digest = stored.split("$", 2)
    except ValueError:
        return False
    return hash_password(password, salt) == stored


def ascii_fold(text: str) -> str:
    """``Müller`` -> ``muller``, ``O'Brien`` -> ``obrien`` (for usernames and emails)."""
    text = text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L").replace("ø", "o").replace("Ø", "O")
    text = text.replace("ı", "i").replace("đ", "d")
    norm = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in norm if ch.isascii() and (ch.isalnum())).lower()


class _Ids:
    """Counters standing in for Moodle's id sequences."""

    def __init__(self):
        self.next: dict[str, int] = {}

    def take(self, table: str, start: int = 1) -> int:
        value = self.next.get(table, start)
        self.next[table] = value + 1
        return value


def seed(store: Store, *, users: int = 2000, courses: int = 40, seed: int = 1, now: int | None = None,
         enrolments_per_user: float = 5.0, sitename: str = "Sandbox LMS") -> SeedInfo:
    """Fill ``store`` (which must be empty) with a deterministic demo site."""
    if now is None:
        now = int(time.time()) // DAY * DAY
    rng = random.Random(seed)
    with store.connection() as conn:
        if conn.execute("SELECT COUNT(*) FROM user").fetchone()[0]:
            raise RuntimeError("store already seeded")
        # A fresh file needs no crash safety while it is being filled: no journal, no fsync.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        store.drop_indexes(conn)
        try:
            with store.transaction(conn):
                ids = _Ids()
                _base(conn, ids, now, sitename)
                staff, students = _users(conn, ids, rng, users, now)
                builder = CourseBuilder(conn, store, ids, rng, now)
                builder.categories()
                builder.courses(courses)
                _cohorts(conn, ids, rng, now, staff, students, builder)
                enrolled = builder.enrol(staff, students, enrolments_per_user)
                tokens = _tokens(conn, rng, now)
                _counts(conn)
        finally:
            store.create_indexes(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA analysis_limit=1000")
        conn.execute("ANALYZE")
        with store.transaction(conn):
            # Written last: a file without it was cut short while seeding (and is not crash-safe).
            store.set_config(conn, "seed_complete", "1")
    return SeedInfo(*tokens, users=users, courses=courses, enrolments=enrolled)


def _base(conn: sqlite3.Connection, ids: _Ids, now: int, sitename: str) -> None:
    conn.executemany("INSERT INTO config(name, value) VALUES (?, ?)", [
        ("siteadmins", "2"), ("sitename", sitename), ("siteshortname", "Sandbox"),
        ("now_at_seed", str(now)), ("version", "2026020500"), ("release", "5.2dev (Build: 20260205)"),
    ])
    conn.executemany("INSERT INTO role(id, name, shortname, sortorder, archetype) VALUES (?, '', ?, ?, ?)",
                     [(rid, short, order, short) for rid, short, order in ROLES])
    conn.executemany("INSERT INTO modules(id, name) VALUES (?, ?)",
                     [(i + 1, name) for i, name in enumerate(MODULE_NAMES)])
    # Contexts in Moodle's install order: system, front page, guest, default category, admin.
    ctx = [(1, 10, 0, "/1", 1), (2, 50, 1, "/1/2", 2), (3, 30, 1, "/1/3", 2), (4, 40, 1, "/1/4", 2),
           (5, 30, 2, "/1/5", 2), (6, 30, 3, "/1/6", 2)]
    conn.executemany("INSERT INTO context(id, contextlevel, instanceid, path, depth) VALUES (?,?,?,?,?)", ctx)
    ids.next["context"] = 7
    conn.execute("INSERT INTO course(id, category, sortorder, fullname, shortname, summary, summaryformat, format,"
                 " newsitems) VALUES (1, 0, 1, ?, 'sandbox', '', 0, 'site', 3)", (sitename,))
    conn.execute("UPDATE course SET timecreated = ?, timemodified = ?, cacherev = ?, hiddensections = 0 WHERE id = 1",
                 (now - YEAR, now - YEAR, now))
    conn.execute("INSERT INTO course_sections(id, course, section, name, summary, sequence) VALUES (1, 1, 0, NULL, '', '')")
    ids.next["course_sections"] = 2
    ids.next["course"] = 2
    conn.execute("INSERT INTO course_categories(id, name, idnumber, description, parent, sortorder, depth, path,"
                 " timemodified, theme) VALUES (1, 'Miscellaneous', NULL, '', 0, 10000, 1, '/1', ?, '')", (now - YEAR,))
    ids.next["course_categories"] = 2
    pw = hash_password(DEFAULT_PASSWORD)
    base = ("INSERT INTO user(id, auth, username, password, firstname, lastname, email, description, timecreated,"
            " timemodified) VALUES (?,?,?,?,?,?,?,?,?,?)")
    conn.execute(base, (1, "manual", "guest", "", "Guest user", " ", "root@localhost",
                        "This user is a special user that allows read-only access to some courses.", now - YEAR, now - YEAR))
    conn.execute(base, (2, "manual", "admin", hash_password("Admin#2024"), "Admin", "User", "admin@example.com",
                        None, now - YEAR, now - YEAR))
    conn.execute(base, (3, "manual", "wslimited", pw, "Limited", "WSUser", "wslimited@example.com",
                        None, now - YEAR, now - YEAR))
    ids.next["user"] = 4
    conn.executemany("INSERT INTO user_info_field(id, shortname, name, datatype, sortorder, param1, defaultdata)"
                     " VALUES (?,?,?,?,?,?,?)", [
                         (1, "jobtitle", "Job title", "text", 1, None, ""),
                         (2, "contracttype", "Contract type", "menu", 2, "\n".join(D.CONTRACT_TYPES),
                          D.CONTRACT_TYPES[0]),
                     ])


def _users(conn, ids: _Ids, rng: random.Random, count: int, now: int):
    """Insert ``count`` users; return (staff ids, student ids) with their (firstaccess, lastaccess)."""
    weights = [w for w, _, _ in D.NAME_POOLS]
    pool_index = rng.choices(range(len(D.NAME_POOLS)), weights, k=count)
    pw = hash_password(DEFAULT_PASSWORD)
    usernames: dict[str, int] = {"admin": 1, "guest": 1, "wslimited": 1}
    emails: dict[str, int] = {}
    rows, data = [], []
    staff, students = [], []
    rand = rng.random
    randint = rng.randint
    for i in range(count):
        uid = ids.take("user", 4)
        _w, firsts, lasts = D.NAME_POOLS[pool_index[i]]
        first = firsts[int(rand() * len(firsts))]
        last = lasts[int(rand() * len(lasts))]
        f_ascii, l_ascii = ascii_fold(first), ascii_fold(last)
        base = (f_ascii[:1] + l_ascii) or f"user{uid}"
        n = usernames.get(base, 0) + 1
        usernames[base] = n
        username = base if n == 1 else f"{base}{n}"
        local = f"{f_ascii}.{l_ascii}" if f_ascii and l_ascii else username
        m = emails.get(local, 0) + 1
        emails[local] = m
        is_staff = rand() < 0.2
        domain = "staff.northbridge.example" if is_staff else "students.northbridge.example"
        email = f"{local}@{domain}" if m == 1 else f"{local}{m}@{domain}"
        roll = rand()
        auth = "manual" if roll < 0.90 else "ldap" if roll < 0.96 else "nologin" if roll < 0.985 else "email"
        confirmed = 0 if auth == "email" and rand() < 0.5 else 1
        suspended = 1 if rand() < 0.03 else 0
        if rand() < 0.08 or not confirmed:
            first_acc = last_acc = 0
            created = now - randint(0, YEAR)
        else:
            first_acc = now - randint(DAY, YEAR)
            r = rand()
            last_acc = now - int((now - first_acc) * r * r * r)
            created = first_acc - randint(0, 30 * DAY)
        city, country = D.PLACES[int(rand() * len(D.PLACES))] if rand() < 0.85 else ("", "")
        department = D.DEPARTMENTS[int(rand() * len(D.DEPARTMENTS))] if rand() < 0.9 else ""
        institution = D.INSTITUTIONS[int(rand() * len(D.INSTITUTIONS))] if rand() < 0.85 else ""
        phone = f"+44 20 7946 {randint(0, 9999):04d}" if rand() < 0.8 else ""
        idnumber = (f"EMP{10000 + uid}" if is_staff else f"S{2020000 + uid}") if rand() < 0.97 else ""
        description = f"{first} works in {department}." if department and rand() < 0.8 else None
        rows.append((uid, auth, confirmed, suspended, username, pw, idnumber, first, last, email, phone,
                     institution, department, city, country, first_acc, last_acc, last_acc, description,
                     created, max(created, last_acc)))
        if rand() < 0.85:
            title = D.JOB_TITLES[0] if not is_staff else D.JOB_TITLES[4 + int(rand() * (len(D.JOB_TITLES) - 4))]
            data.append((uid, 1, title))
        if rand() < 0.9:
            data.append((uid, 2, "Student" if not is_staff else D.CONTRACT_TYPES[1 + int(rand() * 3)]))
        (staff if is_staff else students).append((uid, first_acc, last_acc, suspended))
    conn.executemany(
        "INSERT INTO user(id, auth, confirmed, suspended, username, password, idnumber, firstname, lastname, email,"
        " phone1, institution, department, city, country, firstaccess, lastaccess, lastlogin, description,"
        " timecreated, timemodified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.executemany("INSERT INTO user_info_data(userid, fieldid, data) VALUES (?,?,?)", data)
    ctx_rows = []
    for uid in range(4, ids.next["user"]):
        cid = ids.take("context")
        ctx_rows.append((cid, 30, uid, f"/1/{cid}", 2))
    conn.executemany("INSERT INTO context(id, contextlevel, instanceid, path, depth) VALUES (?,?,?,?,?)", ctx_rows)
    return staff, students


def _cohorts(conn, ids: _Ids, rng: random.Random, now: int, staff, students, builder: CourseBuilder) -> None:
    cohorts, members = [], []
    by_dept: dict[str, list[int]] = {}
    for uid, dept in conn.execute("SELECT id, department FROM user WHERE id > 3 AND department <> ''"):
        by_dept.setdefault(dept, []).append(uid)

    def add(idnumber, name, desc, contextid=1, visible=1, userids=()):
        cid = ids.take("cohort")
        cohorts.append((cid, contextid, name, idnumber, desc, 1, visible, now - rng.randint(30, 300) * DAY, now))
        members.extend((cid, uid, now - rng.randint(0, 300) * DAY) for uid in userids)
        return cid

    add(*D.SYSTEM_COHORTS[0], userids=[u[0] for u in staff])
    year_groups: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for u in students:
        year_groups[u[0] % 3].append(u[0])
    for index, (idnumber, name, desc) in enumerate(D.SYSTEM_COHORTS[1:]):
        add(idnumber, name, desc, userids=year_groups[index])
    for dept in D.DEPARTMENTS:
        code = "".join(w[0] for w in dept.split()).upper()
        add(f"COH-DEPT-{code}", f"{dept} Department", "Department cohort", userids=by_dept.get(dept, []))
    for catid, name, ctxid in builder.category_contexts[:4]:
        pool = [u[0] for u in staff]
        picks = rng.sample(pool, min(len(pool), rng.randint(3, 15))) if pool else []
        add(f"COH-CAT-{catid}", f"{name} tutors", f"Category cohort ({name})", contextid=ctxid, userids=picks)
    add("COH-LEGACY", "Hidden legacy cohort", "Old cohort kept for reporting (not visible)", visible=0,
        userids=[u[0] for u in students[:20]])
    add("COH-EMPTY", "Empty cohort", "Cohort with no members")
    conn.executemany("INSERT INTO cohort(id, contextid, name, idnumber, description, descriptionformat, visible,"
                     " timecreated, timemodified) VALUES (?,?,?,?,?,?,?,?,?)", cohorts)
    conn.executemany("INSERT INTO cohort_members(cohortid, userid, timeadded) VALUES (?,?,?)", members)


def _tokens(conn, rng: random.Random, now: int) -> tuple[str, str, str]:
    conn.execute("INSERT INTO external_services(id, name, shortname, enabled, uploadfiles, downloadfiles, timecreated)"
                 " VALUES (1, 'LMS Console', 'lms_console', 1, 1, 1, ?)", (now,))
    conn.execute("INSERT INTO external_services(id, name, shortname, enabled, uploadfiles, downloadfiles, timecreated)"
                 " VALUES (2, 'Moodle mobile web service', 'moodle_mobile_app', 1, 1, 1, ?)", (now,))
    tokens = ["%032x" % rng.getrandbits(128) for _ in range(3)]
    conn.executemany("INSERT INTO external_tokens(token, userid, externalserviceid, validuntil, timecreated, name)"
                     " VALUES (?,?,?,?,?,?)", [
                         (tokens[0], 2, 1, 0, now, "admin"),
                         (tokens[1], 3, 1, 0, now, "limited"),
                         (tokens[2], 2, 1, now - DAY, now - 90 * DAY, "expired"),
                     ])
    return tokens[0], tokens[1], tokens[2]


def _counts(conn) -> None:
    conn.execute("UPDATE course_categories SET coursecount ="
                 " (SELECT COUNT(*) FROM course WHERE course.category = course_categories.id)")
