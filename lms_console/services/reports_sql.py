"""SQL building blocks shared by the reports: reading, cancelling, selections, groups, dates.

Everything here works on the raw ``sqlite3`` connection of a cache reader: the answers are
small aggregates, and the driver's cursor is ~1.6x faster than SQLAlchemy for what is left.
Id lists go in as JSON (``IN (SELECT value FROM json_each(?))``) so one statement serves any
selection size; column names and role ids are never taken from input (only from fixed tables).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lms_console.services.cache.queries import GUEST_USERNAME
from lms_console.services.lms.errors import Cancelled
from lms_console.services.progress import CancelToken
from lms_console.services.reports import (
    CORE_FIELDS,
    CUSTOM_PREFIX,
    ReportOptions,
    ReportParams,
)

DAY = 86400
WEEK = 7 * DAY
MONDAY = 4 * DAY  # 1970-01-05, the first Monday after the epoch (a Thursday)
NOT_SET = "(not set)"
STATUS_LABELS = {"completed": "Completed", "in_progress": "In progress", "not_started": "Not started",
                 "overdue": "Overdue", "all": "All"}


class NotReadable(Exception):
    """The cache cannot answer (locked, damaged, missing tables): becomes an empty state."""


# -- connections ----------------------------------------------------------------------------------

@contextmanager
def reading(source) -> Iterator[sqlite3.Connection]:
    """The raw sqlite3 connection of ``source`` (CacheDb, SQLAlchemy Connection or sqlite3)."""
    if isinstance(source, sqlite3.Connection):
        yield source
        return
    if hasattr(source, "read") and hasattr(source, "engine"):  # CacheDb
        from sqlalchemy.exc import DBAPIError

        try:
            with source.read() as conn:
                yield conn.connection.driver_connection
                conn.rollback()
        except DBAPIError as exc:  # opening the connection failed
            raise_unreadable(exc.orig if isinstance(exc.orig, sqlite3.Error) else exc)
        return
    yield source.connection.driver_connection  # SQLAlchemy Connection


def raise_unreadable(exc: BaseException):
    raise NotReadable(f"The local copy could not be read ({exc}). Try again after the running sync; "
                      "if it keeps failing, run the doctor.") from exc


@contextmanager
def cancellable(raw: sqlite3.Connection, cancel: CancelToken) -> Iterator[None]:
    """Make ``cancel`` interrupt a running statement (checked every few thousand VM steps)."""
    raw.set_progress_handler(lambda: 1 if cancel.cancelled else 0, 10_000)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if cancel.cancelled and "interrupt" in str(exc).lower():
            raise Cancelled() from None
        raise_unreadable(exc)
    except sqlite3.DatabaseError as exc:
        raise_unreadable(exc)
    finally:
        raw.set_progress_handler(None, 0)
    if cancel.cancelled:
        raise Cancelled()


def rows(raw: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
    return raw.execute(sql, tuple(args)).fetchall()


def frame(raw: sqlite3.Connection, sql: str, args: Sequence[Any], columns: Sequence[str]):
    import pandas as pd

    return pd.DataFrame.from_records(rows(raw, sql, args), columns=list(columns))


def ids_json(ids) -> str:
    return json.dumps([int(i) for i in ids])


def in_json(column: str) -> str:
    return f"{column} IN (SELECT value FROM json_each(?))"


# -- freshness ------------------------------------------------------------------------------------

def as_of(raw: sqlite3.Connection, entities: Sequence[str]) -> tuple[int | None, list[str]]:
    """(oldest last_success_at of ``entities``, the entities never synced successfully)."""
    got = dict(rows(raw, "SELECT entity, last_success_at FROM sync_state WHERE last_success_at > 0"))
    missing = [e for e in entities if e not in got]
    times = [got[e] for e in entities if e in got]
    return (min(times) if times else None), missing


def reference_time(stamp: int | None, now) -> int:
    return int(stamp if stamp else now())


def first_completion_run(raw: sqlite3.Connection) -> int | None:
    """The first sync run that fetched course completion (its finds are dated "on or before")."""
    r = rows(raw, "SELECT min(id) FROM sync_runs WHERE entities LIKE '%\"completion\"%'")
    return r[0][0] if r else None


# -- selections -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Courses:
    ids: list[int]
    names: dict[int, str]  # id -> shortname
    fullnames: dict[int, str]
    category: dict[int, int]
    tracked: dict[int, bool]  # enablecompletion


def courses(raw: sqlite3.Connection, params: ReportParams) -> Courses:
    """Courses in the selection: chosen courses and every course under the chosen categories."""
    where, args = ["format <> 'site'"], []
    if params.categories:
        cats = category_descendants(raw, params.categories)
        where.append(in_json("categoryid"))
        args.append(ids_json(cats))
    if params.courses:
        where.append(in_json("id"))
        args.append(ids_json(params.courses))
    got = rows(raw, f"SELECT id, shortname, fullname, categoryid, enablecompletion FROM courses "
                    f"WHERE {' AND '.join(where)} ORDER BY shortname", args)
    return Courses([r[0] for r in got], {r[0]: r[1] or f"Course {r[0]}" for r in got},
                   {r[0]: r[2] or r[1] for r in got}, {r[0]: r[3] for r in got}, {r[0]: bool(r[4]) for r in got})


def category_descendants(raw: sqlite3.Connection, ids: Sequence[int]) -> list[int]:
    out = {int(i) for i in ids}
    for cid, path in rows(raw, "SELECT id, path FROM categories"):
        parts = {int(p) for p in (path or "").split("/") if p.isdigit()}
        if parts & set(ids):
            out.add(cid)
    return sorted(out)


def category_names(raw: sqlite3.Connection) -> dict[int, str]:
    """Category id -> "Parent / Child" names."""
    cats = {r[0]: (r[1], r[2]) for r in rows(raw, "SELECT id, name, parent FROM categories")}

    def name(cid: int, depth: int = 0) -> str:
        if cid not in cats or depth > 10:
            return f"Category {cid}" if cid else "Top level"
        own, parent = cats[cid]
        return f"{name(parent, depth + 1)} / {own}" if parent in cats else own

    return {cid: name(cid) for cid in cats}


def cohort_names(raw: sqlite3.Connection) -> dict[int, str]:
    return dict(rows(raw, "SELECT id, name FROM cohorts"))


def field_sql(name: str) -> tuple[str, str, list[Any]] | None:
    """(JOIN clause on ``u`` users / ``f`` custom field rows, value expression, args) for a field."""
    if name in CORE_FIELDS:
        return "", f"u.{name}", []
    if name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX):
        return ("LEFT JOIN user_custom_fields f ON f.userid = u.id AND f.shortname = ?",
                "coalesce(f.value, '')", [name[len(CUSTOM_PREFIX):]])
    return None


def field_label(raw: sqlite3.Connection | None, name: str) -> str:
    if name in CORE_FIELDS:
        return CORE_FIELDS[name]
    short = name.removeprefix(CUSTOM_PREFIX)
    if raw is not None:
        found = rows(raw, "SELECT customfields FROM users WHERE customfields LIKE ? LIMIT 1", (f'%"{short}"%',))
        for entry in json.loads(found[0][0]) if found else []:
            if entry and entry[0] == short and len(entry) > 3 and entry[3]:
                return str(entry[3])
    return short


def not_guest(alias: str = "u") -> str:
    """The condition leaving out the site's guest account (on the users table as ``alias``)."""
    return f"{alias}.username <> '{GUEST_USERNAME}'"


