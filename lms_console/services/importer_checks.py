"""The per-cell checks of the import dry run, one chunk of rows at a time, column by column.

Working on a column (C-level ``map``/``set`` over thousands of cells) instead of Python code
per cell is what keeps 50,000 rows within a few times what pandas needs to parse them; only
cells that fail a check get per-row attention. The rules are the change engine's
(``kinds_users``: lengths, username and email patterns, password policy) and its own words
are used for the messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import compress, count
from operator import ne, not_

from lms_console.services.cache.queries import GUEST_USERNAME
from lms_console.services.changes.kinds_users import MAX_LENGTHS, USER_FIELDS, field_problems
from lms_console.services.importer_lookup import COUNTRIES, STUDENT, CacheLookup, parse_bool, parse_date
from lms_console.services.importer_mapping import PROFILE_PREFIX, column_name, numbered, target_label
from lms_console.services.importer_model import RowIssue

# The change engine's patterns (kinds_users.field_problems) for the first pass; a cell that fails
# one gets the engine's own message from field_problems.
USERNAME_RE = re.compile(r"^[a-z0-9_.@-]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Meets kinds_users.password_problems (8+ characters, a digit, lower, upper, special) in one match.
PASSWORD_OK = re.compile(r"^(?=.{8})(?=.*\d)(?=.*[a-z])(?=.*[A-Z])(?=.*[^A-Za-z0-9])", re.DOTALL)
_LANG_RE = re.compile(r"^[a-z]{2,3}(_[a-z0-9]+)*$")
_ESCAPED = re.compile(r"^'[=+\-@\t\r]")
# The site's guest account is no account to import into: Moodle refuses to change it, and the console
# hides it everywhere (users_query.NOT_GUEST). Its row is an error whatever the import's mode.
GUEST_ROW = ("is the username of the site's guest account, which Moodle never changes and the console does not "
             "manage: leave this row out")
# An address the guest account has: said without the account's id or data (the console hides it).
GUEST_EMAIL = ("belongs to the site's guest account, which the console does not manage, and Moodle refuses shared "
               "addresses: give this account an address of its own")


class Columns:
    """Where each target is in a row, worked out once per dry run."""

    def __init__(self, headers: Sequence[str], targets: Sequence[str]) -> None:
        self.headers = tuple(headers)
        self.n = len(headers)
        idx = {t: i for i, t in enumerate(targets) if t}
        self.header_of = {t: (headers[i] or column_name(i)) for t, i in idx.items()}
        self.username = idx["username"]
        self.fields = [(i, t) for t, i in idx.items() if t in USER_FIELDS and t != "username"]
        self.order = tuple(t for _i, t in self.fields)  # the compared account fields, in this order
        self.password = idx.get("password")
        self.suspended = idx.get("suspended")
        self.profile = [(i, t[len(PROFILE_PREFIX):]) for t, i in idx.items() if t.startswith(PROFILE_PREFIX)]
        self.cohorts = sorted((numbered(t)[1], i) for t, i in idx.items() if t.startswith("cohort"))
        start_all, end_all = idx.get("enrolstart"), idx.get("enrolend")
        self.courses = sorted(
            (m[1], i, idx.get(f"role{m[1]}"), idx.get(f"enrolstart{m[1]}", start_all), idx.get(f"enrolend{m[1]}", end_all))
            for t, i in idx.items() if (m := numbered(t)) and m[0] == "course")

    def name(self, target: str) -> str:
        return self.header_of.get(target, target_label(target))


class Checked:
    """One chunk after the cell checks: cleaned columns and what is wrong where (k = row in chunk)."""

    __slots__ = ("rownos", "issues", "notes", "empty", "broken", "names", "values", "frows", "keys", "passwords",
                 "suspended", "customs", "cohorts", "courses")

    def __init__(self, rownos: list[int]) -> None:
        self.rownos = rownos
        self.issues: dict[int, list[RowIssue]] = {}
        self.notes: dict[int, tuple[str, ...]] = {}
        self.empty: set[int] = set()
        # Rows that are errors whatever the import's mode: the file garbles them (shifted cells, a quote run
        # on), or they name the site's guest account.
        self.broken: set[int] = set()
        self.names: list[str] = []
        self.values: dict[str, list[str]] = {}
        self.frows: list[tuple[str, ...]] = []  # the account fields per row, in Columns.order
        self.keys: list[str] = []  # those and the profile fields joined with \x1f, to compare with the cache
        self.passwords: list[str] | None = None
        self.suspended: list[bool | None] | None = None
        self.customs: list[tuple[str, list[str]]] = []
        self.cohorts: list[list[int | None]] = []
        self.courses: list[tuple[list, list, list, list]] = []  # (courseid, roleid, start, end) columns

    def add(self, k: int, header: str, value: str, reason: str) -> None:
        self.issues.setdefault(k, []).append(RowIssue(self.rownos[k], header, value, reason))

    def note(self, k: int, text: str) -> None:
        self.notes[k] = self.notes.get(k, ()) + (text,)


def where(flags) -> list[int]:
    """Positions of the true values (C-level: no Python code per cell)."""
    return list(compress(count(), flags))


def where_in(values: list, wanted: set) -> list[int]:
    return where(map(wanted.__contains__, values)) if wanted else []


def check_chunk(cols: Columns, cache: CacheLookup, rownos: list[int], columns: list[list[str]],
                ragged: dict[int, list[str]]) -> Checked:
    c = Checked(rownos)
    n, name, m = cols.n, cols.name, len(rownos)

    def engine_says(k: int, target: str, value: str, shown: str | None = None) -> None:
        """The change engine's own words for ``value``; ``shown``: the cell as in the file, if it differs."""
        for prob in field_problems({target: value}):
            c.add(k, name(target), value if shown is None else shown, prob.text())

    for k, extra in ragged.items():
        c.add(k, "", "", f"the row has {n + len(extra)} cells but the header has {n}: a separator or quote inside a "
                         "value has shifted the cells (check the quoting)")
    c.broken.update(ragged)
    _run_on_cells(c, cols, columns)
    def col(i: int) -> list[str]:
        vals = list(map(str.strip, columns[i]))
        if "\n'" in "\n" + "\n".join(vals):  # our own export's formula escape ('=...) comes off again
            vals = [v[1:] if _ESCAPED.match(v) else v for v in vals]
        return vals

    # An empty row has an empty username: only those rows are looked at whole.
    raw = col(cols.username)
    c.empty = {k for k in where(map(not_, raw)) if not "".join(col_[k] for col_ in columns).strip()} - set(ragged)

    def too_long(vals: list[str], limit: int) -> list[int]:
        return where(map(limit.__lt__, map(len, vals))) if max(map(len, vals), default=0) > limit else []

    # -- username
    names = c.names = list(map(str.lower, raw))
    if raw != names:
        for k in where(map(ne, raw, names)):
            c.note(k, "username changed to lower case (as Moodle stores it)")
    for k in sorted(set(where(map(not_, map(USERNAME_RE.match, names))))
                    | set(too_long(names, MAX_LENGTHS["username"])) - c.empty):
        if names[k]:
            engine_says(k, "username", names[k], raw[k])
        else:
            c.add(k, name("username"), "", "every row needs a username")
    if GUEST_USERNAME in names:  # one C-level scan per chunk: the common case costs nothing more
        for k in where(map(GUEST_USERNAME.__eq__, names)):
            c.add(k, name("username"), raw[k], GUEST_ROW)
            c.broken.add(k)
    # -- account fields
    for i, t in cols.fields:
        vals = col(i)
        bad: set[str] = set()
        if t == "country":
            vals = list(map(str.upper, vals))
            bad = set(vals) - COUNTRIES - {""}
        elif t == "auth":
            vals = list(map(str.lower, vals))
            bad = {v for v in set(vals) if v and not cache.auth_known(v)}
        elif t == "lang":
            vals = [v.lower().replace("-", "_") for v in vals]
            bad = {v for v in set(vals) if v and not _LANG_RE.match(v)}
        flagged = set(where_in(vals, bad))
        for k in sorted(flagged):
            v = vals[k]
            if t == "country" and not (len(v) == 2 and v.isalpha()):
                engine_says(k, t, v)
            else:
                c.add(k, name(t), v, {
                    "country": "is not a country code (ISO 3166, e.g. DE, FR, US)",
                    "auth": "is not an authentication method of this site (e.g. manual, ldap, oauth2, nologin)",
                    "lang": "is not a language code (e.g. en, de, pt_br)"}[t])
        suspect = set(too_long(vals, MAX_LENGTHS[t])) if t in MAX_LENGTHS else set()
        if t == "email":
            suspect |= set(where(map(not_, map(EMAIL_RE.match, vals)))) - set(where(map(not_, vals)))
        for k in sorted(suspect - flagged):
            engine_says(k, t, vals[k])
        c.values[t] = vals
    c.frows = list(zip(*(c.values[t] for t in cols.order))) if cols.order else [()] * m
    # -- the rest
    if cols.password is not None:
        c.passwords = list(map(str.strip, columns[cols.password]))
    if cols.suspended is not None:
        vals = col(cols.suspended)
        meaning = {v: parse_bool(v) for v in set(vals)}
        meaning[""] = None
        for k in where_in(vals, {v for v, b in meaning.items() if v and b is None}):
            c.add(k, name("suspended"), vals[k], "must be yes or no (1 or 0)")
        c.suspended = list(map(meaning.get, vals))
    c.customs = [(s, col(i)) for i, s in cols.profile]
    keyed = [c.values[t] for t in cols.order] + [vals for _s, vals in c.customs]
    c.keys = list(map("\x1f".join, zip(*keyed))) if keyed else [""] * m
    for num, i in cols.cohorts:
        vals = col(i)
        resolved: dict[str, int | None] = {"": None}
        why: dict[str, str] = {}
        for v in set(vals) - {""}:
            resolved[v], reason = cache.cohort(v)
            if resolved[v] is None:
                why[v] = reason
        for k in where_in(vals, set(why)):
            c.add(k, name(f"cohort{num}"), vals[k], why[vals[k]])
        c.cohorts.append(list(map(resolved.get, vals)))
    for spec in cols.courses:
        c.courses.append(_course_column(c, cols, cache, spec, col, m))
    return c


