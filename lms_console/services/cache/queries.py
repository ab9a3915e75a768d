"""Read side of the cache: small pure functions over a Connection from ``CacheDb.read()``.

They return frozen dataclasses / DTOs / plain containers, never Row objects, so results can cross
threads. Panes page through users with ``search_users``/``list_users`` (LIMIT/OFFSET in SQL: never
filter or sort a million rows in Python or in a Qt proxy model).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection

from lms_console.services.cache.schema import USER_COLUMNS
from lms_console.services.lms.base import CustomField, SiteInfo, User


@dataclass(frozen=True, slots=True)
class SyncStateRow:
    entity: str
    status: str
    run_id: int | None
    last_success_at: int | None  # freshness: the data is "as of" this time
    last_attempt_at: int | None
    rows: int | None
    error: str | None
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SyncRun:
    id: int
    started_at: int
    finished_at: int | None
    status: str
    entities: tuple[str, ...]
    error: str | None


@dataclass(frozen=True, slots=True)
class Partition:
    key: str
    last_count: int | None
    done_run: int | None


def _scalar(conn: Connection, sql: str, params: Sequence = ()) -> Any:
    return conn.exec_driver_sql(sql, tuple(params)).scalar()


# -- overview and doctor ----------------------------------------------------------------------------

# The site's guest account, as the cache knows it (site info does not carry ``siteguest``; Moodle gives the
# account this username at install and never lets it change). The console never lists, counts or changes
# it (users_query.NOT_GUEST).
GUEST_USERNAME = "guest"
_NOT_GUEST = f"username <> '{GUEST_USERNAME}'"
# Users as the users pane counts them: not the guest account.
_COUNTS = {
    "users": f"SELECT count(*) FROM users WHERE {_NOT_GUEST}",
    "active": f"SELECT count(*) FROM users WHERE suspended = 0 AND {_NOT_GUEST}",
    "suspended": f"SELECT count(*) FROM users WHERE suspended = 1 AND {_NOT_GUEST}",
    # Moodle lists the front page as a course (format 'site'); it is not one to an admin.
    "courses": "SELECT count(*) FROM courses WHERE format <> 'site'",
    "categories": "SELECT count(*) FROM categories",
    "cohorts": "SELECT count(*) FROM cohorts",
    "groups": 'SELECT count(*) FROM "groups"',
    "enrolments": "SELECT count(*) FROM enrolments",
    "completions": "SELECT count(*) FROM course_progress WHERE completed = 1",
}


def counts(conn: Connection) -> dict[str, int]:
    """Row counts for the overview: users, active, suspended, courses, categories, cohorts, groups,
    enrolments, completions (completed course_progress rows)."""
    sql = "SELECT " + ", ".join(f"({q}) AS {k}" for k, q in _COUNTS.items())
    row = conn.exec_driver_sql(sql).one()
    return dict(zip(_COUNTS, (int(v) for v in row)))


def _state(row) -> SyncStateRow:
    return SyncStateRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                        json.loads(row[7]) if row[7] else None)


def freshness(conn: Connection) -> dict[str, SyncStateRow]:
    """Per entity: last status, and ``last_success_at`` ("as of") for the status bar."""
    rows = conn.exec_driver_sql(
        "SELECT entity, status, run_id, last_success_at, last_attempt_at, rows, error, detail "
        "FROM sync_state ORDER BY entity").all()
    return {r[0]: _state(r) for r in rows}


def stale_entities(conn: Connection, entities, max_age_s: float, now: float) -> list[str]:
    """Those of ``entities`` not synced completely within ``max_age_s`` of ``now`` (never, last pass failed or
    partial, or older); all of them while a run is unfinished (it is to be resumed)."""
    if unfinished_run(conn) is not None:
        return list(entities)
    state = freshness(conn)
    return [e for e in entities if (s := state.get(e)) is None or s.status != "ok" or not s.last_success_at
            or now - s.last_success_at > max_age_s]


def ever_synced(path: str | Path) -> bool:
    """Whether the cache file at ``path`` holds at least one successful sync: a read-only peek that neither
    creates, migrates nor checks the file (for hints about a profile that is not open)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("SELECT 1 FROM sync_state WHERE last_success_at > 0 LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return row is not None


def sync_state(conn: Connection, entity: str) -> SyncStateRow | None:
    row = conn.exec_driver_sql(
        "SELECT entity, status, run_id, last_success_at, last_attempt_at, rows, error, detail "
        "FROM sync_state WHERE entity = ?", (entity,)).first()
    return _state(row) if row else None


def _run(row) -> SyncRun:
    return SyncRun(row[0], row[1], row[2], row[3], tuple(json.loads(row[4] or "[]")), row[5])


_RUN_SQL = "SELECT id, started_at, finished_at, status, entities, error FROM sync_runs"


def last_run(conn: Connection) -> SyncRun | None:
    row = conn.exec_driver_sql(f"{_RUN_SQL} ORDER BY id DESC LIMIT 1").first()
    return _run(row) if row else None


def unfinished_run(conn: Connection) -> SyncRun | None:
    """The newest run that never finished (the app crashed or was killed): the one to resume."""
    row = conn.exec_driver_sql(f"{_RUN_SQL} WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1").first()
    return _run(row) if row else None


def get_site_info(conn: Connection) -> SiteInfo | None:
    row = conn.exec_driver_sql(
        "SELECT siteid, sitename, siteurl, release, version, userid, username, fullname, is_site_admin, "
        "functions, upload_allowed, download_allowed, max_upload_bytes, user_quota, lang, theme "
        "FROM site_info WHERE id = 1").first()
    if row is None:
        return None
    return SiteInfo(
        siteid=row[0], sitename=row[1], siteurl=row[2], release=row[3], version=row[4], userid=row[5],
        username=row[6], fullname=row[7], is_site_admin=bool(row[8]), functions=frozenset(json.loads(row[9])),
        upload_allowed=bool(row[10]), download_allowed=bool(row[11]), max_upload_bytes=row[12],
        user_quota=row[13], lang=row[14], theme=row[15])


# -- sync planning ------------------------------------------------------------------------------------

def user_ids(conn: Connection) -> set[int]:
    return {r[0] for r in conn.exec_driver_sql("SELECT id FROM users")}


def course_ids(conn: Connection) -> list[int]:
    return [r[0] for r in conn.exec_driver_sql("SELECT id FROM courses ORDER BY id")]


def _prefix_end(prefix: str) -> str:
    """An upper bound of the (lower-case) strings that start with ``prefix``. Not the last character
    plus one: under NOCASE '@' + 1 = 'A' compares as 'a', and '@'..'a' would take in '^', '_', '`'."""
    return prefix + "\U0010ffff"


def partition_counts(conn: Connection, prefixes: Iterable[str]) -> dict[str, int]:
    """Users per e-mail prefix (case-insensitive, any length), to plan the next sync's partitions.

    ``email`` is ``COLLATE NOCASE``, so each count is a range scan of its index
    (``email >= p AND email < p'``): 36 one-letter prefixes over 200k users take ~15 ms.
    """
    out: dict[str, int] = {}
    for prefix in prefixes:
        low = prefix.lower()
        if not low:
            out[prefix] = int(_scalar(conn, "SELECT count(*) FROM users"))
        else:
            out[prefix] = int(_scalar(conn, "SELECT count(*) FROM users WHERE email >= ? AND email < ?",
                                      (low, _prefix_end(low))))
    return out


def partitions(conn: Connection, entity: str) -> dict[str, Partition]:
    rows = conn.exec_driver_sql(
        "SELECT key, last_count, done_run FROM sync_partitions WHERE entity = ? ORDER BY key", (entity,))
    return {r[0]: Partition(r[0], r[1], r[2]) for r in rows}


def pending_partitions(conn: Connection, entity: str, run_id: int) -> list[str]:
    """Planned partitions of ``entity`` that run ``run_id`` has not finished (resume after a crash)."""
    rows = conn.exec_driver_sql(
        "SELECT key FROM sync_partitions WHERE entity = ? AND done_run IS NOT ? ORDER BY key", (entity, run_id))
    return [r[0] for r in rows]


def partitions_done(conn: Connection, entity: str, run_id: int) -> set[str]:
    """Partitions of ``entity`` that run ``run_id`` finished."""
    rows = conn.exec_driver_sql(
        "SELECT key FROM sync_partitions WHERE entity = ? AND done_run = ?", (entity, run_id))
    return {r[0] for r in rows}


_UNSEEN = {"users": "users", "categories": "categories", "courses": "courses", "cohorts": "cohorts"}


def unseen_ids(conn: Connection, entity: str, run_id: int) -> list[int]:
    """Ids of ``entity`` (users, categories, courses, cohorts) that run ``run_id`` has not seen:
    what ``CacheWriter.sweep`` would delete."""
    table = _UNSEEN[entity]
    return [r[0] for r in conn.exec_driver_sql(f"SELECT id FROM {table} WHERE seen_run <> ? ORDER BY id", (run_id,))]


def seen_ids(conn: Connection, entity: str, run_id: int) -> list[int]:
    """Ids of ``entity`` (users, categories, courses, cohorts) that run ``run_id`` has seen."""
    table = _UNSEEN[entity]
    return [r[0] for r in conn.exec_driver_sql(f"SELECT id FROM {table} WHERE seen_run = ? ORDER BY id", (run_id,))]


def enrolled_user_ids(conn: Connection) -> list[int]:
    """Every user with at least one cached enrolment (whose course progress is worth fetching)."""
    return [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT userid FROM enrolments ORDER BY userid")]


def progress_readers(conn: Connection, lag_s: int) -> list[int]:
    """Enrolled users whose course progress is worth reading again (sync_completion): an active enrolment
    without progress yet (Moodle reports progress for active enrolments only), no known last access or read
    time, or a last access at most ``lag_s`` before the run that last read their progress."""
    return [r[0] for r in conn.exec_driver_sql(
        "SELECT e.userid FROM enrolments e JOIN users u ON u.id = e.userid "
        "LEFT JOIN course_progress p ON p.userid = e.userid AND p.courseid = e.courseid "
        "LEFT JOIN sync_runs r ON r.id = p.seen_run WHERE e.suspended = 0 "
        "GROUP BY e.userid HAVING count(p.userid) < count(*) OR max(u.lastaccess) IS NULL "
        "OR min(r.started_at) IS NULL OR max(u.lastaccess) >= min(r.started_at) - ? ORDER BY e.userid",
        (lag_s,))]


def progress_pairs_to_refresh(conn: Connection, run_id: int, *, changed_only: bool = True) -> list[tuple[int, int]]:
    """``(userid, courseid)`` pairs whose activity completion should be fetched after run ``run_id``.

    ``changed_only``: pairs whose progress changed (or appeared) in this run and is above 0 % (0 %
    means no activity is complete), or dropped to 0 % while the cache holds completed activities of
    them (completions cleared on the site). Otherwise every tracked pair (progress known) this run saw.
    """
    if changed_only:
        sql = ("SELECT userid, courseid FROM course_progress p WHERE changed_run = ? AND (progress > 0 OR EXISTS "
               "(SELECT 1 FROM activity_completion a WHERE a.courseid = p.courseid AND a.userid = p.userid)) "
               "ORDER BY courseid, userid")
    else:
        sql = ("SELECT userid, courseid FROM course_progress WHERE seen_run = ? AND progress IS NOT NULL "
               "ORDER BY courseid, userid")
    return [(r[0], r[1]) for r in conn.exec_driver_sql(sql, (run_id,))]


# -- users --------------------------------------------------------------------------------------------

_USER_SELECT = ", ".join(f"u.{c}" for c in USER_COLUMNS[:-2])  # DTO fields + customfields


_BOOL_AT = tuple(USER_COLUMNS.index(c) for c in ("suspended", "confirmed"))


def _user(row) -> User:
    values = list(row)
    cfs = tuple(CustomField(shortname=c[0], value=c[1], displayvalue=c[2], name=c[3], type=c[4])
                for c in json.loads(values.pop() or "[]"))
    for i in _BOOL_AT:  # SQLite hands booleans back as 0/1
        values[i] = bool(values[i])
    return User(*values, customfields=cfs)


def get_user(conn: Connection, userid: int) -> User | None:
    row = conn.exec_driver_sql(f"SELECT {_USER_SELECT} FROM users u WHERE u.id = ?", (userid,)).first()
    return _user(row) if row else None


def fts_query(text: str) -> str | None:
    """User input -> a safe FTS5 query: every whitespace-separated word a quoted prefix term, ANDed.

    Inside an FTS5 string everything is literal except ``"`` (doubled here), so ``*``, ``-``, ``:``,
    ``^``, parentheses, unbalanced quotes or FTS keywords (AND/OR/NOT/NEAR) never form syntax; the
    tokenizer then splits each word exactly as it split the indexed text ("o'brien" -> o, brien).
    A word with no token characters becomes an empty phrase, which FTS5 ignores. None: no words.
    """
    clean = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")  # NUL ends a C string
    words = clean.split()
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def search_users(conn: Connection, text: str, limit: int = 50, offset: int = 0, *,
                 by_relevance: bool = False) -> list[User]:
    """Users matching every word of ``text`` as a prefix (username, names, e-mail, idnumber,
    department; case and accents ignored), in name order (stable for paging); ``by_relevance``
    orders by FTS rank instead (3x slower for broad type-ahead queries). Empty text: everyone."""
    query = fts_query(text)
    order = "u.lastname, u.firstname, u.id"
    if query is None:
        rows = conn.exec_driver_sql(f"SELECT {_USER_SELECT} FROM users u ORDER BY {order} LIMIT ? OFFSET ?",
                                    (limit, offset))
    elif by_relevance:
        rows = conn.exec_driver_sql(
            f"SELECT {_USER_SELECT} FROM users_fts f JOIN users u ON u.id = f.rowid "
            f"WHERE users_fts MATCH ? ORDER BY f.rank, {order} LIMIT ? OFFSET ?", (query, limit, offset))
    else:
        rows = conn.exec_driver_sql(
            f"SELECT {_USER_SELECT} FROM users u WHERE u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?) "
            f"ORDER BY {order} LIMIT ? OFFSET ?", (query, limit, offset))
    return [_user(r) for r in rows]


def count_search_users(conn: Connection, text: str) -> int:
    query = fts_query(text)
    if query is None:
        return int(_scalar(conn, "SELECT count(*) FROM users"))
    return int(_scalar(conn, "SELECT count(*) FROM users_fts WHERE users_fts MATCH ?", (query,)))


def users_with_custom_field(conn: Connection, shortname: str, value: str) -> list[int]:
    """Ids of users whose custom profile field ``shortname`` equals ``value``."""
    rows = conn.exec_driver_sql(
        "SELECT userid FROM user_custom_fields WHERE shortname = ? AND value = ? ORDER BY userid", (shortname, value))
    return [r[0] for r in rows]


def access_history(conn: Connection, userid: int, courseid: int = 0) -> list[tuple[int, int]]:
    """``(lastaccess, observed_at)`` observations of a user on the site (0) or in a course, oldest first."""
    rows = conn.exec_driver_sql(
        "SELECT lastaccess, observed_at FROM user_access_history WHERE userid = ? AND courseid = ? "
        "ORDER BY lastaccess", (userid, courseid))
    return [(r[0], r[1]) for r in rows]


def members(conn: Connection, kind: str, container_id: int) -> list[int]:
    """User ids in a cohort (``kind='cohort'``) or a group (``kind='group'``)."""
    table, key = {"cohort": ("cohort_members", "cohortid"), "group": ("group_members", "groupid")}[kind]
    rows = conn.exec_driver_sql(f"SELECT userid FROM {table} WHERE {key} = ? ORDER BY userid", (container_id,))
    return [r[0] for r in rows]
