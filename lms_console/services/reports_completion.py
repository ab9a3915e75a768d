"""Completion reports: rates per course/category/cohort/profile field, and completion over time.

A learner-course pair is a ``course_progress`` row of a learner (see ``reports_sql.learner_filter``)
in a course that tracks completion. Completed = Moodle says so; in progress = not completed but
some tracked activities done (progress > 0 %); not started = neither. A course with completion on
but no criteria (no activity tracks completion: Moodle reports no progress for anybody, and nobody
has completed) keeps its learners, counted as "not tracked" and left out of the percentages.
All counting happens in SQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from lms_console.services import reports_sql as S
from lms_console.services.reports import (
    KINDS,
    DrillRequest,
    DrillResult,
    ReportParams,
    ReportResult,
    empty_result,
)

RATE_DRILL = {"Learners": "all", "Completed": "completed", "In progress": "in_progress",
              "Not started": "not_started", "Not tracked": "not_tracked",
              "Completed in period": "completed_in_period"}
MAX_WEEKS = 26  # longer ranges are charted per month


def _group_by(kind: str, params: ReportParams) -> str:
    choices = KINDS[kind].group_by
    return params.group_by if params.group_by in choices else choices[0]


def _prepare(raw, kind: str, params: ReportParams, now) -> tuple[ReportResult | None, Any, int | None, int]:
    """Common checks: synced, courses chosen exist, some track completion. Returns (empty, sel, as_of, ref)."""
    stamp, missing = S.as_of(raw, KINDS[kind].entities)
    ref = S.reference_time(stamp, now)
    if "completion" in missing and not S.rows(raw, "SELECT 1 FROM course_progress LIMIT 1"):
        return empty_result(kind, params, "Course completion is not in the local copy yet. Sync the site "
                            "to see it.", actions=("sync",), reference=ref), None, stamp, ref
    sel = S.courses(raw, params)
    if not sel.ids:
        reason = ("None of the chosen courses or categories has courses in the local copy."
                  if params.courses or params.categories else "There are no courses in the local copy yet.")
        return empty_result(kind, params, reason, as_of=stamp, reference=ref), None, stamp, ref
    tracked = [c for c in sel.ids if sel.tracked[c]]
    if not tracked:
        names = ", ".join(sel.names[c] for c in sel.ids[:8]) + (" …" if len(sel.ids) > 8 else "")
        return empty_result(kind, params, f"None of the chosen courses tracks completion ({names}): completion "
                            "tracking is off in their settings, so there is nothing to count.",
                            as_of=stamp, reference=ref), None, stamp, ref
    return None, sel, stamp, ref


def _criteria(raw, tracked: list[int]) -> tuple[list[int], list[int]]:
    """(courses without completion criteria, courses whose activities track no completion).

    The first: learner rows but no progress for anybody and nobody completed (Moodle reports no
    progress when no activity tracks completion); their learners are "not tracked". The second:
    the synced activities track no completion and nobody completed, yet Moodle reports progress.
    Each test stops at the first matching row of a course (its index), so this stays cheap."""
    got = S.rows(raw, """
        SELECT c.value,
               EXISTS (SELECT 1 FROM course_progress p WHERE p.courseid = c.value),
               EXISTS (SELECT 1 FROM course_progress p WHERE p.courseid = c.value
                       AND (p.progress IS NOT NULL OR p.completed = 1)),
               EXISTS (SELECT 1 FROM course_progress p WHERE p.courseid = c.value AND p.completed = 1),
               (SELECT sum(m.completion > 0) FROM modules m WHERE m.courseid = c.value)
        FROM json_each(?) c""", (S.ids_json(tracked),))
    none = [r[0] for r in got if r[1] and not r[2]]
    quiet = [r[0] for r in got if r[0] not in none and r[4] is not None and not r[4] and not r[3]]
    return none, quiet


def _list(names: list[str]) -> str:
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _tracking_notes(sel, no_criteria: list[int], quiet: list[int], *, counted: bool) -> list[str]:
    """Which chosen courses are left out or not tracked, and why (``counted``: their learners are in
    the table as "Not tracked"; else they are left out)."""
    notes = []
    untracked = [sel.names[c] for c in sel.ids if not sel.tracked[c]]
    if untracked:
        notes.append(f"Left out, completion tracking off: {_list(untracked)}.")
    if no_criteria:
        what = ("their learners are counted as Not tracked and left out of the percentages" if counted
                else "left out")
        notes.append(f"Completion on but no completion criteria (no activity tracks completion, so Moodle reports "
                     f"no progress, and nobody has completed): {_list([sel.names[c] for c in no_criteria])}; "
                     f"{what}.")
    if quiet:
        notes.append(f"No completion criteria the console can see (no activity tracks completion and nobody "
                     f"has completed): {_list([sel.names[c] for c in quiet])}.")
    return notes


def _no_criteria_reason(sel, courses: list[int], what: str) -> str:
    names = _list([sel.names[c] for c in courses])
    one = len(courses) == 1
    return (f"{'The chosen course has no' if one else 'None of the chosen courses has'} completion criteria "
            f"({names}): completion tracking is on, but no activity tracks completion and nobody has completed, "
            f"so there is {what}.")


def _pairs(raw, params: ReportParams, course_ids, extra: str = "", args=(), *,
           suspended_users: bool = True) -> tuple[str, list, str]:
    """WHERE clause of learner pairs ``p`` (course_progress) in ``course_ids`` (+ ``extra`` conditions)."""
    lsql, largs, note = S.learner_filter(raw, params, "p", suspended_users=suspended_users)
    return (f"WHERE {S.in_json('p.courseid')} {lsql} {extra}",
            [S.ids_json(course_ids), *largs, *args], note)


def _dated(raw, params: ReportParams, course_ids, g: S.Grouping) -> tuple[str, list]:
    """SELECT k, d, src over completed learner pairs (grouped by ``g``) with derived completion dates."""
    where, args, _ = _pairs(raw, params, course_ids, "AND p.completed = 1")
    dates = S.completion_dates_sql("SELECT p.userid, p.courseid, p.timecompleted, p.changed_run "
                                   f"FROM course_progress p {where}", S.first_completion_run(raw))
    return f"SELECT {g.key} AS k, p.d AS d, p.src AS src FROM ({dates}) p {g.join}", [*args, *g.args]


def _source_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame.groupby("src")["n"].sum().items()} if len(frame) else {}


def build_completion(raw, params: ReportParams, *, now: Callable[[], float] = time.time) -> ReportResult:
    kind = "completion"
    empty, sel, stamp, ref = _prepare(raw, kind, params, now)
    if empty is not None:
        return empty
    g = S.grouping(raw, _group_by(kind, params), params)
    tracked = [c for c in sel.ids if sel.tracked[c]]
    no_criteria, quiet = _criteria(raw, tracked)
    nc = S.ids_json(no_criteria)
    dated_sources: dict[str, int] = {}
    lo, hi = params.date_from or 0, params.date_to if params.date_to is not None else 2**62
    in_range = params.date_from is not None or params.date_to is not None
    columns = ["k", "n", "done", "started", "psum", "untracked"]
    if in_range:
        # One pass: count every learner pair and date the completed ones (see completion_dates_sql).
        where, args, learner_note = _pairs(raw, params, tracked)
        pairs = (f"SELECT {g.key} AS k, p.userid, p.courseid, p.timecompleted, p.changed_run, p.completed, "
                 f"p.progress FROM course_progress p {g.join} {where}")
        dq = S.completion_dates_sql(pairs, S.first_completion_run(raw), ("k", "completed", "progress"),
                                    "q.completed = 1")
        per = S.frame(raw, f"SELECT k, src, count(*), sum(completed), sum(completed = 0 AND progress > 0), "
                           f"sum(progress), sum({S.in_json('courseid')}), sum(completed = 1 AND d >= ? AND d <= ?) "
                           f"FROM ({dq}) GROUP BY k, src",
                      [nc, lo, hi, *g.args, *args], ["k", "src", "n", "done", "started", "psum", "untracked", "inside"])
        dated_sources = {str(k): int(v) for k, v in per.dropna(subset=["src"]).groupby("src")["n"].sum().items()}
        got = per.groupby("k", sort=False)[[*columns[1:], "inside"]].sum().reset_index()
    else:
        # Counted with suspended users in, then theirs subtracted: testing 1,000,000 rows against the
        # list of suspended users costs more than counting the few rows of those users again.
        where, args, learner_note = _pairs(raw, params, tracked, suspended_users=False)
        select = (f"SELECT {g.key} AS k, count(*), sum(p.completed), sum(p.completed = 0 AND p.progress > 0), "
                  f"sum(p.progress), sum({S.in_json('p.courseid')}) FROM course_progress p")
        got = S.frame(raw, f"{select} {g.join} {where} GROUP BY k", [nc, *g.args, *args], columns)
        if not params.include_suspended:
            minus = S.frame(raw, f"{select} {g.join} {where} AND p.userid IN (SELECT id FROM users WHERE "
                                 "suspended = 1) GROUP BY k", [nc, *g.args, *args], columns)
            if len(minus):
                got = got.set_index("k").sub(minus.set_index("k"), fill_value=0).reset_index()
                got = got[got["n"] > 0].reset_index(drop=True)
    notes = [learner_note, "In progress: not completed, but some tracked activities are done (progress > 0 %)."]
    notes += _tracking_notes(sel, no_criteria, quiet, counted=True)
    if got.empty or not int(got["n"].sum()):
        return empty_result(kind, params, S.no_learners_reason(raw, params), as_of=stamp, notes=tuple(notes),
                            reference=ref)
    labels = S.group_labels(raw, g, got["k"], sel)
    n = got["n"].astype(int)
    done = got["done"].fillna(0).astype(int)
    started = got["started"].fillna(0).astype(int)
    untracked = got["untracked"].fillna(0).astype(int)
    measured = n - untracked  # learners whose completion is tracked: the percentages are of these
    has = measured > 0
    table = pd.DataFrame({
        "_key": [S.group_key(g, k) for k in got["k"]],
        g.title: [labels[k] for k in got["k"]],
        "Learners": n, "Completed": done, "In progress": started, "Not started": measured - done - started,
    })
    if int(untracked.sum()):
        table["Not tracked"] = untracked
    table["Completion %"] = (100.0 * done / measured.where(has)).round(1)
    table["Average progress %"] = (got["psum"].astype(float).fillna(0) / measured.where(has)).round(1)
    drill = {c: s for c, s in RATE_DRILL.items() if c in table.columns or c == "Completed in period"}
    courses = f"{len(tracked):,} course{'s' if len(tracked) != 1 else ''}"
    if no_criteria:
        courses += f" ({len(no_criteria):,} without completion criteria)"
    subtitle = f"{courses} · {int(n.sum()):,} learner enrolments"
    if in_range:
        table["Completed in period"] = got["inside"].astype(int).to_numpy()
        table["Completed in period %"] = (100.0 * table["Completed in period"] / measured.where(has)).round(1)
        notes += S.date_notes(dated_sources, S.run_time(raw, S.first_completion_run(raw)))
        subtitle += f" · completed between {S.day(params.date_from) or 'the start'} and {S.day(params.date_to) or 'now'}"
    else:
        drill.pop("Completed in period")
    if g.kind == "course":
        empty_courses = [sel.names[c] for c in tracked if c not in set(got["k"])]
        if empty_courses:
            who = S.audience_phrase(raw, params)
            notes.append(f"No learners{' ' + who if who else ''} (so no row): {_list(empty_courses)}.")
    table = table.sort_values(g.title, key=lambda s: s.str.lower(), kind="stable").reset_index(drop=True)
    return ReportResult(kind, KINDS[kind].title, params, {"rates": table}, stamp, ref, subtitle,
                        tuple(notes), drill=drill, chart={"group": g.title}, created_at=int(time.time()))


def _periods(lo: int, hi: int) -> tuple[str, list[tuple[int, int, str]]]:
    """("week"|"month", [(start, end, label)]) covering [lo, hi] (UTC)."""
    if hi - lo <= MAX_WEEKS * S.WEEK:
        start = lo - (lo - S.MONDAY) % S.WEEK
        out = []
        while start <= hi:
            out.append((start, start + S.WEEK - 1, S.day(start)))
            start += S.WEEK
        return "week", out
    first = pd.Timestamp(lo, unit="s").to_period("M")
    last = pd.Timestamp(hi, unit="s").to_period("M")
    out = []
    for p in pd.period_range(first, last, freq="M"):
        s = int(p.start_time.timestamp())
        e = int((p + 1).start_time.timestamp()) - 1
        out.append((s, e, p.strftime("%Y-%m")))
    return "month", out


def build_completion_over_time(raw, params: ReportParams, *, now: Callable[[], float] = time.time) -> ReportResult:
    kind = "completion_over_time"
    empty, sel, stamp, ref = _prepare(raw, kind, params, now)
    if empty is not None:
        return empty
    g = S.grouping(raw, _group_by(kind, params), params)
    no_criteria, quiet = _criteria(raw, [c for c in sel.ids if sel.tracked[c]])
    tracked = [c for c in sel.ids if sel.tracked[c] and c not in no_criteria]
    notes = _tracking_notes(sel, no_criteria, quiet, counted=False)
    if not tracked:
        return empty_result(kind, params, _no_criteria_reason(sel, no_criteria, "no curve to draw"), as_of=stamp,
                            notes=tuple(notes), reference=ref)
    where, args, learner_note = _pairs(raw, params, tracked)
    learners = dict(S.rows(raw, f"SELECT {g.key} AS k, count(*) FROM course_progress p {g.join} "
                                f"{where} GROUP BY k", [*g.args, *args]))
    dq, dargs = _dated(raw, params, tracked, g)
    dated = S.frame(raw, f"SELECT k, d, src, count(*) FROM ({dq}) WHERE d IS NOT NULL GROUP BY k, d / 86400, src",
                    dargs, ["k", "d", "src", "n"])
    undated = S.rows(raw, f"SELECT count(*) FROM ({dq}) WHERE d IS NULL", dargs)[0][0]
    notes = [learner_note, *notes]
    first_at = S.run_time(raw, S.first_completion_run(raw))
    counts = _source_counts(dated)
    if undated:
        counts["unknown"] = counts.get("unknown", 0) + int(undated)
    notes += S.date_notes(counts, first_at)
    if not learners:
        return empty_result(kind, params, S.no_learners_reason(raw, params), as_of=stamp, notes=tuple(notes),
                            reference=ref)
    if dated.empty:
        return empty_result(kind, params, "Nobody has completed the chosen courses yet, so there is no curve to draw.",
                            as_of=stamp, notes=tuple(notes), reference=ref)
    lo = params.date_from if params.date_from is not None else int(dated["d"].min())
    hi = params.date_to if params.date_to is not None else max(ref, int(dated["d"].max()))
    if lo > hi:
        return empty_result(kind, params, "The date range is empty: its start is after its end.", as_of=stamp,
                            reference=ref)
    unit, periods = _periods(lo, hi)
    labels = S.group_labels(raw, g, list(learners), sel)
    starts = pd.Series([p[0] for p in periods])
    out = []
    for k, frame in dated.groupby("k"):
        before = int(frame.loc[frame["d"] < lo, "n"].sum())  # the baseline: completed before the range
        idx = starts.searchsorted(frame["d"], side="right") - 1
        per = frame.assign(i=idx).query("i >= 0 and d >= @lo and d <= @hi").groupby("i")["n"].sum()
        total = learners.get(k, 0)
        cum = before
        for i, (s, e, label) in enumerate(periods):
            new = int(per.get(i, 0))
            cum += new
            out.append((S.group_key(g, k), labels.get(k, str(k)), label, s, e, new, cum,
                        S.pct(cum, total)))
    table = pd.DataFrame(out, columns=["_key", g.title, "Period", "_start", "_end", "New completions",
                                       "Cumulative completions", "Cumulative %"])
    final = table.groupby("_key")["Cumulative completions"].max().sort_values(ascending=False)
    summary = pd.DataFrame({
        "_key": [S.group_key(g, k) for k in learners],
        g.title: [labels.get(k, str(k)) for k in learners],
        "Learners": [int(v) for v in learners.values()],
        "Completed (dated)": [int(final.get(S.group_key(g, k), 0)) for k in learners],
    }).sort_values("Completed (dated)", ascending=False, kind="stable").reset_index(drop=True)
    summary["Completion %"] = [S.pct(c, n) for c, n in zip(summary["Completed (dated)"], summary["Learners"])]
    subtitle = (f"Cumulative completions per {unit}, {periods[0][2]} to {periods[-1][2]} · "
                f"{len(tracked):,} course{'s' if len(tracked) != 1 else ''}"
                + (f" ({len(no_criteria):,} more without completion criteria left out)" if no_criteria else ""))
    return ReportResult(kind, KINDS[kind].title, params, {"over_time": table, "summary": summary}, stamp, ref,
                        subtitle, tuple(notes), drill={"New completions": "completed_between",
                                                       "Cumulative completions": "completed_by"},
                        chart={"group": g.title, "unit": unit, "order": list(final.index),
                               "first_sync": first_at if first_at and lo <= first_at <= hi else None},
                        created_at=int(time.time()))


# -- drill-down -----------------------------------------------------------------------------------

def key_condition(raw, key: str, params: ReportParams, alias: str = "p") -> tuple[str, list]:
    """SQL condition (starting with " AND") on pairs ``alias`` for a row key."""
    kind, value = S.parse_key(key)
    if kind == "course":
        return f" AND {alias}.courseid = ?", [int(value)]
    if kind == "category":
        return f" AND {alias}.courseid IN (SELECT id FROM courses WHERE categoryid = ?)", [int(value)]
    if kind == "cohort":
        return f" AND {alias}.userid IN (SELECT userid FROM cohort_members WHERE cohortid = ?)", [int(value)]
    if kind == "user":
        return f" AND {alias}.userid = ?", [int(value)]
    if kind == "field":
        spec = S.field_sql(params.field)
        if spec is None:
            return " AND 0", []
        join, expr, jargs = spec
        return (f" AND {alias}.userid IN (SELECT u.id FROM users u {join} WHERE {expr} = ?)",
                [*jargs, "" if value == S.NOT_SET else value])
    return "", []


def drill(raw, kind: str, params: ReportParams, request: DrillRequest, *,
          now: Callable[[], float] = time.time) -> DrillResult:
    sel = S.courses(raw, params)
    tracked = [c for c in sel.ids if sel.tracked[c]]
    cond, cargs = key_condition(raw, request.key, params)
    status = request.status
    no_criteria = S.ids_json(_criteria(raw, tracked)[0] if status in ("not_started", "not_tracked") else [])
    extra, eargs = {"completed": (" AND p.completed = 1", []),
                    "in_progress": (" AND p.completed = 0 AND p.progress > 0", []),
                    "not_started": (" AND p.completed = 0 AND coalesce(p.progress, 0) = 0 AND NOT "
                                    + S.in_json("p.courseid"), [no_criteria]),
                    "not_tracked": (" AND " + S.in_json("p.courseid"), [no_criteria])}.get(status, ("", []))
    where, args, _ = _pairs(raw, params, tracked, cond + extra, [*cargs, *eargs])
    dates = S.completion_dates_sql(f"SELECT p.userid, p.courseid, p.timecompleted, p.changed_run "
                                   f"FROM course_progress p {where} AND p.completed = 1", S.first_completion_run(raw))
    date_filter, dargs = "", []
    if status in ("completed_in_period", "completed_between", "completed_by"):
        lo = request.start if status == "completed_between" else (params.date_from if status != "completed_by" else None)
        hi = request.end if status in ("completed_between", "completed_by") else params.date_to
        date_filter = " AND p.completed = 1 AND d.d >= ? AND d.d <= ?"
        dargs = [lo or 0, hi if hi is not None else 2**62]
    users = S.users_frame(
        raw, f"FROM (SELECT p.* FROM course_progress p {where}) p JOIN users u ON u.id = p.userid "
             f"LEFT JOIN courses c ON c.id = p.courseid "
             f"LEFT JOIN ({dates}) d ON d.userid = p.userid AND d.courseid = p.courseid WHERE 1 {date_filter}",
        [*args, *args, *dargs],
        ["c.shortname", "round(p.progress, 1)",
         "CASE WHEN p.completed = 1 THEN coalesce(strftime('%Y-%m-%d', d.d, 'unixepoch'), 'yes') ELSE '' END"],
        ["Course", "Progress %", "Completed on"])
    what = S.STATUS_LABELS.get(status, {"not_tracked": "Completion not tracked",
                                        "completed_in_period": "Completed in the period",
                                        "completed_between": "Completed in the period",
                                        "completed_by": "Completed by the end of the period"}.get(status, status))
    title = f"{request.label or request.key} — {what}"
    note = "One row per learner and course. Completion dates are estimated (see the report's notes)."
    return DrillResult(title, users if len(users) else None, note if len(users) else "Nobody.")
