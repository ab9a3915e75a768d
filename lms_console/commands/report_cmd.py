"""``lms-console report``: build a report from a profile's local copy and export it.

    lms-console report KIND -p NAME [--course C]... [--category C]... [--cohort C]...
        [--field F --value V...] [--group-by G] [--from DATE] [--to DATE] [--require COURSE[@DATE]]...
        --format csv|xlsx|png|svg|pdf [--output FILE] [--snapshot]
    lms-console report snapshots -p NAME            (the saved snapshots)
    lms-console report KIND --open-snapshot ID ...  (export a saved snapshot)

Reads only the cache: no token and no connection are needed (sync first for fresh numbers).
CSV goes to stdout unless ``--output`` is given; the other formats go to a file (by default
``report-KIND-DATE.EXT`` in the current folder). What the numbers mean goes to stderr.
"""

from __future__ import annotations

import argparse
import calendar
import shlex
import sys
import time
from datetime import date
from pathlib import Path

from lms_console.commands import (
    UsageError,
    add_profile_option,
    check_output_path,
    load_profile,
    profile_store,
    record_use,
)
from lms_console.services.reports import (
    CORE_FIELDS,
    CUSTOM_PREFIX,
    KINDS,
    ReportParams,
    RequiredCourse,
)

FORMATS = ("csv", "xlsx", "png", "svg", "pdf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=[*KINDS, "snapshots"], metavar="KIND",
                        help="one of: " + ", ".join(KINDS) + "; or 'snapshots' to list saved snapshots")
    add_profile_option(parser)
    parser.add_argument("--course", action="append", default=[], metavar="C",
                        help="a course id or short name (repeat; default: all courses)")
    parser.add_argument("--category", action="append", default=[], metavar="C",
                        help="a category id or name, with its subcategories (repeat)")
    parser.add_argument("--cohort", action="append", default=[], metavar="C", help="a cohort id or name (repeat)")
    parser.add_argument("--field", metavar="NAME",
                        help=f"a profile field: {', '.join(CORE_FIELDS)} or {CUSTOM_PREFIX}SHORTNAME")
    parser.add_argument("--value", action="append", default=[], metavar="V",
                        help="keep users whose --field has this value (repeat)")
    parser.add_argument("--group-by", choices=("course", "category", "cohort", "field"),
                        help="how to group (completion reports, enrolments)")
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="start of the date range (UTC)")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="end of the date range (UTC, inclusive)")
    parser.add_argument("--include-suspended", action="store_true", help="count suspended users and enrolments too")
    parser.add_argument("--inactive-days", type=int, default=30, metavar="N", help="engagement: inactive after N days")
    parser.add_argument("--style", choices=("box", "histogram"), help="assessment: box plots or histograms")
    parser.add_argument("--require", action="append", default=[], metavar="COURSE[@YYYY-MM-DD]",
                        help="compliance: a required course and its due date (repeat)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="output format (default csv)")
    parser.add_argument("--output", "-o", metavar="FILE", help="where to write (csv: default stdout)")
    parser.add_argument("--table", metavar="NAME", help="csv: which table (default: the main one)")
    parser.add_argument("--theme", choices=("light", "dark"), default="light", help="chart colours")
    parser.add_argument("--snapshot", action="store_true", help="also save the report as a snapshot in the cache")
    parser.add_argument("--open-snapshot", type=int, metavar="ID", help="export this saved snapshot instead")


def _day(text: str | None, what: str, *, end: bool = False) -> int | None:
    if not text:
        return None
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a date like 2026-09-30") from None
    return calendar.timegm((d.year, d.month, d.day, 23 if end else 0, 59 if end else 0, 59 if end else 0))


def _resolve(conn, what: str, values: list[str], sql: str, option: str = "") -> tuple[int, ...]:
    """Ids for ids or names (case-insensitive), or a usage error naming what was not found and the option
    the admin gave it with (``option``; by default ``--what``)."""
    option = option or f"--{what}"
    if not values:
        return ()
    rows = conn.exec_driver_sql(sql).all()
    by_id = {int(r[0]) for r in rows}
    by_name: dict[str, list[int]] = {}
    for r in rows:
        by_name.setdefault(str(r[1]).lower(), []).append(int(r[0]))
    out = []
    for v in values:
        if v.isdigit() and int(v) in by_id:
            out.append(int(v))
        elif len(by_name.get(v.lower(), [])) == 1:
            out.append(by_name[v.lower()][0])
        elif len(by_name.get(v.lower(), [])) > 1:
            ids = ", ".join(map(str, by_name[v.lower()]))
            raise UsageError(f"{option} {v!r} matches several; use the id ({ids})")
        else:
            raise UsageError(f"{option} {v!r}: no such {what} in the local copy (sync first if it is new)")
    return tuple(dict.fromkeys(out))


def build_params(args: argparse.Namespace, conn) -> ReportParams:
    courses_sql = "SELECT id, shortname FROM courses WHERE format <> 'site'"
    required = []
    for item in args.require:
        course, _, due = item.partition("@")
        (cid,) = _resolve(conn, "course", [course], courses_sql, option="--require")
        required.append(RequiredCourse(cid, _day(due, "--require", end=True)))
    if args.kind == "compliance" and not required and args.course:
        required = [RequiredCourse(c) for c in _resolve(conn, "course", args.course, courses_sql)]
    if args.value and not args.field:
        raise UsageError("--value needs --field")
    field = args.field or ""
    if field and field not in CORE_FIELDS and not field.startswith(CUSTOM_PREFIX):
        raise UsageError(f"--field {field!r}: use one of {', '.join(CORE_FIELDS)} or {CUSTOM_PREFIX}SHORTNAME")
    if args.group_by and KINDS[args.kind].group_by and args.group_by not in KINDS[args.kind].group_by:
        raise UsageError(f"--group-by {args.group_by}: {args.kind} groups by {', '.join(KINDS[args.kind].group_by)}")
    if args.inactive_days < 1:
        raise UsageError("--inactive-days must be at least 1")
    date_from, date_to = _day(args.date_from, "--from"), _day(args.date_to, "--to", end=True)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise UsageError(f"--from {args.date_from} is after --to {args.date_to}: the range would be empty; "
                         "give the earlier date to --from")
    return ReportParams(
        courses=_resolve(conn, "course", args.course, courses_sql) if args.kind != "compliance" else (),
        categories=_resolve(conn, "category", args.category, "SELECT id, name FROM categories"),
        cohorts=_resolve(conn, "cohort", args.cohort, "SELECT id, name FROM cohorts"),
        field=field, field_values=tuple(args.value), group_by=args.group_by or "",
        date_from=date_from, date_to=date_to,
        include_suspended=args.include_suspended, inactive_days=args.inactive_days, style=args.style or "",
        required=tuple(required))


def _action_hints(actions, name: str) -> list[str]:
    """The commands that do what the Reports pane's buttons for ``actions`` do."""
    p = shlex.quote(name)
    how = {"sync": ("to sync the site", f"lms-console sync -p {p}"),
           "fetch_grades": ("to fetch the grades", f"lms-console sync -p {p} --only grades")}
    return [f"  {how[a][0]}: {how[a][1]}" for a in actions if a in how]


def _list_snapshots(db) -> int:
    from lms_console.services.reports_snapshots import list_snapshots

    items = list_snapshots(db)
    if not items:
        print("No snapshots saved yet (save one with --snapshot, or from the Reports pane).")
        return 0
    print(f"{'ID':>5}  {'SAVED (UTC)':16}  {'DATA AS OF':16}  {'HOW':10}  REPORT")
    for s in items:
        saved = time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.created_at)) if s.created_at else ""
        as_of = time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.as_of)) if s.as_of else "never"
        note = "" if s.readable else f"  (format {s.schema_version}: cannot be opened by this version)"
        print(f"{s.id:>5}  {saved:16}  {as_of:16}  {'after sync' if s.auto else 'saved':10}  {s.title}{note}")
    return 0


