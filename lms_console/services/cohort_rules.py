"""Rule-based cohorts: a cohort whose members a users filter defines (department = Sales and
country = DE, a custom profile field, ...).

A rule is stored in the cache (``cohort_rules``, migration 0005). :func:`diff_rule` compares the
users the filter matches with the cohort's members, in SQL: who joins, who leaves (leaves only
when the rule removes members it does not match). Nothing here sends anything: the diff becomes
``cohort.add_member`` / ``cohort.remove_member`` changes that the change engine previews and
applies when the admin says so. After each sync :func:`check_all` recomputes every rule's diff
and :func:`record_checks` keeps the counts, so the console can say which rules have drifted.

Members the token cannot see (in the cohort, not in the local ``users`` table) are never
removed by a rule: the console cannot tell whether they match. They are counted (``unseen``).
The site's guest account is never added nor removed (a filter never matches it, see
``users_query.NOT_GUEST``): a rule cannot change it, even when someone put it in the cohort on the site.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

from lms_console.services.cache import schema_rules  # noqa: F401  (registers the table's metadata)
from lms_console.services.changes.model import Change
from lms_console.services.users_query import (
    NOT_GUEST,
    Condition,
    FilterError,
    UserFilter,
    where_sql,
)
from lms_console.services.user_errors import UserError
from lms_console.services.users_filter_text import describe, names_for

SAMPLE = 500  # users named per side in a diff (the counts are always exact)


class RuleError(UserError, ValueError):
    """A rule that cannot be saved or used; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class CohortRule:
    id: int
    cohortid: int
    spec: UserFilter
    remove_others: bool = True
    cohort_name: str = ""  # "" when the cohort is no longer in the local copy
    created_at: int = 0
    updated_at: int = 0
    checked_at: int | None = None
    joins: int | None = None  # at the last check
    leaves: int | None = None
    in_step_since: int | None = None
    problem: str = ""  # the stored filter cannot be read

    @property
    def cohort_exists(self) -> bool:
        return bool(self.cohort_name)

    @property
    def drifted(self) -> bool:
        return bool(self.joins or self.leaves)


@dataclass(frozen=True, slots=True)
class DiffUser:
    id: int
    username: str
    fullname: str
    email: str = ""
    suspended: bool = False


@dataclass(frozen=True)
class RuleDiff:
    """What applying a rule now would do. ``joins``/``leaves`` are every id; ``*_sample`` names
    the first :data:`SAMPLE` of each (sorted by name) for the preview."""

    rule: CohortRule
    sentence: str = ""
    joins: tuple[int, ...] = ()
    leaves: tuple[int, ...] = ()
    matched: int = 0  # users the filter matches
    members: int = 0  # the cohort's members now
    kept: int = 0  # members the filter does not match, kept because the rule only adds
    unseen: int = 0  # members not in the local copy (the token cannot see them): never removed
    suspended_joins: int = 0
    join_sample: tuple[DiffUser, ...] = ()
    leave_sample: tuple[DiffUser, ...] = ()
    problem: str = ""
    checked_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def drifted(self) -> bool:
        return bool(self.joins or self.leaves)

    @property
    def title(self) -> str:
        name = self.rule.cohort_name or f"cohort {self.rule.cohortid}"
        return f"Apply the rule of cohort {name}: {len(self.joins):,} join, {len(self.leaves):,} leave"

    def summary(self) -> str:
        if self.problem:
            return self.problem
        kept = (f"{_count(self.kept, 'member')} {'does' if self.kept == 1 else 'do'} not match the rule and "
                f"{'stays' if self.kept == 1 else 'stay'} (removing is off)") if self.kept else ""
        if not self.drifted:
            if kept:
                return f"Nothing to add. {kept[0].upper()}{kept[1:]}."
            if self.unseen:
                return f"In step: every one of the {_count(self.matched, 'user')} the rule matches is in the cohort."
            return f"In step: the cohort has exactly the {_count(self.matched, 'user')} the rule matches."
        text = f"{len(self.joins):,} to add, {len(self.leaves):,} to remove"
        return f"{text}; {kept}." if kept else text

    @property
    def removes_everyone(self) -> bool:
        """The rule matches no one and applying it would empty the cohort (of the members the
        console can see): most likely a typo in a value."""
        return self.matched == 0 and bool(self.leaves)

    @property
    def needs_confirmation(self) -> bool:
        """Applying asks for an explicit "yes, remove them all" first."""
        return not self.problem and self.removes_everyone

    def warning(self) -> str:
        """A plain-words warning when applying would remove everyone or most of the members, or when
        the rule matches no one at all; "" otherwise."""
        if self.problem:
            return ""
        leaves = len(self.leaves)
        if self.removes_everyone:
            if self.unseen:  # members the token cannot see are never removed
                whom = f"{_count(leaves, 'member')} (every member the console can see)"
            else:
                whom = "its only member" if leaves == 1 else f"all {leaves:,} members"
            return (f"The rule matches no one: applying it removes {whom}. Check the values (a typo?) before "
                    "you preview the changes.")
        if self.members and leaves * 2 > self.members:
            share = round(100 * leaves / self.members)
            return (f"Applying the rule removes {leaves:,} of the cohort's {_count(self.members, 'member')} "
                    f"({share} %). Check the conditions before you preview the changes.")
        if self.matched == 0:
            return "The rule matches no one now. Check the values (a typo?)."
        return ""

    def changes(self) -> list[Change]:
        cid = self.rule.cohortid
        return ([Change("cohort.add_member", {"cohortid": cid, "userid": u}) for u in self.joins]
                + [Change("cohort.remove_member", {"cohortid": cid, "userid": u}) for u in self.leaves])


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# -- checking a rule's filter --------------------------------------------------------------------------

