"""Bad files through the real command line: one clear ``FILE:LINE: reason`` line, never a
traceback (issue 19). The limits themselves are in registry/textfile.py; the memory of a
200 MB single line is measured in benchmarks/bad_files.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main
from registry.errors import ConfigError
from registry.policy import load_policy
from registry.textfile import MAX_FIELD_CHARS, MAX_ROW_CHARS
from testkit.factories import FAMILIES, registry_rows
from tests.helpers.db import in_db

IMPORT = ["kk", "nik", "name", "sex", "birth_date", "relationship",
          "region_code", "rw", "rt", "address", "desil"]  # fmt: skip


def _registry_file(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(IMPORT)
        writer.writerows(rows)
    return path


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _households(url: str) -> int:
    from sqlalchemy import func, select

    from storage.models import Household

    async def count(session) -> int:
        return await session.scalar(select(func.count()).select_from(Household))

    return in_db(url, count)


def test_registry_import_of_a_latin1_file_names_the_line_and_the_encoding(
    cli_db, tmp_path, capsys
) -> None:
    rows = registry_rows(FAMILIES)
    rows[2][2] = "José Hartono"  # line 4: é is one byte, 0xE9, in Latin-1
    path = _registry_file(tmp_path / "latin1.csv", rows, encoding="latin-1")
    assert main(["registry", "import", str(path)]) == 1
    assert _one_line(capsys) == (
        f"{path}:4: not UTF-8 (byte 0xE9 at character 38 of the line; perhaps Latin-1 or Windows-1252): "
        "save the file as CSV UTF-8"
    )
    assert _households(cli_db) == 0


def test_the_encoding_error_in_indonesian_says_save_as_csv_utf8(
    cli_db, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("DEFAULT_LOCALE", "id")
    rows = registry_rows(FAMILIES)
    rows[0][9] = "Jl. Pahlawan No. 5 – Ilir"  # an en dash, 0x96 in Windows-1252
    path = _registry_file(tmp_path / "cp1252.csv", rows, encoding="cp1252")
    assert main(["registry", "import", str(path)]) == 1
    line = _one_line(capsys)
    assert line.startswith(f"{path}:2: bukan UTF-8 (bita 0x96")
    assert line.endswith("simpan berkas sebagai CSV UTF-8")


def test_registry_import_of_a_200000_character_field_names_the_limit(
    cli_db, tmp_path, capsys
) -> None:
    rows = registry_rows(FAMILIES)
    rows[1][9] = "x" * 200_000  # line 3
    path = _registry_file(tmp_path / "long.csv", rows)
    assert main(["registry", "import", str(path)]) == 1
    assert _one_line(capsys) == (f"{path}:3: a field is longer than {MAX_FIELD_CHARS:,} characters")
    rows[1][9] = "x" * (MAX_FIELD_CHARS + 1)  # within csv's own limit: the column is named
    _registry_file(path, rows)
    assert main(["registry", "import", str(path)]) == 1
    assert _one_line(capsys) == (
        f"{path}:3: field 10 is longer than {MAX_FIELD_CHARS:,} characters"
    )


def test_an_unterminated_quote_is_reported_on_the_line_where_its_row_starts(
    cli_db, tmp_path, capsys
) -> None:
    path = _registry_file(tmp_path / "quote.csv", registry_rows(FAMILIES))
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("Jl.", '"Jl.', 1)  # line 3 opens a quote and never closes it
    path.write_text("".join(lines))
    assert main(["registry", "import", str(path)]) == 1
    assert _one_line(capsys) == f"{path}:3: the quote opened in this row is never closed"
    lines[3:] = lines[3:] * 1000  # a long file after the open quote: stopped early
    path.write_text("".join(lines))
    assert main(["registry", "import", str(path)]) == 1
    assert _one_line(capsys) == (
        f"{path}:3: the quote opened in this row is not closed within {MAX_FIELD_CHARS:,} "
        "characters"
    )


def test_a_quote_closed_in_the_middle_of_a_field_names_the_row_s_first_line(
    cli_db, tmp_path, capsys
) -> None:
    path = tmp_path / "regions.csv"
    path.write_text('kode,nama\n99,"Provinsi\nBaru" Lama\n')
    assert main(["regions", "import", str(path)]) == 1
    assert _one_line(capsys).startswith(f"{path}:2: a quote closes in the middle of a field")


def test_regions_import_of_a_binary_file(cli_db, tmp_path, capsys) -> None:
    path = tmp_path / "wilayah.csv"
    path.write_bytes(b"kode,nama\n\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe\x00")
    assert main(["regions", "import", str(path)]) == 1
    assert _one_line(capsys) == (
        f"{path}:2: binary content (a NUL byte): this is not a text file; save it as CSV UTF-8"
    )
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00")  # an .xlsx renamed .csv
    assert main(["regions", "import", str(path)]) == 1
    assert _one_line(capsys) == (
        f"{path}:1: this is an Excel workbook or a ZIP file, not a CSV: save it as CSV UTF-8"
    )
    path.write_text("kode,nama\n99,Provinsi Baru\n", encoding="utf-16")
    assert main(["regions", "import", str(path)]) == 1
    assert "is UTF-16" in _one_line(capsys)


def test_a_single_line_longer_than_the_row_limit_is_refused(cli_db, tmp_path, capsys) -> None:
    path = tmp_path / "one-line.csv"
    with path.open("w") as fh:
        fh.write(",".join(IMPORT) + "\n")
        fh.write("1," * (MAX_ROW_CHARS // 2 + 10))  # no line break: 1 MB of tiny fields
    assert main(["registry", "import", str(path)]) == 1
    assert _one_line(capsys) == (
        f"{path}:2: the row is longer than {MAX_ROW_CHARS:,} characters: is this the right file?"
    )


def test_reports_decide_refuses_a_latin1_or_binary_decisions_file(cli_db, tmp_path, capsys) -> None:
    path = tmp_path / "keputusan.csv"
    path.write_bytes(b"number,decision,reason_code,note\nLW-2026-000001,reject,other,Sudah pindah ke Bogor\n"
                     b"LW-2026-000002,reject,other,Tidak ada di RT ini \xb7 dicek\n")  # fmt: skip
    assert main(["reports", "decide", "--file", str(path), "--as", "1"]) == 1
    assert _one_line(capsys).startswith(
        f"{path}:3: not UTF-8 (byte 0xB7 at character 49 of the line;"
    )
    path.write_bytes(b"number,decision\x00,reason_code,note\n")
    assert main(["reports", "decide", "--file", str(path), "--as", "1"]) == 1
    assert _one_line(capsys).startswith(f"{path}:1: binary content")


def test_broadcast_refuses_a_latin1_text_file(cli_db, tmp_path, capsys) -> None:
    path = tmp_path / "pengumuman.txt"
    path.write_bytes("Rapat warga hari Sabtu.\nTempat: balai RW – pukul 19.00\n".encode("cp1252"))
    assert main(["broadcast", "--region", "16.71", "--text-file", str(path)]) == 2
    assert _one_line(capsys).startswith(
        f"{path}:2: not UTF-8 (byte 0x96 at character 18 of the line;"
    )


def test_a_binary_workflow_file_is_a_config_error_naming_file_and_line(tmp_path) -> None:
    path = tmp_path / "workflow.toml"
    path.write_bytes(b'[defaults]\ntiers = ["rt", "officer"]\n\x00\x01\x02')
    with pytest.raises(ConfigError, match=rf"^{path}:3: .*NUL"):
        load_policy(path)
