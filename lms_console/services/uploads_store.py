"""The upload queue in the cache (table ``upload_items``, migration 0004) and in the journal.

Writes go through the :class:`CacheWriter` (its transaction, on the writer thread); reads take
their own connection. Every state change is committed before the next network step of that
row, so the table always says how far each upload got.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

from lms_console.services.cache import schema_uploads  # noqa: F401  (registers the table's metadata)
from lms_console.services.changes import journal as J
from lms_console.services.changes import kinds_content  # noqa: F401  (registers the upload.* kinds)
from lms_console.services.changes.model import Change, Outcome, Plan, PlanItem
from lms_console.services.uploads import DropPlan, Kind, State, UploadItem

_COLUMNS = tuple(f.name for f in fields(UploadItem))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM upload_items"
_INSERT_COLUMNS = tuple(c for c in _COLUMNS if c != "id")


def _to_row(item: UploadItem) -> tuple:
    values = []
    for name in _INSERT_COLUMNS:
        value = getattr(item, name)
        if name == "snapshot":
            value = None if value is None else json.dumps(list(value))
        elif name in ("kind", "state"):
            value = value.value
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    return tuple(values)


def _from_row(row: Sequence[Any]) -> UploadItem:
    data = dict(zip(_COLUMNS, row))
    data["kind"] = Kind(data["kind"])
    data["state"] = State(data["state"])
    data["visible"] = bool(data["visible"])
    data["cleared"] = bool(data["cleared"])
    snap = data.get("snapshot")
    data["snapshot"] = None if snap is None else tuple(json.loads(snap))
    return UploadItem(**data)


# -- writing (writer thread) ----------------------------------------------------------------------------

def add_plan(writer, plan: DropPlan) -> list[UploadItem]:
    """Store a planned drop; returns the rows with their ids (entries first, each followed by its children)."""
    sql = f"INSERT INTO upload_items ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
    out: list[UploadItem] = []
    with writer.batch() as raw:
        for entry, kids in plan.entries:
            entry_id = raw.execute(sql, _to_row(entry)).lastrowid
            out.append(replace(entry, id=entry_id))
            for kid in kids:
                kid = replace(kid, parent=entry_id)
                out.append(replace(kid, id=raw.execute(sql, _to_row(kid)).lastrowid))
    return out


def save(writer, items: Iterable[UploadItem], *, now: float | None = None) -> list[UploadItem]:
    """Write these rows as they are (their ``updated_at`` set to now); returns them."""
    stamp = int(now or time.time())
    saved = [replace(i, updated_at=stamp) for i in items]
    sets = ", ".join(f"{c} = ?" for c in _INSERT_COLUMNS)
    with writer.batch() as raw:
        raw.executemany(f"UPDATE upload_items SET {sets} WHERE id = ?", [(*_to_row(i), i.id) for i in saved])
    return saved


def resume(writer, *, now: float | None = None) -> list[UploadItem]:
    """After a start: rows a crash or a lost link left half-way go back to the queue.

    ``uploading`` and ``uploaded`` rows are sent again (a draft area may have been purged by the
    site meanwhile, and the plugin would create an empty activity from a missing one); ``creating``
    rows keep their state: the runner looks on the site whether the activity exists before anything
    is sent again.
    """
    stamp = int(now or time.time())
    with writer.batch() as raw:
        raw.execute("UPDATE upload_items SET state = 'queued', draft_itemid = NULL, updated_at = ?, "
                    "message = 'Interrupted (the console closed or the link dropped): it will be sent again.' "
                    "WHERE cleared = 0 AND state IN ('uploading', 'uploaded')", (stamp,))
        rows = raw.execute(f"{_SELECT} WHERE cleared = 0 ORDER BY id").fetchall()
    return [_from_row(r) for r in rows]


def clear_finished(writer) -> int:
    """Hide finished rows from the queue (whole entries only; the journal keeps the record)."""
    with writer.batch() as raw:
        return raw.execute(
            "UPDATE upload_items SET cleared = 1 WHERE cleared = 0 AND ((parent IS NULL AND state IN "
            "('done', 'refused', 'cancelled')) OR parent IN (SELECT id FROM upload_items WHERE parent IS NULL "
            "AND state IN ('done', 'refused', 'cancelled') AND cleared = 0))").rowcount


def journal_done(writer, entry: UploadItem, *, kind: str, function: str, title: str, cmid: int,
                 data: Mapping[str, Any], after: Mapping[str, Any], profile: str, lms_user: str) -> int:
    """One finished upload as a journal run of one done item (with its inverse: delete the activity).

    Called inside the writer transaction that also marks the row done, so "done" and "journaled"
    are one fact. The item never passes through ``queued`` outside that transaction, so the
    change engine's outbox never sees it.
    """
    item = PlanItem(1, Change(kind, dict(data)), Outcome.APPLY, title, f"cm:{cmid}", None, dict(after),
                    function=function, reversible=True)
    with writer.batch() as raw:
        run_id = J.create_run(writer, Plan((item,), title=title), profile=profile, lms_user=lms_user,
                              origin="upload")
        item_id = raw.execute("SELECT id FROM change_items WHERE run_id = ? AND seq = 1", (run_id,)).fetchone()[0]
        J.mark_done(writer, item_id, result={"cmid": cmid},
                    inverse=Change("module.delete", {"courseid": entry.courseid, "id": cmid}),
                    message="uploaded through the upload queue")
        J.set_run_status(writer, run_id, "done", finished=True)
    return run_id


# -- reading (any thread, own connection) -----------------------------------------------------------------

def load(conn, *, include_cleared: bool = False) -> list[UploadItem]:
    where = "" if include_cleared else " WHERE cleared = 0"
    return [_from_row(r) for r in conn.exec_driver_sql(f"{_SELECT}{where} ORDER BY id").all()]


def load_entry(conn, entry_id: int) -> tuple[UploadItem | None, list[UploadItem]]:
    row = conn.exec_driver_sql(f"{_SELECT} WHERE id = ?", (entry_id,)).first()
    kids = conn.exec_driver_sql(f"{_SELECT} WHERE parent = ? ORDER BY id", (entry_id,)).all()
    return (_from_row(row) if row else None), [_from_row(k) for k in kids]


def batch_cmids(conn_or_raw, batch: str, anchor: int | None) -> list[int]:
    """cmids already created by this drop after the same anchor activity, in order."""
    sql = ("SELECT cmid FROM upload_items WHERE batch = ? AND parent IS NULL AND state = 'done' "
           "AND cmid IS NOT NULL AND coalesce(after_cmid, 0) = ? ORDER BY id")
    params = (batch, anchor or 0)
    rows = conn_or_raw.execute(sql, params) if hasattr(conn_or_raw, "cursor") else \
        conn_or_raw.exec_driver_sql(sql, params)
    return [r[0] for r in rows]
