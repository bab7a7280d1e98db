"""Tests for the fake Telegram Bot API, driven by the real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
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
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.fake_api import (
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    SAMPLE_PNG,
    FakeBotAPI,
    HTMLParseError,
    make_png,
    parse_html,
    utf16_len,
)

USER_ID = 5001


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


def make_bot(api: FakeBotAPI, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    return Bot(token=token or api.token, session=session)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    fake = FakeBotAPI()
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
