"""The sandbox's SQLite store: schema, connections, transactions and file blobs.

One SQLite file (a temporary directory by default) in WAL mode.  Request
threads borrow a connection from a small pool (one per concurrently running
thread) instead of opening one per request.  Writes are serialised by a Python
lock and run in one ``BEGIN IMMEDIATE`` transaction, which is how the sandbox
gets Moodle's all-or-nothing batches: a function that raises rolls everything
back.  File contents live on disk next to the database, content-addressed by
SHA-1 like Moodle's file pool, and are streamed in and out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Iterator

from .schema import SCHEMA as _SCHEMA


def _py_lower(value):
    return value.lower() if isinstance(value, str) else value


class Store:
    """Database + file pool of one sandbox site."""

    def __init__(self, path: str | os.PathLike | None = None):
        self._tempdir: str | None = None
        if path is None:
            self._tempdir = tempfile.mkdtemp(prefix="lms-sandbox-")
            path = Path(self._tempdir) / "sandbox.db"
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.files_dir = self.path.parent / (self.path.stem + "-files")
        self.files_dir.mkdir(exist_ok=True)
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self.write_lock = threading.RLock()
        self.version = 0  # bumped by every committed write transaction (cache invalidation)
        self._closed = False
        with self.connection() as conn:
            conn.executescript(_SCHEMA)

    # -- connections -------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA temp_store=MEMORY")
        # Unicode-aware lower() for Moodle's case-insensitive LIKE (SQLite's is ASCII-only).
        conn.create_function("py_lower", 1, _py_lower, deterministic=True)
        with self._all_lock:
            self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection for the duration of one request."""
        if self._closed:
            raise RuntimeError("store is closed")
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._pool.put(conn)

    @contextlib.contextmanager
    def transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """Run a block in one write transaction; any exception rolls it all back."""
        with self.write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
                self.version += 1

    @staticmethod
    def drop_indexes(conn: sqlite3.Connection) -> None:
        """Drop secondary indexes (bulk loads are much faster without them; see create_indexes)."""
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
        for name in names:
            conn.execute(f"DROP INDEX IF EXISTS {name}")

    @staticmethod
    def create_indexes(conn: sqlite3.Connection) -> None:
        # SQLite can sort with helper threads while building an index.
        conn.execute("PRAGMA threads=4")
        conn.executescript(_SCHEMA)
        conn.execute("PRAGMA threads=0")

    def close(self) -> None:
        """Close every connection and remove the temporary directory (if we made one)."""
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        while True:
            try:
                self._pool.get_nowait()
            except queue.Empty:
                break
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    @classmethod
    def recreate(cls, path) -> "Store":
        """Delete the database file (and its WAL, SHM and file pool) at ``path`` and open a fresh one."""
        path = Path(path)
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(path) + suffix)
        shutil.rmtree(path.parent / (path.stem + "-files"), ignore_errors=True)
        return cls(path)

    # -- config --------------------------------------------------------------
    @staticmethod
    def get_config(conn: sqlite3.Connection, name: str, default: str | None = None) -> str | None:
        row = conn.execute("SELECT value FROM config WHERE name = ?", (name,)).fetchone()
        return row[0] if row else default

    @staticmethod
    def set_config(conn: sqlite3.Connection, name: str, value) -> None:
        conn.execute("INSERT OR REPLACE INTO config(name, value) VALUES (?, ?)", (name, str(value)))

    # -- file pool -----------------------------------------------------------
    def blob_path(self, contenthash: str) -> Path:
        return self.files_dir / contenthash[:2] / contenthash

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        contenthash = hashlib.sha1(data).hexdigest()
        target = self.blob_path(contenthash)
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            tmp = target.with_suffix(".tmp%d" % threading.get_ident())
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return contenthash, len(data)

    def put_stream(self, stream: BinaryIO, limit: int | None = None, chunk: int = 1 << 16) -> tuple[str, int]:
        """Copy a stream into the pool without holding it in memory; returns (hash, size)."""
        digest = hashlib.sha1()
        size = 0
        fd, tmpname = tempfile.mkstemp(dir=self.files_dir, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    block = stream.read(chunk)
                    if not block:
                        break
                    size += len(block)
                    digest.update(block)
                    out.write(block)
            contenthash = digest.hexdigest()
            target = self.blob_path(contenthash)
            target.parent.mkdir(exist_ok=True)
            os.replace(tmpname, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmpname)
            raise
        return contenthash, size

    def open_blob(self, contenthash: str) -> BinaryIO:
        return open(self.blob_path(contenthash), "rb")
