"""Consent before anything is stored, and linking by NIK + KK, attacked through the real bot.

A stranger who has not agreed to the consent text leaves nothing in the database,
whatever they send or press; declining stores nothing either. Only one's own contact is
taken. Five wrong NIK + KK pairs within an hour lock linking for the rest of that hour,
even with the right pair.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select, update

from locales import WIB, _, format_time, use_locale
from registry.accounts import LinkLocked, account_by_telegram_id, link_account
from storage.models import Account, AuditEntry, Draft, LinkAttempt, OutboxMessage, utcnow
from testkit.factories import HARTONO, SARI
from tests.helpers.chat import RT_ID, agree, seed

STRANGER_ID = 1500
WRONG_PAIRS = [
    (SARI.people[0].nik, HARTONO.kk),
    (SARI.people[1].nik, HARTONO.kk),
    (SARI.people[2].nik, HARTONO.kk),
    (HARTONO.people[0].nik, SARI.kk),
    (HARTONO.people[1].nik, SARI.kk),
]
RIGHT_PAIR = (SARI.person("Sari Wulandari").nik, SARI.kk)


async def count(running, model, *where) -> int:
    async with running.session() as session:
        stmt = select(func.count()).select_from(model)
        for condition in where:
            stmt = stmt.where(condition)
        return (await session.execute(stmt)).scalar_one()


async def stored_rows(running) -> dict[str, int]:
    return {
        "accounts": await count(running, Account),
        "drafts": await count(running, Draft),
        "audit_log": await count(running, AuditEntry),
        "link_attempts": await count(running, LinkAttempt),
    }


async def test_a_stranger_leaves_nothing_before_agreeing(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)  # reviewers granted from the command line
    before = await stored_rows(running_bot)
    stranger = fake_api.user(STRANGER_ID, "Orang Asing", language_code="en")

    await stranger.send_text("/start")
    consent = await stranger.expect("/datasaya")
    text = consent.plain_text
    for fragment in (
        "Telegram account", "phone number", "NIK and KK", "reports and photos",
        "aid reaches the right families", "RT head", "lurah/kepala desa",
        "Dinas Sosial/BPS officers", "Data controller: Dinas Sosial", "/hapusakun",
        "without your identity", "Nothing is stored until you agree",
    ):  # fmt: skip
        assert fragment in text
    assert consent.buttons() == ["✅ I agree", "✖️ I do not agree", "🇮🇩 Bahasa Indonesia"]

    # Whatever they send or press, the consent text comes back and nothing is stored.
    for command in ("/lapor", "/status", "/lanjut", "/bahasa", "/antrian", "/umumkan",
                    "/datasaya", "/hapusakun", "/batal", "halo, saya mau lapor"):  # fmt: skip
        await stranger.send_text(command)
        again = await stranger.expect("/datasaya")
        assert again.buttons() == consent.buttons()
    # An invitation link's code rides on the buttons until the person agrees; anything
    # that is not a code is not carried.
    code = "Ab3_-" + "x" * 19
    await stranger.send_text(f"/start {code}")
    invited = await stranger.expect("/datasaya")
    assert invited.button("✅ I agree")["callback_data"] == f"cs:en:y:{code}"
    for not_a_code in ("x" * 25, "../etc", "<b>"):
        await stranger.send_text(f"/start {not_a_code}")
        shown = await stranger.expect("/datasaya")
        assert shown.button("✅ I agree")["callback_data"] == "cs:en:y"
    await stranger.send_contact("+6281234567890")
    await stranger.expect("/datasaya")
    await stranger.send_photo()
    await stranger.expect("/datasaya")
    await stranger.send_location(-2.99, 104.75)
    await stranger.expect("/datasaya")
    for forged in ("lapor:birth", "lang:en", "rv:1:y", "f:1:v:0", "cs:xx:y", "cs:en:y:a/b"):
        query = await stranger.press_data(forged, consent)
        answer = await stranger.wait_callback_answer(query)
        assert answer.get("text") in (
            "Please read the text below first.",
            "This button has expired.",
        )
    # The language button shows the same text in Indonesian, storing nothing either.
    await stranger.press("🇮🇩 Bahasa Indonesia", consent)
    shown = await stranger.expect_edit(message=consent)
    assert "🇬🇧 English" in shown.buttons() and "/datasaya" in shown.plain_text

    assert await stored_rows(running_bot) == before
    async with running_bot.session() as session:
        assert await account_by_telegram_id(session, STRANGER_ID) is None
    assert await count(running_bot, OutboxMessage, OutboxMessage.chat_id == STRANGER_ID) == 0


async def test_declining_stores_nothing_and_start_asks_again(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    before = await stored_rows(running_bot)
    stranger = fake_api.user(STRANGER_ID, "Orang Asing", language_code="en")
    await stranger.send_text("/start")
    consent = await stranger.expect("/datasaya")
    await stranger.press("✖️ I do not agree", consent)
    declined = await stranger.expect_edit(message=consent)
    assert "nothing about you was stored" in declined.plain_text
    assert declined.buttons() == []
    assert await stored_rows(running_bot) == before

    await stranger.send_text("/start")
    await stranger.expect("Nothing is stored until you agree")
    assert await stored_rows(running_bot) == before


async def test_a_reviewer_granted_from_the_command_line_agrees_before_deciding(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    await rt.send_text("/antrian")
    consent = await rt.expect("/datasaya")
    await rt.press("✖️ I do not agree", consent)
    await rt.expect_edit(message=consent)
    async with running_bot.session() as session:
        account = await account_by_telegram_id(session, RT_ID)
        assert account is not None and account.consented_at is None and account.roles
    await rt.send_text("/antrian")
    await agree(rt, expect="You review reports as")
    async with running_bot.session() as session:
        account = await account_by_telegram_id(session, RT_ID)
        assert account.consented_at is not None and account.locale == "en"
        entries = (
            (await session.execute(select(AuditEntry).where(AuditEntry.action == "consent")))
            .scalars()
            .all()
        )
        assert [e.actor_account_id for e in entries] == [account.id]
    await rt.send_text("/antrian")
    await rt.expect("Nothing is waiting for you")


async def test_agreeing_stores_the_account_in_the_shown_language(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    person = fake_api.user(STRANGER_ID, "Orang Asing", language_code="en")
    await person.send_text("/lapor")  # what was asked is not done: the consent comes first
    consent = await person.expect("/datasaya")
    await person.press("🇮🇩 Bahasa Indonesia", consent)
    await person.expect_edit(message=consent)
    with use_locale("id"):
        agree_label, expired = _("✅ I agree"), _("This button has expired.")
    await person.press(agree_label, consent)
    await person.expect_edit(message=consent)
    contact_prompt = await person.next_message()
    assert contact_prompt.reply_buttons()[0]["request_contact"] is True
    async with running_bot.session() as session:
        account = await account_by_telegram_id(session, STRANGER_ID)
        assert account is not None
        assert (account.locale, account.first_name) == ("id", "Orang Asing")
        assert account.consented_at is not None and account.phone is None
        draft = (await session.execute(select(Draft))).scalar_one()
        assert (draft.flow, draft.step) == ("link", "contact")
    # A second tap on "I agree" changes nothing.
    await person.press(agree_label, consent, stale=True)
    assert (await person.wait_callback_answer())["text"] == expired
    assert await count(running_bot, AuditEntry, AuditEntry.action == "consent") == 1


async def test_a_double_tap_on_i_agree_agrees_once(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    person = fake_api.user(STRANGER_ID, "Orang Asing", language_code="en")
    await person.send_text("/start")
    consent = await person.expect("/datasaya")
    # Both taps reach the bot before the message is edited.
    taps = [await person.press("✅ I agree", consent) for _ in range(2)]
    answers = sorted([(await person.wait_callback_answer(q))["text"] for q in taps])
    assert answers == ["Thank you!", "This button has expired."]
    await person.expect("Share my contact")
    await person.expect_no_message()
    assert await count(running_bot, Account, Account.telegram_id == STRANGER_ID) == 1
    assert await count(running_bot, AuditEntry, AuditEntry.action == "consent") == 1


async def _agree_and_share_contact(fake_api):
    person = fake_api.user(STRANGER_ID, "Orang Asing", language_code="en")
    await person.send_text("/start")
    await agree(person)
    await person.expect("Share my contact")
    await person.send_contact("+6281234567890")
    await person.expect("Send your NIK")
    return person


async def test_someone_elses_contact_is_refused(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    person = fake_api.user(STRANGER_ID, "Orang Asing", language_code="en")
    await person.send_text("/start")
    await agree(person)
    await person.expect("Share my contact")
    await person.send_contact("+6281298765432", user_id=4242)  # a friend's contact
    await person.expect("your own contact")
    await person.send_contact("+6281298765432", user_id=None)  # typed in, no Telegram user
    await person.expect("your own contact")
    async with running_bot.session() as session:
        account = await account_by_telegram_id(session, STRANGER_ID)
        assert account.phone is None
        draft = (await session.execute(select(Draft))).scalar_one()
        assert draft.step == "contact"


async def _try(person, nik: str, kk: str) -> str:
    await person.send_text(nik)
    await person.expect("Kartu Keluarga (KK)")
    await person.send_text(kk)
    return (await person.next_message()).plain_text


async def test_five_wrong_pairs_lock_linking_for_the_hour(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    person = await _agree_and_share_contact(fake_api)
    for nik, kk in WRONG_PAIRS[:4]:
        answer = await _try(person, nik, kk)
        assert "NIK and KK do not match" in answer and "Send your NIK" in answer
    # Each failure was saved, although the form refused the answer.
    assert await count(running_bot, LinkAttempt) == 4
    locked = await _try(person, *WRONG_PAIRS[4])
    async with running_bot.session() as session:
        times = (await session.execute(select(LinkAttempt.created_at))).scalars().all()
        account = await account_by_telegram_id(session, STRANGER_ID)
    assert len(times) == 5
    until = min(times) + timedelta(hours=1)
    with use_locale("en"):
        shown = format_time(until.replace(tzinfo=UTC).astimezone(WIB))
    assert f"locked until {shown} WIB" in locked
    assert "/lapor" in locked  # a missing household can still be reported
    assert "Send your NIK" not in locked  # the form ended: no point asking within the hour

    # The right pair as the sixth try: refused, in the chat and in the registry.
    await person.send_text("/start")
    assert f"locked until {shown} WIB" in (await person.next_message()).plain_text
    async with running_bot.session() as session:
        account = await account_by_telegram_id(session, STRANGER_ID)
        with pytest.raises(LinkLocked), use_locale("en"):
            await link_account(session, account, *RIGHT_PAIR)
        await session.rollback()
    async with running_bot.session() as session:
        account = await account_by_telegram_id(session, STRANGER_ID)
        assert account.household_id is None and account.member_id is None
    assert await count(running_bot, LinkAttempt) == 5  # refusals while locked are not tries
    await person.send_text("/lapor")
    menu = await person.expect("What do you want to report?")
    assert menu.buttons() == ["Household missing from the registry"]

    # An hour after the first wrong try, linking works again.
    async with running_bot.session() as session:
        await session.execute(
            update(LinkAttempt).values(created_at=LinkAttempt.created_at - timedelta(minutes=61))
        )
        await session.commit()
    await person.send_text("/start")
    await person.expect("Share my contact")
    await person.send_contact("+6281234567890")
    await person.expect("Send your NIK")
    linked = await _try(person, *RIGHT_PAIR)
    assert "is linked to household KK 167101**********" in linked
    assert await count(running_bot, LinkAttempt) == 5  # success does not erase the history


async def test_the_lock_lasts_an_hour_from_the_oldest_of_the_five(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    person = await _agree_and_share_contact(fake_api)
    now = utcnow()
    async with running_bot.session() as session:
        account = await account_by_telegram_id(session, STRANGER_ID)
        for minutes in (90, 50, 40, 30, 20):  # the first is older than an hour: it has expired
            session.add(
                LinkAttempt(account_id=account.id, created_at=now - timedelta(minutes=minutes))
            )
        await session.commit()
    answer = await _try(person, *WRONG_PAIRS[0])  # the fifth within the hour
    until = now - timedelta(minutes=50) + timedelta(hours=1)
    with use_locale("en"):
        shown = format_time(until.replace(tzinfo=UTC).astimezone(WIB))
    assert f"locked until {shown} WIB (in 10 min)" in answer
