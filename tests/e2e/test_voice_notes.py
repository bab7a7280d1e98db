"""Voice notes, end to end: where a resident is asked to explain (a dispute's reason, an
answer to a reviewer's question) a voice note is taken as the answer, filed with the
report and sent to the reviewers as it is (by its file id: nothing is transcribed);
elsewhere the bot says what it needs instead."""

from __future__ import annotations

from sqlalchemy import select

from fake_bot_api import make_voice
from storage.models import Report
from tests.helpers.chat import RT_ID, ago, ask_reporter, file_birth_en, linked_sari, reviewer


async def _report(running, number: str) -> Report:
    async with running.session() as session:
        return (await session.execute(select(Report).where(Report.number == number))).scalar_one()


async def test_a_voice_note_answers_the_reviewers_question_and_reaches_the_reviewer(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    await ask_reporter(rt, "Di rumah sakit mana bayi lahir?")
    question = await sari.expect("asks about report")

    await sari.press("✍️ Answer", question)
    prompt = await sari.expect(f"Your answer about report {number}")
    assert "voice message" in prompt.plain_text  # the resident learns they may speak
    recording = make_voice(7)
    await sari.send_voice(recording, duration=7)
    await sari.expect("is back with the RT head")

    await rt.expect("The reporter answered")
    voice = await rt.next_message()
    assert voice.kind == "voice", rt.transcript()
    assert f"Voice message of {number}" in voice.plain_text
    assert fake_api.file_content(voice.voice["file_id"]) == recording  # the note itself
    card = await rt.expect("Is this true?")
    assert "answer: 🎤 a voice message" in card.plain_text
    [sent] = fake_api.calls("sendVoice")
    assert sent["chat_id"] == str(RT_ID) or int(sent["chat_id"]) == RT_ID
    report = await _report(running_bot, number)
    assert [(a.field, a.kind) for a in report.attachments] == [("answer", "voice")]
    assert report.state == "awaiting_rt"


async def test_a_dispute_reason_can_be_a_voice_note_and_the_rt_head_hears_it(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    await sari.send_text("/lapor")
    await sari.press("Dispute", await sari.expect("What do you want to report?"))
    await sari.press(
        "Our desil or classification is wrong", await sari.expect("What do you dispute")
    )
    reason = await sari.expect("Why?")
    assert "voice message" in reason.plain_text

    await sari.send_photo()  # a photo is not an answer to "why?"
    await sari.expect("I will ask for photos at the end")
    await sari.send_voice(duration=12)
    review_or_evidence = await sari.expect("evidence")
    await sari.press("Skip »", review_or_evidence)
    review = await sari.expect("check your report")
    assert "Reason: 🎤 a voice message" in review.plain_text
    await sari.press("✅ Submit", review)
    sent = await sari.expect("tracking number")
    number = next(w for w in sent.plain_text.split() if w.startswith("LW-")).rstrip(".")

    await rt.expect("A new report waits")
    note = await rt.next_message()
    assert note.kind == "voice" and note.plain_text.endswith(": Reason"), rt.transcript()
    card = await rt.expect("Is this true?")
    assert "Reason: 🎤 a voice message" in card.plain_text
    report = await _report(running_bot, number)
    assert report.payload["reason"] == "🎤"
    assert [(a.field, a.kind) for a in report.attachments] == [("reason", "voice")]


async def test_a_voice_note_where_words_or_a_choice_are_needed_is_refused_kindly(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    prompt = await sari.expect("baby's full name")
    assert "voice message" not in prompt.plain_text
    await sari.send_voice()
    await sari.expect("Please answer with a text message")


async def test_deleting_the_account_deletes_the_reporters_voice_notes(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    await rt.press("❓ Ask the reporter", await rt.expect("Is this true?"))
    await rt.send_text("Di rumah sakit mana?")
    await sari.press("✍️ Answer", await sari.expect("asks about report"))
    await sari.expect("Your answer about report")
    await sari.send_voice()
    await sari.expect("is back with the RT head")
    assert [a.kind for a in (await _report(running_bot, number)).attachments] == ["voice"]

    await sari.send_text("/hapusakun")
    await sari.press("🗑 Yes, delete my account", await sari.expect("Delete your account?"))
    await sari.expect_edit(contains="was deleted")
    report = await _report(running_bot, number)
    assert report.attachments == [] and report.reporter_account_id is None


async def test_words_typed_later_replace_the_voice_note(running_bot, fake_api, tmp_path) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    await sari.send_text("/lapor")
    await sari.press("Dispute", await sari.expect("What do you want to report?"))
    await sari.press(
        "Our desil or classification is wrong", await sari.expect("What do you dispute")
    )
    await sari.expect("Why?")
    await sari.send_voice()
    await sari.press("Skip »", await sari.expect("evidence"))
    await sari.press("✏️ Edit", await sari.expect("Reason: 🎤 a voice message"))
    await sari.press("Reason", await sari.expect("Which answer do you want to change?"))
    await sari.expect("Why?")
    await sari.send_text("Rumah kami masih berdinding bambu.")
    review = await sari.expect("check your report")
    assert "Reason: Rumah kami masih berdinding bambu." in review.plain_text
    await sari.press("✅ Submit", review)
    sent = await sari.expect("tracking number")
    number = next(w for w in sent.plain_text.split() if w.startswith("LW-")).rstrip(".")
    report = await _report(running_bot, number)
    assert report.payload["reason"] == "Rumah kami masih berdinding bambu."
    assert report.attachments == []
