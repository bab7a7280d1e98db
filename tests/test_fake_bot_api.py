"""Tests for the fake Telegram Bot API, driven by the real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import html
import io
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_bot_api import (
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    SAMPLE_PNG,
    FakeBotAPI,
    HTMLParseError,
    WebhookDelivery,
    make_png,
    make_voice,
    parse_html,
    utf16_len,
)
from tests.driver import DrivenBotAPI

USER_ID = 5001


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


def make_bot(api: FakeBotAPI, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    return Bot(token=token or api.token, session=session)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    fake = DrivenBotAPI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    assert fake.internal_errors == []


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(api)
    try:
        yield bot
    finally:
        await bot.session.close()


def yes_no() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Ya", callback_data="answer:yes"),
                InlineKeyboardButton(text="Tidak", callback_data="answer:no"),
            ],
            [InlineKeyboardButton(text="Situs", url="https://example.org")],
        ]
    )


def make_router(received: list[Any]) -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        received.append(message)
        assert message.from_user is not None
        name = html.escape(message.from_user.first_name)
        await message.answer(
            f"Halo <b>{name}</b> &amp; selamat datang!",
            parse_mode=ParseMode.HTML,
            reply_markup=yes_no(),
        )

    @router.message(Command("kb"))
    async def keyboard(message: Message) -> None:
        await message.answer(
            "Bagikan nomor",
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text="Kirim kontak", request_contact=True)]],
                resize_keyboard=True,
            ),
        )

    @router.callback_query(F.data.startswith("answer:"))
    async def answered(callback: CallbackQuery) -> None:
        received.append(callback)
        assert callback.data is not None
        choice = callback.data.split(":", 1)[1]
        await callback.answer(f"Pilihan: {choice}")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(f"Dipilih: {choice}")

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        received.append(message)
        assert message.contact is not None
        await message.answer(
            f"kontak {message.contact.phone_number} user={message.contact.user_id}",
            reply_markup=ReplyKeyboardRemove(),
        )

    @router.message(F.photo)
    async def photo(message: Message) -> None:
        received.append(message)
        assert message.photo is not None
        await message.answer(f"foto {len(message.photo)} caption={message.caption}")

    @router.message(F.location)
    async def location(message: Message) -> None:
        received.append(message)
        assert message.location is not None
        await message.answer(f"lokasi {message.location.latitude},{message.location.longitude}")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        received.append(message)
        assert message.text is not None
        await message.answer(message.text)

    return router


@pytest.fixture
async def received() -> list[Any]:
    return []


@pytest.fixture
async def polling(api: FakeBotAPI, bot: Bot, received: list[Any]) -> AsyncIterator[Dispatcher]:
    dp = Dispatcher()
    dp.include_router(make_router(received))
    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
    )
    await api.wait_polling()
    try:
        yield dp
    finally:
        await dp.stop_polling()
        await task


# ---------------------------------------------------------------------------------------
# round trips through a real Dispatcher
# ---------------------------------------------------------------------------------------


async def test_echo_round_trip(api: FakeBotAPI, polling: Dispatcher, received: list[Any]) -> None:
    alice = api.user(USER_ID, "Alice", last_name="Wati", username="alicew")
    first = await alice.send_text("halo bot")
    second = await alice.send_text("apa kabar?")
    assert second == first + 1

    reply = await alice.next_message()
    assert reply.text == "halo bot"
    assert reply.chat_id == USER_ID
    assert reply.message_id == second + 1  # ids are shared per chat
    assert (await alice.next_message()).text == "apa kabar?"
    await alice.expect_no_message(within=0.2)

    incoming = received[0]
    assert incoming.chat.type == "private"
    assert incoming.chat.id == USER_ID
    assert incoming.from_user.username == "alicew"
    assert incoming.from_user.language_code == "id"
    assert [m.text for m in api.sent] == ["halo bot", "apa kabar?"]
    assert alice.messages == api.sent
    assert alice.last() is api.sent[-1]


async def test_command_html_and_callback_press(
    api: FakeBotAPI, polling: Dispatcher, received: list[Any]
) -> None:
    budi = api.user(USER_ID, "Budi <RT 01>")
    await budi.send_text("/start deep-link")
    greeting = await budi.expect("selamat datang")
    assert received[0].entities[0].type == "bot_command"
    assert received[0].entities[0].length == len("/start")
    assert greeting.parse_mode == "HTML"
    assert greeting.text == "Halo <b>Budi &lt;RT 01&gt;</b> &amp; selamat datang!"
    assert greeting.plain_text == "Halo Budi <RT 01> & selamat datang!"
    assert greeting.entities == [{"type": "bold", "offset": 5, "length": 12}]
    assert greeting.buttons() == ["Ya", "Tidak", "Situs"]
    assert greeting.button("Ya")["callback_data"] == "answer:yes"
    with pytest.raises(AssertionError, match="Tidak"):
        greeting.button("Mungkin")
    with pytest.raises(AssertionError, match="not a callback button"):
        await budi.press("Situs")

    query_id = await budi.press("Ya")
    answer = await budi.wait_callback_answer(query_id)
    assert answer["text"] == "Pilihan: yes"
    assert answer["show_alert"] is False
    edited = await budi.expect_edit("Dipilih: yes")
    assert edited is greeting
    assert greeting.edited == 1
    assert greeting.reply_markup is None  # edit without reply_markup drops the keyboard
    assert greeting.history[0]["text"].startswith("Halo")
    assert budi.callback_answers == [answer]
    callback = received[-1]
    assert isinstance(callback, CallbackQuery)
    assert callback.message.message_id == greeting.message_id
    assert callback.from_user.id == USER_ID
    # edits do not count as new messages
    await budi.expect_no_message(within=0.2)
    with pytest.raises(AssertionError, match="no message in the chat has an inline button"):
        await budi.press("Tidak")
    with pytest.raises(AssertionError, match="pass stale=True"):
        await budi.press("Tidak", greeting)
    # a tap on the outdated keyboard (e.g. a double tap) can still be simulated
    stale_query = await budi.press("Tidak", stale=True)
    assert (await budi.wait_callback_answer(stale_query))["text"] == "Pilihan: no"
    await budi.expect_edit("Dipilih: no")
    assert greeting.edited == 2


async def test_contact_photo_location_updates(
    api: FakeBotAPI, polling: Dispatcher, received: list[Any]
) -> None:
    citra = api.user(USER_ID, "Citra")
    await citra.send_text("/kb")
    keyboard_msg = await citra.next_message()
    assert keyboard_msg.reply_buttons() == [{"text": "Kirim kontak", "request_contact": True}]

    await citra.send_contact("+6281234567890")
    own = await citra.expect("kontak +6281234567890")
    assert own.text == f"kontak +6281234567890 user={USER_ID}"
    assert own.removes_keyboard
    assert received[-1].contact.first_name == "Citra"

    await citra.send_contact("+628111", user_id=777, first_name="Dedi")
    assert (await citra.next_message()).text == "kontak +628111 user=777"
    assert received[-1].contact.first_name == "Dedi"
    await citra.send_contact("+628222", user_id=None)
    assert (await citra.next_message()).text == "kontak +628222 user=None"

    await citra.send_photo(caption="jalan rusak")
    assert (await citra.next_message()).text == "foto 2 caption=jalan rusak"
    photo_message = received[-1]
    small, large = photo_message.photo
    assert (large.width, large.height) == (2, 2)
    assert small.file_id != large.file_id
    assert large.file_size == len(SAMPLE_PNG)

    await citra.send_location(-6.2, 106.8)
    assert (await citra.next_message()).text == "lokasi -6.2,106.8"


async def test_next_message_timeout_lists_chat(api: FakeBotAPI, bot: Bot) -> None:
    dewi = api.user(USER_ID, "Dewi")
    await bot.send_message(USER_ID, "pertama")
    assert (await dewi.next_message(timeout=0.1)).text == "pertama"
    await dewi.send_text("tidak dibalas")
    with pytest.raises(AssertionError) as excinfo:
        await dewi.next_message(timeout=0.1)
    assert "'pertama' [consumed]" in str(excinfo.value)
    assert "user: 'tidak dibalas'" in str(excinfo.value)
    await bot.send_message(USER_ID, "kedua")
    with pytest.raises(AssertionError, match="'kedua'"):
        await dewi.expect("ketiga", timeout=0.1)
    await bot.send_message(USER_ID, "keempat")
    with pytest.raises(AssertionError, match="keempat"):
        await dewi.expect_no_message(within=0.1)


# ---------------------------------------------------------------------------------------
# direct Bot calls: updates, files, commands
# ---------------------------------------------------------------------------------------


async def test_get_updates_offset_and_long_poll(api: FakeBotAPI, bot: Bot) -> None:
    fajar = api.user(USER_ID, "Fajar")
    assert await bot.get_updates(timeout=0) == []
    await fajar.send_text("satu")
    await fajar.send_text("dua")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["satu", "dua"]
    assert updates[1].update_id == updates[0].update_id + 1
    # unconfirmed updates are delivered again; limit is honoured
    again = await bot.get_updates(limit=1)
    assert [u.update_id for u in again] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []

    loop = asyncio.get_running_loop()
    started = loop.time()

    async def later() -> None:
        await asyncio.sleep(0.2)
        await fajar.send_text("tiga")

    sender = asyncio.create_task(later())
    long_polled = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=5)
    await sender
    assert [u.message.text for u in long_polled] == ["tiga"]
    assert loop.time() - started < 2


async def test_download_photo_and_document(api: FakeBotAPI, bot: Bot) -> None:
    gita = api.user(USER_ID, "Gita")
    picture = make_png(4, 3)
    await gita.send_photo(picture, caption="bukti")
    await gita.send_document(b"%PDF-1.4 fake", "kk.pdf", "application/pdf")
    photo_update, doc_update = await bot.get_updates()

    largest = photo_update.message.photo[-1]
    assert (largest.width, largest.height) == (4, 3)
    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None and file.file_path.endswith(".png")
    buffer = io.BytesIO()
    await bot.download(largest.file_id, destination=buffer)
    assert buffer.getvalue() == picture

    document = doc_update.message.document
    assert (document.file_name, document.mime_type) == ("kk.pdf", "application/pdf")
    downloaded = await bot.download(document)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4 fake"

    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


async def test_voice_notes_both_ways(api: FakeBotAPI, bot: Bot) -> None:
    """A person records a voice note; the bot sends it on by file id (or uploads one)."""
    ika = api.user(USER_ID, "Ika")
    recording = make_voice(5)
    await ika.send_voice(recording, duration=5, caption="alasan")
    [update] = await bot.get_updates()
    voice = update.message.voice
    assert (voice.duration, voice.mime_type, update.message.caption) == (5, "audio/ogg", "alasan")
    downloaded = await bot.download(voice)
    assert downloaded is not None and downloaded.read() == recording

    sent = await bot.send_voice(
        USER_ID, voice.file_id, caption="<b>dari</b> warga", parse_mode="HTML"
    )
    assert sent.voice.file_id == voice.file_id and sent.caption == "dari warga"
    stored = ika.last()
    assert stored.kind == "voice" and stored.caption == "<b>dari</b> warga"
    assert api.file_content(stored.voice["file_id"]) == recording
    uploaded = await bot.send_voice(USER_ID, BufferedInputFile(make_voice(1), "v.ogg"))
    assert api.file_content(uploaded.voice.file_id) == make_voice(1)

    photo = await bot.send_photo(USER_ID, BufferedInputFile(SAMPLE_PNG, "p.png"))
    with pytest.raises(TelegramBadRequest, match="can't use file of type Photo as Voice"):
        await bot.send_voice(USER_ID, photo.photo[-1].file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_voice(USER_ID, "AwACunknown")


async def test_bot_sends_photos_documents_and_media_groups(api: FakeBotAPI, bot: Bot) -> None:
    hana = api.user(USER_ID, "Hana")
    uploaded = await bot.send_photo(
        USER_ID,
        BufferedInputFile(make_png(5, 5), "p.png"),
        caption="<i>peta</i>",
        parse_mode="HTML",
    )
    assert uploaded.caption == "peta"
    assert uploaded.caption_entities[0].type == "italic"
    stored = hana.last()
    assert stored.kind == "photo"
    assert stored.text == "<i>peta</i>"
    assert stored.photo_file_id == uploaded.photo[-1].file_id
    assert api.file_content(stored.photo_file_id) == make_png(5, 5)

    resent = await bot.send_photo(USER_ID, uploaded.photo[-1].file_id)
    assert resent.photo[-1].file_id == uploaded.photo[-1].file_id

    doc = await bot.send_document(USER_ID, BufferedInputFile(b"a,b\n1,2\n", "data.csv"))
    assert doc.document.file_name == "data.csv"
    assert hana.last().document_file_name == "data.csv"
    assert api.file_content(doc.document.file_id) == b"a,b\n1,2\n"

    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER_ID, "AgACunknown")
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(USER_ID, doc.document.file_id)

    album = await bot.send_media_group(
        USER_ID,
        [
            InputMediaPhoto(media=BufferedInputFile(SAMPLE_PNG, "a.png"), caption="satu"),
            InputMediaPhoto(media=uploaded.photo[-1].file_id),
        ],
    )
    assert len(album) == 2
    assert album[0].media_group_id == album[1].media_group_id is not None
    assert [m.kind for m in hana.messages[-2:]] == ["photo", "photo"]

    await bot.send_chat_action(USER_ID, "typing")
    assert hana.chat_actions == ["typing"]


async def test_commands_menu_and_webhook(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.username, me.id, me.is_bot) == ("lapor_warga_test_bot", 123456, True)

    await bot.set_my_commands([BotCommand(command="start", description="Mulai")])
    await bot.set_my_commands(
        [BotCommand(command="lapor", description="Buat laporan")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="id",
    )
    assert api.commands[("default", "")] == [{"command": "start", "description": "Mulai"}]
    assert api.commands[("all_private_chats", "id")][0]["command"] == "lapor"
    fetched = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="id")
    assert [c.command for c in fetched] == ["lapor"]
    await bot.delete_my_commands()
    assert ("default", "") not in api.commands
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])

    assert await bot.set_chat_menu_button()
    assert await bot.delete_webhook(drop_pending_updates=True)
    info = await bot.get_webhook_info()
    assert info.url == ""
    assert await bot.log_out()
    assert await bot.close()


async def test_delete_message(api: FakeBotAPI, bot: Bot) -> None:
    api.user(USER_ID, "Indah")
    sent = await bot.send_message(USER_ID, "hapus aku")
    assert await bot.delete_message(USER_ID, sent.message_id)
    assert api.sent[-1].deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=sent.message_id)


# ---------------------------------------------------------------------------------------
# rejections
# ---------------------------------------------------------------------------------------


def kb(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        # 2049 characters but 4098 UTF-16 code units
        ({"text": "\U0001f600" * 2049}, "Bad Request: message is too long"),
        (
            {
                "text": "a",
                "reply_markup": kb(InlineKeyboardButton(text="a", callback_data="x" * 65)),
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            # 22 characters, 66 bytes
            {
                "text": "a",
                "reply_markup": kb(InlineKeyboardButton(text="a", callback_data="é" * 33)),
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "a", "reply_markup": kb(InlineKeyboardButton(text="a"))},
            "Bad Request: can't parse inline keyboard button",
        ),
        (
            {"text": "a", "reply_markup": kb(InlineKeyboardButton(text="", callback_data="x"))},
            "Bad Request: text buttons are unallowed in the inline keyboard",
        ),
        (
            {"text": "<b>tebal", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag",
        ),
        (
            {"text": "1 < 2", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
        ),
        (
            {"text": "<foo>x</foo>", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "foo"',
        ),
        (
            {"text": "x</b>", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Unexpected end tag at byte offset 1",
        ),
        (
            {"text": "<b>x</i>", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Unmatched end tag",
        ),
        (
            {"text": "Mawar & Melati", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Unsupported HTML entity at byte offset 6",
        ),
        (
            {"text": "a&nbsp;b", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Unsupported HTML entity",
        ),
        (
            {"text": '<span class="x">a</span>', "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Tag "span" must have class "tg-spoiler"',
        ),
    ],
)
async def test_send_message_rejections(
    api: FakeBotAPI, bot: Bot, kwargs: dict[str, Any], description: str
) -> None:
    api.user(USER_ID, "Joko")
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, **kwargs)
    assert excinfo.value.message.startswith(description)
    assert api.rejected[-1][0] == "sendMessage"
    assert api.rejected[-1][1].startswith(description)
    assert api.sent == []


async def test_accepted_limits(api: FakeBotAPI, bot: Bot) -> None:
    api.user(USER_ID, "Kiki")
    # markup does not count towards the length; entities and a bare ">" are fine
    await bot.send_message(USER_ID, "<b>" + "a" * 4095 + "&gt;</b>", parse_mode="HTML")
    await bot.send_message(USER_ID, "\U0001f600" * 2048)
    await bot.send_message(
        USER_ID,
        '1 > 0 &#65;&#x42; <a href="https://x.id/?a=1&b=2">tautan</a> <tg-spoiler>s</tg-spoiler>'
        ' <pre><code class="language-python">x</code></pre> <blockquote expandable>q</blockquote>',
        parse_mode="HTML",
        reply_markup=kb(InlineKeyboardButton(text="a", callback_data="é" * 32)),
    )
    last = api.sent[-1]
    assert last.plain_text == "1 > 0 AB tautan s x q"
    types = {e["type"]: e for e in last.entities}
    assert types["text_link"]["url"] == "https://x.id/?a=1&b=2"
    assert types["pre"]["language"] == "python"
    assert {"spoiler", "expandable_blockquote"} <= types.keys()
    assert api.rejected == []


async def test_caption_too_long(api: FakeBotAPI, bot: Bot) -> None:
    api.user(USER_ID, "Lina")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER_ID, BufferedInputFile(SAMPLE_PNG, "a.png"), caption="c" * 1025)
    await bot.send_photo(USER_ID, BufferedInputFile(SAMPLE_PNG, "a.png"), caption="c" * 1024)


async def test_unknown_chat_and_blocked_user(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "halo")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_photo(424242, BufferedInputFile(SAMPLE_PNG, "a.png"))
    person = api.user(USER_ID, "Mira")
    person.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "halo")


async def test_edit_rejections(api: FakeBotAPI, bot: Bot) -> None:
    nina = api.user(USER_ID, "Nina")
    sent = await bot.send_message(
        USER_ID, "<b>status</b>", parse_mode="HTML", reply_markup=yes_no()
    )
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.edit_message_text(
            "<b>status</b>",
            chat_id=USER_ID,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=yes_no(),
        )
    assert excinfo.value.message == NOT_MODIFIED
    # same text but different markup is a modification
    await bot.edit_message_text(
        "<b>status</b>", chat_id=USER_ID, message_id=sent.message_id, parse_mode="HTML"
    )
    assert nina.last().reply_markup is None
    assert nina.last().edited == 1
    await bot.edit_message_reply_markup(
        chat_id=USER_ID, message_id=sent.message_id, reply_markup=yes_no()
    )
    assert nina.last().buttons() == ["Ya", "Tidak", "Situs"]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=USER_ID, message_id=sent.message_id, reply_markup=yes_no()
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("baru", chat_id=USER_ID, message_id=9999)
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=USER_ID, message_id=sent.message_id, caption="c")
    user_msg = await nina.send_text("punyaku")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=user_msg)

    photo = await bot.send_photo(USER_ID, BufferedInputFile(SAMPLE_PNG, "a.png"), caption="lama")
    await bot.edit_message_caption(chat_id=USER_ID, message_id=photo.message_id, caption="baru")
    assert nina.last().text == "baru"
    assert len(nina.messages) == 2


async def test_answer_callback_query_rejections(api: FakeBotAPI, bot: Bot) -> None:
    olga = api.user(USER_ID, "Olga")
    await bot.send_message(USER_ID, "pilih", reply_markup=yes_no())
    query_id = await olga.press("Tidak")
    (update,) = await bot.get_updates()
    assert update.callback_query.data == "answer:no"
    assert update.callback_query.message.text == "pilih"
    assert await bot.answer_callback_query(query_id, text="ok", show_alert=True)
    assert olga.callback_answers[0]["show_alert"] is True
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.answer_callback_query(query_id)
    assert excinfo.value.message == QUERY_TOO_OLD
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("123")


async def test_fail_next_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.user(USER_ID, "Putri")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, count=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as excinfo:
            await bot.send_message(USER_ID, "halo")
        assert excinfo.value.retry_after == 7
    assert api.sent == []
    await bot.send_message(USER_ID, "halo")
    assert [m.text for m in api.sent] == ["halo"]
    assert api.rejected == [("sendMessage", "Too Many Requests: retry after 7")] * 2

    api.fail_next("getMe", 400, "Bad Request: injected")
    with pytest.raises(TelegramBadRequest, match="injected"):
        await bot.get_me()


async def test_wrong_token_and_unknown_method(api: FakeBotAPI) -> None:
    intruder = make_bot(api, token="999:wrong")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await intruder.get_me()
    finally:
        await intruder.session.close()
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api.base_url}/bot{api.token}/sendTelepathy", data={"a": "1"}) as resp,
    ):
        body = await resp.json()
    assert resp.status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert ("sendTelepathy", "Not Found") in api.rejected
    assert api.requests[-1] == ("sendTelepathy", {"a": "1"})


async def test_not_found_is_telegram_not_found(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("getMe", 404, "Not Found")
    with pytest.raises(TelegramNotFound):
        await bot.get_me()


# ---------------------------------------------------------------------------------------
# flood control and outages
# ---------------------------------------------------------------------------------------


class StepClock:
    """The fake server's clock, moved by the test (no test here waits for a real second)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
