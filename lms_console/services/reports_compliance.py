"""Compliance: required courses (with due dates) for an audience, person by person.

The audience is the members of the chosen cohorts and/or the users with the chosen profile-field
values (both given: users in both). For every person and required course the status is one of
completed, overdue (not completed and the due date has passed), in progress (some progress or
any course access) or not started (which includes "not enrolled": flagged in the matrix, since
auditors ask). A completion after the due date still counts as completed and is marked late.
"""

from __future__ import annotations

import json
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

STATUSES = ("completed", "in_progress", "not_started", "overdue")
LABELS = {"completed": "Completed", "in_progress": "In progress", "not_started": "Not started", "overdue": "Overdue"}


def _status_frame(raw, params: ReportParams, ref: int, required: list[tuple[int, int | None]]) -> pd.DataFrame:
    """One row per (person, required course): userid, courseid, due, status, detail, date."""
    cond, args = S.user_filter(params, "u.id")
    req = json.dumps([[c, d] for c, d in required])
    dates = S.completion_dates_sql(
        "SELECT p.userid, p.courseid, p.timecompleted, p.changed_run FROM course_progress p WHERE p.completed = 1 "
        "AND p.courseid IN (SELECT value ->> 0 FROM json_each(?)) AND p.userid IN (SELECT id FROM aud)",
        S.first_completion_run(raw))
    sql = f"""
        WITH aud AS (SELECT u.id FROM users u WHERE {S.not_guest()} {cond}),
             req AS (SELECT value ->> 0 AS courseid, value ->> 1 AS due FROM json_each(?))
        SELECT a.id, r.courseid, r.due, coalesce(p.completed, 0), p.progress, e.userid IS NOT NULL,
               coalesce(e.lastcourseaccess, 0), d.d
        FROM aud a CROSS JOIN req r
        LEFT JOIN course_progress p ON p.userid = a.id AND p.courseid = r.courseid
        LEFT JOIN enrolments e ON e.courseid = r.courseid AND e.userid = a.id
        LEFT JOIN ({dates}) d ON d.userid = a.id AND d.courseid = r.courseid"""
    f = S.frame(raw, sql, [*args, req, req], ["userid", "courseid", "due", "completed", "progress", "enrolled",
                                              "access", "date"])
    if f.empty:
        return f.assign(status=[], late=[])
    due = f["due"].astype("Float64")
    overdue = due.notna() & (due < ref)
    status = pd.Series("not_started", index=f.index)
    started = (f["progress"].fillna(0) > 0) | (f["access"] > 0)
    status[started] = "in_progress"
    status[overdue.fillna(False).astype(bool)] = "overdue"
    status[f["completed"] == 1] = "completed"
    late = (f["completed"] == 1) & due.notna() & f["date"].notna() & (f["date"].astype("Float64") > due)
    return f.assign(status=status, late=late.fillna(False).astype(bool))


def _cell(row) -> str:
    if row.status == "completed":
        when = S.day(row.date) if pd.notna(row.date) else ""
        return ("Completed late " if row.late else "Completed ") + when if when else "Completed"
    if row.status == "overdue":
        return "Overdue" + ("" if row.enrolled else " (not enrolled)")
    if row.status == "in_progress":
        return f"In progress ({row.progress:.0f} %)" if pd.notna(row.progress) and row.progress > 0 else "In progress"
    return "Not started" if row.enrolled else "Not enrolled"


def _required(raw, params: ReportParams) -> tuple[list[tuple[int, int | None]], dict[int, str], list[str]]:
    ids = [r.courseid for r in params.required]
    names = dict(S.rows(raw, f"SELECT id, shortname FROM courses WHERE {S.in_json('id')}", [S.ids_json(ids)]))
    missing = [str(c) for c in ids if c not in names]
    seen: set[int] = set()
    req = []
    for r in params.required:
        if r.courseid in names and r.courseid not in seen:
            seen.add(r.courseid)
            req.append((r.courseid, r.due))
    return req, names, missing


def _audience_text(raw, params: ReportParams) -> str:
    parts = []
    if params.cohorts:
        names = S.cohort_names(raw)
        parts.append("members of " + ", ".join(names.get(c, f"cohort {c}") for c in params.cohorts))
    if params.field and params.field_values:
        parts.append(f"{S.field_label(raw, params.field)} = {', '.join(params.field_values)}")
    return " with ".join(parts)


