"""A course's enrolments as a lazy, windowed table (role, method, status, dates, last course
access), and the reads the enrolment matrix needs (courses and roles to choose from).

Like the users table: the row count comes from a count query, rows come in pages read off the
GUI thread, only pages near the view are kept, and search, status/role filters and sorting are
SQL. The search text is the users search (FTS over names, username, email, ID number).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal

from lms_console.models.paging import PageCache
from lms_console.services import saved_filters as SF
from lms_console.services import users_query as Q
from lms_console.services.changes.model import Change
from lms_console.services.users_query import UserFilter

ColourProvider = Callable[[str], object]

# key, title, ORDER BY expression
COLUMNS = (
    ("fullname", "User", "u.lastname {d}, u.firstname {d}"),
    ("username", "Username", "u.username {d}"),
    ("email", "Email address", "u.email {d}"),
    ("roles", "Roles", "e.roleids {d}"),
    ("method", "Method", "e.method {d}"),
    ("status", "Status", "status {d}"),
    ("timestart", "Starts", "coalesce(e.timestart, 0) {d}"),
    ("timeend", "Ends", "coalesce(nullif(e.timeend, 0), 9999999999) {d}"),
    ("lastcourseaccess", "Last access to course", "coalesce(e.lastcourseaccess, 0) {d}"),
)
KEYS = tuple(c[0] for c in COLUMNS)
STATUS_TEXT = {0: "Active", 1: "Not started yet", 2: "Suspended", 3: "Ended"}
STATUS_FILTERS = (("", "Any status"), ("active", "Active"), ("suspended", "Suspended"), ("future", "Not started yet"),
                  ("ended", "Ended"))
_STATUS_CODE = {"active": 0, "future": 1, "suspended": 2, "ended": 3}
_STATUS_SQL = ("CASE WHEN e.suspended = 1 THEN 2 WHEN coalesce(e.timestart, 0) > ?1 THEN 1 "
               "WHEN coalesce(e.timeend, 0) > 0 AND e.timeend < ?1 THEN 3 ELSE 0 END")
METHODS = {"manual": "Manual", "self": "Self enrolment", "cohort": "Cohort sync", "guest": "Guest", "meta": "Course meta link",
           "database": "External database", "ldap": "LDAP", "flatfile": "Flat file"}
_RELEVANT = frozenset({"enrolments", "users", "courses"})


@dataclass(frozen=True, slots=True)
class EnrolmentQuery:
    courseid: int
    text: str = ""
    status: str = ""  # "" | active | suspended | future | ended
    roleid: int | None = None
    sort: str = "fullname"
    descending: bool = False


def _where(q: EnrolmentQuery, now: int) -> tuple[str, list]:
    where, params = Q.where_sql(UserFilter(text=q.text), now)
    clauses = [where[len("WHERE "):]] if where else []
    args = list(params)
    clauses.append("e.courseid = ?")
    args.append(q.courseid)
    if q.status in _STATUS_CODE:
        clauses.append(f"({_STATUS_SQL.replace('?1', str(int(now)))}) = ?")
        args.append(_STATUS_CODE[q.status])
    if q.roleid is not None:
        clauses.append("EXISTS (SELECT 1 FROM enrolment_roles r WHERE r.courseid = e.courseid AND r.userid = e.userid "
                       "AND r.roleid = ?)")
        args.append(int(q.roleid))
    return "WHERE " + " AND ".join(f"({c})" for c in clauses), args


def _order(q: EnrolmentQuery) -> str:
    d = "DESC" if q.descending else "ASC"
    expr = dict((c[0], c[2]) for c in COLUMNS).get(q.sort, COLUMNS[0][2])
    return f"{expr.format(d=d)}, u.id {d}"


def count_enrolments(conn, q: EnrolmentQuery, now: int | None = None) -> int:
    now = int(time.time() if now is None else now)
    where, args = _where(q, now)
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM enrolments e JOIN users u ON u.id = e.userid {where}",
                                    tuple(args)).scalar() or 0)


def role_names(conn) -> dict[int, str]:
    return {r[0]: Q.role_name(r[1], r[2]) for r in conn.exec_driver_sql("SELECT id, shortname, name FROM roles")}


def read_page(conn, q: EnrolmentQuery, offset: int, limit: int, now: int | None = None,
              roles: dict[int, str] | None = None) -> list[tuple]:
    """Rows ``(userid, texts per column, status code, account suspended, roleids, raw times)``."""
    now = int(time.time() if now is None else now)
    where, args = _where(q, now)
    roles = role_names(conn) if roles is None else roles
    sql = (f"SELECT u.id, u.firstname, u.lastname, u.username, u.email, e.roleids, e.method, "
           f"{_STATUS_SQL.replace('?1', str(now))} AS status, e.timestart, e.timeend, e.lastcourseaccess, u.suspended "
           f"FROM enrolments e JOIN users u ON u.id = e.userid {where} ORDER BY {_order(q)} LIMIT ? OFFSET ?")
    out = []
    for (uid, first, last, username, email, roleids, method, status, start, end, access,
         suspended) in conn.exec_driver_sql(sql, (*args, limit, offset)):
        try:
            rids = tuple(int(r) for r in json.loads(roleids or "[]"))
        except (ValueError, TypeError):
            rids = ()
        texts = (f"{first} {last}".strip(), username, email, ", ".join(roles.get(r, f"role {r}") for r in rids),
                 METHODS.get(method or "", method or ""), STATUS_TEXT.get(status, ""), _day(start), _day(end),
                 Q.display("time", access) if access is not None else "")
        out.append((uid, texts, status, bool(suspended), rids, (start, end, access)))
    return out


def enrolment_ids(conn, q: EnrolmentQuery, ranges: Sequence[tuple[int, int]] | None = None,
                  now: int | None = None) -> list[int]:
    """User ids at these row ranges (first, last inclusive) in the query's order; all when None."""
    now = int(time.time() if now is None else now)
    where, args = _where(q, now)
    base = f"SELECT u.id FROM enrolments e JOIN users u ON u.id = e.userid {where} ORDER BY {_order(q)}"
    if ranges is None:
        return [r[0] for r in conn.exec_driver_sql(base, tuple(args))]
    out: list[int] = []
    for first, last in ranges:
        out += [r[0] for r in conn.exec_driver_sql(base + " LIMIT ? OFFSET ?", (*args, last - first + 1, first))]
    return out


