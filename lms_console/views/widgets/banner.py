"""Inline banner at the top of a pane for expected problems (offline, token expired, refused).

Shows the LMS's own error code, its message and a plain-language hint, with
Retry / Details / Dismiss. Bugs never go here: they go to the crash dialog.
Problems stay until they are resolved or dismissed; a notice that something went well
("Reconnected", "back online": :meth:`Banner.show_notice`) clears itself after
``NOTICE_TIMEOUT_MS`` (counted while no other window of the console, a dialog, is active over its window).
Colours come from the theme's QSS (``QFrame#Banner[level="error"]`` ...).
"""

from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import QEvent, QMetaMethod, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent, QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.services.lms import errors as E
from lms_console.views import theme
from lms_console.views.icons import icon

LEVELS = ("info", "warning", "error")
NARROW_WIDTH = 560  # below this the buttons go under the text instead of beside it
NOTICE_TIMEOUT_MS = 8000  # a success notice clears itself after this long in view (read when it is shown)

# Short titles per error class; the most specific class in the MRO wins.
_TITLES: dict[type, str] = {
    E.Cancelled: "Cancelled",
    E.AuthExpired: "The site no longer accepts the token",
    E.TlsFailure: "Certificate not trusted",
    E.OutcomeUnknown: "Outcome unknown",
    E.Unreachable: "Site not reachable",
    E.RateLimited: "The site is throttling requests",
    E.BadResponse: "Unreadable answer from the site",
    E.FunctionNotAvailable: "Function not enabled for the console",
    E.PermissionDenied: "Permission denied",
    E.InvalidParameter: "Value rejected by the site",
    E.ApiRejected: "Request refused by the site",
    E.LmsError: "Problem talking to the site",
}

_SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard


def error_title(err: E.LmsError) -> str:
    """A short, plain title for an LMS error ("Site not reachable"); a subclass may carry its own ``title``."""
    own = getattr(type(err), "title", None)
    if isinstance(own, str) and own:
        return own
    for cls in type(err).__mro__:
        if cls in _TITLES:
            return _TITLES[cls]
    return "Problem talking to the site"


def error_details(err: E.LmsError) -> str:
    """Everything known about an LMS error, one fact a line (for Details and for support)."""
    lines = [f"Error: {type(err).__name__}"]
    if err.code:
        lines.append(f"LMS error code: {err.code}")
    if err.function:
        lines.append(f"Function: {err.function}")
    if err.status is not None:
        lines.append(f"HTTP status: {err.status}")
    retry_after = getattr(err, "retry_after", None)
    if retry_after:
        lines.append(f"Retry after: {retry_after:g} s")
    lines.append(f"Message: {err.message}")
    if err.hint:
        lines.append(f"What to do: {err.hint}")
    return "\n".join(lines)


def _label(object_name: str, *, wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)  # LMS messages are data, never markup
    label.setTextInteractionFlags(_SELECTABLE)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return label


