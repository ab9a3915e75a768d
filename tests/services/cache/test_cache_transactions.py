"""Transactions: interrupted batches leave nothing behind; WAL readers see consistent snapshots."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from lms_console.services.cache import queries
from lms_console.services.cache.errors import CacheError, CacheWriteError
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import Cohort, Enrolment, Members, Role


def test_exception_inside_batch_rolls_everything_back(writer, sql, dto) -> None:
    writer.upsert_users([dto.user(2)], 1)
    with pytest.raises(RuntimeError, match="crash"):
        with writer.batch():
            writer.upsert_users([dto.user(3), dto.user(2, lastname="Changed")], 2)
            writer.upsert_courses([dto.course(10)], 2)
            writer.mark_partition_done("users", "a", 2)
            raise RuntimeError("crash between two writes")
    assert sql.rows("SELECT id, lastname FROM users") == [(2, "Last2")]
    assert sql.count("courses") == 0 and sql.count("sync_partitions") == 0
    assert sql.scalar("SELECT count(*) FROM users_fts WHERE users_fts MATCH 'changed'") == 0
    # the writer is usable afterwards
    writer.upsert_users([dto.user(3)], 3)
    assert sql.count("users") == 2


def test_failing_statement_inside_batch_rolls_back_the_earlier_calls(writer, sql, dto) -> None:
    with pytest.raises(CacheWriteError, match="rolled back"):
        with writer.batch():
            writer.upsert_cohorts([Cohort(1, "A")], 1)
            writer.upsert_users([dto.user(2)], 1)
            writer.replace_cohort_members([Members(99, (2,))], 1)  # no such cohort: FOREIGN KEY
    assert sql.count("cohorts") == 0 and sql.count("users") == 0


def test_a_failed_call_alone_keeps_nothing_of_itself(writer, sql) -> None:
    # upsert_enrolments writes the roles first, then the enrolments (FOREIGN KEY to an uncached course).
    with pytest.raises(CacheWriteError, match="FOREIGN KEY"):
        writer.upsert_enrolments([Enrolment(77, 2, (Role(5, "student"),))], 1)
    assert sql.count("roles") == 0 and sql.count("enrolments") == 0


def test_nested_batches_are_one_transaction(writer, sql, dto) -> None:
    with pytest.raises(ValueError):
        with writer.batch():
            with writer.batch():
                writer.upsert_users([dto.user(2)], 1)
            raise ValueError("outer")
    assert sql.count("users") == 0


def test_reader_keeps_its_snapshot_while_the_writer_commits(db, writer, dto) -> None:
    writer.upsert_users([dto.user(i) for i in range(2, 102)], 1)
    with db.read() as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM users").scalar() == 100
        writer.upsert_users([dto.user(i) for i in range(102, 1102)], 2)  # commits meanwhile
        # same snapshot: the first read opened a WAL read transaction
        assert reader.exec_driver_sql("SELECT count(*) FROM users").scalar() == 100
        assert reader.exec_driver_sql("SELECT count(*) FROM users_fts").scalar() == 100
    with db.read() as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1100


def test_readers_run_while_the_writer_holds_its_transaction(db, dto) -> None:
    inside, release = threading.Event(), threading.Event()

    def write() -> None:
        with CacheWriter(db) as w:
            w.upsert_users([dto.user(2)], 1)
            with w.batch():
                w.upsert_users([dto.user(i) for i in range(3, 2003)], 2)
                inside.set()
                assert release.wait(10)

    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(write)
        assert inside.wait(10)
        try:
            with db.read() as conn:  # not blocked by the open write transaction, sees the committed state
                assert queries.counts(conn)["users"] == 1
                assert conn.exec_driver_sql("SELECT count(*) FROM users_fts").scalar() == 1
        finally:
            release.set()
        fut.result(timeout=30)
    with db.read() as conn:
        assert queries.counts(conn)["users"] == 2001


def test_concurrent_readers_during_a_long_ingest_always_see_whole_transactions(db, dto) -> None:
    """Each upsert call is one transaction of 500 users: a reader never sees a partial one."""
    seen: list[int] = []
    done = threading.Event()

    def read_loop() -> None:
        while not done.is_set():
            with db.read() as conn:
                users = conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
                fts = conn.exec_driver_sql("SELECT count(*) FROM users_fts").scalar()
                cfs = conn.exec_driver_sql("SELECT count(*) FROM user_custom_fields").scalar()
                assert users == fts == cfs
                seen.append(users)

    with ThreadPoolExecutor(2) as pool:
        readers = [pool.submit(read_loop) for _ in range(2)]
        with CacheWriter(db) as w:
            for batch in range(20):
                ids = range(2 + batch * 500, 2 + (batch + 1) * 500)
                w.upsert_users([dto.user(i, customfields=(dto.cf("x", str(i)),)) for i in ids], 1)
        done.set()
        for r in readers:
            r.result(timeout=30)
    assert all(n % 500 == 0 for n in seen)


def test_writer_refuses_a_second_thread(writer, dto) -> None:
    writer.upsert_users([dto.user(2)], 1)
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(RuntimeError, match="two threads"):
            pool.submit(writer.upsert_users, [dto.user(3)], 1).result()


def test_closed_writer_refuses_writes(db, dto) -> None:
    w = CacheWriter(db)
    w.close()
    with pytest.raises(CacheError, match="closed"):
        w.upsert_users([dto.user(2)], 1)
