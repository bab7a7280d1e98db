"""People of the chat (end-to-end) tests and the steps they share.

Everyone talks to the real bot through the fake Bot API; ``person`` is a
:class:`tests.driver.Phone` (``fake_api.user(...)``)."""

from __future__ import annotations

from datetime import date, timedelta

from locales import local_today
from registry.accounts import grant_role
from registry.households import import_households
from testkit.factories import FAMILIES, SARI, VILLAGE, registry_rows, write_csv

RT_ID, LURAH_ID, OFFICER_ID, SARI_ID = 7001, 7002, 7003, 1001
BUDI_ID = 1002


async def seed(running, tmp_path) -> None:
    """The synthetic families in the registry; the RT head of Sari's RT, the lurah and an
    officer of Kota Palembang granted from the command line."""
    async with running.session() as session:
        await import_households(session, write_csv(tmp_path / "reg.csv", registry_rows(FAMILIES)))
        await grant_role(session, RT_ID, "rt", VILLAGE, rw=2, rt=3)
        await grant_role(session, LURAH_ID, "lurah", VILLAGE)
        await grant_role(session, OFFICER_ID, "officer", "16.71")
        await session.commit()


async def agree(person, *, language: str | None = None, expect: str | None = None):
    """A newcomer's first step: the consent text (it came after whatever they sent first),
    then "✅ I agree" in whatever language it is shown. ``language``: a language button
    ("🇬🇧 English") pressed first if the text offers it. ``expect``: a fragment of the
    message that follows the agreement, returned."""
    consent = await person.expect("/datasaya")
    if language is not None and language in consent.buttons():
        await person.press(language, consent)
        await person.expect_edit(message=consent)
    await person.press(next(b for b in consent.buttons() if b.startswith("✅")), consent)
    await person.expect_edit(message=consent)
    return await person.expect(expect) if expect is not None else None


async def open_bot(person):
    """Someone granted a role from the command line opens the bot: /start, agree, welcome."""
    await person.send_text("/start")
    return await agree(person, expect="/antrian")


async def link(person, *, language_button: str | None = None, nik: str, kk: str) -> None:
    await person.send_text("/start")
    await agree(person, language=language_button)
    contact_prompt = await person.next_message()
    assert contact_prompt.reply_buttons()[0]["request_contact"] is True
    await person.send_contact("+6281234567890")
    await person.expect("NIK")
    await person.send_text(nik)
    await person.expect("KK")
    await person.send_text(kk)


def ago(days: int) -> date:
    return local_today() - timedelta(days=days)


async def reviewer(fake_api, telegram_id: int, name: str):
    """A reviewer granted from the command line who has opened the bot once, through the
    consent (so it writes to them in English)."""
    person = fake_api.user(telegram_id, name, language_code="en")
    await person.send_text("/start")
    await agree(person, expect="You review reports as")
    return person


async def linked_sari(running, fake_api, tmp_path):
    """``seed``, then Sari links her account to her household, in English."""
    await seed(running, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code="en")
    await link(sari, language_button="🇬🇧 English", nik=SARI.people[1].nik, kk=SARI.kk)
    await sari.expect("is linked to household")
    return sari


async def start_birth(person) -> None:
    """/lapor, Birth: the English birth form waits for the baby's name."""
    await person.send_text("/lapor")
    await person.press("Birth", await person.expect("What do you want to report?"))
    await person.expect("baby's full name")


async def file_birth_en(
    person, name: str, born, *, sex: str = "Boy", mother: str | None = "Sari Wulandari"
) -> str:
    """The English birth form, happy path, without a certificate; the tracking number.
    ``mother=None``: the first woman the form offers."""
    await start_birth(person)
    await person.send_text(name)
    await person.press(sex, await person.expect("boy or a girl"))
    await person.expect("When was the baby born")
    await person.send_text(born.strftime("%d/%m/%Y"))
    mothers = await person.expect("Who is the mother?")
    await person.press(mother or mothers.buttons()[0], mothers)
    await person.press("Skip »", await person.expect("birth certificate"))
    await person.press("✅ Submit", await person.expect("check your report"))
    sent = await person.expect("tracking number")
    return next(w for w in sent.plain_text.split() if w.startswith("LW-")).rstrip(".")


async def ask_reporter(reviewer, question: str) -> None:
    """The reviewer taps "Ask the reporter" on the newest card and sends ``question``."""
    await reviewer.press("❓ Ask the reporter", await reviewer.expect("Is this true?"))
    await reviewer.expect("What do you want to ask")
    await reviewer.send_text(question)
