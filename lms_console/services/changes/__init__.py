"""The change engine: every write to the LMS is planned, previewed, applied in chunks with a
result per item, journaled (with its inverse for undo) and, offline, kept in an outbox.

Typical use (the GUI and `lms-console apply` do exactly this)::

    plan = plan_changes(db, changes, site=site)          # any thread: reads the cache
    run_id = record(writer, plan, profile=..., lms_user=...)  # writer thread
    summary = apply_run(client, writer, run_id, progress, cancel)  # writer thread
"""

from __future__ import annotations

from typing import Iterable, Sequence

from lms_console.services.changes.applier import Applier
from lms_console.services.changes.from_journal import (
    NothingToRetry,
    NothingToUndo,
    nothing_to_retry,
    retried,
    retry_changes,
    retryable_changes,
    undo_changes,
    undoable_changes,
)
from lms_console.services.changes.journal import create_run as record
from lms_console.services.changes.kinds import KINDS, kind
from lms_console.services.changes.model import (
    ApiCall,
    Change,
    ItemResult,
    Outcome,
    Plan,
    PlanItem,
    Problem,
    RunSummary,
    Status,
)
from lms_console.services.changes.planner import PlanContext, api_calls, plan

__all__ = ["KINDS", "ApiCall", "Applier", "Change", "ItemResult", "Outcome", "Plan", "PlanContext", "PlanItem",
           "Problem", "RunSummary", "Status", "api_calls", "apply_run", "kind", "plan", "plan_changes", "record",
           "retried", "retry_changes", "retryable_changes", "undo_changes", "NothingToRetry",
           "NothingToUndo", "nothing_to_retry", "undoable_changes"]


def plan_changes(db, changes: Iterable[Change], *, site=None, title: str = "", enrol_first: bool = False,
                 recorded_titles: Sequence[str] = ()) -> Plan:
    """Plan against the cache (a read snapshot); ``site`` (SiteInfo) enables the "yourself" checks;
    ``recorded_titles``: see :func:`plan`."""
    from lms_console.services.cache import queries

    with db.read() as conn:
        if site is None:
            site = queries.get_site_info(conn)
        return plan(changes, PlanContext(conn, site), title=title, enrol_first=enrol_first,
                    recorded_titles=recorded_titles)


def apply_run(client, writer, run_id: int, progress=None, cancel=None, *, revalidate: bool = False,
              recheck: bool = False) -> RunSummary:
    kw = {}
    if progress is not None:
        kw["progress"] = progress
    if cancel is not None:
        kw["cancel"] = cancel
    return Applier(client, writer, revalidate=revalidate, recheck=recheck, **kw).run(run_id)
