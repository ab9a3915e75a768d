"""Context menus of item views that act on the right row for the mouse and for the Menu key.

Qt gives a keyboard context menu's position in the view's own coordinates (the current row's
centre, header included) but a mouse one in the viewport's; ``indexAt()`` wants the viewport's,
so a Menu key handled like a click acts on the row below the current one (and on nothing at all
on the last row). :func:`install_item_menu` hands the handler the index and the global position
instead of a position to interpret.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QAbstractItemView

MenuHandler = Callable[[QModelIndex, QPoint], None]


def menu_target(view: QAbstractItemView, event: QContextMenuEvent) -> tuple[QModelIndex, QPoint]:
    """The index a context menu of ``view`` acts on and where (global) it opens: the current index
    for the Menu key (next to it), the index under the pointer for the mouse."""
    viewport = view.viewport()
    if event.reason() == QContextMenuEvent.Reason.Keyboard:
        index = view.currentIndex()
        rect = view.visualRect(index).intersected(viewport.rect()) if index.isValid() else QRect()
        return index, viewport.mapToGlobal(rect.center() if not rect.isEmpty() else QPoint(0, 0))
    return view.indexAt(viewport.mapFromGlobal(event.globalPos())), event.globalPos()


class ItemMenuFilter(QObject):
    """Takes ``view``'s context menu events (Menu key on the view, mouse on its viewport) and calls
    ``handler(index, global_pos)``. Made by :func:`install_item_menu`. Signals: none."""

    def __init__(self, view: QAbstractItemView, handler: MenuHandler) -> None:
        super().__init__(view)
        self.view, self.handler = view, handler
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ContextMenu and obj in (self.view, self.view.viewport()):
            index, pos = menu_target(self.view, event)
            self.handler(index, pos)
            event.accept()
            return True
        return False


def install_item_menu(view: QAbstractItemView, handler: MenuHandler) -> ItemMenuFilter:
    """Call ``handler(index, global_pos)`` for every context menu of ``view`` (mouse or Menu key)."""
    return ItemMenuFilter(view, handler)


__all__ = ["ItemMenuFilter", "MenuHandler", "install_item_menu", "menu_target"]
