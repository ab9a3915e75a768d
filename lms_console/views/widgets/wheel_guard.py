"""The mouse wheel scrolls what it is over, not the boxes it passes on the way.

A combo, date or spin box that Qt gives the wheel changes its value as the pointer passes over it while
the admin scrolls a panel, a form or a table: the filter, the date or the column mapping changed without
anyone choosing it. :class:`WheelGuard` keeps the wheel for the scrolling unless the box has keyboard
focus (clicked or tabbed into).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget


class WheelGuard(QObject):
    """An event filter that lets the mouse wheel scroll the panel, form or table around its boxes: a combo,
    date or spin box under the pointer changes with the wheel only when it has keyboard focus (clicked or
    tabbed into). Without it, scrolling the reports' options changed the filters the pointer passed over and
    re-ran the report, and scrolling the import's column list changed the columns' mapping.

    Only for boxes inside something that scrolls (a scroll area, a table or list): elsewhere the wheel has
    nothing else to do. Make one per panel or dialog (its parent) and ``guard`` each box, also those made later.
    """

    def guard(self, *widgets: QWidget) -> None:
        for widget in widgets:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel alone does not give it focus
            widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()  # not for this box: Qt passes it on to the parents, up to the scroll area
            return True
        return super().eventFilter(obj, event)


__all__ = ["WheelGuard"]
