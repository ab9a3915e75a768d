"""The change engine on the Qt side: plan off the GUI thread, apply on the writer thread,
broadcast what changed, keep the outbox moving when the site answers again."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

from PySide6.QtCore import QObject, Signal

from lms_console.models.session import ConnectionSession, Online
from lms_console.services.lms.errors import Unreachable
from lms_console.services.changes.model import Change, Plan, RunSummary, Status, settled_status

# The journal's words for an item of a run paused when its profile was closed (see _left_in_outbox).
PAUSED_ITEM = "not sent yet: its profile was closed during the run; it goes out when that profile is open again"


class ChangeEngine(QObject):
    """Every write of the GUI goes through here.

    Signals:
        planned(object): a Plan is ready for the preview dialog.
        plan_failed(object): planning hit an expected error (LmsError / CacheError / UserError).
        applied(object): RunSummary of a finished run (done, partial, failed, waiting, cancelled, held).
        changes_applied(object): RunSummary broadcast to every model: re-read what it touched
            (``summary.entities``).
        outbox_changed(int): how many items wait to go out or for the admin's decision.
        closed_run_ended(int, object): job id and RunSummary of a run (an apply, the outbox going out) of a profile
            closed since: paused when it closed (what it had not sent waits in that profile's outbox), or ended
            after. Never ``applied``: nothing of it is the profile open now's.

    A profile's runs never hold up the next profile: when it closes, they stop at their next chunk (see
    :meth:`_pause_runs`).
    """

    planned = Signal(object)
    plan_failed = Signal(object)
    applied = Signal(object)
    changes_applied = Signal(object)
    outbox_changed = Signal(int)
    closed_run_ended = Signal(int, object)

    def __init__(self, session: ConnectionSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        session.opened.connect(self._on_opened)
        session.state_changed.connect(self._on_state)
        session.closed.connect(self._pause_runs)
        self.runner.job_changed.connect(self._forget_ended_run)
        self._was_offline = False
        self._resume_when_online = False
        self._runs = 0
        self._live: dict[int, _Run] = {}  # runs of the open profile not ended yet, by job id

    # -- planning ------------------------------------------------------------------
    def plan(self, changes: Iterable[Change], *, title: str = "", enrol_first: bool = False) -> int | None:
        from lms_console.services.changes import plan_changes

        db, site = self.session.db, self.session.site
        if db is None:
            return None
        changes = list(changes)
        return self.runner.run("plan", lambda p, c: plan_changes(db, changes, site=site, title=title,
                                                                 enrol_first=enrol_first),
                               label=f"Plan: {title or f'{len(changes)} change(s)'}",
                               **self._for_this_profile(self.planned.emit, self.plan_failed.emit))

    def plan_retry(self, run_id: int) -> int | None:
        """Plan again the failed items of a run ("Retry failed"). What cannot be retried is named in the
        plan's notes, never left out silently; a retry of an undo is an undo of the same originals."""
        from lms_console.services.changes import journal as J
        from lms_console.services.changes import nothing_to_retry, retryable_changes

        def changes(conn):
            again, notes = retryable_changes(J.run_rows(conn, run_id))
            if not again:  # said in words, not an empty preview
                raise nothing_to_retry(run_id, notes)
            originals = J.reversed_originals(conn, run_id, [r for _c, r in again])
            # An item whose account is gone from the local copy keeps the name the journal recorded.
            return [c for c, _r in again], {"recorded_titles": [r.title for _c, r in again], "notes": notes,
                                            "meta": {"undo_items": originals} if originals else {}}

        return self._plan_from_journal(changes, f"Retry the failed items of run {run_id}")

    def plan_undo(self, *, run_id: int | None = None, item_ids: Sequence[int] = ()) -> int | None:
        """Plan the inverse of a whole run or of chosen items (itself previewed before it goes). What
        cannot be undone is named in the plan's notes, never left out silently."""
        from lms_console.services.changes import journal as J
        from lms_console.services.changes import undoable_changes

        def changes(conn):
            rows = J.run_rows(conn, run_id) if run_id is not None else [J.item_row(conn, i) for i in item_ids]
            what = f"run {run_id}" if run_id is not None else "the selection"
            inverses, notes = undoable_changes([r for r in rows if r is not None], what)
            return inverses, {"notes": notes}

        title = f"Undo run {run_id}" if run_id is not None else f"Undo {len(item_ids)} change(s)"
        return self._plan_from_journal(changes, title, undo_of=run_id, undo_items=tuple(item_ids))

    def _plan_from_journal(self, make_changes, title: str, **meta) -> int | None:
        """Plan what ``make_changes(conn)`` reads from the journal: (changes, extras), the extras being
        the plan's ``notes``, the titles the journal recorded (``recorded_titles``) and what the engine
        must remember about the plan that only the journal knows (``meta``: the originals a retried undo
        reverses), added to ``meta``."""
        from lms_console.services.changes import plan_changes

        db, site = self.session.db, self.session.site
        if db is None:
            return None

        def job(progress, cancel):
            with db.read() as conn:
                changes, extras = make_changes(conn)
            plan = plan_changes(db, changes, site=site, title=title,
                                recorded_titles=extras.get("recorded_titles", ()))
            if extras.get("notes"):
                plan = replace(plan, notes=(*plan.notes, *extras["notes"]))
            tags = {**meta, **extras.get("meta", {})}
            return plan if not tags else _TaggedPlan(plan, tags)

        return self.runner.run("plan", job, label=f"Plan: {title}",
                               **self._for_this_profile(self._emit_planned, self.plan_failed.emit))

    def _emit_planned(self, plan) -> None:
        self.planned.emit(plan)

    def _for_this_profile(self, on_done, on_error=None) -> dict:
        """A job's ``on_done`` / ``on_error`` for the profile open now: a plan, a run or a count of a profile
        closed since is never the next profile's (its preview would send it to the other site, its results
        would retry there, its "offline" would be said of a site that answers). A run still finishes into its
        own profile's journal and cache: only what it hands back is dropped."""
        mine = self.session.for_this_profile
        return {"on_done": mine(on_done), "on_error": mine(on_error)}

    # -- applying ----------------------------------------------------------------------
    def apply(self, plan: Plan, *, origin: str = "gui") -> int | None:
        """Record the plan (the outbox) and send it, on the writer thread."""
        from lms_console.services.changes import Applier, record

        session = self.session
        if session.db is None or session.client is None:
            return None
        client, profile = session.client, session.profile.name
        user = session.site.username if session.site else ""
        meta = plan.meta if isinstance(plan, _TaggedPlan) else {}
        plan = plan.plan if isinstance(plan, _TaggedPlan) else plan

        undo = bool(meta.get("undo_of") or meta.get("undo_items"))
        self._runs += 1
        run = _Run(f"apply-{self._runs}")  # a unique name: a second Apply must queue behind the first, never cancel it

        def job(writer, progress, cancel):
            run.cancel = cancel
            # An undo names what it reverses: its originals are marked undone when their inverse goes through,
            # now or from the outbox later (the Applier does it after every send).
            run_id = record(writer, plan, profile=profile, lms_user=user, origin="undo" if undo else origin,
                            undo_of=meta.get("undo_of"), undo_items=meta.get("undo_items") or ())
            # An undo first reads what it touches on the site: a change made there since is held, not reversed.
            summary = Applier(client, writer, progress=progress, cancel=cancel, recheck=undo).run(run_id)
            return _left_in_outbox(writer, summary) if run.paused else summary

        return self._start_run(run, job, f"Apply: {plan.title}")

    def _start_run(self, run: _Run, job, label: str) -> int:
        """Start ``job`` (an apply or the outbox going out) on the writer thread as ``run``: paused if its profile
        closes, its summary then said as that profile's (``closed_run_ended``), never as the next one's."""
        mine = self.session.for_this_profile(self._on_applied)

        def done(summary) -> None:
            if run.closed:
                self.closed_run_ended.emit(run.job, summary)
            else:
                mine(summary)

        run.job = self.session.run_writer(run.name, job, label=label, with_progress=True, keep_result=True,
                                          on_done=done, on_error=self.session.for_this_profile(self.plan_failed.emit))
        self._live[run.job] = run
        return run.job

    def _pause_runs(self) -> None:
        """The open profile was closed (another opened, none, moved, removed, the console quits): its runs stop at
        their next chunk, what they did not send left queued in its outbox (it goes out when that profile is open
        again; an item on its way is settled as for any stop), so that the next profile's jobs on the writer
        thread, one at a time, do not wait for them; one not started yet never starts."""
        runs, self._live = self._live, {}
        for run in runs.values():
            run.pause(self.runner)

    def _forget_ended_run(self, info) -> None:
        if info.state.finished:
            self._live.pop(info.id, None)

    def resume_outbox(self) -> int | None:
        """Send what waits in the outbox (after going online, or a restart), re-checking each item.

        One send at a time: while one runs, asking again does nothing (a second job of the same name
        would cancel the first). Cancelling it leaves what was not sent in the outbox. The runs' results
        come back as one summary."""
        from lms_console.services.changes import Applier

        session = self.session
        if session.db is None or session.client is None:
            return None
        # One send per profile: a closed profile's send still going (it finishes into its own journal) does not
        # hold back the outbox of the profile open now.
        name = f"outbox {session.profile.name}"
        if any(run.name == name for run in self._live.values()):
            return None  # (one still stopping, of this profile when it was open before, is not in the way)
        client = session.client
        run = _Run(name)

        def job(writer, progress, cancel):
            run.cancel = cancel
            with writer.batch() as raw:
                runs = [r[0] for r in raw.execute(
                    "SELECT DISTINCT run_id FROM change_items WHERE status IN ('queued', 'sending') ORDER BY run_id")]
            summaries = []
            for run_id in runs:
                summaries.append(Applier(client, writer, progress=progress, cancel=cancel, revalidate=True).run(run_id))
                if summaries[-1].stopped:
                    break  # the site stopped answering, refused the token, or the admin said stop: the rest waits
            return merge_summaries(summaries)

        return self._start_run(run, job, "Send the outbox")

    def release_held(self, item_ids: int | Sequence[int], decision: str) -> None:
        """The admin's decision (keep, theirs, drop) on held items, in one job."""
        from lms_console.services.changes import journal as J

        ids = [item_ids] if isinstance(item_ids, int) else list(item_ids)
        self._runs += 1  # a unique name: a second decision must queue behind the first, never cancel it

        def job(writer):
            for item_id in ids:
                J.release_held(writer, item_id, decision)

        self.session.run_writer(f"release-held-{self._runs}", job,
                                **self._for_this_profile(lambda _r: self.refresh_outbox()))

    def _on_opened(self, _profile) -> None:
        self._resume_when_online = True  # what waited when the console closed goes out once the site answers
        self.refresh_outbox()

    def refresh_outbox(self) -> None:
        from lms_console.services.changes import journal as J

        db = self.session.db
        if db is not None:
            def count(progress, cancel):
                with db.read() as conn:
                    return J.outbox_count(conn)

            self.runner.run("outbox-count", count, label="Count the outbox", quiet=True,
                            **self._for_this_profile(self.outbox_changed.emit))

    def _on_applied(self, summary: RunSummary | None) -> None:
        if summary is not None:
            self.applied.emit(summary)
            self.changes_applied.emit(summary)
            self.session.cache_changed.emit(summary.entities)
            if summary.status == "waiting" and isinstance(summary.error, Unreachable):
                # The site stopped answering mid-run: the session goes offline and retries, and the
                # outbox goes out when it answers again.
                self.session.went_offline(summary.error)
        self.refresh_outbox()

    def _on_state(self, state) -> None:
        if state.status == Online.OFFLINE:
            self._was_offline = True
        elif state.status == Online.ONLINE and (self._was_offline or self._resume_when_online):
            self._was_offline = self._resume_when_online = False
            self.resume_outbox()