async def flood_api(clock: StepClock) -> AsyncIterator[FakeBotAPI]:
    async with DrivenBotAPI(flood_limit=3, clock=clock) as fake:
        yield fake
    assert fake.internal_errors == []


async def post(api: FakeBotAPI, method: str, **data: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api.base_url}/bot{api.token}/{method}", data=data) as resp,
    ):
        return resp.status, await resp.json()


async def test_flood_limit_answers_429_like_telegram_and_stores_nothing(
    flood_api: FakeBotAPI, clock: StepClock
) -> None:
    api = flood_api
    bot = make_bot(api)
    try:
        rina = api.user(USER_ID, "Rina")
        for i in range(3):
            await bot.send_message(USER_ID, f"m{i}")
        with pytest.raises(TelegramRetryAfter) as excinfo:
            await bot.send_message(USER_ID, "m3")
        assert excinfo.value.retry_after == 1
        assert await post(api, "sendMessage", chat_id=USER_ID, text="m3") == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
        assert [m.text for m in rina.messages] == ["m0", "m1", "m2"]
        assert api.flood_rejections == 2
        # Not messages: reading, typing, polling go on.
        await bot.get_me()
        await bot.send_chat_action(USER_ID, "typing")
        assert await bot.get_updates(timeout=0) == []

        clock.now += 1.0
        album = [InputMediaPhoto(media=BufferedInputFile(SAMPLE_PNG, "a.png"))] * 2
        await bot.send_media_group(USER_ID, album)  # two messages
        sent = await bot.send_message(USER_ID, "m3")
        with pytest.raises(TelegramRetryAfter):  # an edit counts too
            await bot.edit_message_text("m3!", chat_id=USER_ID, message_id=sent.message_id)
        clock.now += 1.0
        await bot.send_message(USER_ID, "m4")
        with pytest.raises(TelegramRetryAfter):  # three items, two places free: all refused
            await bot.send_media_group(USER_ID, [*album, album[0]])
        assert api.flood_rejections == 4
        clock.now += 1.0
        await bot.edit_message_text("m3!", chat_id=USER_ID, message_id=sent.message_id)
        assert [m.text for m in rina.messages][3:] == [None, None, "m3!", "m4"]
        assert len(api.sent) == 7
    finally:
        await bot.session.close()


