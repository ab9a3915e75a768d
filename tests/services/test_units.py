"""QA: file sizes read "293.0 KB" for 300,000 bytes (counted in 1,024s) while the file picker shows KiB, and
four places had a formatter each. One helper now, binary units labelled as such, the same text everywhere:
the upload check, the import's file line, the connection doctor (CLI) and the profiles dialog's summary."""

from __future__ import annotations

import pytest

from lms_console.models.profiles_model import report_summary
from lms_console.services import doctor
from lms_console.services.importer_read import ImportFileError, read_table
from lms_console.services.units import human_size
from lms_console.services.uploads_names import LocalFileProblem, check_local_file

MIB_64 = 64 * 1024 * 1024  # Moodle's "64MB" upload limit


@pytest.mark.parametrize("n, text", [
    (0, "0 bytes"), (1, "1 byte"), (1_000, "1,000 bytes"), (1_023, "1,023 bytes"), (1_024, "1 KiB"),
    (300_000, "293 KiB"), (1_572_864, "1.5 MiB"), (1_048_575, "1 MiB"),  # not "1,024 KiB"
    (MIB_64, "64 MiB"), (3 * 1024 ** 3 + 1, "3 GiB"), (5 * 1024 ** 4, "5 TiB"),
])
def test_human_size_uses_binary_units_labelled_as_such(n, text):
    assert human_size(n) == text


def test_the_upload_check_and_the_import_say_the_same_size(tmp_path):
    path = tmp_path / "people.csv"
    rows = b"username,email\n" + b"jdoe,jdoe@example.org\n" * 13_635
    path.write_bytes(rows + b"ann," + b"a" * (300_000 - len(rows) - 5) + b"\n")  # 300,000 bytes
    assert path.stat().st_size == 300_000
    with pytest.raises(LocalFileProblem) as refused:
        check_local_file(str(path), limit=200 * 1024)
    assert str(refused.value) == ("The file is 293 KiB; the site accepts at most 200 KiB per file. "
                                     "Nothing was sent.")
    assert read_table(path).source.describe().endswith(", 293 KiB")
    with pytest.raises(ImportFileError) as too_big:
        read_table(path, max_bytes=256 * 1024)
    assert "people.csv is 293 KiB; the import reads files up to 256 KiB." in too_big.value.message


def test_the_doctor_and_the_profiles_dialog_give_moodles_limit_in_its_own_numbers(make_site, connect):
    server = make_site(users=10, courses=1)
    server.update_settings(max_upload_file_bytes=MIB_64)
    report = doctor.diagnose(connect(server, server.limited_token))
    assert report.site is not None and report.site.max_upload_bytes == MIB_64
    assert any(line.endswith("limit per file 64 MiB") for line in doctor.render(report, server.url))
    assert "(up to 64 MiB per file)" in dict(report_summary(report))["Files"]