def user_filter(params: ReportParams, col: str, *, suspended_users: bool = True) -> tuple[str, list[Any]]:
    """SQL conditions (AND-ed, starting with " AND") restricting ``col`` (a user id) to the audience:
    members of the chosen cohorts, users with the chosen profile-field values, not suspended."""
    sql, args = "", []
    if params.cohorts:
        sql += f" AND {col} IN (SELECT userid FROM cohort_members WHERE {in_json('cohortid')})"
        args.append(ids_json(params.cohorts))
    spec = field_sql(params.field) if params.field else None
    if spec and params.field_values:
        join, expr, jargs = spec
        sql += (f" AND {col} IN (SELECT u.id FROM users u {join} WHERE {expr} IN "
                f"(SELECT value FROM json_each(?)))")
        args += jargs + [json.dumps([("" if v == NOT_SET else v) for v in params.field_values])]
    if not params.include_suspended and suspended_users:
        sql += f" AND {col} NOT IN (SELECT id FROM users WHERE suspended = 1)"
    return sql, args


def learner_roles(raw: sqlite3.Connection) -> list[int]:
    """Role ids of learners (Moodle's student archetype, by shortname); empty when no role is known."""
    return [r[0] for r in rows(raw, "SELECT id FROM roles WHERE shortname = 'student'")]


