"""Engagement (active users per week, last-access distribution, inactive users) and enrolment trends.

Moodle has no log API for the console, so activity over time comes from ``user_access_history``:
every sync that sees a user's (site or course) last access change appends a row. A week counts a
user as active when an access in that week was observed; with a sync at least once a week every
active week is seen, with rarer syncs weeks between two syncs are undercounted. Before the first
sync only each user's last access at that time is known.
"""

from __future__ import annotations

import itertools
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

# (code, label, lower days, upper days) of the last-access distribution; "never" has no bounds.
BUCKETS = (("never", "Never", None, None), ("7", "Within 7 days", 0, 7), ("30", "8–30 days ago", 8, 30),
           ("90", "31–90 days ago", 31, 90), ("180", "91–180 days ago", 91, 180),
           ("365", "181–365 days ago", 181, 365), ("older", "Over a year ago", 366, None))
DEFAULT_WEEKS = 26
DEFAULT_MONTHS = 12


def _audience(raw, params: ReportParams, sel: S.Courses | None) -> tuple[str, list, str]:
    """(WHERE conditions on users ``u``, args, access expression) for the engagement audience."""
    cond, args = S.user_filter(params, "u.id")
    cond = f" AND {S.not_guest()} AND u.id > 0" + cond
    if sel is None:
        return cond, args, "u.lastaccess"
    lsql, largs, _ = S.learner_filter(raw, params.with_(cohorts=(), field_values=()), "e")
    cond += f" AND u.id IN (SELECT e.userid FROM enrolments e WHERE {S.in_json('e.courseid')} {lsql})"
    args += [S.ids_json(sel.ids), *largs]
    access = (f"(SELECT max(e.lastcourseaccess) FROM enrolments e WHERE e.userid = u.id "
              f"AND {S.in_json('e.courseid')})")
    return cond, args, access


def _days_sql(access: str, ref: int) -> str:
    """Whole days from the last access to ``ref`` (30.9 days is 30): the one day count of the buckets,
    the inactive list and its "Days since", so "inactive for over 30 days" is the 31-days-and-older buckets."""
    return f"(({ref} - {access}) / {S.DAY})"


def _bucket_sql(access: str, ref: int) -> str:
    days = _days_sql(access, ref)
    parts = [f"WHEN coalesce({access}, 0) <= 0 THEN 'never'"]
    for code, _label, _lo, hi in BUCKETS[1:]:
        if hi is not None:
            parts.append(f"WHEN {days} <= {hi} THEN '{code}'")
    return "CASE " + " ".join(parts) + " ELSE 'older' END"


def _inactive_sql(access: str, ref: int, inactive_days: int) -> str:
    """Never came in, or last came in more than ``inactive_days`` whole days before ``ref``."""
    return f"(coalesce({access}, 0) <= 0 OR {_days_sql(access, ref)} > {int(inactive_days)})"


def _selection(raw, params: ReportParams) -> tuple[S.Courses | None, str]:
    if not (params.courses or params.categories):
        return None, ""
    sel = S.courses(raw, params)
    if not sel.ids:
        return sel, "None of the chosen courses or categories has courses in the local copy."
    return sel, ""


