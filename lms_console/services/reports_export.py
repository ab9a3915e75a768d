"""Exporting reports: data as CSV or XLSX (safe to open: nothing runs as a formula), charts as PNG/SVG/PDF.

Only the visible columns go out (``_`` columns are keys for drill-down). The XLSX has one sheet per
table and an "About" sheet with the title, parameters, as-of time and notes, for auditors.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path
from typing import Any, TextIO

from lms_console.services.reports import ReportResult

DATA_FORMATS = ("csv", "xlsx")
CHART_FORMATS = ("png", "svg", "pdf")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PNG_DPI = 150


def safe_text(value: Any) -> str:
    """Text a spreadsheet will show, not run: a leading = + - @ (tab, CR) gets a quote in front."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def visible(df):
    return df[[c for c in df.columns if not str(c).startswith("_")]]


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(v, str):
        return safe_text(v)
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v) if abs(v) < 2**53 else v
    return v


def write_csv(result: ReportResult, stream: TextIO, table: str | None = None) -> int:
    """The table (default: the main one) as CSV rows on ``stream``; returns the number of data rows."""
    df = result.tables[table or result.main_name]
    shown = visible(df)
    w = csv.writer(stream)
    w.writerow([safe_text(c) for c in shown.columns])
    n = 0
    for row in shown.itertuples(index=False, name=None):
        w.writerow([_csv_value(v) for v in row])
        n += 1
    return n


def export_csv(result: ReportResult, path: str | Path, table: str | None = None) -> int:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel then reads UTF-8 right
        return write_csv(result, fh, table)


def csv_text(result: ReportResult, table: str | None = None) -> str:
    buf = io.StringIO()
    write_csv(result, buf, table)
    return buf.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name.replace("_", " ")).strip()[:28] or "Sheet"
    title = base[:1].upper() + base[1:]
    n, candidate = 2, title
    while candidate.lower() in used:
        candidate, n = f"{title[:26]} {n}", n + 1
    used.add(candidate.lower())
    return candidate


def about_rows(result: ReportResult) -> list[tuple[str, str]]:
    params = {k: v for k, v in result.params.to_dict().items() if v not in ((), [], "", None, False)}
    rows = [("Report", result.title), ("Summary", result.subtitle),
            ("Data as of (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime(result.as_of)) if result.as_of else "never synced"),
            ("Exported (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
            ("Parameters", json.dumps(params, ensure_ascii=False))]
    if result.from_snapshot:
        rows.append(("Snapshot saved (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime(result.snapshot_created or 0))))
    rows += [("Note", n) for n in result.notes]
    if result.empty_reason:
        rows.append(("Nothing to show", result.empty_reason))
    return rows


def export_xlsx(result: ReportResult, path: str | Path) -> int:
    """Every table as a sheet (numbers as numbers, text typed as text), plus "About"; returns data rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from lms_console.services.xlsx_out import save_workbook, text_cell

    wb = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)

    def cell(ws, value: Any, header: bool = False):
        v = _csv_value(value) if not isinstance(value, str) else value
        if isinstance(v, str) or v == "":
            return text_cell(ws, str(v), bold if header else None)
        c = WriteOnlyCell(ws, value=v)
        if header:
            c.font = bold
        return c

    n = 0
    for name, df in result.tables.items():
        ws = wb.create_sheet(_sheet_name(name, used))
        shown = visible(df)
        ws.freeze_panes = "A2"
        for i, col in enumerate(shown.columns):
            width = max([len(str(col))] + [len(str(v)) for v in shown[col].head(200)]) + 2
            ws.column_dimensions[get_column_letter(i + 1)].width = min(60, width)
        ws.append([cell(ws, str(c), True) for c in shown.columns])
        for row in shown.itertuples(index=False, name=None):
            ws.append([cell(ws, v) for v in row])
            n += 1
    about = wb.create_sheet(_sheet_name("About", used))
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 100
    for k, v in about_rows(result):
        about.append([cell(about, k, True), cell(about, v)])
    save_workbook(wb, path)
    return n


def export_figure(figure, path: str | Path, fmt: str | None = None) -> None:
    """Save a matplotlib Figure as PNG (150 dpi), SVG or PDF, with its own background colour."""
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in CHART_FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; choose one of {', '.join(CHART_FORMATS)}")
    metadata = {"png": {"Software": "lms-console"}, "svg": {"Creator": "lms-console"},
                "pdf": {"Creator": "lms-console"}}[fmt]
    figure.savefig(path, format=fmt, dpi=PNG_DPI if fmt == "png" else None,
                   facecolor=figure.get_facecolor(), metadata=metadata)