def learner_filter(raw: sqlite3.Connection, params: ReportParams, alias: str, *,
                   suspended_users: bool = True) -> tuple[str, list[Any], str]:
    """Conditions on ``alias`` (userid, courseid columns) keeping learners: enrolled with a student role,
    the enrolment not suspended (unless suspended users are included); plus a note on what was done.

    ``suspended_users=False`` leaves the suspended *users* in (the caller subtracts them: cheaper on
    big sites than testing every row against the list)."""
    roles = learner_roles(raw)
    sql, note = "", "Learners: users enrolled with the student role"
    if roles:
        sql += (f" AND EXISTS (SELECT 1 FROM enrolment_roles lf_r WHERE lf_r.courseid = {alias}.courseid "
                f"AND lf_r.userid = {alias}.userid AND lf_r.roleid IN ({','.join(str(int(r)) for r in roles)}))")
    else:
        note = "Learners: every enrolled user (no student role is known in the local copy)"
    if not params.include_suspended:
        sql += (f" AND NOT EXISTS (SELECT 1 FROM enrolments lf_e WHERE lf_e.courseid = {alias}.courseid "
                f"AND lf_e.userid = {alias}.userid AND lf_e.suspended = 1)")
        note += "; suspended users and enrolments left out"
    extra, args = user_filter(params, f"{alias}.userid", suspended_users=suspended_users)
    return sql + extra, args, note + "."


def _names(ids, names: dict, what: str, most: int = 5) -> str:
    shown = [str(names.get(i, f"{what} {i}")) for i in list(ids)[:most]]
    more = len(ids) - most
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def filter_parts(raw: sqlite3.Connection, params: ReportParams, uses=(), *, dates: bool = True,
                 audience: bool = True) -> list[str]:
    """The filters in force, in words ("cohorts Red, Blue", "Team: A"), for the parameters in ``uses``
    (a report kind's ``uses``; empty: all). ``audience=False`` leaves out cohorts and profile-field
    values, ``dates=False`` the date range (when the report's own summary names them already)."""
    used = set(uses) or {"courses", "categories", "cohorts", "field", "dates"}
    parts = []
    if "courses" in used and params.courses:
        names = dict(rows(raw, f"SELECT id, shortname FROM courses WHERE {in_json('id')}", [ids_json(params.courses)]))
        parts.append(f"course{'s' if len(params.courses) != 1 else ''} {_names(params.courses, names, 'course')}")
    if "categories" in used and params.categories:
        parts.append(f"categor{'ies' if len(params.categories) != 1 else 'y'} "
                     f"{_names(params.categories, category_names(raw), 'category')}")
    if audience and "cohorts" in used and params.cohorts:
        parts.append(f"cohort{'s' if len(params.cohorts) != 1 else ''} "
                     f"{_names(params.cohorts, cohort_names(raw), 'cohort')}")
    if audience and "field" in used and params.field and params.field_values:
        parts.append(f"{field_label(raw, params.field)}: {', '.join(params.field_values)}")
    if dates and "dates" in used and (params.date_from is not None or params.date_to is not None):
        parts.append(f"dates {day(params.date_from) or 'the start'} to {day(params.date_to) or 'now'}")
    return parts


def audience_phrase(raw: sqlite3.Connection, params: ReportParams) -> str:
    """Who the chosen cohorts and profile-field values keep, in words ("" when neither is chosen)."""
    parts = []
    if params.cohorts:
        parts.append(f"in the cohort{'s' if len(params.cohorts) != 1 else ''} "
                     f"{_names(params.cohorts, cohort_names(raw), 'cohort')}")
    if params.field and params.field_values:
        parts.append(f"with {field_label(raw, params.field)} {' or '.join(params.field_values)}")
    return " and ".join(parts)


def no_learners_reason(raw: sqlite3.Connection, params: ReportParams, where: str = "the chosen courses") -> str:
    """Why there are no learners: the filters actually in force, never ones that were not chosen."""
    who = audience_phrase(raw, params)
    left_out = "" if params.include_suspended else " (suspended users and enrolments are left out)"
    if who:
        return f"No learners match: nobody with a student enrolment in {where} is {who}{left_out}."
    return f"No learners: nobody has a student enrolment in {where}{left_out}."