def build_engagement(raw, params: ReportParams, *, now: Callable[[], float] = time.time) -> ReportResult:
    kind = "engagement"
    stamp, missing = S.as_of(raw, KINDS[kind].entities)
    ref = S.reference_time(stamp, now)
    if "users" in missing and not S.rows(raw, "SELECT 1 FROM users LIMIT 1"):
        return empty_result(kind, params, "Users are not in the local copy yet. Sync the site to see engagement.",
                            actions=("sync",), reference=ref)
    sel, problem = _selection(raw, params)
    if problem:
        return empty_result(kind, params, problem, as_of=stamp, reference=ref)
    cond, args, access = _audience(raw, params, sel)
    acc_args = [S.ids_json(sel.ids)] if sel else []
    total = S.rows(raw, f"SELECT count(*) FROM users u WHERE 1 {cond}", args)[0][0]
    if not total:
        return empty_result(kind, params, "Nobody matches the chosen courses, cohorts and profile-field groups.",
                            as_of=stamp, reference=ref)
    hi = params.date_to if params.date_to is not None else ref
    lo = params.date_from if params.date_from is not None else hi - DEFAULT_WEEKS * S.WEEK + 1
    if lo > hi:
        return empty_result(kind, params, "The date range is empty: its start is after its end.", as_of=stamp,
                            reference=ref)
    first_week = lo - (lo - S.MONDAY) % S.WEEK
    hist_course = "h.courseid IN (SELECT value FROM json_each(?))" if sel else "h.courseid = 0"
    weekly = dict(S.rows(raw, f"SELECT (h.lastaccess - {S.MONDAY}) / {S.WEEK} AS wk, count(DISTINCT h.userid) "
                              f"FROM user_access_history h WHERE {hist_course} AND h.lastaccess >= ? "
                              f"AND h.lastaccess <= ? AND h.userid IN (SELECT u.id FROM users u WHERE 1 {cond}) "
                              "GROUP BY wk", [*acc_args, first_week, hi, *args]))
    weeks = []
    start = first_week
    while start <= hi:
        wk = (start - S.MONDAY) // S.WEEK
        weeks.append(("all", S.day(start), start, start + S.WEEK - 1, int(weekly.get(wk, 0)),
                      S.pct(int(weekly.get(wk, 0)), total)))
        start += S.WEEK
    weekly_t = pd.DataFrame(weeks, columns=["_key", "Week of", "_start", "_end", "Active users", "% of users"])
    bucket = _bucket_sql(access, ref)
    buckets = dict(S.rows(raw, f"SELECT {bucket} AS b, count(*) FROM users u WHERE 1 {cond} GROUP BY b",
                          [*_times(acc_args, bucket), *args]))
    dist = pd.DataFrame([(f"bucket:{code}", label, int(buckets.get(code, 0)), S.pct(int(buckets.get(code, 0)), total))
                         for code, label, _lo, _hi in BUCKETS], columns=["_key", "Last access", "Users", "% of users"])
    days = f"CASE WHEN coalesce({access}, 0) > 0 THEN {_days_sql(access, ref)} END"
    gone = _inactive_sql(access, ref, params.inactive_days)
    inactive = S.users_frame(raw, f"FROM users u WHERE 1 {cond} AND {gone}",
                             [*_times(acc_args, days), *args, *_times(acc_args, gone)], [days], ["Days since"])
    inactive["Days since"] = inactive["Days since"].astype("Int64")
    inactive = inactive.sort_values("Days since", ascending=False, na_position="first", kind="stable")
    inactive = inactive.reset_index(drop=True)
    history_start = S.rows(raw, "SELECT min(observed_at) FROM user_access_history WHERE observed_at > 0")[0][0]
    notes = [(f"Active: at least one access to {'the chosen courses' if sel else 'the site'} observed in the week "
             "(Moodle has no activity log for the console: the local copy records each change of a user's "
             "last access when it syncs).")]
    if history_start and history_start > first_week:
        notes.append(f"Access history starts with the first sync on {S.day(history_start)}: before it only each "
                     "user's latest access was known, so earlier weeks are undercounted.")
    gaps = _sync_gaps(raw, lo, hi)
    if gaps:
        notes.append(f"No sync for more than a week {gaps} time(s) in this range: accesses between two syncs "
                     "are seen only as the later one, so some weeks are undercounted.")
    if not params.include_suspended:
        notes.append("Suspended users are left out.")
    subtitle = (f"{total:,} user{'s' if total != 1 else ''} · weeks {S.day(first_week)} to {S.day(hi)} · inactive = no access for over "
                f"{params.inactive_days} days")
    return ReportResult(kind, KINDS[kind].title, params,
                        {"weekly": weekly_t, "last_access": dist,
                         f"inactive_{params.inactive_days}_days": inactive},
                        stamp, ref, subtitle, tuple(notes),
                        drill={"Active users": "active", "Users": "last_access"},
                        chart={"history_start": history_start if history_start and history_start > first_week else None,
                               "inactive_days": params.inactive_days, "inactive": len(inactive), "total": total},
                        created_at=int(time.time()))


def _times(acc_args: list, sql: str) -> list:
    """The course-list argument once per placeholder of ``sql`` (built from the access expression)."""
    return acc_args * sql.count("?") if acc_args else []


def _sync_gaps(raw, lo: int, hi: int) -> int:
    times = [r[0] for r in S.rows(raw, "SELECT coalesce(finished_at, started_at) FROM sync_runs "
                                       "WHERE status IN ('ok', 'partial') AND entities LIKE '%\"users\"%' "
                                       "ORDER BY 1")]
    inside = [t for t in times if lo <= t <= hi]
    return sum(1 for a, b in itertools.pairwise(inside) if b - a > S.WEEK)


# -- enrolments -----------------------------------------------------------------------------------

