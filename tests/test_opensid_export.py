"""Approved changes out for the village's OpenSID: `export changes --format opensid`.

A round trip: the village's OpenSID workbook in, reports filed and approved through the
real review workflow, then OpenSID's import workbook and the operator's worklist out."""

from __future__ import annotations

import os
from datetime import date
from itertools import zip_longest
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from registry import opensid, workflow
from registry.accounts import account_by_telegram_id, ensure_account, grant_role
from registry.households import household_by_kk
from registry.population import read_population
from registry.sync import apply_sync, plan_sync
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE, Family, Person
from testkit.opensid import opensid_rows, write_population
from tests.helpers.db import in_db

RT_SARI, RT_HARTONO, LURAH, OFFICER, REPORTER = 1, 2, 3, 4, 100


async def _village(session: AsyncSession, tmp_path: Path) -> None:
    path = write_population(tmp_path / "penduduk.xlsx", opensid_rows(FAMILIES))
    await apply_sync(session, await plan_sync(session, read_population(path), VILLAGE), path.name)
    await grant_role(session, RT_SARI, "rt", VILLAGE, rw=SARI.rw, rt=SARI.rt)
    await grant_role(session, RT_HARTONO, "rt", VILLAGE, rw=HARTONO.rw, rt=HARTONO.rt)
    await grant_role(session, LURAH, "lurah", VILLAGE)
    await grant_role(session, OFFICER, "officer", "16.71")
    await ensure_account(session, REPORTER)


async def _approved(session: AsyncSession, kk: str, kind: str, payload: dict[str, Any], rt: int):
    household = await household_by_kk(session, kk)
    reporter = await account_by_telegram_id(session, REPORTER)
    report = await workflow.submit_report(
        session, kind=kind, household=household, reporter=reporter, payload=payload
    )
    for telegram_id in (rt, LURAH, OFFICER):
        reviewer = await account_by_telegram_id(session, telegram_id)
        await workflow.decide(session, report, reviewer, approve=True)
    assert report.state == workflow.APPLIED
    return report.number


async def _reports(session: AsyncSession, tmp_path: Path) -> dict[str, str]:
    await _village(session, tmp_path)
    sari = {m.name: str(m.id) for m in (await household_by_kk(session, SARI.kk)).members}
    hartono = {m.name: str(m.id) for m in (await household_by_kk(session, HARTONO.kk)).members}
    numbers = {
        "birth": await _approved(session, SARI.kk, "birth", {
            "name": "Raka Pratama", "sex": "M", "birth_date": "2026-10-01",
            "mother": sari["SARI WULANDARI"]}, RT_SARI),
        "school": await _approved(session, SARI.kk, "member_data", {
            "member": sari["BUDI SANTOSO"], "field": "education", "education": "sma"}, RT_SARI),
        "move": await _approved(session, SARI.kk, "move_out", {
            "scope": "one", "member": sari["DEWI LESTARI"], "move_date": "2026-11-20",
            "destination": {"code": "16.71.02.1002", "name": "Satu Ulu"}}, RT_SARI),
        "death": await _approved(session, HARTONO.kk, "death", {
            "member": hartono["HARTONO"], "death_date": "2026-11-02",
            "place": "RSUD Palembang"}, RT_HARTONO),
    }  # fmt: skip
    await session.commit()
    return numbers


def _sheet(path: Path) -> list[dict[str, Any]]:
    header, *rows = load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)
    return [dict(zip_longest(header, row)) for row in rows]