# -- groups ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grouping:
    join: str  # joins on the pair alias "p" (userid, courseid)
    key: str  # SQL expression of the group value
    args: list[Any]
    kind: str  # course | category | cohort | field | all
    title: str  # "Course", "Category", "Cohort", the field's label


def grouping(raw: sqlite3.Connection, group_by: str, params: ReportParams, alias: str = "p") -> Grouping:
    if group_by == "category":
        return Grouping(f"JOIN courses gc ON gc.id = {alias}.courseid", "gc.categoryid", [], "category", "Category")
    if group_by == "cohort":
        cond, args = "", []
        if params.cohorts:
            cond, args = f" AND {in_json('gm.cohortid')}", [ids_json(params.cohorts)]
        return Grouping(f"JOIN cohort_members gm ON gm.userid = {alias}.userid{cond}", "gm.cohortid", args,
                        "cohort", "Cohort")
    if group_by == "field":
        spec = field_sql(params.field)
        if spec is None:
            raise NotReadable("Choose a profile field to group by.")
        join, expr, args = spec
        return Grouping(f"JOIN users u ON u.id = {alias}.userid {join}", expr, args, "field",
                        field_label(raw, params.field))
    if group_by == "all":
        return Grouping("", "0", [], "all", "All")
    return Grouping("", f"{alias}.courseid", [], "course", "Course")


def group_labels(raw: sqlite3.Connection, g: Grouping, keys, sel: Courses | None = None) -> dict[Any, str]:
    if g.kind == "course":
        names = sel.names if sel else dict(rows(raw, "SELECT id, shortname FROM courses"))
        return {k: names.get(k, f"Course {k}") for k in keys}
    if g.kind == "category":
        names = category_names(raw)
        return {k: names.get(k, f"Category {k}") for k in keys}
    if g.kind == "cohort":
        names = cohort_names(raw)
        return {k: names.get(k, f"Cohort {k}") for k in keys}
    if g.kind == "field":
        return {k: (str(k) if k not in (None, "") else NOT_SET) for k in keys}
    return {k: "All learners" for k in keys}


def group_key(g: Grouping, value) -> str:
    if g.kind == "field":
        return f"field:{'' if value is None else value}"
    return f"{g.kind}:{value}" if g.kind != "all" else "all"


def parse_key(key: str) -> tuple[str, str]:
    kind, _, value = key.partition(":")
    return kind, value


# -- completion dates -----------------------------------------------------------------------------

def completion_dates_sql(pairs: str, first_run: int | None, extra: Sequence[str] = (), when: str = "") -> str:
    """SELECT userid, courseid, d (date), src (+ the ``extra`` columns) over ``pairs`` (a subquery of
    learner pairs with userid, courseid, timecompleted, changed_run and the extra columns).

    ``when``: a condition on ``q`` (e.g. ``q.completed = 1``); rows failing it get no date (NULL d
    and src) and cost no lookups, so one pass can count all pairs and date the completed ones.

    Moodle does not report course completion times through the functions the sync calls, so
    the date is: the reported time when there is one; else the last activity completion in the
    course (the moment the learner met the activity criteria); else the sync run that first
    saw the course completed (an upper bound: completed at or before that sync). Completions
    found by the very first completion sync have no better date than "before the first sync".
    """
    first = int(first_run) if first_run else 0
    cols = "".join(f", q.{c}" for c in extra)
    out = "".join(f", {c}" for c in extra)
    dated = f"({when})" if when else "1"
    # MATERIALIZED: otherwise SQLite flattens the subquery and runs the correlated lookups once
    # per mention of ``act``/``obs`` below (4x the work).
    return f"""
        WITH q AS MATERIALIZED (
            SELECT q.userid, q.courseid, q.timecompleted AS tc, q.changed_run, {dated} AS dated{cols},
                   CASE WHEN {dated} THEN (SELECT max(a.timecompleted) FROM activity_completion a
                     WHERE a.courseid = q.courseid AND a.userid = q.userid AND a.timecompleted > 0) END AS act,
                   CASE WHEN {dated} THEN (SELECT coalesce(r.finished_at, r.started_at) FROM sync_runs r
                     WHERE r.id = q.changed_run) END AS obs
            FROM ({pairs}) q)
        SELECT userid, courseid{out},
               CASE WHEN NOT dated THEN NULL WHEN tc > 0 THEN tc WHEN act > 0 THEN act ELSE obs END AS d,
               CASE WHEN NOT dated THEN NULL WHEN tc > 0 THEN 'reported' WHEN act > 0 THEN 'activity'
                    WHEN obs IS NULL THEN 'unknown'
                    WHEN changed_run <= {first} THEN 'first_sync' ELSE 'observed' END AS src
        FROM q"""


