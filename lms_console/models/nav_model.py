"""The navigation tree: site > Overview, Users (+ saved filters), Cohorts, Course categories > courses,
Reports, Journal. Built from the cache off the GUI thread; nodes carry a :class:`NavTarget`."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel

from lms_console.models.overview_model import FollowSync
from lms_console.models.session import ConnectionSession
from lms_console.services.users_query import DEFAULT_FILTERS, NOT_GUEST  # saved filters every site starts with

TargetRole = Qt.ItemDataRole.UserRole + 1
IconRole = Qt.ItemDataRole.UserRole + 2  # icon *name*: views turn it into a QIcon (models stay widget-free)



@dataclass(frozen=True, slots=True)
class NavTarget:
    kind: str  # overview | users | filter | cohorts | cohort | groups | categories | category | course | reports | journal
    id: int | str | None = None  # filter: a DEFAULT_FILTERS key, or "saved:<id>" of the saved_filters table
    label: str = ""


@dataclass(frozen=True, slots=True)
class NavTree:
    """Plain data read from the cache (built off the GUI thread)."""

    sitename: str
    categories: tuple[tuple[int, int, str, int], ...]  # id, parent, name, course count
    courses: tuple[tuple[int, int, str, str, bool], ...]  # id, category, shortname, fullname, visible
    cohorts: tuple[tuple[int, str, int], ...]  # id, name, members
    users: int
    saved_filters: tuple[tuple[int, str], ...] = ()  # id, name (the users pane's saved filters)


def load_tree(db) -> NavTree:
    with db.read() as conn:
        site = conn.exec_driver_sql("SELECT sitename FROM site_info").first()
        cats = conn.exec_driver_sql(
            "SELECT c.id, c.parent, c.name, (SELECT count(*) FROM courses k WHERE k.categoryid = c.id) "
            "FROM categories c ORDER BY c.sortorder, c.name").all()
        courses = conn.exec_driver_sql(
            "SELECT id, categoryid, shortname, fullname, visible FROM courses WHERE format <> 'site' "
            "ORDER BY shortname").all()
        cohorts = conn.exec_driver_sql(
            "SELECT c.id, c.name, (SELECT count(*) FROM cohort_members m WHERE m.cohortid = c.id) "
            "FROM cohorts c ORDER BY c.name").all()
        users = conn.exec_driver_sql(f"SELECT count(*) FROM users u WHERE {NOT_GUEST}").scalar()  # as the pane lists
        saved = conn.exec_driver_sql("SELECT id, name FROM saved_filters ORDER BY position, name").all()
    return NavTree(site[0] if site else "", tuple(map(tuple, cats)),
                   tuple((r[0], r[1], r[2], r[3], bool(r[4])) for r in courses), tuple(map(tuple, cohorts)),
                   int(users or 0), tuple((r[0], r[1]) for r in saved))


def _count_texts(tree: NavTree) -> dict[tuple[str, int | None], str]:
    """The texts of the nodes that count something, by (target kind, id)."""
    texts: dict[tuple[str, int | None], str] = {("users", None): f"Users ({tree.users:,})",
                                                ("cohorts", None): f"Cohorts ({len(tree.cohorts):,})"}
    texts.update({("cohort", cid): f"{name} ({members:,})" for cid, name, members in tree.cohorts})
    texts.update({("category", cid): f"{name} ({count:,})" if count else name
                  for cid, _parent, name, count in tree.categories})
    return texts


def _item(text: str, target: NavTarget, icon: str, tooltip: str = "") -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(target, TargetRole)
    item.setData(icon, IconRole)
    if tooltip:
        item.setToolTip(tooltip)
    return item


class NavigationModel(QStandardItemModel):
    """Tree model of the navigation pane; rebuilt when the cache changes. While a sync writes the cache its
    counts follow it (:class:`FollowSync`), retitled in place: nothing collapses or loses its selection every few
    seconds of a long sync; the nodes it adds (courses, cohorts) come with the rebuild when it ends.

    Signals:
        rebuilding(): the tree is about to be rebuilt; its old nodes are still there (views note
            which are expanded).
        rebuilt(): the tree was rebuilt (views restore expansion and selection).
    """

    rebuilding = Signal()
    rebuilt = Signal()

    def __init__(self, session: ConnectionSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._counted: dict[tuple[str, int | None], QStandardItem] = {}  # nodes whose text has a count
        self._build(NavTree("", (), (), (), 0))
        session.opened.connect(self._on_session_event)
        session.cache_changed.connect(self._on_session_event)
        session.closed.connect(self._on_closed)
        self.follower = FollowSync(session, lambda: self.refresh(counts_only=True), self)

    def _on_session_event(self, _arg) -> None:
        self.refresh()

    def _on_closed(self) -> None:
        self._build(NavTree("", (), (), (), 0))

    def refresh(self, counts_only: bool = False) -> None:
        """Read the tree again and rebuild it; ``counts_only`` (as a sync writes): retitle the nodes that count."""
        db = self.session.db
        if db is not None:
            done = self._retitle if counts_only else self._build
            self.session.runner.run("navigation", lambda p, c: load_tree(db), label="Read navigation",
                                    quiet=True, on_done=self.session.for_this_profile(done))

    def _retitle(self, tree: NavTree) -> None:
        texts = _count_texts(tree)
        for key, item in self._counted.items():
            if key in texts and item.text() != texts[key]:
                item.setText(texts[key])

    def _build(self, tree: NavTree) -> None:
        profile = self.session.profile
        self._counted = {}
        self.rebuilding.emit()  # not modelAboutToBeReset: clear() has emptied the tree when that comes
        self.clear()
        self.setHorizontalHeaderLabels(["Site"])
        title = tree.sitename or (profile.name if profile is not None else "No site open")
        site = _item(title, NavTarget("overview", label="Overview"), "site",
                     profile.url if profile is not None else "")
        self.appendRow(site)
        if profile is None:
            return
        site.appendRow(_item("Overview", NavTarget("overview", label="Overview"), "info"))
        texts = _count_texts(tree)
        users = self._counting(texts, NavTarget("users", label="Users"), "users")
        for key, label in DEFAULT_FILTERS:
            users.appendRow(_item(label, NavTarget("filter", key, label), "filter"))
        for fid, name in tree.saved_filters:
            users.appendRow(_item(name, NavTarget("filter", f"saved:{fid}", name), "save", "Saved filter"))
        site.appendRow(users)
        cohorts = self._counting(texts, NavTarget("cohorts", label="Cohorts"), "cohort")
        for cid, name, _members in tree.cohorts:
            cohorts.appendRow(self._counting(texts, NavTarget("cohort", cid, name), "cohort"))
        site.appendRow(cohorts)
        # The groups pane (views/groups_pane.py): cohorts, course groups and enrolments, drag and drop.
        site.appendRow(_item("Groups & enrolments", NavTarget("groups", label="Groups & enrolments"), "group",
                             "Cohorts, course groups and groupings, enrolments; drag users onto them"))
        site.appendRow(self._categories(tree, texts))
        site.appendRow(_item("Reports", NavTarget("reports", label="Reports"), "report"))
        site.appendRow(_item("Journal", NavTarget("journal", label="Journal"), "journal"))
        self.rebuilt.emit()

    def _categories(self, tree: NavTree, texts: dict) -> QStandardItem:
        root = _item("Course categories", NavTarget("categories", label="Course categories"), "category")
        nodes: dict[int, QStandardItem] = {0: root}
        for cid, _parent, name, _count in tree.categories:
            nodes[cid] = self._counting(texts, NavTarget("category", cid, name), "category")
        for cid, parent, _name, _count in tree.categories:
            nodes.get(parent, root).appendRow(nodes[cid])
        for course_id, category, shortname, fullname, visible in tree.courses:
            label = shortname if visible else f"{shortname} (hidden)"
            nodes.get(category, root).appendRow(
                _item(label, NavTarget("course", course_id, shortname), "course", fullname))
        return root

    def _counting(self, texts: dict, target: NavTarget, icon: str) -> QStandardItem:
        """A node whose text counts something (``texts``: :func:`_count_texts`), retitled as a sync writes."""
        item = _item(texts[(target.kind, target.id)], target, icon)
        self._counted[(target.kind, target.id)] = item
        return item

    def find(self, kind: str, ident=None):
        """Index of the first node with this target kind (and id), or an invalid index."""
        stack = [self.invisibleRootItem()]
        while stack:
            item = stack.pop(0)
            target = item.data(TargetRole) if item is not self.invisibleRootItem() else None
            if isinstance(target, NavTarget) and target.kind == kind and (ident is None or target.id == ident):
                return item.index()
            stack.extend(item.child(r) for r in range(item.rowCount()))
        return self.index(-1, -1)
