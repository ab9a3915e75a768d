"""Journal and outbox of the change engine, in the profile's cache (tables change_runs, change_items).

Writes go through the :class:`CacheWriter`'s transaction on the writer thread;
every state change of an item is committed before the next network step, so a
crash leaves an exact record: queued items were never sent, ``sending`` items
were sent with an unknown outcome (checked on the server before any resend).
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from lms_console.services.changes.model import Change, Outcome, Plan, PlanItem, Status


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str).decode()


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One item as the journal pane and the exports show it."""

    id: int
    run_id: int
    seq: int
    time: int  # applied_at, or when it was last updated
    profile: str
    lms_user: str
    kind: str
    target: str
    title: str
    before: Any
    after: Any
    status: str
    function: str
    code: str
    message: str
    result: Any
    data: Any
    inverse: Any
    run_title: str = ""
    undone_by: int | None = None

    @property
    def change(self) -> Change:
        return Change(self.kind, self.data or {})


_ROW_SQL = (
    "SELECT i.id, i.run_id, i.seq, coalesce(i.applied_at, i.updated_at), r.profile, r.lms_user, i.kind, "
    "i.target, i.title, i.before, i.after, i.status, i.function, i.code, i.message, i.result, i.data, i.inverse, "
    "r.title, i.undone_by FROM change_items i JOIN change_runs r ON r.id = i.run_id")


def _row(r) -> JournalRow:
    return JournalRow(r[0], r[1], r[2], r[3] or 0, r[4], r[5], r[6], r[7], r[8], _load(r[9]), _load(r[10]), r[11],
                      r[12], r[13], r[14], _load(r[15]), _load(r[16]), _load(r[17]), r[18], r[19])


# -- writing (writer thread) -------------------------------------------------------------------------

