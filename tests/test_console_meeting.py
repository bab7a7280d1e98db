"""Musyawarah in the web console: the operator prepares the meeting and its berita acara;
the lurah records the outcome of two reports at once, which become the village tier's
decisions."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from docx import Document
from sqlalchemy import select

from registry import workflow
from registry.accounts import grant_role
from storage import db
from storage.models import OutboxMessage, Report
from testkit.factories import VILLAGE
from tests.helpers.console import birth_report, client_for, csrf_of, make_console, signed_in
from tests.helpers.world import account, registry_world

RT, LURAH, OPERATOR = 1, 3, 6
DAY = date(2026, 12, 10)


@pytest.fixture
async def world(engine, tmp_path):
    maker = db.make_sessionmaker(engine)
    async with maker() as session:
        await registry_world(session, tmp_path, rt={RT: [(2, 3)]}, lurah=[LURAH])
        await grant_role(session, OPERATOR, "operator", VILLAGE)
        await session.commit()
        ids = []
        for reporter, name in ((100, "Raka"), (101, "Sekar")):
            report = await birth_report(session, reporter_id=reporter, payload={"name": name})
            await workflow.decide(
                session, report, await account(session, RT, roles=True), approve=True
            )
            ids.append(report.id)
        await session.commit()
    client = await client_for(make_console(maker, tmp_path))
    yield maker, client, ids
    await client.close()


def _meeting_query(ids: list[int]) -> list[tuple[str, str]]:
    return [("desa", VILLAGE), ("tanggal", DAY.isoformat()), *(("r", str(i)) for i in ids)]


async def test_the_operator_prepares_the_meeting_and_its_minutes(world) -> None:
    maker, client, ids = world
    await signed_in(client, maker, OPERATOR)
    html = await (
        await client.get("/musyawarah", params={"desa": VILLAGE, "tanggal": DAY.isoformat()})
    ).text()
    assert html.count('name="r"') == 2 and "Raka" in html and "Sekar" in html
    page = await (await client.get("/musyawarah/rapat", params=_meeting_query(ids))).text()
    assert 'id="outcomes"' not in page  # an operator decides nothing
    printed = await (await client.get("/musyawarah/cetak", params=_meeting_query(ids))).text()
    assert "Tanda tangan" in printed and 'id="outcomes"' not in printed
    minutes = await client.get("/musyawarah/berita-acara", params=_meeting_query(ids))
    assert minutes.status == 200
    document = Document(io.BytesIO(await minutes.read()))
    text = "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
    async with maker() as session:
        numbers = [(await session.get(Report, i)).number for i in ids]
    assert all(n in text for n in numbers) and "Tanda tangan" in text
    assert "10 Desember 2026" in "\n".join(p.text for p in document.paragraphs)
    csrf = await csrf_of(client, "/musyawarah")
    refused = await client.post(
        "/musyawarah/hasil",
        data=[("csrf", csrf), ("desa", VILLAGE), ("tanggal", DAY.isoformat()),
              ("pick", f"{ids[0]}:3"), (f"outcome_{ids[0]}", "approve")],
    )  # fmt: skip
    assert refused.status == 403
    async with maker() as session:
        assert (await session.get(Report, ids[0])).state == workflow.AWAITING_KELURAHAN


async def test_the_lurah_records_two_outcomes_at_once(world) -> None:
    maker, client, ids = world
    await signed_in(client, maker, LURAH)
    page = await (await client.get("/musyawarah/rapat", params=_meeting_query(ids))).text()
    picks = re.findall(r'name="pick" value="(\d+:\d+)"', page)
    assert len(picks) == 2
    csrf = await csrf_of(client, "/musyawarah")
    done = await client.post(
        "/musyawarah/hasil",
        data=[("csrf", csrf), ("desa", VILLAGE), ("tanggal", DAY.isoformat()),
              ("pick", picks[0]), (f"outcome_{ids[0]}", "approve"),
              ("pick", picks[1]), (f"outcome_{ids[1]}", "reject"), (f"code_{ids[1]}", "not_true"),
              (f"note_{ids[1]}", "Bayi belum lahir")],
    )  # fmt: skip
    assert done.status == 200
    async with maker() as session:
        first, second = [await session.get(Report, i) for i in ids]
        assert first.state == workflow.AWAITING_OFFICER
        assert second.state == workflow.REJECTED
        assert "Bayi belum lahir" in second.events[-1].note
        texts = [
            m.message["text"] for m in (await session.execute(select(OutboxMessage))).scalars()
        ]
    assert any("Bayi belum lahir" in t for t in texts)  # the reporter reads the reason


async def test_a_meeting_decides_only_its_own_villages_reports(world) -> None:
    """A kepala desa of two villages records the meeting of the second: a report of the
    first slipped into the form is not decided under that meeting's name."""
    maker, client, ids = world
    other_village = "16.71.02.1002"
    async with maker() as session:
        await grant_role(session, LURAH, "lurah", other_village)
        await session.commit()
        version = (await session.get(Report, ids[0])).version
    await signed_in(client, maker, LURAH)
    csrf = await csrf_of(client, "/musyawarah")
    done = await client.post(
        "/musyawarah/hasil",
        data=[("csrf", csrf), ("desa", other_village), ("tanggal", DAY.isoformat()),
              ("pick", f"{ids[0]}:{version}"), (f"outcome_{ids[0]}", "approve")],
    )  # fmt: skip
    assert done.status == 200
    assert "bukan dari desa" in await done.text()
    async with maker() as session:
        assert (await session.get(Report, ids[0])).state == workflow.AWAITING_KELURAHAN