MULTILINE = frozenset({"description"})  # the account fields whose text may have line breaks


def _run_on_cells(c: Checked, cols: Columns, columns: list[list[str]]) -> None:
    """Cells with line breaks. A quote (") that is never closed, or closed far below, makes the parser
    read the following lines of the file into one cell: those rows would vanish from the import. Only
    a multi-line field may have line breaks, and even there not whole lines of cells."""
    width = cols.n
    free = {i for i, t in cols.fields if t in MULTILINE}
    for i, vals in enumerate(columns):
        joined = "".join(vals)
        if "\n" not in joined and "\r" not in joined:
            continue
        for k in where(("\n" in v or "\r" in v for v in vals)):
            lines = vals[k].splitlines()
            sep = max(0, width - 1)
            if i in free and not (sep and any(line.count(d) >= sep for line in lines[1:] for d in ",;\t|")):
                continue
            c.broken.add(k)
            c.add(k, cols.headers[i] or column_name(i), lines[0] + " …",
                  f"runs on over {len(lines) - 1:,} more line(s) of the file, and this field cannot have line breaks. "
                  "If a quote (\") opens here by mistake, the lines up to where it closes (or to the end of the "
                  "file) were read into this cell instead of as rows: fix the quotes in this row")


def _course_column(c: Checked, cols: Columns, cache: CacheLookup, spec, col, m: int):
    num, i, ri, si, ei = spec
    headers = cols.headers
    vals = col(i)
    found = {v: cache.course(v) for v in set(vals) - {""}}
    ids = {v: f[0] for v, f in found.items()}
    ids[""] = None
    cids: list[int | None] = list(map(ids.get, vals))
    rids: list[int | None] = [None] * m
    starts: list[int | None] = [None] * m
    ends: list[int | None] = [None] * m
    if not found:
        return cids, rids, starts, ends
    bad: set[int] = set()
    for k in where_in(vals, {v for v, f in found.items() if f[0] is None}):
        c.add(k, cols.name(f"course{num}"), vals[k], found[vals[k]][1])
        bad.add(k)
    with_course = [k for k in where(cids) if k not in bad]
    if ri is not None:
        roles = col(ri)
        role_ids = {v: cache.role(v) for v in set(roles) - {""}}
        role_ids[""] = STUDENT
        rids = list(map(role_ids.get, roles))
        for k in with_course:
            if rids[k] is None:
                c.add(k, headers[ri] or column_name(ri), roles[k],
                      "is not a role of this site (e.g. student, teacher, editingteacher)")
                bad.add(k)
    else:
        rids = [STUDENT] * m
    for x, out in ((si, starts), (ei, ends)):
        if x is None:
            continue
        texts = col(x)
        stamps = {v: parse_date(v) for v in set(texts) - {""}}
        stamps[""] = None
        out[:] = map(stamps.get, texts)
        for k in where_in(texts, {v for v, ts in stamps.items() if v and ts is None}):
            if k in with_course:
                c.add(k, headers[x] or column_name(x), texts[k],
                      "is not a date: write it as YYYY-MM-DD (e.g. 2025-09-01)")
    if si is not None and ei is not None:
        for k in with_course:
            if starts[k] and ends[k] and ends[k] <= starts[k]:
                c.add(k, headers[ei] or column_name(ei), col(ei)[k], "the enrolment must end after it starts")
    for k in range(m) if bad else ():
        if k in bad:
            cids[k] = None
    return cids, rids, starts, ends


__all__ = ["EMAIL_RE", "PASSWORD_OK", "USERNAME_RE", "Checked", "Columns", "check_chunk"]