def create_run(writer, plan: Plan, *, profile: str, lms_user: str, origin: str = "gui",
               undo_of: int | None = None, undo_items: Sequence[int] = (), now: float | None = None) -> int:
    """Record a confirmed plan: items to apply are queued (the outbox), the rest end as skipped
    with their reason, so every planned item has a result.

    An undo names what it reverses, so that whoever sends it (at once, or later from the outbox) marks
    the originals undone: a whole run (``undo_of``), or chosen items (``undo_items``: they keep their
    status, done, and get ``undone_by`` = this run until their inverse goes through)."""
    now = int(now or time.time())
    with writer.batch() as raw:
        run_id = raw.execute(
            "INSERT INTO change_runs (created_at, profile, lms_user, title, origin, status, undo_of) "
            "VALUES (?, ?, ?, ?, ?, 'queued', ?)", (now, profile, lms_user, plan.title, origin, undo_of)).lastrowid
        raw.executemany(
            "INSERT INTO change_items (run_id, seq, kind, target, title, data, before, after, status, function, "
            "code, message, depends_on, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_item_row(run_id, item, now) for item in plan.items])
        raw.executemany("UPDATE change_items SET undone_by = ? WHERE id = ? AND status = 'done'",
                        [(run_id, i) for i in undo_items])
    return int(run_id)


def _item_row(run_id: int, item: PlanItem, now: int) -> tuple:
    if item.outcome == Outcome.APPLY:
        status, code, message = Status.QUEUED.value, "", ""
    else:
        status = Status.SKIPPED.value
        code = {"noop": "noop", "error": "invalid", "conflict": "conflict"}[item.outcome.value]
        message = "; ".join(str(p) for p in item.problems) or (
            "no change needed: already so on the site" if item.outcome == Outcome.NOOP else "not applied")
    return (run_id, item.seq, item.change.kind, item.target, item.title, _dump(dict(item.change.data)),
            _dump(item.before), _dump(item.after), status, item.function, code, message,
            _dump(list(item.depends_on)), now)


def set_run_status(writer, run_id: int, status: str, *, finished: bool = False) -> None:
    with writer.batch() as raw:
        raw.execute("UPDATE change_runs SET status = ?, finished_at = CASE WHEN ? THEN ? ELSE finished_at END "
                    "WHERE id = ?", (status, int(finished), int(time.time()), run_id))


def mark(writer, ids: Sequence[int], status: Status, *, code: str = "", message: str = "",
         function: str | None = None, count_attempt: bool = False) -> None:
    now = int(time.time())
    with writer.batch() as raw:
        raw.executemany(
            "UPDATE change_items SET status = ?, code = ?, message = ?, updated_at = ?, "
            "function = coalesce(?, function), attempts = attempts + ? WHERE id = ?",
            [(status.value, code, message, now, function, int(count_attempt), i) for i in ids])


def mark_done(writer, item_id: int, *, result: Mapping[str, Any] | None, inverse: Change | None,
              after: Mapping[str, Any] | None = None, message: str = "", now: float | None = None) -> None:
    now = int(now or time.time())
    with writer.batch() as raw:
        raw.execute(
            "UPDATE change_items SET status = 'done', code = '', message = ?, result = ?, inverse = ?, "
            "after = coalesce(?, after), updated_at = ?, applied_at = ? WHERE id = ?",
            (message, _dump(dict(result) if result else None), _dump(inverse.to_json() if inverse else None),
             _dump(dict(after) if after is not None else None), now, now, item_id))


def mark_done_many(writer, done: Sequence[tuple[int, Any, Change | None, str]], *, now: float | None = None) -> None:
    """Many items done at once: (item id, result, inverse, message)."""
    now = int(now or time.time())
    with writer.batch() as raw:
        raw.executemany(
            "UPDATE change_items SET status = 'done', code = '', message = ?, result = ?, inverse = ?, "
            "updated_at = ?, applied_at = ? WHERE id = ?",
            [(message, _dump(dict(result) if result else None), _dump(inverse.to_json() if inverse else None),
              now, now, item_id) for item_id, result, inverse, message in done])


def mark_undone(writer, item_ids: Iterable[int], undo_run_id: int) -> None:
    with writer.batch() as raw:
        raw.executemany("UPDATE change_items SET status = 'undone', undone_by = ? WHERE id = ? AND status = 'done'",
                        [(undo_run_id, i) for i in item_ids])


def mark_undone_originals(writer, run_id: int) -> list[int]:
    """After a send of ``run_id`` (at once, or from the outbox): when it is an undo, mark undone the
    originals whose inverse went through. Returns their ids (none for a run that is not an undo)."""
    with writer.batch() as raw:
        run = raw.execute("SELECT origin, undo_of FROM change_runs WHERE id = ?", (run_id,)).fetchone()
        if run is None or (run[0] != "undo" and run[1] is None):
            return []
        ids = _undone_originals(raw, run_id, run[1])
        mark_undone(writer, ids, run_id)
    return ids


def _undone_originals(raw, undo_run: int, undo_of: int | None) -> list[int]:
    """The original items whose undo went through: their inverse is an item of the undo run that is
    done, or was already so on the site. An undo that failed leaves its original as it was.

    The originals are the done items of the run undone (``undo_of``), or the items chosen for the undo
    (``undone_by`` = the undo run, see :func:`create_run`); those it marked undone in an earlier send
    count too, so that each inverse that went through answers for one original only."""
    went = Counter(_change_key(kind, _load(data)) for kind, data in raw.execute(
        "SELECT kind, data FROM change_items WHERE run_id = ? AND (status = 'done' OR "
        "(status = 'skipped' AND code = 'noop'))", (undo_run,)))
    originals = raw.execute(
        "SELECT id, inverse, status FROM change_items WHERE (run_id = ? AND status = 'done') OR "
        "(undone_by = ? AND status IN ('done', 'undone')) ORDER BY id", (undo_of, undo_run)).fetchall()
    out = []
    for item_id, inverse, status in originals:
        k = json.dumps(json.loads(inverse), sort_keys=True) if inverse else None
        if k is not None and went[k] > 0:
            went[k] -= 1
            if status == "done":
                out.append(item_id)
    return out


def _change_key(kind: str, data) -> str:
    """A change as comparable text: an undo item's change matches the inverse its original recorded."""
    return json.dumps({"kind": kind, **(data or {})}, sort_keys=True)


def release_held(writer, item_id: int, decision: str) -> bool:
    """The admin's decision on a held item: ``keep`` (send mine), ``theirs`` or ``drop`` (skip it).
    ``drop`` also takes an item still queued in the outbox (withdrawn before it is sent).

    Returns False when the item is no longer in that state (sent meanwhile): nothing is changed."""
    if decision == "keep":
        # code "kept": the outbox's re-check against the site must not hold it again.
        status, code, text, allowed = Status.QUEUED, "kept", "kept by the admin: will be sent", ("held",)
    elif decision == "theirs":
        status, code, text, allowed = Status.SKIPPED, decision, "the site's value was kept", ("held",)
    elif decision == "drop":
        status, code, text, allowed = Status.SKIPPED, decision, "dropped by the admin", ("held", "queued")
    else:
        raise ValueError(f"unknown decision {decision!r}: keep, theirs or drop")
    with writer.batch() as raw:
        changed = raw.execute(
            f"UPDATE change_items SET status = ?, code = ?, message = ?, updated_at = ? WHERE id = ? "
            f"AND status IN ({','.join('?' * len(allowed))})",
            (status.value, code, text, int(time.time()), item_id, *allowed)).rowcount
    return changed == 1


# -- reading (any thread, own connection) ------------------------------------------------------------

def run_rows(conn, run_id: int) -> list[JournalRow]:
    return [_row(r) for r in conn.exec_driver_sql(f"{_ROW_SQL} WHERE i.run_id = ? ORDER BY i.seq", (run_id,))]


def item_row(conn, item_id: int) -> JournalRow | None:
    r = conn.exec_driver_sql(f"{_ROW_SQL} WHERE i.id = ?", (item_id,)).first()
    return _row(r) if r else None


def reversed_originals(conn, run_id: int, items: Sequence[JournalRow]) -> tuple[int, ...]:
    """When run ``run_id`` is an undo: the originals that ``items`` of it reverse and that are not undone
    yet (a retry of its failed items is an undo of those, so that they are marked undone when it goes
    through). Empty for a run that is not an undo. Each original answers for one item only."""
    run = conn.exec_driver_sql("SELECT origin, undo_of FROM change_runs WHERE id = ?", (run_id,)).first()
    if run is None or (run[0] != "undo" and run[1] is None):
        return ()
    wanted = Counter(_change_key(r.kind, r.data) for r in items)
    out = []
    for item_id, inverse in conn.exec_driver_sql(
            "SELECT id, inverse FROM change_items WHERE status = 'done' AND inverse IS NOT NULL AND "
            "(run_id = ? OR undone_by = ?) ORDER BY id", (run[1], run_id)):
        k = json.dumps(json.loads(inverse), sort_keys=True)
        if wanted[k] > 0:
            wanted[k] -= 1
            out.append(item_id)
    return tuple(out)


def outbox(conn) -> list[JournalRow]:
    """Items waiting to go out or for the admin (queued, sending, held), oldest first."""
    return [_row(r) for r in conn.exec_driver_sql(
        f"{_ROW_SQL} WHERE i.status IN ('queued', 'sending', 'held') ORDER BY i.run_id, i.seq")]


def outbox_count(conn) -> int:
    return int(conn.exec_driver_sql(
        "SELECT count(*) FROM change_items WHERE status IN ('queued', 'sending', 'held')").scalar() or 0)


def runs_with_work(conn) -> list[int]:
    """Runs that still have queued or sending items (to resume after a restart or going online)."""
    return [r[0] for r in conn.exec_driver_sql(
        "SELECT DISTINCT run_id FROM change_items WHERE status IN ('queued', 'sending') ORDER BY run_id")]


def journal(conn, *, search: str = "", statuses: Sequence[str] = (), kinds: Sequence[str] = (),
            target: str = "", since: int | None = None, user: tuple[int, str] | None = None, limit: int = 500,
            offset: int = 0) -> list[JournalRow]:
    """Journal entries, newest first, filtered; ``search`` matches title, target, message and kind;
    ``user`` (id, username): every change to that account, its creation, memberships and enrolments."""
    where, params = _journal_where(search, statuses, kinds, target, since)
    if user is not None:
        clause, more = _user_clause(*user)
        where, params = (f"{where} AND {clause}" if where else f"WHERE {clause}"), (*params, *more)
    sql = f"{_ROW_SQL} {where} ORDER BY coalesce(i.applied_at, i.updated_at) DESC, i.id DESC LIMIT ? OFFSET ?"
    return [_row(r) for r in conn.exec_driver_sql(sql, (*params, limit, offset))]


def journal_count(conn, **filters) -> int:
    where, params = _journal_where(filters.get("search", ""), filters.get("statuses", ()),
                                   filters.get("kinds", ()), filters.get("target", ""), filters.get("since"))
    return int(conn.exec_driver_sql(
        f"SELECT count(*) FROM change_items i JOIN change_runs r ON r.id = i.run_id {where}", params).scalar() or 0)


def _user_clause(userid: int, username: str) -> tuple[str, tuple]:
    """Targets naming the account: ``user:12``, ``course:7/user:12``, ``course:7/user:12/role:5``, its creation
    ``username:ann``, and items of the creating run that refer to it as ``.../user:item3``."""
    uid = int(userid)
    return ("(i.target = ? OR i.target LIKE ? OR i.target LIKE ? OR i.target = ? OR (i.target LIKE '%/user:item%' "
            "AND EXISTS (SELECT 1 FROM change_items c WHERE c.run_id = i.run_id AND c.target = ? AND "
            "(i.target LIKE '%/user:item' || c.seq OR i.target LIKE '%/user:item' || c.seq || '/%'))))",
            (f"user:{uid}", f"%/user:{uid}", f"%/user:{uid}/%", f"username:{username}", f"username:{username}"))


def _journal_where(search, statuses, kinds, target, since) -> tuple[str, tuple]:
    clauses, params = [], []
    if search:
        like = f"%{search.replace(chr(92), chr(92) * 2).replace('%', chr(92) + '%').replace('_', chr(92) + '_')}%"
        clauses.append("(i.title LIKE ? ESCAPE '\\' OR i.target LIKE ? ESCAPE '\\' OR i.message LIKE ? ESCAPE '\\' "
                       "OR i.kind LIKE ? ESCAPE '\\' OR r.title LIKE ? ESCAPE '\\')")
        params += [like] * 5
    if statuses:
        clauses.append(f"i.status IN ({','.join('?' * len(statuses))})")
        params += list(statuses)
    if kinds:
        clauses.append(f"i.kind IN ({','.join('?' * len(kinds))})")
        params += list(kinds)
    if target:
        clauses.append("i.target = ?")
        params.append(target)
    if since is not None:
        clauses.append("coalesce(i.applied_at, i.updated_at) >= ?")
        params.append(since)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params)


