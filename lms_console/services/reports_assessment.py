"""Assessment: grade distributions per course and activity (histogram and box-plot data).

Grades are synced on demand (Moodle's grade report is unpaged and big), so the usual empty state
here is "not fetched yet", with the action to fetch them. Grades count in percent of the item's
range; every statistic comes from SQL aggregates: counts, mean, lowest and highest, and a
one-percent histogram per item from which the quartiles are read (to the whole percent).
"""

from __future__ import annotations

import time
from collections.abc import Callable

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

PCT = ("coalesce(g.percentage, 100.0 * (g.graderaw - i.grademin) / "
       "(CASE WHEN i.grademax > i.grademin THEN i.grademax - i.grademin END))")
BINS = 10


def _graded_where(raw, params: ReportParams, item_ids) -> tuple[str, list, str]:
    lsql, largs, note = S.learner_filter(raw, params, "g")
    return ((f"FROM grades g JOIN grade_items i ON i.id = g.itemid WHERE {S.in_json('g.itemid')} "
            f"AND g.graderaw IS NOT NULL {lsql}"), [S.ids_json(item_ids), *largs], note)


def _quantile(fine: pd.Series, q: float) -> float | None:
    """The q-quantile of a histogram of whole percents (index: percent, values: counts)."""
    total = int(fine.sum())
    if not total:
        return None
    cum = fine.sort_index().cumsum()
    return float(cum.index[cum.searchsorted(q * total, side="left")])


def build_assessment(raw, params: ReportParams, *, now: Callable[[], float] = time.time) -> ReportResult:
    kind = "assessment"
    stamp, _missing = S.as_of(raw, KINDS[kind].entities)
    ref = S.reference_time(stamp, now)
    sel = S.courses(raw, params)
    if not sel.ids:
        return empty_result(kind, params, "None of the chosen courses or categories has courses in the local copy."
                            if params.courses or params.categories else "There are no courses in the local copy yet.",
                            as_of=stamp, reference=ref)
    items = S.frame(raw, f"SELECT id, courseid, itemname, itemtype, itemmodule FROM grade_items "
                         f"WHERE {S.in_json('courseid')} AND itemtype IN ('mod', 'course', 'manual') ORDER BY courseid, "
                         "itemtype = 'course', id", [S.ids_json(sel.ids)], ["id", "courseid", "name", "type", "module"])
    graded_courses = set(items["courseid"])
    missing = [sel.names[c] for c in sel.ids if c not in graded_courses]
    if items.empty:
        return empty_result(kind, params, "Grades for these courses are not in the local copy. The console fetches "
                            "grades only when asked, as they are big.",
                            as_of=stamp, actions=("fetch_grades",), reference=ref)
    where, args, note = _graded_where(raw, params, items["id"])
    stats = S.frame(raw, f"SELECT g.itemid, count(*), avg({PCT}), min({PCT}), max({PCT}) {where} GROUP BY g.itemid",
                    args, ["id", "n", "mean", "lo", "hi"]).set_index("id")
    fine = S.frame(raw, f"SELECT g.itemid, cast(round(max(0, min(100, {PCT}))) AS int) AS b, count(*) {where} "
                        "AND " + PCT + " IS NOT NULL GROUP BY g.itemid, b", args, ["id", "b", "n"])
    lsql, largs, _ = S.learner_filter(raw, params, "e")
    enrolled = dict(S.rows(raw, f"SELECT e.courseid, count(*) FROM enrolments e WHERE {S.in_json('e.courseid')} {lsql} "
                                "GROUP BY e.courseid", [S.ids_json(graded_courses), *largs]))
    notes = [note, ("Grades in percent of each item's range; quartiles to the whole percent; whiskers at the "
             "lowest and highest grade.")]
    if missing:
        notes.append(f"Grades not fetched yet for: {', '.join(missing[:10])}"
                     + (f" and {len(missing) - 10} more" if len(missing) > 10 else "") + ".")
    if stats.empty:
        return empty_result(kind, params, "No learner has a grade in the chosen courses yet.", as_of=stamp,
                            notes=tuple(notes), reference=ref, actions=("fetch_grades",) if missing else ())
    summary, hist = [], []
    for it in items.itertuples(index=False):
        label = "Course total" if it.type == "course" else (it.name or f"Item {it.id}")
        n = int(stats["n"].get(it.id, 0)) if it.id in stats.index else 0
        f = fine[fine["id"] == it.id].set_index("b")["n"]
        row = {"_key": f"item:{it.id}", "Course": sel.names[it.courseid], "Grade item": label,
               "Type": "Course total" if it.type == "course" else (it.module or it.type),
               "Graded": n, "No grade": max(0, int(enrolled.get(it.courseid, 0)) - n)}
        if n:
            st = stats.loc[it.id]
            row.update({"Mean %": round(float(st["mean"]), 1), "Median %": _quantile(f, 0.5),
                        "Q1 %": _quantile(f, 0.25), "Q3 %": _quantile(f, 0.75),
                        "Lowest %": round(float(st["lo"]), 1), "Highest %": round(float(st["hi"]), 1)})
        summary.append(row)
        for b in range(BINS):
            lo, hi = b * 100 // BINS, (b + 1) * 100 // BINS
            count = int(f[(f.index >= lo) & ((f.index < hi) | ((b == BINS - 1) & (f.index <= 100)))].sum())
            hist.append((f"item:{it.id}", sel.names[it.courseid], label, f"{lo}–{hi} %", lo, hi, count))
    summary_t = pd.DataFrame(summary)
    for col in ("Mean %", "Median %", "Q1 %", "Q3 %", "Lowest %", "Highest %"):
        if col not in summary_t:
            summary_t[col] = None
        summary_t[col] = summary_t[col].astype(float)
    hist_t = pd.DataFrame(hist, columns=["_key", "Course", "Grade item", "Range", "_lo", "_hi", "Learners"])
    ungraded = summary_t[summary_t["Graded"] == 0]
    if len(ungraded):
        notes.append(f"{len(ungraded)} grade item(s) have no learner grade yet.")
    style = params.style if params.style in ("box", "histogram") else "box"
    subtitle = (f"{int(summary_t['Graded'].sum()):,} grades · {len(summary_t):,} grade items in "
                f"{len(graded_courses):,} course{'s' if len(graded_courses) != 1 else ''}")
    return ReportResult(kind, KINDS[kind].title, params, {"summary": summary_t, "histogram": hist_t}, stamp, ref,
                        subtitle, tuple(notes), actions=("fetch_grades",) if missing else (),
                        drill={"Graded": "graded", "No grade": "no_grade", "Learners": "bin"},
                        chart={"style": style}, created_at=int(time.time()))


