"""Reading an import file: CSV (encoding and delimiter detected) or XLSX, streamed row by row.

A file the import cannot use raises :class:`ImportFileError` with ONE message for the whole
file (empty, too big, binary, not text in any encoding we read, an unclosed quote...).
Otherwise :func:`read_table` returns a :class:`Table`: the header, a few sample rows for the
mapping step, what was detected (and whether it was a guess), and ``rows()`` to stream the
data rows again as often as needed (the dry run, the export of failed rows).

Row numbers are the ones a spreadsheet shows: the first record of the file is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lms_console.services.progress import CancelToken, ProgressEvent
from lms_console.services.units import human_size
from lms_console.services.user_errors import UserError

MAX_BYTES = 200 * 1024 * 1024  # bigger files are refused up front: split them
MAX_ROWS = 500_000
SAMPLE_ROWS = 20
_CHUNK = 1 << 20
_HEAD = 64 * 1024

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
ENCODINGS = {  # codec -> how the admin reads it
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "utf-16": "UTF-16 (byte-order mark)",
    "utf-16-le": "UTF-16 little-endian",
    "utf-16-be": "UTF-16 big-endian",
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "ISO-8859-1 (Latin-1)",
}
# Signatures of files that are not CSV whatever their name says.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Excel (.xls) and other Office 97-2003 files
_ZIP = b"PK\x03\x04"
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ImportFileError(UserError):
    """The whole file cannot be imported; ``message`` says why in plain words, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What was read and how: shown above the mapping and kept with the dry run."""

    path: str
    name: str
    format: str  # csv | xlsx
    size: int
    mtime_ns: int
    encoding: str = ""  # the codec used (CSV)
    encoding_guessed: bool = False
    delimiter: str = ""  # CSV
    sheet: str = ""  # XLSX
    header_row: int = 1
    notes: tuple[str, ...] = ()  # plain words: what was guessed, skipped or chosen

    @property
    def encoding_label(self) -> str:
        return ENCODINGS.get(self.encoding, self.encoding)

    @property
    def delimiter_label(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))

    def describe(self) -> str:
        """``people.csv: CSV, UTF-8, semicolon-separated, 2.1 MB``."""
        if self.format == "xlsx":
            how = f"Excel workbook, sheet “{self.sheet}”"
        else:
            how = (f"CSV, {self.encoding_label}{' (guessed)' if self.encoding_guessed else ''}, "
                   f"{self.delimiter_label}-separated")
        return f"{self.name}: {how}, {human_size(self.size)}"


@dataclass(frozen=True)
class Table:
    """A readable import file. ``rows()`` streams ``(row_number, cells)`` below the header."""

    source: SourceInfo
    headers: tuple[str, ...]
    sample: tuple[tuple[str, ...], ...]
    max_rows: int = MAX_ROWS
    _skip: int = field(default=0, repr=False)  # CSV: a leading "sep=;" line

    def rows(self, progress: Callable[[ProgressEvent], None] | None = None,
             cancel: CancelToken | None = None) -> Iterator[tuple[int, list[str]]]:
        """``(row number, cells)`` of every data row (the cells as in the file, extra ones included)."""
        from lms_console.services.importer_stream import rows

        return rows(self, progress, cancel)

    def chunks(self, size: int = 5000, progress: Callable[[ProgressEvent], None] | None = None,
               cancel: CancelToken | None = None):
        """The data rows column by column, ``size`` rows at a time (see ``importer_stream.Chunk``)."""
        from lms_console.services.importer_stream import chunks

        return chunks(self, size, progress, cancel)

    def _check_unchanged(self) -> None:
        try:
            st = os.stat(self.source.path)
        except OSError as exc:
            raise ImportFileError(f"{self.source.name} cannot be read any more ({exc.strerror}).") from None
        if (st.st_size, st.st_mtime_ns) != (self.source.size, self.source.mtime_ns):
            raise ImportFileError(f"{self.source.name} changed after it was read.",
                                  "Read it again (choose the file again), then run the dry run again.")


def read_table(path: str | os.PathLike[str], *, encoding: str | None = None, delimiter: str | None = None,
               max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS, sample_rows: int = SAMPLE_ROWS) -> Table:
    """Open ``path`` as an import file (CSV or XLSX); ``encoding``/``delimiter`` override detection.

    Raises :class:`ImportFileError` with one clear message when the file cannot be used."""
    p = Path(path)
    name = p.name
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ImportFileError(f"{name} does not exist (moved or deleted?).") from None
    except OSError as exc:
        raise ImportFileError(f"{name} cannot be read: {exc.strerror}.") from None
    if p.is_dir():
        raise ImportFileError(f"{name} is a folder, not a file.")
    if st.st_size == 0:
        raise ImportFileError(f"{name} is empty (0 bytes).", "Choose the file that holds the accounts.")
    if st.st_size > max_bytes:
        raise ImportFileError(
            f"{name} is {human_size(st.st_size)}; the import reads files up to {human_size(max_bytes)}.",
            "Split it into smaller files (for example 100,000 rows each) and import them one after another.")
    try:
        with open(p, "rb") as f:
            head = f.read(_HEAD)
    except OSError as exc:
        raise ImportFileError(f"{name} cannot be read: {exc.strerror}.") from None
    suffix = p.suffix.lower()
    base = SourceInfo(str(p), name, "csv", st.st_size, st.st_mtime_ns)
    if head.startswith(_ZIP):
        if suffix not in (".xlsx", ".xlsm"):
            base = _replace(base, notes=(f"{name} is an Excel workbook (XLSX) despite its name; read as one.",))
        return _open_xlsx(base, max_rows, sample_rows)
    if suffix in (".xlsx", ".xlsm"):
        raise ImportFileError(f"{name} is not a valid Excel workbook (XLSX): it is damaged or another kind of file.",
                              "Open it in your spreadsheet program and save it again as .xlsx or as CSV UTF-8.")
    if head.startswith(_OLE) or suffix == ".xls":
        raise ImportFileError(f"{name} is an old-style Excel file (.xls, Excel 97-2003), which the import cannot read.",
                              "Save it as an Excel workbook (.xlsx) or as CSV UTF-8 and choose that file.")
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            raise ImportFileError(f"{name} is {what}, not a CSV or Excel file.", "Choose the exported spreadsheet.")
    return _open_csv(base, head, encoding, delimiter, max_rows, sample_rows)


def _replace(info: SourceInfo, **kw) -> SourceInfo:
    from dataclasses import replace

    return replace(info, **kw)


# -- CSV ----------------------------------------------------------------------------------------------

def _binary_error(name: str, offset: int | None = None) -> ImportFileError:
    where = f" (NUL bytes from byte {offset:,})" if offset is not None else ""
    return ImportFileError(f"{name} is not a text (CSV) file: it contains binary data{where}.",
                           "It may be a spreadsheet or another file renamed to .csv. In your spreadsheet program "
                           "use Save As › “CSV UTF-8”, or choose the .xlsx file itself.")


def _utf16_without_bom(head: bytes) -> str | None:
    """BOM-less UTF-16 of mostly ASCII text: NULs on every other byte."""
    sample = head[: len(head) - len(head) % 2][:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


_UTF8_SEQUENCE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")


def _utf8_letter(path: str) -> tuple[int, str] | None:
    """(line, letter) of the first non-ASCII letter written in UTF-8, or None: a file that has them
    but does not decode as UTF-8 mixes encodings (Windows-1252 text rarely forms such sequences)."""
    lines = 1
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            found = _UTF8_SEQUENCE.search(chunk)
            if found is not None:
                return lines + chunk.count(b"\n", 0, found.start()), found.group().decode("utf-8")
            lines += chunk.count(b"\n")
    return None


def _validate(path: str, codec: str, skip: int = 0) -> tuple[int, int, int] | None:
    """Decode the whole file in chunks; None when it decodes, else (offset, line, byte) of the first bad byte."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset, lines = 0, 1
    check_nul = not codec.startswith("utf-16")
    with open(path, "rb") as f:
        if skip:
            f.seek(skip)
            offset = skip
        while True:
            chunk = f.read(_CHUNK)
            final = not chunk
            if check_nul and b"\x00" in chunk:
                return (offset + chunk.index(b"\x00"), -1, 0)
            try:
                decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                if check_nul:
                    lines += chunk[:exc.start].count(b"\n")
                return (bad, lines, exc.object[exc.start])
            if final:
                return None
            if check_nul:
                lines += chunk.count(b"\n")
            offset += len(chunk)


