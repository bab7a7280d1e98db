"""Residents' rights (UU 27/2022) end to end: /datasaya sends a copy of everything stored,
/hapusakun deletes the account and keeps its reports without its identity."""

from __future__ import annotations

import json
from datetime import date, datetime

import aiohttp
from sqlalchemy import func, select

from bot.sandbox.app import Sandbox
from registry.accounts import account_by_telegram_id
from storage.models import (
    Account,
    AuditEntry,
    Draft,
    LinkAttempt,
    OutboxMessage,
    Report,
    ReportEvent,
    RoleGrant,
)
from testkit.factories import SARI
from tests.driver import driven
from tests.helpers.chat import (
    RT_ID,
    SARI_ID,
    ago,
    agree,
    ask_reporter,
    file_birth_en,
    link,
    linked_sari,
    reviewer,
    seed,
)

SARI_NIK = SARI.person("Sari Wulandari").nik
PHONE = "+6281234567890"  # what link() shares
LATER = datetime(2099, 1, 1)


async def _account(running, telegram_id: int) -> Account | None:
    async with running.session() as session:
        return await account_by_telegram_id(session, telegram_id)


async def _queue_for(running, chat_id: int, text: str, status: str = "pending") -> None:
    """A message waiting in the outbox (due far in the future, so it stays there)."""
    async with running.session() as session:
        session.add(
            OutboxMessage(
                chat_id=chat_id, message={"text": text}, purpose="status", status=status,
                next_attempt_at=LATER,
            )
        )  # fmt: skip
        await session.commit()