async def test_flood_window_slides_and_a_429_holds_until_retry_after(
    flood_api: FakeBotAPI, clock: StepClock
) -> None:
    api = flood_api
    bot = make_bot(api)
    try:
        api.user(USER_ID, "Sinta")
        await bot.send_message(USER_ID, "a")  # 1000.0
        clock.now = 1000.9
        await bot.send_message(USER_ID, "b")
        await bot.send_message(USER_ID, "c")
        clock.now = 1001.05  # "a" left the window: one place free
        await bot.send_message(USER_ID, "d")
        clock.now = 1001.1  # b, c, d within the last second (a per-second counter: only d)
        with pytest.raises(TelegramRetryAfter) as excinfo:
            await bot.send_message(USER_ID, "e")
        assert excinfo.value.retry_after == 1  # "b" leaves at 1001.9: 0.8 s, rounded up
        clock.now = 1001.95  # the window has room again, but the 429 said 1 s
        with pytest.raises(TelegramRetryAfter) as excinfo:
            await bot.send_message(USER_ID, "e")
        assert excinfo.value.retry_after == 1
        clock.now = 1002.1
        await bot.send_message(USER_ID, "e")
        assert [m.text for m in api.sent] == ["a", "b", "c", "d", "e"]
        assert api.flood_rejections == 2
    finally:
        await bot.session.close()


