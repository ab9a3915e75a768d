"""One crash dialog for bugs: ``sys.excepthook``, ``threading.excepthook`` and ``report_bug``.

Expected problems (``LmsError``, ``UserError``) are shown inline by the panes; anything else is
a bug and lands here. Exceptions from worker threads travel to the GUI thread
through a queued signal. Only one dialog is open at a time: later crashes are
appended to it.

Secrets never leave through this path: every text shown, copied or saved goes
through :func:`redact`, which removes the secrets the app registered
(:func:`register_secret`: tokens, passwords) and anything that looks like one
(``wstoken=...``, ``token=...``, ``password=...``, 32-hex Moodle tokens, bearer
headers).

Wiring (app.py)::

    crash_handler.install(parent=main_window)
    runner.job_failed.connect(crash_handler.report_job_failure)
    crash_handler.register_secret(token)
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import quote, quote_plus

from PySide6.QtCore import QObject, QThread, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QWidget

from lms_console.models.tasks import EXPECTED

__all__ = [
    "CrashHandler",
    "CrashReport",
    "clear_secrets",
    "current_dialog",
    "handler",
    "install",
    "is_installed",
    "redact",
    "register_secret",
    "report_bug",
    "report_job_failure",
    "uninstall",
    "unregister_secret",
]

log = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4  # shorter "secrets" would shred ordinary words in a traceback

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

_KEY = r"(?:ws)?token|access_token|refresh_token|api_?key|secret|client_secret|pass(?:word|wd)?|pwd|sessionid|moodlesession|sesskey|privatetoken"
_PATTERN_SOURCES: list[tuple[str, str]] = [
    # key=value in URLs, form bodies and log lines (value runs to a separator)
    (rf"(?i)\b({_KEY})(\s*=\s*)(?!\[REDACTED\])([^\s&;,'\"<>)\]}}]+)", rf"\1\2{REDACTED}"),
    # "key": "value" / 'key': 'value' (JSON, Python reprs of dicts)
    (rf"(?i)([\"']({_KEY})[\"']\s*:\s*)([\"'])(.*?)\3", rf"\1\3{REDACTED}\3"),
    # key: value in headers or messages (without quotes)
    (rf"(?i)\b({_KEY})(\s*:\s+)(?!\[REDACTED\])([^\s,;'\"]+)", rf"\1\2{REDACTED}"),
    (r"(?i)\b(authorization\s*:\s*)(bearer|basic|token)\s+\S+", rf"\1\2 {REDACTED}"),
    (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}", f"Bearer {REDACTED}"),
    # Moodle tokens are 32 hex digits; Canvas tokens are "digits~long string"
    (r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32}(?![0-9A-Fa-f])", REDACTED),
    (r"\b\d{1,6}~[A-Za-z0-9]{32,}\b", REDACTED),
]


@functools.lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    # Compiled on first use: these expressions cost ~50 ms at start-up otherwise.
    return [(re.compile(p), r) for p, r in _PATTERN_SOURCES]


def register_secret(secret: str | None) -> None:
    """Remember a secret (token, password) so it is cut out of every crash text."""
    if secret and len(secret) >= MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(secret)


def unregister_secret(secret: str | None) -> None:
    with _secrets_lock:
        _secrets.discard(secret or "")


def clear_secrets() -> None:
    """Forget every registered secret (tests; switching profiles)."""
    with _secrets_lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` without registered secrets (also URL-encoded) and without token-looking strings."""
    if not text:
        return text
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: a secret inside another
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret), repr(secret)[1:-1]}:
            if form:
                text = text.replace(form, REDACTED)
    for pattern, replacement in _patterns():
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class CrashReport:
    """One bug: what was raised, where, and when. Texts are raw; redact before showing."""

    exc_type: str
    message: str
    traceback: str
    thread: str = "MainThread"
    when: float = field(default_factory=time.time)
    # The exception itself (kept alive while shown) so the same one is never listed twice.
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def summary(self) -> str:
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type

    @classmethod
    def from_exception(cls, exc: BaseException, traceback_text: str | None = None,
                       thread: str | None = None) -> CrashReport:
        if traceback_text is None:
            traceback_text = getattr(exc, "__lms_traceback__", None) or "".join(
                traceback.format_exception(type(exc), exc, exc.__traceback__)
            )
        return cls(
            exc_type=f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins."),
            message=str(exc),
            traceback=traceback_text,
            thread=thread or threading.current_thread().name,
            exception=exc,
        )


