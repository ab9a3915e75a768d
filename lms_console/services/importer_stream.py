"""Streaming the data rows of an import file, in chunks of columns or row by row.

CSV goes through pandas' C parser (``dtype=str``, no NA guessing: every cell stays the text
it was), which reads a chunk of 5,000 rows as columns several times faster than Python's csv
module builds rows. A row with more cells than the header stops that parser; the rest of
the file is then read with the csv module, which keeps such rows (the dry run names them).
Both count rows the same way (a blank line is a row; a quoted line break is not), and
everything (dry run, sample, export of failed rows) reads through :func:`chunks`, so row
numbers always agree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import NamedTuple

from lms_console.services.importer_read import ImportFileError, Table, load_workbook, open_text
from lms_console.services.lms.errors import Cancelled
from lms_console.services.progress import ProgressEvent


class Chunk(NamedTuple):
    """Consecutive data rows: their numbers, their cells column by column (exactly one list per
    header column, padded with ""), and the rows that had cells beyond the header:
    ``ragged[k] = [extra cells...]`` (k: index in this chunk)."""

    rownos: list[int]
    columns: list[list[str]]
    ragged: dict[int, list[str]]


class _GiveUp(Exception):
    """pandas cannot split the rest of the file (a row with more cells than the header)."""


def chunks(table: Table, size: int = 5000, progress=None, cancel=None) -> Iterator[Chunk]:
    table._check_unchanged()
    if table.source.format == "xlsx":
        yield from _from_records(table, _data(table, xlsx_records(table, progress, cancel)), size)
        return
    last = table.source.header_row
    try:
        for chunk in _pandas_chunks(table, size, progress, cancel):
            last = chunk.rownos[-1] if chunk.rownos else last
            yield chunk
        return
    except _GiveUp:
        pass
    records = ((n, cells) for n, cells in csv_records(table, progress, cancel) if n > last)
    yield from _from_records(table, _data(table, records, already=last - table.source.header_row), size)


def rows(table: Table, progress=None, cancel=None) -> Iterator[tuple[int, list[str]]]:
    for chunk in chunks(table, 5000, progress, cancel):
        ragged = chunk.ragged
        for k, (n, cells) in enumerate(zip(chunk.rownos, zip(*chunk.columns))):
            yield n, [*cells, *ragged[k]] if k in ragged else list(cells)


def _too_many(table: Table) -> ImportFileError:
    limit = table.max_rows
    return ImportFileError(f"{table.source.name} has more than {limit:,} data rows; the import takes at most "
                           f"{limit:,} at a time.", "Split it into smaller files and import them one by one.")


_STEP = 64 << 10  # what pandas may take from the file at a time: it holds that much unparsed


class _Paced:
    """Hands pandas at most ``_STEP`` bytes per read: its own read-ahead (256 KB) would let the
    position run ahead of the rows parsed. Bytes for UTF-8 (pandas parses them as they are)."""

    def __init__(self, source) -> None:
        self._source = source

    def read(self, n: int = -1):
        return self._source.read(min(n, _STEP) if n is not None and n >= 0 else -1)


class _PacedText(_Paced, io.TextIOBase):
    """The same for text decoded here (other encodings), so pandas does not wrap it again."""


def _pandas_chunks(table: Table, size: int, progress, cancel) -> Iterator[Chunk]:
    import pandas as pd

    info, n = table.source, len(table.headers)
    total = max(1, info.size)
    rowno, seen = info.header_row - 1, 0
    raw = open(info.path, "rb", buffering=0)  # noqa: SIM115 - closed below
    with raw, io.BufferedReader(raw, 1 << 20) as buf:
        # Progress is buf.tell(), what pandas (or the decoder) took; the raw file runs up to 1 MB ahead.
        if info.encoding == "utf-8":
            source, encoding = _Paced(buf), "utf-8"
        else:
            source, encoding = _PacedText(io.TextIOWrapper(buf, encoding=info.encoding, newline="")), None
        try:
            reader = pd.read_csv(source, header=None, sep=info.delimiter, dtype=str, na_filter=False,
                                 skip_blank_lines=False, skiprows=info.header_row - 1, chunksize=size,
                                 encoding=encoding, engine="c", quotechar='"', doublequote=True)
            with reader:
                first = True  # the header row comes first (it sets the width): read one more row then
                while True:
                    try:
                        df = reader.get_chunk(size + 1 if first else size)
                    except StopIteration:
                        break
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled()
                    columns = [df[c].tolist() for c in df.columns]
                    m = len(df)
                    numbers = list(range(rowno + 1, rowno + 1 + m))
                    rowno += m
                    if first:
                        first = False
                        columns = [c[1:] for c in columns]
                        numbers, m = numbers[1:], m - 1
                    seen += m
                    if seen > table.max_rows:
                        raise _too_many(table)
                    width = len(columns)
                    ragged: dict[int, list[str]] = {}
                    if width > n:
                        extra = columns[n:]
                        columns = columns[:n]
                        for k, cells in enumerate(zip(*extra)):
                            if any(cells):
                                ragged[k] = list(cells)
                    elif width < n:
                        columns += [[""] * m for _ in range(n - width)]
                    if progress is not None:
                        progress(ProgressEvent("read", buf.tell(), total, f"{seen:,} rows read"))
                    if m:
                        yield Chunk(numbers, columns, ragged)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
            raise _GiveUp() from None


def _data(table: Table, records: Iterable[tuple[int, list[str]]], already: int = 0):
    header_row, limit = table.source.header_row, table.max_rows
    count = already
    for n, cells in records:
        if n <= header_row:
            continue
        count += 1
        if count > limit:
            raise _too_many(table)
        yield n, cells


def _from_records(table: Table, records: Iterable[tuple[int, list[str]]], size: int) -> Iterator[Chunk]:
    n = len(table.headers)
    numbers: list[int] = []
    rows: list[list[str]] = []
    ragged: dict[int, list[str]] = {}
    for rowno, cells in records:
        w = len(cells)
        if w != n:
            if w < n:
                cells = cells + [""] * (n - w)
            else:
                if any(cells[n:]):
                    ragged[len(rows)] = cells[n:]
                cells = cells[:n]
        numbers.append(rowno)
        rows.append(cells)
        if len(rows) >= size:
            yield Chunk(numbers, [list(c) for c in zip(*rows)] if n else [], ragged)
            numbers, rows, ragged = [], [], {}
    if rows:
        yield Chunk(numbers, [list(c) for c in zip(*rows)] if n else [], ragged)


# -- records: every row of the file, numbered as a spreadsheet shows it ------------------------------------

def csv_records(table: Table, progress, cancel) -> Iterator[tuple[int, list[str]]]:
    info = table.source
    raw, text = open_text(info, table._skip)
    size = max(1, info.size)
    with raw, text:
        reader = csv.reader(text, delimiter=info.delimiter)
        n, header_row = table._skip, info.header_row
        try:
            for cells in reader:
                n += 1
                if progress is not None and not n % 2000:
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled()
                    # text.buffer: what the decoder took (the raw file runs up to 1 MB ahead); data rows only
                    progress(ProgressEvent("read", text.buffer.tell(), size, f"{max(0, n - header_row):,} rows read"))
                yield n, cells
        except csv.Error as exc:
            raise ImportFileError(f"{info.name}, row {n + 1:,}: the file cannot be split into cells ({exc}).",
                                  "This usually means a quote (\") that is never closed in that row or one above it. "
                                  "Fix the quotes, or save the sheet again from your spreadsheet program.") from None
        except UnicodeDecodeError:  # pragma: no cover - validated in read_table
            raise ImportFileError(f"{info.name} cannot be decoded as {info.encoding_label}.") from None


def cell_text(value) -> str:
    """An XLSX cell as the text the admin sees (whole numbers without ".0", dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == time(0) else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def xlsx_records(table: Table, progress, cancel) -> Iterator[tuple[int, list[str]]]:
    info = table.source
    with load_workbook(info) as wb:
        ws = wb[info.sheet] if info.sheet in wb.sheetnames else wb.worksheets[0]
        total = ws.max_row or 0
        first = ws.min_row or 1
        try:
            for n, values in enumerate(ws.iter_rows(values_only=True), start=first):
                if progress is not None and not n % 2000:
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled()
                    progress(ProgressEvent("read", n, total, f"{max(0, n - info.header_row):,} rows read"))
                yield n, [cell_text(v) for v in values]
        except (KeyError, ValueError, TypeError, OSError, EOFError) as exc:
            raise ImportFileError(f"{info.name} is damaged: reading stopped ({type(exc).__name__}: {exc}).",
                                  "Save it again from your spreadsheet program.") from None


__all__ = ["Chunk", "cell_text", "chunks", "csv_records", "rows", "xlsx_records"]
