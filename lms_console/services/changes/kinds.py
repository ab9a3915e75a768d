"""What each change kind means on Moodle: the function that carries it, how items batch, how
they are checked against the cache, what the answer means per item, how to verify an
unknown outcome on the server, the inverse, and the effect on the cache.

Kinds register themselves in :data:`KINDS` (modules ``kinds_*``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lms_console.services.changes.model import Change, Problem

KINDS: dict[str, "Kind"] = {}


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """The LMS's answer for one item of a call."""

    ok: bool
    result: Mapping[str, Any] | None = None
    code: str = ""
    message: str = ""
    # The site says the item's target no longer exists (a user or course deleted there): the
    # item ends as the site said, and the cache forgets the target (Kind.forget), so the next
    # plan says so instead of planning the same failure again.
    gone: bool = False


OK = ItemOutcome(True)


class Kind:
    """One kind of change. Subclasses set the class attributes and override what differs."""

    name = ""
    title_verb = ""
    function = ""
    list_key = ""  # the batched list parameter (users, members, userids, ...)
    atomic = True  # Moodle runs the whole call in one transaction: one bad item fails all
    reversible = True
    idempotent = False  # sending it twice has the same effect as once (safe to resend blind)
    entity = ""  # what the cache re-reads: users | cohorts | groups | enrolments | contents
    required: tuple[str, ...] = ()
    max_items = 100  # per call, before the field budget (smaller batches isolate failures faster)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.name:
            KINDS[cls.name] = cls()

    # -- request ------------------------------------------------------------------
    def group_params(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Parameters outside the batched list; items batch together only when these are equal."""
        return {}

    def request_item(self, data: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def params(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return {**self.group_params(items[0]), self.list_key: [self.request_item(d) for d in items]}

    # -- planning -------------------------------------------------------------------
    def resolve(self, data: Mapping[str, Any], ctx) -> Mapping[str, Any]:
        """Data completed from the cache at plan time (e.g. a cohort's context, a course's format);
        stored with the item, so the outbox can send it later without the cache."""
        return data

    def target(self, data: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def title(self, data: Mapping[str, Any], ctx) -> str:
        return f"{self.title_verb} {self.target(data)}"

    def validate(self, data: Mapping[str, Any], ctx) -> list[Problem]:
        return [Problem(f"{key} is required", field=key, value=data.get(key))
                for key in self.required if data.get(key) in (None, "")]

    def before(self, data: Mapping[str, Any], ctx) -> dict[str, Any] | None:
        return None

    def after(self, data: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None

    def is_noop(self, data: Mapping[str, Any], before: Mapping[str, Any] | None, ctx) -> bool:
        return False

    def named(self, values: Mapping[str, Any] | None, ctx) -> Mapping[str, Any] | None:
        """``before`` or ``after`` as the preview and the journal show them: ids named (e.g. roles) where
        the kind knows how. Keys starting with "_" are not shown; they keep what the kind reads back
        from the journal (its inverse), so the values stay what ``before``/``after`` gave, named or hidden."""
        return values

    # -- answer -----------------------------------------------------------------------
    def outcomes(self, items: Sequence[Mapping[str, Any]], response: Any) -> list[ItemOutcome]:
        """Per item, what the answer means (default: a success answer means every item is done)."""
        return [OK] * len(items)

    def refused(self, data: Mapping[str, Any], error) -> ItemOutcome:
        """What the site's refusal (``error``, an ApiRejected) of a call that carried this item alone
        means (default: the item failed with the site's code and message). A kind may read it as
        done (a delete of what is already gone) or as failed with its target gone."""
        return ItemOutcome(False, code=error.code, message=error.message)

    def forget(self, raw, data: Mapping[str, Any], now: int) -> str | None:
        """The site said the target of ``data`` is gone (an outcome with ``gone``): remove it from
        the cache (``raw`` is the writer's sqlite3 connection). Returns the entity the cache lost
        (users, courses, ...: what the models re-read), None when nothing changed."""
        return None

    def verify(self, client, data: Mapping[str, Any]) -> bool | None:
        """Whether the change is in effect on the site (True/False), or None when it cannot be told."""
        return None

    def inverse(self, data: Mapping[str, Any], before: Mapping[str, Any] | None,
                result: Mapping[str, Any] | None) -> Change | None:
        return None

    def no_inverse_reason(self, data: Mapping[str, Any], before: Mapping[str, Any] | None) -> str:
        """Why a done item of this kind has no inverse in the journal, in words for the undo's preview."""
        return "the journal keeps no way back for this kind of change"

    def apply_to_cache(self, raw, data: Mapping[str, Any], result: Mapping[str, Any] | None, now: int) -> None:
        """Update the cache from what the LMS answered (``raw`` is the writer's sqlite3 connection)."""

    def apply_many_to_cache(self, raw, done: Sequence[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
                            now: int) -> None:
        """All items of a chunk that went through: (data, result). Kinds with a set-based
        statement override this; the default applies them one by one."""
        for data, result in done:
            self.apply_to_cache(raw, data, result, now)

    def read_back(self, client, results: Sequence[Mapping[str, Any] | None]) -> Any:
        """What the site made of the items of one call that went through (``results``: their results),
        read from it in ONE call right after, for :meth:`store_read_back`: what the site filled in
        itself (defaults), which the answer of the write does not say. None: nothing to read (the
        default). An LmsError means the site did not tell; the items stay done all the same."""
        return None

    def store_read_back(self, writer, raw, fetched: Any) -> None:
        """Write what :meth:`read_back` got into the cache, after :meth:`apply_many_to_cache` and in
        its transaction (``writer`` is the CacheWriter, ``raw`` its sqlite3 connection)."""


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown change kind {name!r}; known: {', '.join(sorted(KINDS))}") from None


# -- helpers shared by the kind modules ------------------------------------------------------------

class PlannedId(int):
    """The id of an object an earlier item of the same plan creates, while planning.

    It is negative (no cached row has it; the plan context knows the planned object by
    it) and reads as "<id of item N>" in previews. The applier replaces references with the
    real id the LMS answered before anything is sent.
    """

    seq: int

    def __new__(cls, seq: int) -> "PlannedId":
        obj = super().__new__(cls, -int(seq))
        obj.seq = int(seq)
        return obj

    def __str__(self) -> str:
        return f"<id of item {self.seq}>"

    __repr__ = __str__


def is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and "ref" in value


def as_int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if type(value) is int:  # the common case, on every item of every chunk
        return value
    if is_ref(value):
        return PlannedId(int(value["ref"]))
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
        raise ValueError(f"{key} must be a number, got {value!r}")
    return int(value)


def int_problem(data: Mapping[str, Any], key: str) -> Problem | None:
    try:
        as_int(data, key)
    except ValueError as exc:
        return Problem(str(exc), field=key, value=data.get(key))
    return None


def id_problems(data: Mapping[str, Any], keys: Sequence[str]) -> list[Problem]:
    """What is wrong with the ids ``keys`` of ``data`` (nothing when all are numbers or references)."""
    return [p for p in (int_problem(data, k) for k in keys) if p is not None]


class FieldsUpdate(Kind):
    """A change of some ``FIELDS`` of one cached row (``{"id": n, "fields": {...}}``) in ``table``:
    before and after are those fields, nothing to do when they already hold, undone by the same
    kind with the old values, written to the cache as sent. ``current(ctx, id)`` reads the row."""

    table = ""
    FIELDS: tuple[str, ...] = ()

    def current(self, ctx, id_: int) -> Mapping[str, Any] | None:
        raise NotImplementedError

    def before(self, data, ctx):
        row = self.current(ctx, as_int(data, "id")) or {}
        return {k: row.get(k) for k in (data.get("fields") or {})}

    def after(self, data, before):
        return dict(data.get("fields") or {})

    def is_noop(self, data, before, ctx):
        return before == self.after(data, before)

    def inverse(self, data, before, result):
        return Change(self.name, {"id": data["id"], "fields": dict(before or {})}) if before else None

    def apply_to_cache(self, raw, data, result, now):
        fields = {k: v for k, v in (data.get("fields") or {}).items() if k in self.FIELDS}
        if fields:
            raw.execute(f'UPDATE "{self.table}" SET {", ".join(f"{k} = ?" for k in fields)} WHERE id = ?',
                        (*fields.values(), as_int(data, "id")))


def warnings_of(response: Any) -> list[Mapping[str, Any]]:
    return list(response.get("warnings") or []) if isinstance(response, Mapping) else []


def by_item_warning(items: Sequence[Mapping[str, Any]], response: Any, id_key: str, item_name: str
                    ) -> list[ItemOutcome]:
    """Warnings that name ``item_name`` and an ``itemid`` fail that item only (per-item functions)."""
    failed: dict[int, Mapping[str, Any]] = {}
    for w in warnings_of(response):
        if str(w.get("item", "")) in (item_name, "") and w.get("itemid") is not None:
            failed[int(w["itemid"])] = w
    out = []
    for d in items:
        w = failed.get(int(d[id_key]))
        out.append(ItemOutcome(False, code=str(w.get("warningcode") or "warning"), message=str(w.get("message", "")))
                   if w else OK)
    return out


_ID_RE = re.compile(r"(user|cohort)\s*\(?\s*(id|username|idnumber)\s*=\s*([^\s)]+)")


def message_targets(message: str) -> dict[str, str]:
    """Moodle's cohort warnings name their target only in words ("user id=42 not exists")."""
    return {m.group(1): m.group(3) for m in _ID_RE.finditer(message)}


def id_text(value: Any) -> str:
    """An id in a target key: the number, or "item7" for an object item 7 creates."""
    return f"item{value['ref']}" if is_ref(value) else str(value)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
