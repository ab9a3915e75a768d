"""One SQLite cache file per connection profile: opening, migrating, checking.

``CacheDb.open(path)`` refuses files it must not touch (not SQLite, another program's database, a
newer schema, damage) with a :class:`CacheError` that says so, and otherwise migrates the file to
the newest schema in one transaction (alembic is imported only when the file is not at the newest
schema already: opening an up-to-date cache costs no alembic import, ~0.2 s of every CLI run). Readers take their own pooled connections (``db.read()``);
WAL lets them read a consistent snapshot while the single :class:`CacheWriter` writes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from lms_console.services.cache.errors import CacheError, CorruptCache, NewerSchema, NotACacheFile
from lms_console.services.cache.schema import APPLICATION_ID, FTS_TABLE

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
CACHE_SIZE_KIB = 65_536  # per connection, allocated lazily

# The newest schema revision (the last file in migrations/versions; a test checks alembic agrees). A cache
# already there opens without alembic.
HEAD_REVISION = "0005"

# Execution option the writer sets on its connection: its transactions start with BEGIN IMMEDIATE so
# it takes the write lock up front instead of failing to upgrade a read lock later.
BEGIN_MODE = "lms_begin"


def _on_connect(dbapi_conn: sqlite3.Connection, _record) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin (see _on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA temp_store = MEMORY")
        cur.execute(f"PRAGMA cache_size = -{CACHE_SIZE_KIB}")
    finally:
        cur.close()


def _on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(BEGIN_MODE, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest schema revision this code knows, as alembic reads the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CacheError(f"The cache file cannot be read: {exc.strerror or exc}", path=str(path)) from exc
    if header and header != SQLITE_HEADER:
        raise NotACacheFile("The file is not an SQLite database, so it is not an lms-console cache",
                            path=str(path))


def _revisions(conn: Connection) -> list[str]:
    """The schema revision(s) alembic recorded in the file (one, on a cache this program wrote)."""
    return [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]


class CacheDb:
    """An open cache file. Create with :meth:`open`; close (or use as a context manager) when done."""

    def __init__(self, engine: Engine, path: Path, revision: str) -> None:
        self.engine = engine
        self.path = path
        self.revision = revision
        self._closed = False

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, check: bool = True) -> CacheDb:
        """Open (creating if needed) and migrate the cache at ``path``.

        ``check`` runs ``PRAGMA quick_check`` (reads every page: ~1 s per few hundred MB); the doctor's
        :meth:`integrity_check` is the thorough one.
        """
        path = Path(path)
        _check_header(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Names and addresses of every account: readable by this user only (SQLite gives its -wal
            # and -shm files the same mode).
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        engine = create_engine(f"sqlite+pysqlite:///{path}")
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        try:
            revision = cls._prepare(engine, path, check)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, path, revision)

    @staticmethod
    def _prepare(engine: Engine, path: Path, check: bool) -> str:
        where = str(path)
        try:
            with engine.connect() as conn:
                if check:
                    problems = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
                    if problems != ["ok"]:
                        raise CorruptCache("The cache file is damaged: " + "; ".join(problems[:5]), path=where)
                app_id = conn.exec_driver_sql("PRAGMA application_id").scalar()
                tables = {r[0] for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
                current = _revisions(conn) if "alembic_version" in tables else []
                conn.rollback()
                if app_id not in (0, APPLICATION_ID) or (tables and "alembic_version" not in tables):
                    raise NotACacheFile("The file is an SQLite database of another program, not an "
                                        "lms-console cache", path=where)
                if current == [HEAD_REVISION]:
                    return HEAD_REVISION
                return CacheDb._migrate(conn, current, where)
        except CacheError:
            raise
        except DBAPIError as exc:
            orig = exc.orig
            # DatabaseError proper = "malformed" / "not a database"; OperationalError = cannot open, locked...
            if isinstance(orig, sqlite3.DatabaseError) and not isinstance(orig, sqlite3.OperationalError):
                raise CorruptCache(f"The cache file is damaged or unreadable: {orig}", path=where) from exc
            raise CacheError(f"The cache file cannot be opened: {orig}", path=where) from exc

    @staticmethod
    def _migrate(conn: Connection, current: list[str], where: str) -> str:
        """Bring the file to the newest schema with alembic (a new file, or one an older version wrote)."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        script = ScriptDirectory.from_config(_alembic_config())
        for revision in current:
            try:
                script.get_revision(revision)
            except CommandError as exc:
                raise NewerSchema(
                    f"The cache was written by a newer version of lms-console (schema {revision}; "
                    f"this version knows up to {script.get_current_head()}). "
                    "A cache cannot be downgraded", path=where) from exc
        with conn.begin():
            command.upgrade(_alembic_config(conn), "head")
        revision = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
        return revision or ""

    # -- use ----------------------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection of this thread's own for reading; one snapshot until the block ends."""
        with self.engine.connect() as conn:
            yield conn

    def writer_connection(self) -> Connection:
        """A connection for :class:`CacheWriter` (its transactions start with ``BEGIN IMMEDIATE``)."""
        conn = self.engine.connect()
        conn.execution_options(**{BEGIN_MODE: "IMMEDIATE"})
        return conn

    def integrity_check(self) -> list[str]:
        """Everything wrong with the file: SQLite structure, foreign keys, the FTS index. Empty = OK."""
        problems: list[str] = []
        with self.engine.connect() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            if rows != ["ok"]:
                problems.extend(f"integrity: {r}" for r in rows)
            for table, rowid, parent, _fk in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
                problems.append(f"foreign key: {table} row {rowid} points to a missing {parent} row")
            try:
                # rank=1 also compares the index with the external content table (SQLite >= 3.44;
                # older versions always compare).
                conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
            except DBAPIError as exc:
                problems.append(f"search index: {exc.orig}")
            conn.rollback()
        return problems

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA optimize")
                conn.commit()
        except SQLAlchemyError:  # best effort: the statistics only speed up queries
            log.debug("PRAGMA optimize failed", exc_info=True)
        finally:
            self.engine.dispose()

    def __enter__(self) -> CacheDb:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
