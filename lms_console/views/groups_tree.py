"""The groups pane's tree view: cohorts and course groups with member counts, and the drop target
for users dragged from the users pane, the docked user list or a members table.

While dragging, the row under the pointer is outlined when it takes users (a cohort, a group, a
course) and the pane's hint line says what the drop would do; elsewhere the drop is refused with
the reason. Drag positions are read as ``QPointF`` (``event.position()``): PySide6 6.12
deprecates the QPoint overloads of drag events.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QWidget

from lms_console.models.dnd import has_users, read_user_drag
from lms_console.models.groups_model import KindRole, NodeRole
from lms_console.views.widgets.drop_tree import DropTargetTree


def drop_text(node, size_label: str) -> str:
    """What dropping ``size_label`` ("12 users") on ``node`` would do, in plain words."""
    if node is None:
        return ""
    if node.kind == "cohort":
        return f"Drop to add {size_label} to cohort {node.name} (previewed first)"
    if node.kind == "group":
        return (f"Drop to add {size_label} to group {node.name} of {node.extra.get('course', '')} "
                "(previewed first; users not enrolled can be enrolled in the same run)")
    if node.kind == "course":
        return f"Drop to enrol {size_label} in {node.name}: you choose the role and dates next"
    return ""


class GroupsTreeView(DropTargetTree):
    """The tree of cohorts and groups; takes drops of users.

    Signals:
        users_dropped(str, int, object): kind (cohort | group | course), id, and the UserDrag.
        drop_hint(str): what a drop at the pointer would do, or why not ("" when the drag left).
        delete_requested(): the admin pressed Delete on the selected node.
    """

    users_dropped = Signal(str, int, object)
    delete_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GroupsTree")
        self.setUniformRowHeights(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setDropIndicatorShown(False)  # the target row is outlined instead (see drawRow)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAllColumnsShowFocus(True)
        self.setAccessibleName("Cohorts and groups")
        self._drag_label = "users"

    def configure_header(self) -> None:
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(1, self.fontMetrics().horizontalAdvance("Members") + 24)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._fit_columns()

    # Below this width the names need all of it: the member counts (also in each node's details) go.
    NARROW = 300

    def _fit_columns(self) -> None:
        self.setColumnHidden(1, self.width() < self.NARROW)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_columns()

    # -- keys ------------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Delete and self.currentIndex().isValid():
            self.delete_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- drag and drop -----------------------------------------------------------------------------------
    def _target_at(self, pos: QPointF):
        index = self.indexAt(pos.toPoint())
        if not index.isValid():
            return QModelIndex(), None, None
        index = index.siblingAtColumn(0)
        model = self.model()
        target = model.drop_target(index) if hasattr(model, "drop_target") else None
        return index, target, index.data(NodeRole)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if has_users(mime):
            self._drag_label = read_user_drag(mime).label()
            event.acceptProposedAction()
            self._update_target(event.position())
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        index, target = self._update_target(event.position())
        if target is not None and has_users(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            # Hovering a collapsed course opens it, as file managers do, so its groups can be reached.
            if index.data(KindRole) == "course" and not self.isExpanded(index):
                self.expand(index)
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        _index, target, _node = self._target_at(event.position())
        self._clear_target()
        if target is None or not has_users(event.mimeData()):
            event.ignore()
            return
        drag = read_user_drag(event.mimeData())
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.users_dropped.emit(target[0], target[1], drag)

    def _update_target(self, pos: QPointF):
        index, target, node = self._target_at(pos)
        self._set_target(index if target is not None else QModelIndex())
        if target is not None:
            self.drop_hint.emit(drop_text(node, self._drag_label))
        else:
            model = self.model()
            refusal = model.drop_refusal(node.kind if node is not None else None) if hasattr(model, "drop_refusal") \
                else ""
            self.drop_hint.emit(refusal)
        return index, target


__all__ = ["GroupsTreeView", "drop_text"]
