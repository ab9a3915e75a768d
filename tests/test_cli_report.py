"""`lms-console report` as an admin runs it: every format, parameters by name, snapshots, clear errors."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from lms_console.cli import main
from lms_console.sandbox.server import SandboxServer
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.credentials import MemoryTokenStore
from lms_console.services.lms.http import HttpTransport
from lms_console.services.lms.moodle import MoodleClient
from lms_console.services.profiles import ProfileStore
from lms_console.services.sync import ENTITIES, SyncEngine, SyncOptions


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A cache file of a synced sandbox (grades included), copied into each test's profile."""
    path = tmp_path_factory.mktemp("report-cli") / "template.sqlite"
    server = SandboxServer(users=150, courses=5, seed=11).start()
    transport = HttpTransport(server.url)
    try:
        with CacheDb.open(path) as db, CacheWriter(db) as writer, ThreadPoolExecutor(4) as pool:
            result = SyncEngine(MoodleClient(transport, server.admin_token), db, writer, pool,
                                SyncOptions(entities=ENTITIES, concurrency=4)).run()
            assert result.status == "ok"
    finally:
        transport.close()
        server.stop()
    return path


@pytest.fixture
def profile(synced):
    p = ProfileStore(tokens=MemoryTokenStore()).add("site", "http://127.0.0.1:9")
    p.cache_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(synced, p.cache_path)
    return p


