"""Checks that catch real mistakes, and dates as people say them (issue 17), through the
real aiogram stack and the fake Bot API: "Hari ini" / "Kemarin" buttons and typed
"kemarin" in Indonesian, a girl too young to be the mother never offered, a baby already
in the family refused, the same newborn reported twice linked as one, and the Dukcapil
document named after approval in the reporter's language."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from locales import local_today
from registry.households import household_by_kk
from storage.models import Account, Member, Report
from testkit.factories import SARI
from testkit.harness import RunningBot
from tests.helpers.walk import (
    LURAH_ID,
    OFFICER_ID,
    RT_ID,
    SARI_ID,
    Act,
    Walk,
    press,
    report_numbered,
    seed,
    text,
)

YESTERDAY = local_today() - timedelta(days=1)


async def _add_member(running, name: str, sex: str, born: date, relationship: str) -> None:
    async with running.session() as session:
        household = await household_by_kk(session, SARI.kk)
        session.add(
            Member(household_id=household.id, name=name, sex=sex, birth_date=born,
                   relationship=relationship, status="alive", details={})
        )  # fmt: skip
        await session.commit()


async def test_a_birth_in_indonesian_with_the_date_buttons_and_the_dukcapil_note(
    running, fake_api
) -> None:
    people = await seed(running, fake_api)
    # A girl of nine in the family: never offered as a mother (MOTHER_MIN_AGE, 10 years).
    await _add_member(
        running, "Rina Lestari", "F", local_today() - timedelta(days=9 * 366), "child"
    )
    async with running.session() as session:
        await session.execute(
            update(Account).where(Account.telegram_id == SARI_ID).values(locale="id")
        )
        await session.commit()
    sari = fake_api.user(SARI_ID, "Sari", language_code="id")
    walk = Walk(sari)
    await sari.send_text("/lapor")
    await sari.press("Kelahiran", await sari.expect("Apa yang ingin Anda laporkan?"))
    await walk.answer(Act("Siapa nama lengkap bayi?", text("nur  aini")))
    await walk.answer(Act("laki-laki atau perempuan", press("Perempuan")))
    when = await walk.prompt("Kapan bayi lahir?")
    assert {"Hari ini", "Kemarin"} <= set(when.buttons())
    assert "3 hari lalu" in when.plain_text  # how to write it, in the question
    await sari.send_text("kemarin dulu sekali")
    refused = await walk.prompt("tidak bisa saya baca")
    assert "21 Januari 2026" in refused.plain_text and "3 hari lalu" in refused.plain_text
    await sari.send_text("kemarin")  # typed, not pressed
    mother = await walk.prompt("Siapa ibunya?")
    assert "Sari Wulandari" in mother.buttons() and "Dewi Lestari" in mother.buttons()
    assert "Rina Lestari" not in mother.buttons()
    await sari.send_text("Rina Lestari")  # typed: not one of the buttons either
    await walk.prompt("Mohon pilih salah satu tombol")
    await sari.press("Sari Wulandari")
    await sari.press("Lewati »", await walk.prompt("akta kelahiran"))
    review = await sari.expect("periksa laporan Anda")
    assert "NUR AINI" in review.plain_text  # upper case, as on a KK
    await sari.press("✅ Kirim", review)
    sent = await sari.expect("Nomor pelacakan")
    number = next(w for w in sent.plain_text.split() if w.startswith("LW-")).rstrip(".")

    for reviewer_id, button in ((RT_ID, "✅ Confirm"), (LURAH_ID, "✅ Verify"),
                                (OFFICER_ID, "✅ Approve")):  # fmt: skip
        reviewer = people[reviewer_id]
        await reviewer.press(button, await reviewer.expect("Please decide"))
    note = await sari.expect("Langkah berikutnya")
    assert "akta kelahiran" in note.plain_text and "Disdukcapil" in note.plain_text
    assert number in note.plain_text and len(note.plain_text) <= 500
    async with running.session() as session:
        baby = (await session.execute(select(Member).where(Member.name == "NUR AINI"))).scalar_one()
        assert baby.birth_date == YESTERDAY


async def test_a_baby_already_in_the_family_is_not_filed_again(running, fake_api) -> None:
    people = await seed(running, fake_api)
    await _add_member(running, "PUTRI AYU", "F", YESTERDAY, "child")
    walk = Walk(people[SARI_ID])
    await walk.open("Birth")
    await walk.answer(Act("baby's full name", text("Putri Ayu Lestari")))
    await walk.answer(Act("boy or a girl", press("Girl")))
    await walk.answer(Act("When was the baby born", press("Yesterday")))
    await walk.answer(Act("Who is the mother", press("Sari Wulandari")))
    await walk.person.press("Skip »", await walk.prompt("birth certificate"))
    await walk.person.press("✅ Submit", await walk.person.expect("check your report"))
    refused = await walk.prompt("already a member of the family")
    assert "baby's full name" in refused.plain_text  # sent back to the name
    async with running.session() as session:
        assert (await session.execute(select(Report))).first() is None


async def test_the_same_newborn_reported_twice_is_linked_as_one(running, fake_api) -> None:
    """Sari reports the baby; the RT head reports it too for the family, typed in
    another case and spacing: the lurah's card of the second says it is the same change."""
    people = await seed(running, fake_api)
    numbers = []
    for answers in (("Putri Ayu", people[SARI_ID]), ("  putri   AYU ", people[RT_ID])):
        name, person = answers
        walk = Walk(person)
        if person is people[SARI_ID]:
            await walk.open("Birth")
        else:  # the RT head, for Sari's family (its KK typed)
            await person.send_text("/lapor")
            await person.press("📝 For a resident without a phone", await person.expect("report?"))
            await walk.prompt("KK number")
            await person.send_text(SARI.kk)
            await person.press("Birth", await person.expect("for this household?"))
        await walk.answer(Act("baby's full name", text(name)))
        await walk.answer(Act("boy or a girl", press("Girl")))
        await walk.answer(Act("When was the baby born", press("Today")))
        await walk.answer(Act("Who is the mother", press("Sari Wulandari")))
        await person.press("Skip »", await walk.prompt("birth certificate"))
        await person.expect("check your report")
        numbers.append(await walk.submit())
    lurah = people[LURAH_ID]
    card = await lurah.expect(numbers[1])
    assert f"Possibly the same change as {numbers[0]}" in card.plain_text
    second = await report_numbered(running, numbers[1])
    assert second.payload["name"] == "PUTRI AYU" and second.payload["birth_date"] == (
        local_today().isoformat()
    )


async def test_mother_min_age_is_a_setting(fake_api, database_url, tmp_path) -> None:
    """MOTHER_MIN_AGE=13: Dewi (12 years older than the baby) is not offered as the mother."""
    running = RunningBot(fake_api, database_url, mother_min_age=13)
    await running.start()
    try:
        running.tmp = tmp_path
        people = await seed(running, fake_api)
        walk = Walk(people[SARI_ID])
        await walk.open("Birth")
        await walk.answer(Act("baby's full name", text("Bayu")))
        await walk.answer(Act("boy or a girl", press("Boy")))
        await walk.answer(Act("When was the baby born", text("3 days ago")))
        mother = await walk.prompt("Who is the mother")
        assert "Sari Wulandari" in mother.buttons()
        assert "Dewi Lestari" not in mother.buttons()
    finally:
        await running.stop()