def _day(stamp) -> str:
    if not stamp:
        return ""
    return time.strftime("%Y-%m-%d", time.localtime(stamp))


def bulk_changes(conn, courseid: int, userids: Sequence[int], action: str, *, timeend: int = 0) -> list[Change]:
    """Changes for ``action`` on these users' enrolments in ``courseid``: suspend, reactivate,
    unenrol, or end (set the end date to ``timeend``, keeping role and status)."""
    ids = list(dict.fromkeys(int(u) for u in userids))
    if action == "suspend":
        return [Change("enrol.suspend", {"userid": u, "courseid": courseid}) for u in ids]
    if action == "reactivate":
        return [Change("enrol.unsuspend", {"userid": u, "courseid": courseid}) for u in ids]
    if action == "unenrol":
        return [Change("enrol.remove", {"userid": u, "courseid": courseid}) for u in ids]
    if action != "end":
        raise ValueError(f"unknown enrolment action {action!r}")
    if not timeend:
        raise ValueError("Choose the date the enrolments end.")
    found: dict[int, tuple[list[int], int, int]] = {}
    for i in range(0, len(ids), 20_000):
        for uid, roleids, suspended, start in conn.exec_driver_sql(
                "SELECT userid, roleids, suspended, coalesce(timestart, 0) FROM enrolments WHERE courseid = ? "
                "AND userid IN (SELECT value FROM json_each(?))", (courseid, json.dumps(ids[i:i + 20_000]))):
            found[uid] = (json.loads(roleids or "[]"), int(suspended), int(start))
    out = []
    for u in ids:
        roles, suspended, start = found.get(u, ([5], 0, 0))
        data = {"userid": u, "courseid": courseid, "roleid": int(roles[0]) if roles else 5, "timeend": int(timeend),
                "suspend": suspended}  # Moodle reactivates an enrolment re-enrolled without its status
        if start:
            data["timestart"] = start
        out.append(Change("enrol.add", data))
    return out


def bulk_title(action: str, count: int, course: str, *, timeend: int = 0) -> str:
    """The preview's title of :func:`bulk_changes`, e.g. "End the enrolments of 3 users in ME101 on
    2026-12-31" (the end date is the day, in local time)."""
    users = f"{count:,} user{'s' if count != 1 else ''}"
    if action == "end":
        return f"End the enrolment{'s' if count != 1 else ''} of {users} in {course} on {_day(timeend)}"
    verb = {"suspend": "Suspend", "reactivate": "Reactivate", "unenrol": "Remove"}[action]
    return f"{verb} {count:,} enrolment{'s' if count != 1 else ''} in {course}"


