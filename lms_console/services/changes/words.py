"""Values, dates and diffs of planned changes in plain words, as the preview, the results, the journal and
the command line show them: yes/no, "(empty)", local dates, lists joined, secrets hidden."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from lms_console.services.changes.model import Outcome, PlanItem

_SECRET_HINTS = ("password", "token", "secret")
# Fields that hold Unix seconds (Moodle's names): shown as local dates, 0 meaning "not set".
DATE_FIELDS = frozenset({"timestart", "timeend", "timecreated", "timemodified", "timeadded", "timeaccess",
                         "lastaccess", "lastlogin", "currentlogin", "firstaccess", "lastcourseaccess",
                         "startdate", "enddate", "duedate", "cutoffdate", "suspendeduntil"})


def format_value(value: Any, field: str = "") -> str:
    """A value as an admin reads it: yes/no, "(empty)", dates, lists joined; secrets never shown."""
    if field and any(h in field.lower() for h in _SECRET_HINTS) and value not in (None, ""):
        return "(hidden)"
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field.lower() in DATE_FIELDS and isinstance(value, (int, float)):
        return format_date(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {format_value(v, str(k))}" for k, v in value.items()) or "(none)"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(format_value(v) for v in value) or "(none)"
    return str(value)


def format_date(stamp: float) -> str:
    """Unix seconds as a local date (``2026-12-31 23:59``; the day alone at midnight); 0 is "(none)"."""
    if not stamp:
        return "(none)"
    try:
        t = time.localtime(stamp)
    except (OverflowError, OSError, ValueError):
        return str(stamp)
    return time.strftime("%Y-%m-%d" if t.tm_hour == t.tm_min == t.tm_sec == 0 else "%Y-%m-%d %H:%M", t)


def diff_pairs(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field that differs; the whole value when not a mapping. Fields
    whose name starts with "_" are the engine's own (e.g. the role ids behind role names): not shown."""
    if after is None:  # a removal (delete): nothing to compare field by field
        return []
    if not isinstance(before, Mapping) and not isinstance(after, Mapping):
        return [] if before == after else [("", before, after)]
    b = before if isinstance(before, Mapping) else {}
    a = after if isinstance(after, Mapping) else {}
    keys = [k for k in dict.fromkeys([*b, *a]) if not str(k).startswith("_")]
    return [(str(k), b.get(k), a.get(k)) for k in keys if b.get(k) != a.get(k)]


def diff_text(pairs: Iterable[tuple[str, Any, Any]], sep: str = "; ", arrow: str = "→") -> str:
    """``suspended: no → yes; city: (empty) → Porto`` (the command line writes ``->``)."""
    parts = []
    for field, old, new in pairs:
        change = f"{format_value(old, field)} {arrow} {format_value(new, field)}"
        parts.append(f"{field}: {change}" if field else change)
    return sep.join(parts)


def item_diff_text(item: PlanItem, sep: str = "; ", arrow: str = "→") -> str:
    """What the item changes; for an item with no field diff, what it does (e.g. a delete)."""
    pairs = diff_pairs(item.before, item.after)
    if pairs:
        return diff_text(pairs, sep, arrow)
    if item.after is None and item.before and item.change.kind.endswith("delete"):
        return f"deleted (now: {format_value(item.before)})"
    if item.outcome == Outcome.NOOP:
        return "no change needed"
    return ""
