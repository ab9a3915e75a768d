"""Users as the users pane sees them: a filter spec -> SQL over the cache.

A :class:`UserFilter` (frozen, JSON-serialisable: saved filters store it) is a search text plus
conditions that all have to hold. It becomes ONE ``WHERE`` clause; :func:`count`, :func:`page`
(LIMIT/OFFSET in the sort order, only the visible columns) and :func:`ids` (everything it matches,
streamed in id order) run it (models/users_export.py writes a view to CSV/XLSX). Never filter or sort in Python: a
QSortFilterProxyModel over a million rows took 7-9 s. The filter as a sentence ("Suspended users in
cohort Sales") is services/users_filter_text.py.

Search text: every word of two or more characters is an FTS5 prefix term (``users_fts``: username,
names, e-mail, idnumber, department; accents ignored); a single character matches the *start* of
one of those fields (an FTS prefix of one letter merges most of the index: ~1 s on 1M users,
against ~1 ms for the indexed ``LIKE``). Input is never SQL or FTS syntax.

The site's guest account is never matched, whatever the filter (even "All users"): Moodle's own user
list and bulk user actions leave it out (``id <> $CFG->siteguest``), it refuses to update it and
``delete_user()`` keeps it. So "not in cohort X", "no cohort", "never logged in" and rule-based
cohorts never pick it up, and "N users match" is what a bulk action would change. Site info does not
carry ``siteguest``: the cache knows the account by its username, "guest", which Moodle gives it at
install and never lets anyone change (see :data:`NOT_GUEST`).
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Iterator, Mapping, Sequence

from lms_console.services.cache.queries import GUEST_USERNAME, fts_query
from lms_console.services.lms.errors import Cancelled
from lms_console.services.progress import CancelToken
from lms_console.services.user_errors import UserError

DAY = 86_400


class FilterError(UserError, ValueError):
    """A filter spec that cannot be used; the message says why in plain words."""


# -- the spec -----------------------------------------------------------------------------------------

# field -> the operators it takes
FIELDS: dict[str, tuple[str, ...]] = {
    "auth": ("is", "is_not"),
    "suspended": ("is",),
    "confirmed": ("is",),
    "never_logged_in": ("is",),
    "last_access": ("before", "after", "within", "not_within"),
    "cohort": ("in", "not_in", "any", "none"),
    "course": ("in", "not_in", "any", "none"),
    "group": ("in", "not_in"),  # a course group's members (the groups pane's members table)
    "completed": ("is", "is_not"),
    "custom": ("is", "is_not", "contains", "empty", "not_empty"),
    "profile": ("is", "is_not", "contains", "empty", "not_empty"),  # a standard profile field (key)
    "users": ("in",),  # a given set of users (a report's drill-down); key names where they came from
}
NO_VALUE = {("cohort", "any"), ("cohort", "none"), ("course", "any"), ("course", "none"),
             ("custom", "empty"), ("custom", "not_empty"), ("profile", "empty"), ("profile", "not_empty")}
# field "profile": the standard profile fields a condition can test (rule-based cohorts use them).
PROFILE_FIELDS = {"department": "Department", "institution": "Institution", "city": "City/town",
                  "country": "Country", "idnumber": "ID number", "lang": "Language"}


@dataclass(frozen=True, slots=True)
class Condition:
    """One test a user must pass. ``key`` is the custom profile field's shortname (field "custom") or
    one of PROFILE_FIELDS (field "profile").

    Values: auth / custom: text; suspended / confirmed / never_logged_in: bool; last_access
    before/after: Unix time, within/not_within: days; cohort / course / group / completed: an id.
    """

    field: str
    op: str = "is"
    value: Any = None
    key: str = ""

    def __post_init__(self) -> None:
        ops = FIELDS.get(self.field)
        if ops is None:
            raise FilterError(f"unknown filter field {self.field!r}")
        if self.op not in ops:
            raise FilterError(f"{self.field} filters take {', '.join(ops)}, not {self.op!r}")
        v = self.value
        if self.field == "profile" and self.key not in PROFILE_FIELDS:
            raise FilterError(f"a profile field filter needs one of {', '.join(PROFILE_FIELDS)}, not {self.key!r}")
        if (self.field, self.op) in NO_VALUE:
            return
        if self.field == "users":
            if not isinstance(v, tuple) or not v or not all(type(i) is int for i in v):
                raise FilterError("a set of users needs a non-empty tuple of user ids")
            return
        if self.field in ("suspended", "confirmed", "never_logged_in"):
            if not isinstance(v, bool):
                raise FilterError(f"{self.field} needs yes or no")
        elif self.field in ("last_access", "cohort", "course", "group", "completed"):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise FilterError(f"{self.field} needs a whole number, not {v!r}")
        elif not isinstance(v, str) or not v:
            raise FilterError(f"{self.field} needs a text value")
        if self.field == "custom" and not self.key:
            raise FilterError("a custom profile field filter needs the field's short name")

    def to_json(self) -> dict:
        out = {"field": self.field, "op": self.op, "value": self.value}
        if self.key:
            out["key"] = self.key
        return out


@dataclass(frozen=True, slots=True)
class UserFilter:
    """What the users pane shows: a search text AND every condition."""

    text: str = ""
    conditions: tuple[Condition, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.text.strip() and not self.conditions

    def with_text(self, text: str) -> UserFilter:
        return replace(self, text=text)

    def adding(self, condition: Condition) -> UserFilter:
        """This filter and ``condition`` (replacing one of the same field/key where only one makes
        sense: suspended, confirmed, never logged in)."""
        single = condition.field in ("suspended", "confirmed", "never_logged_in")
        kept = tuple(c for c in self.conditions if c != condition
                     and not (single and c.field == condition.field))
        return replace(self, conditions=(*kept, condition))

    def without(self, index: int) -> UserFilter:
        return replace(self, conditions=tuple(c for i, c in enumerate(self.conditions) if i != index))

    def to_json(self) -> dict:
        return {"version": 1, "text": self.text, "conditions": [c.to_json() for c in self.conditions]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)

    @staticmethod
    def from_json(obj: Any) -> UserFilter:
        if not isinstance(obj, Mapping):
            raise FilterError("a saved filter must be a JSON object")
        text = obj.get("text", "")
        conds = obj.get("conditions", [])
        if not isinstance(text, str) or not isinstance(conds, list):
            raise FilterError("a saved filter needs a text and a list of conditions")
        out = []
        for c in conds:
            if not isinstance(c, Mapping):
                raise FilterError("each condition of a saved filter must be an object")
            value = c.get("value")
            if c.get("field") == "users" and isinstance(value, list):
                value = tuple(value)
            out.append(Condition(str(c.get("field", "")), str(c.get("op", "is")), value,
                                 str(c.get("key", "") or "")))
        return UserFilter(text, tuple(out))

    @staticmethod
    def loads(text: str) -> UserFilter:
        try:
            return UserFilter.from_json(json.loads(text))
        except json.JSONDecodeError as exc:
            raise FilterError(f"the saved filter is not valid JSON ({exc.msg})") from exc


# The navigation tree's default filters: their labels, in the tree's order, and their definitions.
DEFAULT_FILTERS = (
    ("suspended", "Suspended"),
    ("never_logged_in", "Never logged in"),
    ("inactive_90", "Inactive 90 days"),
    ("no_cohort", "No cohort"),
)
DEFAULT_FILTER_SPECS: dict[str, UserFilter] = {
    "suspended": UserFilter(conditions=(Condition("suspended", "is", True),)),
    "never_logged_in": UserFilter(conditions=(Condition("never_logged_in", "is", True),)),
    "inactive_90": UserFilter(conditions=(Condition("last_access", "not_within", 90),)),
    "no_cohort": UserFilter(conditions=(Condition("cohort", "none"),)),
}


# -- columns ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ColumnDef:
    key: str
    title: str
    sql: str
    kind: str = "text"  # text | int | bool | time | status | country
    order: str = ""  # ORDER BY expression when it is not ``sql`` ({d} = ASC/DESC)


def _c(key: str, title: str, kind: str = "text", order: str = "") -> ColumnDef:
    return ColumnDef(key, title, f"u.{key}", kind, order)


BASE_COLUMNS: tuple[ColumnDef, ...] = (
    _c("id", "ID", "int"),
    _c("username", "Username"),
    # Ties break on id, not on the other name: (name, rowid) is what the name indexes hold, so the
    # order comes straight from the index; "lastname, firstname" sorts every run of equal last
    # names (3-6 s for a deep page on 1M users).
    _c("firstname", "First name"),
    _c("lastname", "Last name"),
    _c("email", "Email address"),
    _c("idnumber", "ID number"),
    _c("department", "Department"),
    _c("institution", "Institution"),
    _c("city", "City/town"),
    _c("country", "Country", "country"),
    _c("auth", "Authentication"),
    # 0 active, 1 unconfirmed, 2 suspended, 3 both
    ColumnDef("status", "Status", "(u.suspended * 2 + (1 - u.confirmed))", "status"),
    _c("firstaccess", "First access", "time"),
    _c("lastaccess", "Last access", "time"),
    _c("lang", "Language"),
    _c("timezone", "Timezone"),
    _c("phone1", "Phone"),
    _c("phone2", "Mobile phone"),
    _c("address", "Address"),
)
_BASE = {c.key: c for c in BASE_COLUMNS}
DEFAULT_COLUMNS = ("username", "firstname", "lastname", "email", "department", "auth", "status", "lastaccess")
CUSTOM_PREFIX = "cf:"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column(key: str, titles: Mapping[str, str] | None = None) -> ColumnDef:
    """The column ``key``: a user field, or ``cf:<shortname>`` for a custom profile field."""
    if key in _BASE:
        return _BASE[key]
    if key.startswith(CUSTOM_PREFIX) and len(key) > len(CUSTOM_PREFIX):
        short = clean_text(key[len(CUSTOM_PREFIX):])
        title = (titles or {}).get(key) or short
        return ColumnDef(key, title, "(SELECT c.value FROM user_custom_fields c WHERE c.userid = u.id "
                                     f"AND c.shortname = {_literal(short)})")
    raise FilterError(f"unknown column {key!r}")


STATUS_TEXT = {0: "Active", 1: "Unconfirmed", 2: "Suspended", 3: "Suspended, unconfirmed"}


def display(kind: str, value: Any) -> str:
    """A cell as the table and the exports show it."""
    if value is None:
        return ""
    if kind == "time":
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(value)) if value else "Never"
    if kind == "status":
        return STATUS_TEXT.get(int(value), str(value))
    if kind == "bool":
        return "Yes" if value else "No"
    return str(value)


# -- SQL ---------------------------------------------------------------------------------------------

TEXT_COLUMNS = ("username", "firstname", "lastname", "email", "idnumber", "department")


def clean_text(text: str) -> str:
    # Lone surrogates cannot be encoded for SQLite; NUL ends a C string.
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")


def _like_prefix(ch: str) -> str:
    return ch.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_sql(text: str) -> tuple[str | None, list[str], list]:
    """(FTS5 query of the words of 2+ characters or None, LIKE clauses of one-letter words, params)."""
    words = clean_text(text).split()
    long_words = [w for w in words if len(w) > 1]
    clauses: list[str] = []
    params: list = []
    for ch in dict.fromkeys(w for w in words if len(w) == 1):
        clauses.append("(" + " OR ".join(f"u.{c} LIKE ? ESCAPE '\\'" for c in TEXT_COLUMNS) + ")")
        params += [_like_prefix(ch)] * len(TEXT_COLUMNS)
    return (fts_query(" ".join(long_words)) if long_words else None), clauses, params


# The guest account's id(s), and the clause every filter carries. ``NOT IN`` of an uncorrelated subquery
# (run once) keeps the name indexes covering: a page 500,000 rows down stays ~40 ms on 1M users, where
# ``u.username <> 'guest'`` reads every row (~430 ms).
GUEST_IDS = f"SELECT id FROM users WHERE username = {_literal(GUEST_USERNAME)}"
NOT_GUEST = f"u.id NOT IN ({GUEST_IDS})"


_MEMBER = {"cohort": ("cohort_members", "cohortid"), "course": ("enrolments", "courseid"),
           "group": ("group_members", "groupid")}


def _condition_sql(c: Condition, now: int) -> tuple[str, list]:
    f, op, v = c.field, c.op, c.value
    if f == "users":  # one JSON parameter, however many ids (no host-parameter limit)
        return "u.id IN (SELECT value FROM json_each(?))", [json.dumps(list(v))]
    if f == "auth":
        return ("u.auth = ?" if op == "is" else "u.auth <> ?"), [v]
    if f in ("suspended", "confirmed"):
        return f"u.{f} = ?", [int(v)]
    if f == "never_logged_in":
        return ("u.lastaccess = 0" if v else "u.lastaccess > 0"), []
    if f == "last_access":
        if op == "before":
            return "u.lastaccess > 0 AND u.lastaccess < ?", [v]
        if op == "after":
            return "u.lastaccess >= ?", [v]
        cutoff = now - v * DAY
        return ("u.lastaccess >= ?" if op == "within" else "u.lastaccess < ?"), [cutoff]
    if f in _MEMBER:
        table, key = _MEMBER[f]
        if op in ("any", "none"):
            neg = "NOT " if op == "none" else ""
            return f"{neg}EXISTS (SELECT 1 FROM {table} m WHERE m.userid = u.id)", []
        neg = "NOT " if op == "not_in" else ""
        return f"u.id {neg}IN (SELECT userid FROM {table} WHERE {key} = ?)", [v]
    if f == "completed":
        neg = "NOT " if op == "is_not" else ""
        return f"u.id {neg}IN (SELECT userid FROM course_progress WHERE courseid = ? AND completed = 1)", [v]
    if f == "profile":  # key is one of PROFILE_FIELDS (checked by Condition)
        col = f"u.{c.key}"
        if op in ("empty", "not_empty"):
            return (f"{col} = ''" if op == "empty" else f"{col} <> ''"), []
        if op == "contains":
            return f"{col} LIKE ? ESCAPE '\\'", ["%" + _like_prefix(clean_text(v))]
        return (f"{col} = ?" if op == "is" else f"{col} <> ?"), [clean_text(v)]
    # custom profile field
    sub = "SELECT userid FROM user_custom_fields WHERE shortname = ?"
    if op in ("is", "is_not"):  # regardless of case, as the standard fields (their columns are NOCASE)
        return f"u.id {'NOT ' if op == 'is_not' else ''}IN ({sub} AND value = ? COLLATE NOCASE)", [c.key, clean_text(v)]
    if op == "contains":
        like = "%" + clean_text(v).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return f"u.id IN ({sub} AND value LIKE ? ESCAPE '\\')", [c.key, like]
    neg = "NOT " if op == "empty" else ""
    return f"u.id {neg}IN ({sub} AND coalesce(value, '') <> '')", [c.key]


def _parts(spec: UserFilter, now: int | None) -> tuple[str | None, list[str], list]:
    now = int(time.time() if now is None else now)
    query, clauses, params = _text_sql(spec.text)
    for cond in spec.conditions:
        sql, p = _condition_sql(cond, now)
        clauses.append(f"({sql})")
        params += p
    clauses.append(NOT_GUEST)  # last: the count's index-only path below looks for it alone
    return query, clauses, params


def where_sql(spec: UserFilter, now: int | None = None) -> tuple[str, tuple]:
    """``WHERE ...`` (or "") and its parameters for ``spec`` over ``users u``."""
    query, clauses, params = _parts(spec, now)
    if query is not None:
        clauses.insert(0, "u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?)")
        params.insert(0, query)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params)


def sources(spec: UserFilter, now: int | None = None) -> tuple[str, str, tuple]:
    """(FROM, WHERE, params) for ``spec``: with search text the FTS match drives a join to ``users u``
    (measured 1.5x faster than ``u.id IN (match)`` for a search matching 55k of 1M users)."""
    query, clauses, params = _parts(spec, now)
    if query is None:
        return "users u", ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params)
    return ("users_fts f JOIN users u ON u.id = f.rowid", "WHERE " + " AND ".join(["users_fts MATCH ?", *clauses]),
            (query, *params))


def order_sql(sort: str | None, descending: bool = False, titles: Mapping[str, str] | None = None) -> str:
    d = "DESC" if descending else "ASC"
    col = column(sort or "lastname", titles)
    if col.order:
        return col.order.format(d=d)
    return f"{col.sql} {d}, u.id {d}"


# -- reading -----------------------------------------------------------------------------------------

MMAP_BYTES = 1 << 30


def tune_reader(conn) -> None:
    """Memory-map the cache file for this (pooled) reader connection: a broad search sorted by name
    looks up ~50k rows, and mmap halves that (measured on 1M users: 119 -> 62 ms)."""
    conn.exec_driver_sql(f"PRAGMA mmap_size = {MMAP_BYTES}")


@contextmanager
def interruptible(conn, cancel: CancelToken | None) -> Iterator[None]:
    """Abort the connection's running statement when ``cancel`` fires (a superseded type-ahead
    query stops at once instead of finishing its second of work); raises Cancelled then."""
    if cancel is None:
        yield
        return
    cancel.raise_if_cancelled()
    raw = conn.connection.driver_connection
    lock = threading.Lock()
    live = [True]

    def stop() -> None:
        with lock:
            if live[0]:
                raw.interrupt()

    cancel.on_cancel(stop)
    try:
        yield
    except Exception as exc:
        if cancel.cancelled and "interrupt" in str(exc).lower():
            raise Cancelled() from exc
        raise
    finally:
        with lock:
            live[0] = False


def count(conn, spec: UserFilter, *, now: int | None = None) -> int:
    query, clauses, _params = _parts(spec, now)
    if query is not None and clauses == [NOT_GUEST]:  # the index alone knows: no row lookups (15 vs 120 ms for 55k)
        sql, params = f"SELECT count(*) FROM users_fts WHERE users_fts MATCH ? AND rowid NOT IN ({GUEST_IDS})", (query,)
    else:
        src, where, params = sources(spec, now)
        sql = f"SELECT count(*) FROM {src} {where}"
    return int(conn.exec_driver_sql(sql, params).scalar() or 0)


def page(conn, spec: UserFilter, columns: Sequence[str], sort: str | None = None, descending: bool = False,
         offset: int = 0, limit: int = 200, *, now: int | None = None,
         titles: Mapping[str, str] | None = None) -> list[tuple]:
    """Rows ``offset``..``offset+limit`` in the sort order: ``(id, *columns)`` raw values."""
    src, where, params = sources(spec, now)
    select = ", ".join(["u.id", *(column(k, titles).sql for k in columns)])
    order = order_sql(sort, descending, titles)
    # Deferred join: sort and skip ids only (the sorter then holds the sort key and the id, not every
    # shown column of every match), then read the page's rows. A surname search matching 55k of 1M
    # users: 120 -> 50 ms; a page 500,000 rows down: 17 -> 7 ms.
    sql = (f"SELECT {select} FROM users u WHERE u.id IN (SELECT u.id FROM {src} {where} ORDER BY {order} "
           f"LIMIT ? OFFSET ?) ORDER BY {order}")
    return [tuple(r) for r in conn.exec_driver_sql(sql, (*params, int(limit), int(offset)))]


def row_ids(conn, spec: UserFilter, sort: str | None, descending: bool, ranges: Sequence[tuple[int, int]],
            *, now: int | None = None) -> list[int]:
    """User ids at the row ranges ``(first, last)`` (inclusive) of the sorted view."""
    src, where, params = sources(spec, now)
    sql = f"SELECT u.id FROM {src} {where} ORDER BY {order_sql(sort, descending)} LIMIT ? OFFSET ?"
    out: list[int] = []
    for first, last in ranges:
        out += [r[0] for r in conn.exec_driver_sql(sql, (*params, last - first + 1, first))]
    return out


def ids(conn, spec: UserFilter, *, chunk: int = 5_000, now: int | None = None) -> Iterator[list[int]]:
    """Every id ``spec`` matches, in id order, ``chunk`` at a time (never all in one list)."""
    src, where, params = sources(spec, now)
    sql = f"SELECT u.id FROM {src} {where} {'AND' if where else 'WHERE'} u.id > ? ORDER BY u.id LIMIT ?"
    last = -1
    while True:
        got = [r[0] for r in conn.exec_driver_sql(sql, (*params, last, chunk))]
        if not got:
            return
        yield got
        if len(got) < chunk:
            return
        last = got[-1]


Holder = tuple[int, str]  # (id, username) of an account


def taken(conn, username: str = "", email: str = "", *, exclude: int | None = None
          ) -> tuple[Holder | None, Holder | None]:
    """((id, username) of another account with this username, the same for this e-mail), case ignored."""
    def first(sql: str, value: str) -> Holder | None:
        if not value.strip():
            return None
        row = conn.exec_driver_sql(sql, (clean_text(value.strip()), -1 if exclude is None else exclude)).first()
        return (row[0], row[1]) if row else None
    return (first("SELECT id, username FROM users WHERE username = ? AND id <> ? LIMIT 1", username),
            first("SELECT id, username FROM users WHERE email = ? AND id <> ? LIMIT 1", email))


# -- what the filter bar offers ------------------------------------------------------------------------

# Moodle leaves a standard role's name empty and shows these.
ROLE_NAMES = {"manager": "Manager", "coursecreator": "Course creator", "editingteacher": "Teacher",
              "teacher": "Non-editing teacher", "student": "Student", "guest": "Guest", "user": "Authenticated user"}


def role_name(shortname: str, name: str = "") -> str:
    return name or ROLE_NAMES.get(shortname or "", shortname or "")


@dataclass(frozen=True, slots=True)
class FilterOptions:
    auths: tuple[str, ...] = ()
    cohorts: tuple[tuple[int, str], ...] = ()
    courses: tuple[tuple[int, str, str], ...] = ()  # id, shortname, fullname
    custom_fields: tuple[tuple[str, str], ...] = ()  # shortname, name
    roles: tuple[tuple[int, str], ...] = ()

    @property
    def column_titles(self) -> dict[str, str]:
        return {CUSTOM_PREFIX + s: n or s for s, n in self.custom_fields}


def filter_options(conn) -> FilterOptions:
    ex = conn.exec_driver_sql
    auths = tuple(r[0] for r in ex("SELECT DISTINCT auth FROM users ORDER BY auth") if r[0])
    cohorts = tuple((r[0], r[1]) for r in ex("SELECT id, name FROM cohorts ORDER BY name"))
    courses = tuple((r[0], r[1], r[2]) for r in ex(
        "SELECT id, shortname, fullname FROM courses WHERE format <> 'site' ORDER BY shortname"))
    customs = []
    for (short,) in ex("SELECT DISTINCT shortname FROM user_custom_fields ORDER BY shortname").all():
        row = ex("SELECT customfields FROM users WHERE id = (SELECT userid FROM user_custom_fields "
                 "WHERE shortname = ? LIMIT 1)", (short,)).first()
        name = short
        try:
            name = next((f[3] for f in json.loads(row[0]) if f[0] == short and f[3]), short) if row else short
        except (ValueError, TypeError, IndexError):
            pass
        customs.append((short, name))
    roles = tuple((r[0], role_name(r[1], r[2])) for r in ex("SELECT id, shortname, name FROM roles ORDER BY sortorder, id"))
    return FilterOptions(auths, cohorts, courses, tuple(customs), roles)
