"""Pull everything the console shows from the LMS into the cache.

Shape: fetch tasks run concurrently on an injected executor (the HTTP pool);
the thread that calls :meth:`SyncEngine.run` is the ONE cache writer and
applies results as they complete.  Tasks may spawn follow-up tasks (a course
list spawns per-course tasks, an enrolment page the next page), and at most
``2 x concurrency`` results are in flight, so memory stays flat however big the
site.

Consistency: every write is one transaction; rows that vanished from the LMS
are swept only after an entity's COMPLETE pass, so an interrupted or failed
sync never deletes anything and leaves the cache as it was before the failed
step.  The user directory (Moodle has no paged user list) is fetched by email
prefix partitions; partitions that were too big last time are split, and an
interrupted user pass is resumed from the partitions it had not finished.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock, Timeout

from lms_console.services.cache import queries
from lms_console.services.gc_pacing import full_collections_deferred
from lms_console.services.lms.base import LmsWarning
from lms_console.services.lms.errors import (
    ApiRejected,
    AuthExpired,
    Cancelled,
    LmsError,
)
from lms_console.services.progress import NEVER_CANCELLED, CancelToken, ProgressEvent, ProgressSink, no_progress
from lms_console.services.sync_types import (  # noqa: F401 - re-exported: sync.X stays valid
    DEFAULT_ENTITIES,
    ENTITIES,
    EntityResult,
    SyncOptions,
    SyncResult,
    SyncRunning,
)
from lms_console.services.sync_completion import CompletionPass
from lms_console.services.sync_users import BY_ID, IdProbe, UnlistedUsers

log = logging.getLogger(__name__)

# Entities that need the course list first.
_COURSE_SCOPED = ("contents", "groups", "enrolments", "grades")

# First characters of email addresses (RFC 5322 atext, lower case: Moodle's LIKE is
# case-insensitive), and '@' for later positions.
FIRST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789" + "!#$%&'*+-/=?^_`{|}~."
NEXT_CHARS = FIRST_CHARS + "@"
# Internationalised addresses (RFC 6531: élodie@…, Ölaf@…, иван@…) start with letters no partition covers,
# and accounts without an email match none (Moodle answers an email search only with accounts that have
# one, even for email=''). Both are found by the id probe that follows the partitions (sync_users): the
# ids the partitions did not return, 500 per request. (A partition per such letter cost ~170 requests on
# every user pass, most of them empty.)
MAX_PREFIX_DEPTH = 4
RESUME_WITHIN_S = 24 * 3600


@dataclass(slots=True)
class _Entity:
    name: str
    run_id: int
    started: float = field(default_factory=time.monotonic)
    pending: int = 0
    open: bool = True  # more tasks may still be planned
    rows: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[LmsWarning] = field(default_factory=list)
    done: bool = False
    finished: float | None = None
    finisher: Callable[[], None] | None = None


@dataclass(slots=True)
class _Task:
    entity: str
    fetch: Callable[[], Any]
    apply: Callable[[Any], None]
    scope: Any = None  # e.g. courseid; failures are recorded per scope


class SyncEngine(UnlistedUsers, CompletionPass):
    """Runs one sync. Create one per run; call :meth:`run` on the cache-writer thread."""

    def __init__(self, backend, db, writer, executor: Executor, options: SyncOptions = SyncOptions()) -> None:
        unknown = set(options.entities) - set(ENTITIES)
        if unknown:
            raise ValueError(f"unknown sync entities: {', '.join(sorted(unknown))} (known: {', '.join(ENTITIES)})")
        self.backend = backend
        self.db = db
        self.writer = writer
        self.executor = executor
        self.options = options
        self._ents: dict[str, _Entity] = {}
        self._queue: list[_Task] = []
        self._inflight: dict[Future, _Task] = {}
        self._failed_scopes: dict[str, set[Any]] = defaultdict(set)
        self._progress: ProgressSink = no_progress
        self._cancel: CancelToken = NEVER_CANCELLED
        self._fatal: LmsError | None = None
        self._course_ids: list[int] = []
        self._site_admin = False  # set from the site info: only an administrator's token may sweep
        self._probe: IdProbe | None = None  # the user pass's id probe, once it started
        self._ready: list[_Entity] = []  # complete entities waiting for the batch to commit
        self._requests = 0
        self._tasks_done = 0
        self._tasks_total = 0

    # -- public -----------------------------------------------------------------
    def run(self, progress: ProgressSink = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> SyncResult:
        """Sync; raises :class:`SyncRunning` (nothing written) when another sync of the same cache file runs,
        in this process or another (a second window, a scheduled ``lms-console sync``): each pass removes
        what it did not see itself, so two at once would remove each other's rows."""
        lock = FileLock(f"{self.db.path}.sync-lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise SyncRunning(f"Another sync of {Path(self.db.path).name} is running") from None
        try:
            return self._run(progress, cancel)
        finally:
            lock.release()

    def _run(self, progress: ProgressSink, cancel: CancelToken) -> SyncResult:
        self._progress, self._cancel = progress, cancel
        t0 = time.monotonic()
        asked = set(self.options.entities)
        if "activity_completion" in asked:
            asked.add("completion")  # it follows the course progress read in the same pass
        wanted = [e for e in ENTITIES if e in asked]
        run_id = self.writer.begin_run(wanted)
        self._run_id = run_id
        status, error = "ok", None
        try:
            # Pages of accounts live long enough to reach the oldest generation and then go: full
            # collections would follow one another all sync long, each freezing the GUI (gc_pacing).
            with full_collections_deferred():
                self._site()
                self._plan(wanted)
                self._drain()
        except Cancelled:
            status = "cancelled"
        except LmsError as exc:
            status, error = "failed", exc
        finally:
            for fut in self._inflight:
                fut.cancel()
        if self._fatal is not None and error is None:
            status, error = "failed", self._fatal
        results = tuple(self._close_entity(self._ents[e], status, error) for e in wanted if e in self._ents)
        if status == "ok" and any(r.status != "ok" for r in results):
            status = "partial"
        self.writer.finish_run(run_id, status, str(error) if error else None)
        return SyncResult(run_id, status, results, time.monotonic() - t0, self._requests, error)

    # -- planning ---------------------------------------------------------------
    def _site(self) -> None:
        ent = self._entity("site")
        site = self.backend.site_info(cancel=self._cancel)
        self._requests += 1
        ent.requests += 1
        self._site_admin = bool(site.is_site_admin)
        self.writer.save_site_info(site)
        ent.rows, ent.open = 1, False
        self._finish(ent)

    def _plan(self, wanted: list[str]) -> None:
        b, c = self.backend, self._cancel
        need_courses = any(e in wanted for e in _COURSE_SCOPED)
        if "categories" in wanted:
            ent = self._entity("categories")
            self._submit("categories", lambda: b.categories(cancel=c), self._apply_categories)
            ent.open = False
        if "courses" in wanted or need_courses:
            if "courses" in wanted:
                self._entity("courses")
            self._submit("courses" if "courses" in wanted else None, lambda: b.courses(cancel=c),
                         self._apply_courses)
        for e in _COURSE_SCOPED:
            if e in wanted:
                self._entity(e)  # stays open until the course list arrives
        if "users" in wanted:
            self._plan_users()
        if "cohorts" in wanted:
            self._entity("cohorts")
            self._submit("cohorts", lambda: b.cohorts(cancel=c), self._apply_cohorts)
        if "completion" in wanted:
            self._entity("completion")  # planned once this sync's users and enrolments are in (sync_completion)
            self._maybe_plan_completion()
        if "activity_completion" in wanted:
            self._entity("activity_completion")
            if "completion" not in wanted:
                self._plan_activity_completion()

    def _entity(self, name: str) -> _Entity:
        if name not in self._ents:
            self._ents[name] = _Entity(name, self._run_id)
            self.writer.set_sync_state(name, status="running", run_id=self._run_id)
        return self._ents[name]

    def _submit(self, entity: str | None, fetch: Callable[[], Any], apply: Callable[[Any], None],
                scope: Any = None) -> None:
        if entity is not None:
            self._ents[entity].pending += 1
        self._tasks_total += 1
        self._queue.append(_Task(entity or "", fetch, apply, scope))

    # -- the loop -----------------------------------------------------------------
    def _drain(self) -> None:
        limit = max(1, self.options.concurrency * 2)
        while self._queue or self._inflight or self._ready:
            self._cancel.raise_if_cancelled()
            while self._queue and len(self._inflight) < limit:
                task = self._queue.pop(0)
                self._inflight[self.executor.submit(task.fetch)] = task
            if self._inflight:
                done, _ = wait(list(self._inflight), timeout=0.5, return_when=FIRST_COMPLETED)
                # Everything that arrived together is written in one transaction: thousands of
                # small per-user answers would otherwise cost a transaction each.
                with self.writer.batch():
                    for fut in done:
                        self._complete(self._inflight.pop(fut), fut)
            # Finishing an entity reads what was just written (sweeps, follow-up plans):
            # only after the batch is committed.
            while self._ready and self._fatal is None:
                self._finish(self._ready.pop(0))
            if self._fatal is not None:
                raise self._fatal

    def _complete(self, task: _Task, fut: Future) -> None:
        self._requests += 1
        self._tasks_done += 1
        ent = self._ents.get(task.entity)
        if ent is not None:
            ent.requests += 1
        try:
            result = fut.result()
            task.apply(result)
        except Cancelled:
            raise
        except (AuthExpired,) as exc:
            self._fatal = exc
        except ApiRejected as exc:
            # One course or partition refused (e.g. hidden course): record, carry on.
            if ent is None:
                self._fatal = exc
            else:
                ent.errors.append(str(exc))
                self._failed_scopes[task.entity].add(task.scope)
        except LmsError as exc:
            # Transport-level failure after retries: the site is down or broken; stop.
            self._fatal = exc
        if ent is not None:
            ent.pending -= 1
            self._maybe_finish(ent)
        self._progress(ProgressEvent("sync", self._tasks_done, self._tasks_total,
                                     f"{task.entity or 'courses'}: {self._tasks_done:,}/{self._tasks_total:,} requests"))

    def _maybe_finish(self, ent: _Entity) -> None:
        if not ent.open and ent.pending == 0 and not ent.done and ent not in self._ready:
            self._ready.append(ent)

    def _finish(self, ent: _Entity) -> None:
        if ent.finisher is not None and not ent.errors:
            finisher, ent.finisher = ent.finisher, None
            finisher()  # may record an error (a doubtful sweep it refused to do)
            if ent.pending:
                return  # it planned a further step (and its finisher): the entity finishes after that
        ent.done = True
        ent.finished = time.monotonic()
        complete = not ent.errors
        self.writer.set_sync_state(ent.name, status="ok" if complete else "partial", run_id=ent.run_id,
                                   rows=ent.rows, error="; ".join(ent.errors[:5]) or None, success=complete)
        # Follow-ups that need this entity complete.
        if ent.name in ("enrolments", "users"):
            self._maybe_plan_completion()
        if ent.name == "completion" and "activity_completion" in self._ents:
            self._plan_activity_completion()

    def _close_entity(self, ent: _Entity, run_status: str, error: LmsError | None) -> EntityResult:
        seconds = (ent.finished or time.monotonic()) - ent.started
        if ent.done:
            status = "ok" if not ent.errors else "partial"
        else:
            status = "cancelled" if run_status == "cancelled" else "failed"
            # The reason the pass stopped, or what went wrong within it (a permission the token lacks...):
            # the freshness table shows this, so "not completed" only when nothing better is known.
            # One request failing for good stops the whole pass: said as such, not as this part's own error.
            msg = f"not completed: the sync stopped on {error}" if error else ("; ".join(ent.errors[:3])
                                                                              or "not completed")
            self.writer.set_sync_state(ent.name, status=status, run_id=ent.run_id, rows=ent.rows,
                                       error=None if status == "cancelled" else msg, success=False)
            if error and status == "failed":
                ent.errors.append(msg)
        return EntityResult(ent.name, status, ent.rows, ent.requests, seconds, tuple(ent.errors),
                            tuple(ent.warnings))

    _NOT_ADMIN = ("the token's account is not a site administrator, so the site shows it only what that account "
                  "may see; nothing else was removed from the local copy")

    def _may_sweep(self, ent: _Entity) -> bool:
        """Whether rows this pass did not see may be removed. Only a site administrator's token sees
        everything: Moodle leaves out, without a word, the courses, participants and progress another
        account may not see, and that must never read as "deleted on the site"."""
        if self._site_admin:
            return True
        if self._NOT_ADMIN not in ent.errors:
            ent.errors.append(self._NOT_ADMIN)
        return False

    def _sweep_unless_none_seen(self, ent: _Entity, entity: str, seen: int) -> None:
        """Remove the rows of ``entity`` this pass did not see, unless it saw none while the cache has some:
        Moodle answers a token without the right to list them with an empty list, not an error, and that
        must never read as "everything was deleted" (as for users)."""
        if not self._may_sweep(ent):
            return
        if seen == 0:
            with self.db.read() as conn:
                cached = conn.exec_driver_sql(f'SELECT count(*) FROM "{entity}"').scalar() or 0
            if cached:
                ent.errors.append(
                    f"the site listed no {entity} while the local copy has {cached:,}; the token may lack the "
                    f"permission to see them (Moodle then answers with an empty list), so none was removed from "
                    "the cache")
                return
        self.writer.sweep(entity, self._run_id)

    # -- categories, courses and course-scoped entities --------------------------------
    def _apply_categories(self, fetched) -> None:
        ent = self._ents["categories"]
        self.writer.upsert_categories(fetched.items, self._run_id)
        ent.rows += len(fetched.items)
        ent.finisher = lambda n=len(fetched.items): self._sweep_unless_none_seen(ent, "categories", n)
        ent.warnings.extend(fetched.warnings)

    def _apply_courses(self, fetched) -> None:
        self.writer.upsert_courses(fetched.items, self._run_id)
        self._course_ids = [c.id for c in fetched.items]
        if "courses" in self._ents:
            ent = self._ents["courses"]
            ent.rows += len(fetched.items)
            ent.warnings.extend(fetched.warnings)
            # A course the token cannot see is only a warning: never sweep it away then.
            if not fetched.warnings:
                ent.finisher = lambda n=len(fetched.items): self._sweep_unless_none_seen(ent, "courses", n)
            ent.open = False
        if "enrolments" in self._ents and not fetched.warnings:
            # The enrolments of courses deleted on the site: without the courses pass (`sync --only
            # enrolments`) nothing else removes them. Not when the site kept a course from the token.
            self._ents["enrolments"].finisher = lambda ids=tuple(self._course_ids): self._drop_gone_courses(ids)
        b, c = self.backend, self._cancel
        wanted = set(self.options.courses)
        for cid in self._course_ids:
            if wanted and cid not in wanted:
                continue
            if "contents" in self._ents:
                self._submit("contents", lambda cid=cid: b.course_contents(cid, cancel=c),
                             lambda f, cid=cid: self._apply_contents(cid, f), cid)
            if "groups" in self._ents:
                self._submit("groups", lambda cid=cid: self._fetch_groups(cid),
                             lambda r, cid=cid: self._apply_groups(cid, r), cid)
            if "grades" in self._ents:
                self._submit("grades", lambda cid=cid: b.course_grades(cid, cancel=c),
                             lambda g: self._apply_grades(g), cid)
            if "enrolments" in self._ents:
                self._submit("enrolments", lambda cid=cid: self._fetch_suspended(cid),
                             lambda s, cid=cid: self._apply_suspended(cid, s), cid)
        for e in _COURSE_SCOPED:
            if e in self._ents:
                self._ents[e].open = False
                self._maybe_finish(self._ents[e])

    def _apply_contents(self, courseid: int, fetched) -> None:
        ent = self._ents["contents"]
        self.writer.replace_course_contents(courseid, fetched.items, self._run_id)
        ent.rows += sum(len(s.modules) for s in fetched.items) + len(fetched.items)

    def _fetch_groups(self, courseid: int):
        b, c = self.backend, self._cancel
        groups = b.course_groups(courseid, cancel=c).items
        groupings = b.course_groupings(courseid, cancel=c).items if groups else ()
        members = b.group_members([g.id for g in groups], cancel=c).items if groups else ()
        return groups, groupings, members

    def _apply_groups(self, courseid: int, result) -> None:
        groups, groupings, members = result
        ent = self._ents["groups"]
        with self.writer.batch():
            self.writer.replace_course_groups(courseid, groups, groupings, self._run_id)
            self.writer.replace_group_members(members, self._run_id)
        ent.rows += len(groups) + sum(len(m.userids) for m in members)

    def _apply_grades(self, grades) -> None:
        ent = self._ents["grades"]
        self.writer.replace_course_grades(grades, self._run_id)
        ent.rows += len(grades.grades)

    def _drop_gone_courses(self, course_ids: tuple[int, ...]) -> None:
        ent = self._ents["enrolments"]
        if not self._may_sweep(ent):
            return
        if not course_ids:
            with self.db.read() as conn:
                cached = conn.exec_driver_sql("SELECT count(DISTINCT courseid) FROM enrolments").scalar() or 0
            if cached:
                ent.errors.append(f"the site listed no courses while the local copy holds enrolments in {cached:,}; "
                                  "the token may lack the permission to see them, so none was removed from the cache")
                return
        self.writer.drop_enrolments_outside(course_ids)

    # Enrolments: first the (usually short) list of suspended enrolments, so every
    # page carries the right status; then pages; the course's sweep after its last page.
    def _fetch_suspended(self, courseid: int) -> set[int]:
        ids: set[int] = set()
        offset, page = 0, self.options.enrol_page
        while True:
            part = self.backend.enrolments_page(courseid, offset, page, suspended_only=True, cancel=self._cancel)
            ids.update(e.userid for e in part.items)
            if len(part.items) < page:
                return ids
            offset += page

    def _apply_suspended(self, courseid: int, suspended: set[int]) -> None:
        state = _CourseEnrolPass(courseid, frozenset(suspended))
        self._submit_enrol_page(state, 0)

    def _submit_enrol_page(self, state: "_CourseEnrolPass", offset: int) -> None:
        page = self.options.enrol_page
        state.outstanding += 1
        self._submit("enrolments",
                     lambda: self.backend.enrolments_page(state.courseid, offset, page, cancel=self._cancel),
                     lambda f: self._apply_enrol_page(state, offset, f), state.courseid)

    def _apply_enrol_page(self, state: "_CourseEnrolPass", offset: int, fetched) -> None:
        ent = self._ents["enrolments"]
        state.outstanding -= 1
        items = [replace(e, suspended=True) if e.userid in state.suspended else e for e in fetched.items]
        self.writer.upsert_enrolments(items, self._run_id)
        ent.rows += len(items)
        if len(fetched.items) >= self.options.enrol_page:
            # Submitted before this task's pending count drops, so the entity cannot close early.
            self._submit_enrol_page(state, offset + self.options.enrol_page)
        elif state.outstanding == 0 and state.courseid not in self._failed_scopes["enrolments"] \
                and self._may_sweep(self._ents["enrolments"]):
            self.writer.sweep("enrolments", self._run_id, courseid=state.courseid)

    # -- users ----------------------------------------------------------------------------
    def _plan_users(self) -> None:
        # The state of the last pass is read before this one marks itself running (which replaces it).
        with self.db.read() as conn:
            state = queries.sync_state(conn, "users")
            resume_run = None
            if state is not None and state.status in ("running", "failed", "cancelled") and state.run_id \
                    and state.last_attempt_at and time.time() - state.last_attempt_at < RESUME_WITHIN_S:
                resume_run = state.run_id
            done = queries.partitions_done(conn, "users", resume_run) if resume_run else set()
            prefixes = plan_partitions(lambda ps: queries.partition_counts(conn, ps), self.options.max_partition)
        ent = self._entity("users")
        if resume_run and done:
            # Continue the interrupted pass: its rows carry its run id, so the final sweep stays exact.
            ent.run_id = resume_run
            log.info("resuming user sync of run %s: %d partitions already done", resume_run, len(done))
        todo = [p for p in prefixes if p not in done]
        keys = [*prefixes, BY_ID]  # the id probe is the last partition: it needs all the others done
        detail = {"partitions": len(keys), "done": len(keys) - len(todo) - (BY_ID not in done)}
        self.writer.set_sync_state("users", status="running", run_id=ent.run_id, detail=detail)
        self.writer.save_partitions("users", {p: None for p in keys}, ent.run_id)
        b, c = self.backend, self._cancel
        for p in todo:
            self._submit("users", lambda p=p: b.users_matching(p, cancel=c),
                         lambda f, p=p: self._apply_user_partition(p, f), p)
        ent.open = False
        ent.finisher = self._finish_users if BY_ID in done else self._probe_unlisted
        self._maybe_finish(ent)

    def _apply_user_partition(self, prefix: str, fetched) -> None:
        ent = self._ents["users"]
        with self.writer.batch():
            self.writer.upsert_users(fetched.items, ent.run_id)
            self.writer.mark_partition_done("users", prefix, ent.run_id, count=len(fetched.items))
        ent.rows += len(fetched.items)
        ent.warnings.extend(fetched.warnings)

    # -- cohorts ----------------------------------------------------------------------------
    def _apply_cohorts(self, fetched) -> None:
        ent = self._ents["cohorts"]
        self.writer.upsert_cohorts(fetched.items, self._run_id)
        ent.rows += len(fetched.items)
        ids = [c.id for c in fetched.items]
        b, c = self.backend, self._cancel
        for i in range(0, len(ids), 100):
            part = ids[i:i + 100]
            self._submit("cohorts", lambda part=part: b.cohort_members(part, cancel=c), self._apply_cohort_members)
        if ids and hasattr(b, "cohort_ids_in_context"):
            self._submit("cohorts", lambda: b.cohort_ids_in_context(0, cancel=c), self._apply_system_cohorts)
        ent.open = False
        ent.finisher = lambda n=len(ids): self._sweep_unless_none_seen(ent, "cohorts", n)

    def _apply_cohort_members(self, fetched) -> None:
        ent = self._ents["cohorts"]
        self.writer.replace_cohort_members(fetched.items, self._run_id)
        ent.rows += sum(len(m.userids) for m in fetched.items)

    def _apply_system_cohorts(self, system_ids: set[int]) -> None:
        self.writer.set_cohort_categories({cid: 0 for cid in system_ids}, others_unknown=True)


@dataclass(slots=True)
class _CourseEnrolPass:
    courseid: int
    suspended: frozenset[int]
    outstanding: int = 0


def plan_partitions(count: Callable[[list[str]], dict[str, int]], max_partition: int) -> list[str]:
    """Email-prefix partitions covering every address that starts with an ASCII character (the others: the
    id probe), split where the cache says they are too big.

    ``count(prefixes)`` returns how many cached users fall under each prefix.  A
    first sync (empty cache) starts from one-character prefixes; after it, the
    counts it stored make the next plan split the crowded ones.
    """
    result: list[str] = []
    level = list(FIRST_CHARS)
    while level:
        counts = count(level)
        nxt: list[str] = []
        for p in level:
            if counts.get(p, 0) > max_partition and len(p) < MAX_PREFIX_DEPTH:
                nxt.extend(p + ch for ch in NEXT_CHARS)
            else:
                result.append(p)
        level = nxt
    return result
