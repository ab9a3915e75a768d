"""Seed: deterministic, realistic, and able to scale."""

import hashlib

from lms_console.sandbox.activity import simulate_activity
from lms_console.sandbox.seed import seed
from lms_console.sandbox.store import Store

NOW = 1_780_000_000
TABLES = ["user", "user_info_data", "course", "course_sections", "course_modules", "files", "cohort_members",
          "groups_members", "user_enrolments", "role_assignments", "course_completions", "course_modules_completion",
          "grade_grades", "user_lastaccess"]


def _fingerprint(store: Store) -> str:
    digest = hashlib.sha256()
    with store.connection() as conn:
        for table in TABLES:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _seeded(**kwargs) -> Store:
    store = Store()
    seed(store, now=NOW, **kwargs)
    return store


def test_same_seed_same_data_other_seed_other_data():
    stores = [_seeded(users=300, courses=6, seed=3), _seeded(users=300, courses=6, seed=3),
              _seeded(users=300, courses=6, seed=4)]
    try:
        a, b, c = (_fingerprint(s) for s in stores)
        assert a == b != c
    finally:
        for store in stores:
            store.close()


def test_seed_is_realistic():
    store = _seeded(users=1500, courses=12, seed=5)
    try:
        with store.connection() as conn:
            names = {r[0] for r in conn.execute("SELECT lastname FROM user")}
            assert any("'" in n for n in names) and any(not n.isascii() for n in names)
            auths = {r[0] for r in conn.execute("SELECT DISTINCT auth FROM user")}
            assert {"manual", "ldap", "nologin"} <= auths
            assert conn.execute("SELECT COUNT(*) FROM user WHERE suspended = 1").fetchone()[0] > 0
            assert conn.execute("SELECT COUNT(*) FROM user WHERE id > 3 AND lastaccess = 0").fetchone()[0] > 0
            assert conn.execute("SELECT COUNT(DISTINCT email) FROM user").fetchone()[0] == \
                conn.execute("SELECT COUNT(*) FROM user").fetchone()[0]
            mods = {r[0] for r in conn.execute("SELECT DISTINCT modname FROM course_modules")}
            assert {"assign", "quiz", "forum", "resource", "folder", "url", "page", "label"} <= mods
            assert conn.execute("SELECT COUNT(*) FROM course_categories WHERE parent > 0").fetchone()[0] > 0
            assert {r[0] for r in conn.execute("SELECT DISTINCT roleid FROM role_assignments")} >= {3, 5}
            assert conn.execute("SELECT COUNT(*) FROM user_enrolments WHERE status = 1").fetchone()[0] > 0
            months = conn.execute("SELECT COUNT(DISTINCT timecompleted / (30 * 86400)) FROM course_completions"
                                  " WHERE timecompleted IS NOT NULL").fetchone()[0]
            assert months >= 4  # completions spread over months: chartable over time
            assert conn.execute("SELECT COUNT(*) FROM cohort WHERE contextid <> 1").fetchone()[0] > 0
            assert conn.execute("SELECT COUNT(*) FROM groupings").fetchone()[0] > 0
            assert conn.execute("SELECT COUNT(*) FROM grade_grades").fetchone()[0] > 0
    finally:
        store.close()


def test_simulate_activity_moves_engagement_forward():
    store = _seeded(users=400, courses=5, seed=9)
    try:
        result = simulate_activity(store, fraction=0.2, seed=1, now=NOW + 86400)
        assert result["users"] > 50 and result["activities_completed"] > 0
        with store.connection() as conn:
            recent = conn.execute("SELECT COUNT(*) FROM user WHERE lastaccess > ?", (NOW,)).fetchone()[0]
        assert recent == result["users"]
    finally:
        store.close()


def test_twenty_thousand_users_seed_works():
    store = Store()
    try:
        info = seed(store, users=20_000, courses=40, seed=2, now=NOW)
        assert info.enrolments > 60_000
        with store.connection() as conn:
            assert conn.execute("SELECT COUNT(*) FROM user").fetchone()[0] == 20_003
    finally:
        store.close()


def test_persisted_site_is_reused_and_an_interrupted_seed_is_redone(tmp_path):
    from lms_console.sandbox.server import SandboxServer

    path = tmp_path / "site.sqlite"
    with SandboxServer(path=path, users=120, courses=3) as first:
        token = first.admin_token
    with SandboxServer(path=path, users=999, courses=9) as second:
        assert second.admin_token == token  # same file, same site: not seeded again
    store = Store(path)
    with store.connection() as conn, store.transaction(conn):
        conn.execute("DELETE FROM config WHERE name = 'seed_complete'")
    store.close()
    with SandboxServer(path=path, users=130, courses=3) as third:
        with third.store.connection() as conn:
            assert conn.execute("SELECT COUNT(*) FROM user").fetchone()[0] == 133
