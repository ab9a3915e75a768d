"""Course progress and activity completion: the per-user end of a sync.

Moodle has no bulk read of course progress: ``core_enrol_get_users_courses`` answers for one user at a
time, so a full pass costs one request per enrolled user (about 43,000 on a 50,000-account site, most of
a re-sync in which nothing changed). Progress moves almost only when its user works in a course, so by
default (``completion="recent"``) a pass reads:

* every user with an enrolment the local copy has no progress for yet (new enrolments, new users);
* every user whose last access to the site is at most ``RECENT_LAG_S`` before their progress was last
  read (the lag covers course completion that the site's cron aggregates after the user's last click);
* everyone, when the last complete full pass is older than ``FULL_EVERY_S`` (changes made by teachers
  or the cron alone: manual completion marked for a student, completion by date).

``completion="all"`` reads everyone. Progress is read once the enrolments of the same sync are in the local
copy, and (for a recent pass) its users (so last accesses are current). Activity completion follows
the progress that changed in this run, as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from lms_console.services.cache import queries

RECENT_LAG_S = 24 * 3600
FULL_EVERY_S = 24 * 3600


class CompletionPass:
    """The completion entities of :class:`~lms_console.services.sync.SyncEngine` (a mixin: it uses the
    engine's backend, cache, task queue and entity records)."""

    _completion_planned = False
    _completion_full: bool | None = None

    def _maybe_plan_completion(self) -> None:
        """Plan the progress reads once the enrolments asked for in this sync are complete, and the users
        too unless everyone is read (a recent pass needs their last accesses as the site has them now)."""
        if self._completion_planned or "completion" not in self._ents:
            return
        if self._completion_full is None:
            self._completion_full = self._full_progress_pass()
        waits = ("enrolments",) if self._completion_full else ("users", "enrolments")
        if any(name in self._ents and not self._ents[name].done for name in waits):
            return
        self._completion_planned = True
        self._plan_completion()

    def _full_progress_pass(self) -> bool:
        if self.options.completion == "all":
            return True
        with self.db.read() as conn:
            state = queries.sync_state(conn, "completion")
        last_full = (state.detail or {}).get("full_at") if state is not None else None
        return not last_full or time.time() - last_full > FULL_EVERY_S

    def _plan_completion(self) -> None:
        ent = self._ents["completion"]
        full = self._completion_full if self._completion_full is not None else self._full_progress_pass()
        with self.db.read() as conn:
            userids = queries.enrolled_user_ids(conn) if full else queries.progress_readers(conn, RECENT_LAG_S)
        b, c = self.backend, self._cancel
        for uid in userids:
            self._submit("completion", lambda uid=uid: b.user_courses(uid, cancel=c),
                         lambda f, uid=uid: self._apply_progress(uid, f), uid)
        ent.open = False
        ent.finisher = lambda: self._finish_progress(ent, full, userids)
        self._maybe_finish(ent)

    def _finish_progress(self, ent, full: bool, userids: list[int]) -> None:
        if not self._may_sweep(ent):
            return
        if full:
            self.writer.sweep("course_progress", self._run_id)
            self.writer.set_sync_state("completion", status="running", run_id=self._run_id,
                                       detail={"full_at": int(time.time()), "read": len(userids)})
        else:
            # The users read lose the rows of courses they left; nobody keeps the rows of an enrolment that
            # is gone (a user not read this time may have been unenrolled).
            self.writer.sweep_progress_of(userids, self._run_id)
            self.writer.set_sync_state("completion", status="running", run_id=self._run_id,
                                       detail={**self._completion_detail(), "read": len(userids)})

    def _completion_detail(self) -> dict:
        with self.db.read() as conn:
            state = queries.sync_state(conn, "completion")
        return dict(state.detail or {}) if state is not None else {}

    def _apply_progress(self, userid: int, fetched) -> None:
        ent = self._ents["completion"]
        self.writer.upsert_course_progress(fetched.items, self._run_id)
        ent.rows += len(fetched.items)

    def _plan_activity_completion(self) -> None:
        ent = self._ents["activity_completion"]
        mode = self.options.activity_completion
        pairs: Iterable[tuple[int, int]] = ()
        if mode != "off":
            with self.db.read() as conn:
                pairs = queries.progress_pairs_to_refresh(conn, self._run_id, changed_only=mode == "changed")
        b, c = self.backend, self._cancel
        for uid, cid in pairs:
            self._submit("activity_completion", lambda uid=uid, cid=cid: b.activity_completion(cid, uid, cancel=c),
                         lambda f, uid=uid, cid=cid: self._apply_activity(cid, uid, f), (uid, cid))
        ent.open = False
        ent.finisher = self.writer.drop_orphan_activity_completion  # unenrolled users, deleted activities
        self._maybe_finish(ent)

    def _apply_activity(self, courseid: int, userid: int, fetched) -> None:
        ent = self._ents["activity_completion"]
        self.writer.replace_activity_completion(courseid, userid, fetched.items, self._run_id)
        ent.rows += len(fetched.items)


__all__ = ["FULL_EVERY_S", "RECENT_LAG_S", "CompletionPass"]
