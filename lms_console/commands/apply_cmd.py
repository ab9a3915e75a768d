"""``lms-console apply PLAN.json [--dry-run]``: preview and apply a change set through the change engine.

PLAN.json is ``{"title": "...", "changes": [{"kind": "user.suspend", "id": 42}, ...]}`` (or a bare
list of changes). Users may be named as ``"username:jdoe"`` where an id is expected (the planner
looks them up; one the local copy does not know is that item's problem). Every item ends with its own
result; the exit code is 0 only when every item went through.

While the site cannot be reached the plan is still recorded: its changes wait in the outbox (exit
code 3) and ``apply --resume`` sends them later. A token the site rejects is refused before anything
is recorded (that is not being offline).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lms_console.commands import (
    UsageError,
    add_profile_option,
    load_profile,
    profile_and_token,
    profile_store,
    record_use,
)
from lms_console.commands.sync_cmd import TerminalProgress
from lms_console.services import changes as C
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.queries import get_site_info
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.changes import journal as J
from lms_console.services.changes.words import item_diff_text
from lms_console.services.connection import open_client
from lms_console.services.lms.errors import NotTls, TlsFailure, Unreachable
from lms_console.services.progress import CancelToken

# Exit codes (cli.py: 0 ok, 1 failure, 2 usage error); 3 is this command's own.
EXIT_WAITING = 3

EPILOG = ("Exit codes: 0 every item went through; 1 an item did not (failed, skipped, held), or the site "
          "refused the token; 2 bad arguments or plan file; 3 the site could not be reached: the changes wait "
          "in the outbox (see them with `lms-console journal --outbox`, send them with `lms-console apply "
          "--resume`).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
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


def _json_type(value) -> str:
    """What a JSON value is, in words, for messages about a plan file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    return "an object"


_EXAMPLE = '{"kind": "user.suspend", "id": 42}'


def _read_changes(path: Path | None) -> tuple[str, list[C.Change]]:
    if path is None:
        raise UsageError("give a PLAN.json (or --resume)")
    where = "standard input" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{where} is not UTF-8 text: save the plan as UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if isinstance(doc, list):
        title, raw = "", doc
    elif isinstance(doc, dict):
        if "changes" not in doc:
            raise UsageError(f"{where}: the object has no 'changes'; expected "
                             f'{{"title": "...", "changes": [{_EXAMPLE}, ...]}} or a list of changes')
        title, raw = str(doc.get("title") or ""), doc["changes"]
    else:
        raise UsageError(f"{where}: holds {_json_type(doc)}; expected a list of changes "
                         f'or an object with "changes" (e.g. [{_EXAMPLE}])')
    if not isinstance(raw, list):
        raise UsageError(f"{where}: 'changes' is {_json_type(raw)}; expected a list of changes like [{_EXAMPLE}]")
    out = []
    for n, obj in enumerate(raw, start=1):
        if not isinstance(obj, dict):
            raise UsageError(f"{where}: change {n} is {_json_type(obj)}, not a change object like {_EXAMPLE}")
        try:
            out.append(C.Change.from_json(obj))
        except ValueError as exc:
            raise UsageError(f"{where}: change {n}: {exc}") from None
    return title, out


def print_plan(plan: C.Plan, show_calls: bool) -> None:
    counts = plan.counts
    print(f"Plan: {plan.title}")
    print(f"  {counts['apply']} to apply, {counts['noop']} already so (dropped), {counts['conflict']} conflicts, "
          f"{counts['error']} errors")
    for item in plan.items:
        mark = {"apply": " ", "noop": "=", "conflict": "?", "error": "!"}[item.outcome.value]
        diff = item_diff_text(item, arrow="->")  # the preview's words (yes/no, "(empty)", dates), plain text
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


def _require_local_copy(profile) -> None:
    if not profile.cache_path.exists():
        raise UsageError(f"Profile {profile.name!r} has no local copy yet to plan against: "
                         f"run `lms-console sync -p {profile.name}` first.")


def run(args: argparse.Namespace) -> int:
    if args.resume and args.dry_run:
        raise UsageError("--dry-run cannot be combined with --resume (which sends what waits in the outbox); "
                         "see what waits with `lms-console journal --outbox`")
    plan = None if args.resume else _read_changes(args.plan)
    store = profile_store()
    if args.dry_run:
        # A dry run plans against the local copy and sends nothing: no token, no connection.
        profile = load_profile(store, args.profile)
        _require_local_copy(profile)
        with CacheDb.open(profile.cache_path) as db:
            code = _run(args, profile, db, None, plan)
    else:
        profile, token = profile_and_token(args.profile, store=store)
        _require_local_copy(profile)  # every plan is checked against it (and nothing is sent without it)
        with CacheDb.open(profile.cache_path) as db:
            client = open_client(profile, token)
            try:
                code = _run(args, profile, db, client, plan)
            finally:
                client.transport.close()
    if code in (0, EXIT_WAITING):  # a later `apply --resume` without -p takes this profile
        record_use(store, profile)
    return code


