"""What the groups pane asks the change engine for: users dropped on a cohort, a group or a course,
members removed, cohorts, groups and groupings created, renamed or deleted.

Every plan is worked out on a worker (a filter drag's ids are read there too), annotated with
what the planner does not say (suspended accounts; a cohort or group the site deleted since the
last sync, asked of the site) and handed to the change engine's preview through
``engine.planned``. Nothing is sent before the admin presses Apply there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

from PySide6.QtCore import QObject, Signal

from lms_console.models.dnd import UserDrag


# -- actions -------------------------------------------------------------------------------------------------

def plan_annotated(conn, changes, *, site=None, title: str = "", enrol_first: bool = False, client=None,
                   target=None):
    """Plan ``changes`` against the cache and name what the planner does not (services side, worker)."""
    from lms_console.services import memberships_import as M
    from lms_console.services.changes.planner import PlanContext, plan

    result = plan(changes, PlanContext(conn, site), title=title, enrol_first=enrol_first)
    gone = ""
    if client is not None and target is not None and target.kind in ("cohort", "group"):
        gone = M.check_on_site(client, target) or ""
    return M.annotate_plan(conn, result, gone=gone, target=target)


@dataclass(frozen=True, slots=True)
class DropOptions:
    """How a drop on a course enrols (the pane asks for these)."""

    roleid: int = 5
    timestart: int = 0
    timeend: int = 0
    suspend: bool = False


MAX_USERS = 200_000
MAX_CHANGES = 250_000  # a plan this big takes ~10 s to work out and the preview caps its list


class GroupsActions(QObject):
    """Plans for the groups pane. Plans go to ``engine.planned`` (the preview opens).

    Signals:
        planning(str): a plan is being worked out (what, for a status line).
        planned(object, float): a Plan this object made, and the seconds from the request to it.
        problem(object): an expected problem (a message string, LmsError or CacheError).
    """

    planning = Signal(str)
    planned = Signal(object, float)
    problem = Signal(object)

    def __init__(self, session, engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.engine = engine
        self.runner = session.runner
        self.last_plan = None
        self._plans: list = []  # (plan, target) of the last few plans made here

    # -- drops ------------------------------------------------------------------------------------------
    def plan_drop(self, kind: str, ident: int, drag: UserDrag, options: DropOptions = DropOptions(),
                  *, enrol_first: bool = False) -> int | None:
        """Users dropped on a cohort, a group or a course (``options`` for a course)."""
        if kind == "course":
            return self.plan_enrol([ident], drag, options)
        return self._plan_users(drag, lambda conn, ids: self._membership(conn, kind, ident, ids), enrol_first)

    def plan_enrol(self, courseids: Sequence[int], drag: UserDrag, options: DropOptions = DropOptions()
                   ) -> int | None:
        """Enrol the dragged (or chosen) users in every one of ``courseids`` (the enrolment matrix)."""
        courses = list(dict.fromkeys(int(c) for c in courseids))
        if not courses:
            self.problem.emit("Choose at least one course.")
            return None
        return self._plan_users(drag, lambda conn, ids: self._enrolment(conn, courses, ids, options), False)

    @staticmethod
    def _membership(conn, kind: str, ident: int, ids: list[int]):
        from lms_console.services import memberships_import as M

        target = M.load_target(conn, kind, ident)
        if target is None:
            return _Refused(f"The {kind} is no longer in the local copy (deleted on the site?). Sync, then try again.")
        title = f"Add {len(ids):,} user{'s' if len(ids) != 1 else ''} to {target.label}"
        return M.membership_changes(target, ids), title, target

    @staticmethod
    def _enrolment(conn, courses: list[int], ids: list[int], options: DropOptions):
        from lms_console.services import memberships_import as M

        names = [M.load_target(conn, "course", c) for c in courses]
        if any(n is None for n in names):
            gone = [str(c) for c, n in zip(courses, names) if n is None]
            return _Refused(f"Course {', '.join(gone)} is no longer in the local copy (deleted on the site?).")
        try:
            changes = M.enrol_changes(courses, ids, roleid=options.roleid, timestart=options.timestart,
                                      timeend=options.timeend, suspend=options.suspend)
        except ValueError as exc:
            return _Refused(str(exc))
        where = names[0].name if len(names) == 1 else f"{len(names):,} courses"
        return changes, f"Enrol {len(ids):,} user{'s' if len(ids) != 1 else ''} in {where}", None

    def _plan_users(self, drag: UserDrag, make, enrol_first: bool) -> int | None:
        if not drag.ok:
            self.problem.emit(drag.problem or "Nothing to drop.")
            return None
        db = self.session.db
        if db is None:
            self.problem.emit("Open a connection profile first.")
            return None
        started = time.perf_counter()
        site, client = self.session.site, self.session._client

        def job(p, cancel):
            from lms_console.services import users_query as Q

            with db.read() as conn:
                ids = list(drag.ids)
                if drag.spec is not None:
                    for chunk in Q.ids(conn, drag.spec):
                        cancel.raise_if_cancelled()
                        ids += chunk
                if not ids:
                    return _Refused("The users chosen (a filter) match nobody any more.")
                if len(ids) > MAX_USERS:
                    return _Refused(f"{len(ids):,} users is more than one run takes ({MAX_USERS:,}); narrow the "
                                    "filter or split it.")
                made = make(conn, ids)
                if isinstance(made, _Refused):
                    return made
                changes, title, target = made
                if len(changes) > MAX_CHANGES:
                    return _Refused(f"That is {len(changes):,} changes; one run takes at most {MAX_CHANGES:,}. "
                                    "Choose fewer users or courses and do it in parts.")
                cancel.raise_if_cancelled()
                plan = plan_annotated(conn, changes, site=site, title=title, enrol_first=enrol_first, client=client,
                                      target=target)
                return plan, target

        self.planning.emit(f"Working out the changes for {drag.label()}…")
        return self._run(job, started)

    def plan_remove(self, kind: str, ident: int, userids: Sequence[int]) -> int | None:
        """Remove these members from a cohort or a group."""
        db = self.session.db
        ids = list(dict.fromkeys(userids))
        if db is None or not ids:
            return None
        started = time.perf_counter()

        def job(p, c):
            from lms_console.services import memberships_import as M

            with db.read() as conn:
                target = M.load_target(conn, kind, ident)
                if target is None:
                    return _Refused(f"The {kind} is no longer in the local copy.")
                title = f"Remove {len(ids):,} member{'s' if len(ids) != 1 else ''} from {target.label}"
                return plan_annotated(conn, M.membership_changes(target, ids, remove=True), title=title), None

        return self._run(job, started)

    def plan_bulk(self, courseid: int, userids: Sequence[int], action: str, *, timeend: int = 0) -> int | None:
        """Suspend, reactivate, end (``timeend``) or remove these users' enrolments in ``courseid``."""
        db = self.session.db
        ids = list(dict.fromkeys(userids))
        if db is None or not ids:
            return None
        started = time.perf_counter()

        def job(p, c):
            from lms_console.models.enrolments_model import bulk_changes, bulk_title

            with db.read() as conn:
                name = conn.exec_driver_sql("SELECT shortname FROM courses WHERE id = ?", (courseid,)).scalar()
                if name is None:
                    return _Refused("The course is no longer in the local copy (deleted on the site?).")
                try:
                    changes = bulk_changes(conn, courseid, ids, action, timeend=timeend)
                except ValueError as exc:
                    return _Refused(str(exc))
                title = bulk_title(action, len(ids), name, timeend=timeend)
                return plan_annotated(conn, changes, title=title), None

        return self._run(job, started)

    def plan_changes(self, changes, title: str, *, enrol_first: bool = False, target=None) -> int | None:
        """Any other changes of the pane (create, rename, delete, grouping assignments, enrolments);
        with ``target`` (a memberships Target) the site is asked whether it still exists."""
        db, site = self.session.db, self.session.site
        client = self.session._client if target is not None else None
        changes = list(changes)
        if db is None or not changes:
            return None
        started = time.perf_counter()

        def job(p, c):
            with db.read() as conn:
                return plan_annotated(conn, changes, site=site, title=title, enrol_first=enrol_first, client=client,
                                      target=target), target

        return self._run(job, started)

    def owns(self, plan) -> bool:
        """Whether ``plan`` was made here (its preview's "Enrol them first" comes back here)."""
        return any(plan is p for p, _t in self._plans)

    def replan(self, plan, enrol_first: bool) -> int | None:
        """Plan again (the preview's "Enrol them first"), keeping this object's notes and checks."""
        target = next((t for p, t in self._plans if p is plan), None)
        return self.plan_changes([i.change for i in plan.items], plan.title, enrol_first=enrol_first, target=target)

    def _run(self, job, started: float) -> int:
        def done(result) -> None:
            if isinstance(result, _Refused):
                self.problem.emit(str(result))
                return
            plan, target = result
            self.last_plan = plan
            self._plans = [*self._plans[-4:], (plan, target)]
            self.planned.emit(plan, time.perf_counter() - started)
            self.engine.planned.emit(plan)

        def failed(exc) -> None:
            self.problem.emit(exc)

        # The engine's own plans run under the name "plan": one plan at a time, the newest wins. A plan of a
        # profile closed since is dropped: its preview would send it to the next profile's site.
        mine = self.session.for_this_profile
        return self.runner.run("plan", job, label="Plan changes", on_done=mine(done), on_error=mine(failed))


