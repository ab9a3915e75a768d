"""Reports over the cache: completion, engagement, assessment, compliance, enrolments; snapshots.

Each report is a function ``(conn, params, cancel) -> ReportResult`` in a ``reports_*`` module. A
result holds pandas DataFrames (the numbers behind the chart: the first table is the main one)
and metadata: the as-of time (freshness of the synced entities it reads), notes on how the
numbers were made, and, when there is nothing to show, an ``empty_reason`` that says why in
plain words. Bad input (empty selections, courses without completion tracking, missing grades,
an unreadable snapshot) gives an empty result with a reason, never an exception.

Aggregates over big tables (course_progress, activity_completion, grades, access history) are
computed in SQL; pandas only shapes the small answers. This module is cheap to import (no pandas):
the GUI imports it at start-up for :class:`ReportParams` and :data:`KINDS`; :func:`run_report`
loads the report modules when a report is first run.

Conventions of the tables: columns whose name starts with ``_`` are keys for drill-down and
charts (hidden in the GUI and in exports); ``_key`` names the row's group (``course:3``,
``cohort:2``, ``category:5``, ``field:Sales``, ``item:17``, ``user:42``, ``all``).
All dates are UTC.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from lms_console.services.progress import NEVER_CANCELLED, CancelToken

if TYPE_CHECKING:  # pandas is imported by the report modules, when a report runs
    from pandas import DataFrame

__all__ = [
    "CORE_FIELDS",
    "KINDS",
    "DrillRequest",
    "DrillResult",
    "ReportKind",
    "ReportOptions",
    "ReportParams",
    "ReportResult",
    "RequiredCourse",
    "different_reports",
    "drill_users",
    "empty_result",
    "load_options",
    "report_title",
    "run_report",
]

# User columns that can group or filter a report ("profile-field groups"); custom profile fields
# are named ``profile_field_<shortname>`` as in Moodle's own uploads.
CORE_FIELDS = {"department": "Department", "institution": "Institution", "city": "City/town",
               "country": "Country", "auth": "Authentication", "lang": "Language"}
CUSTOM_PREFIX = "profile_field_"


@dataclass(frozen=True, slots=True)
class ReportKind:
    kind: str
    title: str
    description: str
    module: str
    entities: tuple[str, ...]  # sync entities the report reads (its as-of time is the oldest of these)
    group_by: tuple[str, ...] = ()  # choices of ReportParams.group_by, default first
    uses: tuple[str, ...] = ()  # parameter names the report reads (the GUI shows only these)


_GROUPS = ("course", "category", "cohort", "field")
KINDS: dict[str, ReportKind] = {k.kind: k for k in (
    ReportKind("completion", "Completion rates",
               "Course completion per course, category, cohort or profile field: completed, in progress, "
               "not started, with counts and percentages.",
               "reports_completion", ("courses", "enrolments", "completion"), _GROUPS,
               ("courses", "categories", "cohorts", "field", "dates", "group_by", "suspended")),
    ReportKind("completion_over_time", "Completion over time",
               "Cumulative course completions per course, category, cohort or profile field.",
               "reports_completion", ("courses", "enrolments", "completion", "activity_completion"), _GROUPS,
               ("courses", "categories", "cohorts", "field", "dates", "group_by", "suspended")),
    ReportKind("engagement", "Engagement",
               "Active users per week, how long ago users last came in, and who has been inactive.",
               "reports_activity", ("users", "enrolments"), (),
               ("courses", "categories", "cohorts", "field", "dates", "inactive_days", "suspended")),
    ReportKind("assessment", "Grade distributions",
               "Grades per course and activity as histograms or box plots (grades are fetched on demand).",
               "reports_assessment", ("grades", "enrolments"), (),
               ("courses", "categories", "cohorts", "field", "style", "suspended")),
    ReportKind("compliance", "Compliance",
               "Required courses with due dates: completed, in progress, not started or overdue, per person.",
               "reports_compliance", ("courses", "enrolments", "completion", "cohorts", "users"), (),
               ("cohorts", "field", "required", "suspended")),
    ReportKind("enrolments", "Enrolment trends",
               "New enrolments per month and current enrolments per course or category.",
               "reports_activity", ("courses", "enrolments"), ("course", "category"),
               ("courses", "categories", "cohorts", "field", "dates", "group_by", "suspended")),
)}


def report_title(kind: str) -> str:
    k = KINDS.get(kind)
    return k.title if k else kind.replace("_", " ").capitalize()


def different_reports(before_kind: str, after_kind: str, before_title: str = "", after_title: str = "") -> str:
    """Why two snapshots (results) of these report kinds cannot be compared; "" when they can.

    The reports pane says it before comparing (on the Compare button); ``reports_snapshots.compare``
    says it when asked anyway.
    """
    if before_kind == after_kind:
        return ""
    return (f"These snapshots are of different reports ({before_title or report_title(before_kind)} and "
            f"{after_title or report_title(after_kind)}) and cannot be compared.")


@dataclass(frozen=True, slots=True)
class RequiredCourse:
    """A course required by a compliance rule, with its due date (None: no deadline)."""

    courseid: int
    due: int | None = None


@dataclass(frozen=True, slots=True)
class ReportParams:
    """What a report covers. Empty selections mean "no restriction" (all courses, all users).

    ``field``/``field_values``: a profile field (a :data:`CORE_FIELDS` name or
    ``profile_field_<shortname>``) and the values to keep (empty: all values); ``group_by="field"``
    groups by it. ``date_from``/``date_to``: UTC seconds, inclusive.
    """

    courses: tuple[int, ...] = ()
    categories: tuple[int, ...] = ()
    cohorts: tuple[int, ...] = ()
    field: str = ""
    field_values: tuple[str, ...] = ()
    group_by: str = ""
    date_from: int | None = None
    date_to: int | None = None
    include_suspended: bool = False
    inactive_days: int = 30
    style: str = ""  # assessment: "box" (default) or "histogram"
    required: tuple[RequiredCourse, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "required":
                value = [[r.courseid, r.due] for r in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ReportParams:
        """Tolerant: unknown keys are ignored and bad values fall back to the defaults."""
        if not isinstance(data, Mapping):
            return cls()
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            try:
                if f.name in ("courses", "categories", "cohorts"):
                    kw[f.name] = tuple(int(v) for v in value)
                elif f.name == "field_values":
                    kw[f.name] = tuple(str(v) for v in value)
                elif f.name == "required":
                    kw[f.name] = tuple(RequiredCourse(int(r[0]), None if r[1] is None else int(r[1])) for r in value)
                elif f.name in ("date_from", "date_to"):
                    kw[f.name] = None if value is None else int(value)
                elif f.name == "inactive_days":
                    kw[f.name] = max(1, int(value))
                elif f.name == "include_suspended":
                    kw[f.name] = bool(value)
                else:
                    kw[f.name] = str(value)
            except (TypeError, ValueError, IndexError):
                continue
        return cls(**kw)

    def with_(self, **changes) -> ReportParams:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class DrillRequest:
    """The users behind one number: a row's ``_key``, a status, and optionally a period."""

    key: str
    status: str = "all"
    start: int | None = None
    end: int | None = None
    label: str = ""


