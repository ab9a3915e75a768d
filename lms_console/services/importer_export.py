"""Export of the rows an import could not take, with their reasons, as a file to fix and re-import.

Same columns as the source plus a ``reason`` column (the mapping ignores it when the file comes
back). Spreadsheet formulas never run: CSV cells starting with = + - @ (or a tab/CR) get a
leading apostrophe, which the import strips again; XLSX cells are written as text.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Collection
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from lms_console.services.importer_mapping import REASON_COLUMN
from lms_console.services.importer_read import ImportFileError, Table
from lms_console.services.progress import CancelToken, ProgressEvent

if TYPE_CHECKING:
    from lms_console.services.importer import DryRun

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never evaluates (OWASP's CSV-injection advice)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _reason_header(headers: tuple[str, ...]) -> str:
    name = REASON_COLUMN
    while name in headers:
        name = "import " + name
    return name


def export_failed_rows(result: DryRun, table: Table, path: str | os.PathLike[str], *,
                       classes: Collection[str] = ("conflict", "error"),
                       progress: Callable[[ProgressEvent], None] | None = None,
                       cancel: CancelToken | None = None) -> int:
    """Write the rows of ``classes`` to ``path`` (.xlsx, else CSV); returns how many were written.

    The rows are read again from the source file, so they are exactly what the admin wrote."""
    rows = result.rows
    picked = rows.indices(classes) if hasattr(rows, "indices") else [i for i, r in enumerate(rows)
                                                                      if r.klass.value in classes]
    reasons = {rows[i].row: rows[i].reason for i in picked}
    headers = table.headers
    out_headers = [*headers, _reason_header(headers)]
    width = len(headers)

    def rows():
        if not reasons:
            return
        left = len(reasons)
        for n, cells in table.rows(progress, cancel):
            reason = reasons.get(n)
            if reason is None:
                continue
            extra = [c for c in cells[width:] if c.strip()]
            if extra:
                reason += f" (cells beyond the last column: {' | '.join(extra)})"
            yield [*cells[:width], *[""] * (width - len(cells)), reason]
            left -= 1
            if not left:
                return

    target = Path(path)
    if not target.parent.is_dir():
        raise ImportFileError(f"The folder {target.parent} does not exist, so {target.name} cannot be written there.",
                              "Choose an existing folder.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".import-export-", suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise ImportFileError(f"{target.name} cannot be written: {exc.strerror or exc}.",
                              "Choose another folder or file name.") from None
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the file is the admin's, like any other
    try:
        if target.suffix.lower() in (".xlsx", ".xlsm"):
            count = _write_xlsx(tmp, out_headers, rows())
        else:
            delimiter = table.source.delimiter if table.source.format == "csv" and table.source.delimiter else ","
            count = _write_csv(tmp, out_headers, rows(), delimiter)
        os.replace(tmp, target)
    except OSError as exc:
        raise ImportFileError(f"{target.name} cannot be written: {exc.strerror or exc}.",
                              "Choose another folder or file name.") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return count


@lru_cache(maxsize=1)
def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back (once per process)
    os.umask(mask)
    return mask


def _write_csv(path: str, headers: list[str], rows, delimiter: str) -> int:
    count = 0
    # UTF-8 with a byte-order mark: Excel then opens it with the right encoding.
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow([formula_safe(h) for h in headers])
        for row in rows:
            writer.writerow([formula_safe(c) for c in row])
            count += 1
    return count


def _write_xlsx(path: str, headers: list[str], rows) -> int:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from lms_console.services.xlsx_out import save_workbook, text_cell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Failed rows")

    def text(value: str, font=None):
        cell = text_cell(ws, value, font)
        cell.number_format = "@"  # the admin's fixes typed into it stay text too
        return cell

    bold = Font(bold=True)
    ws.append([text(h, bold) for h in headers])
    count = 0
    for row in rows:
        ws.append([text(c) for c in row])
        count += 1
    save_workbook(wb, path)
    return count


__all__ = ["export_failed_rows", "formula_safe"]
