"""``lms-console sync``: pull a site into the profile's local cache, with a progress bar and Ctrl+C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from lms_console.commands import (
    UsageError,
    add_profile_option,
    profile_and_token,
    profile_store,
    record_use,
)
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.connection import open_client
from lms_console.services.progress import CancelToken, ProgressEvent
from lms_console.services.sync import (
    DEFAULT_ENTITIES,
    ENTITIES,
    SyncEngine,
    SyncOptions,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_option(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--only", metavar="LIST",
                       help=f"comma-separated entities to sync: {','.join(ENTITIES)} "
                            "(default: all but grades, which are big and fetched on demand)")
    which.add_argument("--all", action="store_true", help="everything, grades included")
    parser.add_argument("--concurrency", type=int, default=8, metavar="N",
                        help="requests in flight at once (default 8)")
    parser.add_argument("--activity-completion", choices=("changed", "all", "off"), default="changed",
                        help="which activity completion states to refresh (default: where course progress changed)")
    parser.add_argument("--completion", choices=("recent", "all"), default="recent",
                        help="whose course progress to read (one request per user): 'recent' reads users with "
                             "new enrolments or recent activity, and everyone once a day (default); 'all' reads "
                             "everyone now")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def parse_only(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_ENTITIES
    wanted = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not wanted:
        raise UsageError(f"--only {text!r} names no entity; give a comma-separated list from {', '.join(ENTITIES)} "
                         "(or leave --only out to sync all but grades)")
    unknown = [w for w in wanted if w not in ENTITIES]
    if unknown:
        raise UsageError(f"--only: unknown entity {', '.join(unknown)}; choose from {', '.join(ENTITIES)}")
    return wanted


class TerminalProgress:
    """A one-line progress bar on stderr (or a line every few seconds when not a terminal)."""

    def __init__(self, stream=sys.stderr, quiet: bool = False) -> None:
        self.stream, self.quiet = stream, quiet
        self.tty = stream.isatty()
        self._last = 0.0
        self._t0 = time.monotonic()

    def __call__(self, ev: ProgressEvent) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        total = max(ev.total, ev.done, 1)
        width = 30
        filled = int(width * ev.done / total)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {ev.done}/{total} {now - self._t0:5.0f}s {ev.message}"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")


def run(args: argparse.Namespace) -> int:
    entities = ENTITIES if args.all else parse_only(args.only)
    if args.concurrency < 1 or args.concurrency > 64:
        raise UsageError("--concurrency must be between 1 and 64")
    store = profile_store()
    profile, token = profile_and_token(args.profile, store=store)
    options = SyncOptions(entities=entities, concurrency=args.concurrency,
                          activity_completion=args.activity_completion, completion=args.completion)
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    bar = TerminalProgress(quiet=args.quiet)
    client = open_client(profile, token, pool_size=args.concurrency + 2)
    try:
        with CacheDb.open(profile.cache_path) as db, CacheWriter(db) as writer, \
                ThreadPoolExecutor(args.concurrency, thread_name_prefix="sync-http") as pool:
            result = SyncEngine(client, db, writer, pool, options).run(progress=bar, cancel=cancel)
            if cancel.cancelled:
                pool.shutdown(wait=False, cancel_futures=True)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
        client.transport.close()
    print(f"Sync of {profile.name} ({profile.url}): {result.status} in {result.seconds:.1f} s, "
          f"{result.requests} requests")
    for ent in result.entities:
        line = f"  {ent.entity:<20} {ent.status:<10} {ent.rows:>9} rows {ent.requests:>7} requests"
        print(line)
        for err in ent.errors[:5]:
            print(f"      error: {err}")
        if len(ent.errors) > 5:
            print(f"      ... and {len(ent.errors) - 5} more errors")
        for w in ent.warnings[:3]:
            print(f"      warning: {w}")
    if result.error is not None:
        print(f"Stopped: {result.error}\n{result.error.hint}", file=sys.stderr)
    if result.status != "ok":
        return 1
    record_use(store, profile)
    return 0