DATE_SOURCE_NOTES = {
    "activity": "{n:,} completion dates are the learner's last activity completion in the course",
    "observed": "{n:,} are the sync that first saw the completion (it happened at or before then)",
    "first_sync": "{n:,} were already complete at the first sync ({when}) and are dated then",
    "reported": "{n:,} are the completion times the site reported",
    "unknown": "{n:,} have no date at all and are left out of dated counts",
}


def date_notes(counts: dict[str, int], first_sync_at: int | None) -> list[str]:
    parts = [DATE_SOURCE_NOTES[s].format(n=n, when=day(first_sync_at) if first_sync_at else "?")
             for s, n in counts.items() if n and s in DATE_SOURCE_NOTES]
    return ["Moodle does not report when a course was completed: " + "; ".join(parts) + "."] if parts else []


def run_time(raw: sqlite3.Connection, run_id: int | None) -> int | None:
    if not run_id:
        return None
    r = rows(raw, "SELECT coalesce(finished_at, started_at) FROM sync_runs WHERE id = ?", (run_id,))
    return r[0][0] if r else None


# -- formatting and users -------------------------------------------------------------------------

def day(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(stamp)) if stamp else ""


def pct(part, whole) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


USER_COLUMNS = ["_userid", "Name", "Username", "Email", "Department", "Last access"]
USER_SELECT = ("u.id, trim(u.firstname || ' ' || u.lastname), u.username, u.email, u.department, "
               "CASE WHEN u.lastaccess > 0 THEN strftime('%Y-%m-%d', u.lastaccess, 'unixepoch') ELSE 'Never' END")


def users_frame(raw: sqlite3.Connection, sql_from_where: str, args: Sequence[Any], extra: Sequence[str] = (),
                extra_columns: Sequence[str] = ()):
    """Users (``u`` alias) selected by ``sql_from_where`` with the standard drill-down columns."""
    select = USER_SELECT + "".join(f", {e}" for e in extra)
    return frame(raw, f"SELECT {select} {sql_from_where} ORDER BY u.lastname, u.firstname, u.id", args,
                 USER_COLUMNS + list(extra_columns))


def options(raw: sqlite3.Connection):
    """Choices for the parameters panel (plain data, safe to send across threads)."""
    cats = category_names(raw)
    course_rows = tuple((r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows(
        raw, "SELECT id, shortname, fullname, categoryid, enablecompletion, visible FROM courses "
             "WHERE format <> 'site' ORDER BY shortname"))
    cohorts = tuple(rows(raw, "SELECT c.id, c.name, (SELECT count(*) FROM cohort_members m WHERE m.cohortid = c.id) "
                              "FROM cohorts c ORDER BY c.name"))
    fields_: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, label in CORE_FIELDS.items():
        values = tuple(r[0] for r in rows(raw, f"SELECT DISTINCT {name} FROM users WHERE {name} <> '' "
                                               f"ORDER BY {name} LIMIT 500"))
        if values:
            fields_[name] = (label, values)
    for (short,) in rows(raw, "SELECT DISTINCT shortname FROM user_custom_fields ORDER BY shortname"):
        values = tuple(r[0] for r in rows(raw, "SELECT DISTINCT value FROM user_custom_fields WHERE shortname = ? "
                                               "AND value <> '' ORDER BY value LIMIT 500", (short,)))
        fields_[CUSTOM_PREFIX + short] = (field_label(raw, CUSTOM_PREFIX + short), values)
    grades = rows(raw, "SELECT DISTINCT courseid FROM grade_items")
    stamp, _missing = as_of(raw, ("courses",))
    return ReportOptions(course_rows, tuple(sorted(cats.items(), key=lambda kv: kv[1].lower())), cohorts,
                         fields_, frozenset(r[0] for r in grades), stamp)
