"""What to plan again from the journal: the failed items of a run ("Retry failed") and the inverses of
done items ("Undo"), with the items each leaves out and why (the preview's notes), never a silent skip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lms_console.services.changes import journal as J
from lms_console.services.changes import kinds as K
from lms_console.services.changes.model import Change, Status
from lms_console.services.user_errors import UserError


def retry_changes(rows: Sequence[J.JournalRow]) -> list[Change]:
    """The changes to plan again for "Retry failed" (see :func:`retried`)."""
    return [change for change, _row in retried(rows)]


def retried(rows: Sequence[J.JournalRow]) -> list[tuple[Change, J.JournalRow]]:
    """The changes to plan again for "Retry failed", each with the journal item it retries (see
    :func:`retryable_changes`, which also names what is left out)."""
    return _retry(rows)[0]


def retryable_changes(rows: Sequence[J.JournalRow]) -> tuple[list[tuple[Change, J.JournalRow]], tuple[str, ...]]:
    """:func:`retried`, with a note for the plan naming the failed items left out and why (a retry
    leaves nothing out silently)."""
    again, left_out = _retry(rows)
    return again, ((cannot_retry_note(left_out),) if left_out else ())


def _retry(rows: Sequence[J.JournalRow]) -> tuple[list[tuple[Change, J.JournalRow]], list[tuple[J.JournalRow, str]]]:
    """The failed items of a run, and the items skipped because an item they depend on did not go through
    (an import's memberships and enrolments of an account whose creation failed), each as the change to
    plan again with the journal item it retries; and the items left out, each with why.

    References to other items of the run (``{"ref": seq, "field": "id"}``) are rewritten for the new
    plan: to the referred item's place in it when that is retried too, to the value it got when it went
    through (the id of an account created meanwhile). An item whose reference can be neither (what
    it needs was dropped or undone) is left out."""
    by_seq = {r.seq: r for r in rows}
    placed: dict[int, int] = {}  # seq in the run -> seq in the retry
    out: list[tuple[Change, J.JournalRow]] = []
    left_out: list[tuple[J.JournalRow, str]] = []
    for r in sorted(rows, key=lambda r: r.seq):
        if not _to_retry(r):
            continue
        data = dict(r.data or {})
        for key, value in r.change.data.items():
            if not (isinstance(value, Mapping) and "ref" in value):
                continue
            old, field = int(value["ref"]), value.get("field", "id")
            dep = by_seq.get(old)
            if old in placed:
                data[key] = {"ref": placed[old], "field": field}
            elif dep is not None and dep.status == Status.DONE.value and isinstance(dep.result, Mapping) \
                    and field in dep.result:
                data[key] = dep.result[field]
            else:
                left_out.append((r, _why_not_retried(old, field, dep)))
                break
        else:
            out.append((Change(r.kind, data), r))
            placed[r.seq] = len(out)
    return out, left_out


def _to_retry(r: J.JournalRow) -> bool:
    return r.status == Status.FAILED.value or (r.status == Status.SKIPPED.value and r.code == "dependency")


def _why_not_retried(seq: int, field: str, dep: J.JournalRow | None) -> str:
    """Why an item whose reference to item ``seq`` of its run cannot be rewritten is left out of a retry."""
    if dep is None:
        return f"it refers to item {seq} of the run, which the journal does not have"
    needs = f"it needs “{dep.title}”, which"
    if dep.status == Status.UNDONE.value:
        return f"{needs} was undone since"
    if dep.status == Status.SKIPPED.value and dep.code == "drop":
        return f"{needs} was dropped"
    if dep.status == Status.SKIPPED.value and dep.code == "theirs":
        return f"{needs} was left as the site had it"
    if _to_retry(dep):
        return f"{needs} is left out too"
    if dep.status == Status.DONE.value:
        return f"{needs} went through without the {field} it needs recorded"
    if dep.status in (Status.QUEUED.value, Status.SENDING.value, Status.HELD.value):
        return f"{needs} has not gone through yet (it waits in the outbox)"
    return f"{needs} did not go through ({dep.status})"


def cannot_retry_note(left_out: Sequence[tuple[J.JournalRow, str]], shown: int = 3) -> str:
    """``1 failed change is left out of the retry: “Add ann to Staff” (it needs “Create ann”, which was
    undone since). Plan it again once what it needs is on the site, if it is still needed.``"""
    n = len(left_out)
    named = [f"“{r.title}” ({why})" for r, why in left_out[:shown]]
    if n > shown:
        named.append(f"{n - shown:,} more")
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    one = n == 1
    return (f"{n:,} failed change{'' if one else 's'} {'is' if one else 'are'} left out of the retry: {listed}. "
            f"Plan {'it' if one else 'them'} again once what {'it needs' if one else 'they need'} is on the site, "
            f"if {'it is' if one else 'they are'} still needed.")


class NothingToUndo(UserError):
    """The chosen journal items have no inverse to send; the message says which and why."""


class NothingToRetry(UserError):
    """A run has no failed item that can be planned again; the message says why."""


def nothing_to_retry(run_id: int, notes: Sequence[str]) -> NothingToRetry:
    """Why run ``run_id`` offers nothing to retry: its failed items are all left out (``notes`` say why),
    or none failed (an empty preview would say nothing)."""
    why = " ".join(notes) if notes else "none of its changes failed."
    return NothingToRetry(f"Nothing in run {run_id} can be retried: {why}")


def undoable_changes(rows: Sequence[J.JournalRow], what: str) -> tuple[list[Change], tuple[str, ...]]:
    """:func:`undo_changes`, with a note for the plan naming what cannot be undone and why (an undo leaves
    nothing out silently); or NothingToUndo naming it in ``what`` ("run 12") when nothing can be."""
    changes, irreversible = undo_changes(rows)
    if changes:
        return changes, ((cannot_undo_note(irreversible),) if irreversible else ())
    if irreversible:
        raise NothingToUndo(f"Nothing in {what} can be undone: {_no_way_back(irreversible)} Make the opposite "
                            "change by hand if it is needed.")
    raise NothingToUndo(f"Nothing in {what} can be undone: none of its changes went through (only changes with "
                        "the result Done can be undone).")


def cannot_undo_note(irreversible: Sequence[J.JournalRow]) -> str:
    """``1 change cannot be undone from here: “Add the Teacher role to …” (it also reactivated the enrolment;
    one call cannot put back both). Make the opposite change by hand if it is needed.``"""
    n = len(irreversible)
    return (f"{n:,} change{'' if n == 1 else 's'} cannot be undone from here: {_no_way_back(irreversible)} "
            "Make the opposite change by hand if it is needed.")


def _no_way_back(rows: Sequence[J.JournalRow], shown: int = 3) -> str:
    """The items' titles (a few of each reason) with why each has no inverse: ``“A”, “B” and 2 more (why).``"""
    by_reason: dict[str, list[str]] = {}
    for r in rows:
        try:
            why = K.kind(r.kind).no_inverse_reason(r.data or {}, r.before)
        except (ValueError, TypeError, KeyError):  # a kind this version does not know; data it cannot read
            why = "the journal keeps no way back for this kind of change"
        by_reason.setdefault(why, []).append(f"“{r.title}”")
    parts = []
    for why, titles in by_reason.items():
        named = titles[:shown] + ([f"{len(titles) - shown:,} more"] if len(titles) > shown else [])
        listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
        parts.append(f"{listed} ({why})")
    return "; ".join(parts) + "."


def undo_changes(rows: Sequence[J.JournalRow]) -> tuple[list[Change], list[J.JournalRow]]:
    """Inverse changes of done items, newest first; and the items that cannot be undone."""
    changes, irreversible = [], []
    for r in sorted(rows, key=lambda r: (r.run_id, r.seq), reverse=True):
        if r.status != Status.DONE.value:
            continue
        if r.inverse:
            changes.append(Change.from_json(r.inverse))
        else:
            irreversible.append(r)
    return changes, irreversible