# -- export --------------------------------------------------------------------------------------------

EXPORT_COLUMNS = ("time", "profile", "lms_user", "kind", "target", "title", "before", "after", "status", "function",
                  "code", "message")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or tab/CR) gets a leading quote."""
    text = "" if value is None else (value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def plain_cell(value: Any) -> str:
    return "" if value is None else (value if isinstance(value, str) else json.dumps(value, sort_keys=True))


def export_rows(rows: Iterable[JournalRow], cell=safe_cell) -> Iterable[list[str]]:
    for r in rows:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.time)) if r.time else ""
        yield [cell(v) for v in (stamp, r.profile, r.lms_user, r.kind, r.target, r.title, r.before, r.after,
                                 r.status, r.function, r.code, r.message)]


def export_csv(rows: Iterable[JournalRow], path: str | Path) -> int:
    n = 0
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel reads UTF-8 right
        w = csv.writer(fh)
        w.writerow(EXPORT_COLUMNS)
        for line in export_rows(rows):
            w.writerow(line)
            n += 1
    return n


def export_xlsx(rows: Iterable[JournalRow], path: str | Path) -> int:
    """XLSX where every cell is typed as text, so nothing in it is ever evaluated as a formula."""
    from openpyxl import Workbook

    from lms_console.services.xlsx_out import save_workbook, text_cell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Journal")
    ws.append(list(EXPORT_COLUMNS))
    n = 0
    for line in export_rows(rows, cell=plain_cell):
        ws.append([text_cell(ws, v) for v in line])
        n += 1
    save_workbook(wb, path)
    return n
