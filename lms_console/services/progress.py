"""Progress reporting and cancellation for long jobs, free of any GUI toolkit.

Services take a ``progress`` callable and a :class:`CancelToken`; the Qt side
(``models/tasks.py``) and the CLI (a terminal progress bar) adapt them.
"""

from __future__ import annotations

import threading
from typing import Callable, NamedTuple, Protocol

from lms_console.services.lms.errors import Cancelled


class ProgressEvent(NamedTuple):
    """One progress report: ``done`` of ``total`` units (``total`` 0 = unknown) in ``stage``.

    (The records made before the window's first paint are named tuples: importing dataclasses costs
    ~4 ms there.)"""

    stage: str
    done: int
    total: int = 0
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return (self.done / self.total) if self.total else None


class ProgressSink(Protocol):
    def __call__(self, event: ProgressEvent) -> None: ...


def no_progress(event: ProgressEvent) -> None:
    """A progress sink that ignores everything."""


class CancelToken:
    """Thread-safe cancellation flag, checked by services between pages and chunks."""

    __slots__ = ("_event", "_callbacks", "_lock")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True (early) if cancelled meanwhile."""
        return self._event.wait(seconds)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when cancelled (immediately if already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()


class _NeverCancelled(CancelToken):
    """A shared token for callers that offer no Cancel; cancelling it is a bug."""

    __slots__ = ()

    def cancel(self) -> None:
        raise RuntimeError("NEVER_CANCELLED cannot be cancelled; create a CancelToken")


NEVER_CANCELLED = _NeverCancelled()