@dataclass(frozen=True)
class ReportResult:
    """A report's numbers and what is known about them. Treat the frames as read-only."""

    kind: str
    title: str
    params: ReportParams
    tables: Mapping[str, DataFrame] = field(default_factory=dict)
    as_of: int | None = None  # the oldest freshness of the entities read; None: never synced
    reference: int = 0  # "now" for ages and deadlines: the as-of time (or the clock when never synced)
    subtitle: str = ""
    notes: tuple[str, ...] = ()
    empty_reason: str = ""
    actions: tuple[str, ...] = ()  # what the GUI may offer with the empty state: "fetch_grades", "sync"
    drill: Mapping[str, str] = field(default_factory=dict)  # main-table column -> drill status
    chart: Mapping[str, Any] = field(default_factory=dict)  # chart options (style, series order...)
    created_at: int = 0
    snapshot_id: int | None = None  # set when opened from a snapshot
    snapshot_created: int | None = None

    @property
    def is_empty(self) -> bool:
        return bool(self.empty_reason)

    @property
    def main(self) -> DataFrame | None:
        return next(iter(self.tables.values()), None)

    @property
    def main_name(self) -> str:
        return next(iter(self.tables), "")

    @property
    def from_snapshot(self) -> bool:
        return self.snapshot_id is not None


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What the cache offers to choose from (plain tuples: safe across threads)."""

    courses: tuple[tuple[int, str, str, int, bool, bool], ...] = ()  # id, shortname, fullname, category, tracked, visible
    categories: tuple[tuple[int, str], ...] = ()  # id, "Parent / Child" name
    cohorts: tuple[tuple[int, str, int], ...] = ()  # id, name, members
    fields: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # name -> (label, values)
    graded_courses: frozenset[int] = frozenset()  # courses whose grades are in the cache
    as_of: int | None = None


@dataclass(frozen=True)
class DrillResult:
    title: str
    users: DataFrame | None  # _userid plus display columns; None when empty
    note: str = ""


def empty_result(kind: str, params: ReportParams, reason: str, *, as_of: int | None = None,
                 actions: tuple[str, ...] = (), notes: tuple[str, ...] = (), reference: int | None = None,
                 title: str = "") -> ReportResult:
    return ReportResult(kind, title or report_title(kind), params, {}, as_of,
                        int(reference if reference is not None else (as_of or time.time())),
                        notes=notes, empty_reason=reason, actions=actions, created_at=int(time.time()))


def _module(kind: str):
    return importlib.import_module(f"lms_console.services.{KINDS[kind].module}")


def run_report(kind: str, source, params: ReportParams | None = None,
               cancel: CancelToken = NEVER_CANCELLED, *, now: Callable[[], float] = time.time) -> ReportResult:
    """Build report ``kind`` from ``source`` (a CacheDb, an SQLAlchemy Connection or sqlite3 connection).

    Raises ``Cancelled`` when ``cancel`` fires (also in the middle of a long SQL statement) and
    ``ValueError`` for an unknown kind; everything the admin can get wrong gives an empty result.
    """
    from lms_console.services import reports_sql as S

    if kind not in KINDS:
        raise ValueError(f"unknown report {kind!r}; choose one of {', '.join(KINDS)}")
    params = params or ReportParams()
    build = getattr(_module(kind), f"build_{kind}")
    try:
        with S.reading(source) as raw, S.cancellable(raw, cancel):
            return _with_filters(raw, build(raw, params, now=now))
    except S.NotReadable as exc:
        return empty_result(kind, params, str(exc))


def _with_filters(raw, result: ReportResult) -> ReportResult:
    """The result with every filter in force named in its summary: parameters carry over from one
    report to the next, so a filter chosen for another report must not apply unseen. Compliance
    names its audience itself; the reports' own summaries name their date ranges."""
    from lms_console.services import reports_sql as S

    parts = S.filter_parts(raw, result.params, KINDS[result.kind].uses, dates=result.is_empty,
                           audience=result.kind != "compliance")
    if not parts:
        return result
    text = "filters: " + "; ".join(parts)
    return replace(result, subtitle=f"{result.subtitle} · {text}" if result.subtitle else "F" + text[1:])


def drill_users(source, kind: str, params: ReportParams, request: DrillRequest,
                cancel: CancelToken = NEVER_CANCELLED, *, now: Callable[[], float] = time.time) -> DrillResult:
    """The users behind ``request`` (a row key and status of a report of ``kind``), from the cache."""
    from lms_console.services import reports_sql as S

    if kind not in KINDS:
        raise ValueError(f"unknown report {kind!r}")
    module = _module(kind)
    try:
        with S.reading(source) as raw, S.cancellable(raw, cancel):
            return module.drill(raw, kind, params, request, now=now)
    except S.NotReadable as exc:
        return DrillResult(request.label or "Users", None, str(exc))


def load_options(source):
    """What the parameters panel offers: courses, categories, cohorts and profile fields with values."""
    from lms_console.services import reports_sql as S

    with S.reading(source) as raw:
        return S.options(raw)
