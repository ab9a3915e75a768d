"""What the import dry run asks the cache (in a few set-based queries per chunk of rows) and the
small value parsers it shares with the export: country codes, yes/no, dates, roles."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from lms_console.services.changes.kinds_users import COUNTRIES

# Moodle's own authentication plugins; others count when some cached account uses them.
CORE_AUTH = frozenset({"manual", "nologin", "email", "ldap", "cas", "db", "lti", "mnet", "oauth2", "shibboleth",
                       "webservice", "none"})
# Moodle's standard role short names (the cache's roles table wins where it knows better).
STANDARD_ROLES = {"manager": 1, "coursecreator": 2, "editingteacher": 3, "teacher": 4, "student": 5, "guest": 6,
                  "user": 7, "frontpage": 8}
STUDENT = 5

_TRUE = frozenset({"1", "yes", "y", "true", "t", "x", "suspended"})
_FALSE = frozenset({"0", "no", "n", "false", "f", "active"})
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                 "%d.%m.%Y", "%d.%m.%Y %H:%M", "%Y/%m/%d")
_CHUNK = 900  # SQLite variables per statement stay well under the limit


def parse_bool(value: str) -> bool | None:
    """yes/no, 1/0, true/false; None when it is neither."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def parse_date(value: str) -> int | None:
    """Unix seconds (local time) from 2024-09-01, 2024-09-01 08:00, 01.09.2024 or a Unix timestamp;
    None when unreadable (13/09/2024-style dates are refused: day and month are ambiguous)."""
    v = value.strip()
    if v.isdigit() and len(v) >= 9:
        return int(v)
    for fmt in _DATE_FORMATS:
        try:
            return int(datetime.strptime(v, fmt).timestamp())
        except ValueError:
            continue
    return None


def profile_field_names(conn) -> list[str]:
    """The distinct profile field short names in the cache, by hopping along the (shortname, value)
    index (one probe per name instead of reading a row per account and field)."""
    return [r[0] for r in conn.exec_driver_sql(
        "WITH RECURSIVE s(name) AS (SELECT min(shortname) FROM user_custom_fields UNION ALL "
        "SELECT (SELECT min(shortname) FROM user_custom_fields WHERE shortname > s.name) FROM s "
        "WHERE s.name IS NOT NULL) SELECT name FROM s WHERE name IS NOT NULL")]


def _dumps(values: Iterable[Any]) -> str:
    return json.dumps(values if isinstance(values, list) else list(values), ensure_ascii=False)


