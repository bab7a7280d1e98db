"""After the head of a family died, the family has one head: the bot names the living
one (not the deceased, who keeps his place on the KK as history)."""

from __future__ import annotations

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
