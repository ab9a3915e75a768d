"""Writing XLSX files the same way everywhere (exports of users, the journal, reports, failed import rows).

    wb = Workbook(write_only=True); ws = wb.create_sheet("Users")
    ws.append([text_cell(ws, v) for v in row])    # text stays text: "=1+1" is never a formula
    save_workbook(wb, path)                        # OSError when the file cannot be written, and nothing else

Text cells lose the control characters XLSX cannot hold (openpyxl refuses the whole cell with
IllegalCharacterError: one user whose name has a stray \\x07 would stop an export of 50,000).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def text_cell(ws, value: str, font: Any = None) -> WriteOnlyCell:
    """A write-only cell typed as text (with ``font``, e.g. ``Font(bold=True)`` for a header)."""
    cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # openpyxl would make "=..." a formula
    if font is not None:
        cell.font = font
    return cell


def save_workbook(wb, path: str | Path) -> None:
    """Build the file in memory, then write it in one go.

    When the disk is full or the folder read-only, the OSError comes from that one write.
    Saving straight to the path fails halfway inside openpyxl instead, whose half-closed zip
    and row generators then print "Exception ignored" tracebacks when they are collected."""
    buf = io.BytesIO()
    wb.save(buf)
    with open(path, "wb") as fh:
        fh.write(buf.getbuffer())


__all__ = ["save_workbook", "text_cell"]
