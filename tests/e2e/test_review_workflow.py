"""Questions to the reporter, edits, withdrawal, rejection reasons and duplicates, end to end.

Reviewers' and reporters' news travel through the outbox; every message here comes
from the real bot over the fake Bot API.
"""

from __future__ import annotations

import contextlib

from sqlalchemy import select

from registry.accounts import link_account
from storage.models import Member, OutboxMessage, Report
from testkit.factories import SARI
from tests.helpers.chat import (
    BUDI_ID,
    LURAH_ID,
    OFFICER_ID,
    RT_ID,
    ago,
    ask_reporter,
    file_birth_en,
    linked_sari,
    reviewer,
)
from tests.helpers.processes import until


async def _report(running, number: str) -> Report:
    async with running.session() as session:
        report = (await session.execute(select(Report).where(Report.number == number))).scalar_one()
        return report


async def test_a_question_answered_returns_the_report_to_the_same_tier(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))

    await rt.press("❓ Ask the reporter", await rt.expect("Is this true?"))
    await rt.expect(f"What do you want to ask the reporter of {number}")
    await rt.send_text("Di rumah sakit <mana> bayi lahir?")
    await rt.expect("was sent to the reporter")
    question = await sari.expect("asks about report")
    assert "Di rumah sakit <mana> bayi lahir?" in question.plain_text  # escaped, shown as typed
    assert (await _report(running_bot, number)).state == "needs_info"

    await rt.send_text("/antrian")
    await rt.expect("Nothing is waiting for you")  # it waits for the reporter now

    await sari.press("✍️ Answer", question)
    await sari.expect(f"Your answer about report {number}")
    await sari.send_text("RS Muhammadiyah Palembang")
    await sari.expect("is back with the RT head")
    await rt.expect("The reporter answered")
    card = await rt.expect("Is this true?")
    assert "Di rumah sakit <mana> bayi lahir?" in card.plain_text
    assert "RS Muhammadiyah Palembang" in card.plain_text
    await rt.press("✅ Confirm", card)
    await sari.expect("confirmed by your RT head")
    report = await _report(running_bot, number)
    assert [e.to_state for e in report.events] == [
        "submitted", "awaiting_rt", "needs_info", "awaiting_rt", "awaiting_kelurahan",
    ]  # fmt: skip
    assert report.events[3].note == "RS Muhammadiyah Palembang"


async def test_the_reporter_edits_the_report_the_reviewer_asked_about(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratma", ago(4))

    await ask_reporter(rt, "Is the name spelt right?")
    question = await sari.expect("asks about report")
    await sari.press("✏️ Edit the report", question)
    review = await sari.expect("check your report")
    assert "RAKA PRATMA" in review.plain_text  # the filed answers
    await sari.press("✏️ Edit", review)
    await sari.press("Baby's name", await sari.expect("Which answer"))
    await sari.expect("baby's full name")
    await sari.send_text("Raka Pratama")
    await sari.press("✅ Submit", await sari.expect("check your report"))
    await sari.expect("is back with the RT head")
    card = await rt.expect("RAKA PRATAMA")
    assert "the reporter edited the report" in card.plain_text
    report = await _report(running_bot, number)
    assert report.state == "awaiting_rt" and report.payload["name"] == "RAKA PRATAMA"
    async with running_bot.session() as session:  # still one report
        assert len((await session.execute(select(Report))).scalars().all()) == 1


async def test_withdrawn_reports_leave_the_queue(running_bot, fake_api, tmp_path) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    card = await rt.expect("Is this true?")

    await sari.send_text(f"/status {number}")
    history = await sari.expect(number)
    await sari.press("↩️ Withdraw", history)
    await sari.press("↩️ Yes, withdraw it", await sari.expect("Nobody will review it any more"))
    await sari.expect_edit(contains=f"Report {number} was withdrawn.")
    await rt.press("✅ Confirm", card, stale=True)
    assert (await rt.wait_callback_answer())["text"] == "This report was already decided."
    await sari.send_text(f"/status {number}")
    history = await sari.expect("Withdrawn by the reporter")
    assert "↩️ Withdraw" not in history.buttons()


async def test_rejection_reason_code_reaches_the_reporter(running_bot, fake_api, tmp_path) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    await rt.press("❌ Reject", await rt.expect("Is this true?"))
    reasons = await rt.expect(f"Why do you reject report {number}?")
    assert reasons.buttons()[:5] == [
        "The reported change is not true", "Already reported", "Not in this area",
        "Not enough evidence", "Another reason",
    ]  # fmt: skip
    await rt.press("Another reason", reasons)
    await rt.expect("Explain the reason")
    await rt.press("Skip »")  # "another reason" needs words
    await rt.expect("Please write the reason.")
    await rt.send_text("Keluarga ini sudah pindah")
    await rt.expect("was rejected")
    told = await sari.expect("was rejected by the RT head")
    assert "Another reason: Keluarga ini sudah pindah" in told.plain_text
    report = await _report(running_bot, number)
    assert (report.events[-1].reason_code, report.events[-1].note) == (
        "other", "Keluarga ini sudah pindah",
    )  # fmt: skip


async def test_the_same_birth_reported_twice_enters_the_registry_once(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    budi = fake_api.user(BUDI_ID, "Budi", language_code="en")
    async with running_bot.session() as session:  # Budi, Sari's husband, is linked too
        from registry.accounts import record_consent

        account = await record_consent(session, BUDI_ID, locale="en", first_name="Budi")
        await link_account(session, account, SARI.people[0].nik, SARI.kk)
        await session.commit()
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    lurah = await reviewer(fake_api, LURAH_ID, "Bu Lurah")
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas")
    born = ago(6)
    first = await file_birth_en(sari, "Raka Pratama", born)
    first_card = await rt.expect("Is this true?")
    second = await file_birth_en(budi, "raka  pratama", born)
    second_card = await rt.expect(second)
    assert f"Possibly the same change as {first}" in second_card.plain_text

    await rt.press("✅ Confirm", first_card)
    await lurah.press("✅ Verify", await lurah.expect("Is this true?"))
    await officer.press("✅ Approve", await officer.expect("Is this true?"))
    await sari.expect("approved and is now in the registry")
    closed = await budi.expect(f"Report {second} was closed")
    assert f"the same change was entered in the registry through {first}" in closed.plain_text
    await rt.press("✅ Confirm", second_card, stale=True)
    assert (await rt.wait_callback_answer())["text"] == "This report was already decided."
    async with running_bot.session() as session:
        babies = (await session.execute(select(Member).where(Member.name.ilike("raka%")))).scalars()
        assert len(list(babies)) == 1
        report = (await session.execute(select(Report).where(Report.number == second))).scalar_one()
        assert (report.state, report.events[-1].reason_code) == ("rejected", "duplicate")

    # Every message to the reporters and reviewers went through the outbox and was sent
    # (the last ones, e.g. Sari's next step after the approval, may still be on their way
    # when Budi's notice arrived: wait until none is pending).
    async def statuses() -> list[str]:
        async with running_bot.session() as session:
            return (await session.execute(select(OutboxMessage.status))).scalars().all()

    async def none_pending() -> bool:
        return "pending" not in await statuses()

    with contextlib.suppress(TimeoutError):
        await until(none_pending, 10)
    found = await statuses()
    assert found and set(found) == {"sent"}
