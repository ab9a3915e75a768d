"""``lms-console apply PLAN.json [--dry-run]``: preview and apply a change set through the change engine.

PLAN.json is ``{"title": "...", "changes": [{"kind": "user.suspend", "id": 42}, ...]}`` (or a bare
list of changes). Users may be named as ``"username:jdoe"`` where an id is expected. Every item
ends with its own result; the exit code is 0 only when every item went through.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lms_console.commands import UsageError, add_profile_option, profile_and_token
from lms_console.commands.sync_cmd import TerminalProgress
from lms_console.services import changes as C
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.changes import journal as J
from lms_console.services.connection import open_client
from lms_console.services.progress import CancelToken


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_option(parser)
    parser.add_argument("plan", nargs="?", type=Path, help="JSON file with the changes ('-' for stdin)")
    parser.add_argument("--dry-run", action="store_true", help="show the plan and the API calls; send nothing")
    parser.add_argument("--show-calls", action="store_true", help="list the exact web-service calls (token hidden)")
    parser.add_argument("--enrol-first", action="store_true",
                        help="enrol group members who are not enrolled in the course, in the same plan")
    parser.add_argument("--resume", action="store_true",
                        help="send what is still waiting in the outbox (after a crash or going offline)")
    parser.add_argument("--yes", action="store_true", help="apply without asking (irreversible items included)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _read_changes(path: Path | None) -> tuple[str, list[C.Change]]:
    if path is None:
        raise UsageError("give a PLAN.json (or --resume)")
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    title, raw = ("", doc) if isinstance(doc, list) else (str(doc.get("title", "")), doc.get("changes"))
    if not isinstance(raw, list):
        raise UsageError(f"{path}: expected a list of changes (or an object with 'changes')")
    out = []
    for n, obj in enumerate(raw, start=1):
        try:
            out.append(C.Change.from_json(obj))
        except ValueError as exc:
            raise UsageError(f"{path}: change {n}: {exc}") from None
    return title, out


def _resolve_usernames(db, changes: list[C.Change]) -> list[C.Change]:
    """``"username:jdoe"`` -> the user's id (from the cache)."""
    out = []
    with db.read() as conn:
        for ch in changes:
            data = dict(ch.data)
            for key in ("id", "userid"):
                value = data.get(key)
                if isinstance(value, str) and value.startswith("username:"):
                    row = conn.exec_driver_sql("SELECT id FROM users WHERE username = ?",
                                               (value.split(":", 1)[1].lower(),)).first()
                    data[key] = row[0] if row else value
            out.append(C.Change(ch.kind, data))
    return out


def print_plan(plan: C.Plan, show_calls: bool) -> None:
    counts = plan.counts
    print(f"Plan: {plan.title}")
    print(f"  {counts['apply']} to apply, {counts['noop']} already so (dropped), {counts['conflict']} conflicts, "
          f"{counts['error']} errors")
    for item in plan.items:
        mark = {"apply": " ", "noop": "=", "conflict": "?", "error": "!"}[item.outcome.value]
        diff = "; ".join(f"{k}: {b!r} -> {a!r}" for k, b, a in item.diff)
        print(f"  {mark} {item.seq:>4} {item.title}" + (f"  [{diff}]" if diff and item.outcome.value == "apply" else ""))
        for p in item.problems:
            print(f"           {p}")
    if plan.irreversible:
        print(f"  {len(plan.irreversible)} item(s) cannot be undone (deletions). Consider suspending instead.")
    if show_calls:
        for call in C.api_calls(plan):
            print(f"  CALL {call.function} ({len(call.fields)} fields; items {call.items[0]}..{call.items[-1]})")
            for k, v in call.fields:
                print(f"      {k}={v}")


def run(args: argparse.Namespace) -> int:
    profile, token = profile_and_token(args.profile)
    with CacheDb.open(profile.cache_path) as db:
        client = open_client(profile, token)
        try:
            return _run(args, profile, db, client)
        finally:
            client.transport.close()


def _run(args, profile, db, client) -> int:
    cancel = CancelToken()
    bar = TerminalProgress(quiet=args.quiet)
    with CacheWriter(db) as writer:
        if args.resume:
            with db.read() as conn:
                runs = J.runs_with_work(conn)
            if not runs:
                print("Nothing waiting in the outbox.")
                return 0
            statuses = [C.apply_run(client, writer, r, bar, cancel, revalidate=True) for r in runs]
            bar.close()
            return _report(db, statuses)
        title, changes = _read_changes(args.plan)
        plan = C.plan_changes(db, _resolve_usernames(db, changes), title=title, enrol_first=args.enrol_first)
        print_plan(plan, args.show_calls)
        if args.dry_run or not plan.to_apply:
            return 0 if not (plan.count(C.Outcome.ERROR) or plan.count(C.Outcome.CONFLICT)) else 1
        if plan.irreversible and not args.yes:
            if not sys.stdin.isatty():
                raise UsageError(f"{len(plan.irreversible)} item(s) cannot be undone: confirm with --yes")
            answer = input(f"Apply {len(plan.to_apply)} change(s), {len(plan.irreversible)} irreversible? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing applied.")
                return 1
        site = client.site_info()
        run_id = C.record(writer, plan, profile=profile.name, lms_user=site.username, origin="cli")
        summary = C.apply_run(client, writer, run_id, bar, cancel)
        bar.close()
        return _report(db, [summary])


def _report(db, summaries) -> int:
    ok = True
    for s in summaries:
        counts = {st.value: s.count(st) for st in C.Status if s.count(st)}
        print(f"Run {s.run_id}: {s.status} " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        for r in s.results:
            if r.status not in (C.Status.DONE,) and r.code != "noop":
                print(f"  {r.status.value:>8} {r.seq:>4} {r.target}: {r.message} [{r.code}]")
        ok = ok and s.status == "done" and not s.failed
    return 0 if ok else 1
