"""Plain data of the change engine: a change, a planned item, an item's result, a run's summary."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    """What the plan says will happen to an item."""

    APPLY = "apply"  # will be sent
    NOOP = "noop"  # already so on the site (per the cache): dropped
    CONFLICT = "conflict"  # needs the admin's decision (e.g. not enrolled; changed on the server)
    ERROR = "error"  # invalid: never sent


class Status(str, Enum):
    """Where an item is in its life (journal and outbox are one table)."""

    QUEUED = "queued"  # planned and confirmed, waiting to be sent (the outbox)
    SENDING = "sending"  # sent, answer not recorded yet (a crash here = outcome unknown)
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not sent: cancelled, or an item it depends on failed
    HELD = "held"  # waiting for the admin: changed on the server, or outcome unknown
    UNDONE = "undone"  # done, then reversed by an undo run

    @property
    def final(self) -> bool:
        return self in (Status.DONE, Status.FAILED, Status.SKIPPED, Status.UNDONE)


@dataclass(frozen=True, slots=True)
class Change:
    """One thing to do on the LMS: ``kind`` (e.g. ``"user.suspend"``) and its data.

    Data values are JSON-able; ``{"ref": n, "field": "id"}`` refers to the result of
    change number ``n`` of the same plan (an id the LMS will assign).
    """

    kind: str
    data: Mapping[str, Any]

    def to_json(self) -> dict:
        return {"kind": self.kind, **dict(self.data)}

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> "Change":
        if not isinstance(obj, Mapping) or "kind" not in obj:
            raise ValueError("a change must be an object with a 'kind'")
        data = {k: v for k, v in obj.items() if k != "kind"}
        return Change(str(obj["kind"]), data)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an item cannot go as planned: what, where (field, value) and what to do."""

    message: str
    field: str = ""
    value: Any = None
    fix: str = ""
    # A change that, added to the plan first, resolves the problem (e.g. enrol before grouping).
    prerequisite: Change | None = None

    def __str__(self) -> str:
        where = f"{self.field}={self.value!r}: " if self.field else ""
        return where + self.text()

    def text(self) -> str:
        """The message and what to do, as sentences (without the field and value)."""
        if not self.fix:
            return self.message
        return self.message + (" " if self.message.endswith((".", "!", "?", ":", ";")) else ". ") + self.fix


@dataclass(frozen=True, slots=True)
class PlanItem:
    seq: int
    change: Change
    outcome: Outcome
    title: str  # "Suspend jdoe (John Doe)"
    target: str  # "user:42"
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    problems: tuple[Problem, ...] = ()
    function: str = ""
    reversible: bool = True
    depends_on: tuple[int, ...] = ()

    @property
    def diff(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field the item changes (not the engine's own "_" fields)."""
        before, after = self.before or {}, self.after or {}
        keys = [k for k in dict.fromkeys([*before, *after]) if not k.startswith("_")]
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One web-service call the plan will make, as "Show API calls" lists it (token masked)."""

    function: str
    fields: tuple[tuple[str, str], ...]
    items: tuple[int, ...]  # seq of the plan items it carries


@dataclass(frozen=True, slots=True)
class Plan:
    items: tuple[PlanItem, ...]
    title: str = ""
    # What the admin must know that no item says, shown above the items: e.g. the changes of a run an
    # undo leaves out because they cannot be undone (never a silent skip).
    notes: tuple[str, ...] = ()

    def count(self, outcome: Outcome) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o.value: self.count(o) for o in Outcome}

    @property
    def to_apply(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.items if i.outcome == Outcome.APPLY)

    @property
    def irreversible(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.to_apply if not i.reversible)


@dataclass(frozen=True, slots=True)
class ItemResult:
    item_id: int
    seq: int
    kind: str
    target: str
    status: Status
    code: str = ""
    message: str = ""
    result: Mapping[str, Any] | None = None


def settled_status(statuses: Iterable[Status]) -> str:
    """The status of a run that went to its end, from its items' statuses: held while an item waits for
    the admin; failed when items failed and none went through (nothing changed on the site: items already
    so, or skipped, change nothing either); partial when some went through and some failed; else done."""
    statuses = set(statuses)
    if Status.HELD in statuses:
        return "held"
    if Status.FAILED not in statuses:
        return "done"
    return "partial" if statuses & {Status.DONE, Status.UNDONE} else "failed"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did; broadcast as ``changes_applied`` so models know what to re-read."""

    run_id: int
    # done | partial (some items went through, some failed) | failed (items failed and none went through,
    # or the site refused the token: then ``error`` says so) | waiting (offline) | cancelled | held
    status: str
    results: tuple[ItemResult, ...]
    entities: frozenset[str] = field(default_factory=frozenset)  # users, cohorts, groups, enrolments, contents
    error: Any = None  # the LmsError that stopped a waiting or failed run (the site not answering, the token)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def stopped(self) -> bool:
        """The run stopped before its end (the site stopped answering or refused the token, or Cancel):
        what it did not send waits or was skipped. A run that went to its end may still be failed."""
        return self.error is not None or self.status == "cancelled"

    @property
    def failed(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if r.status == Status.FAILED)
