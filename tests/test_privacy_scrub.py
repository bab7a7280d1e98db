"""/hapusakun leaves nothing of the person in any table: the reviewers' cards about their
reports (the RT head's with their phone and pin, the officer's with their full KK) go
from other people's outboxes, queued or kept. The registry's own rows and revisions
are the documented exception: the registry records the household, not the account."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, select

from flows import notify
from flows.buttons import Confirm, DeleteAccount
from flows.io import Ctx, Incoming
from flows.privacy import on_button
from flows.review import notify_current_tier, notify_decision
from registry import workflow
from registry.accounts import ReviewArea, ensure_account, link_account
from registry.households import household_by_kk
from storage import outbox
from storage.models import Base, OutboxMessage, utcnow
from testkit.factories import SARI, VILLAGE
from tests.helpers.world import account, registry_world

RT, LURAH, OFFICER, SARI_ID = 1, 2, 3, 100
NEW_AREA = ReviewArea(VILLAGE, 4, 1)
SARI_NIK = SARI.person("Sari Wulandari").nik
PHONE = "+6281277771234"
PIN = {"latitude": -2.97412, "longitude": 104.74583}
# The registry keeps the household (its KK, members, and the history of its changes).
REGISTRY_TABLES = {"households", "members", "registry_revisions"}


@pytest.fixture
async def world(session, tmp_path) -> None:
    await registry_world(
        session, tmp_path, rt={RT: [(SARI.rw, SARI.rt), (NEW_AREA.rw, NEW_AREA.rt)]},
        lurah=[LURAH], officers={OFFICER: "16.71"},
    )  # fmt: skip
    sari = await ensure_account(session, SARI_ID, first_name="Sariwul")
    sari.phone, sari.consented_at = PHONE, utcnow()
    await link_account(session, sari, SARI_NIK, SARI.kk)
    await session.commit()


async def _file(session, **kwargs):
    report = await workflow.submit_report(session, **kwargs)
    notify.post(session, await notify_current_tier(session, report), "review")
    await session.commit()
    return report


async def _deliver_all(session) -> int:
    """What the sender does: every queued message is sent (and kept until OUTBOX_KEEP)."""
    now = utcnow() + timedelta(minutes=1)
    sent = 0
    while rows := await outbox.claim(session, now, 100, timedelta(seconds=90)):
        for row in rows:
            sent += await outbox.mark_sent(session, row.id, now)
        await session.commit()
    return sent


async def _found(session, needles: list[str]) -> list[str]:
    """Every text or JSON cell of every table (the registry's aside) holding a needle."""
    hits = []
    for table in Base.metadata.sorted_tables:
        if table.name in REGISTRY_TABLES:
            continue
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in (await session.execute(select(*columns))).all():
            for column, value in zip(columns, row, strict=True):
                text = json.dumps(value, ensure_ascii=False) if value is not None else ""
                hits += [f"{table.name}.{column.name}: {n}" for n in needles if n in text]
    return hits


async def test_deleting_an_account_leaves_none_of_the_person_outside_the_registry(
    world, session
) -> None:
    sari = await account(session, SARI_ID)
    housing = await _file(
        session, kind="housing", household=await household_by_kk(session, SARI.kk),
        reporter=sari, payload={"aspects": ["roof"], "roof": "metal"},
    )  # fmt: skip
    for telegram_id in (RT, LURAH):  # to the officers, whose card shows the KK in full
        decision = await workflow.decide(
            session, housing, await account(session, telegram_id), approve=True
        )
        await notify_decision(session, decision)
        await session.commit()
    assert await _deliver_all(session) > 0  # kept as sent
    await workflow.decide(session, housing, await account(session, OFFICER), approve=True)
    await session.commit()  # applied: the household's history holds the change
    # A household missing from the registry, with Sari's phone and pin: its card waits.
    missing = await _file(
        session, kind="new_household", household=None, reporter=sari, area=NEW_AREA,
        payload={"village": {"code": VILLAGE, "name": "Tiga-puluh-lima Ilir"},
                 "rw": NEW_AREA.rw, "rt": NEW_AREA.rt, "address": "Jl. Damai No. 7",
                 "phone": PHONE, "location": PIN,
                 "members": [{"m_name": "Rudi Hermawan", "m_nik": "1671011103959311",
                              "m_sex": "M", "m_birth": "1995-03-11",
                              "m_relationship": "head"}],
                 "floor": "wood", "wall": "wood", "roof": "metal"},
    )  # fmt: skip
    missing_id, number = missing.id, missing.number
    needles = [PHONE, PHONE.removeprefix("+"), SARI_NIK, SARI.kk, "Sari Wulandari", "Sariwul",
               str(PIN["latitude"]), str(PIN["longitude"])]  # fmt: skip
    before = await _found(session, needles)
    assert any(hit.startswith("outbox.message") and SARI.kk in hit for hit in before)
    assert any(hit.startswith("outbox.message") and PHONE in hit for hit in before)

    sari = await account(session, SARI_ID)
    ctx = Ctx(session, Incoming(SARI_ID, SARI_ID, callback="x", message_id=1), sari)
    await on_button(ctx, DeleteAccount(sari.id, Confirm.YES))
    await session.commit()
    session.expire_all()

    assert await _found(session, needles) == []
    # The RT head still learns that the missing household's report waits for them.
    [notice] = (
        (await session.execute(select(OutboxMessage).where(OutboxMessage.chat_id == RT)))
        .scalars()
        .all()
    )
    assert notice.status == "pending" and notice.report_id == missing_id
    assert number in notice.message["text"] and "/antrian" in notice.message["text"]
    assert notice.message["buttons"][0][0]["text"].startswith(number)
