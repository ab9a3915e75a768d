"""Table models of a change plan (the preview) and of a run's per-item results, and the
plain-words formatting of values, diffs, problems and results that the preview, the results
and the journal share.

Models never import views, so icons and colours come in as callables from the view
(``icons(name) -> QIcon``, ``colours(key) -> QColor``); without them the model shows text only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from lms_console.models.row_table import RowTableModel
from lms_console.services.changes import journal as J
from lms_console.services.changes.model import Outcome, PlanItem, Problem, RunSummary, Status
from lms_console.services.changes.words import (  # noqa: F401  (the views and the journal take them from here)
    DATE_FIELDS,
    diff_pairs,
    diff_text,
    format_date,
    format_value,
    item_diff_text,
)

IconProvider = Callable[[str], Any]
ColourProvider = Callable[[str], Any]

COLUMNS = ("#", "Change", "Outcome", "Before → after", "Problem", "What to do")
COL_SEQ, COL_TITLE, COL_OUTCOME, COL_DIFF, COL_PROBLEM, COL_FIX = range(len(COLUMNS))

OUTCOME_TEXT = {
    Outcome.APPLY: "Will apply",
    Outcome.NOOP: "Already so (dropped)",
    Outcome.CONFLICT: "Conflict",
    Outcome.ERROR: "Error",
}
OUTCOME_ICON = {Outcome.APPLY: "check", Outcome.NOOP: "remove", Outcome.CONFLICT: "warning", Outcome.ERROR: "error"}
# Palette keys for the outcome text (None: the normal text colour).
OUTCOME_TONE = {Outcome.APPLY: None, Outcome.NOOP: "text_muted", Outcome.CONFLICT: "warning", Outcome.ERROR: "error"}

_MAX_TEXT = 300  # a cell shows at most this much; the tooltip and the details show everything


# -- plain words ---------------------------------------------------------------------------------

def problem_text(problem: Problem) -> str:
    """``email “not-an-email” is not a valid email address`` (the field and value in plain words)."""
    if not problem.field:
        return problem.message
    if problem.value in (None, "", [], ()):
        return f"{problem.field} {problem.message}"
    return f"{problem.field} “{format_value(problem.value, problem.field)}” {problem.message}"


def clip(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count_phrase(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# What to do instead of a change that cannot be undone: (kinds, for one item, for several).
_UNDOABLE_INSTEAD = (
    (("enrol.remove",), "Suspending the enrolment instead keeps the course data and can be undone.",
     "Suspending the enrolments instead keeps the course data and can be undone."),
    (("user.delete",), "Suspending the account instead keeps its history and can be undone.",
     "Suspending the accounts instead keeps their history and can be undone."),
    (("course.delete", "section.delete", "module.delete"), "Hiding instead of deleting can be undone.",
     "Hiding instead of deleting can be undone."),
)


def irreversible_wording(kinds: Sequence[str]) -> tuple[str, str, str]:
    """(what, why, instead) for the "cannot be undone" notice of items of these kinds (one kind per
    item): ``("2 unenrolments", "…", "Suspending the enrolments instead … can be undone.")``.
    ``instead`` names an undoable alternative only where there is one ("" otherwise)."""
    n, kinds_set = len(kinds), set(kinds)
    if kinds_set and all(k.endswith("delete") for k in kinds_set):
        what, why = count_phrase(n, "deletion"), "Deleted items are gone from the site for good"
    elif kinds_set == {"enrol.remove"}:
        what, why = count_phrase(n, "unenrolment"), "Moodle drops the course data of the users it unenrols"
    else:
        what, why = count_phrase(n, "change"), "The console cannot reverse them"
    instead = []
    for group, one, many in _UNDOABLE_INSTEAD:
        count = sum(1 for k in kinds if k in group)
        if count:
            instead.append(one if count == 1 else many)
    return what, why, " ".join(instead)


def names_phrase(what: str, names: Sequence[str], shown: int = 3) -> str:
    """``Cohort “A”``, ``Cohorts “A” and “B”``, ``Cohorts “A”, “B”, “C” and 2 more``."""
    quoted = [f"“{n}”" for n in names[:shown]]
    if len(names) > shown:
        quoted.append(f"{len(names) - shown} more")
    text = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
    return f"{what}{'s' if len(names) > 1 else ''} {text}"


# -- the model ---------------------------------------------------------------------------------------

class PlanTableModel(RowTableModel):
    """The items of a Plan, one row each, filtered by outcome.

    Signals: none of its own beyond QAbstractItemModel's.
    ``ItemRole`` gives the PlanItem, ``OutcomeRole`` its outcome value ("apply", ...).
    """

    COLUMNS = COLUMNS

    ItemRole = Qt.ItemDataRole.UserRole + 1
    OutcomeRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, plan=None, parent: QObject | None = None, *, icons: IconProvider | None = None,
                 colours: ColourProvider | None = None) -> None:
        super().__init__(parent)
        self._icons = icons
        self._colours = colours
        self._all: tuple[PlanItem, ...] = ()
        self._visible: set[Outcome] = set(Outcome)
        if plan is not None:
            self.set_plan(plan)

    # -- public API ----------------------------------------------------------------------
    def set_plan(self, plan) -> None:
        self.beginResetModel()
        self._all = tuple(plan.items) if plan is not None else ()
        self._rows = self._filtered()
        self.endResetModel()

    def set_visible_outcomes(self, outcomes: Iterable[Outcome | str]) -> None:
        """Show only items whose outcome is one of ``outcomes``."""
        visible = {Outcome(o) for o in outcomes}
        if visible == self._visible:
            return
        self.beginResetModel()
        self._visible = visible
        self._rows = self._filtered()
        self.endResetModel()

    def visible_outcomes(self) -> set[Outcome]:
        return set(self._visible)

    def item_at(self, row: int) -> PlanItem | None:
        return self.row_at(row)

    def _filtered(self) -> list[PlanItem]:
        return [i for i in self._all if i.outcome in self._visible]

    def cell(self, item: PlanItem, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, col)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_OUTCOME and self._icons is not None:
            return self._icons(OUTCOME_ICON[item.outcome])
        if role == Qt.ItemDataRole.ForegroundRole and self._colours is not None:
            tone = OUTCOME_TONE[item.outcome] if col in (COL_OUTCOME, COL_PROBLEM) else None
            if item.outcome == Outcome.NOOP and col != COL_SEQ:
                tone = "text_muted"
            return self._colours(tone) if tone else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_SEQ:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.ItemRole:
            return item
        if role == self.OutcomeRole:
            return item.outcome.value
        return None

    def _display(self, item: PlanItem, col: int) -> str:
        if col == COL_SEQ:
            return str(item.seq)
        if col == COL_TITLE:
            return item.title
        if col == COL_OUTCOME:
            return OUTCOME_TEXT[item.outcome]
        if col == COL_DIFF:
            return clip(item_diff_text(item))
        if col == COL_PROBLEM:
            return clip("; ".join(problem_text(p) for p in item.problems))
        if col == COL_FIX:
            return clip(" ".join(p.fix for p in item.problems if p.fix))
        return ""

    def _tooltip(self, item: PlanItem, col: int) -> str | None:
        if col == COL_DIFF:
            return item_diff_text(item, sep="\n") or None
        if col in (COL_PROBLEM, COL_FIX) and item.problems:
            return "\n".join(problem_text(p) + (f"\nWhat to do: {p.fix}" if p.fix else "") for p in item.problems)
        if col == COL_TITLE:
            return f"{item.title}\n{item.change.kind} on {item.target}" if item.target else item.title
        if col == COL_OUTCOME:
            return outcome_explanation(item)
        return None


def outcome_explanation(item: PlanItem) -> str:
    if item.outcome == Outcome.APPLY:
        return "Will be sent to the site." + ("" if item.reversible else " Cannot be undone.")
    if item.outcome == Outcome.NOOP:
        return "Already so on the site (per the local copy): dropped from the run, nothing is sent."
    if item.outcome == Outcome.CONFLICT:
        return "Needs your decision before it can go (see the problem); not sent as planned."
    return "Invalid: it will not be sent. Fix the problem and plan it again."


# -- results of a run ------------------------------------------------------------------------

STATUS_TEXT = {"queued": "Queued", "sending": "Sending", "done": "Done", "failed": "Failed", "skipped": "Skipped",
               "held": "Held", "undone": "Undone", "waiting": "Waiting to be sent"}
STATUS_ICON = {"queued": "clock", "sending": "upload", "done": "success", "failed": "error", "skipped": "remove",
               "held": "warning", "undone": "refresh", "waiting": "clock"}
STATUS_TONE = {"failed": "error", "held": "warning", "skipped": "text_muted", "undone": "text_muted"}

# What the engine's own codes mean, and a hint for the LMS's most common refusals.
CODE_HINTS = {
    "invalidparameter": "Moodle refused a value of this item without saying which: check that the target still "
                        "exists and that names, emails and ids are valid and not taken.",
    "nopermissions": "The console's account lacks the capability on the site for this change.",
    "dependency": "An item this one needs did not go through, so it was not sent.",
    "cancelled": "The run was cancelled before this item was sent.",
    "noop": "Already so on the site: nothing was sent.",
    "invalid": "The plan found a problem: it was never sent.",
    "conflict": "Needs your decision: it was not sent.",
    "unknown": "The answer was lost: check on the site, then keep or drop it in the Outbox.",
    "notapplied": "Not on the site after several tries: keep yours in the Outbox to send it again, or drop it.",
    "keep": "You chose to send yours.",
    "theirs": "You kept the site's value.",
    "drop": "You dropped it.",
}


def status_text(status: str | Status) -> str:
    value = status.value if isinstance(status, Status) else str(status)
    return STATUS_TEXT.get(value, value.capitalize())


def shown_status(status: str | Status, *, going_out: bool = False) -> str:
    """The key of ``status`` as the admin reads it (for STATUS_TEXT, STATUS_ICON, STATUS_TONE): an item
    queued, or marked sending (sent, its answer lost), in a run that is not going out right now waits in
    the outbox ("waiting": nothing is being sent); only a run going out (``going_out``) is queued or sending."""
    value = status.value if isinstance(status, Status) else str(status)
    if not going_out and value in (Status.QUEUED.value, Status.SENDING.value):
        return "waiting"
    return value


def waiting_reason(status: str | Status) -> str:
    """Why an item of the outbox waits, and what happens next ("" for other statuses)."""
    value = status.value if isinstance(status, Status) else str(status)
    if value == Status.QUEUED.value:
        return "waits for the site to answer; goes out in order"
    if value == Status.SENDING.value:
        return "sent, answer not recorded: checked on the site before any resend"
    return ""


def plain_message(code: str, message: str) -> str:
    """The LMS's message, with what it means in plain words when the code is a known one."""
    hint = CODE_HINTS.get(code or "", "")
    if message and hint and hint.lower() not in message.lower():
        return f"{message} — {hint}"
    return message or hint


