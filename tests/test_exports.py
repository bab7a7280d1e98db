"""Files in and out: the meeting list, batch decisions, the change export and the
registry export/import round trip, through the command line as an operator runs it."""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from bot.progress import Progress
from flows.meeting import MEETING_HEADER
from locales import use_locale
from registry import workflow
from registry.accounts import account_by_telegram_id, ensure_account, grant_role
from registry.errors import ImportRejected, RowError
from registry.exports import CHANGES_HEADER, describe_changes
from registry.households import IMPORT_HEADER, household_by_kk, import_households
from registry.nik import make_nik, mask
from registry.tables import open_table
from storage.models import Household, Member, OutboxMessage, RegistryRevision, Report
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE, registry_rows, write_csv
from testkit.synthetic import synthetic_rows
from tests.helpers.db import fresh_database, in_db

RT, RT_OTHER, LURAH, OFFICER, REPORTER = 1, 2, 3, 4, 100
SATU_ULU = "16.71.02.1002"  # another kecamatan of Kota Palembang
WIDODO_KK = "1671021003200004"
WIDODO = [  # a household in Satu Ulu
    [WIDODO_KK, make_nik("167102", date(1970, 3, 3), "M", 9301), "Widodo", "L", "1970-03-03",
     "head", SATU_ULU, "1", "1", "Jl. Satu Ulu No. 1", "3"],
]  # fmt: skip


