"""Saved user filters: the cache's ``saved_filters`` table (reads on any connection, writes on the
writer thread). A stored spec that can no longer be read comes back as "everyone" with its problem."""

from __future__ import annotations

import time
from dataclasses import dataclass

from lms_console.services.users_query import DEFAULT_FILTERS, FilterError, UserFilter, clean_text


@dataclass(frozen=True, slots=True)
class SavedFilter:
    id: int
    name: str
    spec: UserFilter
    position: int = 0
    problem: str = ""  # the stored spec could not be read: why (the filter then shows everyone)


def _saved(row) -> SavedFilter:
    try:
        return SavedFilter(row[0], row[1], UserFilter.loads(row[2] or "{}"), row[3])
    except FilterError as exc:
        return SavedFilter(row[0], row[1], UserFilter(), row[3], problem=str(exc))


def saved_filters(conn) -> list[SavedFilter]:
    return [_saved(r) for r in conn.exec_driver_sql(
        "SELECT id, name, spec, position FROM saved_filters ORDER BY position, name")]


def get_saved_filter(conn, filter_id: int) -> SavedFilter | None:
    row = conn.exec_driver_sql("SELECT id, name, spec, position FROM saved_filters WHERE id = ?",
                               (filter_id,)).first()
    return _saved(row) if row else None


def check_filter_name(name: str) -> str:
    """The name to store, or FilterError saying what is wrong with it."""
    name = " ".join(clean_text(name).split())
    if not name:
        raise FilterError("Give the filter a name.")
    if len(name) > 100:
        raise FilterError("Keep the name under 100 characters.")
    if name.casefold() in {label.casefold() for _key, label in DEFAULT_FILTERS}:
        raise FilterError(f"“{name}” is the name of a built-in filter; choose another name.")
    return name


def save_filter(writer, name: str, spec: UserFilter) -> int:
    """Store ``spec`` as ``name`` (replacing a saved filter of that name, whatever its case); returns its id."""
    name = check_filter_name(name)
    now = int(time.time())
    with writer.batch() as raw:
        row = raw.execute("SELECT id FROM saved_filters WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
        if row:
            raw.execute("UPDATE saved_filters SET name = ?, spec = ?, updated_at = ? WHERE id = ?",
                        (name, spec.dumps(), now, row[0]))
            return int(row[0])
        pos = raw.execute("SELECT coalesce(max(position), 0) + 1 FROM saved_filters").fetchone()[0]
        return int(raw.execute("INSERT INTO saved_filters (name, spec, position, created_at, updated_at) "
                               "VALUES (?, ?, ?, ?, ?)", (name, spec.dumps(), pos, now, now)).lastrowid)


def rename_saved_filter(writer, filter_id: int, name: str) -> None:
    name = check_filter_name(name)
    with writer.batch() as raw:
        other = raw.execute("SELECT id FROM saved_filters WHERE name = ? COLLATE NOCASE AND id <> ?", (name, filter_id)).fetchone()
        if other:
            raise FilterError(f"Another saved filter is called “{name}”.")
        raw.execute("UPDATE saved_filters SET name = ?, updated_at = ? WHERE id = ?",
                    (name, int(time.time()), filter_id))


def delete_saved_filter(writer, filter_id: int) -> bool:
    with writer.batch() as raw:
        return raw.execute("DELETE FROM saved_filters WHERE id = ?", (filter_id,)).rowcount > 0


__all__ = ["SavedFilter", "check_filter_name", "delete_saved_filter", "get_saved_filter", "rename_saved_filter",
           "save_filter", "saved_filters"]