def run(args: argparse.Namespace) -> int:
    store = profile_store()
    profile = load_profile(store, args.profile)
    if not Path(profile.cache_path).exists():
        raise UsageError(f"Profile {profile.name!r} has no local copy yet: run `lms-console sync -p {profile.name}` first.")
    if args.output is None and args.format != "csv":
        args.output = f"report-{args.kind}-{time.strftime('%Y%m%d-%H%M')}.{args.format}"
    if args.kind != "snapshots" and args.output not in (None, "-"):
        check_output_path(args.output, "--output")  # refused before the report is built
    code = _report(args, profile)
    if code == 0:
        record_use(store, profile)
    return code


def _report(args: argparse.Namespace, profile) -> int:
    from lms_console.services.cache.db import CacheDb
    from lms_console.services.reports import run_report

    with CacheDb.open(profile.cache_path) as db:
        if args.kind == "snapshots":
            return _list_snapshots(db)
        if args.open_snapshot is not None:
            from lms_console.services.reports_snapshots import (
                list_snapshots,
                load_snapshot,
            )

            saved = [s.id for s in list_snapshots(db)]
            if args.open_snapshot not in saved:
                which = (f"saved: {', '.join(map(str, saved[:10]))}{', ...' if len(saved) > 10 else ''}"
                         if saved else "none saved yet")
                raise UsageError(f"No snapshot {args.open_snapshot} in the local copy of profile {profile.name!r} "
                                 f"({which}); see the saved ones with "
                                 f"`lms-console report snapshots -p {shlex.quote(profile.name)}`.")
            result = load_snapshot(db, args.open_snapshot)
            if result.kind != args.kind and not result.is_empty:
                raise UsageError(f"snapshot {args.open_snapshot} is a {result.kind} report, not {args.kind}")
        else:
            with db.read() as conn:
                params = build_params(args, conn)
            result = run_report(args.kind, db, params)
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result.as_of)) if result.as_of else "never synced"
        print(f"{result.title}: {result.subtitle or 'no numbers'} (data as of {stamp})", file=sys.stderr)
        for note in result.notes:
            print(f"  note: {note}", file=sys.stderr)
        if result.is_empty:
            print(f"Nothing to report: {result.empty_reason}", file=sys.stderr)
        for line in _action_hints(result.actions, profile.name):
            print(line, file=sys.stderr)
        if result.is_empty:
            return 1
        if args.table and args.table not in result.tables:  # checked before anything is saved
            raise UsageError(f"--table {args.table!r}: no such table in this report; its tables are "
                             f"{', '.join(result.tables)}")
        if args.snapshot and not result.from_snapshot:
            from lms_console.services.cache.writer import CacheWriter
            from lms_console.services.reports_snapshots import save_snapshot

            with CacheWriter(db) as writer, writer.batch() as raw:
                sid = save_snapshot(raw, result)
            print(f"Saved as snapshot {sid}.", file=sys.stderr)
        return _write(result, args)


def _write(result, args: argparse.Namespace) -> int:
    from lms_console.services import reports_export as X

    fmt, out = args.format, args.output
    if fmt == "csv" and (out is None or out == "-"):
        X.write_csv(result, sys.stdout, args.table)  # a closed pipe (| head) is the CLI's to handle
        return 0
    try:
        if fmt == "csv":
            X.export_csv(result, out, args.table)
        elif fmt == "xlsx":
            X.export_xlsx(result, out)
        else:
            from lms_console.services.charts import build_figure, palette

            X.export_figure(build_figure(result, palette(args.theme), size=(11, 6.5)), out, fmt)
    except OSError as exc:
        print(f"lms-console: error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"Wrote {out}", file=sys.stderr)
    return 0