@pytest.fixture
def other_database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh database, for the round trip."""
    yield from fresh_database(template_database, tmp_path, "other")


async def _reviewers(session: AsyncSession, tmp_path: Path) -> None:
    rows = registry_rows(FAMILIES) + WIDODO
    await import_households(session, write_csv(tmp_path / "registry.csv", rows))
    await grant_role(session, RT, "rt", VILLAGE, rw=SARI.rw, rt=SARI.rt)
    await grant_role(session, RT_OTHER, "rt", VILLAGE, rw=HARTONO.rw, rt=HARTONO.rt)
    await grant_role(session, LURAH, "lurah", VILLAGE)
    await grant_role(session, OFFICER, "officer", "16.71")
    await ensure_account(session, REPORTER)


async def _file(session: AsyncSession, kk: str, kind: str, payload: dict[str, Any]) -> Report:
    household = await household_by_kk(session, kk)
    reporter = await account_by_telegram_id(session, REPORTER)
    return await workflow.submit_report(
        session, kind=kind, household=household, reporter=reporter, payload=payload
    )


async def _advance(session: AsyncSession, report: Report, reviewers: tuple[int, ...]) -> None:
    for telegram_id in reviewers:
        reviewer = await account_by_telegram_id(session, telegram_id)
        await workflow.decide(session, report, reviewer, approve=True)


def _member_id(session_members: list[Member], name: str) -> str:
    return str(next(m.id for m in session_members if m.name == name))


# ---- reports list ------------------------------------------------------------------------------


async def _meeting_reports(session: AsyncSession, tmp_path: Path) -> dict[str, str]:
    """Reports in three states and two kecamatan; returns their numbers by name."""
    await _reviewers(session, tmp_path)
    sari = await household_by_kk(session, SARI.kk)
    mother = _member_id(sari.members, "Sari Wulandari")
    birth = await _file(session, SARI.kk, "birth", {
        "name": "Raka <Putra> & Pratama", "sex": "M", "birth_date": "2026-10-01",
        "mother": mother, "_labels": {"mother": {mother: "Sari Wulandari"}},
    })  # fmt: skip
    housing = await _file(session, HARTONO.kk, "housing", {"aspects": ["roof"], "roof": "metal"})
    await _advance(session, housing, (RT_OTHER,))
    dispute = await _file(session, WIDODO_KK, "dispute", {"subject": "desil", "reason": "Turun"})
    return {"birth": birth.number, "housing": housing.number, "dispute": dispute.number}


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_reports_list_for_a_village_meeting(cli_db, tmp_path, capsys) -> None:
    numbers = in_db(cli_db, lambda s: _meeting_reports(s, tmp_path))
    assert main(["reports", "list", "--region", VILLAGE]) == 0
    out = capsys.readouterr().out
    assert SARI.kk not in out and HARTONO.kk not in out
    header, *rows = _csv_rows(out)
    assert header == [
        "Number", "Report type", "Status", "Submitted", "Desa/kelurahan", "RW", "RT",
        "Household KK", "Summary",
    ]  # fmt: skip
    assert [r[0] for r in rows] == [numbers["birth"], numbers["housing"]]  # oldest first
    birth, housing = rows
    today = datetime.now(UTC).date().isoformat()
    assert birth[:8] == [
        numbers["birth"], "Birth", "Waiting for the RT head", today, "Tiga-puluh-lima Ilir",
        "2", "3", mask(SARI.kk),
    ]  # fmt: skip
    assert "Raka <Putra> & Pratama" in birth[8] and "Sari Wulandari" in birth[8]
    assert "<b>" not in birth[8] and "&amp;" not in birth[8]
    assert housing[1:3] == ["Change in housing or assets", "Waiting for the kelurahan/desa"]

    # A region of any level, and states.
    assert main(["reports", "list", "--region", "16.71", "--state", "awaiting_rt"]) == 0
    rows = _csv_rows(capsys.readouterr().out)[1:]
    assert [r[0] for r in rows] == [numbers["birth"], numbers["dispute"]]
    assert rows[1][4:7] == ["Satu Ulu", "1", "1"]
    args = ["reports", "list", "--region", "16", "--state", "awaiting_kelurahan"]
    assert main([*args, "--state", "applied"]) == 0
    assert [r[0] for r in _csv_rows(capsys.readouterr().out)[1:]] == [numbers["housing"]]
    assert main(["reports", "list", "--region", "16.72"]) == 0  # Kota Prabumulih: none
    assert len(_csv_rows(capsys.readouterr().out)) == 1


def test_reports_list_in_indonesian_as_xlsx(database_url, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)
    numbers = in_db(database_url, lambda s: _meeting_reports(s, tmp_path))
    out = tmp_path / "musyawarah.xlsx"
    assert main(["reports", "list", "--region", "16.71.01", "--output", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    sheet = load_workbook(out, read_only=True).worksheets[0]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    with use_locale("id"):
        assert header == [str(h) for h in MEETING_HEADER]
    assert [r[0] for r in rows] == [numbers["birth"], numbers["housing"]]
    assert rows[0][1] == "Kelahiran" and rows[0][7] == mask(SARI.kk)
    assert rows[1][2] == "Menunggu kelurahan/desa"
    assert rows[0][3].date() == datetime.now(UTC).date()  # a real date cell
    assert (rows[0][5], rows[0][6]) == (2, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "16.71.99.9999"], "Region 16.71.99.9999 is not in the database."),
        (["--region", "16.71", "--state", "waiting"], "Unknown state waiting; use one of: "),
        (["--region", "16.71", "--format", "xlsx"], "--format xlsx needs --output FILE."),
    ],
)
def test_reports_list_refuses_unknown_region_state_and_xlsx_on_stdout(
    cli_db, args, message, capsys
) -> None:
    assert main(["reports", "list", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message) and captured.out == ""


def test_unknown_state_lists_every_state_of_the_workflow(cli_db, capsys) -> None:
    assert main(["reports", "list", "--region", "16", "--state", "x"]) == 2
    err = capsys.readouterr().err
    for state in workflow.STATES:
        assert state in err


# ---- reports decide ----------------------------------------------------------------------------


async def _queue(session: AsyncSession, tmp_path: Path) -> dict[str, Report]:
    """Reports at the RT tier of SARI's RT, one of the neighbouring RT, one further on."""
    await _reviewers(session, tmp_path)
    sari = await household_by_kk(session, SARI.kk)
    mother = _member_id(sari.members, "Sari Wulandari")
    dewi = _member_id(sari.members, "Dewi Lestari")
    reports = {
        "birth": await _file(session, SARI.kk, "birth", {
            "name": "Raka", "sex": "M", "birth_date": "2026-10-01", "mother": mother}),
        "school": await _file(session, SARI.kk, "member_data", {
            "member": dewi, "field": "education", "education": "sd"}),
        "neighbour": await _file(session, HARTONO.kk, "housing", {
            "aspects": ["roof"], "roof": "metal"}),
        "death": await _file(session, SARI.kk, "death", {
            "member": dewi, "death_date": "2026-09-14", "place": "RSUD Palembang"}),
    }  # fmt: skip
    await _advance(session, reports["death"], (RT,))
    return reports