class CacheLookup:
    """Read-only questions about the local copy, asked in batches (one read snapshot)."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.cohorts_by_idnumber: dict[str, list[int]] = {}
        self.cohorts_by_idnumber_ci: dict[str, list[int]] = {}
        self.cohorts_by_name: dict[str, list[int]] = {}
        self.cohort_names: dict[int, str] = {}
        for cid, name, idnumber in self._rows("SELECT id, name, idnumber FROM cohorts"):
            self.cohort_names[cid] = name or str(cid)
            if idnumber:
                self.cohorts_by_idnumber.setdefault(idnumber, []).append(cid)
                self.cohorts_by_idnumber_ci.setdefault(idnumber.lower(), []).append(cid)
            self.cohorts_by_name.setdefault((name or "").lower(), []).append(cid)
        self.courses_by_shortname: dict[str, list[int]] = {}
        self.courses_by_idnumber: dict[str, list[int]] = {}
        self.course_names: dict[int, str] = {}
        for cid, shortname, idnumber in self._rows("SELECT id, shortname, idnumber FROM courses"):
            self.course_names[cid] = shortname or str(cid)
            self.courses_by_shortname.setdefault((shortname or "").lower(), []).append(cid)
            if idnumber:
                self.courses_by_idnumber.setdefault(idnumber.lower(), []).append(cid)
        self.roles: dict[str, int] = dict(STANDARD_ROLES)
        self.role_names: dict[int, str] = {v: k for k, v in STANDARD_ROLES.items()}
        for rid, shortname, name in self._rows("SELECT id, shortname, name FROM roles"):
            if shortname:
                self.roles[shortname.lower()] = rid
            if name:
                self.roles.setdefault(name.lower(), rid)
            self.role_names[rid] = shortname or name or str(rid)
        self._auth: dict[str, bool] = {a: True for a in CORE_AUTH}
        fairy = getattr(conn, "connection", None)
        self._raw = getattr(fairy, "driver_connection", None)
        self._profile_fields: set[str] | None = None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return [tuple(r) for r in self.conn.exec_driver_sql(sql, tuple(params))]

    # -- names to ids ---------------------------------------------------------------------------
    def cohort(self, value: str) -> tuple[int | None, str]:
        """(cohort id, "") or (None, why) for an idnumber, a name or an id."""
        exact = self.cohorts_by_idnumber.get(value, ())
        if len(exact) == 1:
            return exact[0], ""
        if len(exact) > 1:  # never a guess: which of them is the admin's call
            return None, (f"{len(exact)} cohorts have this ID number ({self._cohort_list(exact)}); give the "
                          "cohort's id instead, or make the ID numbers unique on the site")
        low = value.lower()
        for index, what in ((self.cohorts_by_idnumber_ci, "ID number"), (self.cohorts_by_name, "name")):
            found = index.get(low, [])
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                return None, (f"{len(found)} cohorts have this {what} ({self._cohort_list(found)}); use the "
                              "cohort's unique ID number, or its id")
        if value.isdigit() and int(value) in self.cohort_names:
            return int(value), ""
        return None, "no such cohort in the local copy (check the ID number or name; sync if it is new)"

    def _cohort_list(self, ids) -> str:
        return ", ".join(f"“{self.cohort_names.get(i, i)}” (id {i})" for i in ids[:4]) + (" …" if len(ids) > 4 else "")

    def course(self, value: str) -> tuple[int | None, str]:
        low = value.lower()
        for index, what in ((self.courses_by_shortname, "short name"), (self.courses_by_idnumber, "ID number")):
            found = index.get(low, [])
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                return None, f"{len(found)} courses have this {what}; use the course's ID number"
        if value.isdigit() and int(value) in self.course_names:
            return int(value), ""
        return None, "no such course in the local copy (check the short name; sync if it is new)"

    def role(self, value: str) -> int | None:
        v = value.strip().lower()
        if v in self.roles:
            return self.roles[v]
        if v.isdigit() and int(v) in self.role_names:
            return int(v)
        return None

    def auth_known(self, auth: str) -> bool:
        if auth not in self._auth:
            self._auth[auth] = bool(self._rows("SELECT 1 FROM users WHERE auth = ? LIMIT 1", (auth,)))
        return self._auth[auth]

    def profile_fields(self) -> set[str]:
        if self._profile_fields is None:
            self._profile_fields = set(profile_field_names(self.conn))
        return self._profile_fields

    def _query(self, sql: str, params: tuple):
        """Plain tuples straight from the driver (the hot path: thousands of rows per chunk)."""
        if self._raw is not None:
            return self._raw.execute(sql, params)
        return self.conn.exec_driver_sql(sql, params)

    def users_by_id(self, ids: Sequence[int], select: Sequence[str]) -> dict[int, tuple]:
        out: dict[int, tuple] = {}
        sql = f"SELECT {', '.join(select)} FROM users WHERE id IN (SELECT value FROM json_each(?))"
        for i in range(0, len(ids), _CHUNK * 20):
            for row in self._query(sql, (_dumps(ids[i:i + _CHUNK * 20]),)):
                out[row[0]] = tuple(row)
        return out

    def accounts(self, usernames: Sequence[str], order: Sequence[str],
                 shortnames: Sequence[str] = ()) -> dict[str, tuple[int, str, int]]:
        """username (lower case) -> (id, key, suspended) of the accounts that exist, where ``key`` is
        the ``order`` fields and then the ``shortnames`` profile fields joined with \\x1f (built
        inside SQLite: one string to compare per row)."""
        parts = [f'ifnull("{t}", \'\')' for t in order]
        parts += [f"ifnull((SELECT c.value FROM user_custom_fields c WHERE c.userid = users.id AND c.shortname = "
                  f"?{j + 2}), '')" for j in range(len(shortnames))]
        key = " || char(31) || ".join(parts) or "''"
        sql = f"SELECT username, id, {key}, suspended FROM users WHERE username IN (SELECT value FROM json_each(?1))"
        out: dict[str, tuple[int, str, int]] = {}
        usernames = sorted(usernames)  # index probes in order touch each index page once
        for i in range(0, len(usernames), _CHUNK * 20):
            rows = self._query(sql, (_dumps(usernames[i:i + _CHUNK * 20]), *shortnames))
            out.update({name.lower(): (uid, k, susp) for name, uid, k, susp in rows})
        return out

    # The unary + keeps SQLite from walking a whole course (cohort) by its primary key for each chunk:
    # the chunk's few thousand users, by the userid index, are far fewer rows.
    def enrolled_roles(self, userids: Sequence[int], courseids: Sequence[int]) -> set[tuple[int, int, int]]:
        """(courseid, userid, roleid) of these users in these courses."""
        return set(self._query(
            "SELECT e.courseid, e.userid, r.roleid FROM enrolments e JOIN enrolment_roles r "
            "ON r.courseid = e.courseid AND r.userid = e.userid "
            "WHERE e.userid IN (SELECT value FROM json_each(?1)) AND +e.courseid IN (SELECT value FROM json_each(?2))",
            (_dumps(userids), _dumps(courseids))))

    def enrolment_dates(self, userids: Sequence[int], courseids: Sequence[int]) -> dict[tuple[int, int], tuple]:
        """(courseid, userid) -> (timestart, timeend)."""
        return {(c, u): (s, e) for c, u, s, e in self._query(
            "SELECT courseid, userid, timestart, timeend FROM enrolments WHERE userid IN (SELECT value FROM "
            "json_each(?1)) AND +courseid IN (SELECT value FROM json_each(?2))", (_dumps(userids), _dumps(courseids)))}

    def cohort_pairs(self, userids: Sequence[int], cohortids: Sequence[int]) -> set[tuple[int, int]]:
        """(cohortid, userid) of these users in these cohorts."""
        return set(self._query(
            "SELECT cohortid, userid FROM cohort_members WHERE userid IN (SELECT value FROM json_each(?1)) "
            "AND +cohortid IN (SELECT value FROM json_each(?2))", (_dumps(userids), _dumps(cohortids))))

    def users_by_email(self, emails: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """email (lower case) -> [(id, username), ...] of the accounts that use it."""
        out: dict[str, list[tuple[int, str]]] = {}
        sql = "SELECT id, username, email FROM users WHERE email IN (SELECT value FROM json_each(?))"
        for i in range(0, len(emails), _CHUNK * 20):
            for uid, username, email in self._query(sql, (_dumps(emails[i:i + _CHUNK * 20]),)):
                out.setdefault(str(email).lower(), []).append((uid, username))
        return out

    def custom_fields(self, userids: Sequence[int], shortnames: Sequence[str]) -> dict[tuple[int, str], str]:
        """(userid, shortname) -> value, for the profile fields the file fills."""
        return {(u, s): "" if v is None else str(v) for u, s, v in self._query(
            "SELECT userid, shortname, value FROM user_custom_fields WHERE userid IN (SELECT value FROM json_each(?)) "
            "AND shortname IN (SELECT value FROM json_each(?))", (_dumps(userids), _dumps(shortnames)))}


__all__ = ["COUNTRIES", "CORE_AUTH", "STANDARD_ROLES", "STUDENT", "CacheLookup", "parse_bool", "parse_date"]
