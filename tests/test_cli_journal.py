"""`lms-console journal`: bad filters and export paths get one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lms_console.cli import main
from lms_console.services.cache.db import CacheDb
from lms_console.services.credentials import MemoryTokenStore
from lms_console.services.profiles import ProfileStore


@pytest.fixture
def profile():
    p = ProfileStore(tokens=MemoryTokenStore()).add("site", "http://127.0.0.1:9")
    p.cache_path.parent.mkdir(parents=True, exist_ok=True)
    with CacheDb.open(p.cache_path):
        pass
    return p


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "lms_console", "journal", "-p", "site", *args],
                          capture_output=True, text=True, env=dict(os.environ), timeout=120)


def test_an_unknown_status_is_refused_naming_the_valid_ones(profile):
    out = _cli("--status", "bogus")
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stdout == ""
    assert "--status: invalid choice: 'bogus'" in out.stderr
    for status in ("queued", "done", "failed", "skipped", "held", "undone"):
        assert f"'{status}'" in out.stderr
    out = _cli("--status", "FAILED", "--status", "done")
    assert out.returncode == 0 and "No journal entries match." in out.stdout


@pytest.mark.parametrize("name", ["j.csv", "j.xlsx"])
def test_export_to_a_missing_folder_is_one_line(profile, tmp_path, name):
    target = tmp_path / "no" / "such" / name
    out = _cli("--export", str(target))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [(f"lms-console: error: --export {str(target)!r}: the folder "
                                        f"{str(target.parent)!r} does not exist; create it first or choose "
                                        "another place.")]


def test_export_and_limit_checks(capsys, profile, tmp_path):
    assert main(["journal", "-p", "site", "--export", str(tmp_path / "j.txt")]) == 2
    assert "the file must end in .csv or .xlsx" in capsys.readouterr().err
    assert main(["journal", "-p", "site", "--export", str(tmp_path / "j.csv")]) == 0
    assert "0 journal entries written" in capsys.readouterr().out and (tmp_path / "j.csv").exists()
    assert main(["journal", "-p", "site", "--limit", "0"]) == 2
    assert "--limit 0: must be at least 1" in capsys.readouterr().err


def test_a_profile_never_synced_has_an_empty_journal_and_gets_no_empty_cache_file(capsys):
    p = ProfileStore(tokens=MemoryTokenStore()).add("fresh", "http://127.0.0.1:9")
    assert main(["journal", "-p", "fresh"]) == 0
    assert "The journal of fresh is empty" in capsys.readouterr().out
    assert not p.cache_path.exists()  # a report run next still says "sync first"
