"""NIK and KK numbers on the reviewers' cards: masked for RT heads and lurah, in full for
an officer deciding at the officer tier. Every card shown is a view in the audit log."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from flows.meeting import meeting_rows
from flows.review import card_for_reviewer, notify_current_tier
from registry import workflow
from registry.accounts import ReviewArea
from registry.households import household_by_kk
from registry.nik import make_nik, mask
from storage.models import AuditEntry, Report
from testkit.factories import HARTONO, SARI, VILLAGE
from tests.helpers.world import account, registry_world

RT, LURAH, OFFICER, OFFICER_FAR, REPORTER = 1, 2, 3, 4, 100
ANI_NIK = HARTONO.person("Ani Rahmawati").nik
NEW_AREA = ReviewArea(VILLAGE, 4, 1)
RUDI_NIK = make_nik("16.71.01", date(1995, 3, 11), "M", 9311)
NEW_KK = "1671012208250004"


@pytest.fixture
async def world(session, tmp_path) -> None:
    await registry_world(
        session, tmp_path, rt={RT: [(SARI.rw, SARI.rt), (NEW_AREA.rw, NEW_AREA.rt)]},
        lurah=[LURAH], officers={OFFICER: "16.71", OFFICER_FAR: "16.72"}, accounts=[REPORTER],
    )  # fmt: skip
    await session.commit()


async def _card(session, report: Report, telegram_id: int) -> str:
    replies = await card_for_reviewer(session, report, await account(session, telegram_id))
    return replies[-1].text


async def _move_in(session) -> Report:
    """Ani (registered in Hartono's household) moves into Sari's."""
    return await workflow.submit_report(
        session, kind="move_in", household=await household_by_kk(session, SARI.kk),
        reporter=await account(session, REPORTER),
        payload={"nik": ANI_NIK, "name": "Ani Rahmawati", "sex": "F", "birth_date": "1963-12-01",
                 "relationship": "parent_in_law", "origin": {"text": "Lahat"}},
    )  # fmt: skip


def _masked(text: str, *numbers: str) -> None:
    for number in numbers:
        assert number not in text
        assert mask(number) in text


def _full(text: str, *numbers: str) -> None:
    for number in numbers:
        assert number in text


async def test_rt_and_lurah_see_masked_numbers_the_officer_full_ones(world, session) -> None:
    report = await _move_in(session)
    rt_card = await _card(session, report, RT)
    _masked(rt_card, SARI.kk, HARTONO.kk, ANI_NIK)
    await workflow.decide(session, report, await account(session, RT), approve=True)

    _masked(await _card(session, report, LURAH), SARI.kk, HARTONO.kk, ANI_NIK)
    # An officer before the report reaches the officers: masked too.
    _masked(await _card(session, report, OFFICER), SARI.kk, ANI_NIK)
    await workflow.decide(session, report, await account(session, LURAH), approve=True)

    officer_card = await _card(session, report, OFFICER)
    _full(officer_card, SARI.kk, HARTONO.kk, ANI_NIK)  # household, known person, answer
    # An officer of another city has no grant for it: masked.
    _masked(await _card(session, report, OFFICER_FAR), SARI.kk, ANI_NIK)

    # The cards queued for the tier's reviewers follow the same rule.
    [_arrival, card] = await notify_current_tier(session, report)
    assert card.chat_id == OFFICER
    _full(card.text, SARI.kk, ANI_NIK)


async def test_the_members_of_a_new_household_on_the_cards(world, session) -> None:
    members = [
        {"m_name": "Rudi Hermawan", "m_nik": RUDI_NIK, "m_sex": "M", "m_birth": "1995-03-11",
         "m_relationship": "head"},
    ]  # fmt: skip
    report = await workflow.submit_report(
        session, kind="new_household", household=None, area=NEW_AREA,
        reporter=await account(session, REPORTER),
        payload={"village": {"code": VILLAGE, "name": "Tiga-puluh-lima Ilir"},
                 "rw": NEW_AREA.rw, "rt": NEW_AREA.rt, "address": "Jl. Damai No. 7",
                 "kk": NEW_KK, "members": members, "floor": "wood", "wall": "wood",
                 "roof": "metal"},
    )  # fmt: skip
    rt_card = await _card(session, report, RT)
    _masked(rt_card, NEW_KK, RUDI_NIK)
    assert "Rudi Hermawan" in rt_card
    for telegram_id in (RT, LURAH):
        await workflow.decide(session, report, await account(session, telegram_id), approve=True)
    _full(await _card(session, report, OFFICER), NEW_KK, RUDI_NIK)


async def test_every_card_shown_is_a_view_in_the_audit_log(world, session) -> None:
    report = await _move_in(session)
    await notify_current_tier(session, report)  # pushed to the RT head
    await card_for_reviewer(session, report, await account(session, RT))  # opened from /antrian
    for telegram_id in (RT, LURAH):
        await workflow.decide(session, report, await account(session, telegram_id), approve=True)
    await notify_current_tier(session, report)
    await session.flush()

    views = (
        (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "report.view").order_by(AuditEntry.id)
            )
        )
        .scalars()
        .all()
    )
    rt, officer = await account(session, RT), await account(session, OFFICER)
    assert [(v.actor_account_id, v.report_id, v.details) for v in views] == [
        (rt.id, report.id, {"state": "awaiting_rt", "full_ids": False}),
        (rt.id, report.id, {"state": "awaiting_rt", "full_ids": False}),
        (officer.id, report.id, {"state": "awaiting_officer", "full_ids": True}),
    ]


async def test_a_nik_typed_in_free_text_is_masked_on_every_card_and_the_meeting_list(
    world, session
) -> None:
    """A full NIK typed into an answer or a reply to a reviewer's question is masked like
    the logs mask it, also on the officer's card, which shows only the NIK and KK
    questions in full."""
    typed = "1671 0111 0395 9311"  # Rudi's NIK as people write it, in groups
    report = await workflow.submit_report(
        session, kind="new_household", household=None, area=NEW_AREA,
        reporter=await account(session, REPORTER),
        payload={"village": {"code": VILLAGE, "name": "Tiga-puluh-lima Ilir"},
                 "rw": NEW_AREA.rw, "rt": NEW_AREA.rt,
                 "address": f"Jl. Damai No. 7 (rumah Rudi, NIK {RUDI_NIK})", "kk": NEW_KK,
                 "members": [{"m_name": "Rudi Hermawan", "m_nik": RUDI_NIK, "m_sex": "M",
                              "m_birth": "1995-03-11", "m_relationship": "head"}],
                 "floor": "wood", "wall": "wood", "roof": "metal"},
    )  # fmt: skip
    assert typed.replace(" ", "") == RUDI_NIK
    rt = await account(session, RT)
    await workflow.ask_info(session, report, rt, "Siapa kepala keluarganya?")
    await workflow.answer_info(
        session, report, await account(session, REPORTER), answer=f"Rudi, NIK {typed}"
    )
    rt_card = await _card(session, report, RT)
    assert typed not in rt_card
    _masked(rt_card, RUDI_NIK)
    # The KK, the member's NIK, the address and the answer (the KK shares the prefix).
    assert rt_card.count(mask(RUDI_NIK)) == 4
    for telegram_id in (RT, LURAH):
        await workflow.decide(session, report, await account(session, telegram_id), approve=True)
    officer_card = await _card(session, report, OFFICER)
    _full(officer_card, NEW_KK)
    assert officer_card.count(RUDI_NIK) == 1  # the NIK question, by design
    assert officer_card.count(mask(RUDI_NIK)) == 2 and typed not in officer_card

    [row] = [row async for row in meeting_rows(session, VILLAGE)]
    summary = row[-1]
    assert RUDI_NIK not in summary and f"NIK {mask(RUDI_NIK)})" in summary