def check_rule(cohortid: int, spec: UserFilter) -> UserFilter:
    """The filter to store for ``cohortid``, or RuleError saying what is wrong with it."""
    if not spec.conditions:
        raise RuleError("A rule needs at least one condition (for example: department is Sales). A rule "
                        "without one would put every user of the site into the cohort.")
    for c in spec.conditions:
        if c.field == "cohort" and c.value == cohortid:
            raise RuleError("A rule cannot depend on its own cohort's members: applying it would change "
                            "what it matches.")
    if spec.text.strip():
        raise RuleError("A rule cannot use a search text (it matches names loosely); use conditions only.")
    try:
        where_sql(spec)
    except FilterError as exc:  # pragma: no cover - Condition() already refused it
        raise RuleError(str(exc)) from exc
    return UserFilter(conditions=spec.conditions)


# -- reading -----------------------------------------------------------------------------------------

_COLUMNS = ("r.id, r.cohortid, r.spec, r.remove_others, coalesce(c.name, ''), r.created_at, r.updated_at, "
            "r.checked_at, r.joins, r.leaves, r.in_step_since")


def _rule(row) -> CohortRule:
    problem = ""
    try:
        spec = UserFilter.loads(row[2] or "{}")
    except FilterError as exc:
        spec, problem = UserFilter(), f"The rule's filter cannot be read: {exc}"
    return CohortRule(row[0], row[1], spec, bool(row[3]), row[4], row[5], row[6], row[7], row[8], row[9], row[10],
                      problem)


def list_rules(conn) -> list[CohortRule]:
    return [_rule(r) for r in conn.exec_driver_sql(
        f"SELECT {_COLUMNS} FROM cohort_rules r LEFT JOIN cohorts c ON c.id = r.cohortid "
        "ORDER BY c.name IS NULL, c.name, r.id")]


def rule_for_cohort(conn, cohortid: int) -> CohortRule | None:
    row = conn.exec_driver_sql(f"SELECT {_COLUMNS} FROM cohort_rules r LEFT JOIN cohorts c ON c.id = r.cohortid "
                               "WHERE r.cohortid = ?", (cohortid,)).first()
    return _rule(row) if row else None


def get_rule(conn, rule_id: int) -> CohortRule | None:
    row = conn.exec_driver_sql(f"SELECT {_COLUMNS} FROM cohort_rules r LEFT JOIN cohorts c ON c.id = r.cohortid "
                               "WHERE r.id = ?", (rule_id,)).first()
    return _rule(row) if row else None


def _users(conn, ids: Sequence[int], limit: int = SAMPLE) -> tuple[DiffUser, ...]:
    """The first ``limit`` of ``ids`` by name, as the preview lists them."""
    out: list[DiffUser] = []
    wanted = list(ids)
    for i in range(0, len(wanted), 900):
        chunk = wanted[i:i + 900]
        out += [DiffUser(r[0], r[1], f"{r[2]} {r[3]}".strip(), r[4], bool(r[5])) for r in conn.exec_driver_sql(
            f"SELECT id, username, firstname, lastname, email, suspended FROM users WHERE id IN "
            f"({','.join('?' * len(chunk))})", tuple(chunk))]
    out.sort(key=lambda u: (u.fullname.lower(), u.id))
    return tuple(out[:limit])