def _run(args, profile, db, client, plan_doc) -> int:
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
            return _report(db, statuses, profile=profile.name)
        title, changes = plan_doc
        plan = C.plan_changes(db, changes, title=title, enrol_first=args.enrol_first)
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
        # Planned against the local copy; recorded (the outbox) before anything is sent, so a site that
        # cannot be reached leaves the changes waiting instead of losing them.
        lms_user, offline = _lms_user(client, db)
        run_id = C.record(writer, plan, profile=profile.name, lms_user=lms_user, origin="cli")
        if offline is not None:
            # The site did not answer just now: nothing is sent into the void (a write without an answer
            # would have to be checked on the site later); the changes wait in the outbox, provably unsent.
            J.set_run_status(writer, run_id, "waiting")
            summary = _waiting(db, run_id, offline)
        else:
            summary = C.apply_run(client, writer, run_id, bar, cancel)
        bar.close()
        return _report(db, [summary], profile=profile.name)


def _lms_user(client, db) -> tuple[str, Unreachable | None]:
    """The token's user as the site says; or, when the site cannot be reached, as the local copy last saw
    it, with the error.

    A rejected token (AuthExpired) propagates: nothing is recorded. So does an address that can never
    work as it is (https to a plain-http port, an untrusted certificate): that is not being offline."""
    try:
        return client.site_info().username, None
    except (TlsFailure, NotTls):
        raise
    except Unreachable as exc:
        with db.read() as conn:
            site = get_site_info(conn)
        return (site.username if site else ""), exc


def _waiting(db, run_id: int, error: Unreachable) -> C.RunSummary:
    """A recorded run that was not sent (the site did not answer), as :func:`_report` reads summaries."""
    with db.read() as conn:
        rows = J.run_rows(conn, run_id)
    return C.RunSummary(run_id, "waiting", tuple(
        C.ItemResult(r.id, r.seq, r.kind, r.target, C.Status(r.status), r.code or "", r.message or "")
        for r in rows), frozenset(), error)


def _went_through(r) -> bool:
    """The item is on the site as asked: applied (perhaps undone since), or already so."""
    return r.status in (C.Status.DONE, C.Status.UNDONE) or (r.status == C.Status.SKIPPED and r.code == "noop")


def _label(s) -> str:
    """The run's outcome in words, from its items: done only if every item went through, failed if none
    was applied. Runs that stopped (waiting, cancelled, held) keep their own status."""
    if s.status not in ("done", "partial"):
        return s.status
    if all(_went_through(r) for r in s.results):
        return "done"
    if not any(r.status in (C.Status.DONE, C.Status.UNDONE) for r in s.results):
        return "failed"
    return "partial"


def _report(db, summaries, *, profile: str = "") -> int:
    """One line per run, one per item that did not go through; 0 only when every item went through,
    3 when items wait in the outbox for the site (and nothing else went wrong)."""
    ok, queued, unanswered, why = True, 0, 0, None
    for s in summaries:
        counts = {st.value: s.count(st) for st in C.Status if s.count(st)}
        label = _label(s)
        print(f"Run {s.run_id}: {label} (" + ", ".join(f"{n} {k}" for k, n in counts.items()) + ")")
        waiting = label == "waiting"
        for r in s.results:
            if waiting and r.status in (C.Status.QUEUED, C.Status.SENDING):
                queued += 1  # said once below, not once per item
                unanswered += r.status == C.Status.SENDING
            elif not _went_through(r):
                print(f"  {r.status.value:>8} {r.seq:>4} {r.target}: {r.message} [{r.code}]")
        if waiting:
            why = why or s.error
            ok = ok and all(_went_through(r) or r.status in (C.Status.QUEUED, C.Status.SENDING) for r in s.results)
        else:
            ok = ok and label == "done"
    if queued:
        print(f"{queued} change(s) wait in the outbox: the site could not be reached"
              + (f" ({why})." if why is not None else "."))
        if unanswered:
            print(f"  {unanswered} of them went out without an answer: they are checked on the site before "
                  "anything is sent again.")
        print(f"Send them when the site answers again: lms-console apply{f' -p {profile}' if profile else ''} --resume")
    if not ok:
        return 1
    return EXIT_WAITING if queued else 0
