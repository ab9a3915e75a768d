"""The content tree view: icons from names, hidden/stealth rows muted, and drops from the desktop.

Files, folders and links dragged from a file manager or a browser can be dropped onto a section
(they go at its end) or onto an activity (they go right after it). The row under the pointer is
outlined while dragging; anything else (a category, a course) refuses the drop and says why.
Drag positions are read as ``QPointF`` (``event.position()``): PySide6 6.12 deprecates the
QPoint overloads of drag events.
"""

from __future__ import annotations

from urllib.parse import unquote

from PySide6.QtCore import (
    QIdentityProxyModel,
    QMimeData,
    QModelIndex,
    QPointF,
    Qt,
    Signal,
)
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QWidget

from lms_console.models.content_model import IconRole, RefRole, StateRole
from lms_console.models.content_read import ContentRef
from lms_console.services.uploads import Dropped
from lms_console.views import theme
from lms_console.views.icons import MissingIconError, icon
from lms_console.views.widgets.drop_tree import DropTargetTree

DROP_KINDS = ("section", "module", "file")


class ContentIconProxy(QIdentityProxyModel):
    """Icon names become icons; hidden and stealth rows are drawn in the muted text colour."""

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        source = self.sourceModel()
        if source is None:
            return None
        src = self.mapToSource(index)
        if role == Qt.ItemDataRole.DecorationRole:
            name = source.data(src, IconRole)
            if not name:
                return None
            try:
                return icon(name)
            except MissingIconError:
                return icon("activity-generic")
        if role == Qt.ItemDataRole.ForegroundRole:
            state = source.data(src, StateRole)
            if state in ("hidden", "stealth"):
                return theme.color("text_muted")
            return None
        return source.data(src, role)


def dropped_from_mime(mime: QMimeData) -> list[Dropped]:
    """What a drag carries: local files and folders, and web links (with a title when the browser sent one)."""
    titles: dict[str, str] = {}
    if mime.hasFormat("text/x-moz-url"):
        raw = bytes(mime.data("text/x-moz-url")).decode("utf-16-le", "replace").replace("\x00", "")
        lines = raw.splitlines()
        for url, title in zip(lines[0::2], lines[1::2]):
            titles[url.strip()] = title.strip()
    out: list[Dropped] = []
    for url in mime.urls():
        if url.isLocalFile():
            out.append(Dropped(path=url.toLocalFile()))
        elif url.isValid() and url.scheme():
            text = url.toString()
            out.append(Dropped(url=text, title=titles.get(text, "")))
    if not out and mime.hasText():
        text = mime.text().strip()
        if text and "\n" not in text and ":" in text:
            out.append(Dropped(url=unquote(text) if text.startswith("file:") else text))
    return out


def drop_target_text(ref: ContentRef | None) -> str:
    if ref is None:
        return "Drop onto a section or an activity of a course."
    if ref.kind == "section":
        return f"Drop to add at the end of “{ref.name}”."
    if ref.kind in ("module", "file"):
        return "Drop to add right after this activity."
    return "Drop onto a section or an activity: open the course first."


class ContentTreeView(DropTargetTree):
    """Tree of the content pane, accepting drops of files, folders and links.

    Signals:
        dropped(object, object): a drop on a row: (ContentRef of the row, list of Dropped).
        drop_hint(str): what a drop here would do ("" when the drag left).
    """

    dropped = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ContentTree")
        self.setUniformRowHeights(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setDropIndicatorShown(False)  # the target row is outlined instead (see drawRow)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(False)
        self.setExpandsOnDoubleClick(True)

    def configure_header(self) -> None:
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

    # -- drag and drop ------------------------------------------------------------------------
    def _ref_at(self, pos: QPointF) -> tuple[QModelIndex, ContentRef | None]:
        index = self.indexAt(pos.toPoint())
        ref = index.data(RefRole) if index.isValid() else None
        return index.siblingAtColumn(0) if index.isValid() else index, ref

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasFormat("text/x-moz-url"):
            event.acceptProposedAction()
            self._update_target(event.position())
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        _index, ref = self._update_target(event.position())
        if ref is not None and ref.kind in DROP_KINDS:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        _index, ref = self._ref_at(event.position())
        self._clear_target()
        things = dropped_from_mime(event.mimeData())
        if ref is None or ref.kind not in DROP_KINDS or not things:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.dropped.emit(ref, things)

    def _update_target(self, pos: QPointF):
        index, ref = self._ref_at(pos)
        self._set_target(index if ref is not None and ref.kind in DROP_KINDS else QModelIndex())
        self.drop_hint.emit(drop_target_text(ref))
        return index, ref
