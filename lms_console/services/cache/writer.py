"""The cache's only writer: DTOs from the sync engine in, rows out, one transaction per call.

Used from ONE thread (the task runner's cache-writer thread). Every public method is one
transaction, so a crash between calls leaves the cache consistent; ``with writer.batch():`` groups
several calls into one. A failed call raises :class:`CacheWriteError` after rolling back.

The statements are plain SQL text generated once from the :mod:`schema` tables and run with the
driver cursor's ``executemany``: SQLAlchemy's per-row work would cost ~40 % of the ingest rate on
big sites (see ``python -m benchmarks ingest``). Derived data (the FTS index, per-field custom
field rows, access history) is kept by triggers in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import fields
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from operator import attrgetter
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError

from lms_console.services.cache import schema as s
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.errors import CacheError, CacheWriteError
from lms_console.services.lms.base import (
    ActivityCompletion,
    Category,
    Cohort,
    Course,
    CourseGrades,
    CourseProgress,
    CustomField,
    Enrolment,
    Group,
    Grouping,
    Members,
    Section,
    SiteInfo,
    User,
)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_CF_GET = attrgetter("shortname", "value", "displayvalue", "name", "type")
_BOOKKEEPING = ("seen_run", "synced_at", "changed_run")
# json's C encoder built once: JSONEncoder.encode() rebuilds it on every call, which is 40 % of the
# cost of encoding two custom fields (the ingest path does it once per user).
_c_encoder = (c_make_encoder(None, None, c_encode_basestring, None, ":", ",", False, False, True)
              if c_make_encoder is not None and c_encode_basestring is not None else None)


_CF_FRAGMENTS: dict[tuple, str] = {}  # (shortname, value, displayvalue, name, type) -> its JSON
_CF_FRAGMENTS_MAX = 20_000


def _encode(value: object) -> str:
    return "".join(_c_encoder(value, 0)) if _c_encoder is not None else _dumps(value)


def custom_fields_json(cfs: Sequence[CustomField]) -> str:
    """``users.customfields``: ``[[shortname, value, displayvalue, name, type], ...]``.

    Most fields repeat across users (faculty, department menus...), so each field's JSON is memoised
    (bounded; cleared when full): this halves the cost of the ingest's per-user Python work.
    """
    if not cfs:
        return "[]"
    cache = _CF_FRAGMENTS
    parts = []
    for f in cfs:
        key = _CF_GET(f)
        try:
            frag = cache.get(key)
        except TypeError:  # an unhashable value from a lenient client: encode without memo
            parts.append(_encode(key))
            continue
        if frag is None:
            frag = _encode(key)
            if len(cache) >= _CF_FRAGMENTS_MAX:
                cache.clear()
            cache[key] = frag
        parts.append(frag)
    return "[" + ",".join(parts) + "]"


def _ids_json(ids: Iterable[int]) -> str:
    return "[" + ",".join(map(str, map(int, ids))) + "]"


def _q(name: str) -> str:
    return f'"{name}"'


class _Upsert:
    """``INSERT ... ON CONFLICT(pk) DO UPDATE`` for one table, plus a DTO -> row-tuple getter.

    ``rename`` maps a column to the DTO attribute holding it; ``keep_if_null`` columns keep the stored
    value when the DTO says None (= "not reported"); bookkeeping columns (seen_run, synced_at) are
    appended by the caller, in table order.
    """

    def __init__(self, table: Table, *, rename: Mapping[str, str] | None = None,
                 keep_if_null: Sequence[str] = (), omit: Sequence[str] = (),
                 set_expr: Mapping[str, str] | None = None,
                 computed: Mapping[str, Callable[[object], object]] | None = None) -> None:
        rename = rename or {}
        set_expr = set_expr or {}
        computed = dict(computed or {})
        cols = [c.name for c in table.c if c.name not in omit]
        self.dto_columns = [c for c in cols if c not in _BOOKKEEPING and c not in computed]
        self.extra_columns = [c for c in cols if c in _BOOKKEEPING]
        attrs = [rename.get(c, c) for c in self.dto_columns]
        base: Callable[[object], tuple] = (
            attrgetter(*attrs) if len(attrs) > 1 else (lambda o, _g=attrgetter(attrs[0]): (_g(o),)))
        if computed:
            fns = tuple(computed.values())
            self.get = lambda o, _b=base, _f=fns: _b(o) + tuple(f(o) for f in _f)
        else:
            self.get = base
        all_cols = self.dto_columns + list(computed) + self.extra_columns
        pk = [c.name for c in table.primary_key.columns]
        sets = []
        for c in all_cols:
            if c in pk:
                continue
            if c in set_expr:
                sets.append(f"{_q(c)} = {set_expr[c]}")
            elif c in keep_if_null:
                sets.append(f"{_q(c)} = coalesce(excluded.{_q(c)}, {_q(table.name)}.{_q(c)})")
            else:
                sets.append(f"{_q(c)} = excluded.{_q(c)}")
        self.sql = (
            f"INSERT INTO {_q(table.name)} ({', '.join(map(_q, all_cols))}) "
            f"VALUES ({', '.join('?' * len(all_cols))}) "
            f"ON CONFLICT ({', '.join(map(_q, pk))}) DO UPDATE SET {', '.join(sets)}"
        )


def _check_user_columns() -> None:
    dto = {f.name for f in fields(User)}
    if set(s.USER_DTO_COLUMNS) | {"customfields"} != dto or s.USER_COLUMNS[-3:] != ("customfields", "seen_run", "synced_at"):
        raise RuntimeError("schema.users no longer matches the User DTO: update the schema and migrations")


_check_user_columns()


class UsersIngestSql:
    """The statements of :meth:`CacheWriter.upsert_users` (the benchmark's raw baseline runs them too).

    Rows (User fields in table order, then the customfields JSON) go into a TEMP staging table with
    ``executemany``, then ONE set-based upsert moves them into ``users``. Why not an ``executemany``
    upsert straight into ``users``: every row would be its own statement, and with triggers each
    statement opens a savepoint on which FTS5 (SQLite <= 3.4x) flushes its pending terms to disk as a
    new segment; that made the insert pass 4-5x slower. The upsert rewrites only rows whose values
    changed (so unchanged users cost no index or trigger work), then one UPDATE stamps ``seen_run``
    on the rest.
    """

    STAGE_COLUMNS = (*s.USER_DTO_COLUMNS, "customfields")
    CREATE_STAGE = (f"CREATE TEMP TABLE IF NOT EXISTS stage_users ({', '.join(STAGE_COLUMNS)})")
    STAGE = f"INSERT INTO temp.stage_users VALUES ({', '.join('?' * len(STAGE_COLUMNS))})"
    _cols = ", ".join(STAGE_COLUMNS)
    _changed = " OR ".join(f"users.{c} IS NOT excluded.{c} COLLATE BINARY" for c in STAGE_COLUMNS[1:])
    APPLY = (  # parameters: run_id, synced_at
        f"INSERT INTO main.users ({_cols}, seen_run, synced_at) SELECT {_cols}, ?1, ?2 FROM temp.stage_users "
        f"WHERE true ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in (*STAGE_COLUMNS[1:], "seen_run", "synced_at"))
        + f" WHERE {_changed}"
    )
    MARK_SEEN = ("UPDATE main.users SET seen_run = ?1, synced_at = ?2 "
                 "WHERE id IN (SELECT id FROM temp.stage_users) AND seen_run IS NOT ?1")
    CLEAR = "DELETE FROM temp.stage_users"
    CHUNK = 20_000  # rows staged at a time: bounds the temp table and FTS5's pending-terms memory
    del _cols, _changed


_USER_GET = attrgetter(*s.USER_DTO_COLUMNS)
_CATEGORIES = _Upsert(s.categories)
_COURSES = _Upsert(s.courses)
_COHORTS = _Upsert(s.cohorts, omit=("categoryid",))  # categoryid comes from set_cohort_categories
_SECTIONS = _Upsert(s.sections)
_MODULES = _Upsert(s.modules, rename={"cmid": "id"})
_GROUPS = _Upsert(s.groups)
_GROUPINGS = _Upsert(s.groupings)
_ROLES = _Upsert(s.roles)
def _roleids(e: Enrolment) -> str:
    roles = e.roles
    if len(roles) == 1:
        return f"[{roles[0].id}]"
    return "[" + ",".join(str(r.id) for r in roles) + "]"


_ENROLMENTS = _Upsert(s.enrolments, keep_if_null=("lastcourseaccess", "timestart", "timeend"),
                      computed={"roleids": _roleids})
_PROGRESS = _Upsert(s.course_progress, keep_if_null=("lastaccess",), set_expr={
    # Tells the sync which (user, course) pairs need their activity completion fetched again.
    "changed_run": "CASE WHEN course_progress.progress IS NOT excluded.progress "
                   "OR course_progress.completed IS NOT excluded.completed "
                   "OR course_progress.timecompleted IS NOT excluded.timecompleted "
                   "THEN excluded.changed_run ELSE course_progress.changed_run END"})
_COMPLETION = _Upsert(s.activity_completion)
_GRADE_ITEMS = _Upsert(s.grade_items)
_GRADES = _Upsert(s.grades)
_FILE_COLS = [c.name for c in s.module_files.c if c.name != "id"]
_FILE_GET = attrgetter(*_FILE_COLS[1:])
_FILES_INSERT = f"INSERT INTO module_files ({', '.join(_FILE_COLS)}) VALUES ({', '.join('?' * len(_FILE_COLS))})"
_SITE_COLS = [c.name for c in s.site_info.c]
_SITE_GET = attrgetter(*[c for c in _SITE_COLS if c not in ("id", "functions", "fetched_at")])
_SITE_INSERT = f"INSERT OR REPLACE INTO site_info ({', '.join(_SITE_COLS)}) VALUES ({', '.join('?' * len(_SITE_COLS))})"

# Entities sweep() knows: table, and whether the sweep can be limited to one course.
_SWEEPABLE: dict[str, tuple[str, bool]] = {
    "users": ("users", False),
    "categories": ("categories", False),
    "courses": ("courses", False),
    "cohorts": ("cohorts", False),
    "enrolments": ("enrolments", True),
    "course_progress": ("course_progress", True),
    "activity_completion": ("activity_completion", True),
    "groups": ("groups", True),
    "groupings": ("groupings", True),
}


class CacheWriter:
    """Writes DTOs into the cache. One instance, one thread; see the module docstring."""

    def __init__(self, db: CacheDb, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._conn = db.writer_connection()
        self._raw: sqlite3.Connection | None = None
        self._depth = 0
        self._thread: int | None = None

    # -- transactions -------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        ident = threading.get_ident()
        if self._thread is None:
            self._thread = ident
        elif self._thread != ident:
            raise RuntimeError("CacheWriter is used from two threads; it belongs to the cache-writer thread")
        if self._conn.closed:
            raise CacheError("The cache writer is closed")
        if self._depth:
            self._depth += 1
            try:
                assert self._raw is not None
                yield self._raw
            except (sqlite3.Error, SQLAlchemyError) as exc:
                raise CacheWriteError(f"Cache write failed (the whole batch is rolled back): {exc}") from exc
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._conn.begin():
                self._raw = self._conn.connection.driver_connection
                yield self._raw
        except (sqlite3.Error, SQLAlchemyError) as exc:
            raise CacheWriteError(f"Cache write failed and was rolled back: {exc}") from exc
        finally:
            self._depth = 0
            self._raw = None

    def batch(self):
        """Group several writer calls into ONE transaction: all of them are kept, or none."""
        return self._tx()

    def close(self) -> None:
        if self._depth:
            raise RuntimeError("close() inside batch()")
        self._conn.close()

    def __enter__(self) -> CacheWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs and sync bookkeeping --------------------------------------------------------------

    def begin_run(self, entities: Sequence[str]) -> int:
        with self._tx() as raw:
            cur = raw.execute("INSERT INTO sync_runs (started_at, status, entities) VALUES (?, 'running', ?)",
                              (self._now(), json.dumps(list(entities))))
            run_id = cur.lastrowid
        assert run_id is not None
        return run_id

    def finish_run(self, run_id: int, status: str, error: str | None = None) -> None:
        with self._tx() as raw:
            raw.execute("UPDATE sync_runs SET finished_at = ?, status = ?, error = ? WHERE id = ?",
                        (self._now(), status, error, run_id))

    def set_sync_state(self, entity: str, *, status: str, run_id: int | None, rows: int | None = None,
                       error: str | None = None, success: bool = False, detail: Mapping | None = None,
                       as_of: int | None = None) -> None:
        """Record an attempt at ``entity``; ``success`` moves its freshness to ``as_of`` (default: now).

        ``rows`` and ``detail`` keep their stored values when None; ``error`` is replaced (None clears).
        """
        now = self._now()
        with self._tx() as raw:
            raw.execute(
                "INSERT INTO sync_state (entity, status, run_id, last_success_at, last_attempt_at, rows, error, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (entity) DO UPDATE SET status = excluded.status, "
                "run_id = excluded.run_id, last_attempt_at = excluded.last_attempt_at, error = excluded.error, "
                "last_success_at = coalesce(excluded.last_success_at, sync_state.last_success_at), "
                "rows = coalesce(excluded.rows, sync_state.rows), "
                "detail = coalesce(excluded.detail, sync_state.detail)",
                (entity, status, run_id, (as_of if as_of is not None else now) if success else None, now, rows,
                 error, None if detail is None else json.dumps(dict(detail), sort_keys=True)))

    def save_partitions(self, entity: str, counts: Mapping[str, int | None], run_id: int) -> None:
        """Make ``counts`` the partition plan of ``entity``.

        Keys outside the plan are dropped; a key's ``done_run`` is kept, so re-planning inside a resumed
        run ``run_id`` does not redo the partitions it already finished.
        """
        del run_id  # the plan is per entity; done markers carry the run id
        with self._tx() as raw:
            raw.execute("DELETE FROM sync_partitions WHERE entity = ? AND key NOT IN (SELECT value FROM json_each(?))",
                        (entity, json.dumps(list(counts))))
            raw.executemany(
                "INSERT INTO sync_partitions (entity, key, last_count) VALUES (?, ?, ?) "
                "ON CONFLICT (entity, key) DO UPDATE SET last_count = coalesce(excluded.last_count, last_count)",
                [(entity, k, v) for k, v in counts.items()])

    def mark_partition_done(self, entity: str, key: str, run_id: int, count: int | None = None) -> None:
        with self._tx() as raw:
            raw.execute(
                "INSERT INTO sync_partitions (entity, key, last_count, done_run) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (entity, key) DO UPDATE SET done_run = excluded.done_run, "
                "last_count = coalesce(excluded.last_count, last_count)",
                (entity, key, count, run_id))

    # -- site and users -------------------------------------------------------------------------

    def save_site_info(self, site: SiteInfo) -> None:
        # SiteInfo carries no secrets (sitesecret / userprivateaccesskey are dropped by the client).
        row = (1, *_SITE_GET(site), _dumps(sorted(site.functions)), self._now())
        with self._tx() as raw:
            raw.execute(_SITE_INSERT, row)

    def upsert_users(self, users: Sequence[User], run_id: int) -> int:
        """Insert or update ``users`` (the hot path: 200k+ rows per sync); returns the row count."""
        now = self._now()
        get = _USER_GET
        cf = custom_fields_json
        q = UsersIngestSql
        with self._tx() as raw:
            raw.execute(q.CREATE_STAGE)
            for start in range(0, len(users), q.CHUNK):
                raw.executemany(q.STAGE, [(*get(u), cf(u.customfields)) for u in users[start:start + q.CHUNK]])
                raw.execute(q.APPLY, (run_id, now))
                raw.execute(q.MARK_SEEN, (run_id, now))
                raw.execute(q.CLEAR)
        return len(users)

    def delete_users(self, ids: Iterable[int]) -> int:
        """Remove users verified gone, with their memberships, enrolments, progress, grades, history."""
        ids_json = _ids_json(ids)
        with self._tx() as raw:
            n = raw.execute("DELETE FROM users WHERE id IN (SELECT value FROM json_each(?))", (ids_json,)).rowcount
            for table in s.PER_USER_TABLES:  # rows of users the cache never had
                raw.execute(f"DELETE FROM {table} WHERE userid IN (SELECT value FROM json_each(?))", (ids_json,))
        return n

    # -- structure ------------------------------------------------------------------------------

    def _upsert(self, spec: _Upsert, items: Sequence, tail: tuple) -> int:
        get = spec.get
        rows = [get(i) + tail for i in items]
        with self._tx() as raw:
            raw.executemany(spec.sql, rows)
        return len(rows)

    def upsert_categories(self, categories: Sequence[Category], run_id: int) -> int:
        return self._upsert(_CATEGORIES, categories, (run_id,))

    def upsert_courses(self, courses: Sequence[Course], run_id: int) -> int:
        return self._upsert(_COURSES, courses, (run_id,))

    def upsert_cohorts(self, cohorts: Sequence[Cohort], run_id: int) -> int:
        return self._upsert(_COHORTS, cohorts, (run_id,))

    def replace_course_contents(self, courseid: int, sections: Sequence[Section], run_id: int) -> None:
        """Make the course's sections, modules and files exactly ``sections`` (deleted ones go)."""
        section_rows = []
        module_rows = []
        file_rows = []
        sget, mget = _SECTIONS.get, _MODULES.get
        for sec in sections:
            row = sget(sec)
            section_rows.append((row[0], courseid) + row[2:] + (run_id,))
            for mod in sec.modules:
                row = mget(mod)
                # Nesting is authoritative: the module belongs to this course and section.
                module_rows.append((row[0], courseid, sec.id) + row[3:] + (run_id,))
                file_rows.extend((mod.id,) + _FILE_GET(f) for f in mod.files)
        section_ids = _ids_json(r[0] for r in section_rows)
        cmids = _ids_json(r[0] for r in module_rows)
        with self._tx() as raw:
            raw.execute("DELETE FROM sections WHERE courseid = ? AND id NOT IN (SELECT value FROM json_each(?))",
                        (courseid, section_ids))
            raw.executemany(_SECTIONS.sql, section_rows)
            raw.execute("DELETE FROM modules WHERE (courseid = ? OR sectionid IN (SELECT id FROM sections "
                        "WHERE courseid = ?)) AND cmid NOT IN (SELECT value FROM json_each(?))",
                        (courseid, courseid, cmids))
            raw.executemany(_MODULES.sql, module_rows)
            raw.execute("DELETE FROM module_files WHERE cmid IN (SELECT value FROM json_each(?))", (cmids,))
            raw.executemany(_FILES_INSERT, file_rows)

    def replace_course_groups(self, courseid: int, groups: Sequence[Group], groupings: Sequence[Grouping],
                              run_id: int) -> None:
        """Make the course's groups and groupings exactly these (members of deleted groups go too)."""
        group_rows = [(g.id, courseid) + _GROUPS.get(g)[2:] + (run_id,) for g in groups]
        grouping_rows = [(g.id, courseid) + _GROUPINGS.get(g)[2:] + (run_id,) for g in groupings]
        known = {g.id for g in groups}
        links = [(gg.id, gid) for gg in groupings for gid in dict.fromkeys(gg.groupids) if gid in known]
        with self._tx() as raw:
            raw.execute('DELETE FROM "groups" WHERE courseid = ? AND id NOT IN (SELECT value FROM json_each(?))',
                        (courseid, _ids_json(known)))
            raw.executemany(_GROUPS.sql, group_rows)
            raw.execute("DELETE FROM groupings WHERE courseid = ? AND id NOT IN (SELECT value FROM json_each(?))",
                        (courseid, _ids_json(r[0] for r in grouping_rows)))
            raw.executemany(_GROUPINGS.sql, grouping_rows)
            raw.execute("DELETE FROM grouping_groups WHERE groupingid IN (SELECT id FROM groupings WHERE courseid = ?)",
                        (courseid,))
            raw.executemany("INSERT INTO grouping_groups (groupingid, groupid) VALUES (?, ?)", links)

    # -- memberships ----------------------------------------------------------------------------

    def _replace_members(self, table: str, key: str, members: Sequence[Members]) -> int:
        n = 0
        with self._tx() as raw:
            for m in members:
                ids = dict.fromkeys(m.userids)
                raw.execute(f"DELETE FROM {table} WHERE {key} = ? AND userid NOT IN (SELECT value FROM json_each(?))",
                            (m.container_id, _ids_json(ids)))
                raw.executemany(f"INSERT OR IGNORE INTO {table} ({key}, userid) VALUES (?, ?)",
                                [(m.container_id, u) for u in ids])
                n += len(ids)
        return n

    def set_cohort_categories(self, categories: Mapping[int, int], *, others_unknown: bool = False) -> int:
        """Record which category each cohort belongs to (0 = system context).

        ``others_unknown``: cohorts not in ``categories`` get NULL (not known), e.g. when only the
        system cohorts could be listed. Returns the number of cohorts updated.
        """
        with self._tx() as raw:
            n = 0
            if others_unknown:
                n += raw.execute("UPDATE cohorts SET categoryid = NULL WHERE categoryid IS NOT NULL AND id NOT IN "
                                 "(SELECT value FROM json_each(?))", (_ids_json(categories),)).rowcount
            n += raw.executemany("UPDATE cohorts SET categoryid = ? WHERE id = ? AND categoryid IS NOT ?",
                                 [(cat, cid, cat) for cid, cat in categories.items()]).rowcount
        return n

    def replace_cohort_members(self, members: Sequence[Members], run_id: int) -> int:
        """Per cohort, membership becomes exactly the given user ids (the cohort must be cached)."""
        return self._replace_members("cohort_members", "cohortid", members)

    def replace_group_members(self, members: Sequence[Members], run_id: int) -> int:
        """Per group, membership becomes exactly the given user ids (the group must be cached)."""
        return self._replace_members("group_members", "groupid", members)

    # -- enrolments, progress, completion, grades -------------------------------------------------

    def upsert_enrolments(self, enrolments: Sequence[Enrolment], run_id: int) -> int:
        """Insert or update enrolments and their roles (the roles table learns every role seen).

        ``lastcourseaccess``/``timestart``/``timeend`` of None keep the stored value (not reported).
        """
        now = self._now()
        get = _ENROLMENTS.get
        tail = (run_id, now)
        rows = [get(e) + tail for e in enrolments]
        roles = {r.id: r for e in enrolments for r in e.roles}
        with self._tx() as raw:
            raw.executemany(_ROLES.sql, [_ROLES.get(r) for r in roles.values()])
            # enrolment_roles follows roleids through triggers, only where the roles changed.
            raw.executemany(_ENROLMENTS.sql, rows)
        return len(rows)

    def set_enrolment_suspended(self, courseid: int, userids: Sequence[int], run_id: int) -> int:
        """Mark exactly ``userids`` suspended in the course, its other enrolments active.

        Returns how many enrolments changed state. Ids without an enrolment row are ignored.
        """
        ids = _ids_json(userids)
        with self._tx() as raw:
            n = raw.execute("UPDATE enrolments SET suspended = 1 WHERE courseid = ? AND suspended = 0 "
                            "AND userid IN (SELECT value FROM json_each(?))", (courseid, ids)).rowcount
            n += raw.execute("UPDATE enrolments SET suspended = 0 WHERE courseid = ? AND suspended = 1 "
                             "AND userid NOT IN (SELECT value FROM json_each(?))", (courseid, ids)).rowcount
        return n

    def upsert_course_progress(self, items: Sequence[CourseProgress], run_id: int) -> int:
        """Insert or update progress rows; ``changed_run`` becomes ``run_id`` where the state changed."""
        return self._upsert(_PROGRESS, items, (run_id, run_id))

    def replace_activity_completion(self, courseid: int, userid: int, items: Sequence[ActivityCompletion],
                                    run_id: int) -> int:
        """The user's activity completion in the course becomes exactly ``items``."""
        get = _COMPLETION.get
        rows = [(i.userid, i.cmid, courseid) + get(i)[3:] + (run_id,) for i in items if i.userid == userid]
        if len(rows) != len(items):
            raise ValueError(f"replace_activity_completion({courseid}, {userid}) got items of other users")
        with self._tx() as raw:
            raw.execute("DELETE FROM activity_completion WHERE courseid = ? AND userid = ?", (courseid, userid))
            raw.executemany(_COMPLETION.sql, rows)
        return len(rows)

    def drop_orphan_activity_completion(self) -> int:
        """Activity completion of enrolments and activities the local copy no longer has (unenrolled users,
        deleted activities), in the courses whose enrolments and contents it holds; returns the rows removed."""
        with self._tx() as raw:
            gone = raw.execute(
                "DELETE FROM activity_completion WHERE courseid IN (SELECT DISTINCT courseid FROM enrolments) AND "
                "NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.courseid = activity_completion.courseid AND "
                "e.userid = activity_completion.userid)").rowcount
            gone += raw.execute(
                "DELETE FROM activity_completion WHERE courseid IN (SELECT DISTINCT courseid FROM modules) AND "
                "cmid NOT IN (SELECT cmid FROM modules)").rowcount
        return gone

    def sweep_progress_of(self, userids: Sequence[int], run_id: int) -> int:
        """After a progress pass that read only ``userids``: their rows ``run_id`` did not see go (courses
        they left), and so do everyone's rows without an enrolment behind them; returns the rows removed."""
        with self._tx() as raw:
            gone = raw.execute("DELETE FROM course_progress WHERE seen_run <> ? AND userid IN (SELECT value FROM "
                               "json_each(?))", (run_id, json.dumps(list(userids)))).rowcount
            return gone + raw.execute(
                "DELETE FROM course_progress WHERE NOT EXISTS (SELECT 1 FROM enrolments e WHERE "
                "e.userid = course_progress.userid AND e.courseid = course_progress.courseid)").rowcount

    def drop_enrolments_outside(self, courseids: Sequence[int]) -> int:
        """Enrolments (and their roles) of every course but ``courseids`` (the site's whole course list: the
        others were deleted on the site); returns the rows removed."""
        with self._tx() as raw:
            return raw.execute("DELETE FROM enrolments WHERE courseid NOT IN (SELECT value FROM json_each(?))",
                               (json.dumps(list(courseids)),)).rowcount

    def replace_course_grades(self, grades: CourseGrades, run_id: int) -> int:
        """The course's grade items and grades become exactly these; grades of unknown items are skipped."""
        cid = grades.courseid
        item_rows = [(i.id, cid) + _GRADE_ITEMS.get(i)[2:] + (run_id,) for i in grades.items]
        known = {i.id for i in grades.items}
        get = _GRADES.get
        grade_rows = [(g.itemid, g.userid, cid) + get(g)[3:] for g in grades.grades if g.itemid in known]
        with self._tx() as raw:
            raw.execute("DELETE FROM grade_items WHERE courseid = ? AND id NOT IN (SELECT value FROM json_each(?))",
                        (cid, _ids_json(known)))
            raw.executemany(_GRADE_ITEMS.sql, item_rows)
            raw.execute("DELETE FROM grades WHERE courseid = ?", (cid,))
            raw.executemany(_GRADES.sql, grade_rows)
        return len(grade_rows)

    # -- sweeping ---------------------------------------------------------------------------------

    def sweep(self, entity: str, run_id: int, *, courseid: int | None = None) -> int:
        """Delete rows of ``entity`` that ``run_id`` did not see; call only after a COMPLETE pass.

        Entities: users, categories, courses, cohorts, and per course (``courseid``) or everywhere:
        enrolments, course_progress, activity_completion, groups, groupings.
        """
        try:
            table, per_course = _SWEEPABLE[entity]
        except KeyError:
            raise ValueError(f"sweep: unknown entity {entity!r}; known: {', '.join(_SWEEPABLE)}") from None
        sql = f'DELETE FROM "{table}" WHERE seen_run <> ?'
        params: tuple = (run_id,)
        if courseid is not None:
            if not per_course:
                raise ValueError(f"sweep: {entity} cannot be swept per course")
            sql += " AND courseid = ?"
            params += (courseid,)
        with self._tx() as raw:
            return raw.execute(sql, params).rowcount