def _detect_encoding(info: SourceInfo, head: bytes, forced: str | None) -> tuple[str, bool, list[str]]:
    name, notes = info.name, []
    if forced:
        try:
            codec = codecs.lookup(forced).name
        except LookupError:
            raise ImportFileError(f"“{forced}” is not an encoding the import knows.") from None
        codec = {"iso8859-1": "latin-1"}.get(codec, codec)
        codec = {"utf-8": "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"}.get(codec, codec)
        if codec == "utf-16" and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            codec = _utf16_without_bom(head) or "utf-16-le"
        bad = _validate(info.path, codec)
        if bad is not None:
            if bad[1] == -1:
                raise _binary_error(name, bad[0])
            raise ImportFileError(f"{name} is not valid {ENCODINGS.get(codec, codec)}: byte {bad[0]:,} (line {bad[1]:,}) "
                                  "cannot be read in that encoding.", "Choose “Detect automatically” or another encoding.")
        return codec, False, notes
    if head.startswith(codecs.BOM_UTF8):
        codec, guessed = "utf-8-sig", False
    elif head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ImportFileError(f"{name} is UTF-32 text, which the import does not read.",
                              "Save it as CSV UTF-8.")
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec, guessed = "utf-16", False
    elif b"\x00" in head:
        codec = _utf16_without_bom(head)
        if codec is None:
            raise _binary_error(name, head.index(b"\x00"))
        guessed = True
        notes.append(f"No byte-order mark: the text looks like {ENCODINGS[codec]} and was read as such.")
    else:
        codec, guessed = "utf-8", False
    bad = _validate(info.path, codec)
    if bad is not None and bad[1] == -1:
        raise _binary_error(name, bad[0])
    if bad is not None and codec == "utf-8":
        offset, line, byte = bad
        utf8 = _utf8_letter(info.path)
        if utf8 is not None:  # UTF-8 with stray bytes: as Windows-1252 every accented letter would change
            where, letter = utf8
            raise ImportFileError(
                f"{name} mixes two encodings: line {where:,} is UTF-8 text (“{letter}”), but byte 0x{byte:02X} on "
                f"line {line:,} is not valid UTF-8.",
                f"Read either way, some letters would come out wrong. Retype the accented letters of line {line:,} "
                "(or save the file again from your spreadsheet program as “CSV UTF-8”); if you know the file's "
                "encoding, choose it yourself.")
        if _validate(info.path, "cp1252") is None:
            notes.append(f"Not UTF-8 (byte 0x{byte:02X} on line {line:,} is not valid UTF-8): read as Windows-1252. "
                         "Check accented letters in the preview; if they look wrong, choose the encoding yourself.")
            return "cp1252", True, notes
        raise ImportFileError(f"{name} is not text in UTF-8, UTF-16 or Windows-1252: byte {offset:,} (line {line:,}) "
                              "cannot be read.", "Save it from your spreadsheet program as “CSV UTF-8”.")
    if bad is not None:
        raise ImportFileError(f"{name} is not valid {ENCODINGS.get(codec, codec)} text (byte {bad[0]:,} cannot be "
                              "read).", "Save it again as “CSV UTF-8”.")
    return codec, guessed, notes


