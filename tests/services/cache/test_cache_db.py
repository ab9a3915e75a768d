"""Opening, migrating and refusing cache files; integrity checks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lms_console.services.cache.db import CacheDb, head_revision
from lms_console.services.cache.errors import CacheError, CorruptCache, NewerSchema, NotACacheFile
from lms_console.services.cache.schema import APPLICATION_ID, FTS_SHADOW_TABLES, metadata
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import User


class Dto:
    @staticmethod
    def user(uid: int) -> User:
        return User(id=uid, username=f"user{uid}", firstname="First", lastname=f"Last{uid}",
                    email=f"user{uid}@example.org")


MIGRATIONS = Path(__file__).resolve().parents[3] / "lms_console" / "services" / "cache" / "migrations" / "versions"


def test_fresh_file_is_migrated_to_head_with_wal_and_pragmas(cache_path: Path) -> None:
    with CacheDb.open(cache_path) as db:
        newest = sorted(p.name[:4] for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]
        assert db.revision == head_revision() == newest
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
            assert conn.exec_driver_sql("PRAGMA application_id").scalar() == APPLICATION_ID
        assert db.integrity_check() == []
    names = {r[0] for r in sqlite3.connect(cache_path).execute("SELECT name FROM sqlite_master")}
    assert set(metadata.tables) <= names
    assert "users_fts" in names


def test_reopen_is_idempotent_and_keeps_data(cache_path: Path) -> None:
    with CacheDb.open(cache_path) as db, CacheWriter(db) as w:
        w.upsert_users([Dto.user(2)], 1)
    with CacheDb.open(cache_path) as db:
        assert db.revision == head_revision()
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1


def test_migrated_schema_matches_the_metadata(db: CacheDb) -> None:
    """The frozen migration and schema.py describe the same tables, columns and indexes."""

    def include(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and (name in FTS_SHADOW_TABLES or name == "alembic_version"))

    with db.read() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True,
                                                     "compare_server_default": False})
        assert compare_metadata(ctx, metadata) == []


def test_empty_file_is_accepted_as_new(cache_path: Path) -> None:
    cache_path.parent.mkdir(parents=True)
    cache_path.write_bytes(b"")
    with CacheDb.open(cache_path) as db:
        assert db.revision == head_revision()


def test_refuses_a_file_that_is_not_sqlite(cache_path: Path) -> None:
    cache_path.parent.mkdir(parents=True)
    cache_path.write_text("name,email\nann,ann@example.org\n")
    with pytest.raises(NotACacheFile, match="not an SQLite database"):
        CacheDb.open(cache_path)
    assert cache_path.read_text().startswith("name,email")  # untouched


def test_refuses_another_programs_sqlite_database(cache_path: Path) -> None:
    cache_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(cache_path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(NotACacheFile, match="another program"):
        CacheDb.open(cache_path)
    conn = sqlite3.connect(cache_path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
    conn.close()


def test_refuses_a_newer_schema_and_says_downgrade_is_impossible(cache_path: Path) -> None:
    with CacheDb.open(cache_path):
        pass
    conn = sqlite3.connect(cache_path)
    conn.execute("UPDATE alembic_version SET version_num = '9000_from_the_future'")
    conn.commit()
    conn.close()
    with pytest.raises(NewerSchema) as info:
        CacheDb.open(cache_path)
    assert "newer version" in str(info.value) and "9000_from_the_future" in str(info.value)
    assert "cannot be downgraded" in str(info.value)
    assert "Update the console" in info.value.describe()


def test_refuses_a_corrupt_file(cache_path: Path) -> None:
    with CacheDb.open(cache_path) as db, CacheWriter(db) as w:
        w.upsert_users([Dto.user(i) for i in range(2, 3000)], 1)
    size = cache_path.stat().st_size
    assert size > 30 * 4096 and not Path(f"{cache_path}-wal").exists()
    with cache_path.open("r+b") as fh:  # keep the header, trash pages in the middle
        fh.seek(4096 * 4)
        fh.write(bytes(range(256)) * 16 * 20)
    with pytest.raises(CorruptCache, match="damaged"):
        CacheDb.open(cache_path)


def test_unopenable_location_is_a_cache_error(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(CacheError):
        CacheDb.open(tmp_path / "dir.sqlite")


def test_integrity_check_reports_a_stale_search_index(db: CacheDb) -> None:
    with CacheWriter(db) as w:
        w.upsert_users([Dto.user(2), Dto.user(3)], 1)
    assert db.integrity_check() == []
    with db.engine.connect() as conn:  # remove index entries behind the triggers' back
        conn.exec_driver_sql(
            "INSERT INTO users_fts (users_fts, rowid, username, firstname, lastname, email, idnumber, department) "
            "VALUES ('delete', 2, 'user2', 'First', 'Last2', 'user2@example.org', '', '')")
        conn.commit()
    assert any(p.startswith("search index") for p in db.integrity_check())


def test_integrity_check_reports_foreign_key_violations(db: CacheDb, cache_path: Path) -> None:
    conn = sqlite3.connect(cache_path)  # foreign keys are off by default in a plain connection
    conn.execute("INSERT INTO sections (id, courseid) VALUES (1, 99)")
    conn.commit()
    conn.close()
    assert any("foreign key: sections" in p for p in db.integrity_check())


def test_no_column_can_hold_site_secrets(sql) -> None:
    columns = [c for r in sql.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
               for c in sql.rows(f'PRAGMA table_info("{r[0]}")')]
    names = {c[1].lower() for c in columns}
    assert not {n for n in names if "secret" in n or "privateaccesskey" in n or "token" in n}


def test_close_is_idempotent(cache_path: Path) -> None:
    db = CacheDb.open(cache_path)
    db.close()
    db.close()


def test_a_cache_from_the_first_schema_upgrades_with_its_data(cache_path: Path) -> None:
    """Caches in the field were built by earlier revisions: upgrading keeps (and converts) their rows."""
    from alembic import command
    from sqlalchemy import create_engine

    from lms_console.services.cache.db import _alembic_config

    cache_path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite+pysqlite:///{cache_path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.exec_driver_sql("INSERT INTO courses (id, shortname, fullname, categoryid) VALUES (2, 'C', 'C', 1)")
        conn.exec_driver_sql("INSERT INTO enrolments (courseid, userid) VALUES (2, 7)")
        conn.exec_driver_sql("INSERT INTO enrolment_roles (courseid, userid, roleid) VALUES (2, 7, 5), (2, 7, 3)")
    engine.dispose()
    with CacheDb.open(cache_path) as db:
        assert db.revision == head_revision()
        with db.read() as conn:
            roles = conn.exec_driver_sql("SELECT roleids FROM enrolments WHERE userid = 7").scalar()
            assert sorted(json.loads(roles)) == [3, 5]
        with db.writer_connection() as conn:
            with conn.begin():
                conn.exec_driver_sql("UPDATE enrolments SET roleids = '[4]' WHERE userid = 7")
            assert conn.exec_driver_sql("SELECT roleid FROM enrolment_roles WHERE userid = 7").all() == [(4,)]


def test_a_new_cache_file_is_readable_by_its_owner_only(tmp_path):
    """It holds the names and addresses of every account: 0600 like the profiles file, WAL files too."""
    import stat

    path = tmp_path / "private.sqlite"
    with CacheDb.open(path) as db, CacheWriter(db) as writer:
        run = writer.begin_run(["users"])
        writer.upsert_users([User(5, "anna", "Anna", "Smith", "anna@example.org")], run)
        for f in (path, tmp_path / "private.sqlite-wal"):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name


def test_the_head_constant_is_the_newest_migration_and_an_up_to_date_cache_opens_without_alembic(
        cache_path: Path) -> None:
    """Opening skips alembic when the file is at HEAD_REVISION: a new migration without the constant moved
    would leave caches at the old head unmigrated, so the constant must be alembic's head."""
    import subprocess
    import sys

    from lms_console.services.cache import db as cache_db

    assert cache_db.HEAD_REVISION == head_revision()
    CacheDb.open(cache_path).close()  # created and migrated (alembic runs here)
    probe = ("import sys; from lms_console.services.cache.db import CacheDb; "
             f"db = CacheDb.open({str(cache_path)!r}); print(db.revision); db.close(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == [head_revision(), "[]"], out
