"""The list of connection profiles as a Qt model (names, URLs, token state), for the Profiles dialog.

The model is a snapshot: :meth:`ProfilesModel.refresh` re-reads ``profiles.json``
and asks the token store which profiles have a token. It never holds a token,
only whether one exists. Decoration is left to views (they pick the icons).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QStandardItem, QStandardItemModel

from lms_console.services.credentials import has_token
from lms_console.services.doctor import DoctorReport, fix_for
from lms_console.services.lms.errors import LmsError
from lms_console.services.profiles import Profile, ProfileStore
from lms_console.services.units import human_size

log = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One row: the profile and what is known about its token (never the token itself).

    ``has_token`` None: the keychain could not be asked (none here, or locked).
    """

    profile: Profile
    has_token: bool | None
    session_only: bool


def token_state(tokens, name: str) -> tuple[bool | None, bool]:
    """(has_token, session_only) for a profile name, without raising."""
    session_only = bool(getattr(tokens, "is_session_only", lambda _n: False)(name))
    return (True if session_only else has_token(tokens, name)), session_only


class ProfilesModel(QAbstractListModel):
    """Profiles sorted by name. Display: the name; tooltip: URL plus the security warning.

    Custom roles: ``NameRole`` (str), ``UrlRole`` (str), ``ServiceRole`` (str),
    ``InsecureRole`` (bool), ``SecurityWarningRole`` (str, "" when none),
    ``HasTokenRole`` (bool, or None when the keychain cannot be asked),
    ``SessionOnlyRole`` (bool), ``LastUsedRole`` (int, Unix seconds, 0 = never),
    ``ProfileRole`` (the frozen :class:`Profile`).

    Signals:
        load_failed(object): the profiles file could not be read (an LmsError; the
            model is then empty).
    """

    NameRole = Qt.ItemDataRole.UserRole + 1
    UrlRole = Qt.ItemDataRole.UserRole + 2
    ServiceRole = Qt.ItemDataRole.UserRole + 3
    InsecureRole = Qt.ItemDataRole.UserRole + 4
    SecurityWarningRole = Qt.ItemDataRole.UserRole + 5
    HasTokenRole = Qt.ItemDataRole.UserRole + 6
    SessionOnlyRole = Qt.ItemDataRole.UserRole + 7
    LastUsedRole = Qt.ItemDataRole.UserRole + 8
    ProfileRole = Qt.ItemDataRole.UserRole + 9

    load_failed = Signal(object)

    def __init__(self, store: ProfileStore, tokens=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._tokens = tokens if tokens is not None else store.tokens
        self._rows: list[ProfileRow] = []
        self.refresh()

    # -- reading ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the profiles and their token state.

        The same profiles (a time last used, a token stored, an address changed): the rows change in place
        (``dataChanged``), so views keep their selection. A profile added or removed: a reset (views re-select by
        name)."""
        try:
            profiles = self._store.list()
            failure: LmsError | None = None
        except LmsError as exc:
            profiles, failure = [], exc
        rows = [ProfileRow(p, *token_state(self._tokens, p.name)) for p in profiles]
        changed = [i for i, (old, new) in enumerate(zip(self._rows, rows, strict=False)) if old != new]
        if len(rows) != len(self._rows) or any(self._rows[i].profile.name != rows[i].profile.name for i in changed):
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        elif changed:
            self._rows = rows
            self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], 0))
        if failure is not None:
            log.warning("profiles could not be read: %s", failure)
            self.load_failed.emit(failure)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or index.column() != 0:
            return None
        row = self._rows[index.row()]
        p = row.profile
        if role in (Qt.ItemDataRole.DisplayRole, self.NameRole):
            return p.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(t for t in (p.url, p.security_warning or "") if t)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return ", ".join(t for t in (p.url, p.security_warning or "") if t)
        if role == self.UrlRole:
            return p.url
        if role == self.ServiceRole:
            return p.service
        if role == self.InsecureRole:
            return p.insecure
        if role == self.SecurityWarningRole:
            return p.security_warning or ""
        if role == self.HasTokenRole:
            return row.has_token
        if role == self.SessionOnlyRole:
            return row.session_only
        if role == self.LastUsedRole:
            return p.last_used
        if role == self.ProfileRole:
            return p
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        for role, name in ((self.NameRole, b"name"), (self.UrlRole, b"url"), (self.ServiceRole, b"service"),
                           (self.InsecureRole, b"insecure"), (self.SecurityWarningRole, b"securityWarning"),
                           (self.HasTokenRole, b"hasToken"), (self.SessionOnlyRole, b"sessionOnly"),
                           (self.LastUsedRole, b"lastUsed"), (self.ProfileRole, b"profile")):
            names[int(role)] = QByteArray(name)
        return names

    # -- lookups -----------------------------------------------------------------------
    def row_of(self, name: str) -> int:
        """The row of the profile called ``name`` (any case), or -1."""
        key = name.casefold()
        for i, row in enumerate(self._rows):
            if row.profile.name.casefold() == key:
                return i
        return -1

    def index_of(self, name: str) -> QModelIndex:
        row = self.row_of(name)
        return self.index(row, 0) if row >= 0 else QModelIndex()

    def row_info(self, name: str) -> ProfileRow | None:
        row = self.row_of(name)
        return self._rows[row] if row >= 0 else None

    def names(self) -> list[str]:
        return [r.profile.name for r in self._rows]



# ---------------------------------------------------------------------------
# The connection doctor's report


def _size_text(n: int) -> str:
    if n < 0:
        return "no size limit"
    if n == 0:
        return "the site's default size limit"
    return f"up to {human_size(n)}"


def report_headline(report: DoctorReport) -> tuple[str, bool]:
    """One sentence on a successful test, and whether everything works."""
    caps = report.capabilities
    failing = [st for st in caps.statuses if not st.available] if caps else []
    if not failing:
        return "Connected. Everything the console does works with this token.", True
    return (f"Connected. {len(failing)} of {len(caps.statuses)} features will not work with this token; "
            "see why below."), False


def report_summary(report: DoctorReport) -> list[tuple[str, str]]:
    """(label, text) lines about the site and the token's user, for above the feature list."""
    site = report.site
    if site is None:
        return []
    files = (f"uploads {'allowed' if site.upload_allowed else 'not allowed'} "
             f"({_size_text(site.max_upload_bytes)} per file), "
             f"downloads {'allowed' if site.download_allowed else 'not allowed'}")
    return [
        ("Site", f"{site.sitename}  ({site.siteurl})"),
        ("Release", f"Moodle {site.release} (version {site.version})"),
        ("Signed in as", f"{site.fullname} ({site.username})"),
        ("Site administrator", "Yes" if site.is_site_admin else
         "No: changes fail wherever this user lacks the permission"),
        ("Files", files[0].upper() + files[1:]),
    ]


def _why_not(st) -> str:
    if st.missing:
        noun = "function" if len(st.missing) == 1 else "functions"
        return f"Missing {noun}: {', '.join(st.missing)}"
    if st.problems:
        return " ".join(st.problems)
    if st.missing_optional:
        return f"Works; optional functions not in the service: {', '.join(st.missing_optional)}"
    return ""


class DoctorReportModel(QStandardItemModel):
    """A connection test's result as a tree: a row per feature, the steps that fix it as children.

    Columns: Feature, Works ("Yes" / "No"), Why not (missing functions, or the problem).
    Roles: ``AvailableRole`` (bool on every cell of a feature row, None on step rows),
    ``FeatureKeyRole`` (the feature's key), ``StepRole`` (True on a fix-step row, whose
    text is in column 0 and which views show across the whole width).

    Signals: none of its own (QStandardItemModel's).
    """

    AvailableRole = Qt.ItemDataRole.UserRole + 1
    FeatureKeyRole = Qt.ItemDataRole.UserRole + 2
    StepRole = Qt.ItemDataRole.UserRole + 3
    HEADERS = ("Feature", "Works", "Why not")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self._report: DoctorReport | None = None

    @property
    def report(self) -> DoctorReport | None:
        return self._report

    def set_report(self, report: DoctorReport | None) -> None:
        """Show ``report`` (None, or a report without capabilities: empty)."""
        self._report = report
        self.removeRows(0, self.rowCount())
        if report is None or report.capabilities is None:
            return
        for st in report.capabilities.statuses:
            why = _why_not(st)
            cells = [QStandardItem(st.feature.title), QStandardItem("Yes" if st.available else "No"),
                     QStandardItem(why)]
            for cell in cells:
                cell.setEditable(False)
                cell.setData(st.available, self.AvailableRole)
                cell.setData(st.feature.key, self.FeatureKeyRole)
            cells[2].setToolTip(why)
            shown = {why, *st.problems} if not st.missing else {why}
            for step in [] if st.available else fix_for(st):
                if step in shown:
                    continue
                child = QStandardItem(f"What to do: {step}")
                child.setEditable(False)
                child.setToolTip(step)
                child.setData(True, self.StepRole)
                child.setData(st.feature.key, self.FeatureKeyRole)
                cells[0].appendRow([child, _blank(), _blank()])
            self.appendRow(cells)


def _blank() -> QStandardItem:
    item = QStandardItem()
    item.setEditable(False)
    return item