def run(capsys, *args):
    code = main(["report", *args, "-p", "site"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_csv_to_stdout_with_notes_on_stderr(capsys, profile):
    code, out, err = run(capsys, "completion")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["Course", "Learners", "Completed"] and len(rows) > 2
    assert "_key" not in out
    assert "Completion rates:" in err and "data as of" in err and "note: Learners" in err


@pytest.mark.parametrize("fmt, magic", [("xlsx", b"PK"), ("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF"),
                                        ("csv", b"\xef\xbb\xbf")])
def test_every_format_to_a_file(capsys, profile, tmp_path, fmt, magic):
    path = tmp_path / f"out.{fmt}"
    code, _out, err = run(capsys, "enrolments", "--group-by", "category", "--format", fmt, "--output", str(path))
    assert code == 0 and f"Wrote {path}" in err
    assert path.read_bytes().startswith(magic)


def test_binary_formats_get_a_default_file_name(capsys, profile, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run(capsys, "engagement", "--format", "png", "--theme", "dark")
    assert code == 0
    files = list(tmp_path.glob("report-engagement-*.png"))
    assert len(files) == 1 and files[0].name in err


def test_parameters_by_name_and_compliance(capsys, profile):
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        course = conn.exec_driver_sql("SELECT shortname FROM courses WHERE format <> 'site' AND enablecompletion = 1 "
                                      "ORDER BY id LIMIT 1").scalar()
        cohort = conn.exec_driver_sql("SELECT name FROM cohorts ORDER BY id LIMIT 1").scalar()
    code, out, err = run(capsys, "compliance", "--cohort", cohort, "--require", f"{course.lower()}@2020-01-31",
                         "--table", "matrix")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["Name", "Email", "Department"] and course in rows[0]
    assert any(r[rows[0].index(course)].startswith(("Overdue", "Completed")) for r in rows[1:])
    code, out, _err = run(capsys, "completion", "--course", course, "--from", "2020-01-01", "--to", "2030-12-31")
    assert code == 0 and "Completed in period" in out.splitlines()[0] and len(out.splitlines()) == 2


def test_snapshot_then_list_then_export_offline(capsys, profile, tmp_path):
    code, _out, err = run(capsys, "completion", "--group-by", "cohort", "--snapshot")
    assert code == 0 and "Saved as snapshot 1." in err
    code, out, _err = run(capsys, "snapshots")
    assert code == 0 and "Completion rates" in out and "saved" in out
    code, out, err = run(capsys, "completion", "--open-snapshot", "1", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("Cohort,")
    code, _out, err = run(capsys, "engagement", "--open-snapshot", "1")
    assert code == 2 and "is a completion report" in err


def test_an_unknown_required_course_names_the_option_given(capsys, profile):
    """QA: `--require NOPE101` was reported as "--course 'NOPE101'"; the admin never typed --course."""
    code, _out, err = run(capsys, "compliance", "--require", "NOPE101@2026-09-30")
    assert code == 2 and "--require 'NOPE101': no such course" in err and "--course" not in err


def test_clear_errors(capsys, profile):
    code, _out, err = run(capsys, "completion", "--course", "NO-SUCH-COURSE")
    assert code == 2 and "no such course" in err and "Traceback" not in err
    code, _out, err = run(capsys, "completion", "--from", "31/01/2020")
    assert code == 2 and "not a date" in err
    code, _out, err = run(capsys, "completion", "--value", "x")
    assert code == 2 and "--value needs --field" in err
    code, _out, err = run(capsys, "compliance")
    assert code == 1 and "Nothing to report: Choose the required courses" in err
    code, _out, err = run(capsys, "enrolments", "--group-by", "cohort")
    assert code == 2 and "groups by course, category" in err


def test_missing_data_names_the_command_that_fetches_it(capsys, profile):
    with CacheDb.open(profile.cache_path) as db, CacheWriter(db) as w, w.batch() as raw:
        raw.execute("DELETE FROM grade_items")
    code, _out, err = run(capsys, "assessment")
    assert code == 1 and "Nothing to report: Grades for these courses are not in the local copy" in err
    assert "to fetch the grades: lms-console sync -p site --only grades" in err
    assert "“" not in err and "›" not in err  # no GUI words (buttons, menus) in the terminal


def test_formula_safe_csv(capsys, profile):
    with CacheDb.open(profile.cache_path) as db, CacheWriter(db) as w, w.batch() as raw:
        raw.execute("UPDATE courses SET shortname = '=cmd|'' /c calc''!A1' WHERE id = "
                    "(SELECT min(id) FROM courses WHERE format <> 'site' AND enablecompletion = 1)")
    code, out, _err = run(capsys, "completion")
    assert code == 0 and "\n'=cmd|" in out


def test_a_profile_without_a_cache(capsys, tmp_path):
    ProfileStore(tokens=MemoryTokenStore()).add("site", "http://127.0.0.1:9")
    code, _out, err = run(capsys, "completion")
    assert code == 2 and "no local copy yet" in err


def test_a_from_date_after_the_to_date_is_refused(capsys, profile):
    code, out, err = run(capsys, "completion", "--from", "2026-12-01", "--to", "2026-01-01")
    assert code == 2 and out == ""
    assert "--from 2026-12-01 is after --to 2026-01-01" in err
    code, _out, _err = run(capsys, "completion", "--from", "2026-01-01", "--to", "2026-01-01")
    assert code == 0  # one day is a range


def test_a_bad_table_is_refused_before_the_snapshot_is_saved(capsys, profile):
    code, _out, err = run(capsys, "completion", "--snapshot", "--table", "nope")
    assert code == 2 and "--table 'nope': no such table in this report; its tables are rates" in err
    assert "Saved as snapshot" not in err
    code, out, _err = run(capsys, "snapshots")
    assert code == 0 and "No snapshots saved yet" in out


@pytest.mark.parametrize("fmt", ["xlsx", "png", "csv"])
def test_an_output_folder_that_does_not_exist_is_one_line_and_nothing_else(profile, tmp_path, fmt):
    target = tmp_path / "no" / "such" / f"x.{fmt}"
    out = subprocess.run([sys.executable, "-m", "lms_console", "report", "engagement", "-p", "site", "--format", fmt,
                          "-o", str(target)], capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [(f"lms-console: error: --output {str(target)!r}: the folder "
                                        f"{str(target.parent)!r} does not exist; create it first or choose "
                                        "another place.")]
    assert not target.parent.exists()


def test_an_output_that_is_a_folder_or_under_a_file_is_refused(capsys, profile, tmp_path):
    code, _out, err = run(capsys, "engagement", "--format", "xlsx", "-o", str(tmp_path))
    assert code == 2 and "is a folder; give a file name inside it" in err
    (tmp_path / "file").write_text("x")
    code, _out, err = run(capsys, "engagement", "--format", "xlsx", "-o", str(tmp_path / "file" / "x.xlsx"))
    assert code == 2 and "is a file, not a folder" in err


def test_a_report_makes_its_profile_the_default(capsys, profile):
    store = ProfileStore(tokens=MemoryTokenStore())
    store.add("other", "http://127.0.0.1:9")
    assert main(["report", "snapshots"]) == 2  # two profiles, none used yet
    assert "none was used yet" in capsys.readouterr().err
    code, _out, _err = run(capsys, "completion")
    assert code == 0 and store.last_used().name == "site"
    assert main(["report", "completion"]) == 0
    code, _out, _err = run(capsys, "completion", "--course", "NO-SUCH-COURSE")  # a failed report changes nothing
    assert code == 2 and store.last_used().name == "site"


def test_opening_a_snapshot_that_does_not_exist_says_so(capsys, profile):
    code, out, err = run(capsys, "completion", "--open-snapshot", "999")
    assert code == 2 and out == "" and "never synced" not in err
    assert "No snapshot 999 in the local copy of profile 'site' (none saved yet)" in err
    assert "lms-console report snapshots -p site" in err
    assert run(capsys, "completion", "--snapshot")[0] == 0
    code, _out, err = run(capsys, "completion", "--open-snapshot", "999")
    assert code == 2 and "No snapshot 999" in err and "(saved: 1)" in err
