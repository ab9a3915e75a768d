"""The benchmark harness (benchmarks/): listing, the RESULT line, the ingest data generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    import benchmarks._common as common
    import benchmarks.bench_ingest as ingest
    return common, ingest


def test_list_names_the_ingest_benchmark() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--list"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    names = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    assert {"ingest", "sync", "startup", "gui_latency"} <= set(names)


def test_unknown_benchmark_is_a_usage_error() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "nope"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "unknown benchmark" in out.stderr


def test_result_line_format(bench) -> None:
    common, _ = bench
    ok = common.Result("ingest", 0.8123, "ratio", 0.6)
    assert ok.line() == "RESULT name=ingest value=0.812 unit=ratio target=0.6 pass=yes"
    assert common.Result("x", 2.0, "s", 1.5, lower_is_better=True).line().endswith("pass=no")


def test_generated_users_are_deterministic_and_realistic(bench) -> None:
    _, ingest = bench
    a, b = ingest.make_users(500), ingest.make_users(500)
    assert a == b
    assert len({u.email for u in a}) == 500 and len({u.username for u in a}) == 500
    assert all(len(u.customfields) == 2 for u in a)
    changed = ingest.modify(a)
    assert [u.id for u in changed] == [u.id for u in a] and changed != a


def test_writer_and_raw_baseline_build_identical_caches(bench, tmp_path) -> None:
    _, ingest = bench
    users = ingest.make_users(300)
    changed = ingest.modify(users)
    ingest._writer_passes(tmp_path / "w.sqlite", users, changed)
    ingest._raw_passes(tmp_path / "r.sqlite", ingest._rows(users), ingest._rows(changed))
    assert ingest._fingerprint(tmp_path / "w.sqlite") == ingest._fingerprint(tmp_path / "r.sqlite")