def _enrol_where(raw, params: ReportParams, sel: S.Courses) -> tuple[str, list, str]:
    roles = S.learner_roles(raw)
    cond = f"WHERE {S.in_json('e.courseid')}"
    args: list = [S.ids_json(sel.ids)]
    note = "Learners: enrolments with the student role"
    if roles:
        cond += (" AND EXISTS (SELECT 1 FROM enrolment_roles r WHERE r.courseid = e.courseid AND r.userid = e.userid "
                 f"AND r.roleid IN ({','.join(str(int(r)) for r in roles)}))")
    else:
        note = "All enrolments (no student role is known in the local copy)"
    extra, eargs = S.user_filter(params.with_(include_suspended=True), "e.userid")
    if not params.include_suspended:
        extra += " AND e.userid NOT IN (SELECT id FROM users WHERE suspended = 1)"
        note += "; suspended users left out (suspended enrolments are counted as such)"
    return cond + extra, args + eargs, note + "."


ENROL_DATE = ("CASE WHEN coalesce(e.timestart, 0) > 0 THEN e.timestart ELSE (SELECT min(h.lastaccess) FROM user_access_history h "
              "WHERE h.userid = e.userid AND h.courseid = e.courseid) END")
ENROL_SRC = "CASE WHEN coalesce(e.timestart, 0) > 0 THEN 'start' WHEN d IS NOT NULL THEN 'access' ELSE 'none' END"


def build_enrolments(raw, params: ReportParams, *, now: Callable[[], float] = time.time) -> ReportResult:
    kind = "enrolments"
    stamp, missing = S.as_of(raw, KINDS[kind].entities)
    ref = S.reference_time(stamp, now)
    if "enrolments" in missing and not S.rows(raw, "SELECT 1 FROM enrolments LIMIT 1"):
        return empty_result(kind, params, "Enrolments are not in the local copy yet. Sync the site to see them.",
                            actions=("sync",), reference=ref)
    sel = S.courses(raw, params)
    if not sel.ids:
        return empty_result(kind, params, "None of the chosen courses or categories has courses in the local copy."
                            if params.courses or params.categories else "There are no courses in the local copy yet.",
                            as_of=stamp, reference=ref)
    group_by = params.group_by if params.group_by in KINDS[kind].group_by else "course"
    g = S.grouping(raw, group_by, params, alias="e")
    where, args, note = _enrol_where(raw, params, sel)
    cur = S.frame(raw, f"SELECT {g.key} AS k, count(*), sum(e.suspended = 0), sum(e.suspended), "
                       f"sum(coalesce(e.timeend, 0) > 0 AND e.timeend < {ref}) FROM enrolments e {g.join} {where} GROUP BY k",
                  [*g.args, *args], ["k", "n", "active", "suspended", "ended"])
    if cur.empty:
        return empty_result(kind, params, "No enrolments match the chosen courses, cohorts and profile-field groups.",
                            as_of=stamp, reference=ref, notes=(note,))
    labels = S.group_labels(raw, g, cur["k"], sel)
    current = pd.DataFrame({"_key": [S.group_key(g, k) for k in cur["k"]], g.title: [labels[k] for k in cur["k"]],
                            "Active": cur["active"].astype(int), "Suspended": cur["suspended"].astype(int),
                            "Ended": cur["ended"].astype(int), "Total": cur["n"].astype(int)})
    current = current.sort_values("Total", ascending=False, kind="stable").reset_index(drop=True)
    dated = S.frame(raw, f"SELECT k, d, {ENROL_SRC} AS src, count(*) FROM (SELECT {g.key} AS k, e.timestart, "
                         f"{ENROL_DATE} AS d FROM enrolments e {g.join} {where}) e GROUP BY k, d / 86400, src",
                    [*g.args, *args], ["k", "d", "src", "n"])
    src = dated.groupby("src")["n"].sum() if len(dated) else pd.Series(dtype=int)
    notes = [note]
    parts = [f"{int(src.get('start', 0)):,} by their start date",
             f"{int(src.get('access', 0)):,} by the first course access seen (enrolled on or before it)"]
    if int(src.get("none", 0)):
        parts.append(f"{int(src.get('none', 0)):,} have neither and are only in the current totals")
    notes.append("Moodle does not report enrolment dates to the console unless it set them: " + "; ".join(parts) + ".")
    hi = params.date_to if params.date_to is not None else ref
    lo = params.date_from if params.date_from is not None else int(
        (pd.Timestamp(hi, unit="s").to_period("M") - (DEFAULT_MONTHS - 1)).start_time.timestamp())
    months = pd.period_range(pd.Timestamp(lo, unit="s").to_period("M"), pd.Timestamp(hi, unit="s").to_period("M"),
                             freq="M")
    bounds = [(int(p.start_time.timestamp()), int((p + 1).start_time.timestamp()) - 1, p.strftime("%Y-%m"))
              for p in months]
    with_dates = dated[dated["d"].notna()]
    trend = []
    starts = pd.Series([b[0] for b in bounds])
    for k in cur["k"]:
        f = with_dates[with_dates["k"] == k]
        idx = starts.searchsorted(f["d"], side="right") - 1
        per = f.assign(i=idx).query("i >= 0 and d <= @hi and d >= @lo").groupby("i")["n"].sum()
        for i, (s, e, label) in enumerate(bounds):
            trend.append((S.group_key(g, k), labels[k], label, s, e, int(per.get(i, 0))))
    trend_t = pd.DataFrame(trend, columns=["_key", g.title, "Month", "_start", "_end", "New enrolments"])
    subtitle = (f"{int(current['Total'].sum()):,} enrolments in {len(sel.ids):,} course{'s' if len(sel.ids) != 1 else ''}"
                f" · new per month {bounds[0][2]} to {bounds[-1][2]}")
    return ReportResult(kind, KINDS[kind].title, params, {"current": current, "trend": trend_t}, stamp, ref,
                        subtitle, tuple(notes),
                        drill={"Active": "active", "Suspended": "suspended", "Ended": "ended", "Total": "all",
                               "New enrolments": "enrolled_between"},
                        chart={"group": g.title}, created_at=int(time.time()))


