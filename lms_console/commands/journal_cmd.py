"""``lms-console journal``: the record of every change applied through the console."""

from __future__ import annotations

import argparse
import time

from lms_console.commands import UsageError, add_profile_option, load_profile, profile_store
from lms_console.services.cache.db import CacheDb
from lms_console.services.changes import journal as J


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_option(parser)
    parser.add_argument("--search", default="", help="text in the title, target, message or kind")
    parser.add_argument("--status", action="append", default=[],
                        help="done, failed, skipped, queued, sending, held, undone (repeatable)")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--outbox", action="store_true", help="only what waits to go out or for a decision")
    parser.add_argument("--export", metavar="FILE", help="write CSV or XLSX (by extension) instead of printing")


def run(args: argparse.Namespace) -> int:
    profile = load_profile(profile_store(), args.profile)
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        rows = J.outbox(conn) if args.outbox else J.journal(conn, search=args.search, statuses=args.status,
                                                            limit=args.limit if not args.export else 10_000_000)
    if args.export:
        if args.export.lower().endswith(".xlsx"):
            n = J.export_xlsx(rows, args.export)
        elif args.export.lower().endswith(".csv"):
            n = J.export_csv(rows, args.export)
        else:
            raise UsageError("--export: the file must end in .csv or .xlsx")
        print(f"{n} journal entries written to {args.export}")
        return 0
    for r in rows:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.time)) if r.time else "-"
        extra = f" [{r.code}] {r.message}" if r.status != "done" and (r.code or r.message) else ""
        print(f"{stamp}  {r.status:<8} run {r.run_id:<4} {r.title}{extra}")
    if not rows:
        print("The journal is empty." if not args.outbox else "Nothing waits in the outbox.")
    return 0
