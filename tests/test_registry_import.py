"""The household import: all-or-nothing, every bad row named with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from registry.errors import ImportRejected
from registry.households import household_by_kk, household_snapshot, import_households
from storage.models import Household, Member
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE, registry_rows, write_csv


async def _counts(session) -> tuple[int, int]:
    households = await session.scalar(select(func.count()).select_from(Household))
    members = await session.scalar(select(func.count()).select_from(Member))
    return households, members


async def test_valid_file_imports_every_household_and_member(session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ok.csv", registry_rows(FAMILIES))
    assert await import_households(session, path) == (2, 5)
    await session.commit()
    household = await household_by_kk(session, SARI.kk)
    snapshot = household_snapshot(household)
    assert snapshot["region_code"] == VILLAGE
    assert snapshot["region_name"] == "Tiga-puluh-lima Ilir"
    assert (snapshot["rw"], snapshot["rt"], snapshot["desil"]) == (2, 3, 2)
    assert [m["name"] for m in snapshot["members"]] == [p.name for p in SARI.people]
    assert snapshot["members"][1] == {
        "id": snapshot["members"][1]["id"],
        "nik": SARI.people[1].nik,
        "name": "Sari Wulandari",
        "sex": "F",
        "birth_date": "1992-09-05",
        "relationship": "spouse",
        "status": "alive",
        "household_id": household.id,
        "details": {},
    }


async def test_bad_rows_are_all_reported_and_nothing_is_written(session, tmp_path: Path) -> None:
    rows = registry_rows(FAMILIES)
    rows[1][3] = "L"  # line 3: Sari is a woman by her NIK
    rows[2][4] = "2014-02-27"  # line 4: birth date differs from the NIK
    rows[3][1] = rows[0][1]  # line 5: NIK of line 2 again
    rows[3][6] = "16.71.01.9999"  # line 5: unknown village
    rows[4][10] = "11"  # line 6: desil out of range
    rows.append(["1671010506180011", "1671014101990000", "X", "P", "1999-01-01", "child",
                 VILLAGE, "2", "5", HARTONO.address, ""])  # fmt: skip
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportRejected) as caught:
        await import_households(session, path)
    by_line: dict[int, list[str]] = {}
    for error in caught.value.errors:
        by_line.setdefault(error.line, []).append(error.reason)
    assert sorted(by_line) == [3, 4, 5, 6, 7]
    assert "jenis kelamin tidak sesuai dengan NIK" in by_line[3]
    assert any("birth_date" in r for r in by_line[4])
    assert "NIK 167101********** sudah ada di baris 2" in by_line[5]
    assert any("16.71.01.9999" in r for r in by_line[5])
    assert any("desil" in r for r in by_line[6])
    assert any("NIK" in r for r in by_line[7])  # serial 0000
    assert await _counts(session) == (0, 0)


async def test_household_rules_head_consistency_and_existing_rows(session, tmp_path: Path) -> None:
    rows = registry_rows([SARI])
    rows[1][5] = "head"  # a second head
    rows[2][9] = "Jl. Lain No. 1"  # a different address in the same KK
    with pytest.raises(ImportRejected) as caught:
        await import_households(session, write_csv(tmp_path / "a.csv", rows))
    lines = {e.line for e in caught.value.errors}
    assert lines == {3, 4}

    await import_households(session, write_csv(tmp_path / "b.csv", registry_rows([SARI])))
    await session.commit()
    with pytest.raises(ImportRejected) as again:
        await import_households(session, write_csv(tmp_path / "c.csv", registry_rows([SARI])))
    assert {e.line for e in again.value.errors} == {2, 3, 4}  # KK on its first line, each NIK
    assert await _counts(session) == (1, 3)


async def test_wrong_header_is_refused(session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "h.csv", registry_rows([SARI]), header=["kk", "nik", "nama"])
    with pytest.raises(ImportRejected) as caught:
        await import_households(session, path)
    assert caught.value.errors[0].line == 1
    assert "kk,nik,name,sex,birth_date" in caught.value.errors[0].reason


def test_cli_import_then_show(database_url: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    path = write_csv(tmp_path / "ok.csv", registry_rows(FAMILIES))
    assert main(["registry", "import", str(path)]) == 0
    assert "Imported 2 household(s) with 5 member(s)." in capsys.readouterr().out
    assert main(["registry", "show", "--kk", "1671 0112 0315 0007"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["kk"] == SARI.kk and len(shown["members"]) == 3
    assert main(["registry", "show", "--kk", "1671010000000001"]) == 1
    assert "No household with that KK number." in capsys.readouterr().err


def test_cli_import_names_bad_lines_in_indonesian_by_default(
    database_url, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)
    rows = registry_rows([SARI])
    rows[0][7] = "nol"
    path = write_csv(tmp_path / "bad.csv", rows)
    assert main(["registry", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: rw harus berupa angka 1 sampai 999" in err
    assert "tidak ada yang diimpor" in err


def test_cli_import_reports_each_bad_row_in_line_order_and_counts_rows(
    database_url, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    rows = registry_rows(FAMILIES)
    rows[4][3], rows[4][10] = "X", "11"  # line 6: two reasons
    rows[0][5] = "child"  # line 2: SARI has no head now (named on her first line)
    path = write_csv(tmp_path / "bad.csv", [rows[4], *rows[:4]])  # Ani's bad row first
    assert main(["registry", "import", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1] for line in err[:-1]] == ["2", "2", "3"]
    assert "sex must be L or P" in err[0] and "desil" in err[1]
    assert err[2] == f"{path}:3: household 167101********** has no member with relationship 'head'"
    assert err[-1] == f"{path}: 2 bad row(s); nothing was imported."
    header = write_csv(tmp_path / "header.csv", rows, header=["kk", "nik"])
    assert main(["registry", "import", str(header)]) == 1
    err = capsys.readouterr().err
    assert f"{header}:1: header must be exactly: kk,nik,name" in err
    assert f"{header}: 1 bad row(s); nothing was imported." in err


async def test_indonesian_labels_and_codes_as_on_the_kartu_keluarga(
    session, tmp_path: Path
) -> None:
    rows = registry_rows(FAMILIES)
    # Budi: SHDK code 1, "LK"; Sari: "istri", "perempuan", DD-MM-YYYY; Dewi: "ANAK", 2,
    # DD/MM/YYYY; Hartono: "Kepala Keluarga", "laki-laki"; Ani: "3", "PR".
    for row, (relationship, sex, born) in zip(
        rows,
        [
            ("1", "LK", "1988-04-17"),
            ("istri", "perempuan", "05-09-1992"),
            ("ANAK", "2", "28/02/2014"),
            ("Kepala  Keluarga", "laki-laki", "30-01-1960"),
            ("3", "PR", "01/12/1963"),
        ],
        strict=True,
    ):
        row[5], row[3], row[4] = relationship, sex, born
    assert await import_households(session, write_csv(tmp_path / "id.csv", rows)) == (2, 5)
    await session.commit()
    sari = household_snapshot(await household_by_kk(session, SARI.kk))
    assert [(m["relationship"], m["sex"], m["birth_date"]) for m in sari["members"]] == [
        ("head", "M", "1988-04-17"),
        ("spouse", "F", "1992-09-05"),
        ("child", "F", "2014-02-28"),
    ]
    hartono = household_snapshot(await household_by_kk(session, HARTONO.kk))
    assert [m["relationship"] for m in hartono["members"]] == ["head", "spouse"]


async def test_unknown_labels_name_both_vocabularies(session, tmp_path: Path) -> None:
    rows = registry_rows([SARI])
    rows[1][5], rows[1][3], rows[1][4] = "12", "W", "1992/09/05"
    with pytest.raises(ImportRejected) as caught:
        await import_households(session, write_csv(tmp_path / "bad.csv", rows))
    reasons = [e.reason for e in caught.value.errors if e.line == 3]
    assert any("head, spouse" in r and "1 KEPALA KELUARGA" in r and "11 LAINNYA" in r
               for r in reasons)  # fmt: skip
    assert any("LAKI-LAKI" in r for r in reasons)
    assert any("DD-MM-YYYY" in r for r in reasons)