# -- drill-down -----------------------------------------------------------------------------------

def drill(raw, kind: str, params: ReportParams, request: DrillRequest, *,
          now: Callable[[], float] = time.time) -> DrillResult:
    stamp, _ = S.as_of(raw, KINDS[kind].entities)
    ref = S.reference_time(stamp, now)
    if kind == "engagement":
        return _drill_engagement(raw, params, request, ref)
    return _drill_enrolments(raw, params, request, ref)


def _drill_engagement(raw, params, request: DrillRequest, ref: int) -> DrillResult:
    sel, _problem = _selection(raw, params)
    cond, args, access = _audience(raw, params, sel)
    acc_args = [S.ids_json(sel.ids)] if sel else []
    kind, value = S.parse_key(request.key)
    if kind == "user":
        users = S.users_frame(raw, "FROM users u WHERE u.id = ?", [int(value)])
        return DrillResult(request.label or "User", users if len(users) else None)
    if request.status == "active":
        hist = "h.courseid IN (SELECT value FROM json_each(?))" if sel else "h.courseid = 0"
        users = S.users_frame(raw, f"FROM users u WHERE 1 {cond} AND u.id IN (SELECT h.userid FROM user_access_history h "
                                   f"WHERE {hist} AND h.lastaccess >= ? AND h.lastaccess <= ?)",
                              [*args, *acc_args, request.start or 0, request.end or ref])
        title = f"Active in the week of {S.day(request.start)}"
    else:
        code = value if kind == "bucket" else ""
        bucket = _bucket_sql(access, ref)
        users = S.users_frame(raw, f"FROM users u WHERE 1 {cond} AND {bucket} = ?",
                              [*args, *_times(acc_args, bucket), code])
        label = next((b[1] for b in BUCKETS if b[0] == code), code)
        title = f"Last access: {label.lower() if code != 'never' else 'never'}"
    return DrillResult(title, users if len(users) else None, "" if len(users) else "Nobody.")


def _drill_enrolments(raw, params, request: DrillRequest, ref: int) -> DrillResult:
    from lms_console.services.reports_completion import key_condition

    sel = S.courses(raw, params)
    where, args, _ = _enrol_where(raw, params, sel)
    cond, cargs = key_condition(raw, request.key, params, alias="e")
    status = {"active": " AND e.suspended = 0", "suspended": " AND e.suspended = 1",
              "ended": f" AND coalesce(e.timeend, 0) > 0 AND e.timeend < {ref}"}.get(request.status, "")
    dfilter, dargs = "", []
    if request.status == "enrolled_between":
        dfilter, dargs = f" AND {ENROL_DATE} >= ? AND {ENROL_DATE} <= ?", [request.start or 0, request.end or ref]
    users = S.users_frame(raw, f"FROM enrolments e JOIN users u ON u.id = e.userid JOIN courses c ON c.id = e.courseid "
                               f"{where}{cond}{status}{dfilter}", [*args, *cargs, *dargs],
                          ["c.shortname", "CASE WHEN e.suspended THEN 'Suspended' ELSE 'Active' END",
                           f"strftime('%Y-%m-%d', {ENROL_DATE}, 'unixepoch')"],
                          ["Course", "Enrolment", "Enrolled by"])
    what = {"enrolled_between": f"enrolled in {S.day(request.start)[:7]}"}.get(request.status, request.status)
    return DrillResult(f"{request.label or request.key} — {what.replace('_', ' ')}", users if len(users) else None,
                       "" if len(users) else "Nobody.")
