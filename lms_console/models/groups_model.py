"""The groups pane's tree: cohorts by context; categories > courses > groups and groupings, with
member counts.

The tree is read off the GUI thread in a few aggregate queries (a site with 5,000 courses and
50,000 users reads in tens of ms); a course's groups and groupings are read when the course is
expanded (``canFetchMore``/``fetchMore``) and kept, re-read with the rest after a change.

Users can be dropped on cohorts, groups and courses (:meth:`GroupsTreeModel.drop_target`); the
plans behind a drop are made by ``models.groups_actions.GroupsActions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal

from lms_console.models.dnd import USER_IDS_MIME

IconProvider = Callable[[str], object]
ColourProvider = Callable[[str], object]

KindRole = Qt.ItemDataRole.UserRole + 1  # cohorts | context | cohort | courses | category | course | group | grouping
IdRole = Qt.ItemDataRole.UserRole + 2
KeyRole = Qt.ItemDataRole.UserRole + 3  # "cohort:5", "group:12", ... (stable across rebuilds)
CountRole = Qt.ItemDataRole.UserRole + 4
CourseRole = Qt.ItemDataRole.UserRole + 5  # a group's or grouping's course
NodeRole = Qt.ItemDataRole.UserRole + 6  # the _Node (name, extra) for the pane's headings

DROP_KINDS = ("cohort", "group", "course")
_RELEVANT = frozenset({"cohorts", "cohort_members", "groups", "group_members", "courses", "categories",
                       "enrolments", "users"})


# -- reading (worker) -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CourseGroups:
    courseid: int
    groups: tuple[tuple[int, str, str, int, str], ...]  # id, name, idnumber, members, description
    groupings: tuple[tuple[int, str, str, tuple[int, ...], str], ...]  # id, name, idnumber, group ids, description


@dataclass(frozen=True, slots=True)
class TreeData:
    cohorts: tuple[tuple, ...] = ()  # id, name, idnumber, visible, categoryid (None = unknown), members, rule, description
    categories: tuple[tuple[int, int, str], ...] = ()  # id, parent, name
    courses: tuple[tuple, ...] = ()  # id, categoryid, shortname, fullname, visible, enrolled, groups+groupings
    loaded: tuple[CourseGroups, ...] = ()
    text: str = ""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def read_tree(db, text: str = "", loaded: Sequence[int] = ()) -> TreeData:
    """Cohorts, categories and courses with their counts; ``text`` keeps only names containing it
    (a course stays when one of its groups matches); ``loaded`` courses come with their groups."""
    text = " ".join(text.split())
    with db.read() as conn:
        ex = conn.exec_driver_sql
        has_rules = bool(ex("SELECT 1 FROM sqlite_master WHERE name = 'cohort_rules'").first())
        rule = "EXISTS (SELECT 1 FROM cohort_rules r WHERE r.cohortid = c.id)" if has_rules else "0"
        where, params = "", ()
        if text:
            where, params = "WHERE c.name LIKE ? ESCAPE '\\' OR c.idnumber LIKE ? ESCAPE '\\'", (_like(text),) * 2
        cohorts = tuple(tuple(r) for r in ex(
            f"SELECT c.id, c.name, c.idnumber, c.visible, c.categoryid, coalesce(m.n, 0), {rule}, c.description "
            "FROM cohorts c "
            "LEFT JOIN (SELECT cohortid, count(*) AS n FROM cohort_members GROUP BY cohortid) m ON m.cohortid = c.id "
            f"{where} ORDER BY c.name, c.id", params))
        categories = tuple(tuple(r) for r in ex("SELECT id, parent, name FROM categories ORDER BY sortorder, name"))
        where = "WHERE k.format <> 'site'"
        params = ()
        if text:
            where += (" AND (k.shortname LIKE ?1 ESCAPE '\\' OR k.fullname LIKE ?1 ESCAPE '\\' OR k.id IN "
                      "(SELECT courseid FROM \"groups\" WHERE name LIKE ?1 ESCAPE '\\'))")
            params = (_like(text),)
        courses = tuple(tuple(r) for r in ex(
            "SELECT k.id, k.categoryid, k.shortname, k.fullname, k.visible, coalesce(e.n, 0), "
            "coalesce(g.n, 0) + coalesce(p.n, 0) FROM courses k "
            "LEFT JOIN (SELECT courseid, count(*) AS n FROM enrolments GROUP BY courseid) e ON e.courseid = k.id "
            'LEFT JOIN (SELECT courseid, count(*) AS n FROM "groups" GROUP BY courseid) g ON g.courseid = k.id '
            "LEFT JOIN (SELECT courseid, count(*) AS n FROM groupings GROUP BY courseid) p ON p.courseid = k.id "
            f"{where} ORDER BY k.shortname, k.id", params))
        known = {c[0] for c in courses}
        out = tuple(_course_groups(conn, c) for c in loaded if c in known)
    return TreeData(cohorts, categories, courses, out, text)


def _course_groups(conn, courseid: int) -> CourseGroups:
    ex = conn.exec_driver_sql
    groups = tuple(tuple(r) for r in ex(
        'SELECT g.id, g.name, g.idnumber, (SELECT count(*) FROM group_members m WHERE m.groupid = g.id), '
        'g.description FROM "groups" g WHERE g.courseid = ? ORDER BY g.name, g.id', (courseid,)))
    assigned: dict[int, list[int]] = {}
    for gp, gid in ex("SELECT gg.groupingid, gg.groupid FROM grouping_groups gg JOIN groupings p "
                      'ON p.id = gg.groupingid JOIN "groups" g ON g.id = gg.groupid WHERE p.courseid = ? '
                      "ORDER BY g.name", (courseid,)):
        assigned.setdefault(gp, []).append(gid)
    groupings = tuple((r[0], r[1], r[2], tuple(assigned.get(r[0], ())), r[3] or "") for r in ex(
        "SELECT id, name, idnumber, description FROM groupings WHERE courseid = ? ORDER BY name, id", (courseid,)))
    return CourseGroups(courseid, groups, groupings)


def read_course_groups(db, courseid: int) -> CourseGroups:
    with db.read() as conn:
        return _course_groups(conn, courseid)


# -- the tree ------------------------------------------------------------------------------------------------

@dataclass(eq=False)
class _Node:
    kind: str
    id: int | None
    name: str
    count: int | None = None
    parent: "_Node | None" = None
    children: list["_Node"] = field(default_factory=list)
    lazy: bool = False  # a course whose groups are not read yet
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}" if self.id is not None else self.kind

    def add(self, child: "_Node") -> "_Node":
        child.parent = self
        self.children.append(child)
        return child


_ICONS = {"cohorts": "cohort", "context": "category", "cohort": "cohort", "courses": "course", "category": "category",
          "course": "course", "group": "group", "grouping": "grouping", "groups-folder": "group"}


class GroupsTreeModel(QAbstractItemModel):
    """Cohorts and course groups as a two-column tree: name, members.

    Reads after :meth:`refresh` (the pane was shown), then whenever the cache changes.

    Signals:
        rebuilt(): the tree was rebuilt (views restore expansion and selection by ``KeyRole``).
        course_loaded(int): a course's groups and groupings were read (after an expand).
        failed(object): a read failed with an expected error (CacheError).
    """

    rebuilt = Signal()
    course_loaded = Signal(int)
    failed = Signal(object)

    COLUMNS = ("Name", "Members")

    def __init__(self, session, parent: QObject | None = None, *, icons: IconProvider | None = None,
                 colours: ColourProvider | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        self._icons, self._colours = icons, colours
        self._root = _Node("root", None, "")
        self._text = ""
        self._loaded: set[int] = set()  # courses whose groups were read
        self._loading: set[int] = set()
        self._active = False
        self._name = f"groups-tree-{id(self):x}"
        self._generation = 0
        self.data_read: TreeData = TreeData()
        self._timer = QTimer(self, singleShot=True, interval=50)
        self._timer.timeout.connect(self.refresh)
        session.cache_changed.connect(self._on_cache_changed)
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)

    # -- reading ----------------------------------------------------------------------------------
    def refresh(self) -> int | None:
        self._active = True
        db = self.session.db
        if db is None:
            self._apply(self._generation, TreeData())
            return None
        self._generation += 1
        gen, text, loaded = self._generation, self._text, sorted(self._loaded)
        # Closing a profile shows the empty tree under the same generation: a read of the closed one is dropped.
        mine = self.session.for_this_profile
        return self.runner.run(self._name, lambda p, c: read_tree(db, text, loaded), label="Read cohorts and groups",
                               quiet=True, on_done=mine(lambda d: self._apply(gen, d)), on_error=mine(self.failed.emit))

    def set_filter(self, text: str) -> None:
        text = " ".join(text.split())
        if text != self._text:
            self._text = text
            self.refresh()

    @property
    def filter_text(self) -> str:
        return self._text

    def is_active(self) -> bool:
        return self._active

    def on_changes_applied(self, _summary=None) -> None:
        if self._active:
            self._timer.start()

    def _on_cache_changed(self, entities) -> None:
        if self._active and (not entities or set(entities) & _RELEVANT):
            self._timer.start()

    # Bound methods, not lambdas: a connection to a method of a QObject ends with the object.
    def _on_opened(self, _profile) -> None:
        if self._active:
            self.refresh()

    def _on_closed(self) -> None:
        self._loaded.clear()
        self._loading.clear()  # a course's groups still being read are the closed profile's: dropped
        self._apply(self._generation, TreeData())

    def _apply(self, gen: int, data: TreeData) -> None:
        if gen != self._generation:
            return
        self.data_read = data
        self.beginResetModel()
        self._root = self._build(data)
        self.endResetModel()
        self.rebuilt.emit()

    def _build(self, data: TreeData) -> _Node:
        root = _Node("root", None, "")
        cats = {c[0]: c for c in data.categories}
        cohorts = root.add(_Node("cohorts", None, "Cohorts", extra={"n": len(data.cohorts)}))
        contexts: dict[object, _Node] = {}
        order = sorted({c[4] for c in data.cohorts}, key=lambda k: (k != 0, k is None, cats.get(k, (0, 0, ""))[2]))
        for ctx in order:
            if ctx == 0:
                name = "System"
            elif ctx is None:
                name = "Category cohorts"
            else:
                name = f"Category: {cats[ctx][2]}" if ctx in cats else f"Category {ctx}"
            contexts[ctx] = cohorts.add(_Node("context", ctx if isinstance(ctx, int) else -1, name,
                                              extra={"categoryid": ctx}))
        for cid, name, idnumber, visible, catid, members, rule, description in data.cohorts:
            contexts[catid].add(_Node("cohort", cid, name, members, extra={
                "idnumber": idnumber, "visible": bool(visible), "categoryid": catid, "rule": bool(rule),
                "context": contexts[catid].name, "description": description}))
        for ctx in contexts.values():
            ctx.extra["n"] = len(ctx.children)
        courses = root.add(_Node("courses", None, "Courses", extra={"n": len(data.courses)}))
        nodes: dict[int, _Node] = {}

        def category(cid: int) -> _Node:
            if cid in nodes:
                return nodes[cid]
            row = cats.get(cid)
            if row is None:
                return courses
            parent = category(row[1]) if row[1] and row[1] != cid else courses
            nodes[cid] = parent.add(_Node("category", cid, row[2]))
            return nodes[cid]

        loaded = {g.courseid: g for g in data.loaded}
        for course_id, catid, shortname, fullname, visible, enrolled, ngroups in data.courses:
            node = category(catid).add(_Node("course", course_id, shortname, enrolled, lazy=bool(ngroups), extra={
                "fullname": fullname, "visible": bool(visible), "groups": ngroups}))
            if course_id in loaded:
                self._fill_course(node, loaded[course_id])
        for node in nodes.values():
            node.extra["n"] = sum(1 for c in node.children if c.kind == "course")
        self._loaded &= set(loaded)
        return root

    def _fill_course(self, node: _Node, groups: CourseGroups) -> None:
        node.lazy = False
        node.children.clear()
        names = {g[0]: g for g in groups.groups}
        course = {"courseid": node.id, "course": node.name}
        for gid, name, idnumber, members, description in groups.groups:
            node.add(_Node("group", gid, name, members, extra={"idnumber": idnumber, "description": description,
                                                              **course}))
        for gpid, name, idnumber, gids, description in groups.groupings:
            gp = node.add(_Node("grouping", gpid, name, None, extra={"idnumber": idnumber, "groups": gids,
                                                                    "description": description, **course}))
            for gid in gids:
                if gid in names:
                    g = names[gid]
                    gp.add(_Node("group", gid, g[1], g[3], extra={"idnumber": g[2], "description": g[4],
                                                                  "in_grouping": gpid, **course}))
            gp.count = None
        self._loaded.add(node.id)

    # -- lazy courses -------------------------------------------------------------------------------
    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802 - Qt override
        node = self._node(parent)
        return node is not None and node.kind == "course" and node.lazy and node.id not in self._loading

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:  # noqa: N802 - Qt override
        node = self._node(parent)
        db = self.session.db
        if node is None or node.kind != "course" or not node.lazy or db is None or node.id in self._loading:
            return
        courseid, gen = int(node.id), self._generation
        self._loading.add(courseid)
        self.runner.run(f"{self._name}-course-{courseid}", lambda p, c: read_course_groups(db, courseid),
                        label="Read a course's groups", quiet=True,
                        on_done=self.session.for_this_profile(lambda g: self._apply_course(gen, g)),
                        on_error=self.session.for_this_profile(self.failed.emit))

    def load_course(self, courseid: int) -> None:
        """Read a course's groups now (the pane shows them), if they are not read yet."""
        index = self.find("course", courseid)
        if index.isValid() and self.canFetchMore(index):
            self.fetchMore(index)

    def _apply_course(self, gen: int, groups: CourseGroups) -> None:
        self._loading.discard(groups.courseid)
        if gen != self._generation:
            self._loaded.add(groups.courseid)  # the rebuild in flight did not know: read it with the next
            self._timer.start()
            return
        index = self.find("course", groups.courseid)
        node = self._node(index)
        if node is None:
            return
        n = len(groups.groups) + len(groups.groupings)
        if node.children:
            self.beginRemoveRows(index, 0, len(node.children) - 1)
            node.children.clear()
            self.endRemoveRows()
        if n:
            self.beginInsertRows(index, 0, n - 1)
            self._fill_course(node, groups)
            self.endInsertRows()
        else:
            node.lazy = False
            self._loaded.add(node.id)
        self.course_loaded.emit(groups.courseid)

    # -- lookups ---------------------------------------------------------------------------------------
    def _node(self, index: QModelIndex | QPersistentModelIndex) -> _Node | None:
        if not index.isValid():
            return None
        return index.internalPointer()

    def node_at(self, index: QModelIndex | QPersistentModelIndex) -> _Node | None:
        return self._node(index)

    def find(self, kind: str, ident=None) -> QModelIndex:
        """The first node of this kind (and id), breadth first; invalid when there is none."""
        queue = [self._root]
        while queue:
            node = queue.pop(0)
            if node is not self._root and node.kind == kind and (ident is None or node.id == ident):
                return self.createIndex(node.parent.children.index(node), 0, node)
            queue.extend(node.children)
        return QModelIndex()

    def find_key(self, key: str) -> QModelIndex:
        kind, _, ident = key.partition(":")
        return self.find(kind, int(ident) if ident.lstrip("-").isdigit() else None)

    def groups_of_course(self, courseid: int) -> list[tuple[int, str]]:
        node = self._node(self.find("course", courseid))
        return [(c.id, c.name) for c in node.children if c.kind == "group"] if node else []

    def groupings_of_course(self, courseid: int) -> list[tuple[int, str, tuple[int, ...]]]:
        node = self._node(self.find("course", courseid))
        return [(c.id, c.name, tuple(c.extra.get("groups", ()))) for c in node.children
                if c.kind == "grouping"] if node else []

    def drop_target(self, index: QModelIndex | QPersistentModelIndex) -> tuple[str, int] | None:
        """(kind, id) users can be dropped on at ``index`` (a group inside a grouping is its group)."""
        node = self._node(index)
        if node is None or node.kind not in DROP_KINDS or node.id is None:
            return None
        return node.kind, int(node.id)

    @staticmethod
    def drop_refusal(kind: str | None) -> str:
        return {"cohorts": "Drop users on a cohort, not on the Cohorts folder.",
                "context": "Drop users on one of the cohorts below.",
                "courses": "Drop users on a course (to enrol them) or on one of its groups.",
                "category": "Drop users on a course of this category, or on one of its groups.",
                "grouping": "A grouping holds groups, not users: drop users on one of its groups.",
                }.get(kind or "", "Drop users on a cohort, a group or a course.")

    # -- Qt model API ----------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()
              ) -> QModelIndex:  # noqa: B008
        node = self._node(parent) if parent.isValid() else self._root
        if node is None or not (0 <= row < len(node.children)) or not (0 <= column < len(self.COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: QModelIndex | QPersistentModelIndex = QModelIndex()):  # type: ignore[override]
        node = self._node(index)
        if node is None or node.parent is None or node.parent is self._root:
            return QModelIndex()
        up = node.parent
        return self.createIndex(up.parent.children.index(up), 0, up)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        node = self._node(parent) if parent.isValid() else self._root
        return len(node.children) if node is not None else 0

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.COLUMNS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: N802, B008
        if parent.isValid() and parent.column() != 0:
            return False
        node = self._node(parent) if parent.isValid() else self._root
        return node is not None and (bool(node.children) or node.lazy)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        node = self._node(index)
        if node is None:
            return Qt.ItemFlag.ItemIsDropEnabled
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if node.kind in DROP_KINDS:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return [USER_IDS_MIME]

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        node = self._node(index)
        if node is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 1:
                return f"{node.count:,}" if node.count is not None else ""
            n = node.extra.get("n")
            return f"{node.name} ({n:,})" if n is not None and node.kind in ("cohorts", "courses", "context") \
                else node.name
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and self._icons is not None:
            return self._icons(_ICONS.get(node.kind, "info"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self._colours is not None:
            hidden = node.extra.get("visible") is False
            return self._colours("text_muted") if hidden or col == 1 else None
        if role == KindRole:
            return node.kind
        if role == IdRole:
            return node.id
        if role == KeyRole:
            return node.key
        if role == CountRole:
            return node.count
        if role == CourseRole:
            return node.extra.get("courseid", node.id if node.kind == "course" else None)
        if role == NodeRole:
            return node
        return None

    @staticmethod
    def _tooltip(node: _Node) -> str | None:
        e = node.extra
        if node.kind == "cohort":
            bits = [f"Cohort in {e.get('context', 'system').replace('Category: ', 'category ')}"]
            if e.get("idnumber"):
                bits.append(f"ID number {e['idnumber']}")
            if not e.get("visible", True):
                bits.append("hidden")
            if e.get("rule"):
                bits.append("membership defined by a rule")
            return " · ".join(bits) + f"\n{node.count or 0:,} members. Drop users here to add them."
        if node.kind == "course":
            hidden = " (hidden)" if e.get("visible") is False else ""
            return (f"{e.get('fullname') or node.name}{hidden}\n{node.count or 0:,} enrolled. Drop users here to enrol "
                    "them (you choose the role and dates).")
        if node.kind == "group":
            return (f"Group of {e.get('course', '')}" + (f" · ID number {e['idnumber']}" if e.get("idnumber") else "")
                    + f"\n{node.count or 0:,} members. Drop users here to add them.")
        if node.kind == "grouping":
            return f"Grouping of {e.get('course', '')}: {len(e.get('groups', ())):,} groups"
        if node.kind == "context" and e.get("categoryid") is None:
            return ("Cohorts of course categories whose category the site's web services do not name; their "
                    "members can be changed, but their properties only once the category is known.")
        return None


__all__ = ["CountRole", "CourseGroups", "CourseRole", "DROP_KINDS", "GroupsTreeModel", "IdRole", "KeyRole", "KindRole",
           "NodeRole", "TreeData", "read_course_groups", "read_tree"]
