"""Streaming an import file: the progress it reports (position and row counts) against the rows it
actually delivers, on real files."""

from __future__ import annotations

import pytest

from lms_console.services import importer as I
from lms_console.services.importer_stream import chunks

HEADER = "username,firstname,lastname,email,cohort1,course1,role1\n"


def _row(i: int) -> str:
    return f"user{i},First{i},Last{i},user{i}@example.org,staff,C101,student\n"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-8-sig"])
def test_progress_follows_the_rows_delivered(tmp_path, encoding):
    total_rows = 30_000  # about 2 MB: a 1 MB read-ahead would show as 50% too much
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "".join(_row(i) for i in range(total_rows)), encoding=encoding)
    table = I.read_table(path)
    events = []
    delivered = 0
    sizes = []
    for chunk in chunks(table, 5000, events.append):
        assert chunk.rownos[0] == delivered + 2  # numbered as the spreadsheet shows them, header on row 1
        delivered += len(chunk.rownos)
        sizes.append(len(chunk.rownos))
        event = events[-1]
        assert event.message == f"{delivered:,} rows read"
        assert event.done / event.total <= delivered / total_rows + 0.03, (event, delivered)
    assert sizes == [5000] * 6  # the header row does not eat into the first chunk
    assert delivered == total_rows and events[-1].done == events[-1].total


def test_row_by_row_reading_counts_data_rows_only(tmp_path):
    # A row with more cells than the header (row 3) sends the rest through the csv module.
    path = tmp_path / "people.csv"
    body = [_row(i) for i in range(4500)]
    body[1] = body[1].rstrip("\n") + ",extra\n"
    path.write_text(HEADER + "".join(body), encoding="utf-8")
    table = I.read_table(path)
    events = []
    delivered = sum(len(c.rownos) for c in chunks(table, 5000, events.append))
    assert delivered == 4500
    # Row 2,000 of the file is its 1,999th data row.
    assert [e.message for e in events] == ["1,999 rows read", "3,999 rows read"]
    assert all(e.done <= e.total for e in events)


def test_xlsx_progress_counts_data_rows_only(tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "people.xlsx"
    wb = Workbook()
    wb.active.append(HEADER.strip().split(","))
    for i in range(4500):
        wb.active.append(_row(i).strip().split(","))
    wb.save(path)
    table = I.read_table(path)
    events = []
    assert sum(len(c.rownos) for c in chunks(table, 5000, events.append)) == 4500
    assert [e.message for e in events] == ["1,999 rows read", "3,999 rows read"]
