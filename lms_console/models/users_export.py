"""The users pane's export: the current view (filter, sort order, columns) as CSV or XLSX.

No Qt here: UsersTableModel.export runs :func:`export_view` on a TaskRunner worker, which passes
its progress and cancel token. (It sits next to the model because services/users_query.py is at
its size limit; it only needs services.)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from lms_console.services import users_query as Q
from lms_console.services.changes.journal import plain_cell, safe_cell
from lms_console.services.progress import CancelToken, ProgressEvent, no_progress


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: str
    rows: int
    error: str = ""


def export_view(conn, spec: Q.UserFilter, columns: Sequence[str], sort: str | None, descending: bool,
                path: str | Path, *, titles: Mapping[str, str] | None = None,
                progress: Callable[[ProgressEvent], None] = no_progress, cancel: CancelToken | None = None,
                now: int | None = None) -> ExportResult:
    """Write what the pane shows (filter, sort order, columns) to ``path`` (.xlsx, else CSV).

    Cells are text a spreadsheet never evaluates: CSV cells starting with = + - @ get a quote;
    XLSX cells are typed as strings. A file that cannot be written is an ``error``, not a crash.
    """
    path = Path(path)
    cols = [Q.column(k, titles) for k in columns]
    total = Q.count(conn, spec, now=now)
    src, where, params = Q.sources(spec, now)
    sql = (f"SELECT {', '.join(c.sql for c in cols)} FROM {src} {where} "
           f"ORDER BY {Q.order_sql(sort, descending, titles)}")
    header = [c.title for c in cols]
    xlsx = path.suffix.lower() == ".xlsx"
    n = 0

    def rows(cell) -> Iterator[list[str]]:
        nonlocal n
        result = conn.exec_driver_sql(sql, params)
        while True:
            chunk = result.fetchmany(2_000)
            if not chunk:
                return
            if cancel is not None:
                cancel.raise_if_cancelled()
            for r in chunk:
                yield [cell(Q.display(c.kind, v)) for c, v in zip(cols, r)]
            n += len(chunk)
            progress(ProgressEvent("export", n, total, f"{n:,} of {total:,} users"))

    try:
        if xlsx:
            from openpyxl import Workbook

            from lms_console.services.xlsx_out import save_workbook, text_cell

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Users")
            ws.append(header)
            for line in rows(plain_cell):
                ws.append([text_cell(ws, v) for v in line])
            save_workbook(wb, path)
        else:
            with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel reads UTF-8 right
                w = csv.writer(fh)
                w.writerow(header)
                for line in rows(safe_cell):
                    w.writerow(line)
    except OSError as exc:
        return ExportResult(str(path), n, f"Could not write {path}: {exc.strerror or exc}")
    return ExportResult(str(path), n)