def read_course_choices(db, text: str = "", limit: int = 5_000) -> list[tuple[int, str, str, str, int]]:
    """(id, shortname, fullname, category, enrolled) of courses matching ``text``, by short name."""
    like = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT k.id, k.shortname, k.fullname, coalesce(c.name, ''), "
            "(SELECT count(*) FROM enrolments e WHERE e.courseid = k.id) FROM courses k "
            "LEFT JOIN categories c ON c.id = k.categoryid WHERE k.format <> 'site' AND (k.shortname LIKE ?1 "
            "ESCAPE '\\' OR k.fullname LIKE ?1 ESCAPE '\\') ORDER BY k.shortname LIMIT ?2", (like, limit))]


def read_saved_filters(db) -> list[tuple[int, str, UserFilter]]:
    """(id, name, filter) of the users pane's saved filters that can be read (a source of users)."""
    with db.read() as conn:
        return [(f.id, f.name, f.spec) for f in SF.saved_filters(conn) if not f.problem]


# Roles an admin enrols with, in Moodle's order; others follow by sort order.
_COMMON_ROLES = ("student", "teacher", "editingteacher", "manager")


_STANDARD_ROLES = ((5, "student"), (4, "teacher"), (3, "editingteacher"), (1, "manager"))


def read_roles(db) -> list[tuple[int, str]]:
    """(id, name) of the roles to enrol with: student first, then the other course roles. The
    cache knows the roles it saw in enrolments; Moodle's standard course roles (fixed ids on a
    standard site) are offered too."""
    with db.read() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql("SELECT id, shortname, name FROM roles ORDER BY sortorder, id")]
    known = {r[0] for r in rows} | {r[1] for r in rows}
    rows += [(rid, short, "") for rid, short in _STANDARD_ROLES if rid not in known and short not in known]
    rank = {s: i for i, s in enumerate(_COMMON_ROLES)}
    rows = [r for r in rows if r[1] not in ("guest", "user", "frontpage")]
    rows.sort(key=lambda r: (rank.get(r[1], len(rank)), r[0]))
    return [(r[0], Q.role_name(r[1], r[2])) for r in rows]