TITLE_PENDING = "Reading…"  # a result's title until the journal gives it


class RunResultsModel(RowTableModel):
    """The per-item results of one run (a RunSummary), filtered by status. The items' titles are the
    planned ones when the run's ``plan`` is given; else they are read from the journal in the background
    (until then ``TITLE_PENDING`` stands in, never the raw kind and target).

    Signals:
        titles_loaded(): the items' titles were read from the journal.
    """

    titles_loaded = Signal()

    COLUMNS = ("#", "Change", "Result", "Code", "Message")
    COL_SEQ, COL_TITLE, COL_STATUS, COL_CODE, COL_MESSAGE = range(5)
    ResultRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, summary: RunSummary, parent: QObject | None = None, *, icons: IconProvider | None = None,
                 colours: ColourProvider | None = None, plan=None) -> None:
        super().__init__(parent)
        self.summary = summary
        self._icons, self._colours = icons, colours
        self._planned = {i.seq: i.title for i in plan.items} if plan is not None else {}  # seq -> title
        self._titles: dict[int, str] | None = None  # item id -> title from the journal; None: not read yet
        self._visible: set[str] = {s.value for s in Status}
        self._rows = list(summary.results)

    def load_titles(self, session) -> int | None:
        """Read the titles the plan did not give from the journal, in the background: the job's id, or
        None when there is nothing to read (every title planned, or no journal open)."""
        db, run_id = session.db, self.summary.run_id
        if db is None or all(r.seq in self._planned for r in self.summary.results):
            self._titles = {}
            return None

        def job(p, c):
            with db.read() as conn:
                return {r.id: r.title for r in J.run_rows(conn, run_id)}

        return session.runner.run(f"run-titles-{id(self):x}", job, label="Read the run's results",
                                  on_done=self.set_titles)

    def set_titles(self, titles: dict[int, str]) -> None:
        self._titles = dict(titles)
        if self._rows:
            self.dataChanged.emit(self.index(0, self.COL_TITLE), self.index(len(self._rows) - 1, self.COL_TITLE))
        self.titles_loaded.emit()

    def set_visible_statuses(self, statuses) -> None:
        visible = {s.value if isinstance(s, Status) else str(s) for s in statuses}
        if visible != self._visible:
            self._visible = visible
            self.replace_rows(r for r in self.summary.results if r.status.value in visible)

    def result_at(self, row: int):
        return self.row_at(row)

    def cell(self, r, col: int, role: int):
        # A run's results come after it stopped: what did not go out waits in the outbox, none is being sent.
        status = shown_status(r.status)
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(r.seq), self._title(r), status_text(status), r.code, clip(self._message(r), 300))[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_TITLE:
            return self._title(r)  # the whole title, however narrow the column
        if role == Qt.ItemDataRole.ToolTipRole and col in (self.COL_MESSAGE, self.COL_STATUS):
            return self._message(r) or None
        if role == Qt.ItemDataRole.DecorationRole and col == self.COL_STATUS and self._icons is not None:
            return self._icons(STATUS_ICON.get(status, "info"))
        if role == Qt.ItemDataRole.ForegroundRole and col in (self.COL_STATUS, self.COL_MESSAGE, self.COL_CODE) \
                and self._colours is not None:
            tone = STATUS_TONE.get(status)
            return self._colours(tone) if tone else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_SEQ:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.ResultRole:
            return r
        return None

    def _title(self, r) -> str:
        title = self._planned.get(r.seq) or (self._titles or {}).get(r.item_id)
        if title:
            return title
        return TITLE_PENDING if self._titles is None else f"{r.kind} {r.target}"  # a journal without its title

    @staticmethod
    def _message(r) -> str:
        return plain_message(r.code, r.message) or waiting_reason(r.status)