async def test_outage_500_fails_every_method_without_side_effects(
    api: FakeBotAPI, bot: Bot
) -> None:
    sari = api.user(USER_ID, "Sari")
    await sari.send_text("sebelum")
    with api.outage("500") as outage:
        assert api.current_outage is outage
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER_ID, "hilang")
        with pytest.raises(TelegramServerError):  # would confirm "sebelum" if it ran
            await bot.get_updates(offset=10_000, timeout=0)
        with pytest.raises(TelegramServerError):
            await bot.get_me()
        assert await post(api, "sendMessage", chat_id=USER_ID, text="x") == (
            500,
            {"ok": False, "error_code": 500, "description": "Internal Server Error"},
        )
    assert api.current_outage is None and not outage.active
    assert outage.requests == ["sendMessage", "getUpdates", "getMe", "sendMessage"]
    assert sari.messages == [] and api.sent == []
    (update,) = await bot.get_updates(timeout=0)
    assert update.message.text == "sebelum"
    await bot.send_message(USER_ID, "sesudah")
    assert [m.text for m in sari.messages] == ["sesudah"]


async def test_outage_429_tells_the_seconds_left_and_ends_by_itself(clock: StepClock) -> None:
    async with DrivenBotAPI(clock=clock) as api:
        bot = make_bot(api)
        try:
            api.user(USER_ID, "Tari")
            outage = api.outage("429", seconds=30)
            with pytest.raises(TelegramRetryAfter) as excinfo:
                await bot.send_message(USER_ID, "hilang")
            assert excinfo.value.retry_after == 30
            clock.now += 12.5
            with pytest.raises(TelegramRetryAfter) as excinfo:
                await bot.get_updates(timeout=0)
            assert excinfo.value.retry_after == 18
            clock.now += 17.5
            assert not outage.active and api.current_outage is None
            await bot.send_message(USER_ID, "kembali")

            api.outage("429", retry_after=5)  # no end of its own
            with pytest.raises(TelegramRetryAfter) as excinfo:
                await bot.get_me()
            assert excinfo.value.retry_after == 5
            second = api.outage("500", seconds=1)  # replaces it
            with pytest.raises(TelegramServerError):
                await bot.get_me()
            assert api.outages[1].requests == ["getMe"] and second.requests == ["getMe"]
            clock.now += 1
            assert [m.text for m in api.sent] == ["kembali"] and api.flood_rejections == 0
            with pytest.raises(ValueError, match="outage mode"):
                api.outage("503")
        finally:
            await bot.session.close()