class Banner(QFrame):
    """A dismissable message strip; hidden until something is shown.

    Signals:
        retry_requested(): the user pressed Retry (the ``retry`` callable, if
            any, has also been called; the banner hides itself first).
        dismissed(): the user pressed Dismiss (``clear()`` does not emit it).
    """

    retry_requested = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setProperty("level", "info")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._level = "info"
        self._retry: Callable[[], object] | None = None
        self._action_buttons: list[QPushButton] = []
        self._expiry = QTimer(self)  # a notice's: anything shown or cleared before it fires stops it
        self._expiry.setSingleShot(True)
        self._expiry.timeout.connect(self._on_expiry)
        self._notice = False  # a notice is shown: it clears itself (see show_notice)

        self._icon = QLabel()
        self._icon.setObjectName("BannerIcon")
        self._icon.setFixedSize(20, 20)
        self._icon.setAccessibleName("")  # decorative: the title says it
        # One line: a wrapped title next to the code chip would wrap after a word or two.
        self._title = _label("BannerTitle", wrap=False)
        self._title.setMinimumWidth(1)  # a narrow pane clips the title instead of overflowing
        self._code = _label("BannerCode", wrap=False)
        self._code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._message = _label("BannerMessage")
        self._hint = _label("BannerHint")
        self._details = QPlainTextEdit()
        self._details.setObjectName("BannerDetails")
        self._details.setReadOnly(True)
        self._details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._details.setMaximumHeight(110)
        self._details.setAccessibleName("Error details")
        self._details.hide()

        self._retry_button = QPushButton("Retry")
        self._retry_button.setObjectName("BannerRetry")
        self._retry_button.setAccessibleName("Retry")
        self._retry_button.clicked.connect(self._on_retry)
        self._details_button = QPushButton("Details")
        self._details_button.setObjectName("BannerDetailsToggle")
        self._details_button.setCheckable(True)
        self._details_button.setAccessibleName("Show details")
        self._details_button.toggled.connect(self._on_details_toggled)
        self._dismiss_button = QToolButton()
        self._dismiss_button.setObjectName("BannerDismiss")
        self._dismiss_button.setToolTip("Dismiss")
        self._dismiss_button.setAccessibleName("Dismiss")
        self._dismiss_button.setIconSize(QSize(14, 14))
        self._dismiss_button.clicked.connect(self._on_dismiss)

        heading = QHBoxLayout()
        heading.setSpacing(8)
        heading.addWidget(self._title)
        heading.addWidget(self._code, 0, Qt.AlignmentFlag.AlignVCenter)
        heading.addStretch(1)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addLayout(heading)
        text.addWidget(self._message)
        text.addWidget(self._hint)
        text.addWidget(self._details)
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(6)
        self._buttons.addWidget(self._retry_button)
        self._buttons.addWidget(self._details_button)
        self._buttons.addWidget(self._dismiss_button)
        for button in (self._retry_button, self._details_button):
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)

        # Wide: [icon | text | buttons]. Narrow: the buttons move under the text.
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(10, 8, 8, 8)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(6)
        self._grid.addWidget(self._icon, 0, 0, 2, 1, Qt.AlignmentFlag.AlignTop)
        self._grid.addLayout(text, 0, 1)
        self._grid.setColumnStretch(1, 1)
        self._narrow: bool | None = None
        self._place_buttons(narrow=False)

        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()
        self.hide()

    # -- public API --------------------------------------------------------------------
    @property
    def level(self) -> str:
        return self._level

    def title_text(self) -> str:
        return self._title.text()

    def code_text(self) -> str:
        return self._code.text()

    def message_text(self) -> str:
        return self._message.text()

    def hint_text(self) -> str:
        return self._hint.text()

    def details_text(self) -> str:
        return self._details.toPlainText()

    def show_error(self, err: E.LmsError, retry: Callable[[], object] | None = None) -> None:
        """Show an expected LMS problem. ``Cancelled`` is silent (nothing shown)."""
        if not isinstance(err, E.LmsError):
            raise TypeError(f"Banner shows LmsError only; {type(err).__name__} is a bug for the crash dialog")
        if isinstance(err, E.Cancelled):
            return
        self._populate(
            "error",
            title=error_title(err),
            code=err.code,
            message=err.message,
            hint=err.hint or "",
            details=error_details(err),
            retry=retry,
            actions=(),
        )

    def show_message(
        self,
        level: str,
        text: str,
        details: str | None = None,
        actions: Sequence[tuple[str, Callable[[], object]]] = (),
        *,
        title: str = "",
        retry: Callable[[], object] | None = None,
    ) -> None:
        """Show a message of ``level`` ("info", "warning", "error").

        ``actions`` are extra buttons: (label, callback) pairs; the banner stays
        up after one is pressed (the callback decides).
        """
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
        self._populate(level, title=title, code="", message=text, hint="", details=details or "",
                       retry=retry, actions=actions)

    def show_notice(self, text: str, *, title: str = "") -> None:
        """Say that something went well ("Reconnected"): an info message that clears itself after
        ``NOTICE_TIMEOUT_MS`` unless something else is shown first. The time does not run out while another window
        of the console is active (a dialog over the banner's window: the admin cannot read it): it runs again, in
        full, once the banner's window is active. Problems use :meth:`show_message` or :meth:`show_error`: they
        stay until resolved or dismissed."""
        self.show_message("info", text, title=title)
        self._notice = True
        self._count_down()

    def clear(self) -> None:
        """Hide the banner and forget its content (no ``dismissed`` signal)."""
        self._expiry.stop()
        self._notice = False
        self._retry = None
        self._details_button.setChecked(False)
        for label in (self._title, self._code, self._message, self._hint):
            label.clear()
        self._details.clear()
        self._clear_actions()
        self.hide()

    # -- internals -----------------------------------------------------------------------
    def _populate(self, level, *, title, code, message, hint, details, retry, actions) -> None:
        self._expiry.stop()  # what is shown now stays (show_notice starts it again for a notice)
        self._notice = False
        self._clear_actions()
        self._level = level
        self.setProperty("level", level)
        self._title.setText(title)
        self._title.setVisible(bool(title))
        self._code.setText(code)
        self._code.setToolTip(f"The site's error code: {code}" if code else "")
        self._code.setVisible(bool(code))
        self._message.setText(message)
        self._hint.setText(hint)
        self._hint.setVisible(bool(hint))
        self._details.setPlainText(details)
        self._details_button.setChecked(False)
        self._details_button.setVisible(bool(details))
        self._retry = retry
        self._retry_button.setVisible(retry is not None or self._retry_is_connected())
        for label, callback in actions:
            button = QPushButton(label)
            button.setAccessibleName(label)
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _checked=False, cb=callback: cb())
            self._buttons.insertWidget(len(self._action_buttons), button)
            self._action_buttons.append(button)
        self._refresh_icons()
        self.style().unpolish(self)  # the QSS keys on the dynamic "level" property
        self.style().polish(self)
        for child in self.findChildren(QLabel):
            child.style().unpolish(child)
            child.style().polish(child)
        self.setAccessibleName(f"{level.capitalize()}: {title or message}")
        self.setAccessibleDescription(" ".join(t for t in (message, hint) if t))
        self.show()
        QAccessible.updateAccessibility(QAccessibleEvent(self, QAccessible.Event.Alert))

    def _count_down(self) -> None:
        """A notice's time runs (again, in full) from now; it clears at the end only if it is in view."""
        if self._notice:
            self._expiry.start(NOTICE_TIMEOUT_MS)

    def _in_view(self) -> bool:
        """Whether the admin can be reading the banner: its window is the active one, or none of the console's is
        (another program is: the window may still be in sight), not another of the console's windows (a dialog)."""
        active = QApplication.activeWindow()
        return active is None or active is self.window()

    def _on_expiry(self) -> None:
        if self._in_view():
            self.clear()
        else:  # behind a dialog: unread yet, it waits for its window (and looks again)
            self._count_down()

    def event(self, event) -> bool:
        # Qt hands a window's (de)activation to its visible children: the time runs in full from the activation.
        if event.type() in (QEvent.Type.WindowActivate, QEvent.Type.WindowDeactivate):
            self._count_down()
        return super().event(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._place_buttons(event.size().width() < NARROW_WIDTH)

    def _place_buttons(self, narrow: bool) -> None:
        if narrow == self._narrow:
            return
        self._narrow = narrow
        self._grid.removeItem(self._buttons)
        if narrow:
            self._grid.addLayout(self._buttons, 1, 1, Qt.AlignmentFlag.AlignLeft)
        else:
            self._grid.addLayout(self._buttons, 0, 2, Qt.AlignmentFlag.AlignTop)

    def _retry_is_connected(self) -> bool:
        return self.isSignalConnected(QMetaMethod.fromSignal(self.retry_requested))

    def _clear_actions(self) -> None:
        for button in self._action_buttons:
            self._buttons.removeWidget(button)
            button.deleteLater()
        self._action_buttons.clear()

    def _refresh_icons(self, *_args) -> None:
        ratio = self.devicePixelRatioF()
        self._icon.setPixmap(icon(self._level).pixmap(QSize(20, 20), ratio))
        self._dismiss_button.setIcon(icon("close"))

    def _on_details_toggled(self, shown: bool) -> None:
        self._details.setVisible(shown)
        self._details_button.setText("Hide details" if shown else "Details")
        self._details_button.setAccessibleName("Hide details" if shown else "Show details")

    def _on_retry(self) -> None:
        retry = self._retry
        self.clear()
        self.retry_requested.emit()
        if retry is not None:
            retry()

    def _on_dismiss(self) -> None:
        self.clear()
        self.dismissed.emit()
