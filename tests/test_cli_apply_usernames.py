"""`lms-console apply` with users named as "username:jdoe": a username the local copy does not know is
that item's problem, planned and applied like any other item problem (not a usage error of the whole plan).

One sandbox and one synced local copy for the module; each test gets its own copy of the cache and its own
users on the site (applies change the site)."""

from __future__ import annotations

import json
import shutil

import pytest

from lms_console.cli import main
from lms_console.commands import apply_cmd  # noqa: F401  (see below)
from lms_console.sandbox.server import SandboxServer
from lms_console.services.cache.db import CacheDb
from lms_console.services.credentials import MemoryTokenStore
from lms_console.services.profiles import ProfileStore

# apply_cmd is imported above, not first by a test: its progress bar keeps the sys.stderr of import time,
# which must not be a test's capsys stream (closed after that test).
UNKNOWN = "userid='username:nosuchuser': no account with this username in the local copy (sync first if it is new)"


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=60, courses=2, seed=71).start()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def template(server, tmp_path_factory, synced_template):
    return synced_template(server, tmp_path_factory.mktemp("apply-usernames") / "template.sqlite",
                           ("site", "users", "cohorts"))


@pytest.fixture
def profile(server, template):
    p = ProfileStore(tokens=MemoryTokenStore()).add("sandbox", server.url)
    p.cache_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, p.cache_path)
    return p


@pytest.fixture
def apply(server, profile, capsys, monkeypatch, tmp_path):
    """``apply(changes, *flags) -> (exit code, stdout, stderr)``: the command, in this process."""
    monkeypatch.setenv("LMS_CONSOLE_TOKEN", server.admin_token)
    path = tmp_path / "plan.json"

    def run(changes, *flags):
        path.write_text(json.dumps(changes), encoding="utf-8")
        code = main(["apply", "-p", "sandbox", str(path), "-q", *flags])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _users(server, first, n=2):
    """``n`` active accounts (not the admin), from the ``first``-th: each test its own."""
    with server.store.connection() as conn:
        return [(r[0], r[1]) for r in conn.execute(
            "SELECT id, username FROM user WHERE deleted = 0 AND suspended = 0 AND id > 3 ORDER BY id "
            "LIMIT ? OFFSET ?", (n, first))]


def _cohort(server):
    with server.store.connection() as conn:
        return conn.execute("SELECT id FROM cohort ORDER BY id LIMIT 1").fetchone()[0]


def _sent(server, function):
    return [r for r in server.requests if r["function"] == function]


def _suspended(server, ids):
    with server.store.connection() as conn:
        return {r[0] for r in conn.execute(
            f"SELECT id FROM user WHERE suspended = 1 AND id IN ({','.join(map(str, ids))})")}


def _plan(server, first, userid_2):
    (_, one), (_, two) = _users(server, first)
    return [{"kind": "user.suspend", "id": f"username:{one}"},
            {"kind": "cohort.add_member", "cohortid": _cohort(server), "userid": userid_2},
            {"kind": "user.suspend", "id": f"username:{two}"}]


def test_dry_run_flags_only_the_item_with_the_unknown_username(server, apply):
    server.clear_requests()
    code, out, err = apply(_plan(server, 0, "username:nosuchuser"), "--dry-run")
    assert err == "" and UNKNOWN in out, out + err
    assert "2 to apply, 0 already so (dropped), 0 conflicts, 1 errors" in out
    assert "!    2 " in out and "must be a number" not in out
    # The same exit code as a plan whose second item has any other problem (an id the local copy lacks).
    other_code, other_out, _ = apply(_plan(server, 0, 999999), "--dry-run")
    assert "2 to apply, 0 already so (dropped), 0 conflicts, 1 errors" in other_out
    assert code == other_code == 1
    assert server.requests == []


def test_apply_sends_the_other_items_and_skips_the_one_with_the_unknown_username(server, profile, apply):
    (u1, _), (u2, _) = _users(server, 2)
    server.clear_requests()
    code, out, err = apply(_plan(server, 2, "username:nosuchuser"), "--yes")
    assert code == 1, out + err
    assert "Run 1: partial (2 done, 1 skipped)" in out
    assert [line for line in out.splitlines() if "skipped    2 " in line and f": {UNKNOWN} [invalid]" in line]
    assert _suspended(server, [u1, u2]) == {u1, u2} and not _sent(server, "core_cohort_add_cohort_members")
    # The journal keeps the item as the plan file gave it.
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        data, status = conn.exec_driver_sql("SELECT data, status FROM change_items WHERE seq = 2").one()
    assert status == "skipped" and json.loads(data)["userid"] == "username:nosuchuser"
    assert set(json.loads(data)) == {"cohortid", "userid"}


def test_items_referring_to_the_item_with_the_unknown_username_are_not_applied(server, apply):
    (_, member), (other, other_name) = _users(server, 4)
    changes = [{"kind": "cohort.create", "name": "Night shift", "userid": "username:ghost"},
               {"kind": "cohort.add_member", "cohortid": {"ref": 1}, "userid": f"username:{member}"},
               {"kind": "user.suspend", "id": f"username:{other_name}"}]
    code, out, _ = apply(changes, "--dry-run")
    assert code == 1 and "1 to apply, 0 already so (dropped), 0 conflicts, 2 errors" in out, out
    assert "userid='username:ghost': no account with this username" in out
    assert "needs what item 1 creates, and item 1 will not be applied" in out
    server.clear_requests()
    code, out, _ = apply(changes, "--yes")
    assert code == 1 and "Run 1: partial (1 done, 2 skipped)" in out, out
    assert not _sent(server, "core_cohort_create_cohorts") and not _sent(server, "core_cohort_add_cohort_members")
    assert _suspended(server, [other]) == {other}


def test_a_plan_where_only_unknown_usernames_remain_sends_and_records_nothing(server, profile, apply):
    server.clear_requests()
    code, out, err = apply([{"kind": "user.suspend", "id": "username:nosuchuser"}], "--yes")
    assert code == 1 and "0 to apply" in out and "id='username:nosuchuser': no account with this username" in out, out + err
    assert not _sent(server, "core_user_update_users")
    with CacheDb.open(profile.cache_path) as db, db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM change_runs").scalar() == 0


def test_a_malformed_plan_naming_users_is_still_a_usage_error(server, apply):
    code, out, err = apply([{"kind": "user.suspend", "id": "username:nosuchuser"}, {"id": 5}])
    assert code == 2 and "change 2" in err and "kind" in err and out == ""