def diff_rule(conn, rule: CohortRule, *, now: int | None = None, sample: int = SAMPLE) -> RuleDiff:
    """Who the rule would add to and remove from its cohort now (per the local copy)."""
    sentence = describe(rule.spec, names_for(conn, rule.spec)) if not rule.problem else ""
    if rule.problem:
        return RuleDiff(rule, sentence, problem=rule.problem)
    if not rule.cohort_exists:
        return RuleDiff(rule, sentence, problem=f"Cohort {rule.cohortid} is no longer on the site (or not in the "
                                                "local copy): delete the rule, or sync cohorts.")
    try:
        spec = check_rule(rule.cohortid, rule.spec)
    except RuleError as exc:
        return RuleDiff(rule, sentence, problem=str(exc))
    where, params = where_sql(spec, now)
    match = where[len("WHERE "):] if where else "1"
    cid = rule.cohortid
    ex = conn.exec_driver_sql
    joins = tuple(r[0] for r in ex(
        f"SELECT u.id FROM users u WHERE ({match}) AND NOT EXISTS (SELECT 1 FROM cohort_members m "
        "WHERE m.cohortid = ? AND m.userid = u.id) ORDER BY u.id", (*params, cid)))
    not_matching = tuple(r[0] for r in ex(
        "SELECT m.userid FROM cohort_members m JOIN users u ON u.id = m.userid WHERE m.cohortid = ? "
        f"AND NOT ({match}) AND {NOT_GUEST} ORDER BY m.userid", (cid, *params)))
    matched = int(ex(f"SELECT count(*) FROM users u WHERE {match}", params).scalar() or 0)
    members = int(ex("SELECT count(*) FROM cohort_members WHERE cohortid = ?", (cid,)).scalar() or 0)
    unseen = int(ex("SELECT count(*) FROM cohort_members m WHERE m.cohortid = ? AND NOT EXISTS "
                    "(SELECT 1 FROM users u WHERE u.id = m.userid)", (cid,)).scalar() or 0)
    leaves = not_matching if rule.remove_others else ()
    suspended = 0
    for i in range(0, len(joins), 900):
        chunk = joins[i:i + 900]
        suspended += int(ex(f"SELECT count(*) FROM users WHERE suspended = 1 AND id IN "
                            f"({','.join('?' * len(chunk))})", chunk).scalar() or 0)
    return RuleDiff(rule, sentence, joins, leaves, matched, members,
                    kept=0 if rule.remove_others else len(not_matching), unseen=unseen, suspended_joins=suspended,
                    join_sample=_users(conn, joins, sample), leave_sample=_users(conn, leaves, sample),
                    checked_at=int(time.time() if now is None else now))


def check_all(conn, *, now: int | None = None, cancel=None) -> list[RuleDiff]:
    """Every rule's diff (after a sync): which rules have drifted from their cohort."""
    out = []
    for rule in list_rules(conn):
        if cancel is not None:
            cancel.raise_if_cancelled()
        out.append(diff_rule(conn, rule, now=now, sample=0))
    return out


# -- writing (on the cache-writer thread) --------------------------------------------------------------

def save_rule(writer, cohortid: int, spec: UserFilter, *, remove_others: bool = True) -> int:
    """Store the rule of ``cohortid`` (replacing its previous one); returns the rule's id."""
    spec = check_rule(cohortid, spec)
    now = int(time.time())
    with writer.batch() as raw:
        if raw.execute("SELECT 1 FROM cohorts WHERE id = ?", (cohortid,)).fetchone() is None:
            raise RuleError(f"Cohort {cohortid} is not in the local copy (deleted on the site?). Sync cohorts "
                            "and try again.")
        row = raw.execute("SELECT id FROM cohort_rules WHERE cohortid = ?", (cohortid,)).fetchone()
        if row:
            raw.execute("UPDATE cohort_rules SET spec = ?, remove_others = ?, updated_at = ?, checked_at = NULL, "
                        "joins = NULL, leaves = NULL WHERE id = ?", (spec.dumps(), int(remove_others), now, row[0]))
            return int(row[0])
        return int(raw.execute("INSERT INTO cohort_rules (cohortid, spec, remove_others, created_at, updated_at) "
                               "VALUES (?, ?, ?, ?, ?)", (cohortid, spec.dumps(), int(remove_others), now, now)
                               ).lastrowid)


def delete_rule(writer, rule_id: int) -> bool:
    """Forget a rule (the cohort and its members stay as they are)."""
    with writer.batch() as raw:
        return raw.execute("DELETE FROM cohort_rules WHERE id = ?", (rule_id,)).rowcount > 0


def record_checks(writer, diffs: Sequence[RuleDiff]) -> None:
    """Keep each rule's counts from its latest diff (``in_step_since`` starts when a rule that had
    drifted is in step again)."""
    rows = [(None if d.problem else len(d.joins), None if d.problem else len(d.leaves), d.checked_at,
             int(bool(d.problem) or d.drifted), d.checked_at, d.rule.id) for d in diffs]
    with writer.batch() as raw:
        raw.executemany(
            "UPDATE cohort_rules SET joins = ?, leaves = ?, checked_at = ?, "
            "in_step_since = CASE WHEN ? THEN NULL ELSE coalesce(in_step_since, ?) END WHERE id = ?", rows)


def rule_condition_choices(conn) -> dict[str, list[str]]:
    """Values the rule editor offers: departments, institutions, cities, countries (most common first)."""
    out: dict[str, list[str]] = {}
    for col in ("department", "institution", "city", "country"):
        out[col] = [r[0] for r in conn.exec_driver_sql(
            f"SELECT {col} FROM users WHERE {col} <> '' GROUP BY {col} ORDER BY count(*) DESC, {col} LIMIT 200")]
    return out


__all__ = ["SAMPLE", "CohortRule", "Condition", "DiffUser", "RuleDiff", "RuleError", "check_all", "check_rule",
           "delete_rule", "diff_rule", "get_rule", "list_rules", "record_checks", "rule_condition_choices",
           "rule_for_cohort", "save_rule"]
