"""The course-content tree: categories > courses > sections > activities > files, from the cache.

Categories and courses are read when the profile opens (one query each, off the GUI thread);
a course's sections, activities and files are read the first time it is expanded
(``canFetchMore``/``fetchMore``), so a site with thousands of courses opens at once. A course
the cache knows nothing about yet is fetched from the site (if it answers).

Icons are given as *names* (``IconRole``); views turn them into icons. Hidden and stealth
activities carry ``StateRole`` and an explaining tooltip; views choose how they look.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont

from lms_console.models.content_read import (
    ContentRef,
    CourseContents,
    TreeData,
    read_course_contents,
    read_tree,
)
from lms_console.models.session import ConnectionSession, Online
from lms_console.services.changes import kinds_content  # noqa: F401  (registers the course.* kinds)
from lms_console.services.uploads_names import human_size

IconRole = Qt.ItemDataRole.UserRole + 2  # same role number as the navigation model's
RefRole = Qt.ItemDataRole.UserRole + 10
StateRole = Qt.ItemDataRole.UserRole + 11  # visible | hidden | stealth
KindRole = Qt.ItemDataRole.UserRole + 12

COLUMNS = ("Name", "Status", "Size")
ACTIVITY_ICONS = frozenset({"assign", "quiz", "forum", "resource", "folder", "url", "page", "label"})
_Index = QModelIndex | QPersistentModelIndex


@dataclass(eq=False, slots=True)
class _Node:
    ref: ContentRef | None
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    row: int = 0
    status: str = ""
    size: str = ""
    tooltip: str = ""
    loaded: bool = True  # course nodes: contents read
    loading: bool = False

    def add(self, child: _Node) -> _Node:
        child.parent, child.row = self, len(self.children)
        self.children.append(child)
        return child


def icon_name(ref: ContentRef) -> str:
    if ref.kind == "module":
        return f"activity-{ref.modname}" if ref.modname in ACTIVITY_ICONS else "activity-generic"
    return {"category": "category", "course": "course", "section": "section", "file": "activity-resource"}[ref.kind]


class ContentTreeModel(QAbstractItemModel):
    """Tree of the site's content from the cache.

    Signals:
        loaded(): categories and courses were (re)read.
        course_loaded(int): a course's sections and activities were (re)read (its id).
        course_fetch_failed(int, object): refreshing a course from the site failed (id, LmsError).
    """

    loaded = Signal()
    course_loaded = Signal(int)
    course_fetch_failed = Signal(int, object)

    def __init__(self, session: ConnectionSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._root = _Node(None)
        self._courses: dict[int, _Node] = {}
        self._by_key: dict[tuple[str, int], _Node] = {}
        self._generation = 0
        session.opened.connect(self._on_opened)
        session.closed.connect(self._clear)

    # -- loading ----------------------------------------------------------------------------
    def _on_opened(self, _profile) -> None:
        self.reload()

    def reload(self) -> None:
        """Re-read categories and courses (contents of expanded courses are read again too)."""
        db = self.session.db
        if db is None:
            return
        self._generation += 1
        generation = self._generation
        build = self.session.for_this_profile(lambda data: self._build(data, generation))
        self.session.runner.run("content-tree", lambda p, c: read_tree(db), label="Read courses", on_done=build)

    def _clear(self) -> None:
        self.beginResetModel()
        self._root, self._courses, self._by_key = _Node(None), {}, {}
        self.endResetModel()

    def _build(self, data: TreeData, generation: int) -> None:
        if generation != self._generation:
            return
        reload_courses = [cid for cid, node in self._courses.items() if node.loaded and node.children]
        self.beginResetModel()
        self._root, self._courses, self._by_key = _Node(None), {}, {}
        nodes: dict[int, _Node] = {}
        for cat in data.categories:
            ref = ContentRef("category", cat.id, cat.name, visible=cat.visible)
            nodes[cat.id] = _Node(ref, status="" if cat.visible else "Hidden",
                                  tooltip="" if cat.visible else "This category is hidden from students.")
        for cat in data.categories:
            (nodes.get(cat.parent) or self._root).add(nodes[cat.id])
        for course in data.courses:
            ref = ContentRef("course", course.id, f"{course.shortname} — {course.fullname}", courseid=course.id,
                             visible=course.visible)
            node = _Node(ref, status="" if course.visible else "Hidden", loaded=False,
                         tooltip=course.fullname + ("" if course.visible else "\nHidden from students."))
            (nodes.get(course.categoryid) or self._root).add(node)
            self._courses[course.id] = node
        for node in self._walk(self._root):
            if node.ref is not None:
                self._by_key[node.ref.key] = node
        self.endResetModel()
        self.loaded.emit()
        for cid in reload_courses:
            self.reload_course(cid)

    def canFetchMore(self, parent: _Index) -> bool:  # noqa: N802 - Qt override
        node = self._node(parent)
        return node.ref is not None and node.ref.kind == "course" and not node.loaded and not node.loading

    def fetchMore(self, parent: _Index) -> None:  # noqa: N802 - Qt override
        node = self._node(parent)
        if node.ref is not None and node.ref.kind == "course":
            self.reload_course(node.ref.id)

    def reload_course(self, courseid: int, *, from_site_if_empty: bool = True) -> None:
        """Read one course's sections, activities and files from the cache again."""
        node, db = self._courses.get(courseid), self.session.db
        if node is None or db is None:
            return
        node.loading = True
        # Course ids repeat across sites: a course of a profile closed since is not filled in here.
        fill = self.session.for_this_profile(lambda data: self._fill(data, from_site_if_empty))
        self.session.runner.run(f"content-course-{courseid}", lambda p, c: read_course_contents(db, courseid),
                                label=f"Read course {node.ref.name.split(' — ')[0]}", on_done=fill)

    def refresh_from_site(self, courseid: int) -> int | None:
        """Fetch a course's contents from the site, write them to the cache, then show them."""
        client, session = self.session.client, self.session
        if client is None or session.db is None:
            return None
        node = self._courses.get(courseid)
        label = node.ref.name.split(" — ")[0] if node else f"course {courseid}"

        def write(writer, progress, cancel):
            fetched = client.course_contents(courseid, cancel=cancel)
            writer.replace_course_contents(courseid, fetched.items, 0)
            return courseid

        return session.run_writer(f"content-refresh-{courseid}", write, with_progress=True,
                                  label=f"Refresh {label} from the site",
                                  on_done=session.for_this_profile(
                                      lambda cid: self.reload_course(cid, from_site_if_empty=False)),
                                  on_error=session.for_this_profile(
                                      lambda exc: self.course_fetch_failed.emit(courseid, exc)))

    def _fill(self, data: CourseContents, from_site_if_empty: bool) -> None:
        node = self._courses.get(data.courseid)
        if node is None:
            return
        node.loading = False
        index = self.createIndex(node.row, 0, node)
        if node.children:
            self.beginRemoveRows(index, 0, len(node.children) - 1)
            for old in self._walk(node):
                if old is not node and old.ref is not None:
                    self._by_key.pop(old.ref.key, None)
            node.children = []
            self.endRemoveRows()
        node.loaded = True
        fresh = _Node(None)
        for sec in data.sections:
            s_node = fresh.add(_Node(sec.ref, status=sec.status, tooltip=sec.tooltip))
            for mod in sec.modules:
                m_node = s_node.add(_Node(mod.ref, status=mod.status, size=mod.size, tooltip=mod.tooltip))
                for f in mod.files:
                    m_node.add(_Node(f.ref, size=human_size(f.size) if f.size else "", tooltip=f.tooltip))
        if fresh.children:
            self.beginInsertRows(index, 0, len(fresh.children) - 1)
            for child in fresh.children:
                node.add(child)
            for n in self._walk(node):
                if n is not node and n.ref is not None:
                    self._by_key[n.ref.key] = n
            self.endInsertRows()
        self.course_loaded.emit(data.courseid)
        if not data.sections and from_site_if_empty and self.session.state.status == Online.ONLINE:
            self.refresh_from_site(data.courseid)

    # -- lookups -------------------------------------------------------------------------------
    def index_of(self, kind: str, ident: int) -> QModelIndex:
        node = self._by_key.get((kind, ident))
        return self.createIndex(node.row, 0, node) if node is not None else QModelIndex()

    def ref(self, index: _Index) -> ContentRef | None:
        return self._node(index).ref if index.isValid() else None

    def course_ids(self) -> list[int]:
        return list(self._courses)

    def loaded_course_ids(self) -> list[int]:
        return [cid for cid, n in self._courses.items() if n.loaded]

    def course_label(self, courseid: int) -> str:
        node = self._courses.get(courseid)
        return node.ref.name.split(" — ")[0] if node else f"course {courseid}"

    def category_of(self, ref: ContentRef | None) -> int | None:
        """The category a row belongs to (its own id for a category)."""
        if ref is None:
            return None
        if ref.kind == "category":
            return ref.id
        node = self._courses.get(ref.courseid or ref.id)
        parent = node.parent if node else None
        return parent.ref.id if parent is not None and parent.ref is not None else None

    def shortnames(self) -> frozenset[str]:
        return frozenset(n.ref.name.split(" — ")[0] for n in self._courses.values())

    def section_ref(self, sectionid: int) -> ContentRef | None:
        node = self._by_key.get(("section", sectionid))
        return node.ref if node else None

    def sections_of(self, courseid: int) -> list[ContentRef]:
        node = self._courses.get(courseid)
        return [c.ref for c in node.children] if node else []

    def modules_of(self, sectionid: int) -> list[ContentRef]:
        node = self._by_key.get(("section", sectionid))
        return [c.ref for c in node.children] if node else []

    def categories(self) -> list[tuple[ContentRef, int]]:
        """Every category with its depth, in tree order (for pickers)."""
        out = []

        def walk(node: _Node, depth: int) -> None:
            for child in node.children:
                if child.ref is not None and child.ref.kind == "category":
                    out.append((child.ref, depth))
                    walk(child, depth + 1)

        walk(self._root, 0)
        return out

    # -- Qt model API ----------------------------------------------------------------------------
    def _node(self, index: _Index) -> _Node:
        if index.isValid():
            node = index.internalPointer()
            if isinstance(node, _Node):
                return node
        return self._root

    def _walk(self, node: _Node):
        stack = [node]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(n.children)

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._node(parent)
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        if 0 <= row < len(node.children) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008  (Qt's overload)
        if not index.isValid():
            return QModelIndex()
        node = self._node(index).parent
        if node is None or node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return len(COLUMNS)

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008, N802
        node = self._node(parent)
        if parent.isValid() and parent.column() != 0:
            return False
        if node.ref is not None and node.ref.kind == "course" and not node.loaded:
            return True  # expandable before its contents are read
        return bool(node.children)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 3:
            return COLUMNS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        ref = self._node(index).ref
        if ref is not None and ref.kind in ("section", "module", "file"):
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        node = self._node(index)
        ref = node.ref
        if ref is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (ref.name, node.status, node.size)[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return node.tooltip or None
        if role == IconRole:
            return icon_name(ref) if col == 0 else None
        if role == RefRole:
            return ref
        if role == KindRole:
            return ref.kind
        if role == StateRole:
            return "stealth" if ref.stealth else ("visible" if ref.visible else "hidden")
        if role == Qt.ItemDataRole.FontRole and not ref.visible:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return ["text/uri-list", "text/x-moz-url"]

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.CopyAction


__all__ = ["ACTIVITY_ICONS", "COLUMNS", "ContentRef", "ContentTreeModel", "IconRole", "KindRole", "RefRole",
           "StateRole", "icon_name"]