def _decisions(path: Path, rows: list[list[str]]) -> Path:
    return write_csv(path, rows, header=["number", "decision", "reason_code", "note"])


async def _states(session: AsyncSession) -> dict[str, str]:
    return dict((await session.execute(select(Report.number, Report.state))).all())


async def _outbox(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(OutboxMessage))


def test_decide_names_every_bad_row_and_decides_nothing(cli_db, tmp_path, capsys) -> None:
    reports = in_db(cli_db, lambda s: _queue(s, tmp_path))
    n = {k: r.number for k, r in reports.items()}
    before = in_db(cli_db, _states)
    outbox = in_db(cli_db, _outbox)
    path = _decisions(tmp_path / "keputusan.csv", [
        [n["birth"], "approve", "", ""],                 # 2: fine
        ["LW-2026-999999", "approve", "", ""],           # 3: no such report
        [n["neighbour"], "approve", "", ""],             # 4: another RT's report
        [n["death"], "reject", "not_true", ""],          # 5: already with the kelurahan
        [n["school"], "maybe", "", ""],                  # 6: not a decision
        [n["school"].lower(), "reject", "", ""],         # 7: no reason
        [n["birth"], "reject", "other", ""],             # 8: twice; "other" needs a note
        [n["school"], "approve", "duplicate", "", "x"],  # 9: five columns
        [n["school"], "approve", "not_true", ""],        # 10: a reason for an approval
    ])  # fmt: skip
    assert main(["reports", "decide", "--file", str(path), "--as", str(RT)]) == 1
    err = capsys.readouterr().err
    lines: dict[int, list[str]] = {}
    for match in re.finditer(rf"^{re.escape(str(path))}:(\d+): (.*)$", err, re.MULTILINE):
        lines.setdefault(int(match[1]), []).append(match[2])
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert lines[3] == ["no report LW-2026-999999"]
    assert lines[4] == [f"{n['neighbour']}: You may not decide this report at its current stage."]
    assert lines[5] == [f"{n['death']}: You may not decide this report at its current stage."]
    assert lines[6] == ["decision must be approve or reject"]
    assert any("needs a reason" in r for r in lines[7])
    assert any("other" in r for r in lines[8])
    assert f"report {n['birth']} already appears on line 2" in lines[8]
    assert lines[9] == ["expected 4 columns, found 5"]
    assert "reason_code is only for a rejection" in lines[10]
    assert f"report {n['school']} already appears on line 6" in lines[10]
    assert f"{path}: 8 bad row(s); nothing was decided." in err
    assert in_db(cli_db, _states) == before
    assert in_db(cli_db, _outbox) == outbox


