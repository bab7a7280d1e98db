"""OpenSID population workbooks in: `registry import FILE.xlsx --region CODE`.

The workbooks are written here with openpyxl from synthetic families (testkit.opensid),
with numeric codes or with labels, as a village operator's OpenSID export has them."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from locales import use_locale
from registry import workflow
from registry.accounts import ensure_account
from registry.errors import ImportRejected
from registry.history import household_history
from registry.households import household_by_kk, household_snapshot
from registry.nik import make_nik, mask
from registry.population import read_population
from registry.sync import apply_sync, plan_sync
from registry.textfile import UnreadableFile
from storage.models import Household, Member, RegistryRevision
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE
from testkit.opensid import LAYOUT, opensid_rows, write_population
from tests.helpers.db import in_db

OTHER_VILLAGE = "16.71.02.1002"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with use_locale("en"):
        yield


async def _import(session, path: Path, region: str = VILLAGE):
    plan = await plan_sync(session, read_population(path), region)
    record = await apply_sync(session, plan, path.name)
    await session.commit()
    return plan, record


@pytest.mark.parametrize("labels", [False, True], ids=["codes", "labels"])
async def test_workbook_with_codes_or_labels_becomes_households_and_members(
    session, tmp_path: Path, labels: bool
) -> None:
    rows = opensid_rows(FAMILIES, labels=labels)
    # Columns in another order, and one OpenSID added later that the registry ignores.
    columns = ["lat", *reversed(LAYOUT)]
    path = write_population(tmp_path / "penduduk.xlsx", rows, columns)
    plan, record = await _import(session, path)
    assert plan.counts()["household_added"] == 2 and plan.counts()["member_added"] == 5
    sari = household_snapshot(await household_by_kk(session, SARI.kk))
    assert (sari["region_code"], sari["rw"], sari["rt"]) == (VILLAGE, 2, 3)
    assert sari["address"] == SARI.address and sari["details"] == {"dusun": "MAWAR"}
    budi, wife, child = sari["members"]
    assert (budi["name"], budi["relationship"], budi["sex"]) == ("BUDI SANTOSO", "head", "M")
    assert (wife["relationship"], wife["sex"], wife["birth_date"]) == ("spouse", "F", "1992-09-05")
    assert budi["details"] == {
        "education": "university", "education_code": 8, "work": "employee", "work_code": 15,
        "marital": "married", "birth_place": "PALEMBANG",
    }  # fmt: skip
    assert child["details"]["education"] == "sd" and child["details"]["work"] == "student"
    # Religion and blood type are in the file, never in the registry.
    assert all("agama" not in str(m) and "darah" not in str(m) for m in sari["members"])
    revisions = (await session.execute(select(RegistryRevision))).scalars().all()
    assert len(revisions) == 7
    assert {(r.import_id, r.report_id) for r in revisions} == {(record.id, None)}
    assert record.file_name == "penduduk.xlsx" and record.region_code == VILLAGE


async def test_status_dasar_and_missing_nik(session, tmp_path: Path) -> None:
    rows = opensid_rows(FAMILIES)
    rows[4]["status_dasar"] = 2  # Ani (HARTONO's wife) died: not a living member
    baby = dict(rows[2], nama="BAYI PERTAMA", nik="0", kk_level=4, tanggallahir="2026-11-01")
    temporary = dict(rows[2], nama="ANAK SEMENTARA", nik="0167101500000123",
                     tanggallahir="01/02/2020", kk_level=4)  # fmt: skip
    plan, _record = await _import(
        session, write_population(tmp_path / "p.xlsx", [*rows, baby, temporary])
    )
    assert plan.not_living == 1 and plan.without_nik == 2
    hartono = household_snapshot(await household_by_kk(session, HARTONO.kk))
    assert [m["name"] for m in hartono["members"]] == ["HARTONO"]
    sari = household_snapshot(await household_by_kk(session, SARI.kk))
    flagged = [m for m in sari["members"] if m["nik"] is None]
    assert [(m["name"], m["birth_date"]) for m in flagged] == [
        ("BAYI PERTAMA", "2026-11-01"),
        ("ANAK SEMENTARA", "2020-02-01"),
    ]
    assert all(m["details"]["nik_pending"] is True for m in flagged)


def _errors(path: Path) -> dict[int, list[str]]:
    with pytest.raises(ImportRejected) as caught:
        read_population(path)
    by_line: dict[int, list[str]] = {}
    for error in caught.value.errors:
        by_line.setdefault(error.line, []).append(error.reason)
    return by_line


def test_wrong_layout_names_the_missing_columns(tmp_path: Path) -> None:
    rows = opensid_rows([SARI])
    columns = [c for c in LAYOUT if c not in ("kk_level", "no_kk")]
    errors = _errors(write_population(tmp_path / "x.xlsx", rows, columns))
    assert list(errors) == [1]
    assert "OpenSID" in errors[1][0] and "no_kk, kk_level" in errors[1][0]


def test_unknown_codes_and_bad_rows_are_all_named_by_row(tmp_path: Path) -> None:
    rows = opensid_rows(FAMILIES)
    rows[0]["kk_level"] = 12  # row 2
    rows[1]["pekerjaan_id"] = "ASTRONOT"  # row 3
    rows[2]["sex"] = 1  # row 4: Dewi is a woman by her NIK
    rows[3] = opensid_rows([SARI])[0]  # row 5: Budi again
    rows[4]["status_dasar"] = 5  # row 6: no such status
    errors = _errors(write_population(tmp_path / "bad.xlsx", rows))
    assert sorted(errors) == [2, 3, 4, 5, 6]
    assert any("kk_level: unknown code or label 12" in r and "1 KEPALA KELUARGA" in r
               for r in errors[2])  # fmt: skip
    assert any("pekerjaan_id: unknown code or label ASTRONOT" in r for r in errors[3])
    assert "sex does not match the NIK" in errors[4]
    assert f"NIK {mask(SARI.people[0].nik)} already appears on row 2" in errors[5]
    assert any("status_dasar" in r for r in errors[6])


def test_household_rules_across_rows(tmp_path: Path) -> None:
    rows = opensid_rows([SARI])
    rows[1]["kk_level"] = 1  # a second Kepala Keluarga
    rows[2]["rt"] = "009"  # the same KK in another RT
    errors = _errors(write_population(tmp_path / "bad.xlsx", rows))
    assert any("more than one Kepala Keluarga (first on row 2)" in r for r in errors[3])
    assert any("differ from row 2" in r for r in errors[4])


def test_a_file_that_is_no_workbook(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(UnreadableFile) as caught:
        read_population(path)
    assert str(caught.value).startswith(f"{path}:1: ")


async def test_a_kk_in_two_villages_refuses_the_file(session, tmp_path: Path) -> None:
    await _import(session, write_population(tmp_path / "a.xlsx", opensid_rows([SARI])))
    path = write_population(tmp_path / "b.xlsx", opensid_rows(FAMILIES))
    with pytest.raises(ImportRejected) as caught:
        await plan_sync(session, read_population(path), OTHER_VILLAGE)
    reasons = [(e.line, e.reason) for e in caught.value.errors]
    assert {line for line, _reason in reasons} == {2, 3, 4}
    assert reasons[0] == (2, (
        f"household {mask(SARI.kk)} is in another desa/kelurahan in the registry ({VILLAGE}); "
        "a KK belongs to one village: check --region"
    ))  # fmt: skip
    assert (3, f"NIK {mask(SARI.people[1].nik)} is a living member of a household in another "
            f"desa/kelurahan in the registry ({VILLAGE})") in reasons  # fmt: skip
    assert await session.scalar(select(func.count()).select_from(Household)) == 1


def test_cli_import_summary_progress_and_errors(cli_db, tmp_path: Path, capsys) -> None:
    rows = opensid_rows(FAMILIES)
    rows[4]["status_dasar"] = "MATI"
    path = write_population(tmp_path / "penduduk.xlsx", rows)
    assert main(["registry", "import", str(path)]) == 2
    assert "--region CODE" in capsys.readouterr().err
    assert main(["registry", "import", str(path), "--region", "16.71.01"]) == 2
    assert "16.71.01 is not a known desa/kelurahan" in capsys.readouterr().err

    assert main(["registry", "import", str(path), "--region", VILLAGE, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Households: 2 added, 0 changed." in out
    assert "Dry run: nothing was written." in out
    assert mask(SARI.kk) in out and SARI.kk not in out
    assert in_db(cli_db, _member_count) == 0

    assert main(["registry", "import", str(path), "--region", VILLAGE]) == 0
    out = capsys.readouterr().out
    assert "Members: 4 added, 0 changed" in out
    assert main(["registry", "import", str(path), "--region", VILLAGE, "--dry-run"]) == 0
    assert capsys.readouterr().out.endswith("nothing was written, and nothing would change.\n")
    assert "Not imported as living members: 1 row(s) whose status_dasar is not 1 (hidup)." in out
    assert "recorded as import #1" in out
    assert in_db(cli_db, _member_count) == 4

    rows[0]["tanggallahir"] = "31-02-1988"
    bad = write_population(tmp_path / "bad.xlsx", rows)
    assert main(["registry", "import", str(bad), "--region", VILLAGE]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:2: tanggallahir must be a date")
    assert err[-1] == f"{bad}: 1 bad row(s); nothing was imported."
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("kk\n")
    assert main(["registry", "import", str(csv_file), "--region", VILLAGE]) == 2
    assert "are for OpenSID workbooks" in capsys.readouterr().err


async def _member_count(session) -> int:
    return await session.scalar(select(func.count()).select_from(Member)) or 0


# ---- importing again: a sync -------------------------------------------------------------------


async def _open_death_report(session, kk: str, name: str):
    household = await household_by_kk(session, kk)
    member = next(m for m in household.members if m.name == name)
    reporter = await ensure_account(session, 100)
    report = await workflow.submit_report(
        session, kind="death", household=household, reporter=reporter,
        payload={"member": str(member.id), "death_date": "2026-09-14", "place": "Rumah"},
    )  # fmt: skip
    await session.commit()
    return report


async def test_reimport_adds_changes_and_marks_gone_with_revisions_from_the_import(
    session, tmp_path: Path
) -> None:
    first = opensid_rows(FAMILIES)
    _plan, first_import = await _import(session, write_population(tmp_path / "a.xlsx", first))
    report = await _open_death_report(session, SARI.kk, "DEWI LESTARI")

    again = opensid_rows(FAMILIES, labels=True)
    again[0].update(nama="BUDI SANTOSO, S.PD", pendidikan_kk_id="STRATA II")  # Budi changed
    baby = make_nik("167101", date(2026, 10, 1), "M", 9104)
    again.append(dict(again[0], nama="RAKA PRATAMA", nik=baby, kk_level="anak",
                      tanggallahir="01/10/2026", pendidikan_kk_id=1, pekerjaan_id=1,
                      status_kawin=1))  # fmt: skip
    del again[2]  # Dewi is no longer in the village's file
    again[3]["status_dasar"] = "MATI"  # Ani (HARTONO's wife) died
    for row in again[2:4]:
        row["rt"] = "006"  # HARTONO's household moved to RT 6
    path = write_population(tmp_path / "b.xlsx", again)

    plan = await plan_sync(session, read_population(path), VILLAGE)
    assert {k: v for k, v in plan.counts().items() if v} == {
        "rows": 5, "not_living": 1, "conflicts": 1, "household_changed": 1, "member_added": 1,
        "member_changed": 1, "member_deceased": 1, "member_gone": 1,
    }  # fmt: skip
    budi = next(c for c in plan.changes if c.action == "member_changed")
    assert budi.describe() == ("name: BUDI SANTOSO -> BUDI SANTOSO, S.PD; education_code: 8 -> 9")
    [conflict] = plan.conflicts
    assert (conflict.report, conflict.kind, conflict.name, conflict.action) == (
        report.number, "death", "DEWI LESTARI", "member_gone",
    )  # fmt: skip
    # A plan writes nothing.
    assert await session.scalar(select(func.count()).select_from(RegistryRevision)) == 7

    record = await apply_sync(session, plan, path.name)
    await session.commit()
    sari = household_snapshot(await household_by_kk(session, SARI.kk))
    by_name = {m["name"]: m for m in sari["members"]}
    assert by_name["DEWI LESTARI"]["status"] == "gone"  # kept, not deleted
    assert by_name["BUDI SANTOSO, S.PD"]["details"]["education_code"] == 9
    assert by_name["RAKA PRATAMA"]["nik"] == baby and by_name["RAKA PRATAMA"]["status"] == "alive"
    hartono = household_snapshot(await household_by_kk(session, HARTONO.kk))
    assert hartono["rt"] == 6
    assert [(m["name"], m["status"]) for m in hartono["members"]] == [
        ("HARTONO", "alive"), ("ANI RAHMAWATI", "deceased"),
    ]  # fmt: skip
    revisions = (
        (
            await session.execute(
                select(RegistryRevision).where(RegistryRevision.import_id == record.id)
            )
        )
        .scalars()
        .all()
    )
    assert sorted(r.action for r in revisions) == [
        "household_changed", "member_added", "member_changed", "member_deceased", "member_gone",
    ]  # fmt: skip
    assert all(r.report_id is None and r.approved_by_account_id is None for r in revisions)
    history = await household_history(session, await household_by_kk(session, SARI.kk))
    assert history[-1]["import"] == f"import #{record.id} (b.xlsx)"
    assert record.id == first_import.id + 1

    # The same file again changes nothing.
    plan = await plan_sync(session, read_population(path), VILLAGE)
    assert plan.changes == [] and plan.not_living == 1


async def test_a_member_without_nik_gets_one_by_name_and_birth_date(
    session, tmp_path: Path
) -> None:
    rows = opensid_rows([SARI])
    baby_nik = make_nik("167101", date(2026, 10, 1), "F", 9105)
    baby = dict(rows[2], nama="Putri  Kecil", nik="0", tanggallahir="2026-10-01")
    await _import(session, write_population(tmp_path / "a.xlsx", [*rows, baby]))
    issued = dict(baby, nama="PUTRI KECIL", nik=baby_nik)
    plan, _record = await _import(session, write_population(tmp_path / "b.xlsx", [*rows, issued]))
    [change] = plan.changes
    assert change.action == "member_changed"
    assert set(change.columns) == {"nik", "name", "details"}  # nik_pending dropped
    sari = household_snapshot(await household_by_kk(session, SARI.kk))
    assert [m["nik"] for m in sari["members"]][-1] == baby_nik
    assert "nik_pending" not in sari["members"][-1]["details"]


async def test_a_person_who_moved_to_another_village_is_left_alone(session, tmp_path: Path) -> None:
    await _import(session, write_population(tmp_path / "a.xlsx", opensid_rows([SARI])))
    # The other village's OpenSID still lists Dewi, with its own KK, as pindah (3).
    widodo_kk = "1671021003200004"
    widodo = dict(opensid_rows([SARI])[0], no_kk=widodo_kk, nama="WIDODO",
                  nik=make_nik("167102", date(1970, 3, 3), "M", 9301), tanggallahir="1970-03-03")  # fmt: skip
    dewi = dict(opensid_rows([SARI])[2], no_kk=widodo_kk, status_dasar=3)
    plan, _record = await _import(
        session, write_population(tmp_path / "b.xlsx", [widodo, dewi]), OTHER_VILLAGE
    )
    assert plan.not_living == 1 and plan.counts()["member_added"] == 1
    sari = household_snapshot(await household_by_kk(session, SARI.kk))
    assert [m["status"] for m in sari["members"]] == ["alive", "alive", "alive"]


async def test_a_member_moving_to_another_kk_of_the_village(session, tmp_path: Path) -> None:
    rows = opensid_rows(FAMILIES)
    await _import(session, write_population(tmp_path / "a.xlsx", rows))
    moved = dict(rows[2], no_kk=HARTONO.kk, alamat=HARTONO.address, rt="005", kk_level=9)
    plan, record = await _import(
        session, write_population(tmp_path / "b.xlsx", [*rows[:2], *rows[3:], moved])
    )
    [change] = plan.changes
    assert change.describe() == (
        f"kk: {mask(SARI.kk)} -> {mask(HARTONO.kk)}; relationship: child -> other_relative"
    )
    sari = household_snapshot(await household_by_kk(session, SARI.kk))
    hartono = household_snapshot(await household_by_kk(session, HARTONO.kk))
    assert [m["name"] for m in sari["members"]] == ["BUDI SANTOSO", "SARI WULANDARI"]
    assert [m["name"] for m in hartono["members"]] == ["HARTONO", "ANI RAHMAWATI", "DEWI LESTARI"]
    revisions = (
        await session.execute(
            select(RegistryRevision.household_id, RegistryRevision.action)
            .where(RegistryRevision.import_id == record.id)
            .order_by(RegistryRevision.id)
        )
    ).all()
    household_ids = {h["kk"]: h["members"][0]["household_id"] for h in (sari, hartono)}
    assert revisions == [
        (household_ids[HARTONO.kk], "member_changed"),
        (household_ids[SARI.kk], "member_left"),
    ]


def test_a_file_longer_than_any_village_is_refused(tmp_path: Path, monkeypatch) -> None:
    import registry.population

    monkeypatch.setattr(registry.population, "MAX_ROWS", 3)
    path = write_population(tmp_path / "big.xlsx", opensid_rows(FAMILIES))
    with pytest.raises(UnreadableFile) as caught:
        read_population(path)
    assert (
        str(caught.value) == f"{path}:5: more than 3 rows: an OpenSID file holds one desa/kelurahan"
    )


# An OLE compound file's first bytes: an old .xls, or an .xlsx saved with a password.
_OLE_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


@pytest.mark.parametrize("command", ["import", "import-desil"])
def test_files_a_village_really_has_are_refused_with_what_to_do(
    cli_db, tmp_path: Path, capsys, command: str
) -> None:
    """An empty file, an old .xls or a workbook with a password, a workbook named .xls and
    a folder: one line naming the file and what to do, never a traceback."""
    workbook = write_population(tmp_path / "penduduk.xlsx", opensid_rows(FAMILIES))
    (tmp_path / "kosong.xlsx").write_bytes(b"")
    (tmp_path / "terkunci.xlsx").write_bytes(_OLE_FILE)
    (tmp_path / "lama.xls").write_bytes(_OLE_FILE)
    (tmp_path / "salah-nama.xls").write_bytes(workbook.read_bytes())
    (tmp_path / "folder.xlsx").mkdir()
    expected = {
        "kosong.xlsx": (1, "the file is empty"),
        "terkunci.xlsx": (1, "an old Excel file (.xls) or a workbook protected by a password"),
        "lama.xls": (1, "an old Excel file (.xls) or a workbook protected by a password"),
        "salah-nama.xls": (1, "rename the file to .xlsx"),
        "folder.xlsx": (2, "is a folder: give a file"),
    }
    region = ["--region", VILLAGE] if command == "import" else []
    for name, (code, message) in expected.items():
        path = tmp_path / name
        assert main(["registry", command, str(path), *region]) == code, name
        err = capsys.readouterr().err
        assert err.startswith(str(path)) and message in err and "Traceback" not in err, err
    assert in_db(cli_db, _member_count) == 0


def test_an_unknown_occupation_is_a_short_message(tmp_path: Path) -> None:
    """pekerjaan_id has 89 labels: a row's message names the range and a few, not all
    (a file of 300 "TUKANG OJEK" rows printed 300 lines of 2,000 characters)."""
    rows = opensid_rows(FAMILIES)
    rows[0]["pekerjaan_id"] = "Tukang Ojek"
    rows[1]["status_kawin"] = "nikah siri"
    errors = _errors(write_population(tmp_path / "penduduk.xlsx", rows))
    (occupation,) = errors[2]
    assert occupation.startswith("pekerjaan_id: unknown code or label Tukang Ojek")
    assert "from 1 to 89" in occupation and "1 BELUM/TIDAK BEKERJA" in occupation
    assert len(occupation) < 200
    (marital,) = errors[3]  # a short list is still given whole
    assert marital.endswith("(use one of: 1 BELUM KAWIN, 2 KAWIN, 3 CERAI HIDUP, 4 CERAI MATI)")


def test_rw_rt_dash_or_not_a_number_says_what_the_cell_holds(tmp_path: Path) -> None:
    """OpenSID writes "-" for no RT; the message says why the registry needs one, and a
    cell that is no number is quoted."""
    rows = opensid_rows(FAMILIES)
    rows[0]["rt"], rows[1]["rw"] = "-", "RW DUA"
    errors = _errors(write_population(tmp_path / "penduduk.xlsx", rows))
    assert errors[2] == [
        "rt is empty or '-': every household needs its RW and RT, a number from 1 to 999 "
        "(its reports go to the Ketua RT); fill it in OpenSID and export again"
    ]
    assert errors[3][0] == "rw must be a number from 1 to 999, not RW DUA"
