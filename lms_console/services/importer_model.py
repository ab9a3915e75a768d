"""Plain data of the import dry run: options, a row's class and problems, the whole result.

Rows are named tuples (immutable, cheap to make by the 100,000, safe to hand across threads).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple, overload

from lms_console.services.changes.model import Change
from lms_console.services.importer_read import SourceInfo

MODES = ("create_update", "create_only", "update_only")


class RowClass(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def failed(self) -> bool:
        return self in (RowClass.CONFLICT, RowClass.ERROR)


CLASS_ORDER = tuple(RowClass)
CLASS_WORDS = {  # (one, many) as the counts read
    RowClass.CREATE: ("to create", "to create"),
    RowClass.UPDATE: ("to update", "to update"),
    RowClass.UNCHANGED: ("unchanged", "unchanged"),
    RowClass.CONFLICT: ("conflict", "conflicts"),
    RowClass.ERROR: ("error", "errors"),
    RowClass.SKIPPED: ("skipped", "skipped"),
}


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How rows become changes.

    ``mode``: ``create_update`` (default), ``create_only`` (existing accounts are skipped) or
    ``update_only`` (rows for accounts not in the cache are skipped).
    ``create_passwords``: new manual accounts without a password get one from Moodle, by email.
    ``allow_shared_email``: the site lets several accounts share an address.
    ``ignored``: the columns (by index) the admin set to "(not imported)" on purpose: they are not
    warned about as unknown (see ``check_mapping``).
    """

    mode: str = "create_update"
    create_passwords: bool = False
    allow_shared_email: bool = False
    ignored: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")


class RowIssue(NamedTuple):
    """Why a row is not imported as it stands: where (row, column), what (value) and why."""

    row: int
    field: str  # the column's header as in the file ("" = the whole row)
    value: str
    reason: str
    kind: str = "error"  # error | conflict | skipped

    def text(self) -> str:
        """``“E-mail” = 'bob@': is not a valid email address`` (without the row number)."""
        if not self.field:
            return self.reason
        if not self.value:
            return f"“{self.field}” is empty: {self.reason}"
        value = self.value if len(self.value) <= 60 else self.value[:57] + "…"
        return f"“{self.field}” = {value!r}: {self.reason}"

    def __str__(self) -> str:
        return f"Row {self.row}: {self.text()}"


class RowResult(NamedTuple):
    """One data row after the dry run. ``diff``: (field, before, after) as text ("" = none)."""

    row: int
    klass: RowClass
    username: str = ""
    userid: int | None = None
    diff: tuple[tuple[str, str, str], ...] = ()
    issues: tuple[RowIssue, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(i.text() for i in self.issues)


Details = tuple[tuple[tuple[str, str, str], ...], tuple[RowIssue, ...], tuple[str, ...]]


class RowResults(Sequence[RowResult]):
    """The dry run's rows, kept column by column (a 500,000-row file makes 500,000 small lists
    entries, not 500,000 objects); each :class:`RowResult` is made when it is read.

    ``details[i]`` holds (diff, issues, notes) of the rows that have any, or a function that
    makes them on demand (the diff of a new account)."""

    __slots__ = ("rownos", "classes", "usernames", "userids", "details")

    def __init__(self) -> None:
        self.rownos: list[int] = []
        self.classes: list[RowClass] = []
        self.usernames: list[str] = []
        self.userids: list[int | None] = []
        self.details: dict[int, Details | Callable[[], Details]] = {}

    def __len__(self) -> int:
        return len(self.rownos)

    @overload
    def __getitem__(self, i: int) -> RowResult: ...

    @overload
    def __getitem__(self, i: slice) -> list[RowResult]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        d = self.details.get(i)
        if d is None:
            return RowResult(self.rownos[i], self.classes[i], self.usernames[i], self.userids[i])
        if callable(d):
            d = d()
        return RowResult(self.rownos[i], self.classes[i], self.usernames[i], self.userids[i], *d)

    def __iter__(self) -> Iterator[RowResult]:
        return (self[i] for i in range(len(self)))

    def append(self, rowno: int, klass: RowClass, username: str = "", userid: int | None = None,
               details: Details | Callable[[], Details] | None = None) -> int:
        i = len(self.rownos)
        self.rownos.append(rowno)
        self.classes.append(klass)
        self.usernames.append(username)
        self.userids.append(userid)
        if details is not None:
            self.details[i] = details
        return i

    def set(self, i: int, klass: RowClass, details: Details) -> None:
        self.classes[i] = klass
        self.details[i] = details

    def indices(self, classes: Iterable[RowClass | str]) -> list[int]:
        """Positions of the rows of these classes, in file order."""
        wanted = {RowClass(c) for c in classes}
        if wanted >= set(RowClass):
            return list(range(len(self)))
        return [i for i, k in enumerate(self.classes) if k in wanted]

    def counts(self) -> dict[str, int]:
        found = Counter(self.classes)
        return {k.value: found.get(k, 0) for k in CLASS_ORDER}


@dataclass(frozen=True)
class DryRun:
    """The classified rows and the changes that would import them (nothing for failed rows)."""

    source: SourceInfo
    headers: tuple[str, ...]
    targets: tuple[str, ...]
    options: ImportOptions
    rows: Sequence[RowResult]  # a RowResults
    changes: tuple[Change, ...]
    warnings: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[RowResult, ...]:
        rows = self.rows
        if isinstance(rows, RowResults):
            return tuple(rows[i] for i in rows.indices((RowClass.CONFLICT, RowClass.ERROR)))
        return tuple(r for r in rows if r.klass.failed)

    @property
    def title(self) -> str:
        return f"Import {self.source.name}"

    def count(self, klass: RowClass | str) -> int:
        return self.counts.get(RowClass(klass).value, 0)

    def summary(self) -> str:
        """``120 to create, 30 to update, 800 unchanged, 2 conflicts, 5 errors, 1 skipped``."""
        parts = []
        for k in CLASS_ORDER:
            n = self.count(k)
            if n:
                one, many = CLASS_WORDS[k]
                parts.append(f"{n:,} {one if n == 1 else many}")
        return ", ".join(parts) or "no rows"


__all__ = ["CLASS_ORDER", "CLASS_WORDS", "MODES", "DryRun", "ImportOptions", "RowClass", "RowIssue", "RowResult",
           "RowResults"]
