"""apply(): send a recorded run to the LMS, in chunks, with a true result for every item.

Runs on the cache-writer thread.  Every state change is committed before the
next network step (queued -> sending -> done/failed), so after a crash the
journal says exactly what went through: ``sending`` items are checked on the
server before anything is resent, and nothing is applied twice.

Moodle's batch functions are all-or-nothing: a chunk that fails is split in
halves until each failing item stands alone with its own error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from lms_console.services.changes import journal as J
from lms_console.services.changes import kinds as K
from lms_console.services.changes.model import Change, ItemResult, RunSummary, Status, settled_status
from lms_console.services.changes.planner import MAX_FIELDS
from lms_console.services.lms.base import Fetched
from lms_console.services.lms.errors import (
    ApiRejected,
    AuthExpired,
    Cancelled,
    LmsError,
    OutcomeUnknown,
    RateLimited,
    Redirected,
    Unreachable,
)
from lms_console.services.lms.http import count_fields, flatten_params
from lms_console.services.progress import (
    NEVER_CANCELLED,
    CancelToken,
    ProgressEvent,
    ProgressSink,
    no_progress,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # sends of one item whose answers keep getting lost before it is held for the admin


@dataclass(slots=True)
class _Item:
    id: int
    seq: int
    kind: str
    target: str
    data: dict
    before: Any
    status: str
    depends_on: tuple[int, ...]
    result: Any = None
    attempts: int = 0
    code: str = ""


def _group_key(params: Mapping) -> object:
    """What items must share to go in one call (their call-level parameters), cheaply comparable."""
    if not params:
        return ()
    try:
        return tuple(sorted(params.items()))  # flat parameters of plain values: the usual case
    except TypeError:
        return json.dumps(params, sort_keys=True, default=str)


def _inverse(spec: K.Kind, item: _Item, result) -> Change | None:
    """What undoes ``item`` once done (None for kinds that cannot be undone)."""
    return spec.inverse(item.data, item.before, result) if spec.reversible else None


class _Stop(Exception):
    """The site stopped answering or refused the token: the rest of the run waits."""

    def __init__(self, status: str, error: LmsError) -> None:
        super().__init__(str(error))
        self.status, self.error = status, error


class Applier:
    def __init__(self, client, writer, *, progress: ProgressSink = no_progress,
                 cancel: CancelToken = NEVER_CANCELLED, revalidate: bool = False, recheck: bool = False) -> None:
        self.client = client
        self.writer = writer
        self.progress = progress
        self.cancel = cancel
        # The outbox (after an offline wait): items are checked against a fresh read of what they touch,
        # and a cancel leaves what was not sent in the outbox (an interactive run skips it instead).
        self.revalidate = revalidate
        # An undo: the same check first (``recheck``), so that it never reverses a change someone made on
        # the site after the one being undone; otherwise an interactive run.
        self.recheck = recheck
        self._done = 0
        self._total = 0
        self._entities: set[str] = set()
        # Results of the last call, written while the next call is on the wire (see _call).
        self._unwritten: list[tuple] = []
        self._sender: ThreadPoolExecutor | None = None

    # -- public ---------------------------------------------------------------------
    def run(self, run_id: int) -> RunSummary:
        items = self._load(run_id)
        pending = [i for i in items if i.status in (Status.QUEUED.value, Status.SENDING.value)]
        self._total = len(pending)
        J.set_run_status(self.writer, run_id, "applying")
        status = "done"
        error: LmsError | None = None
        try:
            self._resolve_all([i for i in pending if i.status == Status.SENDING.value], items)  # left by a crash
            if self.revalidate or self.recheck:
                self._revalidate([i for i in pending if i.status == Status.QUEUED.value])
            queue = [i for i in items if i.status == Status.QUEUED.value]
            self._by_seq = {i.seq: i for i in items}
            # One helper thread for this run only, joined before run() returns: the run itself is a job of
            # the TaskRunner's writer thread (or the CLI's main thread), and owns nothing that outlives it.
            with ThreadPoolExecutor(1, thread_name_prefix="apply-send") as self._sender:
                try:
                    for batch in self._batches(queue, items):
                        self.cancel.raise_if_cancelled()
                        self._send(batch, items)
                finally:
                    self._sender = None
                    self._write_results()
        except Cancelled:
            status = "cancelled"
            rest = [i.id for i in items if i.status == Status.QUEUED.value]
            if not self.revalidate:
                J.mark(self.writer, rest, Status.SKIPPED, code="cancelled", message="cancelled before it was sent")
                for i in items:
                    if i.id in rest:
                        i.status = Status.SKIPPED.value
        except _Stop as stop:
            status, error = stop.status, stop.error
        everything_now = results = self._results(run_id)
        if self.revalidate:  # the outbox reports what this send handled, not the items done in earlier sends
            handled = {i.id for i in pending}
            results = [r for r in everything_now if r.item_id in handled]
        if status == "done":  # went to its end: what its items say (failed when none of them went through)
            status = settled_status(r.status for r in everything_now)
        left = status in ("waiting", "held") or (status == "cancelled" and self.revalidate)
        J.set_run_status(self.writer, run_id, status, finished=not left)
        # An undo, sent at once or from the outbox (the console's or `apply --resume`), whatever its status:
        # the originals whose inverse went through in this send are marked undone.
        J.mark_undone_originals(self.writer, run_id)
        if error is not None:
            log.info("run %s stopped: %s", run_id, error)
        return RunSummary(run_id, status, tuple(results), frozenset(self._entities), error)

    # -- loading ----------------------------------------------------------------------
    def _load(self, run_id: int) -> list[_Item]:
        with self.writer.batch() as raw:
            rows = raw.execute("SELECT id, seq, kind, target, data, before, status, depends_on, result, attempts, code "
                               "FROM change_items WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        loads = json.loads
        return [_Item(r[0], r[1], r[2], r[3], loads(r[4]) if r[4] else {}, loads(r[5]) if r[5] else None, r[6],
                      tuple(loads(r[7])) if r[7] and r[7] != "[]" else (), loads(r[8]) if r[8] else None, r[9],
                      r[10])
                for r in rows]

    def _results(self, run_id: int) -> list[ItemResult]:
        with self.writer.batch() as raw:
            rows = raw.execute("SELECT id, seq, kind, target, status, code, message, result FROM change_items "
                               "WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        return [ItemResult(r[0], r[1], r[2], r[3], Status(r[4]), r[5], r[6], json.loads(r[7]) if r[7] else None)
                for r in rows]

    # -- batching with references to earlier items -------------------------------------------
    def _batches(self, queue: Sequence[_Item], everything: Sequence[_Item]):
        """Consecutive items of one function and group parameters, under the field budget."""
        current: list[_Item] = []
        key = None
        fields = 3
        for item in queue:
            spec = K.kind(item.kind)
            if item.depends_on and current and set(item.depends_on) & {i.seq for i in current}:
                # What it refers to is in the batch not sent yet: send that first.
                yield current
                current = []
            data = self._with_refs(item, everything)
            if data is None:
                continue  # skipped: an item it depends on did not go through
            item.data = data
            k = (item.kind, spec.function, _group_key(spec.group_params(data)))  # one kind: its params, its outcome
            size = count_fields(spec.request_item(data)) if spec.list_key else 4
            if current and (k != key or len(current) >= spec.max_items or fields + size > MAX_FIELDS):
                yield current
                current = []
            if not current:
                fields = 3 + len(flatten_params(spec.group_params(data)))
            current.append(item)
            key = k
            fields += size
        if current:
            yield current

    def _with_refs(self, item: _Item, everything: Sequence[_Item]) -> dict | None:
        if not item.depends_on:
            return item.data
        by_seq = self._by_seq
        data = dict(item.data)
        for key, value in item.data.items():
            if isinstance(value, Mapping) and "ref" in value:
                dep = by_seq.get(int(value["ref"]))
                if dep is None or dep.status != Status.DONE.value or not dep.result:
                    why = f"item {value['ref']} it depends on did not go through"
                    J.mark(self.writer, [item.id], Status.SKIPPED, code="dependency", message=why)
                    item.status = Status.SKIPPED.value
                    self._tick(1)
                    return None
                data[key] = dep.result.get(value.get("field", "id"))
        return data

    # -- sending -------------------------------------------------------------------------------
    def _send(self, batch: list[_Item], everything: Sequence[_Item]) -> None:
        spec = K.kind(batch[0].kind)
        J.mark(self.writer, [i.id for i in batch], Status.SENDING, function=spec.function, count_attempt=True)
        for i in batch:
            i.status = Status.SENDING.value
            i.attempts += 1
        try:
            response = self._call(spec.function, spec.params([i.data for i in batch]))
        except OutcomeUnknown:
            self._resolve_all(batch, everything)
            return
        except (AuthExpired, Unreachable, RateLimited, Redirected) as exc:
            # Not applied (the request never reached the site, or was refused, or redirected by the web server,
            # before any change). A rejected token or a redirect needs the admin: the run stops as failed.
            J.mark(self.writer, [i.id for i in batch], Status.QUEUED, code=exc.code, message=str(exc))
            for i in batch:
                i.status = Status.QUEUED.value
            raise _Stop("failed" if isinstance(exc, (AuthExpired, Redirected)) else "waiting", exc) from None
        except Cancelled:
            J.mark(self.writer, [i.id for i in batch], Status.QUEUED)
            for i in batch:
                i.status = Status.QUEUED.value
            raise
        except ApiRejected as exc:
            if spec.atomic and len(batch) > 1:
                # Nothing of the batch was applied: split until each failing item stands alone.
                J.mark(self.writer, [i.id for i in batch], Status.QUEUED)
                half = len(batch) // 2
                self._send(batch[:half], everything)
                self._send(batch[half:], everything)
                return
            if len(batch) == 1:  # the refusal is this item's: its kind says what it means (e.g. already gone)
                self._record(spec, batch, [spec.refused(batch[0].data, exc)])
                return
            self._fail(batch, exc.code, exc.message)
            return
        self._record(spec, batch, spec.outcomes([i.data for i in batch], response))

    def _call(self, function: str, params: Mapping[str, Any]) -> Any:
        """One write call. While it is on the wire, the previous call's results are written (journal and
        cache): the bookkeeping costs no time of its own. The items of this call are already marked as
        sending, so a crash meanwhile leaves them to the check of unknown outcomes, never to a resend."""
        if not self._unwritten or self._sender is None:
            return self.client.call(function, params, write=True, cancel=self.cancel)
        answer = self._sender.submit(self.client.call, function, params, write=True, cancel=self.cancel)
        try:
            self._write_results()
        finally:
            wait([answer])
        return answer.result()

    def _record(self, spec: K.Kind, batch: Sequence[_Item], outcomes: Sequence[K.ItemOutcome]) -> None:
        """Settle the items in memory now (later batches may refer to them); write them to the journal
        and the cache now, or during the next call when one follows."""
        for item, outcome in zip(batch, outcomes):
            if outcome.ok:
                item.status, item.result = Status.DONE.value, outcome.result
            else:
                item.status = Status.FAILED.value
        done = [o.result for o in outcomes if o.ok]
        fetched = self._read_back(spec, done) if done else None
        self._unwritten.append((spec, list(zip(batch, outcomes)), int(time.time()), fetched))
        if self._sender is None:
            self._write_results()

    def _write_results(self) -> None:
        unwritten, self._unwritten = self._unwritten, []
        for spec, settled, now, fetched in unwritten:
            done, effects = [], []
            with self.writer.batch() as raw:
                for item, outcome in settled:
                    if outcome.ok:
                        done.append((item.id, outcome.result, _inverse(spec, item, outcome.result), outcome.message))
                        effects.append((item.data, outcome.result))
                    else:
                        J.mark(self.writer, [item.id], Status.FAILED, code=outcome.code, message=outcome.message)
                        # The site says the target is gone: the cache forgets it, so the next plan says so.
                        lost = spec.forget(raw, item.data, now) if outcome.gone else None
                        if lost:
                            self._entities.add(lost)
                spec.apply_many_to_cache(raw, effects, now)
                if fetched is not None:
                    spec.store_read_back(self.writer, raw, fetched)
                J.mark_done_many(self.writer, done, now=now)
            if done:
                self._entities.add(spec.entity)
            self._tick(len(settled))

    def _read_back(self, spec: K.Kind, results: Sequence[Any]) -> Any:
        """What the site made of the items just done, read in one call (Kind.read_back), or None.
        When the site does not answer, the items are done all the same (they are on the site): the
        cache keeps what their answers said until the next sync, and nothing is asked again."""
        try:
            return spec.read_back(self.client, results)
        except LmsError as exc:
            log.info("%s: %d change(s) went through, but reading back what the site stored failed (%s); the "
                     "local copy gets the site's own values (its defaults) at the next sync", spec.name,
                     len(results), exc)
            return None

    def _mark_done(self, raw, spec: K.Kind, item: _Item, result, message: str, now: int) -> None:
        J.mark_done(self.writer, item.id, result=result, inverse=_inverse(spec, item, result), message=message, now=now)
        spec.apply_to_cache(raw, item.data, result, now)
        item.status, item.result = Status.DONE.value, result
        self._entities.add(spec.entity)

    def _fail(self, batch: Sequence[_Item], code: str, message: str) -> None:
        J.mark(self.writer, [i.id for i in batch], Status.FAILED, code=code, message=message)
        for i in batch:
            i.status = Status.FAILED.value
        self._tick(len(batch))

    def _tick(self, n: int) -> None:
        self._done += n
        self.progress(ProgressEvent("apply", min(self._done, self._total), self._total,
                                    f"{self._done:,} of {self._total:,} changes"))

    # -- unknown outcomes and revalidation -----------------------------------------------------
    def _resolve_all(self, items: Sequence[_Item], everything: Sequence[_Item]) -> None:
        """Items sent whose answer was lost (one batch, or what a crash left): each is looked up on the
        site, with each read asked once for all of them (their targets differ; an item sent again is
        looked up afresh if its answer is lost again)."""
        if not items:
            return
        reads = self._site_reads(items)
        for item in items:
            self._resolve_unknown(item, everything, reads)

    def _site_reads(self, items: Sequence[_Item]) -> _SiteReads:
        """A read cache for checking ``items`` on the site, with the accounts they touch fetched first."""
        reads = _SiteReads(self.client)
        try:
            reads.prefetch_users([i.data["id"] for i in items if i.kind.startswith("user.")
                                  and isinstance(i.data.get("id"), int)])
        except (Unreachable, AuthExpired) as exc:
            raise _Stop("waiting", exc) from None
        except LmsError:
            pass  # each item asks for itself
        return reads

    def _resolve_unknown(self, item: _Item, everything: Sequence[_Item], reads=None) -> None:
        """The request went out but no answer was recorded: look on the site before resending."""
        spec = K.kind(item.kind)
        try:
            applied = spec.verify(reads or self.client, item.data)
        except (Unreachable, AuthExpired) as exc:
            raise _Stop("waiting", exc) from None
        except LmsError:
            applied = None
        if applied is True:
            result = item.result
            finder = getattr(spec, "verified_result", None)
            if result is None and finder is not None:
                try:
                    result = finder(self.client, item.data)
                except LmsError:
                    result = None
            fetched = self._read_back(spec, [result]) if result else None
            with self.writer.batch() as raw:
                self._mark_done(raw, spec, item, result, "confirmed on the site after a lost answer",
                                int(time.time()))
                if fetched is not None:
                    spec.store_read_back(self.writer, raw, fetched)
            self._tick(1)
        elif (applied is False or spec.idempotent) and item.attempts < MAX_ATTEMPTS:
            J.mark(self.writer, [item.id], Status.QUEUED, message="not applied on the site: sending again")
            item.status = Status.QUEUED.value
            self._send([item], everything)
        elif applied is False:  # checked: not on the site, but every try was lost on the way
            J.mark(self.writer, [item.id], Status.HELD, code="notapplied",
                   message=f"not applied: the site was checked and does not have it, after {item.attempts} tries whose "
                           "answers were lost (the site or the network kept failing); keep mine to send it again, "
                           "or drop it")
            item.status = Status.HELD.value
            self._tick(1)
        else:
            J.mark(self.writer, [item.id], Status.HELD, code="unknown",
                   message="sent, but the answer was lost and the site cannot tell whether it was applied; "
                           "check on the site, then keep or drop it")
            item.status = Status.HELD.value
            self._tick(1)

    def _revalidate(self, queued: Sequence[_Item]) -> None:
        """Outbox items planned offline: hold those whose target changed on the site meanwhile."""
        reads = self._site_reads([item for item in queued if item.before is not None])
        for item in queued:
            self.cancel.raise_if_cancelled()
            spec = K.kind(item.kind)
            fresh = getattr(spec, "fresh_before", None)
            if fresh is None or item.before is None or item.code == "kept":  # the admin chose to send it
                continue
            try:
                now = fresh(reads, item.data)
            except (Unreachable, AuthExpired) as exc:
                raise _Stop("waiting", exc) from None
            except LmsError:
                continue
            if now is not None and dict(now) != dict(item.before):
                if self._already_so(spec, reads, item):
                    continue
                since = "the local copy last read it (sending it would overwrite that)" if self.recheck \
                    else "it was planned"
                J.mark(self.writer, [item.id], Status.HELD, code="conflict",
                       message=f"changed on the site since {since}: {_drift(item.before, now)}; "
                               "keep mine, take theirs or drop")
                item.status = Status.HELD.value
                self._tick(1)

    def _already_so(self, spec: K.Kind, reads, item: _Item) -> bool:
        """A target changed on the site into just what the item asks is no conflict: nothing to send."""
        try:
            if spec.verify(reads, item.data) is not True:
                return False
        except (Unreachable, AuthExpired) as exc:
            raise _Stop("waiting", exc) from None
        except LmsError:
            return False
        J.mark(self.writer, [item.id], Status.SKIPPED, code="noop",
               message="no change needed: already so on the site (changed there since it was planned)")
        item.status = Status.SKIPPED.value
        self._tick(1)
        return True


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "(empty)" if value in (None, "") else f"“{value}”"


def _drift(before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """``city “Roma” then, “Milano” now; suspended no then, yes now`` (only the fields that moved)."""
    keys = [k for k in dict.fromkeys([*before, *now]) if before.get(k) != now.get(k)]
    return "; ".join(f"{k} {_words(before.get(k))} then, {_words(now.get(k))} now" for k in keys)


class _SiteReads:
    """The site's answers to the read calls of one re-check pass, each asked once: the outbox's 276
    additions to one cohort read its member list once, not 276 times (minutes on a slow site), and the
    accounts its items touch come in batches of 100 first. Writes are never cached (none happen during
    the pass)."""

    USERS_PER_CALL = 100

    def __init__(self, client) -> None:
        self._client = client
        self._memo: dict[tuple, Any] = {}
        self._users: dict[int, Any] = {}  # id -> User, or None when the site has no such account

    def prefetch_users(self, ids: Sequence[int]) -> None:
        wanted = list(dict.fromkeys(ids))
        for i in range(0, len(wanted), self.USERS_PER_CALL):
            chunk = wanted[i:i + self.USERS_PER_CALL]
            found = {u.id: u for u in self._client.users_by_ids(chunk).items}
            self._users.update({uid: found.get(uid) for uid in chunk})

    def users_by_ids(self, ids, cancel=NEVER_CANCELLED):
        ids = list(ids)
        if not all(uid in self._users for uid in ids):
            return self._client.users_by_ids(ids, cancel)
        return Fetched(tuple(u for u in (self._users[uid] for uid in ids) if u is not None))

    def __getattr__(self, name: str):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def once(*args, **kwargs):
            if kwargs.get("write"):
                return attr(*args, **kwargs)
            key = (name, repr(args), repr(sorted((k, v) for k, v in kwargs.items() if k != "cancel")))
            if key not in self._memo:
                self._memo[key] = attr(*args, **kwargs)
            return self._memo[key]

        return once
