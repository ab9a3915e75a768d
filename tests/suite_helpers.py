"""Small helpers shared by test files (importable as ``suite_helpers``: pytest puts tests/ on
``sys.path`` through the ``pythonpath`` setting in pyproject.toml)."""

from __future__ import annotations

from lms_console.services import changes as C


def q(db, sql, *params):
    """Rows of ``sql`` read from the cache ``db`` (a CacheDb)."""
    with db.read() as conn:
        return conn.exec_driver_sql(sql, params).all()


def site_q(server, sql, *params):
    """Rows of ``sql`` read from the sandbox site's own store."""
    with server.store.connection() as conn:
        return conn.execute(sql, params).fetchall()


def apply(client, writer, plan, **kw):
    """Record ``plan`` in the journal as a run of the profile "test" and apply it: the run's summary."""
    run_id = C.record(writer, plan, profile="test", lms_user="admin")
    return C.apply_run(client, writer, run_id, **kw)
