"""Helpers shared by the benchmarks: timing with repeats, peak memory, temp dirs, the RESULT line."""

from __future__ import annotations

import gc
import resource
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator


@dataclass
class Result:
    """What a benchmark reports. ``value`` is compared with ``target`` (``>=`` unless ``lower_is_better``)."""

    name: str
    value: float
    unit: str
    target: float
    lower_is_better: bool = False
    details: list[str] = field(default_factory=list)
    # Further targets the benchmark also has to meet (each named in ``details``).
    also_required: list[bool] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        ok = self.value <= self.target if self.lower_is_better else self.value >= self.target
        return ok and all(self.also_required)

    def line(self) -> str:
        return (f"RESULT name={self.name} value={self.value:.3f} unit={self.unit} "
                f"target={self.target:g} pass={'yes' if self.passed else 'no'}")


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call (after a GC, so garbage of the previous step is not billed here)."""
    return timed_both(fn)[0]


def timed_both(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call. CPU time of this process is what other processes on a shared
    machine disturb least, so ratios of in-process, CPU-bound work are best taken on it."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def repeat(fn: Callable[[], float], repeats: int) -> list[float]:
    """Run ``fn`` (which returns its own measured seconds) ``repeats`` times."""
    return [fn() for _ in range(repeats)]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@contextmanager
def temp_dir(prefix: str = "lms-bench-") -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def say(msg: str) -> None:
    print(msg, flush=True)


def bare_member_adds(db, site, cohortid: int, users, timeout: float = 300) -> tuple[float, int]:
    """The baseline of the apply and membership benchmarks: the calls the change engine makes to add
    ``users`` to ``cohortid`` (same chunks, same fields), sent with requests and nothing else.
    Returns (seconds, number of calls)."""
    import requests

    from lms_console.services import changes as C

    plan = C.plan_changes(db, [C.Change("cohort.add_member", {"cohortid": cohortid, "userid": u}) for u in users])
    calls = C.api_calls(plan)
    bodies = [[(k, site.admin_token if k == "wstoken" else v) for k, v in call.fields] for call in calls]
    with requests.Session() as http:
        t0 = time.perf_counter()
        for body in bodies:
            http.post(site.rest_url, data=body, timeout=timeout).raise_for_status()
        return time.perf_counter() - t0, len(calls)
