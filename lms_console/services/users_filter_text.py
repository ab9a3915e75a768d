"""A users filter in words: the users pane's sentence, the filter bar's chips, a cohort rule's members.

:func:`describe` turns a :class:`~lms_console.services.users_query.UserFilter` into a sentence
("Suspended users in cohort Sales who never logged in"), :func:`describe_condition` one condition on
its own ("In cohort Sales"); :func:`names_for` reads from the cache the names they need (cohorts,
groups, courses, custom profile fields), so describing itself never touches the database.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from lms_console.services.users_query import PROFILE_FIELDS, Condition, UserFilter, clean_text, filter_options


def names_for(conn, spec: UserFilter) -> dict[tuple[str, Any], str]:
    """Names :func:`describe` needs: ("cohort", id), ("group", id), ("course", id), ("custom", shortname)."""
    out: dict[tuple[str, Any], str] = {}
    for c in spec.conditions:
        if c.field == "cohort" and isinstance(c.value, int):
            row = conn.exec_driver_sql("SELECT name FROM cohorts WHERE id = ?", (c.value,)).first()
            out[("cohort", c.value)] = row[0] if row else f"#{c.value}"
        elif c.field == "group" and isinstance(c.value, int):
            row = conn.exec_driver_sql('SELECT g.name, c.shortname FROM "groups" g LEFT JOIN courses c '
                                       "ON c.id = g.courseid WHERE g.id = ?", (c.value,)).first()
            out[("group", c.value)] = (f"{row[0]} ({row[1]})" if row[1] else row[0]) if row else f"#{c.value}"
        elif c.field in ("course", "completed") and isinstance(c.value, int):
            row = conn.exec_driver_sql("SELECT shortname FROM courses WHERE id = ?", (c.value,)).first()
            out[("course", c.value)] = row[0] if row else f"#{c.value}"
    if any(c.field == "custom" for c in spec.conditions):
        out.update({("custom", s): n for s, n in filter_options(conn).custom_fields})
    return out


def _date(stamp: int) -> str:
    t = time.localtime(stamp)
    return f"{t.tm_mday} {time.strftime('%b %Y', t)}"


def _phrase(c: Condition, names: Mapping[tuple[str, Any], str]) -> tuple[str, str]:
    """Where one condition goes in the sentence and its words: (adj | prep | who | whose, words)."""
    f, op, v = c.field, c.op, c.value
    course = names.get(("course", v), f"course #{v}")
    if f in ("suspended", "confirmed"):
        return "adj", {"suspended": ("active", "suspended"), "confirmed": ("unconfirmed", "confirmed")}[f][bool(v)]
    if f == "auth":
        return "prep", f"with {v} authentication" if op == "is" else f"not using {v} authentication"
    if f in ("cohort", "group"):
        name = names.get((f, v), f"#{v}")
        return "prep", {"in": f"in {f} {name}", "not_in": f"not in {f} {name}", "any": f"in any {f}",
                        "none": f"in no {f}"}[op]
    if f == "course":
        return "prep", {"in": f"enrolled in {course}", "not_in": f"not enrolled in {course}",
                        "any": "enrolled in any course", "none": "enrolled in no course"}[op]
    if f == "completed":
        return "who", f"completed {course}" if op == "is" else f"have not completed {course}"
    if f == "never_logged_in":
        return "who", "never logged in" if v else "have logged in"
    if f == "users":
        return "prep", f"among the {len(v):,} of {c.key}" if c.key else f"among {len(v):,} chosen users"
    if f == "last_access":
        return "who", {"before": lambda: f"last logged in before {_date(v)}",
                       "after": lambda: f"logged in since {_date(v)}",
                       "within": lambda: f"logged in within the last {v} days",
                       "not_within": lambda: f"have not logged in for {v} days"}[op]()
    label = (names.get(("custom", c.key), c.key) if f == "custom" else PROFILE_FIELDS.get(c.key, c.key).lower())
    return "whose", {"is": f"{label} is “{v}”", "is_not": f"{label} is not “{v}”", "contains": f"{label} contains “{v}”",
                     "empty": f"{label} is empty", "not_empty": f"{label} is filled in"}[op]


def describe_condition(c: Condition, names: Mapping[tuple[str, Any], str] | None = None) -> str:
    """One condition on its own (the filter bar's chips): "Suspended", "In cohort Sales"."""
    words = _phrase(c, names or {})[1]
    return words[:1].upper() + words[1:]


def describe(spec: UserFilter, names: Mapping[tuple[str, Any], str] | None = None) -> str:
    """The filter as a sentence: "Suspended users in cohort Sales who never logged in"."""
    names = names or {}
    slots: dict[str, list[str]] = {"adj": [], "prep": [], "who": []}
    clauses: list[tuple[str, str]] = []  # (who | whose, words)
    text = " ".join(clean_text(spec.text).split())
    if text:
        slots["prep"].append(f"matching “{text}”")
    for c in spec.conditions:
        slot, words = _phrase(c, names)
        if slot in ("who", "whose"):
            clauses.append((slot, words))
        else:
            slots[slot].append(words)
    if not spec.conditions and not text:
        return "All users"
    head = " ".join([*dict.fromkeys(slots["adj"]), "users"])
    out = [head[0].upper() + head[1:], *slots["prep"]]
    previous = ""
    for n, (connector, clause) in enumerate(clauses):
        lead = connector if connector != previous else ""
        out.append(" ".join(t for t in (("and" if n else ""), lead, clause) if t))
        previous = connector
    return " ".join(out)
