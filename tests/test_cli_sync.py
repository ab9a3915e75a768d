"""`lms-console sync` and `doctor` as a user runs them, including SIGKILL in the middle of a sync."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from lms_console.sandbox.server import SandboxServer
from lms_console.services.cache.db import CacheDb
from lms_console.services.credentials import MemoryTokenStore
from lms_console.services.profiles import ProfileStore


@pytest.fixture
def server():
    s = SandboxServer(users=250, courses=5, seed=21).start()
    yield s
    s.stop()


def _cli(args, token, timeout=180, **kw):
    env = dict(os.environ, LMS_CONSOLE_TOKEN=token, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "lms_console", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, **kw)


@pytest.fixture
def profile(server):
    store = ProfileStore(tokens=MemoryTokenStore())
    return store.add("sandbox", server.url)


def test_doctor_reports_a_healthy_site(server, profile):
    out = _cli(["doctor", "-p", "sandbox"], server.admin_token)
    assert out.returncode == 0, out.stderr
    assert "Site admin:      yes" in out.stdout and "Healthy" in out.stdout
    assert server.admin_token not in out.stdout + out.stderr


def test_doctor_names_missing_functions_and_the_fix(server, profile):
    token = server.token_missing_functions(["core_user_create_users", "core_cohort_get_cohorts"])
    out = _cli(["doctor", "-p", "sandbox"], token)
    assert out.returncode == 1
    assert "missing: core_user_create_users" in out.stdout
    assert "fix: Add core_user_create_users to the service (Site administration > Server > Web services" \
        in out.stdout
    assert "NOT healthy" in out.stdout and token not in out.stdout


def test_doctor_with_a_non_admin_and_a_bad_token(server, profile):
    out = _cli(["doctor", "-p", "sandbox", "--json"], server.limited_token)
    assert out.returncode == 1 and '"site_admin": false' in out.stdout
    out = _cli(["doctor", "-p", "sandbox"], "0" * 32)
    assert out.returncode == 1
    assert "invalidtoken" in out.stdout and "Paste a valid token" in out.stdout


def test_sync_command_prints_a_summary(server, profile):
    out = _cli(["sync", "-p", "sandbox", "--only", "users,cohorts", "-q"], server.admin_token)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "users" in out.stdout and "cohorts" in out.stdout and ": ok" in out.stdout
    bad = _cli(["sync", "-p", "sandbox", "--only", "users,bogus"], server.admin_token)
    assert bad.returncode == 2 and "unknown entity bogus" in bad.stderr


def test_sync_completion_all_reads_every_enrolled_users_progress(server, profile):
    server.clear_requests()
    out = _cli(["sync", "-p", "sandbox", "--only", "site,courses,users,enrolments,completion", "--completion", "all",
                "-q"], server.admin_token)
    assert out.returncode == 0, out.stdout + out.stderr
    reads = {r["params"]["userid"] for r in server.requests if r["function"] == "core_enrol_get_users_courses"}
    with server.store.connection() as conn:
        enrolled = {str(r[0]) for r in conn.execute(
            "SELECT DISTINCT ue.userid FROM user_enrolments ue JOIN user u ON u.id = ue.userid WHERE u.deleted = 0")}
    assert {str(u) for u in reads} >= enrolled - {"1"} and len(reads) > 10
    bad = _cli(["sync", "-p", "sandbox", "--completion", "some"], server.admin_token)
    assert bad.returncode == 2 and "--completion" in bad.stderr


@pytest.mark.parametrize("only", [",", "", " , ,"])
def test_sync_refuses_an_empty_only_list(server, profile, only):
    server.clear_requests()
    out = _cli(["sync", "-p", "sandbox", "--only", only], server.admin_token)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"--only {only!r} names no entity" in out.stderr and "users, cohorts" in out.stderr
    assert server.requests == []  # refused before connecting


def test_commands_without_p_use_the_profile_used_last(server, profile, tmp_path):
    store = ProfileStore(tokens=MemoryTokenStore())
    store.add("other", "http://127.0.0.1:9")  # nothing listens there
    out = _cli(["doctor"], server.admin_token)
    assert out.returncode == 2 and "Several profiles exist and none was used yet" in out.stderr

    out = _cli(["sync", "-p", "sandbox", "--only", "site,users", "-q"], server.admin_token)
    assert out.returncode == 0, out.stderr
    assert store.last_used().name == "sandbox"
    for args in (["doctor"], ["sync", "--only", "site", "-q"], ["journal"], ["report", "snapshots"]):
        out = _cli(args, server.admin_token)
        assert out.returncode == 0, (args, out.stdout + out.stderr)
    assert "Sync of sandbox" in _cli(["sync", "--only", "site", "-q"], server.admin_token).stdout

    # A command that failed on a profile does not make it the default...
    failed = _cli(["doctor", "-p", "other"], server.admin_token, timeout=60)
    assert failed.returncode == 1 and store.last_used().name == "sandbox"
    # ... one that succeeded does, and the next run without -p follows it.
    plan = tmp_path / "plan.json"
    plan.write_text('[{"kind": "user.suspend", "id": 10}]')
    assert _cli(["journal", "-p", "other"], server.admin_token).returncode == 0
    assert store.last_used().name == "other"
    out = _cli(["doctor"], server.admin_token, timeout=60)
    assert out.returncode == 1 and "127.0.0.1:9" in out.stdout
    assert _cli(["apply", "-p", "sandbox", str(plan), "--dry-run"], server.admin_token).returncode == 0
    assert store.last_used().name == "sandbox"


@pytest.mark.slow
def test_sigkill_during_sync_never_corrupts_the_cache_and_a_resync_completes(server, profile):
    server.set_faults(latency_ms=30)
    rng = random.Random(20261128)
    kills = 0
    for _ in range(8):
        env = dict(os.environ, LMS_CONSOLE_TOKEN=server.admin_token)
        proc = subprocess.Popen([sys.executable, "-m", "lms_console", "sync", "-p", "sandbox", "-q",
                                 "--concurrency", "4"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 2.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
        with CacheDb.open(profile.cache_path) as db:
            assert db.integrity_check() == []
    assert kills >= 5
    server.clear_faults()
    out = _cli(["sync", "-p", "sandbox", "-q"], server.admin_token, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        assert db.integrity_check() == []
        users = conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one()
        enrolments = conn.execute(text("SELECT COUNT(*) FROM enrolments")).scalar_one()
    with server.store.connection() as conn:
        assert users == conn.execute("SELECT COUNT(*) FROM user WHERE deleted = 0").fetchone()[0]
        assert enrolments == conn.execute("SELECT COUNT(DISTINCT e.courseid || '-' || ue.userid) FROM "
                                          "user_enrolments ue JOIN enrol e ON e.id = ue.enrolid").fetchone()[0]