async def test_outage_timeout_holds_the_request_until_the_client_gives_up(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.user(USER_ID, "Umi")
    loop = asyncio.get_running_loop()
    with api.outage("timeout") as outage:
        started = loop.time()
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.send_message(USER_ID, "hilang", request_timeout=1)
        assert loop.time() - started >= 0.9
    # A client that waits longer than ``hang`` finds the connection dropped.
    with api.outage("timeout", hang=0.2):
        started = loop.time()
        with pytest.raises(TelegramNetworkError):
            await bot.get_me(request_timeout=30)
        assert loop.time() - started < 10
    assert outage.requests == ["sendMessage"] and api.sent == []
    await bot.send_message(USER_ID, "kembali")
    assert [m.text for m in api.sent] == ["kembali"]


async def test_polling_rides_out_an_outage(api: FakeBotAPI, polling: Dispatcher) -> None:
    vina = api.user(USER_ID, "Vina")
    outage = api.outage("500", seconds=2.0)
    # Once a poll was refused, the one under way before the outage is over.
    await api.wait_for(lambda: "getUpdates" in outage.requests, timeout=5, what="a refused poll")
    await vina.send_text("halo")
    assert (await vina.next_message(timeout=15)).text == "halo"
    assert "getUpdates" in outage.requests


# ---------------------------------------------------------------------------------------
# webhook delivery
# ---------------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint the test runs: records every POST and answers per a script."""

    def __init__(self, path: str = "/webhook") -> None:
        self.path = path
        self.updates: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.answers: list[int] = []  # statuses to answer in turn; 200 once used up
        self.holds: dict[str, asyncio.Event] = {}  # message text -> answer once it is set
        self.base = ""  # http://127.0.0.1:PORT
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return self.base + self.path

    def texts(self) -> list[str]:
        return [u["message"]["text"] for u in self.updates if "message" in u]

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.updates.append(update)
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        hold = self.holds.get(update.get("message", {}).get("text", ""))
        if hold is not None:
            await hold.wait()
        status = self.answers.pop(0) if self.answers else 200
        return web.json_response({}, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        for hold in self.holds.values():
            hold.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[[], Awaitable[Receiver]]]:
    started: list[Receiver] = []

    async def start() -> Receiver:
        receiver = Receiver()
        await receiver.start()
        started.append(receiver)
        return receiver

    try:
        yield start
    finally:
        for receiver in started:
            await receiver.stop()


@pytest.fixture
async def receiver(receivers: Callable[[], Awaitable[Receiver]]) -> Receiver:
    return await receivers()


async def eventually(predicate: Callable[[], Any], what: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait for something the fake does not announce (e.g. a receiver's state)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_webhook_delivers_updates_with_the_secret_header(
    api: FakeBotAPI, bot: Bot, receiver: Receiver
) -> None:
    alice = api.user(USER_ID, "Alice")
    await alice.send_text("sebelum")  # queued before the webhook: delivered as well
    assert await bot.set_webhook(receiver.url, secret_token="rahasia_-123")
    assert await api.wait_webhook() == receiver.url
    await alice.send_text("/start")
    await api.wait_webhook_idle()

    assert receiver.texts() == ["sebelum", "/start"]
    assert receiver.updates == api.updates
    assert receiver.secrets == ["rahasia_-123", "rahasia_-123"]
    assert api.webhook_deliveries == [
        WebhookDelivery(1, receiver.url, 200),
        WebhookDelivery(2, receiver.url, 200),
    ]
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == (receiver.url, 0, 40)
    assert (info.has_custom_certificate, info.last_error_date, info.allowed_updates) == (
        False,
        None,
        None,
    )
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()

    # Without a secret the header is left out.
    assert await bot.set_webhook(receiver.url)
    await alice.send_text("tanpa rahasia")
    await api.wait_webhook_idle()
    assert receiver.secrets[-1] is None


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://bot.example.org/hook", "HTTPS url must be provided for webhook"),
        ("bot.example.org/hook", "HTTPS url must be provided for webhook"),
        ("ftp://127.0.0.1/hook", "Unsupported URL protocol"),
        (
            "https://bot.example.org:8080/hook",
            "Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
    ],
)
async def test_set_webhook_refuses_bad_urls(
    api: FakeBotAPI, bot: Bot, url: str, error: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=f"bad webhook: {error}"):
        await bot.set_webhook(url)
    assert api.webhook_url == ""


async def test_set_webhook_secret_token_and_max_connections(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token=api.token)
    with pytest.raises(TelegramBadRequest, match="secret token is too long"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="a" * 257)
    assert api.webhook_url == ""

    assert await bot.set_webhook(
        "https://bot.example.org:8443/hook", secret_token="a" * 256, max_connections=500
    )
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections) == ("https://bot.example.org:8443/hook", 100)
    assert api.webhook_secret_token == "a" * 256

    # Loopback hosts may use plain http on any port (tests have no TLS).
    assert await bot.set_webhook("http://localhost:8081/hook", max_connections=0)
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections) == ("http://localhost:8081/hook", 1)
    assert api.webhook_secret_token is None  # each setWebhook replaces every setting

    assert await bot.set_webhook("")  # an empty URL removes the webhook
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == []


