"""The users table: a lazy, windowed model over the cache (a million rows, never all in memory).

The row count comes from a count query and rows from pages (``PAGE_SIZE``) read off the GUI
thread through the TaskRunner; only the pages near what the view shows are kept. A new filter
first reads page 0 and the count as two jobs at once: the rows paint as soon as page 0 is read
(a few ms), the count follows (up to ~0.5 s for a one-letter search on 1M users) and only grows
the scroll range. Starting a query again cancels the previous one and interrupts its SQL.
Filtering and sorting are SQL (services.users_query): the view never sorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal

from lms_console.models.paging import PageCache
from lms_console.models.users_detail_model import cancel_on_destroy, run_job
from lms_console.models.users_export import export_view
from lms_console.services import users_query as Q
from lms_console.services.users_filter_text import describe, names_for
from lms_console.services.users_query import FilterOptions, UserFilter

IconProvider = Callable[[str], object]
ColourProvider = Callable[[str], object]

_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)

# Entities whose change can change what the table shows.
_RELEVANT = frozenset({"users", "cohorts", "cohort_members", "enrolments", "course_progress", "courses", "site"})


@dataclass(frozen=True, slots=True)
class _First:
    rows: list
    description: str


def _records(rows: list, kinds: Sequence[str]) -> list[tuple]:
    """Query rows ``(id, *columns, status)`` -> ``(id, status, raw values, display texts)``, formatted
    on the worker: painting a screenful then costs a tuple lookup per cell."""
    display = Q.display
    return [(r[0], r[-1] or 0, r[1:-1], tuple(display(k, v) for k, v in zip(kinds, r[1:-1]))) for r in rows]


def _read_first(db, spec: UserFilter, columns, sort, desc, size, titles, cancel) -> _First:
    with db.read() as conn, Q.interruptible(conn, cancel):
        Q.tune_reader(conn)
        rows = Q.page(conn, spec, columns, sort, desc, 0, size, titles=titles)
        names = names_for(conn, spec) if spec.conditions else {}
    return _First(_records(rows, [Q.column(k, titles).kind for k in columns[:-1]]), describe(spec, names))


def _read_count(db, spec: UserFilter, cancel) -> int:
    with db.read() as conn, Q.interruptible(conn, cancel):
        Q.tune_reader(conn)
        return Q.count(conn, spec)


def _read_page(db, spec, columns, sort, desc, size, page, titles, cancel) -> list:
    with db.read() as conn, Q.interruptible(conn, cancel):
        Q.tune_reader(conn)
        rows = Q.page(conn, spec, columns, sort, desc, page * size, size, titles=titles)
    return _records(rows, [Q.column(k, titles).kind for k in columns[:-1]])


class UsersTableModel(QAbstractTableModel):
    """Users matching a :class:`UserFilter`, in SQL sort order, with chosen columns.

    It reads only after :meth:`refresh` (the pane was shown), then again when the cache changes
    (``session.cache_changed``; the change engine emits it after every run).

    Signals:
        loaded(): page 0 of a new query arrived (the rows changed).
        counted(int): how many users match (exact).
        described(str): the filter as a sentence ("Suspended users in cohort Sales").
        options_loaded(object): FilterOptions (auth methods, cohorts, courses, custom fields, roles).
        columns_changed(object): tuple of the visible column keys.
        failed(object): a query failed with an expected error (FilterError, CacheError).
    """

    loaded = Signal()
    counted = Signal(int)
    described = Signal(str)
    options_loaded = Signal(object)
    columns_changed = Signal(object)
    failed = Signal(object)

    IdRole = Qt.ItemDataRole.UserRole + 1
    RawRole = Qt.ItemDataRole.UserRole + 2
    SuspendedRole = Qt.ItemDataRole.UserRole + 3
    PAGE_SIZE = 200
    MAX_PAGES = 40  # 8,000 rows kept; the rest are read again when scrolled to

    def __init__(self, session, parent: QObject | None = None, *, icons: IconProvider | None = None,
                 colours: ColourProvider | None = None, page_size: int | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        self._icons, self._colours = icons, colours
        self._icon_cache: dict = {}
        self._tone_cache: dict = {}
        self._size = page_size or self.PAGE_SIZE
        self._spec = UserFilter()
        self._columns: tuple[str, ...] = Q.DEFAULT_COLUMNS
        self._sort: str = "lastname"
        self._desc = False
        self.options = FilterOptions()
        self._total = 0
        self._exact = True
        self._count: int | None = None  # the count of this generation, if it came before page 0
        self._first_seen = -1  # generation whose page 0 is shown
        self._cache = PageCache(self._size, self.MAX_PAGES)
        self._pages = self._cache.pages  # the hot path (data()) reads it directly
        self._generation = 0
        self._active = False
        self._loading = False
        self.description = "All users"
        self._name = f"users-{id(self):x}"
        cancel_on_destroy(self, self.runner, *(f"{self._name}-{n}" for n in (
            "first", "count", "page", "options", "selection", "collect", "export")))
        self._fetch_timer = QTimer(self, singleShot=True, interval=0)
        self._fetch_timer.timeout.connect(self._fetch_wanted)
        self._requery_timer = QTimer(self, singleShot=True, interval=0)
        self._requery_timer.timeout.connect(self.refresh)
        session.cache_changed.connect(self._on_cache_changed)
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)

    # -- state --------------------------------------------------------------------------------------
    @property
    def spec(self) -> UserFilter:
        return self._spec

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def sort_key(self) -> str:
        return self._sort

    @property
    def descending(self) -> bool:
        return self._desc

    def total(self) -> int:
        return self._total

    def is_counting(self) -> bool:
        return not self._exact

    def is_loading(self) -> bool:
        return self._loading

    def is_active(self) -> bool:
        return self._active

    def column_title(self, key: str) -> str:
        return Q.column(key, self.options.column_titles).title

    def available_columns(self) -> list[tuple[str, str]]:
        """(key, title) of every column the chooser offers: user fields, then custom profile fields."""
        out = [(c.key, c.title) for c in Q.BASE_COLUMNS]
        out += [(Q.CUSTOM_PREFIX + s, n or s) for s, n in self.options.custom_fields]
        return out

    # -- changing what is shown -----------------------------------------------------------------------
    def set_filter(self, spec: UserFilter) -> None:
        if spec != self._spec:
            self._spec = spec
            self.refresh()

    def show(self, spec: UserFilter, columns: Sequence[str] | None = None, sort: str | None = None,
             descending: bool = False) -> int | None:
        """Show ``spec`` with these columns and this sort order (one query for all three)."""
        keys = tuple(dict.fromkeys(k for k in (columns or ()) if self._known_column(k))) or Q.DEFAULT_COLUMNS
        if keys != self._columns:
            self.beginResetModel()
            self._columns = keys
            self._cache.reset()
            self._first_seen = -1
            self.endResetModel()
            self.columns_changed.emit(keys)
        self._spec = spec
        self._sort = sort if sort and self._known_column(sort) else "lastname"
        self._desc = bool(descending)
        return self.refresh()

    def set_text(self, text: str) -> None:
        self.set_filter(self._spec.with_text(text))

    def set_columns(self, keys: Sequence[str]) -> None:
        keys = tuple(dict.fromkeys(k for k in keys if self._known_column(k))) or Q.DEFAULT_COLUMNS
        if keys == self._columns:
            return
        self.beginResetModel()
        self._columns = keys
        self._cache.reset()
        self._first_seen = -1
        self.endResetModel()
        self.columns_changed.emit(keys)
        if self._sort not in keys and self._sort != "lastname":
            self._sort, self._desc = "lastname", False
        if self._active:
            self.refresh()

    def set_sort(self, key: str, descending: bool = False) -> None:
        if not self._known_column(key):
            return
        if (key, descending) != (self._sort, self._desc):
            self._sort, self._desc = key, descending
            if self._active:
                self.refresh()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # Qt override
        if 0 <= column < len(self._columns):
            self.set_sort(self._columns[column], order == Qt.SortOrder.DescendingOrder)

    def _known_column(self, key: str) -> bool:
        try:
            Q.column(key)
        except Q.FilterError:
            return False
        return True

    # -- reading ----------------------------------------------------------------------------------------
    def refresh(self) -> int | None:
        """Query again (page 0 and the count, in parallel); returns page 0's job id."""
        self._active = True
        db = self.session.db
        self._generation += 1
        gen = self._generation
        if db is None:
            self._apply_first(gen, _First([], describe(self._spec)))
            self._apply_count(gen, 0)
            return None
        spec, cols, sort, desc, size = self._spec, self._query_columns(), self._sort, self._desc, self._size
        titles = self.options.column_titles
        self._loading = True
        self._count = None
        self.runner.cancel_named(f"{self._name}-page")
        self._cache.forget_requests()
        job = run_job(self.runner, f"{self._name}-first",
                              lambda p, c: _read_first(db, spec, cols, sort, desc, size, titles, c),
                              label="Read users", quiet=True, on_done=lambda r: self._apply_first(gen, r),
                              on_error=lambda e: self._on_error(gen, e))
        run_job(self.runner, f"{self._name}-count", lambda p, c: _read_count(db, spec, c), label="Count users", quiet=True,
                        on_done=lambda n: self._apply_count(gen, n), on_error=lambda e: self._on_error(gen, e))
        return job

    def load_options(self) -> int | None:
        """Read what the filter bar and column chooser offer; emits ``options_loaded``."""
        db = self.session.db
        if db is None:
            return None

        def job(p, c):
            with db.read() as conn:
                return Q.filter_options(conn)

        return run_job(self.runner, f"{self._name}-options", job, label="Read filter choices", quiet=True,
                               on_done=self._apply_options)

    def _apply_options(self, options: FilterOptions) -> None:
        changed = options.column_titles != self.options.column_titles
        self.options = options
        if changed and self._columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._columns) - 1)
        self.options_loaded.emit(options)

    def _query_columns(self) -> list[str]:
        # "status" rides along (last) even when hidden: rows of suspended users are drawn muted.
        return [*self._columns, "status"]

    def _apply_first(self, gen: int, first: _First) -> None:
        if gen != self._generation:
            return
        self._loading = False
        self.beginResetModel()
        self._cache.reset(first.rows)
        self._first_seen = gen
        if self._count is not None:
            self._total, self._exact = self._count, True
        else:
            self._total, self._exact = len(first.rows), len(first.rows) < self._size
        self.endResetModel()
        self.description = first.description
        self.described.emit(first.description)
        self.loaded.emit()
        if self._exact:
            self.counted.emit(self._total)

    def _apply_count(self, gen: int, n: int) -> None:
        if gen != self._generation:
            return
        if self._first_seen != gen:
            self._count = n  # page 0 is still on its way: it sets the row count
            return
        self._exact = True
        if n > self._total:
            self.beginInsertRows(QModelIndex(), self._total, n - 1)
            self._total = n
            self.endInsertRows()
        elif n < self._total:
            self.beginRemoveRows(QModelIndex(), n, self._total - 1)
            self._total = n
            self.endRemoveRows()
        self.counted.emit(n)

    def _on_error(self, gen: int, exc: BaseException) -> None:
        if gen == self._generation:
            self._loading = False
            self.failed.emit(exc)

    def _want(self, row: int) -> None:
        if self._cache.want(row) and not self._fetch_timer.isActive():
            self._fetch_timer.start()

    def _fetch_wanted(self) -> None:
        db = self.session.db
        if db is None or not self._cache.wanted:
            self._cache.wanted.clear()
            return
        # One job for the pages the view asked for since the last turn of the event loop: a fast
        # scroll that asks again cancels the pages it scrolled past (the job of the same name).
        self._cache.pending.clear()
        pages = self._cache.take_wanted(most=6)
        gen, spec, cols, sort, desc, size = (self._generation, self._spec, self._query_columns(), self._sort,
                                             self._desc, self._size)
        titles = self.options.column_titles

        def job(p, c):
            return [(n, _read_page(db, spec, cols, sort, desc, size, n, titles, c)) for n in pages]

        run_job(self.runner, f"{self._name}-page", job, label="Read users", quiet=True,
                        on_done=lambda result: self._apply_pages(gen, result),
                        on_error=lambda e: self._on_error(gen, e))

    def _apply_pages(self, gen: int, result: list) -> None:
        if gen != self._generation:
            return
        self._cache.pending.clear()
        last_col = len(self._columns) - 1
        for page, rows in result:
            first, n = self._cache.store(page, rows)
            last = min(first + n, self._total) - 1
            if last >= first and last_col >= 0:
                self.dataChanged.emit(self.index(first, 0), self.index(last, last_col))

    def row_data(self, row: int) -> tuple | None:
        """``(id, status, raw values, display texts)`` of ``row`` if its page is loaded (else asks for it)."""
        rec = self._cache.get(row)
        if rec is None and 0 <= row < self._total:
            self._want(row)
        return rec

    def user_id(self, row: int) -> int | None:
        data = self.row_data(row)
        return data[0] if data else None

    def loaded_ids(self, rows: Sequence[int]) -> tuple[list[int], list[int]]:
        """(ids of the rows already read, rows not read yet) - for acting on a selection."""
        known, missing = [], []
        get = self._cache.get
        for r in rows:
            rec = get(r)
            if rec is not None:
                known.append(rec[0])
            else:
                missing.append(r)
        return known, missing

    # -- reacting ---------------------------------------------------------------------------------------------
    def _on_cache_changed(self, entities) -> None:
        if self._active and (not entities or set(entities) & _RELEVANT):
            self._requery_timer.start()
        if entities and {"cohorts", "courses", "users"} & set(entities):
            self.load_options()

    def on_changes_applied(self, _summary=None) -> None:
        if self._active:
            self._requery_timer.start()

    def _on_opened(self, _profile) -> None:
        self.load_options()
        if self._active:
            self.refresh()

    def _on_closed(self) -> None:
        self.options = FilterOptions()
        self._generation += 1
        self.beginResetModel()
        self._cache.reset()
        self._total, self._exact = 0, True
        self.endResetModel()
        self.counted.emit(0)

    # -- Qt model API --------------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not (0 <= section < len(self._columns)):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.column_title(self._columns[section])
        if role == Qt.ItemDataRole.ToolTipRole:
            key = self._columns[section]
            extra = " (custom profile field)" if key.startswith(Q.CUSTOM_PREFIX) else ""
            return f"{self.column_title(key)}{extra}: click to sort"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        # Hot path: a repaint asks ~7 roles of every visible cell; keep each answer a lookup.
        r = index.row()
        page = self._pages.get(r // self._size)
        rec = None
        if page is not None:
            offset = r % self._size
            rec = page[offset] if offset < len(page) else None
        c = index.column()
        if rec is None:
            if not (0 <= r < self._total) or not (0 <= c < len(self._columns)):
                return None
            self._want(r)
            return "…" if role == _DISPLAY and c == 0 else None
        if role == _DISPLAY:
            return rec[3][c] if c < len(rec[3]) else None
        if role == _FOREGROUND:
            if rec[1] & 2 and self._colours is not None:
                return self._tone("error" if self._columns[c] == "status" else "text_muted")
            return None
        if role == _DECORATION:
            if c == 0 and self._icons is not None:
                return self._icon("user-suspended" if rec[1] & 2 else "user")
            return None
        if role == _ALIGN:
            return _RIGHT if self._columns[c] == "id" else None
        if role == _TOOLTIP:
            key, status = self._columns[c], rec[1]
            if key in ("lastaccess", "firstaccess") and not rec[2][c]:
                return "Has never signed in"
            if status & 2:
                return "Suspended: cannot sign in"
            if status & 1:
                return "Unconfirmed: has not followed the confirmation email"
            return None
        if role == self.IdRole:
            return rec[0]
        if role == self.RawRole:
            return rec[2][c] if c < len(rec[2]) else None
        if role == self.SuspendedRole:
            return bool(rec[1] & 2)
        return None

    def _icon(self, name: str):
        found = self._icon_cache.get(name)
        if found is None:
            found = self._icon_cache[name] = self._icons(name)
        return found

    def _tone(self, key: str):
        found = self._tone_cache.get(key)
        if found is None:
            found = self._tone_cache[key] = self._colours(key)
        return found

    def clear_style_cache(self) -> None:
        """Forget cached icons and colours (after a theme switch) and repaint."""
        self._icon_cache.clear()
        self._tone_cache.clear()
        if self._total and self._columns:
            self.dataChanged.emit(self.index(0, 0), self.index(self._total - 1, len(self._columns) - 1))

    # -- jobs on what the filter matches -------------------------------------------------------------------------
    def resolve_ranges(self, ranges: Sequence[tuple[int, int]], on_done: Callable[[list[int]], None]
                       ) -> int | None:
        """Ids at the view rows ``ranges`` ((first, last), inclusive), to ``on_done``: rows already read
        come from memory, the others from SQL (a Shift+End over a million rows never lists them)."""
        known: list[int] = []
        if sum(last - first + 1 for first, last in ranges) <= 5_000:
            known, missing = self.loaded_ids([r for first, last in ranges for r in range(first, last + 1)])
            ranges = _ranges(missing)
        db, spec, sort, desc = self.session.db, self._spec, self._sort, self._desc
        if not ranges or db is None:
            on_done(known)
            return None
        ranges = list(ranges)

        def job(p, c):
            with db.read() as conn, Q.interruptible(conn, c):
                return Q.row_ids(conn, spec, sort, desc, ranges)

        # The ids of the profile open now: those read for one closed since are never acted on in the next.
        return run_job(self.runner, f"{self._name}-selection", job, label="Read the selected users", quiet=True,
                       on_done=self.session.for_this_profile(lambda got: on_done(known + got)))

    def collect_ids(self, on_done: Callable[[list[int]], None], make=None) -> int | None:
        """Every id the filter matches (read in chunks off the GUI thread), to ``on_done``;
        ``make(ids)`` runs on the worker too (e.g. building a million Change objects).
        ``on_done`` is called even when the profile was closed meanwhile (the caller ends its "collecting"
        with it): the caller drops the ids themselves then (session.for_this_profile, see users_actions)."""
        db, spec = self.session.db, self._spec
        if db is None:
            return None

        def job(p, c):
            out: list[int] = []
            with db.read() as conn, Q.interruptible(conn, c):
                for chunk in Q.ids(conn, spec):
                    c.raise_if_cancelled()
                    out += chunk
            return make(out) if make is not None else out

        return run_job(self.runner, f"{self._name}-collect", job, label="Read the users the filter matches",
                               on_done=on_done)

    def export(self, path: str | Path, on_done: Callable[[object], None]) -> int | None:
        """Write the current view (filter, sort, columns) to ``path`` off the GUI thread; ``on_done``
        gets an ExportResult. Progress goes through the job (jobs panel, ``runner.job_changed``)."""
        db = self.session.db
        if db is None:
            return None
        spec, cols, sort, desc, titles = self._spec, self._columns, self._sort, self._desc, self.options.column_titles

        def job(p, c):
            with db.read() as conn:
                return export_view(conn, spec, cols, sort, desc, path, titles=titles, progress=p, cancel=c)

        return run_job(self.runner, f"{self._name}-export", job, label=f"Export users to {Path(path).name}",
                               on_done=on_done, on_error=self.failed.emit)


def _ranges(rows: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for r in sorted(set(rows)):
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out
