"""Keeping Python's cyclic garbage collector out of the way of long jobs.

A full (generation 2) collection walks every container object the process holds, and it holds
the GIL while it does: whichever thread triggers it, the GUI thread waits. Long jobs that stream
data through (a sync of 100,000 accounts keeps pages of ``User`` objects alive long enough to
reach the old generation, then drops them) trigger one full pass after another: ten or so of
60-300 ms each per 100,000-user sync, seen as the window freezing.

Two remedies, both re-entrant and safe from any thread (they set process-wide state, restored
when the last holder leaves):

- :func:`full_collections_deferred`: the young generations are still collected (cycles made
  and dropped within a page go at once); full passes wait until the job ends. For jobs whose
  garbage is freed by reference counting anyway (sync).
- :func:`cyclic_gc_paused`: no cyclic collection at all. For jobs that build many container
  objects which all live until the job returns and form no cycles (the import dry run).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Full passes run when the middle generation has been collected this many times (default 10).
DEFERRED_THRESHOLD = 1_000_000_000

_lock = threading.Lock()
_deferring = 0
_saved_threshold: tuple[int, ...] = ()
_pausing = 0
_was_enabled = False


@contextmanager
def full_collections_deferred() -> Iterator[None]:
    global _deferring, _saved_threshold
    with _lock:
        if _deferring == 0:
            _saved_threshold = gc.get_threshold()
            gc.set_threshold(*_saved_threshold[:2], DEFERRED_THRESHOLD)
        _deferring += 1
    try:
        yield
    finally:
        with _lock:
            _deferring -= 1
            if _deferring == 0:
                gc.set_threshold(*_saved_threshold)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    global _pausing, _was_enabled
    with _lock:
        if _pausing == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _lock:
            _pausing -= 1
            if _pausing == 0 and _was_enabled:
                gc.enable()


__all__ = ["DEFERRED_THRESHOLD", "cyclic_gc_paused", "full_collections_deferred"]
