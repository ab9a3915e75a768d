"""Reading an import file: encodings, delimiters and the files that are not what they claim to be,
each refused with one clear message before any row is checked."""

from __future__ import annotations

import codecs
import re

import pytest

from lms_console.services import importer as I


def write(tmp_path, text: str, name: str = "people.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


@pytest.mark.parametrize("encoding, bom, label", [
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
])
def test_unicode_encodings_are_detected_by_bom(tmp_path, encoding, bom, label):
    path = tmp_path / "p.csv"
    path.write_bytes(bom + "username;firstname\nzoë;Zoë Ünal\n".encode(encoding))
    table = I.read_table(path)
    assert table.source.encoding == label and not table.source.encoding_guessed
    assert table.headers == ("username", "firstname") and table.sample == (("zoë", "Zoë Ünal"),)


def test_cp1252_is_the_named_guess_when_not_utf8(tmp_path):
    path = write(tmp_path, "username,firstname\njose,José Müller\n", encoding="cp1252")
    table = I.read_table(path)
    assert table.source.encoding == "cp1252" and table.source.encoding_guessed
    assert "Windows-1252" in table.source.describe() and "(guessed)" in table.source.describe()
    assert any("line 2" in n and "Windows-1252" in n for n in table.source.notes)
    assert table.sample[0][1] == "José Müller"


def test_a_wrong_encoding_is_named(tmp_path):
    path = write(tmp_path, "username,firstname\njose,José\n", encoding="cp1252")
    with pytest.raises(I.ImportFileError) as err:
        I.read_table(path, encoding="utf-8")
    assert "is not valid UTF-8: byte 27 (line 2)" in err.value.message and "another encoding" in err.value.hint
    undecodable = tmp_path / "odd.csv"
    undecodable.write_bytes(b"username,firstname\nx,\x81\x8d\x90\n")
    with pytest.raises(I.ImportFileError, match="not text in UTF-8, UTF-16 or Windows-1252"):
        I.read_table(undecodable)


def test_utf8_with_stray_windows_1252_bytes_is_refused_not_garbled(tmp_path):
    """Read as Windows-1252, "Schröder" in UTF-8 would become "SchrÃ¶der": an update of every such name."""
    path = tmp_path / "mixed.csv"
    path.write_bytes("username,lastname\nschroeder,Schröder\n".encode() + "mj,Jos\xe9\n".encode("cp1252"))
    with pytest.raises(I.ImportFileError) as err:
        I.read_table(path)
    assert err.value.message == ("mixed.csv mixes two encodings: line 2 is UTF-8 text (“ö”), but byte 0xE9 on "
                                 "line 3 is not valid UTF-8.")
    assert "line 3" in err.value.hint and "choose it yourself" in err.value.hint
    table = I.read_table(path, encoding="cp1252")  # the admin's own choice is respected
    assert table.sample[1] == ("mj", "José")


def test_utf16_without_bom_is_guessed(tmp_path):
    path = write(tmp_path, "username,email\nann,ann@example.org\n", encoding="utf-16-le")
    table = I.read_table(path)
    assert table.source.encoding == "utf-16-le" and table.source.encoding_guessed
    assert table.sample == (("ann", "ann@example.org"),)


@pytest.mark.parametrize("delimiter, name", [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_delimiters_are_detected(tmp_path, delimiter, name):
    text = delimiter.join(["username", "email", "city"]) + "\n" + delimiter.join(["a", "a@x.org", "Porto, PT"]) + "\n"
    table = I.read_table(write(tmp_path, text.replace("Porto, PT", '"Porto, PT"') if delimiter == "," else text))
    assert table.source.delimiter == delimiter and table.source.delimiter_label == name
    assert table.sample[0][2] == "Porto, PT"


@pytest.mark.parametrize("text, note", [
    ("username\nann\nbob\n", "Only one column was found"),
    # QA: a comma header over semicolon rows said "Only one column" beside a preview of two columns.
    ("username,email\nann;ann@x.org\nbob;bob@x.org\n", "The separator is a guess: read as comma-separated, 2 columns"),
    ("username,email\nann,ann@x.org\nbob,bob@x.org\n", None),
])
def test_a_doubtful_separator_is_named_as_read(tmp_path, text, note):
    notes = " ".join(I.read_table(write(tmp_path, text)).source.notes)
    assert (note in notes) if note else ("column" not in notes and "separator" not in notes), notes


def test_excel_sep_line_is_honoured(tmp_path):
    table = I.read_table(write(tmp_path, "sep=;\nusername;email\nann;ann@x.org\n"))
    assert table.source.delimiter == ";" and table.headers == ("username", "email")
    assert list(table.rows()) == [(3, ["ann", "ann@x.org"])]


def test_binary_file_renamed_csv_gets_one_clear_message(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"username,email\n" + bytes(range(256)) * 40)
    with pytest.raises(I.ImportFileError) as err:
        I.read_table(path)
    assert "not a text (CSV) file" in err.value.message and "binary" in err.value.message
    assert "CSV UTF-8" in err.value.hint


@pytest.mark.parametrize("head, words", [(b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "PNG image"),
                                         (b"%PDF-1.7\n", "PDF document"),
                                         (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50, "old-style Excel")])
def test_known_binary_formats_are_named(tmp_path, head, words):
    path = tmp_path / "people.csv"
    path.write_bytes(head)
    with pytest.raises(I.ImportFileError, match=words):
        I.read_table(path)


def test_a_zip_that_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "people.csv"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(I.ImportFileError, match="not a valid Excel workbook"):
        I.read_table(path)


@pytest.mark.parametrize("content, words", [(b"", "empty (0 bytes)"), (b"\n\n  \n", "no rows"),
                                            (codecs.BOM_UTF8 + b"\r\n", "no rows"),
                                            (b"username,email\n", "no data rows")])
def test_empty_files(tmp_path, content, words):
    path = tmp_path / "people.csv"
    path.write_bytes(content)
    with pytest.raises(I.ImportFileError, match=re.escape(words)):
        I.read_table(path)


def test_a_too_big_file_is_refused_before_reading(tmp_path):
    path = write(tmp_path, "username,firstname,lastname,email\n" + "x,y,z,x@y.org\n" * 200)
    with pytest.raises(I.ImportFileError) as err:
        I.read_table(path, max_bytes=1000)
    assert "the import reads files up to 1000 bytes" in err.value.message.replace(",", "")
    assert "Split it" in err.value.hint


def test_xlsx_named_csv_is_read_as_a_workbook(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["username", "email"])
    wb.active.append(["ann", "ann@x.org"])
    path = tmp_path / "people.csv"
    wb.save(path)
    table = I.read_table(path)
    assert table.source.format == "xlsx" and "despite its name" in table.source.notes[0]
