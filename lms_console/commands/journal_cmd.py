"""``lms-console journal``: the record of every change applied through the console."""

from __future__ import annotations

import argparse
import sys
import time

from lms_console.commands import (
    UsageError,
    add_profile_option,
    check_output_path,
    load_profile,
    profile_store,
    record_use,
)
from lms_console.services.cache.db import CacheDb
from lms_console.services.changes import journal as J
from lms_console.services.changes.model import Status

STATUSES = tuple(s.value for s in Status)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_option(parser)
    parser.add_argument("--search", default="", help="text in the title, target, message or kind")
    parser.add_argument("--status", action="append", default=[], type=str.lower, choices=STATUSES,
                        metavar="STATUS", help=f"{', '.join(STATUSES)} (repeatable)")
    parser.add_argument("--limit", type=int, default=100, help="show at most this many entries (default 100)")
    parser.add_argument("--outbox", action="store_true", help="only what waits to go out or for a decision")
    parser.add_argument("--export", metavar="FILE", help="write CSV or XLSX (by extension) instead of printing")


def run(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: must be at least 1")
    if args.export:
        if not args.export.lower().endswith((".csv", ".xlsx")):
            raise UsageError(f"--export {args.export!r}: the file must end in .csv or .xlsx")
        check_output_path(args.export, "--export")
    store = profile_store()
    profile = load_profile(store, args.profile)
    if not profile.cache_path.exists():  # nothing applied from this computer: and no empty cache made to say so
        print(f"The journal of {profile.name} is empty: no change has been applied from this computer yet.")
        record_use(store, profile)
        return 0
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        rows = J.outbox(conn) if args.outbox else J.journal(conn, search=args.search, statuses=args.status,
                                                            limit=args.limit if not args.export else 10_000_000)
    if args.export:
        try:
            if args.export.lower().endswith(".xlsx"):
                n = J.export_xlsx(rows, args.export)
            else:
                n = J.export_csv(rows, args.export)
        except OSError as exc:
            print(f"lms-console: error: --export: cannot write {args.export}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"{n} journal entries written to {args.export}")
        record_use(store, profile)
        return 0
    for r in rows:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.time)) if r.time else "-"
        extra = f" [{r.code}] {r.message}" if r.status != "done" and (r.code or r.message) else ""
        print(f"{stamp}  {r.status:<8} run {r.run_id:<4} {r.title}{extra}")
    if not rows:
        if args.outbox:
            print("Nothing waits in the outbox.")
        elif args.status or args.search:
            print("No journal entries match.")
        else:
            print("The journal is empty.")
    record_use(store, profile)
    return 0
