"""After the head of a family died, the family has one head: the bot names the living
one (not the deceased, who keeps his place on the KK as history)."""

from __future__ import annotations

from datetime import date

from registry.households import household_by_kk
from storage.models import Member
from testkit.factories import SARI
from tests.helpers.chat import LURAH_ID, OFFICER_ID, RT_ID, ago, link, linked_sari, reviewer


async def test_linking_after_the_heads_death_names_the_living_head(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    lurah = await reviewer(fake_api, LURAH_ID, "Bu Lurah")
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas")
    await sari.send_text("/lapor")
    await sari.press("Death", await sari.expect("What do you want to report?"))
    await sari.press("Budi Santoso", await sari.expect("Who has died"))
    await sari.press("Sari Wulandari", await sari.expect("Who is the head of the family now"))
    await sari.expect("On which date did they die")
    await sari.send_text(ago(3).strftime("%d/%m/%Y"))
    await sari.expect("Where did they die")
    await sari.send_text("di rumah")
    await sari.press("Skip »", await sari.expect("death letter"))
    await sari.press("✅ Submit", await sari.expect("check your report"))
    await sari.expect("tracking number")
    await rt.press("✅ Confirm", await rt.expect("Is this true?"))
    await lurah.press("✅ Verify", await lurah.expect("Is this true?"))
    await officer.press("✅ Approve", await officer.expect("Is this true?"))
    await sari.expect("approved")

    dewi = fake_api.user(1003, "Dewi", language_code="en")
    await link(dewi, language_button="🇬🇧 English", nik=SARI.person("Dewi Lestari").nik, kk=SARI.kk)
    linked = await dewi.expect("is linked to household")
    assert "(Sari Wulandari)" in linked.plain_text and "Budi" not in linked.plain_text


async def test_a_child_or_a_baby_is_never_offered_as_the_new_head(
    running_bot, fake_api, tmp_path
) -> None:
    """Dewi is 12: she cannot head a KK (a head holds a KTP: 17, or married). Neither can
    the baby. Sari, the wife, can; so can the grown-up son, and the head's change form
    offers the same people."""
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    async with running_bot.session() as session:
        household = await household_by_kk(session, SARI.kk)
        for name, born in (("BAYU", ago(30)), ("ANDI SANTOSO", date(2004, 5, 1))):
            session.add(
                Member(household_id=household.id, name=name, sex="M", birth_date=born,
                       relationship="child", status="alive", details={})
            )  # fmt: skip
        await session.commit()
    await sari.send_text("/lapor")
    await sari.press("Death", await sari.expect("What do you want to report?"))
    await sari.press("Budi Santoso", await sari.expect("Who has died"))
    question = await sari.expect("Who is the head of the family now")
    assert question.buttons()[:2] == ["Sari Wulandari", "ANDI SANTOSO"]
    assert not {"Dewi Lestari", "BAYU"} & set(question.buttons())
    await sari.send_text("/batal")
    await sari.send_text("/lapor")
    await sari.press("Change of the head of the family", await sari.expect("What do you want"))
    question = await sari.expect("Who is the new head of the family")
    assert question.buttons()[:2] == ["Sari Wulandari", "ANDI SANTOSO"]
    assert not {"Dewi Lestari", "BAYU"} & set(question.buttons())
