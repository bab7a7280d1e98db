"""Oversized input and unexpected updates, through the real bot.

10,000 characters wherever text comes in, a document over ``MAX_UPLOAD_MB``, and kinds
of updates the bot has no use for: each gets a clear answer (or none), nothing crashes,
nothing that long is stored, and every message the bot sends is one Telegram accepts.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import select

from storage.models import Base
from tests.helpers.chat import OFFICER_ID, RT_ID, file_birth_en, linked_sari, reviewer

HUGE = "x" * 10_000
TOO_LONG = "That message is too long: at most 4,096 characters"
MB = 1024 * 1024


async def _nothing_huge_stored(running) -> None:
    """No cell of any table holds anything near 10,000 characters."""
    async with running.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for value in row:
                    assert len(str(value)) < 5_000, f"{table.name}: {str(value)[:80]}..."


def _no_failures(fake_api, caplog) -> None:
    assert fake_api.rejected == []  # Telegram would have accepted every message
    assert fake_api.internal_errors == []
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], [r.getMessage() for r in failures]


async def test_ten_thousand_characters_are_refused_everywhere(
    running_bot, fake_api, tmp_path, caplog
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)

    # Free text with no open form.
    await sari.send_text(HUGE)
    assert "Nothing was saved" in (await sari.expect(TOO_LONG)).plain_text
    await sari.send_text("y" * 3000)  # long but possible: not echoed back
    reply = await sari.expect("Lapor Warga: help")  # not a report's name: the help
    replies = [reply, await sari.next_message(), await sari.next_message()]
    assert all("yyy" not in r.plain_text for r in replies)

    # A command's argument.
    await sari.send_text("/status " + HUGE)
    await sari.expect(TOO_LONG)
    await sari.send_text("/status LW-" + "9" * 300)
    reply = await sari.expect("That is not a report number")
    assert "999" not in reply.plain_text.replace("LW-2026-000001", "")

    # A caption.
    await sari.send_photo(caption=HUGE)
    await sari.expect(TOO_LONG)

    # A form's text answer: the question's own limit, and the question again.
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
    await sari.send_text(HUGE)
    again = await sari.expect("That is too long: at most 100 characters")
    assert "baby's full name" in again.plain_text and "xxx" not in again.plain_text
    await sari.send_text("Putri " * 30)
    await sari.expect("That is too long: at most 100 characters")
    # A caption in the middle of a form is not an answer.
    await sari.send_photo(caption=HUGE)
    await sari.expect("Not yet: I will ask for photos at the end")
    await sari.send_text("Putri Ayu")
    await sari.expect("boy or a girl")

    await _nothing_huge_stored(running_bot)
    _no_failures(fake_api, caplog)


async def test_reject_reason_question_and_announcement_limits(
    running_bot, fake_api, tmp_path, caplog
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Bagus", date.today() - timedelta(days=5))
    card = await rt.expect("Is this true?")
    await rt.press("❌ Reject", card)
    await rt.press("Another reason", await rt.expect("Why do you reject"))
    await rt.expect("Explain the reason")
    await rt.send_text(HUGE)
    await rt.expect("at most 500 characters")
    await rt.send_text("r" * 501)
    await rt.expect("at most 500 characters")
    await rt.send_text("Sudah tercatat")
    await rt.expect(f"Report {number} was rejected")
    assert "Sudah tercatat" in (await sari.expect("was rejected")).plain_text

    # A reviewer's question and the reporter's answer.
    number = await file_birth_en(sari, "Bagus Dua", date.today() - timedelta(days=4))
    card = await rt.expect("Is this true?")
    await rt.press("❓ Ask the reporter", card)
    await rt.expect("What do you want to ask")
    await rt.send_text(HUGE)
    await rt.expect("at most 500 characters")
    await rt.send_text("q" * 501)
    await rt.expect("at most 500 characters")
    await rt.send_text("Kapan lahirnya?")
    await sari.press("✍️ Answer", await sari.expect("Kapan lahirnya?"))
    await sari.expect(f"Your answer about report {number}")
    await sari.send_text(HUGE)
    await sari.expect("at most 1000 characters")
    await sari.send_text("a" * 1001)
    await sari.expect("at most 1000 characters")
    await sari.send_text("Minggu lalu")
    await sari.expect("is back with")

    # An announcement: at most 3500 characters (its header and Telegram's 4096 on top).
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas")
    await officer.send_text("/umumkan " + HUGE)  # a command's argument
    await officer.expect(TOO_LONG)
    await officer.send_text("/umumkan")
    await officer.expect("Write the announcement")
    await officer.send_text(HUGE)
    await officer.expect("at most 3500 characters")
    await officer.send_text("😀" * 1751)  # 3502 as Telegram counts (UTF-16)
    await officer.expect("at most 3500 characters")
    await officer.send_text("u" * 3501)
    await officer.expect("at most 3500 characters")
    await officer.send_text("u" * 3500)  # the longest allowed, shown back for confirmation
    confirm = await officer.expect("Send it now?")
    assert "u" * 3500 in confirm.plain_text

    await _nothing_huge_stored(running_bot)
    _no_failures(fake_api, caplog)


async def test_files_over_the_upload_limit_are_refused(
    running_bot, fake_api, tmp_path, caplog
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
    await sari.send_text("Putri Ayu")
    await sari.press("Girl", await sari.expect("boy or a girl"))
    await sari.expect("When was the baby born")
    await sari.send_text((date.today() - timedelta(days=3)).strftime("%d/%m/%Y"))
    await sari.press("Sari Wulandari", await sari.expect("Who is the mother?"))
    await sari.expect("birth certificate")
    await sari.send_document(b"%PDF-1.4 " + b"0" * (11 * MB), "akta.pdf", "application/pdf")
    refused = await sari.expect("That file is too big (11 MB): at most 10 MB")
    assert "birth certificate" in refused.plain_text  # asked again
    await sari.send_document(b"%PDF-1.4 small", "akta.pdf", "application/pdf")
    await sari.expect("check your report")
    # More photos at the review screen join the evidence: the same limit.
    await sari.send_photo(b"\x89PNG" + b"0" * (12 * MB))
    refused = await sari.expect("That file is too big (12 MB)")
    assert "📎 1 document(s)\n" in refused.plain_text  # and no photo
    await sari.press("✅ Submit")
    await sari.expect("tracking number")
    _no_failures(fake_api, caplog)


def _group_chat() -> dict:
    return {"id": -400123, "type": "group", "title": "Warga RT 3 <b>&"}


async def test_unexpected_kinds_of_updates_are_ignored_safely(
    running_bot, fake_api, tmp_path, caplog
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    bot_user = fake_api.bot_user
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
    await sari.send_text("Putri Ayu")
    await sari.expect("boy or a girl")

    sticker = {
        "file_id": "CAACAgUAAxk-sticker", "file_unique_id": "AgADst", "type": "regular",
        "width": 512, "height": 512, "is_animated": False, "is_video": False,
    }  # fmt: skip
    await sari.send_raw_update({"message": sari.raw_message(sticker=sticker)})
    assert "boy or a girl" in (await sari.expect("Please choose one of the buttons")).plain_text
    await sari.press("Girl")
    await sari.expect("When was the baby born")
    voice = {"file_id": "AwACAgUAAxk-voice", "file_unique_id": "AgADvo", "duration": 3}
    await sari.send_raw_update({"message": sari.raw_message(voice=voice)})
    await sari.expect("Please answer with a text message")

    # Updates the bot has no use for: an edit, a message in a group, the person blocking
    # the bot, a channel post. Sent through Telegram (the bot asks only for messages and
    # button presses) and also fed to the dispatcher directly, as if they had come.
    edited = sari.raw_message(text="31/12/2025", edit_date=1)
    in_group = sari.raw_message(text="/lapor", chat=_group_chat())
    blocked = {
        "chat": sari.chat_dict(), "from": sari.user_dict(), "date": 1,
        "old_chat_member": {"status": "member", "user": bot_user},
        "new_chat_member": {"status": "kicked", "user": bot_user, "until_date": 0},
    }  # fmt: skip
    post = {
        "message_id": 9, "date": 1, "text": "<b>channel</b>",
        "chat": {"id": -100777, "type": "channel", "title": "Kanal"},
    }  # fmt: skip
    updates = [
        {"edited_message": edited},
        {"message": in_group},
        {"my_chat_member": blocked},
        {"channel_post": post},
    ]
    quiet = len(sari.messages)
    for update in updates:
        await sari.send_raw_update(update)
    for i, update in enumerate(updates):
        await running_bot.dp.feed_raw_update(running_bot.bot, {"update_id": 10**6 + i, **update})
    await sari.send_text("/lanjut")  # the bot is still serving, and the form is where it was
    await sari.expect("When was the baby born")
    assert len(sari.messages) == quiet + 1
    assert not [c for c in fake_api.calls("sendMessage") if str(c["chat_id"]).startswith("-")]

    await sari.send_text((date.today() - timedelta(days=3)).strftime("%d/%m/%Y"))
    await sari.press("Sari Wulandari", await sari.expect("Who is the mother?"))
    await sari.expect("birth certificate")
    video_note = {
        "file_id": "DQACAgUAAxk-video", "file_unique_id": "AgADvn", "length": 240, "duration": 2,
    }  # fmt: skip
    await sari.send_raw_update({"message": sari.raw_message(video_note=video_note)})
    assert "birth certificate" in (await sari.expect("Please send a photo")).plain_text
    _no_failures(fake_api, caplog)


async def test_a_card_longer_than_telegram_allows_is_split_not_lost(
    running_bot, fake_api, tmp_path, caplog
) -> None:
    """Each question and answer is within its limit, but three rounds of them make the
    reviewer's card longer than 4096 characters: it comes in parts, buttons on the last."""
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    number = await file_birth_en(sari, "Bagus", date.today() - timedelta(days=5))
    card = await rt.expect("Is this true?")
    for round_ in range(3):
        await rt.press("❓ Ask the reporter", card)
        await rt.expect("What do you want to ask")
        await rt.send_text(f"Q{round_} " + "q" * 495)
        await sari.press("✍️ Answer", await sari.expect("asks about report"))
        await sari.expect("Your answer about report")
        await sari.send_text(f"A{round_} <&> " + "a" * 990)
        await sari.expect("is back with")
        card = await rt.expect("Is this true?")
    first = rt.messages[-2]
    assert number in first.plain_text and not first.buttons()
    assert "A2 <&>" in card.plain_text and "✅ Confirm" in card.buttons()
    assert len(first.plain_text) + len(card.plain_text) > 4096
    await rt.press("✅ Confirm", card)
    await rt.expect("You confirmed this report")  # the long card again, as new messages
    await sari.expect("confirmed by your RT head")
    _no_failures(fake_api, caplog)


def test_splitting_keeps_every_line_and_valid_html() -> None:
    from fake_bot_api import parse_html
    from handlers.longtext import split_html, visible_length

    lines = [f"<b>{i}</b> · " + "&lt;é😀&amp;" * 40 for i in range(60)] + ["", "tail"]
    text = "\n".join(lines)
    parts = split_html(text)
    assert len(parts) > 1 and "\n".join(parts) == text
    for part in parts:
        plain, _entities = parse_html(part)
        assert visible_length(part) <= 4096 and len(plain.encode("utf-16-le")) // 2 <= 4096
    (single,) = split_html("<i>" + "x" * 5000 + "</i>")
    assert visible_length(single) == 4096 and single.endswith("…")
    assert split_html("short <b>text</b>") == ["short <b>text</b>"]
