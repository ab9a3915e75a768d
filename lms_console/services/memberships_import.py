"""Cohort and group memberships as change lists: from a drop of users, and from a CSV/XLSX file.

Drops (the groups pane) and the enrolment matrix build their changes with
:func:`membership_changes` / :func:`enrol_changes`, plan them with the change engine, and then
:func:`annotate_plan` names what the planner does not: suspended accounts, and a container the
site deleted since the last sync (:func:`check_on_site` asks the site).

The import reads files with the users import's reader (``importer_read``: encodings, delimiters,
XLSX), maps columns (:func:`auto_map`, :func:`check_mapping`), and classifies every row against
the cache in a dry run (:func:`dry_run`) with the users import's issue format (``RowIssue``), so
failed rows export the same way (``importer_export.export_failed_rows``). Nothing is sent from
here: rows that fail produce no change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple

from lms_console.services.changes.model import Change, Outcome, Plan, PlanItem, Problem
from lms_console.services.importer_lookup import CacheLookup
from lms_console.services.importer_mapping import MappingReport, column_name
from lms_console.services.importer_model import RowIssue
from lms_console.services.importer_read import SourceInfo, Table
from lms_console.services.lms.errors import LmsError
from lms_console.services.progress import CancelToken, ProgressEvent

STUDENT_ROLE = 5
SUSPENDED_NOTE = "suspended account: it is added, but cannot sign in until the account is reactivated"


# -- targets of a drop -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Target:
    """Where users are dropped: a cohort, a course group, or a course (enrolment)."""

    kind: str  # cohort | group | course
    id: int
    name: str = ""
    courseid: int = 0  # a group's course (a course: itself)
    course: str = ""  # the course's short name

    @property
    def label(self) -> str:
        if self.kind == "group":
            return f"group {self.name} ({self.course})" if self.course else f"group {self.name}"
        return f"{self.kind} {self.name}"


def load_target(conn, kind: str, ident: int) -> Target | None:
    """The drop target as the cache knows it, or None when it is not (any more) in the local copy."""
    ex = conn.exec_driver_sql
    if kind == "cohort":
        row = ex("SELECT name FROM cohorts WHERE id = ?", (ident,)).first()
        return Target("cohort", ident, row[0]) if row else None
    if kind == "group":
        row = ex('SELECT g.name, g.courseid, coalesce(c.shortname, \'\') FROM "groups" g '
                 "LEFT JOIN courses c ON c.id = g.courseid WHERE g.id = ?", (ident,)).first()
        return Target("group", ident, row[0], row[1], row[2]) if row else None
    if kind == "course":
        row = ex("SELECT shortname FROM courses WHERE id = ?", (ident,)).first()
        return Target("course", ident, row[0], ident, row[0]) if row else None
    raise ValueError(f"users cannot be dropped on a {kind}")


def membership_changes(target: Target, userids: Iterable[int], *, remove: bool = False) -> list[Change]:
    """Add (or remove) these users to a cohort or a group."""
    if target.kind not in ("cohort", "group"):
        raise ValueError(f"a {target.kind} has no members to add (enrol users instead)")
    kind = f"{target.kind}.{'remove_member' if remove else 'add_member'}"
    key = f"{target.kind}id"
    return [Change(kind, {key: target.id, "userid": int(u)}) for u in dict.fromkeys(userids)]


def enrol_changes(courseids: Iterable[int], userids: Sequence[int], *, roleid: int = STUDENT_ROLE,
                  timestart: int = 0, timeend: int = 0, suspend: bool = False) -> list[Change]:
    """Enrol every user in every course (manual enrolment) with this role, dates and status."""
    if timestart and timeend and timeend <= timestart:
        raise ValueError("The end date must be after the start date.")
    base: dict[str, Any] = {"roleid": int(roleid), "suspend": 1 if suspend else 0}
    if timestart:
        base["timestart"] = int(timestart)
    if timeend:
        base["timeend"] = int(timeend)
    users = list(dict.fromkeys(int(u) for u in userids))
    return [Change("enrol.add", {"userid": u, "courseid": int(c), **base})
            for c in dict.fromkeys(courseids) for u in users]


def check_on_site(client, target: Target) -> str | None:
    """"" when ``target`` still exists on the site, a plain-words message when it was deleted since
    the last sync, None when the site could not be asked (offline: the apply will tell per item)."""
    try:
        if target.kind == "cohort":
            if all(c.id != target.id for c in client.cohorts().items):
                return (f"Cohort {target.name} was deleted on the site after the last sync: nothing can be added "
                        "to it.")
        elif target.kind == "group":
            if all(g.id != target.id for g in client.course_groups(target.courseid).items):
                return (f"Group {target.name} was deleted on the site after the last sync (or its course is "
                        "gone): nothing can be added to it.")
    except LmsError:
        return None
    return ""


def _container_key(change: Change) -> tuple[str, Any] | None:
    family = change.kind.split(".", 1)[0]
    if family in ("cohort", "group") and f"{family}id" in change.data:
        return family, change.data[f"{family}id"]
    return None


def annotate_plan(conn, plan: Plan, *, gone: str = "", target: Target | None = None) -> Plan:
    """The plan with what the planner does not say: suspended accounts are named on their items
    (they are still sent), and with ``gone`` (the target was deleted on the site) every item
    for ``target`` becomes an error, so nothing of it is sent."""
    userids = sorted({i.change.data["userid"] for i in plan.items
                      if isinstance(i.change.data.get("userid"), int) and not i.change.kind.endswith("remove_member")
                      and i.change.kind != "enrol.remove"})
    suspended: set[int] = set()
    for k in range(0, len(userids), 20_000):
        suspended |= {r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE suspended = 1 AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(userids[k:k + 20_000]),))}
    gone_key = (target.kind, target.id) if gone and target is not None else None
    items: list[PlanItem] = []
    for item in plan.items:
        change = item.change
        if gone_key is not None and _container_key(change) == gone_key:
            problem = Problem(gone, field=f"{target.kind}id", value=target.id,
                              fix="Sync to bring the local copy up to date, then try again.")
            item = replace(item, outcome=Outcome.ERROR, problems=(*item.problems, problem), before=None, after=None)
        elif item.outcome == Outcome.APPLY and change.data.get("userid") in suspended:
            note = Problem(SUSPENDED_NOTE, fix="Reactivate the account in the Users pane if they should take part.")
            item = replace(item, title=f"{item.title} (suspended account)", problems=(*item.problems, note))
        items.append(item)
    return Plan(tuple(items), plan.title)


def plan_notes(plan: Plan) -> list[str]:
    """One line per kind of problem the preview shows, for a banner before the preview opens."""
    counts: dict[str, int] = {}
    for item in plan.items:
        for p in item.problems:
            counts[p.message] = counts.get(p.message, 0) + 1
    return [f"{n:,} × {msg}" for msg, n in sorted(counts.items(), key=lambda kv: -kv[1])]


# -- the import: columns --------------------------------------------------------------------------------

USER_KEYS = ("username", "email", "idnumber", "userid")
TARGETS = (*USER_KEYS, "cohort", "group", "course", "action")
LABELS = {"username": "Username", "email": "Email address", "idnumber": "User ID number", "userid": "User id",
          "cohort": "Cohort (ID number, name or id)", "group": "Group (name, ID number or id)",
          "course": "Course of the group (short name, ID number or id)", "action": "Action (add or remove)"}
_ALIASES = {
    "username": "username", "user": "username", "login": "username", "loginname": "username",
    "email": "email", "emailaddress": "email", "mail": "email",
    "idnumber": "idnumber", "useridnumber": "idnumber", "employeeid": "idnumber", "studentid": "idnumber",
    "studentnumber": "idnumber", "userid": "userid",
    "cohort": "cohort", "cohort1": "cohort", "cohortid": "cohort", "cohortidnumber": "cohort", "cohortname": "cohort",
    "systemcohort": "cohort",
    "group": "group", "group1": "group", "groupname": "group", "groupid": "group", "groupidnumber": "group",
    "course": "course", "course1": "course", "courseshortname": "course", "shortname": "course",
    "courseid": "course", "courseidnumber": "course",
    "action": "action", "operation": "action", "op": "action", "mode": "action",
}
_ADD = {"", "add", "+", "1", "yes", "y", "join", "enrol", "in"}
_REMOVE = {"remove", "delete", "del", "-", "0", "no", "n", "leave", "out", "drop"}


def _norm(header: str) -> str:
    return "".join(ch for ch in header.strip().lower() if ch.isalnum())


def auto_map(headers: Sequence[str]) -> tuple[str, ...]:
    """A target per column ("" = not imported); each target at most once (the first column wins)."""
    used: set[str] = set()
    out = []
    for h in headers:
        t = _ALIASES.get(_norm(h), "")
        out.append("" if t in used else t)
        if t:
            used.add(t)
    return tuple(out)


def check_mapping(headers: Sequence[str], targets: Sequence[str]) -> MappingReport:
    errors: list[str] = []
    warnings: list[str] = []
    if len(targets) != len(headers):
        return MappingReport((f"The mapping has {len(targets)} entries for {len(headers)} columns.",))
    by: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        if t and t not in TARGETS:
            errors.append(f"{column_name(i, headers[i])}: “{t}” is not something a membership import can use.")
        elif t:
            by.setdefault(t, []).append(i)
    for t, cols in by.items():
        if len(cols) > 1:
            errors.append(f"{' and '.join(column_name(i, headers[i]) for i in cols)} are all mapped to {LABELS[t]}: "
                          "set all but one to “(not imported)”.")
    keys = [k for k in USER_KEYS if k in by]
    if not keys:
        errors.append("No column says who: map one column to Username, Email address, User ID number or User id.")
    elif len(keys) > 1:
        errors.append(f"Several columns say who ({', '.join(LABELS[k] for k in keys)}): keep one of them.")
    if "cohort" not in by and "group" not in by:
        errors.append("No column says where: map one column to Cohort or to Group.")
    elif "cohort" in by and "group" in by:
        errors.append("Map either a Cohort or a Group column: one file imports one kind of membership.")
    if "group" in by and "course" not in by:
        warnings.append("There is no Course column: group names are looked up in every course, and a name used "
                        "in several courses fails its row (group ID numbers and ids always work).")
    if "course" in by and "cohort" in by:
        warnings.append(f"{column_name(by['course'][0], headers[by['course'][0]])} (Course) is not used for cohorts.")
    for i, (h, t) in enumerate(zip(headers, targets)):
        if not t and h.strip().lower() != "reason":
            warnings.append(f"{column_name(i, h)} is not used.")
    return MappingReport(tuple(errors), tuple(warnings))


# -- the import: the dry run ------------------------------------------------------------------------------

class MemberClass(str, Enum):
    ADD = "add"
    REMOVE = "remove"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def failed(self) -> bool:
        return self in (MemberClass.CONFLICT, MemberClass.ERROR)


CLASS_WORDS = {  # (one, many) as the counts read
    MemberClass.ADD: ("to add", "to add"), MemberClass.REMOVE: ("to remove", "to remove"),
    MemberClass.UNCHANGED: ("already so", "already so"), MemberClass.CONFLICT: ("conflict", "conflicts"),
    MemberClass.ERROR: ("error", "errors"), MemberClass.SKIPPED: ("skipped", "skipped")}


def count_phrase(n: int, one: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows`` (as models.plan_model.count_phrase; services cannot import models)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


class MemberRow(NamedTuple):
    """One data row after the dry run: who, where, what happens, and why not (``issues``)."""

    row: int
    klass: MemberClass
    user: str = ""
    userid: int | None = None
    target: str = ""
    issues: tuple[RowIssue, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(i.text() for i in self.issues)


@dataclass(frozen=True)
class MembershipDryRun:
    source: SourceInfo
    headers: tuple[str, ...]
    targets: tuple[str, ...]
    rows: list[MemberRow]
    changes: tuple[Change, ...]
    enrol_first: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[MemberRow, ...]:
        return tuple(r for r in self.rows if r.klass.failed)

    @property
    def title(self) -> str:
        return f"Import memberships from {self.source.name}"

    def count(self, klass: MemberClass | str) -> int:
        return self.counts.get(MemberClass(klass).value, 0)

    def summary(self) -> str:
        parts = [count_phrase(self.count(k), *CLASS_WORDS[k]) for k in MemberClass if self.count(k)]
        return ", ".join(parts) or "no rows"

    def overview(self) -> str:
        """``1 row: 1 to add. 1 change to preview.`` (what the dialog says after the dry run)."""
        n = len(self.changes)
        return (f"{count_phrase(len(self.rows), 'row')}: {self.summary()}. "
                + (f"{count_phrase(n, 'change')} to preview." if n else "Nothing to change."))


class _Groups:
    """Every group of the local copy, by id, ID number and (course, name)."""

    def __init__(self, conn) -> None:
        self.by_id: dict[int, tuple[int, str]] = {}
        self.by_idnumber: dict[str, list[int]] = {}
        self.by_name: dict[str, list[int]] = {}
        for gid, courseid, name, idnumber in conn.exec_driver_sql('SELECT id, courseid, name, idnumber FROM "groups"'):
            self.by_id[gid] = (courseid, name)
            if idnumber:
                self.by_idnumber.setdefault(idnumber.lower(), []).append(gid)
            self.by_name.setdefault((name or "").lower(), []).append(gid)

    def find(self, value: str, courseid: int | None, course_names: dict[int, str] | None = None
             ) -> tuple[int | None, str]:
        low = value.lower()
        names = course_names or {}
        here = names.get(courseid, "this course") if courseid is not None else ""
        for index in (self.by_idnumber, self.by_name):
            found = [g for g in index.get(low, []) if courseid is None or self.by_id[g][0] == courseid]
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                where = here if courseid is not None else "several courses"
                return None, f"{len(found)} groups in {where} are called this; use the group's ID number"
        if value.isdigit() and int(value) in self.by_id and (courseid is None or self.by_id[int(value)][0] == courseid):
            return int(value), ""
        if courseid is None:
            return None, "no such group in the local copy (check the name; sync if it is new)"
        # Not in this course: say so when the name (ID number, id) is a group of another course.
        for index, what in ((self.by_name, "of this name"), (self.by_idnumber, "with this ID number")):
            elsewhere = index.get(low, [])
            if elsewhere:
                name = self.by_id[elsewhere[0]][1] or value
                courses = list(dict.fromkeys(names.get(self.by_id[g][0], str(self.by_id[g][0])) for g in elsewhere))
                where = ", ".join(courses[:3]) + (f" and {len(courses) - 3:,} more" if len(courses) > 3 else "")
                return None, f"no group {what} in {here}; “{name}” is a group of {where}"
        if value.isdigit() and int(value) in self.by_id:
            other, name = self.by_id[int(value)]
            return None, f"group {value} (“{name}”) is a group of {names.get(other, str(other))}, not of {here}"
        return None, f"no such group in {here} in the local copy (check the name; sync if it is new)"


def _action(value: str) -> str | None:
    v = value.strip().lower()
    return "add" if v in _ADD else "remove" if v in _REMOVE else None


def dry_run(conn, table: Table, targets: Sequence[str], *, enrol_first: bool = False,
            progress: Callable[[ProgressEvent], None] | None = None,
            cancel: CancelToken | None = None) -> MembershipDryRun:
    """Classify every row of ``table`` against the cache (``conn``: one read snapshot).

    Raises ValueError when the mapping has errors (check it first with :func:`check_mapping`)."""
    report = check_mapping(table.headers, targets)
    if not report.ok:
        raise ValueError(report.errors[0])
    col = {t: i for i, t in enumerate(targets) if t}
    ukey = next(k for k in USER_KEYS if k in col)
    kind = "cohort" if "cohort" in col else "group"
    lookup = CacheLookup(conn)
    groups = _Groups(conn) if kind == "group" else None
    rows: list[MemberRow] = []
    changes: dict[int, Change] = {}  # index in rows -> the change that row plans
    seen: dict[tuple[int, int], tuple[int, str]] = {}  # (container, user) -> (first row, its action)
    asks: dict[tuple[int, int], list[tuple[int, int, str]]] = {}  # ... -> every (index, row, action)
    for chunk in table.chunks(5000, progress, cancel):
        cells = chunk.columns
        users = _resolve_users(conn, ukey, cells[col[ukey]])
        places: list[tuple[int | None, str, str]] = []  # (container id, problem, label)
        for k in range(len(chunk.rownos)):
            value = cells[col[kind]][k].strip()
            if not value:
                places.append((None, f"which {kind}? Every row needs one", ""))
            elif kind == "cohort":
                cid, why = lookup.cohort(value)
                places.append((cid, why, f"cohort {lookup.cohort_names.get(cid, value)}" if cid else value))
            else:
                courseid, why = (None, "")
                if "course" in col and cells[col["course"]][k].strip():
                    courseid, why = lookup.course(cells[col["course"]][k].strip())
                if why:
                    places.append((None, why, value))
                    continue
                gid, why = groups.find(value, courseid, lookup.course_names)
                label = (f"group {groups.by_id[gid][1]} ({lookup.course_names.get(groups.by_id[gid][0], '')})"
                         if gid else value)
                places.append((gid, why, label))
        pairs = [(p[0], users[k][0]) for k, p in enumerate(places) if p[0] and users[k][0]]
        member, enrolled, courses = _state(conn, kind, pairs, groups)
        for k, rowno in enumerate(chunk.rownos):
            if cancel is not None and k % 1000 == 0:
                cancel.raise_if_cancelled()
            uid, who, user_problem, suspended = users[k]
            cid, place_problem, label = places[k]
            raw_action = cells[col["action"]][k] if "action" in col else ""
            action = _action(raw_action)
            issues: list[RowIssue] = []
            klass = MemberClass.ERROR
            if user_problem:
                issues.append(RowIssue(rowno, table.headers[col[ukey]], cells[col[ukey]][k], user_problem))
            if place_problem:
                issues.append(RowIssue(rowno, table.headers[col[kind]], cells[col[kind]][k], place_problem))
            if action is None:
                issues.append(RowIssue(rowno, table.headers[col["action"]], raw_action,
                                       "is not an action: write add or remove"))
            notes: list[str] = []
            if not issues:
                assert cid is not None and uid is not None and action is not None
                earlier = seen.get((cid, uid))
                asks.setdefault((cid, uid), []).append((len(rows), rowno, action))
                if earlier is not None and earlier[1] == action:
                    klass = MemberClass.SKIPPED
                    issues.append(RowIssue(rowno, "", "", f"same as row {earlier[0]}", "skipped"))
                elif earlier is not None:
                    klass = MemberClass.CONFLICT  # the reason is written below, once every row is read
                else:
                    seen[(cid, uid)] = (rowno, action)
                    is_member = (cid, uid) in member
                    if action == "remove":
                        klass = MemberClass.REMOVE if is_member else MemberClass.UNCHANGED
                        notes.append("" if is_member else f"not a member of {label}")
                    elif is_member:
                        klass = MemberClass.UNCHANGED
                        notes.append(f"already a member of {label}")
                    elif kind == "group" and (courses[cid], uid) not in enrolled and not enrol_first:
                        klass = MemberClass.CONFLICT
                        course = lookup.course_names.get(courses[cid], str(courses[cid]))
                        issues.append(RowIssue(rowno, table.headers[col[ukey]], cells[col[ukey]][k],
                                               f"is not enrolled in {course}; Moodle only puts enrolled users in "
                                               "groups (let the import enrol them first, as students)", "conflict"))
                    else:
                        klass = MemberClass.ADD
                        if kind == "group" and (courses[cid], uid) not in enrolled:
                            notes.append(f"enrolled in {lookup.course_names.get(courses[cid], '')} first, as student")
                        if suspended:
                            notes.append(SUSPENDED_NOTE)
                    if klass in (MemberClass.ADD, MemberClass.REMOVE):
                        changes[len(rows)] = Change(
                            f"{kind}.{'add_member' if klass == MemberClass.ADD else 'remove_member'}",
                            {f"{kind}id": cid, "userid": uid})
            rows.append(MemberRow(rowno, klass, who, uid, label, tuple(issues), tuple(n for n in notes if n)))
    _opposites(rows, changes, asks, kind)
    counts = {k.value: 0 for k in MemberClass}
    for r in rows:
        counts[r.klass.value] += 1
    return MembershipDryRun(table.source, tuple(table.headers), tuple(targets), rows, tuple(changes.values()),
                            enrol_first, counts)


def _rows_phrase(rownos: Sequence[int]) -> str:
    """``row 7``, ``rows 7 and 9``, ``rows 3, 7 and 9``."""
    if len(rownos) == 1:
        return f"row {rownos[0]}"
    return f"rows {', '.join(map(str, rownos[:-1]))} and {rownos[-1]}"


def _opposites(rows: list[MemberRow], changes: dict[int, Change], asks, kind: str) -> None:
    """Rows that ask opposite things (add and remove) for one user and container: every one of
    them becomes a conflict naming the others, and none is planned (no row "wins" by its place)."""
    for asked in asks.values():
        if len({a for _i, _r, a in asked}) < 2:
            continue
        for i, rowno, action in asked:
            opposite = [r for _i, r, a in asked if a != action]
            keep = "keep one of the two rows" if len(asked) == 2 else \
                f"keep one of {_rows_phrase(sorted(r for _i, r, _a in asked))}"
            issue = RowIssue(rowno, "", "", f"{_rows_phrase(opposite)} {'asks' if len(opposite) == 1 else 'ask'} the "
                                            f"opposite ({'remove' if action == 'add' else 'add'}) for this user and "
                                            f"{kind}; {keep}", "conflict")
            row = rows[i]
            rows[i] = row._replace(klass=MemberClass.CONFLICT, notes=(),
                                   issues=(*(x for x in row.issues if x.kind != "skipped"), issue))
            changes.pop(i, None)


def _resolve_users(conn, key: str, values: list[str]) -> list[tuple[int | None, str, str, bool]]:
    """Per value: (user id, display, problem, suspended)."""
    clean = [v.strip() for v in values]
    found: dict[str, list[tuple[int, str, int]]] = {}
    if key == "userid":
        wanted = sorted({int(v) for v in clean if v.isdigit()})
        sql = "SELECT id, username, suspended, id FROM users WHERE id IN (SELECT value FROM json_each(?))"
    else:
        wanted = sorted({v.lower() if key != "idnumber" else v for v in clean if v})
        column = {"username": "username", "email": "email", "idnumber": "idnumber"}[key]
        sql = (f"SELECT id, username, suspended, {column} FROM users "
               f"WHERE {column} IN (SELECT value FROM json_each(?))")
    for k in range(0, len(wanted), 20_000):
        for uid, username, suspended, value in conn.exec_driver_sql(sql, (json.dumps(wanted[k:k + 20_000]),)):
            norm = str(value) if key in ("idnumber", "userid") else str(value).lower()
            found.setdefault(norm, []).append((uid, username, suspended))
    what = {"username": "username", "email": "email address", "idnumber": "ID number", "userid": "id"}[key]
    out = []
    for v in clean:
        if not v:
            out.append((None, "", "who? Every row needs the user", False))
            continue
        if key == "userid" and not v.isdigit():
            out.append((None, v, "is not a user id (a whole number)", False))
            continue
        hits = found.get(v if key in ("idnumber", "userid") else v.lower(), [])
        if len(hits) == 1:
            out.append((hits[0][0], hits[0][1], "", bool(hits[0][2])))
        elif hits:
            names = ", ".join(h[1] for h in hits[:3])
            out.append((None, v, f"{len(hits)} accounts have this {what} ({names}); use the username", False))
        else:
            out.append((None, v, f"no account with this {what} in the local copy (not on the site, or not visible "
                                 "to the console's token; sync if it is new)", False))
    return out


def _state(conn, kind: str, pairs: list[tuple[int, int]], groups: _Groups | None):
    """(memberships that exist, enrolments (course, user) that exist, group -> course) for ``pairs``."""
    if not pairs:
        return set(), set(), {}
    containers = sorted({c for c, _u in pairs})
    users = sorted({u for _c, u in pairs})
    table, key = ("cohort_members", "cohortid") if kind == "cohort" else ("group_members", "groupid")
    member = set(map(tuple, conn.exec_driver_sql(
        f"SELECT {key}, userid FROM {table} WHERE userid IN (SELECT value FROM json_each(?)) "
        f"AND +{key} IN (SELECT value FROM json_each(?))", (json.dumps(users), json.dumps(containers)))))
    if kind != "group":
        return member, set(), {}
    courses = {g: groups.by_id[g][0] for g in containers}
    enrolled = set(map(tuple, conn.exec_driver_sql(
        "SELECT courseid, userid FROM enrolments WHERE userid IN (SELECT value FROM json_each(?)) "
        "AND +courseid IN (SELECT value FROM json_each(?))",
        (json.dumps(users), json.dumps(sorted(set(courses.values())))))))
    return member, enrolled, courses


__all__ = ["CLASS_WORDS", "LABELS", "SUSPENDED_NOTE", "TARGETS", "USER_KEYS", "MemberClass", "MemberRow",
           "MembershipDryRun", "Target", "annotate_plan", "auto_map", "check_mapping", "check_on_site", "dry_run",
           "enrol_changes", "load_target", "membership_changes", "plan_notes"]