def read_import_file(path: str):
    """The import file as a Table, or the ImportFileError saying why it cannot be used (worker)."""
    from lms_console.services.importer_read import ImportFileError, read_table

    try:
        return read_table(path)
    except ImportFileError as exc:
        return exc


def dry_run_memberships(db, table, targets, *, enrol_first: bool = False, progress=None, cancel=None):
    """The membership import's dry run in one read snapshot (worker), or the ImportFileError."""
    from lms_console.services import memberships_import as M
    from lms_console.services.importer_read import ImportFileError

    with db.read() as conn:
        try:
            return M.dry_run(conn, table, targets, enrol_first=enrol_first, progress=progress, cancel=cancel)
        except ImportFileError as exc:
            return exc


def read_pane_choices(db) -> dict:
    """What the pane's dialogs offer: roles, saved filters, rule value suggestions, filter options, every
    cohort (id, name, members)."""
    from lms_console.models.enrolments_model import read_roles, read_saved_filters
    from lms_console.services import cohort_rules as R
    from lms_console.services import users_query as Q

    with db.read() as conn:
        choices = R.rule_condition_choices(conn)
        options = Q.filter_options(conn)
        # Every cohort, with its members: the tree's own list holds only what its search finds.
        cohorts = [tuple(r) for r in conn.exec_driver_sql(
            "SELECT c.id, c.name, (SELECT count(*) FROM cohort_members m WHERE m.cohortid = c.id) FROM cohorts c "
            "ORDER BY c.name, c.id")]
    return {"roles": read_roles(db), "saved": read_saved_filters(db), "rule_choices": choices, "options": options,
            "cohorts": cohorts}


class _Refused(str):
    """A plan that cannot be made, for a reason the admin can act on (returned, shown as a message)."""


__all__ = ["MAX_CHANGES", "MAX_USERS", "DropOptions", "GroupsActions", "dry_run_memberships", "plan_annotated",
           "read_import_file", "read_pane_choices"]