class EnrolmentsTableModel(QAbstractTableModel):
    """The enrolments of one course, filtered and sorted in SQL, read a page at a time.

    Signals:
        loaded(): the first page of a new query arrived.
        counted(int): how many enrolments match.
        failed(object): a query failed with an expected error.
    """

    loaded = Signal()
    counted = Signal(int)
    failed = Signal(object)

    UserIdRole = Qt.ItemDataRole.UserRole + 1
    StatusRole = Qt.ItemDataRole.UserRole + 2
    PAGE_SIZE = 200
    MAX_PAGES = 30

    def __init__(self, session, parent: QObject | None = None, *, colours: ColourProvider | None = None,
                 page_size: int | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        self._colours = colours
        self._size = page_size or self.PAGE_SIZE
        self._query: EnrolmentQuery | None = None
        self._cache = PageCache(self._size, self.MAX_PAGES)
        self._total = 0
        self._generation = 0
        self._roles: dict[int, str] = {}
        self._name = f"enrolments-{id(self):x}"
        self._fetch = QTimer(self, singleShot=True, interval=0)
        self._fetch.timeout.connect(self._fetch_wanted)
        self._requery = QTimer(self, singleShot=True, interval=50)
        self._requery.timeout.connect(self.refresh)
        session.cache_changed.connect(self._on_cache_changed)
        session.closed.connect(self._on_closed)

    # -- what is shown ------------------------------------------------------------------------------
    @property
    def query(self) -> EnrolmentQuery | None:
        return self._query

    def total(self) -> int:
        return self._total

    def show(self, query: EnrolmentQuery | None) -> int | None:
        self._query = query
        return self.refresh()

    def update_query(self, **changes) -> int | None:
        if self._query is None:
            return None
        from dataclasses import replace

        new = replace(self._query, **changes)
        return None if new == self._query else self.show(new)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # Qt override
        if 0 <= column < len(COLUMNS):
            self.update_query(sort=KEYS[column], descending=order == Qt.SortOrder.DescendingOrder)

    def _on_closed(self) -> None:
        self.show(None)

    def on_changes_applied(self, _summary=None) -> None:
        if self._query is not None:
            self._requery.start()

    def _on_cache_changed(self, entities) -> None:
        if self._query is not None and (not entities or set(entities) & _RELEVANT):
            self._requery.start()

    # -- reading ------------------------------------------------------------------------------------------
    def refresh(self) -> int | None:
        self._generation += 1
        gen, q, db, size = self._generation, self._query, self.session.db, self._size
        self.runner.cancel_named(f"{self._name}-page")
        self._cache.forget_requests()
        if q is None or db is None:
            self._apply_first(gen, (0, [], {}))
            return None

        def job(p, c):
            with db.read() as conn, Q.interruptible(conn, c):
                roles = role_names(conn)
                return count_enrolments(conn, q), read_page(conn, q, 0, size, roles=roles), roles

        return self.runner.run(f"{self._name}-first", job, label="Read enrolments",
                               on_done=lambda r: self._apply_first(gen, r), on_error=self.failed.emit)

    def _apply_first(self, gen: int, result) -> None:
        if gen != self._generation:
            return
        total, rows, roles = result
        self.beginResetModel()
        self._roles = roles
        self._cache.reset(rows)
        self._total = total
        self.endResetModel()
        self.loaded.emit()
        self.counted.emit(total)

    def _fetch_wanted(self) -> None:
        q, db = self._query, self.session.db
        if q is None or db is None or not self._cache.wanted:
            self._cache.wanted.clear()
            return
        self._cache.pending.clear()  # the job of the same name it replaces is cancelled
        pages = self._cache.take_wanted(most=6)
        gen, size, roles = self._generation, self._size, dict(self._roles)

        def job(p, c):
            with db.read() as conn, Q.interruptible(conn, c):
                return [(n, read_page(conn, q, n * size, size, roles=roles)) for n in pages]

        self.runner.run(f"{self._name}-page", job, label="Read enrolments",
                        on_done=lambda r: self._apply_pages(gen, r), on_error=self.failed.emit)

    def _apply_pages(self, gen: int, result) -> None:
        if gen != self._generation:
            return
        self._cache.pending.clear()
        for page, rows in result:
            first, n = self._cache.store(page, rows)
            last = min(first + n, self._total) - 1
            if last >= first:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def has_methods(self) -> bool:
        """Whether any enrolment read so far knows its method (the site's web services do not report
        it; the console knows it for enrolments it made)."""
        return any(rec[1][4] for _row, rec in self._cache.loaded())

    def record(self, row: int):
        """The record of ``row`` if its page is loaded (else asks for the page and returns None)."""
        rec = self._cache.get(row)
        if rec is None and 0 <= row < self._total and self._cache.want(row):
            self._fetch.start()
        return rec

    def ids_for_rows(self, rows: Sequence[int], on_done: Callable[[list[int]], None]) -> int | None:
        """User ids of these view rows: from memory when read, else from SQL (off the GUI thread)."""
        known, missing = [], []
        for r in rows:
            rec = self.record(r)
            (known.append(rec[0]) if rec is not None else missing.append(r))
        q, db = self._query, self.session.db
        if not missing or q is None or db is None:
            on_done(known)
            return None
        ranges: list[tuple[int, int]] = []
        for r in sorted(missing):
            if ranges and r == ranges[-1][1] + 1:
                ranges[-1] = (ranges[-1][0], r)
            else:
                ranges.append((r, r))

        def job(p, c):
            with db.read() as conn:
                return enrolment_ids(conn, q, ranges)

        # The ids of the profile open now: those read for one closed since are never acted on in the next.
        return self.runner.run(f"{self._name}-ids", job, label="Read the selected enrolments",
                               on_done=self.session.for_this_profile(lambda got: on_done(known + got)))

    # -- Qt model API --------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section][1]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{COLUMNS[section][1]}: click to sort"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < self._total) or not (0 <= index.column() < len(COLUMNS)):
            return None
        rec = self.record(index.row())
        col = index.column()
        if rec is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole and col == 0 else None
        uid, texts, status, account_suspended, _rids, times = rec
        if role == Qt.ItemDataRole.DisplayRole:
            return texts[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if account_suspended:
                return "The account is suspended: the user cannot sign in at all."
            if KEYS[col] == "lastcourseaccess" and times[2] == 0:
                return "Has never opened the course"
            if KEYS[col] == "status":
                return {2: "Enrolment suspended: no access to the course", 1: "The enrolment has not started yet",
                        3: "The enrolment has ended"}.get(status)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and self._colours is not None:
            if KEYS[col] == "status" and status in (2, 3):
                return self._colours("error" if status == 2 else "warning")
            if status or account_suspended:
                return self._colours("text_muted")
            return None
        if role == self.UserIdRole:
            return uid
        if role == self.StatusRole:
            return status
        return None


__all__ = ["COLUMNS", "EnrolmentQuery", "EnrolmentsTableModel", "KEYS", "METHODS", "STATUS_FILTERS", "STATUS_TEXT",
           "bulk_changes", "bulk_title", "count_enrolments", "enrolment_ids", "read_course_choices", "read_page",
           "read_roles", "read_saved_filters", "role_names"]
