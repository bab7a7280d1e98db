"""Forged and altered button presses, and reviewers acting outside their area.

Callback data carries opaque ids only; who may read or decide a report is worked out
on the server from the presser's current roles. A Telegram client can send any
callback data (``Person.press_data``), so every forgery here is one a user could make.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from registry.accounts import account_by_telegram_id, grant_role
from storage.models import AuditEntry, Report, ReportEvent
from testkit.factories import HARTONO, VILLAGE
from tests.helpers.chat import (
    LURAH_ID,
    OFFICER_ID,
    RT_ID,
    ago,
    agree,
    ask_reporter,
    file_birth_en,
    linked_sari,
    reviewer,
)

RT_NEIGHBOUR_ID = 7010  # Ketua RT of Hartono's RT, the same RW and village as Sari
LURAH_FAR_ID = 7011  # kepala desa of Sukorejo, Kota Pagar Alam
OFFICER_FAR_ID = 7012  # an officer of Kota Pagar Alam (16.72)
OFFICER_KEC_FAR_ID = 7013  # an officer of another kecamatan of Palembang (16.71.02)
STRANGER_ID = 1099  # a resident of nowhere in particular
BABY = "RAKA FORGERY"  # typed as a KK writes it


async def _world(running, fake_api, tmp_path):
    sari = await linked_sari(running, fake_api, tmp_path)
    async with running.session() as session:
        await grant_role(session, RT_NEIGHBOUR_ID, "rt", VILLAGE, rw=HARTONO.rw, rt=HARTONO.rt)
        await grant_role(session, LURAH_FAR_ID, "lurah", "16.72.01.1001")
        await grant_role(session, OFFICER_FAR_ID, "officer", "16.72")
        await grant_role(session, OFFICER_KEC_FAR_ID, "officer", "16.71.02")
        await session.commit()
    people = {
        telegram_id: await reviewer(fake_api, telegram_id, name)
        for telegram_id, name in [
            (RT_ID, "Pak RT"), (LURAH_ID, "Bu Lurah"), (OFFICER_ID, "Petugas"),
            (RT_NEIGHBOUR_ID, "RT Tetangga"), (LURAH_FAR_ID, "Lurah Jauh"),
            (OFFICER_FAR_ID, "Petugas Jauh"), (OFFICER_KEC_FAR_ID, "Petugas Kecamatan Lain"),
        ]
    }  # fmt: skip
    stranger = fake_api.user(STRANGER_ID, "Orang Lain", language_code="en")
    await stranger.send_text("/start")
    await agree(stranger, expect="Share my contact")
    await stranger.send_text("/batal")
    await stranger.expect("Cancelled")
    return sari, people, stranger


async def _report(running, number: str) -> Report:
    async with running.session() as session:
        return (await session.execute(select(Report).where(Report.number == number))).scalar_one()


async def _refused(person, data: str) -> str:
    """Send forged callback data; the press is answered (the answer's text returned).
    That it sent nothing else is checked by :func:`_nothing_sent` after a batch."""
    query = await person.press_data(data)
    answer = await person.wait_callback_answer(query)
    return answer.get("text") or ""


async def _nothing_sent(*people) -> None:
    """None of ``people`` got a message since their last expected one: no forged press of
    the batch before (each already answered) made the bot write, within 0.3 s after the
    last of them. One quiet window per batch, not one per press: a message a press caused
    stays unread and fails this check however early it came."""
    await asyncio.gather(*(person.expect_no_message(within=0.3) for person in people))


@pytest.mark.slow
async def test_forged_decisions_outside_ones_tier_or_area_change_nothing(
    running_bot, fake_api, tmp_path
) -> None:
    sari, people, stranger = await _world(running_bot, fake_api, tmp_path)
    rt, lurah, officer = people[RT_ID], people[LURAH_ID], people[OFFICER_ID]
    number = await file_birth_en(sari, BABY, ago(3))
    rt_card = await rt.expect("Is this true?")
    report = await _report(running_bot, number)
    rid = report.id

    def decide(version: int, verdict: str = "y") -> str:
        return f"rv:{rid}:{version}:{verdict}"

    # At the RT tier: the neighbouring RT, the lurah and officers (not this tier), the far
    # ones, the reporter herself and a stranger all try every verdict.
    outsiders = [people[i] for i in (RT_NEIGHBOUR_ID, LURAH_FAR_ID, OFFICER_FAR_ID)]
    for person in [*outsiders, lurah, officer, sari, stranger]:
        for verdict in ("y", "n", "q"):
            notice = await _refused(person, decide(report.version, verdict))
            assert notice  # a reason, not silence
    await _nothing_sent(*outsiders, lurah, officer, sari, stranger)
    assert (await _report(running_bot, number)).state == "awaiting_rt"

    await rt.press("✅ Confirm", rt_card)
    lurah_card = await lurah.expect("Is this true?")
    version = (await _report(running_bot, number)).version
    # At the kelurahan tier: the RT head (no longer the current tier) and the far lurah.
    for person in (rt, people[LURAH_FAR_ID], people[OFFICER_KEC_FAR_ID], officer):
        await _refused(person, decide(version))
    await _nothing_sent(rt, people[LURAH_FAR_ID], people[OFFICER_KEC_FAR_ID], officer)
    assert (await _report(running_bot, number)).state == "awaiting_kelurahan"

    await lurah.press("✅ Verify", lurah_card)
    officer_card = await officer.expect("Is this true?")
    version = (await _report(running_bot, number)).version
    # At the officers' tier: an officer of another city and of another kecamatan.
    for person in (people[OFFICER_FAR_ID], people[OFFICER_KEC_FAR_ID], lurah):
        await _refused(person, decide(version))
    await _nothing_sent(people[OFFICER_FAR_ID], people[OFFICER_KEC_FAR_ID], lurah)
    assert (await _report(running_bot, number)).state == "awaiting_officer"
    await officer.press("✅ Approve", officer_card)
    await sari.expect("is now in the registry")

    async with running_bot.session() as session:
        actors = (
            await session.execute(
                select(ReportEvent.actor_account_id).where(ReportEvent.report_id == rid)
            )
        ).scalars()
        decided_by = {a for a in actors if a is not None}
        rightful = {
            (await account_by_telegram_id(session, t)).id
            for t in (sari.user_id, RT_ID, LURAH_ID, OFFICER_ID)
        }
        assert decided_by <= rightful
    # None of the forgers was shown the report.
    for person in [*outsiders, people[OFFICER_KEC_FAR_ID], stranger]:
        assert BABY not in person.transcript()


async def test_opening_another_areas_report_from_a_forged_queue_button_shows_nothing(
    running_bot, fake_api, tmp_path
) -> None:
    sari, people, stranger = await _world(running_bot, fake_api, tmp_path)
    number = await file_birth_en(sari, BABY, ago(3))
    await people[RT_ID].expect("Is this true?")
    rid = (await _report(running_bot, number)).id

    for telegram_id in (RT_NEIGHBOUR_ID, LURAH_ID, LURAH_FAR_ID, OFFICER_FAR_ID):
        await _refused(people[telegram_id], f"rq:{rid}")
    await _refused(stranger, f"rq:{rid}")
    forgers = (RT_NEIGHBOUR_ID, LURAH_ID, LURAH_FAR_ID, OFFICER_FAR_ID)
    await _nothing_sent(*(people[i] for i in forgers), stranger)
    for person in [*people.values(), stranger]:
        if person is not people[RT_ID]:
            assert BABY not in person.transcript()
    async with running_bot.session() as session:
        views = (
            await session.execute(
                select(AuditEntry).where(
                    AuditEntry.action == "report.view", AuditEntry.report_id == rid
                )
            )
        ).scalars()
        viewers = {v.actor_account_id for v in views}
    assert len(viewers) == 1  # only the RT head, whose card it was

    # The rightful RT head opens it from the queue.
    rt = people[RT_ID]
    await rt.send_text("/antrian")
    await rt.press(f"{number} · Birth", await rt.expect("Waiting for your decision"))
    assert BABY in (await rt.expect("Is this true?")).plain_text


@pytest.mark.slow
async def test_reporters_buttons_are_the_reporters_own(running_bot, fake_api, tmp_path) -> None:
    sari, people, stranger = await _world(running_bot, fake_api, tmp_path)
    number = await file_birth_en(sari, BABY, ago(3))
    rt = people[RT_ID]
    await ask_reporter(rt, "Which hospital?")
    await rt.expect("was sent to the reporter")
    await sari.expect("asks about report")
    rid = (await _report(running_bot, number)).id

    # Someone else (even the RT head of this report) cannot withdraw, answer or edit it.
    for person in (stranger, rt, people[OFFICER_ID]):
        for data in (f"wd:{rid}", f"ni:{rid}:a", f"ni:{rid}:e"):
            await _refused(person, data)
    await _nothing_sent(stranger, rt, people[OFFICER_ID])
    assert (await _report(running_bot, number)).state == "needs_info"
    assert "Which hospital?" not in stranger.transcript()


@pytest.mark.slow
async def test_malformed_callback_data_is_answered_and_harmless(
    running_bot, fake_api, tmp_path
) -> None:
    sari, people, stranger = await _world(running_bot, fake_api, tmp_path)
    rt = people[RT_ID]
    for data in (
        "rv", "rv:x:y:z", "rv:1:1", "rv:999999:1:y", "rv:1:1:approve", "rq:", "rq:-1",
        "rq:1;DROP TABLE reports", "wd:abc", "ni:1:z", "pr:1:y:extra", "lang:xx", "cs:zz:y",
        "f:999:next", "unknown:1", ":", "é" * 30,
    ):  # fmt: skip
        for person in (rt, stranger):
            await _refused(person, data)
    await _nothing_sent(rt, stranger)
    # The bot still serves both of them.
    await rt.send_text("/antrian")
    await rt.expect("Nothing is waiting for you")
    await sari.send_text("/status")
    await sari.expect("You have not sent any report yet")


async def test_numbers_no_button_carries_are_expired_never_a_failed_update(
    running_bot, fake_api, tmp_path
) -> None:
    """Ids too large for any row and digits of other scripts ("²".isdigit() is True) once
    crashed the update (OverflowError, ValueError): they are old or forged buttons."""
    sari, people, stranger = await _world(running_bot, fake_api, tmp_path)
    await file_birth_en(sari, BABY, ago(3))
    rt = people[RT_ID]
    await rt.expect("Is this true?")
    huge = "9" * 27
    for data in (
        f"rv:{huge}", f"rv:{huge}:1:y", f"rv:1:{huge}:n", "rv:2147483648:1:y", f"rq:{huge}",
        "rq:2147483648", f"wd:{huge}", f"wd:{huge}:y", f"ni:{huge}:a", f"pr:{huge}",
        f"pr:{huge}:y", f"del:{huge}:y", f"ob:{huge}:birth", "rq:²", "rq:٣", "wd:１",
    ):  # fmt: skip
        for person in (rt, people[OFFICER_ID], sari, stranger):
            assert await _refused(person, data) == "This button has expired."
    await _nothing_sent(rt, people[OFFICER_ID], sari, stranger)

    # A form's buttons, at the form's current revision: the form goes on as if unpressed.
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
    await sari.send_text("Raka Kedua")
    question = await sari.expect("boy or a girl")
    form = ":".join(question.button("Boy")["callback_data"].split(":")[1:3])  # draft:rev
    for data in (
        f"f:{form}:v:²", f"f:{form}:v:{huge}", f"f:{form}:v:٣", f"f:{huge}:1:x", f"f:{form}",
    ):  # fmt: skip
        assert await _refused(sari, data) == "This button has expired."
    await _nothing_sent(sari)
    await sari.press("Boy", question)
    await sari.expect("When was the baby born")
