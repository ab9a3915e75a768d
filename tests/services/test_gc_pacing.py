"""gc_pacing: long jobs keep the cyclic collector's full passes (which hold the GIL, so the GUI
waits) out of their way, and put the collector back as it was when the last of them ends."""

from __future__ import annotations

import gc
import threading

import pytest

from lms_console.services.gc_pacing import DEFERRED_THRESHOLD, cyclic_gc_paused, full_collections_deferred


def full_passes_during(work) -> int:
    """How many generation-2 collections start while ``work()`` runs (after a full pass now)."""
    gc.collect()
    seen = []

    def watch(phase, info):
        if phase == "start" and info["generation"] == 2:
            seen.append(info)

    gc.callbacks.append(watch)
    try:
        work()
    finally:
        gc.callbacks.remove(watch)
    return len(seen)


def streaming_work():
    """What a sync does to the collector: many container objects that live long enough to reach the
    oldest generation (more than a quarter of what is there already, so a full pass is due)."""
    kept = [[i] for i in range(len(gc.get_objects()) // 2 + 50_000)]
    for _ in range(20):  # young collections go on meanwhile
        junk = [[j] for j in range(2_000)]
        del junk
    kept.clear()


@pytest.fixture(autouse=True)
def collector_as_found():
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    gc.enable()
    yield
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


def test_streaming_work_triggers_full_passes_unless_they_are_deferred():
    assert full_passes_during(streaming_work) >= 1  # the problem, without the remedy
    before = gc.get_threshold()
    with full_collections_deferred():
        assert gc.get_threshold() == (*before[:2], DEFERRED_THRESHOLD)
        assert full_passes_during(streaming_work) == 0
        assert gc.isenabled()
    assert gc.get_threshold() == before


def test_deferral_is_reentrant_across_threads_and_survives_errors():
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other_job():
        with full_collections_deferred():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other_job)
    with pytest.raises(RuntimeError), full_collections_deferred():
        t.start()
        assert inside.wait(10)
        with full_collections_deferred():
            pass
        assert gc.get_threshold()[2] == DEFERRED_THRESHOLD  # the nested one left it deferred
        raise RuntimeError("the job failed")
    assert gc.get_threshold()[2] == DEFERRED_THRESHOLD  # the other job still runs
    release.set()
    t.join(10)
    assert gc.get_threshold() == before


def test_pausing_turns_the_collector_off_and_back_only_if_it_was_on():
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    with cyclic_gc_paused():
        pass
    assert not gc.isenabled()  # someone else had it off: it stays off
