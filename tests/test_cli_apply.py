"""`lms-console apply` as a user runs it, including SIGKILL at random moments during a 500-item apply."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from lms_console.sandbox.server import SandboxServer
from lms_console.services.cache.db import CacheDb
from lms_console.services.credentials import MemoryTokenStore
from lms_console.services.profiles import ProfileStore


@pytest.fixture
def bare_site(tmp_path):
    """A sandbox and its profile, never synced (for plan files refused before the local copy is read)."""
    server = SandboxServer(users=700, courses=2, seed=31).start()
    profile = ProfileStore(tokens=MemoryTokenStore()).add("sandbox", server.url)
    yield server, profile
    server.stop()


@pytest.fixture
def site(bare_site, synced_template):
    """The sandbox and its profile, synced (in this process: `lms-console sync` has its own tests)."""
    server, profile = bare_site
    synced_template(server, profile.cache_path, ("site", "users", "cohorts"))
    return server, profile


def _env(token):
    return dict(os.environ, LMS_CONSOLE_TOKEN=token, PYTHONUNBUFFERED="1")


def _cli(args, token, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "lms_console", *args], capture_output=True, text=True,
                          env=_env(token), timeout=timeout, **kw)


def _plan_file(tmp_path, server, n=500):
    with server.store.connection() as conn:
        cohort = conn.execute("SELECT id FROM cohort ORDER BY id LIMIT 1").fetchone()[0]
        users = [r[0] for r in conn.execute(
            "SELECT id FROM user WHERE deleted = 0 AND id > 3 AND id NOT IN "
            "(SELECT userid FROM cohort_members WHERE cohortid = ?) ORDER BY id LIMIT ?", (cohort, n))]
    assert len(users) == n
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"title": "Add 500 to a cohort", "changes": [
        {"kind": "cohort.add_member", "cohortid": cohort, "userid": u} for u in users]}))
    return path, cohort, users


def test_dry_run_shows_the_plan_and_sends_nothing(site, tmp_path):
    server, _ = site
    path, cohort, users = _plan_file(tmp_path, server, n=5)
    server.clear_requests()
    out = _cli(["apply", "-p", "sandbox", str(path), "--dry-run", "--show-calls"], server.admin_token)
    assert out.returncode == 0, out.stderr
    assert "5 to apply" in out.stdout and "CALL core_cohort_add_cohort_members" in out.stdout
    assert "wstoken=***" in out.stdout and server.admin_token not in out.stdout
    assert not [r for r in server.requests if r["function"] == "core_cohort_add_cohort_members"]


def test_the_plan_says_before_and_after_in_the_previews_words(site, tmp_path):
    """QA: the command line printed `[suspended: False -> True]`; the preview says yes/no and (empty)."""
    server, _ = site
    with server.store.connection() as conn:
        one, other = (r[0] for r in conn.execute(
            "SELECT id FROM user WHERE deleted = 0 AND suspended = 0 AND id > 3 AND department = '' ORDER BY id LIMIT 2"))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([{"kind": "user.suspend", "id": one},
                                {"kind": "user.update", "id": other, "fields": {"department": "Sales"}}]))
    out = _cli(["apply", "-p", "sandbox", str(path), "--dry-run"], server.admin_token)
    assert out.returncode == 0, out.stderr
    assert "[suspended: no -> yes]" in out.stdout and "[department: (empty) -> Sales]" in out.stdout
    assert "False" not in out.stdout and "''" not in out.stdout


def test_bad_plan_files_get_clear_messages(bare_site, tmp_path):
    server, _ = bare_site
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = _cli(["apply", "-p", "sandbox", str(bad)], server.admin_token)
    assert out.returncode == 2 and "not valid JSON: line 1" in out.stderr
    bad.write_text(json.dumps({"changes": [{"id": 1}]}))
    out = _cli(["apply", "-p", "sandbox", str(bad)], server.admin_token)
    assert out.returncode == 2 and "change 1" in out.stderr and "kind" in out.stderr


@pytest.mark.parametrize("doc, words", [
    (["str"], "change 1 is a string ('str'), not a change object"),
    ([{"kind": "user.suspend", "id": 10}, None], "change 2 is null, not a change object"),
    ({"changes": [{"kind": "user.suspend", "id": 10}, 7]}, "change 2 is a number (7), not a change object"),
    ("str", "holds a string ('str'); expected a list of changes"),
    (42, "holds a number (42); expected a list of changes"),
    ({"title": "x"}, "the object has no 'changes'"),
    ({"changes": "users"}, "'changes' is a string ('users'); expected a list of changes"),
])
def test_plan_entries_that_are_not_change_objects_are_named(bare_site, tmp_path, doc, words):
    server, _ = bare_site
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    server.clear_requests()
    out = _cli(["apply", "-p", "sandbox", str(bad)], server.admin_token)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1 and out.stderr.startswith(f"lms-console: error: {bad}: ")
    assert words in out.stderr and server.requests == []


def _active_users(server, n):
    with server.store.connection() as conn:
        return [r[0] for r in conn.execute(
            "SELECT id FROM user WHERE deleted = 0 AND suspended = 0 AND id > 3 ORDER BY id LIMIT ?", (n,))]


def test_exit_code_is_1_when_an_item_is_skipped(site, tmp_path):
    server, _ = site
    (uid,) = _active_users(server, 1)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([{"kind": "user.suspend", "id": uid}, {"kind": "user.suspend", "id": 999999}]))
    out = _cli(["apply", "-p", "sandbox", str(path), "-q"], server.admin_token)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "partial (1 done, 1 skipped)" in out.stdout
    assert "skipped    2 user:999999" in out.stdout and "no such user" in out.stdout
    # Every item through (the second run finds the user already suspended): 0.
    path.write_text(json.dumps([{"kind": "user.suspend", "id": uid}]))
    out = _cli(["apply", "-p", "sandbox", str(path), "-q"], server.admin_token)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_run_where_every_item_failed_is_labelled_failed(site, tmp_path):
    server, _ = site
    users = _active_users(server, 2)
    with server.store.connection() as conn:  # deleted on the site after the sync: the site refuses both
        conn.execute(f"UPDATE user SET deleted = 1 WHERE id IN ({users[0]}, {users[1]})")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([{"kind": "user.suspend", "id": u} for u in users]))
    out = _cli(["apply", "-p", "sandbox", str(path), "-q"], server.admin_token)
    assert out.returncode == 1
    assert "Run 1: failed (2 failed)" in out.stdout and "partial" not in out.stdout
    assert "deleted user" in out.stdout


def test_dry_run_needs_no_token_and_no_connection(site, tmp_path):
    server, _ = site
    path, _cohort, _users = _plan_file(tmp_path, server, n=3)
    env = {k: v for k, v in _env("").items() if k != "LMS_CONSOLE_TOKEN"}
    server.clear_requests()
    out = subprocess.run([sys.executable, "-m", "lms_console", "apply", "-p", "sandbox", str(path), "--dry-run",
                          "--show-calls"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "3 to apply" in out.stdout and "wstoken=***" in out.stdout
    assert server.requests == []
    # Sending still needs the token, and says so.
    out = subprocess.run([sys.executable, "-m", "lms_console", "apply", "-p", "sandbox", str(path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1 and "No token" in out.stderr and "LMS_CONSOLE_TOKEN" in out.stderr
    out = _cli(["apply", "-p", "sandbox", "--resume", "--dry-run"], server.admin_token)
    assert out.returncode == 2 and "--dry-run cannot be combined with --resume" in out.stderr


def test_deletes_need_an_explicit_yes(site, tmp_path):
    server, _ = site
    path = tmp_path / "delete.json"
    path.write_text(json.dumps([{"kind": "user.delete", "id": 10}]))
    out = _cli(["apply", "-p", "sandbox", str(path)], server.admin_token, stdin=subprocess.DEVNULL)
    assert out.returncode == 2 and "cannot be undone" in out.stderr and "--yes" in out.stderr


@pytest.mark.slow
def test_sigkill_during_apply_loses_nothing_and_applies_nothing_twice(site, tmp_path):
    server, profile = site
    path, cohort, users = _plan_file(tmp_path, server)
    server.set_faults(latency_ms=300)
    server.clear_requests()
    rng = random.Random(4242)
    kills = attempts = 0
    # Three kills, each at a random moment inside the apply: once the site has served 1-2 more of the
    # process's requests (reads, checks of unknown outcomes, member chunks), somewhere within the next
    # request's 300 ms. A fixed sleep instead would let the process finish the 500 items before the last.
    # (The check of a lost chunk reads the cohort once for all its items, so a resume gets far quickly:
    # the 500 items take only a handful of requests.)
    while kills < 3:
        attempts += 1
        assert attempts <= 20, f"the apply kept finishing before it could be killed ({kills} kills)"
        with CacheDb.open(profile.cache_path) as db, db.read() as conn:
            recorded = conn.exec_driver_sql("SELECT count(*) FROM change_runs").scalar()
        args = ["apply", "-p", "sandbox", "-q"] + (["--resume"] if recorded else [str(path), "--yes"])
        served = len(server.requests) + rng.randint(1, 2)
        proc = subprocess.Popen([sys.executable, "-m", "lms_console", *args], env=_env(server.admin_token),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and len(server.requests) < served and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.35))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
        with CacheDb.open(profile.cache_path) as db:
            assert db.integrity_check() == []
    # The kills fell inside the apply: member chunks reached the site before the clean resume below.
    assert any(r["function"] == "core_cohort_add_cohort_members" for r in server.requests)
    server.clear_faults()
    out = _cli(["apply", "-p", "sandbox", "--resume"], server.admin_token)
    assert out.returncode == 0, out.stdout + out.stderr
    # The journal says exactly what went through: every item done, nothing waiting.
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        statuses = dict(conn.exec_driver_sql("SELECT status, count(*) FROM change_items GROUP BY status").all())
        runs = conn.exec_driver_sql("SELECT count(*) FROM change_runs").scalar()
    assert runs == 1 and statuses == {"done": 500}
    # The site has every member, and received each of them in exactly one request.
    with server.store.connection() as conn:
        members = {r[0] for r in conn.execute("SELECT userid FROM cohort_members WHERE cohortid = ?", (cohort,))}
    assert set(users) <= members
    received: dict[int, int] = {}
    for req in server.requests:
        # Every request the site processed (the injected latency delays, it does not refuse).
        if req["function"] == "core_cohort_add_cohort_members" and req.get("fault") not in ("drop_before", "502",
                                                                                           "429"):
            for m in req["params"]["members"].values():
                uid = int(m["usertype"]["value"])
                received[uid] = received.get(uid, 0) + 1
    assert set(received) == set(users)
    assert max(received.values()) == 1, {u: n for u, n in received.items() if n > 1}


def test_apply_before_any_sync_says_so_and_creates_no_cache_file(tmp_path):
    p = ProfileStore(tokens=MemoryTokenStore()).add("fresh", "http://127.0.0.1:9")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([{"kind": "user.suspend", "id": 5}]), encoding="utf-8")
    for extra in ([], ["--dry-run"]):
        out = _cli(["apply", "-p", "fresh", str(plan), *extra], "a-token-for-this-run")
        assert out.returncode == 2 and "has no local copy yet" in out.stderr and "Traceback" not in out.stderr
    assert not p.cache_path.exists()


def _journal(profile):
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        runs = conn.exec_driver_sql("SELECT count(*) FROM change_runs").scalar()
        statuses = dict(conn.exec_driver_sql("SELECT status, count(*) FROM change_items GROUP BY status").all())
    return runs, statuses


def _suspended(server, ids):
    with server.store.connection() as conn:
        return {r[0] for r in conn.execute(
            f"SELECT id FROM user WHERE suspended = 1 AND id IN ({','.join(map(str, ids))})")}


def test_apply_while_the_site_cannot_be_reached_keeps_the_changes_in_the_outbox(site, tmp_path):
    server, profile = site
    users = _active_users(server, 2)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([{"kind": "user.suspend", "id": u} for u in users]))
    server.set_faults(drop_before_rate=1.0)  # every request dropped unanswered: offline
    out = _cli(["apply", "-p", "sandbox", str(path), "--yes", "-q"], server.admin_token)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "2 change(s) wait in the outbox: the site could not be reached" in out.stdout
    assert "lms-console apply -p sandbox --resume" in out.stdout and "Traceback" not in out.stderr
    assert server.admin_token not in out.stdout + out.stderr
    # Kept, and provably never sent: the site did not answer, so nothing went out into the void.
    runs, statuses = _journal(profile)
    assert (runs, statuses) == (1, {"queued": 2})
    assert not [r for r in server.requests if r["function"] == "core_user_update_users"]
    assert not _suspended(server, users)
    # Still offline: --resume says the same, and keeps them.
    out = _cli(["apply", "--resume", "-q"], server.admin_token)
    assert out.returncode == 3 and "2 change(s) wait in the outbox" in out.stdout, out.stdout + out.stderr
    # Back online: --resume (the profile remembered) sends them.
    server.clear_faults()
    out = _cli(["apply", "--resume", "-q"], server.admin_token)
    assert out.returncode == 0, out.stdout + out.stderr
    assert _journal(profile) == (1, {"done": 2}) and _suspended(server, users) == set(users)
    helptext = _cli(["apply", "--help"], server.admin_token).stdout
    assert "3 the site could not be reached: the changes wait in the outbox" in " ".join(helptext.split())


def test_apply_with_a_rejected_token_refuses_and_records_nothing(site, tmp_path):
    server, profile = site
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([{"kind": "user.suspend", "id": u} for u in _active_users(server, 1)]))
    out = _cli(["apply", "-p", "sandbox", str(path), "--yes", "-q"], "not-a-token-this-site-knows")
    assert out.returncode == 1 and "outbox" not in out.stdout, out.stdout + out.stderr
    assert _journal(profile) == (0, {})