def build_compliance(raw, params: ReportParams, *, now: Callable[[], float] = time.time) -> ReportResult:
    kind = "compliance"
    stamp, missing_entities = S.as_of(raw, KINDS[kind].entities)
    ref = S.reference_time(stamp, now)
    if not params.required:
        return empty_result(kind, params, "Choose the required courses and their due dates.", as_of=stamp,
                            reference=ref)
    if not params.cohorts and not (params.field and params.field_values):
        return empty_result(kind, params, "Choose who the courses are required for: one or more cohorts, or "
                            "values of a profile field.", as_of=stamp, reference=ref)
    if "completion" in missing_entities and not S.rows(raw, "SELECT 1 FROM course_progress LIMIT 1"):
        return empty_result(kind, params, "Course completion is not in the local copy yet. Sync the site to check "
                            "compliance.", actions=("sync",), reference=ref)
    required, names, missing = _required(raw, params)
    notes = []
    if missing:
        notes.append(f"Required courses not in the local copy (left out): {', '.join(missing)}.")
    if not required:
        return empty_result(kind, params, "None of the required courses is in the local copy.", as_of=stamp,
                            notes=tuple(notes), reference=ref)
    f = _status_frame(raw, params, ref, required)
    if f.empty:
        return empty_result(kind, params, f"Nobody is in the audience ({_audience_text(raw, params)}).", as_of=stamp,
                            notes=tuple(notes), reference=ref)
    totals = []
    for cid, due in required:
        part = f[f["courseid"] == cid]
        counts = part["status"].value_counts()
        row = {"_key": f"course:{cid}", "Course": names[cid], "Due": S.day(due) or "No deadline"}
        row.update({LABELS[s]: int(counts.get(s, 0)) for s in STATUSES})
        row.update({"Completed late": int(part["late"].sum()), "Not enrolled": int((~part["enrolled"].astype(bool)).sum()),
                    "People": len(part), "Compliance %": S.pct(int(counts.get("completed", 0)), len(part))})
        totals.append(row)
    totals_t = pd.DataFrame(totals)
    users = S.frame(raw, f"SELECT id, trim(firstname || ' ' || lastname), email, department FROM users "
                         f"WHERE {S.in_json('id')}", [S.ids_json(f["userid"].unique())],
                    ["_userid", "Name", "Email", "Department"])
    f = f.assign(cell=[_cell(r) for r in f.itertuples(index=False)])
    cells = f.pivot(index="userid", columns="courseid", values="cell")
    codes = f.pivot(index="userid", columns="courseid", values="status")
    matrix = users.set_index("_userid")
    status_columns = {}
    for cid, _due in required:
        col = names[cid]
        matrix[col] = cells[cid]
        matrix[f"_status_{cid}"] = codes[cid]
        status_columns[col] = f"_status_{cid}"
    done = (codes == "completed").sum(axis=1)
    matrix["Done"] = [f"{int(done[u])} of {len(required)}" for u in matrix.index]
    matrix["Overdue"] = (codes == "overdue").sum(axis=1).reindex(matrix.index).astype(int)
    matrix = matrix.reset_index().sort_values(["Overdue", "Name"], ascending=[False, True], kind="stable")
    matrix = matrix.reset_index(drop=True)
    people = len(matrix)
    fully = int((done == len(required)).sum())
    notes.append("Completed: Moodle marks the course complete (late: completed after the due date; completion dates "
                 "are estimated as in the completion reports). Overdue: not completed and the due date has passed. "
                 "In progress: some progress or any visit to the course. Not started includes not enrolled.")
    if not params.include_suspended:
        notes.append("Suspended users are left out.")
    subtitle = (f"{people:,} people ({_audience_text(raw, params)}) · {len(required)} required course"
                f"{'s' if len(required) != 1 else ''} · fully compliant: {fully:,} ({S.pct(fully, people)} %)")
    return ReportResult(kind, KINDS[kind].title, params, {"totals": totals_t, "matrix": matrix}, stamp, ref, subtitle,
                        tuple(notes), drill={LABELS[s]: s for s in STATUSES} | {"People": "all",
                                                                             "Completed late": "late",
                                                                             "Not enrolled": "not_enrolled"},
                        chart={"status_columns": status_columns}, created_at=int(time.time()))


def drill(raw, kind: str, params: ReportParams, request: DrillRequest, *,
          now: Callable[[], float] = time.time) -> DrillResult:
    stamp, _ = S.as_of(raw, KINDS[kind].entities)
    ref = S.reference_time(stamp, now)
    key_kind, value = S.parse_key(request.key)
    if key_kind == "user":
        users = S.users_frame(raw, "FROM users u WHERE u.id = ?", [int(value)])
        return DrillResult(request.label or "Person", users if len(users) else None)
    required, names, _ = _required(raw, params)
    f = _status_frame(raw, params, ref, required)
    if key_kind == "course":
        f = f[f["courseid"] == int(value)]
    if request.status in STATUSES:
        f = f[f["status"] == request.status]
    elif request.status == "late":
        f = f[f["late"]]
    elif request.status == "not_enrolled":
        f = f[~f["enrolled"].astype(bool)]
    if f.empty:
        return DrillResult(request.label or "People", None, "Nobody.")
    users = S.users_frame(raw, f"FROM users u WHERE {S.in_json('u.id')}", [S.ids_json(f["userid"].unique())])
    detail = f.assign(Course=[names.get(c, str(c)) for c in f["courseid"]], Status=[_cell(r) for r in f.itertuples()])
    users = users.merge(detail[["userid", "Course", "Status"]], left_on="_userid", right_on="userid").drop(
        columns="userid")
    what = LABELS.get(request.status, request.status.replace("_", " "))
    return DrillResult(f"{request.label or request.key} — {what}", users)
