"""registry.privacy on a real database: what an account's data export holds, and what
deleting an account removes, keeps and leaves nameless."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import JSON, String, Text, select

from flows import notify
from flows.buttons import Confirm, DeleteAccount
from flows.io import Ctx, Incoming, Reply
from flows.privacy import on_button
from flows.review import notify_current_tier, notify_decision
from registry import workflow
from registry.accounts import (
    ReviewArea,
    ensure_account,
    link_account,
)
from registry.exports import changed_rows
from registry.history import household_history
from registry.households import household_by_kk
from registry.nik import make_nik
from registry.privacy import AlreadyDeleted, delete_account, export_account_data
from storage import outbox
from storage.models import Account, Base, OutboxMessage, Report, ReportEvent, utcnow
from testkit.factories import SARI, VILLAGE
from tests.helpers.world import account, registry_world

RT, LURAH, OFFICER, RESIDENT, NEWCOMER = 1, 2, 3, 100, 101
NEW_AREA = ReviewArea(VILLAGE, 4, 1)
HOME = {"code": VILLAGE, "name": "Tiga-puluh-lima Ilir"}
PHONE = "+6281277771234"
LOCATION = {"latitude": -2.97412, "longitude": 104.74583}
RUDI_NIK = make_nik("16.71.01", date(1995, 3, 11), "M", 9311)
OWN_PHONE = "+6281234567890"
SARI_NIK = SARI.person("Sari Wulandari").nik
# The registry keeps the household (its KK, members, and the history of its changes).
REGISTRY_TABLES = {"households", "members", "registry_revisions"}


@pytest.fixture
async def world(session, tmp_path) -> None:
    await registry_world(
        session, tmp_path, rt={RT: [(SARI.rw, SARI.rt), (NEW_AREA.rw, NEW_AREA.rt)]},
        lurah=[LURAH], officers={OFFICER: "16.71"},
    )  # fmt: skip
    resident = await ensure_account(session, RESIDENT)
    resident.phone, resident.consented_at = OWN_PHONE, utcnow()
    await link_account(session, resident, SARI_NIK, SARI.kk)
    newcomer = await ensure_account(session, NEWCOMER)
    newcomer.consented_at = utcnow()
    await session.commit()


async def _new_household(session, reporter: Account, *, on_behalf: bool = False) -> Report:
    members = [
        {"m_name": "Rudi Hermawan", "m_nik": RUDI_NIK, "m_sex": "M", "m_birth": "1995-03-11",
         "m_relationship": "head"},
    ]  # fmt: skip
    report = await workflow.submit_report(
        session, kind="new_household", household=None, reporter=reporter, area=NEW_AREA,
        payload={"village": HOME, "rw": NEW_AREA.rw, "rt": NEW_AREA.rt,
                 "address": "Jl. Sungai Sahang Lr. Damai No. 7", "phone": PHONE,
                 "location": LOCATION, "members": members, "floor": "wood", "wall": "wood",
                 "roof": "metal"},
    )  # fmt: skip
    report.filed_on_behalf = on_behalf
    await session.flush()
    return report


async def test_deleting_drops_the_contact_the_reporter_gave_and_keeps_the_rest(
    world, session
) -> None:
    newcomer = await account(session, NEWCOMER)
    report = await _new_household(session, newcomer)
    await session.commit()
    report_id = report.id
    version = await session.scalar(select(Report.version).where(Report.id == report_id))

    deletion = await delete_account(session, newcomer)
    await session.commit()
    session.expire_all()

    assert deletion.reports == 1
    stored = await session.get(Report, report_id)
    assert stored.reporter_account_id is None
    assert "phone" not in stored.payload and "location" not in stored.payload
    assert stored.payload["members"][0]["m_nik"] == RUDI_NIK  # the registry's part stays
    assert stored.payload["address"] == "Jl. Sungai Sahang Lr. Damai No. 7"
    assert stored.version == version  # the reviewers' buttons stay valid
    # Its events no longer name the reporter; the RT head can still decide it.
    assert {e.actor_account_id for e in stored.events} == {None}
    rt = await account(session, RT)
    decision = await workflow.decide(session, stored, rt, approve=True, expected_version=version)
    assert decision.to_state == workflow.AWAITING_KELURAHAN


async def test_a_report_filed_for_someone_else_keeps_their_contact(world, session) -> None:
    rt = await account(session, RT)
    report = await _new_household(session, rt, on_behalf=True)
    report_id = report.id
    await session.commit()

    await delete_account(session, rt)
    await session.commit()
    with pytest.raises(AlreadyDeleted):  # a second confirmation deletes nothing more
        await delete_account(session, rt)
    await session.rollback()
    session.expire_all()
    stored = await session.get(Report, report_id)
    assert stored.reporter_account_id is None
    assert stored.payload["phone"] == PHONE and stored.payload["location"] == LOCATION


async def test_a_deleted_approver_has_no_telegram_id_in_the_exports(world, session) -> None:
    resident = await account(session, RESIDENT)
    household = await household_by_kk(session, SARI.kk)
    report = await workflow.submit_report(
        session, kind="housing", household=household, reporter=resident,
        payload={"aspects": ["roof"], "roof": "metal"},
    )  # fmt: skip
    for telegram_id in (RT, LURAH, OFFICER):
        await workflow.decide(session, report, await account(session, telegram_id), approve=True)
    officer = await account(session, OFFICER)
    officer_id = officer.id
    await session.commit()
    before = [row[-1] async for row in changed_rows(session, date.today())]
    assert before == [OFFICER]

    await delete_account(session, officer)
    await session.commit()
    session.expire_all()
    assert [row[-1] async for row in changed_rows(session, date.today())] == [None]
    history = await household_history(session, await household_by_kk(session, SARI.kk))
    assert [entry["approved_by"] for entry in history] == [None]
    # The decisions still point at the account row (a tombstone now).
    approvals = (
        (
            await session.execute(
                select(ReportEvent).where(ReportEvent.actor_account_id == officer_id)
            )
        )
        .scalars()
        .all()
    )
    assert [e.to_state for e in approvals] == [workflow.APPROVED, workflow.APPLIED]


async def test_the_export_names_reviewers_by_tier_and_lists_a_reviewers_decisions(
    world, session
) -> None:
    resident = await account(session, RESIDENT)
    household = await household_by_kk(session, SARI.kk)
    report = await workflow.submit_report(
        session, kind="housing", household=household, reporter=resident,
        payload={"aspects": ["roof"], "roof": "metal"},
    )  # fmt: skip
    rt = await account(session, RT)
    await workflow.decide(session, report, rt, approve=True)
    await workflow.decide(
        session, report, await account(session, LURAH), approve=False, reason_code="not_true",
        note="Atapnya masih genteng",
    )  # fmt: skip

    mine = await export_account_data(session, resident)
    json.dumps(mine)  # JSON-ready as it is
    assert [e["by"] for e in mine["reports"][0]["events"]] == [
        "you", "system", "reviewer:rt", "reviewer:kelurahan",
    ]  # fmt: skip
    assert mine["reports"][0]["events"][-1]["note"] == "Atapnya masih genteng"
    assert mine["account"]["household"]["kk"] == SARI.kk
    assert mine["account"]["phone"] == "+6281234567890"
    # Nothing names a reviewer: the events carry no account ids.
    fields = {"at", "by", "from_state", "to_state", "reason_code", "note"}
    assert all(set(e) == fields for e in mine["reports"][0]["events"])
    assert mine["account"]["roles"] == [] and mine["decisions_as_reviewer"] == []

    theirs = await export_account_data(session, rt)
    assert theirs["reports"] == [] and theirs["account"]["household"] is None
    assert [r["role"] for r in theirs["account"]["roles"]] == ["rt", "rt"]
    assert [(d["report"], d["to_state"]) for d in theirs["decisions_as_reviewer"]] == [
        (report.number, workflow.AWAITING_KELURAHAN)
    ]
    assert [e["action"] for e in theirs["audit_log"]] == ["report.decide"]


def test_a_reply_carrying_a_file_is_never_queued() -> None:
    reply = Reply(chat_id=1, text="data", file_name="a.json", file_data=b"{}")
    with pytest.raises(ValueError, match="sent directly, not through the outbox"):
        reply.to_message()
    assert Reply(chat_id=1, text="data").to_message() == {"text": "data"}


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
    sari = await account(session, RESIDENT)
    sari.first_name = "Sariwul"
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
                 "phone": PHONE, "location": LOCATION,
                 "members": [{"m_name": "Rudi Hermawan", "m_nik": "1671011103959311",
                              "m_sex": "M", "m_birth": "1995-03-11",
                              "m_relationship": "head"}],
                 "floor": "wood", "wall": "wood", "roof": "metal"},
    )  # fmt: skip
    missing_id, number = missing.id, missing.number
    needles = [PHONE, PHONE.removeprefix("+"), OWN_PHONE, SARI_NIK, SARI.kk, "Sari Wulandari", "Sariwul",
               str(LOCATION["latitude"]), str(LOCATION["longitude"])]  # fmt: skip
    before = await _found(session, needles)
    assert any(hit.startswith("outbox.message") and SARI.kk in hit for hit in before)
    assert any(hit.startswith("outbox.message") and PHONE in hit for hit in before)

    sari = await account(session, RESIDENT)
    ctx = Ctx(session, Incoming(RESIDENT, RESIDENT, callback="x", message_id=1), sari)
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