async def test_webhook_retries_until_a_2xx_and_reports_the_failures(
    api: FakeBotAPI, bot: Bot, receiver: Receiver
) -> None:
    api.webhook_retry_max_delay = 0.05
    receiver.answers = [500, 429]
    alice = api.user(USER_ID, "Alice")
    await bot.set_webhook(receiver.url)
    await alice.send_text("coba")
    await api.wait_webhook_idle()

    assert [d.result for d in api.webhook_deliveries] == [500, 429, 200]
    assert receiver.texts() == ["coba", "coba", "coba"]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 429 Too Many Requests"
    assert info.last_error_date is not None
    assert info.pending_update_count == 0


async def test_webhook_retries_refused_connections_and_timeouts(
    api: FakeBotAPI, bot: Bot, receivers: Callable[[], Awaitable[Receiver]]
) -> None:
    api.webhook_retry_max_delay = 0.05
    api.webhook_timeout = 0.2
    alice = api.user(USER_ID, "Alice")
    gone = await receivers()
    await gone.stop()  # nobody listens there any more
    await bot.set_webhook(gone.url)
    await alice.send_text("lagi")
    await api.wait_for(lambda: len(api.webhook_deliveries) >= 2, what="a retry")
    assert {d.result for d in api.webhook_deliveries} == {"Connection refused"}
    info = await bot.get_webhook_info()
    assert (info.last_error_message, info.pending_update_count) == ("Connection refused", 1)

    live = await receivers()
    slow = live.holds["lambat"] = asyncio.Event()
    await bot.set_webhook(live.url)  # another URL: the last error is forgotten
    assert (await bot.get_webhook_info()).last_error_message is None
    await alice.send_text("lambat")
    await api.wait_for(
        lambda: [d for d in api.webhook_deliveries if d.result == "Read timeout expired"],
        what="a timeout",
    )
    assert live.texts()[0] == "lagi"
    slow.set()
    await api.wait_webhook_idle()
    assert live.texts().count("lambat") >= 2  # the timed-out attempt reached the bot too
    last = [d for d in api.webhook_deliveries if d.update_id == 2]
    assert (last[0].result, last[-1].result) == ("Read timeout expired", 200)
    assert api.webhook_last_error_message == "Read timeout expired"


async def test_webhook_keeps_each_chat_in_order_while_others_proceed(
    api: FakeBotAPI, bot: Bot, receiver: Receiver
) -> None:
    release = receiver.holds["a1"] = asyncio.Event()
    alice, bob = api.user(USER_ID, "Alice"), api.user(USER_ID + 1, "Bob")
    await bot.set_webhook(receiver.url)
    await alice.send_text("a1")
    await alice.send_text("a2")
    await bob.send_text("b1")
    await bob.send_text("b2")
    await eventually(lambda: {"a1", "b2"} <= set(receiver.texts()), "a1 and Bob's updates")
    await asyncio.sleep(0.1)
    assert "a2" not in receiver.texts()  # a1 has not been answered yet
    assert receiver.texts().index("b1") < receiver.texts().index("b2")
    assert (await bot.get_webhook_info()).pending_update_count == 2

    release.set()
    await api.wait_webhook_idle()
    assert receiver.texts()[-1] == "a2"
    assert sorted(receiver.texts()) == ["a1", "a2", "b1", "b2"]


@pytest.mark.parametrize(("ordering", "press_waits"), [("telegram", False), ("chat", True)])
async def test_webhook_queues_of_callback_queries(
    api: FakeBotAPI, bot: Bot, receiver: Receiver, ordering: str, press_waits: bool
) -> None:
    """Telegram queues a user's callback queries apart from their messages; the
    "chat" ordering puts them behind the chat's messages."""
    api.webhook_ordering = ordering
    alice = api.user(USER_ID, "Alice")
    await bot.send_message(USER_ID, "pilih", reply_markup=yes_no())
    release = receiver.holds["ditahan"] = asyncio.Event()
    await bot.set_webhook(receiver.url)
    await alice.send_text("ditahan")
    await alice.press("Ya")
    await eventually(lambda: "ditahan" in receiver.texts(), "the held message")
    await asyncio.sleep(0.1)
    pressed = any("callback_query" in u for u in receiver.updates)
    assert pressed is not press_waits
    release.set()
    await api.wait_webhook_idle()
    assert sorted(next(k for k in u if k != "update_id") for u in receiver.updates) == [
        "callback_query",
        "message",
    ]


