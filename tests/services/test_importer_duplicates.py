"""Repeated usernames and emails in an import file: every occurrence fails, the reasons name only a few
of the other rows (a value on 100 rows is one short reason cell, not a page), and an invalid value is
said to be invalid, not also shared. Real files, a real SQLite cache, the real export."""

from __future__ import annotations

import csv
import re

import pytest

from lms_console.services import importer as I
from lms_console.services.cache.db import CacheDb

PW = "Secret-123"
ROWS = 20_000
BAD = range(463, ROWS, 200)  # ~100 rows with the same invalid address, across all four chunks
SHARED = range(517, ROWS, 190)  # ~100 rows sharing one valid address
TWICE = (300, 6_000, 12_000, 18_000, 19_000)  # one username on five rows, in different chunks


@pytest.fixture
def db(tmp_path):
    database = CacheDb.open(tmp_path / "cache.sqlite")
    yield database
    database.close()


def _row(i: int) -> str:
    email = "not-an-email" if i in BAD else "team@example.org" if i in SHARED else f"u{i}@example.org"
    name = "twin" if i in TWICE else f"u{i}"
    return f"{name},First,Last{i},{email},{PW}\n"


@pytest.fixture
def result(tmp_path, db):
    path = tmp_path / "people.csv"
    path.write_text("username,firstname,lastname,email,password\n" + "".join(map(_row, range(ROWS))))
    table = I.read_table(path)
    return table, I.run_dry_run(db, table, I.auto_map(table.headers), I.ImportOptions())


def _rowno(i: int) -> int:
    return i + 2  # the header is row 1


def test_an_invalid_address_is_not_also_a_duplicate(result):
    _table, dry = result
    rows = {r.row: r for r in dry.rows}
    for i in BAD:
        r = rows[_rowno(i)]
        assert r.klass.value == "error"
        assert len(r.issues) == 1 and "not-an-email" in r.reason and "also used" not in r.reason, r.reason


def test_a_shared_address_names_a_few_other_rows(result):
    _table, dry = result
    rows = {r.row: r for r in dry.rows}
    first, *others = map(_rowno, SHARED)
    assert all(rows[n].klass.value == "error" for n in (first, *others))
    assert rows[first].reason == (f"“email” = 'team@example.org': is also used on rows {others[0]}, {others[1]}, "
                                  f"{others[2]} and {len(others) - 3} more (each account needs its own address)")
    assert len(rows[first].issues) == 1
    for n in others:
        assert rows[n].reason.endswith(f"is also used on row {first} (each account needs its own address)")


def test_a_repeated_username_across_chunks_names_a_few_other_rows(result):
    _table, dry = result
    rows = {r.row: r for r in dry.rows}
    first, *others = map(_rowno, TWICE)
    assert rows[first].reason == (f"“username” = 'twin': appears more than once in the file (also on rows "
                                  f"{others[0]}, {others[1]}, {others[2]} and 1 more)")
    assert all(rows[n].reason.endswith(f"(also on row {first})") for n in others)
    assert "twin" not in {c.data.get("username") for c in dry.changes}


def test_exported_reasons_stay_short(result, tmp_path):
    table, dry = result
    out = tmp_path / "failed.csv"
    written = I.export_failed_rows(dry, table, out)
    assert written == len(BAD) + len(SHARED) + len(TWICE)
    with open(out, encoding="utf-8-sig", newline="") as f:
        reasons = [row[-1] for row in csv.reader(f)][1:]
    assert max(map(len, reasons)) < 200, max(reasons, key=len)
    assert not any(re.search(r"row \d+.*row \d+.*row \d+.*row \d+", r) for r in reasons)