class _Run:
    """An apply or outbox send of the open profile: its job, and whether it was paused when its profile closed.
    ``cancel`` is set on the writer thread when the job starts."""

    __slots__ = ("name", "job", "cancel", "closed", "paused")

    def __init__(self, name: str) -> None:
        self.name = name
        self.job: int | None = None
        self.cancel = None
        self.closed = False  # its profile was closed: its summary is said as that profile's
        self.paused = False  # stopped by that: what it did not send stays queued

    def pause(self, runner) -> None:
        """Stop it at its next chunk (never started: never starts). One the admin cancelled already stays
        cancelled (its rest skipped)."""
        self.closed = True
        if self.cancel is None or not self.cancel.cancelled:
            self.paused = True
            runner.cancel(self.job)


def _left_in_outbox(writer, summary: RunSummary) -> RunSummary:
    """A run paused when its profile closed (on the writer thread): the items the Applier skipped as cancelled
    are queued again, to go out from the outbox when that profile is open again, and the run waits."""
    from lms_console.services.changes import journal as J

    if summary.status != "cancelled":
        return summary  # it went to its end, or stopped for its site, before the pause came
    ids = {r.item_id for r in summary.results if r.status == Status.SKIPPED and r.code == "cancelled"}
    J.mark(writer, sorted(ids), Status.QUEUED, message=PAUSED_ITEM)
    J.set_run_status(writer, summary.run_id, "waiting")
    results = tuple(replace(r, status=Status.QUEUED, code="", message=PAUSED_ITEM) if r.item_id in ids else r
                    for r in summary.results)
    return replace(summary, status="waiting", results=results)


class _TaggedPlan:
    """A plan with what the engine must remember about it (undo of which run/items)."""

    def __init__(self, plan: Plan, meta: dict) -> None:
        self.plan, self.meta = plan, meta

    def __getattr__(self, name):
        return getattr(self.plan, name)


def merge_summaries(summaries: Sequence[RunSummary]) -> RunSummary | None:
    """The outbox's runs as one summary: every item, the entities of all, the status that needs the most
    attention, the last run's id (None when nothing waited)."""
    if not summaries:
        return None
    stops = {s.status for s in summaries if s.stopped}
    status = next((s for s in ("failed", "waiting", "cancelled") if s in stops), None) \
        or settled_status(r.status for s in summaries for r in s.results)
    last = summaries[-1]
    return RunSummary(last.run_id, status, tuple(r for s in summaries for r in s.results),
                      frozenset().union(*(s.entities for s in summaries)), last.error)