def drill(raw, kind: str, params: ReportParams, request: DrillRequest, *,
          now: Callable[[], float] = time.time) -> DrillResult:
    kind_, value = S.parse_key(request.key)
    if kind_ != "item":
        return DrillResult(request.label or "Users", None, "Choose a grade item.")
    item = int(value)
    found = S.rows(raw, "SELECT courseid, coalesce(nullif(itemname, ''), 'Course total') FROM grade_items WHERE id = ?",
                   (item,))
    if not found:
        return DrillResult(request.label or "Users", None, "The grade item is no longer in the local copy.")
    courseid, name = found[0]
    if request.status == "no_grade":
        lsql, largs, _ = S.learner_filter(raw, params, "e")
        users = S.users_frame(raw, f"FROM enrolments e JOIN users u ON u.id = e.userid WHERE e.courseid = ? {lsql} "
                                   "AND NOT EXISTS (SELECT 1 FROM grades g WHERE g.itemid = ? AND g.userid = e.userid "
                                   "AND g.graderaw IS NOT NULL)", [courseid, *largs, item])
        title = f"{name}: no grade"
    else:
        where, args, _ = _graded_where(raw, params, [item])
        band, bargs = "", []
        if request.status == "bin" and request.start is not None:
            hi = request.end if request.end is not None else 100
            band = f" AND round({PCT}) >= ? AND (round({PCT}) < ? OR (? >= 100 AND round({PCT}) <= 100))"
            bargs = [request.start, hi, hi]
        users = S.users_frame(raw, f"{where.replace('FROM grades g', 'FROM grades g JOIN users u ON u.id = g.userid')}"
                                   f"{band}", [*args, *bargs], ["g.graderaw", f"round({PCT}, 1)"], ["Grade", "Grade %"])
        title = f"{name}: " + (f"{request.start}–{request.end} %" if request.status == "bin" else "graded")
    return DrillResult(title, users if len(users) else None, "" if len(users) else "Nobody.")
