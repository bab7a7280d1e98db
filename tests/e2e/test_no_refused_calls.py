"""The bot makes no Bot API call Telegram would refuse: pressing a button twice must not
edit its message to the text it already shows (Telegram answers 400 "message is not
modified"; the fake Bot API does the same and records it in ``rejected``)."""

from __future__ import annotations

from tests.helpers.chat import agree

PERSON_ID = 1700


async def _settled(person) -> None:
    """Every earlier update of the chat is done: they are handled one at a time, in order."""
    await person.send_text("/bahasa")
    await person.expect("Choose your language")


async def test_the_consent_language_button_twice_edits_once(running_bot, fake_api) -> None:
    person = fake_api.user(PERSON_ID, "Orang", language_code="id")
    await person.send_text("/start")
    consent = await person.expect("/datasaya")
    await person.press("🇬🇧 English", consent)
    await person.expect_edit("Nothing is stored until you agree", message=consent)
    await person.press("🇬🇧 English", consent, stale=True)  # a double tap
    await person.wait_callback_answer()
    await person.send_text("/start")  # before agreeing, anything shows the consent again
    await person.expect("/datasaya")
    assert fake_api.rejected == []
    assert consent.edited == 1
    # Back and forth still edits.
    await person.press("🇮🇩 Bahasa Indonesia", consent)
    await person.expect_edit("Tidak ada yang disimpan", message=consent)
    assert fake_api.rejected == []


async def test_keep_my_account_twice_edits_once(running_bot, fake_api) -> None:
    person = fake_api.user(PERSON_ID, "Orang", language_code="en")
    await person.send_text("/start")
    await agree(person, expect="Share my contact")
    await person.send_text("/batal")
    await person.send_text("/hapusakun")
    question = await person.expect("Delete your account?")
    await person.press("Keep my account", question)
    await person.expect_edit("Nothing was deleted", message=question)
    await person.press("Keep my account", question, stale=True)
    await person.wait_callback_answer()
    await _settled(person)
    assert fake_api.rejected == []
    assert question.edited == 1