async def test_webhook_max_connections(api: FakeBotAPI, bot: Bot, receiver: Receiver) -> None:
    release = receiver.holds["a1"] = asyncio.Event()
    alice, bob = api.user(USER_ID, "Alice"), api.user(USER_ID + 1, "Bob")
    await bot.set_webhook(receiver.url, max_connections=1)
    await alice.send_text("a1")
    await bob.send_text("b1")
    await eventually(lambda: receiver.texts() == ["a1"], "a1")
    await asyncio.sleep(0.1)
    assert receiver.texts() == ["a1"]  # the one connection is busy
    release.set()
    await api.wait_webhook_idle()
    assert receiver.texts() == ["a1", "b1"]


async def test_webhook_targets_round_robin_random_or_chosen(
    api: FakeBotAPI, bot: Bot, receivers: Callable[[], Awaitable[Receiver]]
) -> None:
    one, two = await receivers(), await receivers()
    # As if both ran behind a load balancer at the registered (public) URL; a target
    # without a path gets the registered URL's path.
    api.webhook_targets = [one.base, two.url]
    await bot.set_webhook("https://lapor.example.org/webhook", secret_token="lb")
    alice = api.user(USER_ID, "Alice")
    for text in ("m1", "m2", "m3", "m4"):
        await alice.send_text(text)
    await api.wait_webhook_idle()
    assert (one.texts(), two.texts()) == (["m1", "m3"], ["m2", "m4"])
    assert [d.target for d in api.webhook_deliveries] == [one.url, two.url] * 2
    assert one.secrets + two.secrets == ["lb"] * 4

    api.webhook_strategy = "random"
    api.webhook_random.seed(3)
    for n in range(12):
        await alice.send_text(f"r{n}")
    await api.wait_webhook_idle()
    random_texts = [t for t in one.texts() + two.texts() if t.startswith("r")]
    assert sorted(random_texts) == sorted(f"r{n}" for n in range(12))
    assert any(t.startswith("r") for t in one.texts())
    assert any(t.startswith("r") for t in two.texts())

    api.webhook_strategy = lambda update, targets: targets[1]
    await alice.send_text("ke dua")
    await api.wait_webhook_idle()
    assert two.texts()[-1] == "ke dua"


async def test_redeliver_posts_a_delivered_update_again(
    api: FakeBotAPI, bot: Bot, receivers: Callable[[], Awaitable[Receiver]]
) -> None:
    one, two = await receivers(), await receivers()
    await bot.set_webhook(one.url, secret_token="ulang")
    alice = api.user(USER_ID, "Alice")
    await alice.send_text("sekali")
    await api.wait_webhook_idle()
    update = api.updates[0]

    assert await api.redeliver(update["update_id"]) == 200
    assert await api.redeliver(update["update_id"], target=two.url) == 200
    two.answers = [503]
    assert await api.redeliver(update["update_id"], target=two.url) == 503
    assert one.updates == [update, update]
    assert two.updates == [update, update]
    assert two.secrets == ["ulang", "ulang"]
    assert api.webhook_deliveries == [
        (1, one.url, 200),
        (1, one.url, 200),
        (1, two.url, 200),
        (1, two.url, 503),
    ]
    assert (await bot.get_webhook_info()).pending_update_count == 0
    with pytest.raises(KeyError):
        await api.redeliver(99)


async def test_delete_webhook_stops_delivery(api: FakeBotAPI, bot: Bot, receiver: Receiver) -> None:
    held = receiver.holds["tertahan"] = asyncio.Event()
    alice = api.user(USER_ID, "Alice")
    await bot.set_webhook(receiver.url)
    await alice.send_text("pertama")
    await api.wait_webhook_idle()
    await alice.send_text("tertahan")
    await eventually(lambda: "tertahan" in receiver.texts(), "the held update")

    assert await bot.delete_webhook()
    assert api.webhook_deliveries[-1] == (2, receiver.url, "cancelled")  # aborted
    await alice.send_text("sesudah")
    await asyncio.sleep(0.2)
    held.set()
    assert receiver.texts() == ["pertama", "tertahan"]
    assert (await bot.get_webhook_info()).pending_update_count == 2
    polled = await bot.get_updates()  # polling works again and gets what was not delivered
    assert [u.message.text for u in polled if u.message] == ["tertahan", "sesudah"]

    # drop_pending_updates drops the queue: nothing left to deliver
    assert await bot.set_webhook(receiver.url, drop_pending_updates=True)
    await asyncio.sleep(0.1)
    assert receiver.texts() == ["pertama", "tertahan"]
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_stop_ends_webhook_delivery(bot: Bot, receiver: Receiver) -> None:
    api = DrivenBotAPI()
    await api.start()
    own_bot = make_bot(api)
    try:
        receiver.holds["macet"] = asyncio.Event()
        await own_bot.set_webhook(receiver.url)
        await api.user(USER_ID, "Alice").send_text("macet")
        await eventually(lambda: receiver.texts() == ["macet"], "the held update")
    finally:
        await own_bot.session.close()
        await api.stop()
    assert api.webhook_deliveries == [(1, receiver.url, "cancelled")]
    assert api._webhook_task is None


@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_webhook_answer_with_a_method_call(api: FakeBotAPI, bot: Bot, encoding: str) -> None:
    """A 2xx answer may name a Bot API method (as Telegram allows): it is run, except
    get* methods, setWebhook, deleteWebhook, close and logOut."""

    async def handle(request: web.Request) -> web.Response:
        message = (await request.json())["message"]
        call: dict[str, Any] = {"method": "deleteWebhook"}
        if message["text"] != "hapus":
            call = {"method": "sendMessage", "chat_id": message["chat"]["id"]}
            call["text"] = f"jawab {message['text']}"
        if encoding == "json":
            return web.json_response(call)
        return web.Response(
            body=urllib.parse.urlencode(call), content_type="application/x-www-form-urlencoded"
        )

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        alice = api.user(USER_ID, "Alice")
        await alice.send_text("halo")
        assert (await alice.next_message()).text == "jawab halo"
        await alice.send_text("hapus")
        await api.wait_webhook_idle()
        assert api.webhook_url and api.calls("deleteWebhook") == []
    finally:
        await runner.cleanup()


