"""Alembic environment of the cache.

At run time :meth:`CacheDb.open` passes its open connection through ``config.attributes["connection"]``
and the upgrade runs inside the caller's transaction (no alembic.ini, no logging setup). For
development, ``alembic -c lms_console/services/cache/alembic.ini revision --autogenerate -m "..."``
works against the scratch database named in that file.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from lms_console.services.cache.schema import FTS_SHADOW_TABLES, metadata

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    # FTS5 virtual/shadow tables are created by raw SQL in the migrations; autogenerate must not touch them.
    return not (type_ == "table" and name in FTS_SHADOW_TABLES)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies the table
        include_object=include_object,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