async def test_datasaya_sends_everything_stored_as_one_json_file(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    await ask_reporter(rt, "Di rumah sakit mana?")
    await sari.expect("asks about report")
    await sari.send_text("/lapor")  # an unfinished form
    await sari.press("Death", await sari.expect("What do you want to report?"))
    await sari.expect("Who has died?")
    await _queue_for(running_bot, SARI_ID, "A message still on its way")

    await sari.send_text("/datasaya")
    summary = await sari.expect("Your data in Lapor Warga")  # readable first, then the file
    assert f"{number} Birth: Waiting for more information from the reporter" in summary.plain_text
    assert "Unfinished form: Death" in summary.plain_text
    assert "Messages still on their way to you: 1" in summary.plain_text
    sent = await sari.expect("Everything Lapor Warga stores about you")
    assert sent.kind == "document"
    assert sent.document_file_name == f"lapor-warga-data-{date.today():%Y-%m-%d}.json"
    raw = fake_api.file_content(sent.document_file_id).decode()
    data = json.loads(raw)

    account = data["account"]
    assert account["telegram_id"] == SARI_ID and account["phone"] == PHONE
    assert account["language"] == "en" and account["consented_at"] and account["linked_at"]
    assert account["household"]["kk"] == SARI.kk  # their own data: in full
    assert account["member"]["nik"] == SARI_NIK and account["member"]["name"] == "Sari Wulandari"
    assert account["roles"] == []
    [report] = data["reports"]
    assert report["number"] == number and report["kind"] == "birth"
    assert report["state"] == "needs_info" and report["payload"]["name"] == "RAKA PRATAMA"
    assert [(e["by"], e["to_state"]) for e in report["events"]] == [
        ("you", "submitted"), ("system", "awaiting_rt"), ("reviewer:rt", "needs_info"),
    ]  # fmt: skip
    assert report["events"][2]["note"] == "Di rumah sakit mana?"
    assert data["open_form"]["form"] == "death"
    assert [m["text"] for m in data["pending_messages"]] == ["A message still on its way"]
    # Reviewers appear by their tier only.
    assert str(RT_ID) not in raw and "Pak RT" not in raw

    async with running_bot.session() as session:
        entries = (
            (await session.execute(select(AuditEntry).where(AuditEntry.action == "account.export")))
            .scalars()
            .all()
        )
        sari_account = await account_by_telegram_id(session, SARI_ID)
    assert [(e.actor_account_id, e.subject_account_id) for e in entries] == [
        (sari_account.id, sari_account.id)
    ]


async def test_hapusakun_deletes_the_account_and_keeps_its_reports_nameless(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    card = await rt.expect("Is this true?")
    before = await _account(running_bot, SARI_ID)
    async with running_bot.session() as session:
        session.add(LinkAttempt(account_id=before.id))
        await session.commit()
    await _queue_for(running_bot, SARI_ID, "Pending news")
    await _queue_for(running_bot, SARI_ID, "Old news", status="sent")
    await sari.send_text("/lapor")
    await sari.press("Death", await sari.expect("What do you want to report?"))
    await sari.expect("Who has died?")

    await sari.send_text("/hapusakun")
    question = await sari.expect("Delete your account?")
    assert "no longer name you" in question.plain_text
    assert "You are a reviewer" not in question.plain_text
    await sari.press("Keep my account", question)
    await sari.expect_edit("Nothing was deleted", message=question)
    assert (await _account(running_bot, SARI_ID)) is not None

    await sari.send_text("/hapusakun")
    question = await sari.expect("Delete your account?")
    await sari.press("🗑 Yes, delete my account", question)
    await sari.expect_edit("Your account was deleted", message=question)
    assert "/start" in question.plain_text

    async with running_bot.session() as session:
        tomb = await session.get(Account, before.id)
        assert tomb.telegram_id == -before.id and tomb.deleted_at is not None
        assert (tomb.first_name, tomb.phone, tomb.locale, tomb.member_id, tomb.household_id) == (
            None, None, None, None, None,
        )  # fmt: skip
        assert tomb.linked_at is None and tomb.consented_at is None
        for model, clause in [
            (Draft, Draft.account_id == before.id),
            (LinkAttempt, LinkAttempt.account_id == before.id),
            (OutboxMessage, OutboxMessage.chat_id == SARI_ID),
        ]:
            assert await session.scalar(select(func.count()).select_from(model).where(clause)) == 0
        report = (await session.execute(select(Report).where(Report.number == number))).scalar_one()
        assert report.reporter_account_id is None
        assert report.payload["name"] == "RAKA PRATAMA"  # the registry keeps the content
        assert [e.actor_account_id for e in report.events] == [None, None]
        [entry] = (
            (await session.execute(select(AuditEntry).where(AuditEntry.action == "account.delete")))
            .scalars()
            .all()
        )
        assert entry.subject_account_id == before.id and entry.details["reports"] == 1

    # The report goes on without its reporter; the card sent before still works.
    await rt.press("✅ Confirm", card)
    await rt.expect_edit("You confirmed this report", message=card)
    await sari.expect_no_message()

    # /start begins anew, with the consent text again.
    await sari.send_text("/start")
    await agree(sari, language="🇬🇧 English")
    await sari.expect("Share my contact")
    again = await _account(running_bot, SARI_ID)
    assert again is not None and again.id != before.id
    await sari.send_text("/status")
    await sari.expect("You have not sent any report yet.")
    # The old confirmation button cannot delete the new account.
    await sari.press("🗑 Yes, delete my account", question, stale=True)
    assert (await sari.wait_callback_answer())["text"] == "This button has expired."
    assert (await _account(running_bot, SARI_ID)).id == again.id


async def test_a_reviewer_who_deletes_the_account_loses_the_roles(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    await file_birth_en(sari, "Raka Pratama", ago(4))
    await rt.press("✅ Confirm", await rt.expect("Is this true?"))
    await sari.expect("confirmed by your RT head")
    rt_account = await _account(running_bot, RT_ID)

    await rt.send_text("/hapusakun")
    question = await rt.expect("Delete your account?")
    assert "You are a reviewer" in question.plain_text
    assert "RT head: 16.71.01.1001 RW 2 RT 3" in question.plain_text
    await rt.press("🗑 Yes, delete my account", question)
    await rt.expect_edit("Your account was deleted", message=question)

    async with running_bot.session() as session:
        grants = (
            (await session.execute(select(RoleGrant).where(RoleGrant.account_id == rt_account.id)))
            .scalars()
            .all()
        )
        assert grants and all(g.revoked_at is not None for g in grants)
        # Their decision still points at the (now empty) account row.
        decided = await session.scalar(
            select(func.count())
            .select_from(ReportEvent)
            .where(ReportEvent.actor_account_id == rt_account.id)
        )
        assert decided == 1

    # A new report of their RT no longer reaches them.
    await file_birth_en(sari, "Ayu Lestari", ago(2))
    await rt.expect_no_message(within=1.0)


async def test_the_sandbox_page_offers_the_file_for_download() -> None:
    sandbox = Sandbox(port=0, locale="en")
    await sandbox.start()
    try:
        resident = driven(sandbox.phones["resident"])
        await resident.send_text("/datasaya")
        await agree(resident)
        await resident.send_text("/datasaya")
        sent = await resident.expect("Everything Lapor Warga stores about you")
        async with aiohttp.ClientSession(sandbox.url) as http:
            async with http.get("/api/state") as response:
                messages = (await response.json())["phones"]["resident"]["messages"]
            shown = next(m for m in messages if m["id"] == sent.message_id)
            assert shown["document"]["name"] == sent.document_file_name
            async with http.get(shown["document"]["url"]) as response:
                assert response.content_type == "application/json"
                data = json.loads(await response.read())
        assert data["account"]["telegram_id"] == resident.user_id
    finally:
        await sandbox.stop()


async def test_a_question_left_by_a_deleted_reporter_returns_to_the_tier_that_asked(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    await ask_reporter(rt, "Which hospital?")
    await rt.expect("was sent to the reporter")
    await sari.expect("asks about report")

    await sari.send_text("/hapusakun")
    await sari.press("🗑 Yes, delete my account", await sari.expect("Delete your account?"))
    await sari.expect_edit("Your account was deleted")

    # Nobody can answer any more: the report is back with the RT head, who decides.
    await rt.expect("back unanswered")
    card = await rt.expect("Is this true?")
    assert "unanswered: the reporter deleted their account" in card.plain_text
    await rt.press("✅ Confirm", card)
    await rt.expect_edit("You confirmed this report", message=card)
    async with running_bot.session() as session:
        report = (await session.execute(select(Report).where(Report.number == number))).scalar_one()
        assert report.state == "awaiting_kelurahan"
        assert report.reporter_account_id is None
        assert [e.reason_code for e in report.events if e.from_state == "needs_info"] == [
            "reporter_gone"
        ]


async def test_datasaya_first_says_in_plain_indonesian_what_is_stored_nik_and_kk_masked(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code="id")
    await link(sari, nik=SARI_NIK, kk=SARI.kk)
    await sari.expect("terhubung")
    await sari.send_text("/lapor")
    await sari.press("Kematian", await sari.expect("Apa yang ingin Anda laporkan?"))
    await sari.expect("Siapa yang meninggal")

    start = len(sari.messages)
    await sari.send_text("/datasaya")
    summary = await sari.expect("Data Anda di Lapor Warga")
    text = summary.plain_text
    assert "Nama: Sari Wulandari" in text
    assert f"NIK: {SARI_NIK[:6]}**********" in text and SARI_NIK not in text
    assert f"Keluarga: KK {SARI.kk[:6]}**********" in text and SARI.kk not in text
    assert f"Nomor HP: {PHONE}" in text
    assert "Anda belum pernah mengirim laporan." in text
    assert "Formulir belum selesai: Kematian" in text
    sent = await sari.expect("Semua yang disimpan Lapor Warga")
    assert sent.kind == "document"  # the full copy, as before
    data = json.loads(fake_api.file_content(sent.document_file_id))
    assert data["account"]["member"]["nik"] == SARI_NIK
    shown = [m for m in sari.messages[start:] if m.kind == "text"]
    assert shown == [summary] and len(summary.plain_text) <= 500


async def test_datasaya_with_many_reports_stays_in_short_messages(
    running_bot, fake_api, tmp_path
) -> None:
    """Many reports: the summary is split into messages of at most 500 characters."""
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    for i in range(7):
        await file_birth_en(sari, f"Bayi Kembar Ke {i + 1}", ago(3), sex="Girl")
    start = len(sari.messages)
    await sari.send_text("/datasaya")
    await sari.expect("Everything Lapor Warga stores about you")
    texts = [m.plain_text or "" for m in sari.messages[start:] if m.kind == "text"]
    assert len(texts) >= 2, texts
    assert all(len(t) <= 500 for t in texts), [len(t) for t in texts]
    assert sum(t.count("• LW-") for t in texts) == 7
