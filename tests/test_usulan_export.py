"""Lists for SIKS-NG after a village meeting: `export usulan`.

Reports filed and taken through the real review workflow; the lurah's decisions at the
musyawarah come from a file (`reports decide`), as an operator records them."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from registry import workflow
from registry.accounts import ReviewArea, account_by_telegram_id, ensure_account, grant_role
from registry.households import household_by_kk, import_households
from registry.nik import make_nik
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE, registry_rows, write_csv
from tests.helpers.db import in_db

RT_SARI, RT_HARTONO, LURAH, OFFICER, REPORTER = 1, 2, 3, 4, 100
NEW_HEAD = make_nik("167101", date(1995, 6, 1), "M", 9401)


async def _file(session: AsyncSession, kk: str | None, kind: str, payload: dict[str, Any],
                rt: int | None) -> str:  # fmt: skip
    household = await household_by_kk(session, kk) if kk else None
    reporter = await account_by_telegram_id(session, REPORTER)
    area = None if household else ReviewArea(VILLAGE, SARI.rw, SARI.rt)
    report = await workflow.submit_report(
        session, kind=kind, household=household, reporter=reporter, payload=payload, area=area
    )
    if rt is not None and report.state == workflow.AWAITING_RT:
        await workflow.decide(session, report, await account_by_telegram_id(session, rt),
                              approve=True)  # fmt: skip
    return report.number


async def _meeting(session: AsyncSession, tmp_path: Path) -> dict[str, str]:
    await import_households(session, write_csv(tmp_path / "r.csv", registry_rows(FAMILIES)))
    await grant_role(session, RT_SARI, "rt", VILLAGE, rw=SARI.rw, rt=SARI.rt)
    await grant_role(session, RT_HARTONO, "rt", VILLAGE, rw=HARTONO.rw, rt=HARTONO.rt)
    await grant_role(session, LURAH, "lurah", VILLAGE)
    await grant_role(session, OFFICER, "officer", "16.71")
    await ensure_account(session, REPORTER)
    sari = await household_by_kk(session, SARI.kk)
    numbers = {
        "desil": await _file(session, SARI.kk, "dispute", {
            "subject": "desil", "reason": "Penghasilan turun sejak 2025"}, RT_SARI),
        "left_out": await _file(session, HARTONO.kk, "dispute", {
            "subject": "left_out", "programmes": ["pkh", "pbi_jk"],
            "reason": "Lansia, tidak bekerja"}, RT_HARTONO),
        # About another household: the report is about that household (the form's target).
        "other": await _file(session, HARTONO.kk, "dispute", {
            "subject": "other_household", "programmes": ["bpnt"], "target": "Pak Hartono RT 5",
            "target_kk": HARTONO.kk, "reason": "Punya mobil"}, None),
        "new": await _file(session, None, "new_household", {
            "village": {"code": VILLAGE, "name": "Tiga-puluh-lima Ilir"}, "rw": 2, "rt": 3,
            "address": "Jl. Baru No. 7", "phone": None, "location": None, "kk": None,
            "members": [{"m_name": "Joko Susilo", "m_nik": NEW_HEAD, "m_sex": "M",
                         "m_birth": "1995-06-01", "m_relationship": "head"}],
            "floor": "earth", "wall": "bamboo", "roof": "thatch"}, RT_SARI),
        "birth": await _file(session, SARI.kk, "birth", {
            "name": "Raka", "sex": "M", "birth_date": "2026-10-01",
            "mother": str(sari.members[1].id)}, RT_SARI),
        "refused": await _file(session, SARI.kk, "dispute", {
            "subject": "left_out", "programmes": ["blt"], "reason": "Ingin BLT"}, RT_SARI),
    }  # fmt: skip
    await session.commit()
    return numbers


def test_usulan_after_a_village_meeting(cli_db, tmp_path, capsys) -> None:
    n = in_db(cli_db, lambda s: _meeting(s, tmp_path))
    decisions = write_csv(tmp_path / "musyawarah.csv", [
        [n["desil"], "approve", "", "Dibahas di musyawarah"],
        [n["left_out"], "approve", "", ""],
        [n["other"], "approve", "", ""],
        [n["new"], "approve", "", ""],
        [n["birth"], "approve", "", ""],
        [n["refused"], "reject", "not_true", ""],
    ], header=["number", "decision", "reason_code", "note"])  # fmt: skip
    assert main(["reports", "decide", "--file", str(decisions), "--as", str(LURAH)]) == 0
    capsys.readouterr()
    today = datetime.now(UTC).date()

    out = tmp_path / "usulan.xlsx"
    args = ["export", "usulan", "--region", VILLAGE, "--since", today.isoformat()]
    assert main([*args, "--output", str(out)]) == 0
    assert "4 proposal(s) agreed since" in capsys.readouterr().out
    assert os.stat(out).st_mode & 0o777 == 0o600
    header, *rows = [list(r) for r in load_workbook(out, read_only=True).worksheets[0].iter_rows(
        values_only=True)]  # fmt: skip
    assert header == [
        "nik", "no_kk", "nama", "alamat", "rt", "rw", "kode_wilayah", "jenis", "program",
        "alasan", "keputusan", "tanggal_musyawarah", "nomor_laporan",
    ]  # fmt: skip
    budi, hartono = SARI.people[0], HARTONO.people[0]
    assert [r[:10] + r[12:] for r in rows] == [
        [budi.nik, SARI.kk, budi.name, SARI.address, 3, 2, VILLAGE, "perbaikan data", None,
         "Penghasilan turun sejak 2025", n["desil"]],
        [hartono.nik, HARTONO.kk, hartono.name, HARTONO.address, 5, 2, VILLAGE, "usulan baru",
         "PKH, PBI-JK", "Lansia, tidak bekerja", n["left_out"]],
        [hartono.nik, HARTONO.kk, hartono.name, HARTONO.address, 5, 2, VILLAGE, "sanggahan",
         "BPNT", "Punya mobil", n["other"]],
        [NEW_HEAD, None, "Joko Susilo", "Jl. Baru No. 7", 3, 2, VILLAGE, "usulan baru", None,
         None, n["new"]],
    ]  # fmt: skip
    assert rows[0][10] == "DISETUJUI MUSYAWARAH: Dibahas di musyawarah"
    assert rows[1][10] == "DISETUJUI MUSYAWARAH"
    assert {r[11].date() for r in rows} == {today}

    # CSV on stdout; another area, or a day after the meeting, has none.
    assert main([*args, "--format", "csv"]) == 0
    listed = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [r[-1] for r in listed[1:]] == [n["desil"], n["left_out"], n["other"], n["new"]]
    assert main(["export", "usulan", "--region", "16.71.02", "--since", today.isoformat()]) == 0
    assert len(list(csv.reader(io.StringIO(capsys.readouterr().out)))) == 1
    assert main(["export", "usulan", "--region", "16.71.99", "--since", "2026-01-01"]) == 2
    assert "Region 16.71.99 is not in the database." in capsys.readouterr().err


async def _proposal(session: AsyncSession, tmp_path: Path) -> str:
    await import_households(session, write_csv(tmp_path / "r.csv", registry_rows(FAMILIES)))
    await grant_role(session, RT_SARI, "rt", VILLAGE, rw=SARI.rw, rt=SARI.rt)
    await grant_role(session, LURAH, "lurah", VILLAGE)
    await ensure_account(session, REPORTER)
    photo = [{"kind": "photo", "file_id": "f1", "unique_id": "u1"}]
    number = await _file(session, SARI.kk, "aid_proposal", {
        "whose": "own", "programmes": ["pkh"], "reason": "Suami sakit, tidak bekerja",
        "front_photo": photo}, RT_SARI)  # fmt: skip
    await session.commit()
    return number


def test_an_usulan_from_the_chat_is_an_usulan_baru(cli_db, tmp_path, capsys) -> None:
    number = in_db(cli_db, lambda s: _proposal(s, tmp_path))
    decisions = write_csv(tmp_path / "musyawarah.csv", [[number, "approve", "", ""]],
                          header=["number", "decision", "reason_code", "note"])  # fmt: skip
    assert main(["reports", "decide", "--file", str(decisions), "--as", str(LURAH)]) == 0
    capsys.readouterr()
    today = datetime.now(UTC).date().isoformat()
    assert main(["export", "usulan", "--region", VILLAGE, "--since", today, "--format", "csv"]) == 0
    [_header, row] = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    budi = SARI.people[0]
    assert row[:10] == [budi.nik, SARI.kk, budi.name, SARI.address, "3", "2", VILLAGE,
                        "usulan baru", "PKH", "Suami sakit, tidak bekerja"]  # fmt: skip
    assert row[-1] == number
