"""One birth report from resident to registry, through the real aiogram stack.

Scripted people talk to the bot over HTTP through the fake Bot API server; the
assertions are on what each of them receives and on the registry.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.households import household_by_kk
from storage.models import RegistryRevision, Report
from testkit.factories import SARI, VILLAGE
from tests.helpers.chat import LURAH_ID, OFFICER_ID, RT_ID, SARI_ID, ago, agree, seed


@pytest.mark.smoke
async def test_birth_report_travels_from_resident_to_registry(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code="en")
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    lurah = fake_api.user(LURAH_ID, "Bu Lurah", language_code="en")
    officer = fake_api.user(OFFICER_ID, "Petugas Dinsos", language_code="en")
    for reviewer in (rt, lurah, officer):  # roles granted from the command line
        await reviewer.send_text("/start")
        welcome = await agree(reviewer, expect="You review reports as")
        # The area by its name (the regions table), not its bare code.
        assert "Tiga-puluh-lima Ilir" in welcome.plain_text or "Palembang" in welcome.plain_text
        assert VILLAGE not in welcome.plain_text and "16.71" not in welcome.plain_text

    # 1. Consent in her Telegram language, then linking: own contact only, NIK + KK.
    await sari.send_text("/start")
    consent = await sari.expect("/datasaya")
    assert "Nothing is stored until you agree" in consent.plain_text
    assert consent.buttons() == ["✅ I agree", "✖️ I do not agree", "🇮🇩 Bahasa Indonesia"]
    await sari.press("✅ I agree", consent)
    assert "✅ You agreed." in (await sari.expect_edit(message=consent)).plain_text
    contact_prompt = await sari.expect("Share my contact")
    assert contact_prompt.reply_buttons()[0]["request_contact"] is True
    await sari.send_contact("+6281298765432", user_id=4242)  # someone else's contact
    await sari.expect("your own contact")
    await sari.send_contact("+6281234567890")
    await sari.expect("Send your NIK")
    await sari.send_text("1671019999990001")
    await sari.expect("birth day")
    await sari.send_text(SARI.person("Sari Wulandari").nik)
    await sari.expect("Kartu Keluarga (KK)")
    await sari.send_text(SARI.kk)
    linked = await sari.expect("is linked to household")
    assert "167101**********" in linked.plain_text
    assert SARI.kk not in linked.plain_text  # shown masked

    # 2. The birth form.
    await sari.send_text("/lapor")
    await sari.expect("What do you want to report?")
    await sari.press("Birth")
    await sari.expect("baby's full name")
    await sari.send_text("Putri <b>Ayu</b> & Co")  # echoed back escaped, or Telegram refuses it
    await sari.expect("boy or a girl")
    await sari.press("Girl")
    await sari.expect("When was the baby born")
    await sari.send_text("31/02/2026")
    await sari.expect("could not read that date")
    await sari.send_text((date.today() + timedelta(days=2)).strftime("%d/%m/%Y"))
    await sari.expect("is in the future")
    born = ago(3)
    await sari.send_text(born.strftime("%d/%m/%Y"))
    mother_prompt = await sari.expect("Who is the mother?")
    assert "Sari Wulandari" in mother_prompt.buttons()
    assert "Budi Santoso" not in mother_prompt.buttons()
    await sari.press("Sari Wulandari")
    await sari.expect("birth certificate")
    await sari.send_photo()
    review = await sari.expect("check your report")
    assert "PUTRI <B>AYU</B> & CO" in review.plain_text  # upper case, as on a KK
    assert "Girl" in review.plain_text and "Sari Wulandari" in review.plain_text
    assert f"{born:%B} {born.day}, {born.year}" in review.plain_text  # Babel, English
    await sari.press("✅ Submit")
    sent = await sari.expect("tracking number")
    report_number = f"LW-{date.today().year}-000001"
    assert report_number in sent.plain_text
    assert sum(1 for m in sari.user_messages) <= 30

    # 3. The RT head confirms.
    await rt.expect("A new report waits for your review")
    photo = await rt.next_message()  # the birth certificate
    assert photo.photo_file_id is not None and "LW-" in photo.plain_text
    card = await rt.expect("Is this true?")
    assert "PUTRI <B>AYU</B> & CO" in card.plain_text and "RT 3 / RW 2" in card.plain_text
    assert "Tiga-puluh-lima Ilir" in card.plain_text
    # The family by its head's name: a masked KK (167101**********) is the same for
    # every family of the kelurahan.
    assert "Household: Budi Santoso, KK 167101**********" in card.plain_text
    await rt.press("✅ Confirm", card)
    await sari.expect("confirmed by your RT head")
    assert "You confirmed this report" in card.plain_text  # the card was edited in place

    # 4. The lurah verifies, then the officer approves.
    await lurah.expect("A new report waits")
    await lurah.press("✅ Verify", await lurah.expect("Is this true?"))
    await sari.expect("verified by the kelurahan/desa")
    await officer.expect("A new report waits")
    officer_card = await officer.expect("Is this true?")
    # A double tap: both presses reach the bot before the card is edited.
    first = await officer.press("✅ Approve", officer_card)
    second = await officer.press("✅ Approve", officer_card)
    done = await sari.expect("approved and is now in the registry")
    assert "PUTRI <B>AYU</B> & CO is now a member of your household" in done.plain_text
    dukcapil = await sari.expect("Disdukcapil")  # what to arrange now, in one message
    assert "birth certificate (akta kelahiran)" in dukcapil.plain_text

    # 5. The registry: a new member and a revision naming report and approver.
    async with running_bot.session() as session:
        household = await household_by_kk(session, SARI.kk)
        baby = household.members[-1]
        assert (baby.name, baby.sex, baby.birth_date, baby.relationship, baby.nik) == (
            "PUTRI <B>AYU</B> & CO", "F", born, "child", None,
        )  # fmt: skip
        report = (await session.execute(select(Report))).scalar_one()
        assert report.state == "applied"
        assert [e.to_state for e in report.events] == [
            "submitted", "awaiting_rt", "awaiting_kelurahan", "awaiting_officer", "approved", "applied",
        ]  # fmt: skip
        revision = (await session.execute(select(RegistryRevision))).scalar_one()
        assert revision.report_id == report.id and revision.member_id == baby.id
        assert revision.before is None and revision.after["name"] == baby.name
        assert revision.approved_by_account_id == report.events[-1].actor_account_id

        assert len(household.members) == 4  # the double tap applied the birth once
    answers = {
        (await officer.wait_callback_answer(first)).get("text"),
        (await officer.wait_callback_answer(second)).get("text"),
    }
    assert answers == {
        "✅ You approved this report; it is now in the registry.",
        "This report was already decided.",
    }
    await sari.expect_no_message()