def open_text(info: SourceInfo, skip: int = 0):
    raw = open(info.path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller via the wrapper
    buffered = io.BufferedReader(raw, _CHUNK)
    text = io.TextIOWrapper(buffered, encoding=info.encoding, newline="", errors="strict")
    for _ in range(skip):
        text.readline()
    return raw, text


def _sniff_delimiter(sample: str) -> tuple[str, float, int]:
    """The delimiter that splits the first lines into the same number (> 1) of cells: (delim, share of
    the rows below the header with the header's number of cells, that number); width 0: none splits the
    header."""
    lines = sample.splitlines()[:60]
    if len(lines) > 1 and len(sample) >= _HEAD - 8:
        lines = lines[:-1]  # cut mid-line by the sample
    best, best_score = ",", (0.0, 0)
    for delim in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        same = sum(1 for r in rows[1:] if len(r) == width) / max(1, len(rows) - 1)
        score = (same, width)
        if score > best_score:
            best, best_score = delim, score
    return best, best_score[0], best_score[1]


def _open_csv(info: SourceInfo, head: bytes, encoding: str | None, delimiter: str | None, max_rows: int,
              sample_rows: int) -> Table:
    codec, guessed, notes = _detect_encoding(info, head, encoding)
    info = _replace(info, encoding=codec, encoding_guessed=guessed, notes=info.notes + tuple(notes))
    raw, text = open_text(info)
    with raw, text:
        try:
            start = text.read(_HEAD)
        except UnicodeDecodeError:  # pragma: no cover - validated above
            raise ImportFileError(f"{info.name} cannot be decoded as {info.encoding_label}.") from None
    controls = len(_CONTROL_RE.findall(start[:4096]))
    if controls > max(2, len(start[:4096]) // 100):
        raise _binary_error(info.name)
    skip, sep_line = 0, None
    first = start.split("\n", 1)[0].strip("\r\ufeff ")
    m = re.fullmatch(r"sep=(.)", first, flags=re.IGNORECASE)
    if m:  # Excel's hint line: "sep=;"
        skip, sep_line = 1, m.group(1)
        start = start.split("\n", 1)[1] if "\n" in start else ""
    if not start.strip("\ufeff \r\n\t,;"):
        raise ImportFileError(f"{info.name} has no rows (only blank lines or separators).",
                              "Choose the file that holds the accounts.")
    if delimiter:
        delim = delimiter
    elif sep_line:
        delim = sep_line
        notes.append(f"The file's first line says “sep={sep_line}”: {DELIMITERS.get(sep_line, sep_line)}-separated.")
    else:
        delim, same, width = _sniff_delimiter(start)
        if width < 2:
            notes.append("Only one column was found: if the file uses another separator, choose it yourself.")
        elif same < 1:
            notes.append(f"The separator is a guess: read as {DELIMITERS.get(delim, delim)}-separated, {width} columns "
                         "in the header, but some of the first rows have another number of cells. If the file uses "
                         "another separator (or mixes them), choose it yourself or fix those rows.")
    info = _replace(info, delimiter=delim, notes=info.notes + tuple(n for n in notes if n not in info.notes))
    table = Table(info, (), (), max_rows, skip)
    headers, sample, header_row = _head_and_sample(table, sample_rows)
    return Table(_replace(info, header_row=header_row), headers, sample, max_rows, skip)


def _head_and_sample(table: Table, sample_rows: int):
    headers: tuple[str, ...] | None = None
    header_row = 1
    sample: list[tuple[str, ...]] = []
    from lms_console.services.importer_stream import csv_records, xlsx_records

    records = xlsx_records(table, None, None) if table.source.format == "xlsx" else csv_records(table, None, None)
    try:
        for n, cells in records:
            if headers is None:
                if any(c.strip() for c in cells):
                    headers = tuple(c.strip().lstrip("\ufeff").strip() for c in cells)
                    while headers and not headers[-1]:  # trailing separators
                        headers = headers[:-1]
                    header_row = n
                continue
            if any(c.strip() for c in cells):
                sample.append(tuple(cells))
                if len(sample) >= sample_rows:
                    break
    finally:
        records.close()
    if headers is None:
        raise ImportFileError(f"{table.source.name} has no rows.", "Choose the file that holds the accounts.")
    if not sample:
        raise ImportFileError(f"{table.source.name} has a header row but no data rows below it.",
                              "Add the accounts below the header, or choose another file.")
    return headers, tuple(sample), header_row


# -- XLSX -----------------------------------------------------------------------------------------------

@contextmanager
def load_workbook(info: SourceInfo) -> Iterator:
    """The workbook of ``info``, read-only and streamed; closed (with its file) at the end of the block.

    Opened through a file object: openpyxl would refuse a workbook whose name does not end in .xlsx."""
    import zipfile

    import openpyxl

    fh = open(info.path, "rb")  # noqa: SIM115 - closed in the finally below
    wb = None
    try:
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as exc:
            raise ImportFileError(
                f"{info.name} is not a valid Excel workbook (XLSX) or is damaged ({type(exc).__name__}).",
                "Open it in your spreadsheet program and save it again as .xlsx or as CSV UTF-8.") from None
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged package
            raise ImportFileError(f"{info.name} cannot be read as an Excel workbook ({exc}).",
                                  "Save it again as .xlsx or as CSV UTF-8.") from None
        yield wb
    finally:
        if wb is not None:
            wb.close()
        fh.close()


def _open_xlsx(info: SourceInfo, max_rows: int, sample_rows: int) -> Table:
    with load_workbook(info) as wb:
        sheets = wb.worksheets
        if not sheets:
            raise ImportFileError(f"{info.name} has no worksheets.")
        sheet = sheets[0].title
    notes = info.notes
    if len(sheets) > 1:
        notes += (f"The workbook has {len(sheets)} sheets; the first (“{sheet}”) is imported.",)
    info = _replace(info, format="xlsx", sheet=sheet, encoding="", delimiter="", notes=notes)
    headers, sample, header_row = _head_and_sample(Table(info, (), (), max_rows), sample_rows)
    return Table(_replace(info, header_row=header_row), headers, sample, max_rows)


__all__ = ["DELIMITERS", "ENCODINGS", "MAX_BYTES", "MAX_ROWS", "ImportFileError", "SourceInfo", "Table",
           "human_size", "read_table"]