async def test_webhook_allowed_updates(api: FakeBotAPI, bot: Bot, receiver: Receiver) -> None:
    alice = api.user(USER_ID, "Alice")
    await bot.set_webhook(receiver.url, allowed_updates=["message"])
    await alice.send_raw_update({"edited_message": alice.raw_message(text="ubah", edit_date=1)})
    await alice.send_text("baru")
    await api.wait_webhook_idle()
    assert [sorted(u) for u in receiver.updates] == [["message", "update_id"]]
    assert api.dropped_updates[0]["edited_message"]["text"] == "ubah"
    assert (await bot.get_webhook_info()).allowed_updates == ["message"]


async def serve_webhook(
    dp: Dispatcher, bot: Bot, secret: str | None = None, *, handle_in_background: bool = True
) -> tuple[web.AppRunner, str]:
    """An aiohttp site with aiogram's webhook handler at /tg, as the bot process runs it."""
    app = web.Application()
    SimpleRequestHandler(
        dp, bot, secret_token=secret, handle_in_background=handle_in_background
    ).register(app, path="/tg")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_aiogram_webhook_round_trip(api: FakeBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"gema: {message.text}")

    runner, base = await serve_webhook(dp, bot, secret="lapor-warga_1")
    try:
        assert await bot.set_webhook(f"{base}/tg", secret_token="lapor-warga_1")
        await api.wait_webhook()
        alice = api.user(USER_ID, "Alice")
        await alice.send_text("halo webhook")
        assert (await alice.next_message()).text == "gema: halo webhook"

        # A wrong secret: aiogram answers 401, the fake retries and reports it.
        api.webhook_retry_max_delay = 0.05
        assert await bot.set_webhook(f"{base}/tg", secret_token="salah")
        await alice.send_text("lagi")
        await api.wait_for(lambda: api.webhook_last_error_message, what="the failure")
        assert api.webhook_last_error_message == "Wrong response from the webhook: 401 Unauthorized"
        await alice.expect_no_message(0.2)
        assert await bot.set_webhook(f"{base}/tg", secret_token="lapor-warga_1")
        assert (await alice.next_message()).text == "gema: lagi"
    finally:
        await runner.cleanup()


async def test_aiogram_answer_in_the_webhook_response(api: FakeBotAPI, bot: Bot) -> None:
    """aiogram's handle_in_background=False answers with the handler's method call in the
    response body (multipart); Telegram, and the fake, run it."""
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> Any:
        return message.answer(
            f"<b>balas</b>: {message.text}", parse_mode="HTML", reply_markup=yes_no()
        )

    runner, base = await serve_webhook(dp, bot, handle_in_background=False)
    try:
        await bot.set_webhook(f"{base}/tg")
        alice = api.user(USER_ID, "Alice")
        await alice.send_text("halo é \U0001f600")
        msg = await alice.next_message()
        assert msg.plain_text == "balas: halo é \U0001f600"
        assert msg.buttons() == ["Ya", "Tidak", "Situs"]
        assert api.calls("sendMessage")[0]["chat_id"] == str(USER_ID)
    finally:
        await runner.cleanup()


async def test_two_aiogram_processes_behind_a_load_balancer(api: FakeBotAPI) -> None:
    bots, runners, bases = [], [], []
    for name in ("A", "B"):
        dp = Dispatcher()

        def handler(name: str) -> Callable[[Message], Awaitable[None]]:
            async def echo(message: Message) -> None:
                await message.answer(f"{name}: {message.text}")

            return echo

        dp.message.register(handler(name), F.text)
        process_bot = make_bot(api)
        runner, base = await serve_webhook(dp, process_bot, secret="lb")
        bots.append(process_bot)
        runners.append(runner)
        bases.append(base)
    try:
        api.webhook_targets = bases  # each process serves /tg: the registered path
        for process_bot in bots:  # both register the public URL at start-up
            assert await process_bot.set_webhook("https://lapor.example.org/tg", secret_token="lb")
        alice = api.user(USER_ID, "Alice")
        await alice.send_text("satu")
        assert (await alice.next_message()).text == "A: satu"
        await alice.send_text("dua")
        assert (await alice.next_message()).text == "B: dua"
        # Telegram sends "satu" again (say A answered too late): now B handles it too.
        assert await api.redeliver(api.updates[0]["update_id"], target=bases[1]) == 200
        assert (await alice.next_message()).text == "B: satu"
    finally:
        for runner in runners:
            await runner.cleanup()  # closes each bot's session too


# ---------------------------------------------------------------------------------------
# the HTML parser on its own
# ---------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_round_trips(text: str) -> None:
    plain, entities = parse_html(html.escape(text, quote=False))
    assert plain == text
    assert entities == []


def test_parse_html_offsets_are_utf16() -> None:
    plain, entities = parse_html("\U0001f600 <b>x</b> <i>é</i>")
    assert plain == "\U0001f600 x é"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 1},
        {"type": "italic", "offset": 5, "length": 1},
    ]
    assert utf16_len(plain) == 6


def test_parse_html_lenient_ampersand() -> None:
    assert parse_html("AT&T", strict_ampersand=False) == ("AT&T", [])
    with pytest.raises(HTMLParseError):
        parse_html("AT&T")


async def test_a_command_menu_per_chat_falls_back_to_the_default(api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="lapor", description="Lapor")])
    await bot.set_my_commands(
        [BotCommand(command="antrian", description="Antrian")],
        scope=BotCommandScopeChat(chat_id=USER_ID),
    )
    assert api.commands[(f"chat:{USER_ID}", "")][0]["command"] == "antrian"
    assert [c["command"] for c in api.commands_in_chat(USER_ID, "id")] == ["antrian"]
    assert [c["command"] for c in api.commands_in_chat(USER_ID + 1)] == ["lapor"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=USER_ID))
    assert [c["command"] for c in api.commands_in_chat(USER_ID)] == ["lapor"]
