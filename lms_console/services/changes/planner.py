"""plan(): check every change against the cache and the LMS's rules before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from lms_console.services.changes import kinds as K
from lms_console.services.changes import (  # noqa: F401
    kinds_courses,
    kinds_enrol,
    kinds_groups,
    kinds_members,
    kinds_users,
)
from lms_console.services.changes.model import (
    ApiCall,
    Change,
    Outcome,
    Plan,
    PlanItem,
    Problem,
)
from lms_console.services.lms.http import count_fields, flatten_params
from lms_console.services.users_query import role_name

# Moodle's standard roles by their usual ids, for a local copy that has not read the roles yet.
ROLE_NAMES = {1: "Manager", 3: "Teacher", 4: "Non-editing teacher", 5: "Student", 6: "Guest"}
MAX_FIELDS = 800  # per call, as the client enforces (PHP's max_input_vars is 1,000)


class PlanContext:
    """Read access to the cache for planning (one read connection; one snapshot)."""

    def __init__(self, conn, site=None) -> None:
        self.conn = conn
        self.site = site
        self._planned_enrolments: set[tuple[int, int]] = set()
        self._roles: dict[int, str] | None = None
        # Filled by prefetch() in a few set-based queries, so planning 50,000 items does not
        # cost several single-row queries each.
        self._users: dict[int, dict | None] = {}
        self._cohorts: dict[int, dict | None] = {}
        self._cohort_members: dict[int, set[int]] = {}
        self._groups: dict[int, dict | None] = {}
        self._group_members: dict[int, set[int]] = {}
        self._enrolments: dict[tuple[int, int], dict | None] = {}
        self._enrol_courses: set[int] = set()
        self._planned_users: dict[int, dict] = {}
        self.applied: set[int] = set()  # seq of the items planned to go, for references

    def plan_user(self, seq: int, data: Mapping[str, Any]) -> None:
        """An earlier item creates this account: later items may refer to it ({"ref": seq})."""
        self._planned_users[-seq] = {"id": -seq, "suspended": 0, "auth": data.get("auth") or "manual",
                                     "customfields": {}, **{k: data.get(k, "") for k in (
                                         "username", "firstname", "lastname", "email")}}

    def prefetch(self, changes: Sequence[Change]) -> None:
        users, cohorts, groups, courses = set(), set(), set(), set()
        for ch in changes:
            d, family = ch.data, ch.kind.split(".", 1)[0]
            for key, bucket in (("userid", users), ("cohortid", cohorts), ("groupid", groups),
                                ("courseid", courses)):
                if isinstance(d.get(key), int):
                    bucket.add(d[key])
            if isinstance(d.get("id"), int):
                {"user": users, "cohort": cohorts, "group": groups}.get(family, set()).add(d["id"])
        for chunk in _chunks(sorted(users - set(self._users))):
            found = self._rows(f"SELECT * FROM users WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            self._users.update({u: None for u in chunk})
            self._users.update({r["id"]: r for r in found})
        for chunk in _chunks(sorted(cohorts - set(self._cohorts))):
            self._cohorts.update({c: None for c in chunk})
            self._cohorts.update({r["id"]: r for r in self._rows(
                f"SELECT * FROM cohorts WHERE id IN ({','.join('?' * len(chunk))})", chunk)})
            for c in chunk:
                self._cohort_members[c] = {r[0] for r in self.conn.exec_driver_sql(
                    "SELECT userid FROM cohort_members WHERE cohortid = ?", (c,))}
        for chunk in _chunks(sorted(groups - set(self._groups))):
            self._groups.update({g: None for g in chunk})
            self._groups.update({r["id"]: r for r in self._rows(
                f'SELECT * FROM "groups" WHERE id IN ({",".join("?" * len(chunk))})', chunk)})
            for g in chunk:
                self._group_members[g] = {r[0] for r in self.conn.exec_driver_sql(
                    "SELECT userid FROM group_members WHERE groupid = ?", (g,))}
        courses |= {g["courseid"] for g in self._groups.values() if g}
        for c in sorted(courses - self._enrol_courses):
            self._enrol_courses.add(c)
            for r in self._rows("SELECT * FROM enrolments WHERE courseid = ?", (c,)):
                r["roleids"] = json.loads(r.get("roleids") or "[]")
                self._enrolments[(c, r["userid"])] = r

    def waiting(self, targets: Sequence[str]) -> dict[str, tuple[int, str]]:
        """target -> (run id, title) of the changes to these targets still in the outbox (queued, being
        sent, or held for the admin): the local copy does not show them yet."""
        if not targets:
            return {}
        out: dict[str, tuple[int, str]] = {}
        for i in range(0, len(targets), 5000):
            for r in self._rows("SELECT target, run_id, title FROM change_items WHERE status IN ('queued', 'sending', "
                                "'held') AND target IN (SELECT value FROM json_each(?)) ORDER BY run_id, seq",
                                (json.dumps(list(targets[i:i + 5000])),)):
                out.setdefault(r["target"], (r["run_id"], r["title"]))
        return out

    def _rows(self, sql: str, params: Sequence[Any]) -> list[dict]:
        result = self.conn.exec_driver_sql(sql, tuple(params))
        keys = list(result.keys())
        return [dict(zip(keys, row)) for row in result]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict | None:
        result = self.conn.exec_driver_sql(sql, tuple(params))
        row = result.first()
        return dict(zip(result.keys(), row)) if row else None

    def user(self, userid) -> dict | None:
        if not isinstance(userid, int):
            return None
        if userid < 0:  # a PlannedId: an account an earlier item of this plan creates
            return self._planned_users.get(userid)
        if userid not in self._users:
            self._users[userid] = self._one("SELECT * FROM users WHERE id = ?", (userid,))
        u = self._users[userid]
        if u is not None and isinstance(u.get("customfields"), str):
            u["customfields"] = {c[0]: c[1] for c in json.loads(u["customfields"] or "[]")}
        return u

    def user_id_by_username(self, username: str) -> int | None:
        row = self._one("SELECT id FROM users WHERE username = ?", (str(username).lower(),))
        return row["id"] if row else None

    def user_ids_by_email(self, email: str) -> list[int]:
        return [r[0] for r in self.conn.exec_driver_sql("SELECT id FROM users WHERE email = ? COLLATE NOCASE",
                                                        (str(email),))]

    def cohort(self, cohortid) -> dict | None:
        if not isinstance(cohortid, int):
            return None
        if cohortid not in self._cohorts:
            self._cohorts[cohortid] = self._one("SELECT * FROM cohorts WHERE id = ?", (cohortid,))
        return self._cohorts[cohortid]

    def cohort_by_idnumber(self, idnumber: str) -> dict | None:
        return self._one("SELECT * FROM cohorts WHERE idnumber = ? AND idnumber != ''", (idnumber,))

    def cohort_has(self, cohortid: int, userid: int) -> bool:
        members = self._cohort_members.get(cohortid)
        if members is not None:
            return userid in members
        return self._one("SELECT 1 AS x FROM cohort_members WHERE cohortid = ? AND userid = ?",
                         (cohortid, userid)) is not None

    def cohort_size(self, cohortid: int) -> int:
        return int(self.conn.exec_driver_sql("SELECT count(*) FROM cohort_members WHERE cohortid = ?",
                                             (cohortid,)).scalar() or 0)

    def category(self, categoryid: int) -> dict | None:
        return self._one("SELECT * FROM categories WHERE id = ?", (categoryid,))

    def course(self, courseid) -> dict | None:
        return self._one("SELECT * FROM courses WHERE id = ?", (courseid,)) if isinstance(courseid, int) else None

    def group(self, groupid) -> dict | None:
        if not isinstance(groupid, int):
            return None
        if groupid not in self._groups:
            self._groups[groupid] = self._one('SELECT * FROM "groups" WHERE id = ?', (groupid,))
        return self._groups[groupid]

    def group_by_name(self, courseid: int, name: str) -> dict | None:
        return self._one('SELECT * FROM "groups" WHERE courseid = ? AND name = ?', (courseid, name))

    def group_has(self, groupid: int, userid: int) -> bool:
        members = self._group_members.get(groupid)
        if members is not None:
            return userid in members
        return self._one("SELECT 1 AS x FROM group_members WHERE groupid = ? AND userid = ?",
                         (groupid, userid)) is not None

    def enrolment(self, courseid: int, userid: int) -> dict | None:
        if courseid in self._enrol_courses:
            return self._enrolments.get((courseid, userid))
        e = self._one("SELECT * FROM enrolments WHERE courseid = ? AND userid = ?", (courseid, userid))
        if e is not None:
            e["roleids"] = json.loads(e.get("roleids") or "[]")
        return e

    def planned_enrolment(self, courseid: int, userid: int) -> bool:
        return (courseid, userid) in self._planned_enrolments

    def plan_enrolment(self, courseid: int, userid: int) -> None:
        self._planned_enrolments.add((courseid, userid))

    def section(self, sectionid) -> dict | None:
        return self._one("SELECT * FROM sections WHERE id = ?", (sectionid,)) if isinstance(sectionid, int) else None

    def module(self, cmid) -> dict | None:
        # The cache keys activities by their course-module id (cmid); kinds read it as "id".
        return self._one("SELECT *, cmid AS id FROM modules WHERE cmid = ?", (cmid,)) if isinstance(cmid, int) else None

    def role_name(self, roleid) -> str:
        """The role as the site names it ("Teacher", not "editingteacher"), as the rest of the console does."""
        if self._roles is None:
            self._roles = {r[0]: role_name(r[1], r[2]) for r in self.conn.exec_driver_sql(
                "SELECT id, shortname, name FROM roles")}
        return self._roles.get(int(roleid)) or ROLE_NAMES.get(int(roleid), f"role {roleid}")


def plan(changes: Iterable[Change], ctx: PlanContext, *, title: str = "", enrol_first: bool = False,
         recorded_titles: Sequence[str] = ()) -> Plan:
    """Check each change; drop no-ops; name every problem. With ``enrol_first``, a group
    member who is not enrolled gets an enrolment added to the plan before it.

    ``recorded_titles``: the journal's titles of ``changes`` (one each, in order), when they are planned
    again (a retry). An item that cannot go keeps its recorded title: what it names may be gone from the
    local copy (an account deleted on the site), which then could only say "user 12"."""
    changes = [_user_ids(change, ctx) for change in changes]
    ctx.prefetch(changes)
    items: list[PlanItem] = []
    seen_targets: dict[str, int] = {}
    # Prerequisites (enrolments for group members) go first, so they batch into few calls.
    for change in changes:
        for prerequisite in _prerequisites(change, ctx, enrol_first):
            items.append(_item(len(items) + 1, prerequisite, ctx, seen_targets))
    recorded = list(recorded_titles)
    for n, change in enumerate(changes):
        item = _item(len(items) + 1, change, ctx, seen_targets)
        if n < len(recorded) and recorded[n] and item.outcome == Outcome.ERROR:
            item = replace(item, title=recorded[n])
        items.append(item)
    waiting = ctx.waiting([i.target for i in items if i.outcome in (Outcome.APPLY, Outcome.NOOP)])
    if waiting:
        items = [_waits(i, waiting[i.target]) if i.target in waiting and i.outcome in (Outcome.APPLY, Outcome.NOOP)
                 else i for i in items]
    return Plan(tuple(items), title=title or _default_title(items))


def _waits(item: PlanItem, run: tuple[int, str]) -> PlanItem:
    """An item whose target has a change still in the outbox: planned against a local copy that does not
    show that change yet, it could repeat or undo it. The admin decides in the Outbox first."""
    run_id, title = run
    problem = Problem(f"“{title}” (run {run_id}) still waits in the outbox for the same target", field="target",
                      value=item.target, fix="Let it go out first, or drop it in Journal › Outbox; then plan this.")
    return replace(item, outcome=Outcome.ERROR, problems=(*item.problems, problem))


USERNAME_PREFIX = "username:"
_USER_KEYS = ("id", "userid")


def _user_ids(change: Change, ctx: PlanContext) -> Change:
    """A user named ``"username:jdoe"`` where an id is expected (plan files, scripts) -> the id the local
    copy has for that username. One it does not know stays as written: :func:`_unknown_users` names it."""
    named = [k for k in _USER_KEYS if isinstance(change.data.get(k), str) and change.data[k].startswith(USERNAME_PREFIX)]
    if not named:
        return change
    data = dict(change.data)
    for key in named:
        uid = ctx.user_id_by_username(data[key][len(USERNAME_PREFIX):].strip())
        if uid is not None:
            data[key] = uid
    return Change(change.kind, data)


def _unknown_users(data: dict) -> list[Problem]:
    return [Problem("no account with this username in the local copy (sync first if it is new)", field=k,
                    value=data[k]) for k in _USER_KEYS
            if isinstance(data.get(k), str) and data[k].startswith(USERNAME_PREFIX)]


def _prerequisites(change: Change, ctx: PlanContext, enrol_first: bool) -> list[Change]:
    if not enrol_first or change.kind != "group.add_member" or _unknown_users(change.data):
        return []
    spec = K.kind(change.kind)
    return [p.prerequisite for p in spec.validate(change.data, ctx) if p.prerequisite is not None]


def _item(seq: int, change: Change, ctx: PlanContext, seen: dict[str, int]) -> PlanItem:
    try:
        spec = K.kind(change.kind)
    except ValueError as exc:
        return PlanItem(seq, change, Outcome.ERROR, f"Unknown change {change.kind}", "", problems=(Problem(str(exc)),))
    data = dict(change.data)
    # A reference to an object an earlier item creates is fine only if that item will go.
    problems = [Problem(f"needs what item {ref} creates, and item {ref} will not be applied", field="ref", value=ref)
                for ref in _refs(data) if ref not in ctx.applied] + _unknown_users(data)
    try:
        if not problems:
            problems = list(spec.validate(data, ctx))
        if not problems:
            data = dict(spec.resolve(data, ctx))
    except (ValueError, TypeError, KeyError) as exc:
        problems = [Problem(f"invalid data: {exc}")]
    change = Change(change.kind, data)
    target = _safe(lambda: spec.target(data), f"{change.kind}:?")
    title = _safe(lambda: spec.title(data, ctx), f"{change.kind} {target}")
    before = after = None
    outcome = Outcome.ERROR if problems else Outcome.APPLY
    if problems and any(p.prerequisite is not None for p in problems):
        outcome = Outcome.CONFLICT
    if outcome == Outcome.APPLY:
        before = spec.before(data, ctx)
        after = spec.after(data, before)
        if target in seen:
            outcome = Outcome.ERROR
            problems.append(Problem(f"is the same change as item {seen[target]} of this plan", field="target",
                                    value=target))
        elif spec.is_noop(data, before, ctx):
            outcome = Outcome.NOOP
        seen.setdefault(target, seq)
        before, after = spec.named(before, ctx), spec.named(after, ctx)
        if outcome == Outcome.APPLY:
            ctx.applied.add(seq)
            if change.kind == "enrol.add":
                ctx.plan_enrolment(K.as_int(data, "courseid"), K.as_int(data, "userid"))
            elif change.kind == "user.create":
                ctx.plan_user(seq, data)
    return PlanItem(seq, change, outcome, title, target, before, after, tuple(problems), spec.function,
                    spec.reversible, _refs(data))


def _chunks(ids: Sequence[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _safe(fn, default):
    try:
        return fn()
    except (ValueError, TypeError, KeyError):
        return default


def _refs(data: Mapping[str, Any]) -> tuple[int, ...]:
    return tuple(sorted({int(v["ref"]) for v in data.values() if isinstance(v, Mapping) and "ref" in v}))


def _default_title(items: Sequence[PlanItem]) -> str:
    kinds = sorted({i.change.kind for i in items})
    return f"{len(items)} change(s): {', '.join(kinds)}" if items else "Empty plan"


def batches(items: Sequence[PlanItem], max_fields: int = MAX_FIELDS) -> list[list[PlanItem]]:
    """Consecutive items of the same function and group parameters, in plan order, chunked so
    every call stays under the field budget and the kind's item limit."""
    out: list[list[PlanItem]] = []
    current: list[PlanItem] = []
    current_key = None
    fields = 3  # wstoken, wsfunction, moodlewsrestformat
    for item in items:
        spec = K.kind(item.change.kind)
        key = (spec.function, json.dumps(spec.group_params(item.change.data), sort_keys=True, default=str))
        size = count_fields(spec.request_item(item.change.data)) if spec.list_key else 4
        if current and (key != current_key or len(current) >= spec.max_items or fields + size > max_fields):
            out.append(current)
            current, fields = [], 3 + len(flatten_params(spec.group_params(item.change.data)))
        if not current:
            fields = 3 + len(flatten_params(spec.group_params(item.change.data)))
        current.append(item)
        current_key = key
        fields += size
    if current:
        out.append(current)
    return out


def api_calls(plan: Plan, max_fields: int = MAX_FIELDS) -> list[ApiCall]:
    """The calls the plan will make, for "Show API calls" (the token shown as ***)."""
    calls = []
    for batch in batches(plan.to_apply, max_fields):
        spec = K.kind(batch[0].change.kind)
        params = spec.params([i.change.data for i in batch])
        fields = [("wstoken", "***"), ("wsfunction", spec.function), ("moodlewsrestformat", "json"),
                  *flatten_params(params)]
        masked = tuple((k, "***" if k.endswith("[password]") else v) for k, v in fields)
        calls.append(ApiCall(spec.function, masked, tuple(i.seq for i in batch)))
    return calls