class CrashHandler(QObject):
    """Receives bugs from any thread and shows them in one crash dialog on the GUI thread.

    Signals:
        crash_reported(CrashReport): a bug was reported (after it reached the GUI thread).
    """

    crash_reported = Signal(object)
    # Internal: worker threads (and excepthook) hand reports over through this queued signal.
    _received = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__()
        self._parent_widget = parent_widget
        self._dialog = None
        self._received.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def set_parent_widget(self, widget: QWidget | None) -> None:
        """The window the dialog belongs to (the main window); None: the active window."""
        self._parent_widget = widget

    def dialog(self):
        return self._dialog

    def submit(self, report: CrashReport, *, queued: bool = True) -> None:
        """Report a bug from any thread; shown on the GUI thread."""
        log.error("Bug in %s: %s\n%s", report.thread, redact(report.summary), redact(report.traceback))
        on_gui_thread = QThread.currentThread() is self.thread()
        if queued or not on_gui_thread:
            self._received.emit(report)
        else:
            self._show(report)

    @Slot(object)
    def _show(self, report: CrashReport) -> None:
        from lms_console.views.dialogs.crash_dialog import CrashDialog  # dialog imports redact from here

        if self._dialog is None:
            parent = self._parent_widget or QApplication.activeWindow()
            self._dialog = CrashDialog(parent, redact=redact)
            self._dialog.finished.connect(self._on_dialog_finished)
            self._dialog.add_report(report)
            self._dialog.open()
        else:
            self._dialog.add_report(report)  # the dialog is modal: it is already on top
        self.crash_reported.emit(report)

    def close_dialog(self) -> None:
        if self._dialog is not None:
            self._dialog.close()
            self._dialog = None

    def _on_dialog_finished(self, _result: int) -> None:
        self._dialog = None


_state: dict[str, object] = {"handler": None, "installed": False, "sys_hook": None, "thread_hook": None}


def handler() -> CrashHandler:
    """The process-wide handler (created on first use; create it on the GUI thread)."""
    if _state["handler"] is None:
        _state["handler"] = CrashHandler()
    return _state["handler"]  # type: ignore[return-value]


def current_dialog():
    """The open crash dialog, or None."""
    h = _state["handler"]
    return h.dialog() if h is not None else None


def report_bug(exc: BaseException, traceback_text: str | None = None, *,
               parent: QWidget | None = None) -> None:
    """Show a bug in the crash dialog (call on the GUI thread; e.g. TaskRunner's error path).

    Reporting an exception the open dialog already lists does nothing.
    """
    h = handler()
    if parent is not None:
        h.set_parent_widget(parent)
    dialog = h.dialog()
    if dialog is not None and dialog.has_report(exc):
        return
    h.submit(CrashReport.from_exception(exc, traceback_text), queued=False)


def report_job_failure(info: object, exc: BaseException) -> None:
    """Slot for ``TaskRunner.job_failed``: bugs go to the crash dialog; the LMS's and the admin's input's
    problems (shown where they happened) do not."""
    if isinstance(exc, EXPECTED) or not getattr(info, "is_bug", True):
        return
    report_bug(exc, getattr(exc, "__lms_traceback__", None))


def _sys_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, (KeyboardInterrupt, SystemExit)) or QApplication.instance() is None:
        original = _state["sys_hook"] or sys.__excepthook__
        original(exc_type, exc, tb)  # type: ignore[operator]
        return
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    handler().submit(CrashReport.from_exception(exc, text, threading.current_thread().name))


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None or QApplication.instance() is None:
        original = _state["thread_hook"] or threading.__excepthook__
        original(args)  # type: ignore[operator]
        return
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    name = args.thread.name if args.thread is not None else "worker thread"
    handler().submit(CrashReport.from_exception(args.exc_value, text, name))  # queued to the GUI thread


def install(parent: QWidget | None = None) -> CrashHandler:
    """Route uncaught exceptions (GUI and worker threads) to the crash dialog.

    Call on the GUI thread after the QApplication exists. Idempotent.
    """
    h = handler()
    if parent is not None:
        h.set_parent_widget(parent)
    if not _state["installed"]:
        _state["sys_hook"] = sys.excepthook
        _state["thread_hook"] = threading.excepthook
        sys.excepthook = _sys_hook
        threading.excepthook = _thread_hook
        _state["installed"] = True
    return h


def uninstall() -> None:
    """Restore the hooks found at :func:`install`, close the dialog and drop the handler."""
    if _state["installed"]:
        sys.excepthook = _state["sys_hook"]  # type: ignore[assignment]
        threading.excepthook = _state["thread_hook"]  # type: ignore[assignment]
        _state["installed"] = False
        _state["sys_hook"] = _state["thread_hook"] = None
    h = _state["handler"]
    if h is not None:
        h.close_dialog()  # type: ignore[attr-defined]
        h.deleteLater()  # type: ignore[attr-defined]
        _state["handler"] = None


def is_installed() -> bool:
    return bool(_state["installed"])
