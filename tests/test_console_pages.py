"""Keluarga, Ringkasan and Ekspor of the web console over HTTP."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from registry import workflow
from registry.households import household_by_kk
from storage import db
from storage.models import AuditEntry, Report
from testkit.factories import HARTONO, SARI
from tests.helpers.console import birth_report, client_for, make_console, signed_in
from tests.helpers.world import account, registry_world

RT, RT_OTHER, LURAH, OFFICER = 1, 2, 3, 4


@pytest.fixture
async def world(engine, tmp_path):
    maker = db.make_sessionmaker(engine)
    async with maker() as session:
        await registry_world(
            session, tmp_path, rt={RT: [(2, 3)], RT_OTHER: [(2, 5)]}, lurah=[LURAH],
            officers={OFFICER: "16.71"},
        )  # fmt: skip
        report = await birth_report(session, payload={"name": "=HYPERLINK(1)"})
        for tid in (RT, LURAH, OFFICER):
            await workflow.decide(
                session, report, await account(session, tid, roles=True), approve=True
            )
        await session.commit()
        await birth_report(session, reporter_id=101, payload={"name": "Sekar"})
    client = await client_for(make_console(maker, tmp_path))
    yield maker, client
    await client.close()


async def test_the_household_page_shows_members_changes_and_the_past(world) -> None:
    maker, client = world
    async with maker() as session:
        sari = await household_by_kk(session, SARI.kk)
        hartono = await household_by_kk(session, HARTONO.kk)
        sari_id, hartono_id = sari.id, hartono.id
    await signed_in(client, maker, RT)
    html = await (await client.get(f"/keluarga/{sari_id}")).text()
    assert "=HYPERLINK(1)" in html and "Budi Santoso" in html
    assert SARI.kk not in html and SARI.people[0].nik not in html  # masked
    assert "birth" in html or "member_added" in html
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    past = await (await client.get(f"/keluarga/{sari_id}", params={"tanggal": yesterday})).text()
    members = past.split('id="members"')[1].split("</table>")[0]
    assert "Budi Santoso" in members and "HYPERLINK" not in members
    assert (await client.get(f"/keluarga/{hartono_id}")).status == 404  # RT 5 is not mine


async def test_the_summary_counts_and_draws_the_weeks(world) -> None:
    maker, client = world
    await signed_in(client, maker, OFFICER)
    html = await (await client.get("/ringkasan")).text()
    assert "Laporan ditemukan: 2" in html
    assert html.count("<rect ") == 12 and 'id="medians"' in html
    await signed_in(client, maker, RT_OTHER)  # sees neither report (RT 3)
    html = await (await client.get("/ringkasan")).text()
    assert "Laporan ditemukan: 0" in html


async def test_the_list_export_is_formula_proof_and_audited(world) -> None:
    maker, client = world
    await signed_in(client, maker, LURAH)
    response = await client.get("/ekspor/laporan", params={"state": "all", "format": "csv"})
    assert response.status == 200 and response.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert len(rows) == 3 and any("=HYPERLINK(1)" in cell for cell in rows[1] + rows[2])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert all(SARI.kk not in cell for row in rows for cell in row)
    xlsx = await client.get("/ekspor/laporan", params={"state": "all", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(await xlsx.read())).active
    assert sheet.max_row == 3
    # The lurah may not download the changes (full NIK): officers and admins only.
    assert (await client.get("/ekspor/perubahan")).status == 403
    async with maker() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert actions.count("export.reports") == 2


async def test_the_changes_export_of_an_officer(world) -> None:
    maker, client = world
    await signed_in(client, maker, OFFICER)
    since = (date.today() - timedelta(days=1)).isoformat()
    response = await client.get("/ekspor/perubahan", params={"since": since, "format": "csv"})
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    async with maker() as session:
        number = (await session.execute(select(Report.number).where(Report.id == 1))).scalar()
    assert len(rows) == 2 and rows[1][0] == number