def test_decide_applies_a_batch_and_tells_people(cli_db, tmp_path, capsys) -> None:
    reports = in_db(cli_db, lambda s: _queue(s, tmp_path))
    n = {k: r.number for k, r in reports.items()}
    outbox = in_db(cli_db, _outbox)
    path = _decisions(tmp_path / "keputusan.csv", [
        [n["birth"], "approve", "", "Sudah dicek di musyawarah"],
        ["", "", "", ""],
        [n["school"], "Reject", "not_true", ""],
    ])  # fmt: skip
    assert main(["reports", "decide", "--file", str(path), "--as", str(RT)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{n['birth']}: Waiting for the RT head -> Waiting for the kelurahan/desa",
        f"{n['school']}: Waiting for the RT head -> Rejected",
        "Decided 2 report(s): 1 approved, 1 rejected.",
    ]
    states = in_db(cli_db, _states)
    assert states[n["birth"]] == workflow.AWAITING_KELURAHAN
    assert states[n["school"]] == workflow.REJECTED

    async def events(session: AsyncSession) -> list[tuple[str, str | None, str | None]]:
        report = await workflow.report_by_number(session, n["school"])
        return [(e.to_state, e.reason_code, e.note) for e in report.events]

    assert in_db(cli_db, events)[-1] == (workflow.REJECTED, "not_true", None)
    # The reporter heard of both; the lurah got the birth's card.
    assert in_db(cli_db, _outbox) > outbox


def test_decide_rolls_the_whole_batch_back_when_one_decision_fails(
    cli_db, tmp_path, capsys
) -> None:
    async def at_officer(session: AsyncSession) -> dict[str, Report]:
        reports = await _queue(session, tmp_path)
        await _advance(session, reports["death"], (LURAH,))
        await _advance(session, reports["school"], (RT, LURAH))
        return reports

    reports = in_db(cli_db, at_officer)
    n = {k: r.number for k, r in reports.items()}
    before = in_db(cli_db, _states)
    path = _decisions(tmp_path / "officer.csv", [
        [n["death"], "approve", "", ""],   # Dewi died ...
        [n["school"], "approve", "", ""],  # ... so her school cannot be entered
    ])  # fmt: skip
    assert main(["reports", "decide", "--file", str(path), "--as", str(OFFICER)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3: {n['school']}: " in err
    assert "nothing was decided" in err
    assert in_db(cli_db, _states) == before

    async def registry(session: AsyncSession) -> tuple[int, list[str]]:
        revisions = await session.scalar(select(func.count()).select_from(RegistryRevision))
        statuses = (await session.scalars(select(Member.status).order_by(Member.id))).all()
        return revisions, list(statuses)

    assert in_db(cli_db, registry) == (0, ["alive"] * 6)


def test_decide_refuses_to_approve_a_duplicate_of_an_applied_change(
    cli_db, tmp_path, capsys
) -> None:
    async def twice(session: AsyncSession) -> tuple[str, str]:
        await _reviewers(session, tmp_path)
        sari = await household_by_kk(session, SARI.kk)
        birth = {"name": "Raka", "sex": "M", "birth_date": "2026-10-01",
                 "mother": _member_id(sari.members, "Sari Wulandari")}  # fmt: skip
        first = await _file(session, SARI.kk, "birth", birth)
        await _advance(session, first, (RT, LURAH, OFFICER))
        second = await _file(session, SARI.kk, "birth", dict(birth))
        return first.number, second.number

    first, second = in_db(cli_db, twice)
    path = _decisions(tmp_path / "d.csv", [[second, "approve", "", ""]])
    assert main(["reports", "decide", "--file", str(path), "--as", str(RT)]) == 1
    assert (
        f"{path}:2: {second}: the same change is already in the registry through {first}; "
        "reject it as a duplicate"
    ) in capsys.readouterr().err
    path = _decisions(tmp_path / "d.csv", [[second, "reject", "duplicate", first]])
    assert main(["reports", "decide", "--file", str(path), "--as", str(RT)]) == 0
    assert "Decided 1 report(s): 0 approved, 1 rejected." in capsys.readouterr().out


def test_decide_needs_a_reviewer_and_a_file(cli_db, tmp_path, capsys) -> None:
    in_db(cli_db, lambda s: _queue(s, tmp_path))
    path = _decisions(tmp_path / "d.csv", [])
    assert main(["reports", "decide", "--file", str(path), "--as", "777"]) == 2
    assert "Telegram user 777 has no reviewer role." in capsys.readouterr().err
    assert main(["reports", "decide", "--file", str(path), "--as", str(REPORTER)]) == 2
    assert main(["reports", "decide", "--file", str(tmp_path / "nope.csv"), "--as", "1"]) == 2
    capsys.readouterr()
    assert main(["reports", "decide", "--file", str(path), "--as", str(RT)]) == 1
    assert f"{path}:1: the file has no decisions" in capsys.readouterr().err
    wrong = write_csv(tmp_path / "w.csv", [["x", "approve"]], header=["nomor", "keputusan"])
    assert main(["reports", "decide", "--file", str(wrong), "--as", str(RT)]) == 1
    assert "header must be exactly: number,decision,reason_code,note" in capsys.readouterr().err


# ---- export changes ----------------------------------------------------------------------------


async def _applied(session: AsyncSession, tmp_path: Path) -> dict[str, str]:
    """A birth, a death, a housing change and a dispute, each approved to the end."""
    await _reviewers(session, tmp_path)
    sari = await household_by_kk(session, SARI.kk)
    hartono = await household_by_kk(session, HARTONO.kk)
    mother = _member_id(sari.members, "Sari Wulandari")
    reports = [
        await _file(session, SARI.kk, "birth", {
            "name": "Raka Pratama", "sex": "M", "birth_date": "2026-10-01", "mother": mother}),
        await _file(session, HARTONO.kk, "death", {
            "member": _member_id(hartono.members, "Hartono"), "death_date": "2026-09-14",
            "place": "RSUD Palembang"}),
        await _file(session, SARI.kk, "housing", {
            "aspects": ["roof", "assets"], "roof": "metal", "assets": ["fridge", "tv"]}),
        await _file(session, SARI.kk, "dispute", {
            "subject": "left_out", "programmes": ["pkh", "bpnt"], "reason": "Tidak dapat"}),
    ]  # fmt: skip
    for report in reports:
        rt = RT if report.household_id == sari.id else RT_OTHER
        await _advance(session, report, (rt, LURAH, OFFICER))
    return {r.kind: r.number for r in reports}


def test_export_changes_one_row_per_member_changed(cli_db, tmp_path, capsys) -> None:
    numbers = in_db(cli_db, lambda s: _applied(s, tmp_path))
    today = datetime.now(UTC).date()
    assert main(["export", "changes", "--since", today.isoformat()]) == 0
    header, *rows = _csv_rows(capsys.readouterr().out)
    assert header == CHANGES_HEADER
    table = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(r["report_number"], r["action"]) for r in table] == [
        (numbers["birth"], "member_added"),
        (numbers["death"], "member_deceased"),
        (numbers["death"], "member_changed"),  # Ani heads the household now
        (numbers["housing"], "household_changed"),
        (numbers["dispute"], "household_flagged"),
    ]
    birth, death, new_head, housing, dispute = table
    assert birth["nik"] == "" and birth["member_name"] == "Raka Pratama"  # no NIK yet
    assert "name:  -> Raka Pratama" in birth["changes"] and "sex:  -> M" in birth["changes"]
    assert (birth["kk"], birth["region_code"], birth["rw"], birth["rt"]) == (
        SARI.kk, VILLAGE, "2", "3",
    )  # fmt: skip
    assert (death["nik"], death["member_name"], death["report_type"]) == (
        HARTONO.head.nik, "Hartono", "death",
    )  # fmt: skip
    assert death["changes"] == (
        "status: alive -> deceased; death_date:  -> 2026-09-14; death_place:  -> RSUD Palembang"
    )
    assert new_head["changes"] == "relationship: spouse -> head"
    assert housing["nik"] == housing["member_name"] == ""
    assert housing["changes"] == "roof:  -> metal; assets:  -> fridge, tv"
    assert dispute["nik"] == "" and dispute["kk"] == SARI.kk
    assert dispute["changes"].startswith("flag:  -> left_out; programmes:  -> pkh, bpnt")
    assert {r["approved_by_telegram_id"] for r in table} == {str(OFFICER)}
    assert all(datetime.fromisoformat(r["applied_at"]).date() == today for r in table)

    tomorrow = (today + timedelta(days=1)).isoformat()
    assert main(["export", "changes", "--since", tomorrow]) == 0
    assert _csv_rows(capsys.readouterr().out) == [CHANGES_HEADER]


def test_export_changes_as_xlsx(cli_db, tmp_path, capsys) -> None:
    numbers = in_db(cli_db, lambda s: _applied(s, tmp_path))
    out = tmp_path / "changes.xlsx"
    assert main(["export", "changes", "--since", "2020-01-01", "--output", str(out)]) == 0
    assert f"5 change(s) since 2020-01-01 written to {out}." in capsys.readouterr().out
    header, *rows = list(load_workbook(out, read_only=True)["changes"].iter_rows(values_only=True))
    assert list(header) == CHANGES_HEADER
    assert rows[1][0] == numbers["death"] and rows[1][7] == HARTONO.kk  # KK kept as text
    assert rows[1][8] == HARTONO.head.nik and isinstance(rows[1][2], datetime)
    csv_out = tmp_path / "changes.csv"
    assert main(["export", "changes", "--since", "2020-01-01", "--output", str(csv_out)]) == 0
    assert len(_csv_rows(csv_out.read_text(encoding="utf-8"))) == 6


@pytest.mark.parametrize("since", ["23-11-2026", "2026-02-30", "kemarin"])
def test_export_changes_refuses_a_bad_date(cli_db, since, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "changes", "--since", since])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err  # (before the settings are read: in Indonesian)
    assert f"argument --since: '{since}' bukan tanggal seperti 2026-06-01" in err


def test_export_changes_xlsx_needs_a_file_and_a_writable_place(cli_db, tmp_path, capsys) -> None:
    assert main(["export", "changes", "--since", "2026-01-01", "--format", "xlsx"]) == 2
    assert "--format xlsx needs --output FILE." in capsys.readouterr().err
    missing = tmp_path / "no-such-dir" / "c.csv"
    assert main(["export", "changes", "--since", "2026-01-01", "--output", str(missing)]) == 2
    assert f"{missing.parent}: no such folder." in capsys.readouterr().err
    assert not missing.parent.exists()


def test_describe_changes_reads_like_a_form() -> None:
    before = {"id": 1, "household_id": 2, "name": "A", "details": {"work": "farmer", "x": 1}}
    after = {"id": 1, "household_id": 3, "name": "B", "details": {"work": "farmer"}}
    assert describe_changes(before, after) == "name: A -> B; x: 1 -> "
    assert describe_changes(before, None) == ""
    assert describe_changes(None, {"details": {"location": {"latitude": 1.5}}}) == (
        'location:  -> {"latitude": 1.5}'
    )


# ---- registry export and the round trip --------------------------------------------------------


async def _dump(session: AsyncSession) -> list[tuple[Any, ...]]:
    """The registry without its internal ids and times."""
    rows = await session.execute(
        select(
            Household.kk,
            Household.address,
            Household.region_code,
            Household.rw,
            Household.rt,
            Household.desil,
            Household.details,
            Member.nik,
            Member.name,
            Member.sex,
            Member.birth_date,
            Member.relationship,
            Member.status,
            Member.details,
        )
        .join(Member, Member.household_id == Household.id)
        .order_by(Household.kk, Member.id)
    )
    return [tuple(r) for r in rows]


def test_registry_round_trip_import_export_import(
    cli_db, other_database_url, tmp_path, monkeypatch, capsys
) -> None:
    rows = list(synthetic_rows(600, seed=7)) + registry_rows(FAMILIES)
    random.Random(3).shuffle(rows)  # a household's rows anywhere in the file
    source = write_csv(tmp_path / "source.csv", rows)
    assert main(["registry", "import", str(source)]) == 0
    first = tmp_path / "first.csv"
    assert main(["registry", "export", "--output", str(first)]) == 0
    out = capsys.readouterr()
    assert f"Exported {len(rows)} member(s) to {first}." in out.out
    assert out.err == ""
    exported = _csv_rows(first.read_text(encoding="utf-8"))
    assert exported[0] == IMPORT_HEADER
    assert sorted(exported[1:]) == sorted(rows)

    monkeypatch.setenv("DATABASE_URL", other_database_url)
    assert main(["registry", "import", str(first)]) == 0
    assert "Imported" in capsys.readouterr().out
    assert main(["registry", "export"]) == 0  # to stdout
    assert _csv_rows(capsys.readouterr().out) == exported
    assert in_db(other_database_url, _dump) == in_db(cli_db, _dump)


def test_registry_export_leaves_out_what_the_import_format_cannot_hold(
    cli_db, tmp_path, capsys
) -> None:
    in_db(cli_db, lambda s: _applied(s, tmp_path))  # Raka born (no NIK), Hartono died
    assert main(["registry", "export"]) == 0
    out = capsys.readouterr()
    names = [row[2] for row in _csv_rows(out.out)[1:]]
    assert names == ["Budi Santoso", "Sari Wulandari", "Dewi Lestari", "Ani Rahmawati", "Widodo"]
    assert "Not exported: 1 member(s) who died or moved away." in out.err
    assert "Not exported: 1 living member(s) without a NIK yet." in out.err


# ---- streaming import: errors, scattered households, progress ----------------------------------


async def test_import_streams_errors_in_line_order_and_leaves_the_session_usable(
    session, tmp_path
) -> None:
    rows = list(synthetic_rows(40, seed=2))
    random.Random(1).shuffle(rows)
    sex, nik = rows[5][3], rows[30][1]
    rows[5][3] = "X"  # line 7: bad sex
    rows[30][1] = rows[3][1]  # line 32: the NIK of line 5
    path = write_csv(tmp_path / "bad.csv", rows)
    seen: list[RowError] = []
    with pytest.raises(ImportRejected) as caught, use_locale("en"):
        await import_households(session, path, on_error=seen.append)
    assert caught.value.errors == [] and caught.value.count == len({e.line for e in seen}) >= 2
    assert [e.line for e in seen] == sorted(e.line for e in seen)
    assert any(e.line == 7 and "sex" in e.reason for e in seen)
    assert any(e.line == 32 and "already appears on line 5" in e.reason for e in seen)
    assert await session.scalar(select(func.count()).select_from(Household)) == 0
    # The same session imports the next file (its staging tables are gone).
    rows[5][3], rows[30][1] = sex, nik
    assert await import_households(session, write_csv(tmp_path / "ok.csv", rows)) == (
        len({r[0] for r in rows}), len(rows),
    )  # fmt: skip


async def test_a_households_rows_may_be_anywhere_in_the_file(session, tmp_path) -> None:
    rows = registry_rows(FAMILIES)
    scattered = [rows[1], rows[3], rows[0], rows[4], rows[2]]  # Sari's head on line 4
    path = write_csv(tmp_path / "scattered.csv", scattered)
    assert await import_households(session, path) == (2, 5)
    household = await household_by_kk(session, SARI.kk)
    assert [m.name for m in household.members] == [
        "Sari Wulandari", "Budi Santoso", "Dewi Lestari",
    ]  # fmt: skip


def test_progress_prints_plain_counts_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    with Progress("registry import", 25, stream=stream, every=10) as progress:
        for _ in range(25):
            progress.update()
    assert stream.getvalue().splitlines() == [  # in the CLI's language (Indonesian here)
        "registry import: 10 dari 25 baris",
        "registry import: 20 dari 25 baris",
        "registry import: 25 dari 25 baris",
    ]
    quiet = io.StringIO()
    with Progress("registry import", 5, stream=quiet, every=10) as progress:
        progress.update(5)
    assert quiet.getvalue() == ""


def test_progress_draws_a_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with Progress("registry export", 3, stream=stream) as progress:
        progress.update(3)
    assert "registry export" in stream.getvalue() and "3/3" in stream.getvalue()


def test_xlsx_keeps_text_that_looks_like_a_formula_as_text(tmp_path) -> None:
    out = tmp_path / "t.xlsx"
    with open_table(out, "xlsx", ["a", "b"], sheet="t") as table:
        table.row(['=HYPERLINK("http://x")', "bell\x07"])
    row = next(load_workbook(out)["t"].iter_rows(min_row=2, values_only=True))
    assert row == ('=HYPERLINK("http://x")', "bell")
    assert load_workbook(out)["t"]["A2"].data_type == "s"
    assert not (tmp_path / "t.xlsx.part").exists()
