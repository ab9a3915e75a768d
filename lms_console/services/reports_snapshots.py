"""Report snapshots: a report's numbers, parameters and as-of time kept in the cache for offline review.

A snapshot stores the result's tables as JSON (columns, dtypes, rows) with everything needed to
redraw the chart and the table without the data behind them, so it opens with no connection and
after the cache moved on. ``schema_version`` is the format of ``data``: a snapshot in a format
this version does not read opens as an empty result that says so (never an exception).

Writes take the writer's raw sqlite3 connection (``CacheWriter.batch()`` yields it) so they run on
the console's one writer thread; reads take any reader.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lms_console.services import reports_sql as S
from lms_console.services.reports import (
    KINDS,
    ReportParams,
    ReportResult,
    different_reports,
    empty_result,
    report_title,
)

SNAPSHOT_FORMAT = 1  # report_snapshots.schema_version written by this version
READABLE_FORMATS = (1,)
KEEP_AUTO = 50  # automatic (after-sync) snapshots kept per report kind


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: int
    kind: str
    title: str
    as_of: int
    created_at: int
    auto: bool
    schema_version: int
    params: dict

    @property
    def readable(self) -> bool:
        return self.schema_version in READABLE_FORMATS and self.kind in KINDS

    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(self.created_at)) if self.created_at else "?"
        return f"{self.title} — {when}{' (after sync)' if self.auto else ''}"


# -- encoding -------------------------------------------------------------------------------------

def _json_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if hasattr(v, "item"):  # numpy scalars
        return _json_value(v.item())
    if isinstance(v, (bool, int, str)):
        return v
    return str(v)


def encode_table(df: pd.DataFrame) -> dict:
    return {"columns": [str(c) for c in df.columns], "dtypes": [str(t) for t in df.dtypes],
            "rows": [[_json_value(v) for v in row] for row in df.itertuples(index=False, name=None)]}


def decode_table(data: dict) -> pd.DataFrame:
    df = pd.DataFrame(data["rows"], columns=data["columns"])
    for col, dtype in zip(data["columns"], data.get("dtypes", [])):
        try:
            if dtype in ("int64", "Int64"):
                df[col] = df[col].astype("Int64" if df[col].isna().any() or dtype == "Int64" else "int64")
            elif dtype == "float64":
                df[col] = df[col].astype(float)
            elif dtype == "bool":
                df[col] = df[col].astype(bool)
        except (TypeError, ValueError):
            pass
    return df


def encode(result: ReportResult) -> tuple[str, str]:
    """(params JSON, data JSON) of ``result``."""
    data = {"tables": {name: encode_table(t) for name, t in result.tables.items()},
            "subtitle": result.subtitle, "notes": list(result.notes), "empty_reason": result.empty_reason,
            "drill": dict(result.drill), "chart": {k: _json_value(v) if not isinstance(v, (list, dict)) else v
                                                   for k, v in result.chart.items()},
            "reference": result.reference, "created_at": result.created_at}
    return json.dumps(result.params.to_dict()), json.dumps(data, ensure_ascii=False, allow_nan=False)


def decode(row: tuple) -> ReportResult:
    """A ReportResult from a report_snapshots row (id, kind, title, params, data, schema_version, as_of, created_at)."""
    sid, kind, title, params_json, data_json, version, as_of, created = row
    try:
        params = ReportParams.from_dict(json.loads(params_json or "{}"))
    except ValueError:
        params = ReportParams()
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(created)) if created else "an unknown date"
    if kind not in KINDS:
        return _unreadable(kind, params, sid, created, title,
                           f"This snapshot ({title or kind}, saved {when}) is of a report this version of the console "
                           "does not know. It was kept; open it with the version that saved it.")
    if version not in READABLE_FORMATS:
        newer = version > SNAPSHOT_FORMAT
        return _unreadable(kind, params, sid, created, title,
                           f"This snapshot ({title or report_title(kind)}, saved {when}) is in snapshot format {version}, "
                           f"{'newer than' if newer else 'older than'} the format {SNAPSHOT_FORMAT} this version reads. "
                           + ("Update the console to open it." if newer else
                              "Its numbers can no longer be shown; run the report again and save a new snapshot."))
    try:
        data = json.loads(data_json)
        tables = {name: decode_table(t) for name, t in data.get("tables", {}).items()}
    except (ValueError, KeyError, TypeError) as exc:
        return _unreadable(kind, params, sid, created, title, f"This snapshot (saved {when}) is damaged and cannot "
                           f"be shown ({type(exc).__name__}).")
    return ReportResult(kind, title or report_title(kind), params, tables, as_of or None,
                        int(data.get("reference") or as_of or created or 0), str(data.get("subtitle", "")),
                        tuple(data.get("notes", ())), str(data.get("empty_reason", "")), (),
                        dict(data.get("drill", {})), dict(data.get("chart", {})), int(data.get("created_at") or created),
                        snapshot_id=sid, snapshot_created=created)


def _unreadable(kind, params, sid, created, title, reason) -> ReportResult:
    r = empty_result(kind if kind in KINDS else "completion", params, reason, title=title or report_title(kind))
    return ReportResult(kind, r.title, params, {}, None, r.reference, empty_reason=reason, created_at=r.created_at,
                        snapshot_id=sid, snapshot_created=created)


# -- storing --------------------------------------------------------------------------------------

def save_snapshot(raw, result: ReportResult, *, auto: bool = False, keep_auto: int = KEEP_AUTO,
                  now: Callable[[], float] = time.time) -> int:
    """Store ``result`` (use the writer's connection: ``with writer.batch() as raw``); returns its id.

    Automatic snapshots beyond the newest ``keep_auto`` of the same kind are deleted.
    """
    if result.is_empty and not result.tables:
        raise ValueError(f"nothing to save: {result.empty_reason}")
    params, data = encode(result)
    cur = raw.execute("INSERT INTO report_snapshots (kind, title, params, data, schema_version, as_of, created_at, auto) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (result.kind, result.title, params, data, SNAPSHOT_FORMAT,
                                                          result.as_of or 0, int(now()), int(auto)))
    if auto:
        raw.execute("DELETE FROM report_snapshots WHERE auto = 1 AND kind = ? AND id NOT IN (SELECT id FROM "
                    "report_snapshots WHERE auto = 1 AND kind = ? ORDER BY created_at DESC, id DESC LIMIT ?)",
                    (result.kind, result.kind, keep_auto))
    return int(cur.lastrowid)


def delete_snapshots(raw, ids) -> int:
    return raw.execute(f"DELETE FROM report_snapshots WHERE {S.in_json('id')}", (S.ids_json(ids),)).rowcount


def list_snapshots(source, kind: str | None = None) -> list[SnapshotInfo]:
    with S.reading(source) as raw:
        sql = ("SELECT id, kind, title, as_of, created_at, auto, schema_version, params FROM report_snapshots"
               + (" WHERE kind = ?" if kind else "") + " ORDER BY created_at DESC, id DESC")
        out = []
        for r in S.rows(raw, sql, (kind,) if kind else ()):
            try:
                params = json.loads(r[7] or "{}")
            except ValueError:
                params = {}
            out.append(SnapshotInfo(r[0], r[1], r[2] or report_title(r[1]), r[3] or 0, r[4] or 0, bool(r[5]),
                                    int(r[6] or 0), params if isinstance(params, dict) else {}))
        return out


def load_snapshot(source, snapshot_id: int) -> ReportResult:
    with S.reading(source) as raw:
        found = S.rows(raw, "SELECT id, kind, title, params, data, schema_version, as_of, created_at "
                            "FROM report_snapshots WHERE id = ?", (int(snapshot_id),))
    if not found:
        return _unreadable("completion", ReportParams(), snapshot_id, None, "Snapshot",
                           f"Snapshot {snapshot_id} is not in the local copy (it may have been deleted).")
    return decode(found[0])


# -- comparing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    title: str
    before: str  # labels of the two sides
    after: str
    table: pd.DataFrame | None  # key columns, then per compared column: before, after, Δ; "Change"
    delta_columns: tuple[str, ...] = ()  # the Δ columns (numeric)
    text_columns: tuple[str, ...] = ()  # text columns shown as "before → after" when changed
    counts: dict | None = None  # changed / added / removed / unchanged
    message: str = ""  # why there is nothing to compare, or what to keep in mind


def _side(r: ReportResult) -> str:
    when = r.snapshot_created or r.created_at
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(when)) if when else "now"
    return f"{'Snapshot' if r.from_snapshot else 'Current'} {stamp} (data as of {S.day(r.as_of) or '?'})"


def compare(before: ReportResult, after: ReportResult, table: str | None = None) -> Comparison:
    """What changed from ``before`` to ``after`` (two results of the same report)."""
    title = f"{after.title}: what changed"
    b_label, a_label = _side(before), _side(after)
    refusal = different_reports(before.kind, after.kind, before.title, after.title)
    if refusal:
        return Comparison(title, b_label, a_label, None, message=refusal)
    for r in (before, after):
        if r.is_empty and not r.tables:
            return Comparison(title, b_label, a_label, None, message=r.empty_reason)
    name = table or after.main_name
    if name not in before.tables or name not in after.tables:
        return Comparison(title, b_label, a_label, None, message=f"Only one of the two has the table “{name}”.")
    b, a = before.tables[name], after.tables[name]
    key = "_key" if "_key" in a.columns and "_key" in b.columns else (
        "_userid" if "_userid" in a.columns and "_userid" in b.columns else None)
    visible = [c for c in a.columns if not str(c).startswith("_")]
    label_cols = [c for c in visible if c in b.columns and not pd.api.types.is_numeric_dtype(a[c])]
    if key is None:
        if not label_cols:
            return Comparison(title, b_label, a_label, None, message="These tables have no column to match rows on.")
        key = label_cols[0]
    numeric = [c for c in visible if c in b.columns and pd.api.types.is_numeric_dtype(a[c])
               and pd.api.types.is_numeric_dtype(b[c])]
    name_col = label_cols[0] if label_cols else key
    texts = [c for c in label_cols if c not in (name_col, key)]
    merged = b.drop_duplicates(key).merge(a.drop_duplicates(key), on=key, how="outer", suffixes=(" before", " after"),
                                          indicator=True)
    out = pd.DataFrame({"_key": merged[key]})
    if name_col != key:
        out[name_col] = merged[f"{name_col} after"].where(merged["_merge"] != "left_only", merged[f"{name_col} before"])
    else:
        out[name_col] = merged[key]
    deltas = []
    changed = pd.Series(False, index=merged.index)
    for c in numeric:
        bv, av = merged[f"{c} before"].astype("Float64"), merged[f"{c} after"].astype("Float64")
        out[f"{c} before"], out[f"{c} after"] = bv, av
        d = (av - bv).round(1)
        out[f"Δ {c}"] = d
        deltas.append(f"Δ {c}")
        changed |= d.fillna(0).ne(0)
    for c in texts:
        bv, av = merged[f"{c} before"].fillna(""), merged[f"{c} after"].fillna("")
        diff = bv.ne(av) & (merged["_merge"] == "both")
        out[c] = av.where(~diff, bv.astype(str) + " → " + av.astype(str))
        changed |= diff
    state = merged["_merge"].map({"left_only": "removed", "right_only": "added", "both": "same"}).astype(str)
    state = state.where(~((state == "same") & changed), "changed")
    out["Change"] = state.replace({"same": ""})
    order = {"changed": 0, "added": 1, "removed": 2, "": 3}
    out = out.assign(_o=out["Change"].map(order)).sort_values(["_o", name_col], kind="stable").drop(columns="_o")
    counts = {k: int((state == k).sum()) for k in ("changed", "added", "removed", "same")}
    notes = []
    if before.params != after.params:
        notes.append("The two used different parameters, so some differences may come from that.")
    if not counts["changed"] and not counts["added"] and not counts["removed"]:
        notes.append("Nothing changed.")
    return Comparison(title, b_label, a_label, out.reset_index(drop=True), tuple(deltas), tuple(texts), counts,
                      " ".join(notes))