def test_round_trip_opensid_in_reports_approved_opensid_out(cli_db, tmp_path, capsys) -> None:
    numbers = in_db(cli_db, lambda s: _reports(s, tmp_path))
    out = tmp_path / "untuk-opensid"
    out.mkdir()
    args = ["export", "changes", "--since", "2000-01-01", "--format", "opensid"]
    args += ["--region", VILLAGE]
    assert main([*args, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 person(s) for OpenSID's import" in printed and "3 event(s)" in printed
    people_file = out / "opensid-penduduk-16.71.01.1001-2000-01-01.xlsx"
    worklist_file = out / "opensid-peristiwa-16.71.01.1001-2000-01-01.xlsx"
    assert os.stat(people_file).st_mode & 0o777 == 0o600
    assert os.stat(worklist_file).st_mode & 0o777 == 0o600

    # (a) The people OpenSID's import takes: the newborn (no NIK yet) and Budi's new
    # education; the village's own import is not sent back.
    people = _sheet(people_file)
    assert tuple(people[0]) == opensid.EXPORT_COLUMNS
    assert [(p["nama"], p["nik"], p["no_kk"], p["kk_level"]) for p in people] == [
        ("Raka Pratama", "0", SARI.kk, 4),
        ("BUDI SANTOSO", SARI.people[0].nik, SARI.kk, 1),
    ]
    raka, budi = people
    assert (raka["sex"], raka["tanggallahir"], raka["status_dasar"]) == (1, "2026-10-01", 1)
    assert (budi["pendidikan_kk_id"], budi["pekerjaan_id"], budi["status_kawin"]) == (5, 15, 2)
    assert (budi["rt"], budi["rw"], budi["dusun"], budi["agama_id"]) == (
        "003",
        "002",
        "MAWAR",
        None,
    )
    # It reads back as an OpenSID population file.
    assert [p.name for p in read_population(people_file)] == ["Raka Pratama", "BUDI SANTOSO"]

    # (b) The worklist: what OpenSID's import cannot carry.
    worklist = _sheet(worklist_file)
    assert tuple(worklist[0]) == opensid.WORKLIST_COLUMNS
    rows = [(w["nik"], w["kode_peristiwa"], w["peristiwa"], w["nomor_laporan"]) for w in worklist]
    assert rows == [
        (SARI.people[2].nik, 3, "PINDAH KELUAR", numbers["move"]),
        (HARTONO.people[0].nik, 2, "MATI", numbers["death"]),
        (HARTONO.people[1].nik, None, "UBAH HUBUNGAN DALAM KELUARGA (KK_LEVEL)", numbers["death"]),
    ]
    move, death, new_head = worklist
    assert (move["no_kk"], move["tanggal_peristiwa"], move["alamat_tujuan"]) == (
        SARI.kk, "2026-11-20", "Satu Ulu",
    )  # fmt: skip
    assert (death["tanggal_peristiwa"], death["tempat_meninggal"]) == (
        "2026-11-02",
        "RSUD Palembang",
    )
    assert death["tabel_log"] == "log_penduduk" and death["tanggal_lapor"] is not None
    assert new_head["catatan"] == "kk_level 3 ISTRI -> 1 KEPALA KELUARGA"

    # Existing files are not replaced without --force; a file instead of a folder is refused.
    assert main([*args, "--output", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main([*args, "--output", str(out), "--force"]) == 0
    assert main([*args, "--output", str(people_file)]) == 2
    assert "an existing folder" in capsys.readouterr().err


OTHER_VILLAGE, OTHER_KK, RT_OTHER = "16.71.02.1002", "1671020304050001", 5


async def _reports_in_two_villages(session: AsyncSession, tmp_path: Path) -> dict[str, str]:
    """The round trip's reports, and a birth approved in a family of another village."""
    numbers = await _reports(session, tmp_path)
    other = Family(OTHER_KK, "Jl. Lain No. 1", 1, 1, None, [
        Person("Joko Susilo", "M", date(1980, 3, 3), "head", 9301),
        Person("Rina Marlina", "F", date(1984, 6, 6), "spouse", 9302),
    ])  # fmt: skip
    path = write_population(tmp_path / "lain.xlsx", opensid_rows([other]))
    plan = await plan_sync(session, read_population(path), OTHER_VILLAGE)
    await apply_sync(session, plan, path.name)
    await grant_role(session, RT_OTHER, "rt", OTHER_VILLAGE, rw=1, rt=1)
    await grant_role(session, LURAH + 10, "lurah", OTHER_VILLAGE)
    household = await household_by_kk(session, OTHER_KK)
    rina = next(m for m in household.members if m.name == "RINA MARLINA")
    report = await workflow.submit_report(
        session, kind="birth", household=household,
        reporter=await account_by_telegram_id(session, REPORTER),
        payload={"name": "Bayi Lain", "sex": "F", "birth_date": "2026-10-02",
                 "mother": str(rina.id)},
    )  # fmt: skip
    for telegram_id in (RT_OTHER, LURAH + 10, OFFICER):
        reviewer = await account_by_telegram_id(session, telegram_id)
        await workflow.decide(session, report, reviewer, approve=True)
    numbers["other"] = report.number
    await session.commit()
    return numbers


def test_opensid_files_hold_one_village_only(cli_db, tmp_path, capsys) -> None:
    """A Dinas Sosial database holds many villages; each village's OpenSID gets its own
    people and events, never a neighbour's."""
    in_db(cli_db, lambda s: _reports_in_two_villages(s, tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    args = ["export", "changes", "--since", "2000-01-01", "--format", "opensid"]
    assert main([*args, "--output", str(out)]) == 2
    assert "give --region CODE" in capsys.readouterr().err
    assert main([*args, "--output", str(out), "--region", "16.71.01"]) == 2
    assert "16.71.01 is not a known desa/kelurahan" in capsys.readouterr().err
    assert main(["export", "changes", "--since", "2000-01-01", "--region", VILLAGE]) == 2
    assert "--region is for --format opensid" in capsys.readouterr().err

    assert main([*args, "--output", str(out), "--region", VILLAGE]) == 0
    people = _sheet(out / f"opensid-penduduk-{VILLAGE}-2000-01-01.xlsx")
    assert [p["nama"] for p in people] == ["Raka Pratama", "BUDI SANTOSO"]
    assert {w["no_kk"] for w in _sheet(out / f"opensid-peristiwa-{VILLAGE}-2000-01-01.xlsx")} == {
        SARI.kk, HARTONO.kk,
    }  # fmt: skip
    assert main([*args, "--output", str(out), "--region", OTHER_VILLAGE]) == 0
    people = _sheet(out / f"opensid-penduduk-{OTHER_VILLAGE}-2000-01-01.xlsx")
    assert [(p["nama"], p["no_kk"]) for p in people] == [("Bayi Lain", OTHER_KK)]
    assert _sheet(out / f"opensid-peristiwa-{OTHER_VILLAGE}-2000-01-01.xlsx") == []


async def _family_changes(session: AsyncSession, tmp_path: Path) -> dict[str, str]:
    """A head change in Sari's family, then Dewi leaving it to head a KK of her own."""
    await _village(session, tmp_path)
    sari = {m.name: str(m.id) for m in (await household_by_kk(session, SARI.kk)).members}
    numbers = {
        "head": await _approved(session, SARI.kk, "head_change", {
            "member": sari["SARI WULANDARI"], "previous_head_as": "spouse"}, RT_SARI),
        "split": await _approved(session, SARI.kk, "split_household", {
            "leaving": [sari["DEWI LESTARI"]], "new_head": sari["DEWI LESTARI"],
            "reason": "own_house", "address": "Jl. Mawar 9", "new_kk": None}, RT_SARI),
    }  # fmt: skip
    await session.commit()
    return numbers


def test_head_change_and_kk_split_are_worklist_rows(cli_db, tmp_path, capsys) -> None:
    """The family changes the chat takes (issue 17's types) reach the operator's worklist
    with OpenSID's words: a new head is GANTI KEPALA KELUARGA for both people (no OpenSID
    code: the operator edits their kk_level), a member leaving for a KK of her own is
    log_keluarga 12 ANGGOTA KELUAR (PECAH KK)."""
    numbers = in_db(cli_db, lambda s: _family_changes(s, tmp_path))
    out = tmp_path / "untuk-opensid"
    out.mkdir()
    args = ["export", "changes", "--since", "2000-01-01", "--format", "opensid"]
    assert main([*args, "--region", VILLAGE, "--output", str(out)]) == 0
    capsys.readouterr()
    worklist = _sheet(out / "opensid-peristiwa-16.71.01.1001-2000-01-01.xlsx")
    rows = {
        (w["nik"], w["kode_peristiwa"], w["peristiwa"], w["tabel_log"], w["nomor_laporan"])
        for w in worklist
    }
    assert rows == {
        (SARI.people[0].nik, None, "GANTI KEPALA KELUARGA", None, numbers["head"]),
        (SARI.people[1].nik, None, "GANTI KEPALA KELUARGA", None, numbers["head"]),
        (SARI.people[2].nik, 12, "ANGGOTA KELUAR (PECAH KK)", "log_keluarga", numbers["split"]),
    }
