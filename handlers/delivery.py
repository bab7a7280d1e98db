"""Turning the engine's outcome into Bot API calls, after the update's commit."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    User,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flows.io import Contact, Incoming, Outcome, Reply, Upload
from flows.notify import post
from handlers.longtext import split_html
from storage.updates import record_processed

log = logging.getLogger(__name__)

# Telegram itself failing, not the request: worth trying again later.
_UNREACHABLE = (TelegramServerError, TelegramRetryAfter, TelegramNetworkError, TimeoutError)


def _upload(message: Message) -> Upload | None:
    if message.photo:
        biggest = message.photo[-1]
        return Upload("photo", biggest.file_id, biggest.file_unique_id, biggest.file_size)
    if message.document:
        document = message.document
        return Upload("document", document.file_id, document.file_unique_id, document.file_size)
    if message.voice:
        voice = message.voice
        return Upload("voice", voice.file_id, voice.file_unique_id, voice.file_size, voice.duration)
    return None


def incoming_from_message(message: Message, album: list[Message] | None = None) -> Incoming:
    """One message, or the messages of one album (several photos sent together)."""
    user = message.from_user
    assert user is not None
    parts = album or [message]
    uploads = [u for u in map(_upload, parts) if u is not None]
    contact = None
    if message.contact:
        contact = Contact(message.contact.phone_number, message.contact.user_id)
    location = None
    if message.location:
        location = (message.location.latitude, message.location.longitude)
    return Incoming(
        user_id=user.id,
        chat_id=message.chat.id,
        first_name=user.first_name,
        language_code=user.language_code,
        text=message.text or next((m.caption for m in parts if m.caption), None),
        contact=contact,
        uploads=uploads,
        location=location,
    )


def incoming_from_callback(query: CallbackQuery) -> Incoming:
    user: User = query.from_user
    message = query.message
    chat_id = message.chat.id if message is not None else user.id
    return Incoming(
        user_id=user.id,
        chat_id=chat_id,
        first_name=user.first_name,
        language_code=user.language_code,
        callback=query.data,
        message_id=message.message_id if message is not None else None,
    )


def _markup(
    reply: Reply,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if reply.contact_button:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=reply.contact_button, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.location_button:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=reply.location_button, request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.buttons:
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row]
                for row in reply.buttons
            ]
        )
    if reply.menu:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=label) for label in row] for row in reply.menu],
            resize_keyboard=True,
            is_persistent=True,
        )
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


_TAG = re.compile(r"<[^>]*>")


def _keyboard(markup: object) -> list[list[tuple[str, str | None]]]:
    rows = markup.inline_keyboard if isinstance(markup, InlineKeyboardMarkup) else []
    return [[(b.text, b.callback_data) for b in row] for row in rows]


def _unchanged(shown: object, reply: Reply, markup: object) -> bool:
    """Whether editing the pressed message ``shown`` to ``reply`` would change nothing
    (Telegram refuses such an edit: 400 "message is not modified"). Compared as Telegram
    shows it: the visible text (our HTML without its tags) and the inline keyboard; the
    bot never edits only the formatting of a message."""
    if not isinstance(shown, Message) or shown.message_id != reply.edit_message_id:
        return False
    visible = html.unescape(_TAG.sub("", reply.text)).strip()
    return (shown.text or shown.caption or "").strip() == visible and _keyboard(
        shown.reply_markup
    ) == _keyboard(markup)


def _not_modified(exc: TelegramAPIError) -> bool:
    return isinstance(exc, TelegramBadRequest) and "message is not modified" in exc.message


async def send(bot: Bot, reply: Reply, shown: Message | None = None) -> None:
    """Send ``reply`` (or edit the message it names). ``shown``: the message whose button
    was pressed, as Telegram sent it with the press: an edit to what it already shows is
    not sent."""
    if reply.commands is not None:  # the chat's "/" menu, no message
        scope = BotCommandScopeChat(chat_id=reply.chat_id)
        if reply.commands:
            commands = [BotCommand(command=c, description=d) for c, d in reply.commands]
            await bot.set_my_commands(commands, scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
        return
    markup = _markup(reply)
    if reply.file_data is not None:
        upload = BufferedInputFile(reply.file_data, filename=reply.file_name or "file")
        await bot.send_document(reply.chat_id, upload, caption=reply.text, reply_markup=markup)
        return
    if reply.photo:
        await bot.send_photo(reply.chat_id, reply.photo, caption=reply.text)
        return
    if reply.document:
        await bot.send_document(reply.chat_id, reply.document, caption=reply.text)
        return
    if reply.voice:
        await bot.send_voice(reply.chat_id, reply.voice, caption=reply.text)
        return
    parts = split_html(reply.text)
    if len(parts) > 1:
        # Over Telegram's 4096 characters (a card with a long conversation): several
        # messages, the keyboard on the last; an edit of such a card becomes new messages.
        for part in parts[:-1]:
            await bot.send_message(reply.chat_id, part)
        reply = replace(reply, text=parts[-1], edit_message_id=None)
    if reply.edit_message_id is not None and not isinstance(
        markup, ReplyKeyboardMarkup | ReplyKeyboardRemove
    ):
        if _unchanged(shown, reply, markup):
            return
        try:
            await bot.edit_message_text(
                text=reply.text,
                chat_id=reply.chat_id,
                message_id=reply.edit_message_id,
                reply_markup=markup,
            )
        except TelegramAPIError as exc:
            # Two taps in flight at once: the first edit already made it so.
            if not _not_modified(exc):
                raise
        return
    if (reply.contact_button or reply.location_button) and reply.buttons:
        # A message carries one keyboard: the contact button goes below, the inline row above.
        await bot.send_message(
            reply.chat_id, reply.text, reply_markup=_markup(Reply(0, "", buttons=reply.buttons))
        )
        await bot.send_message(reply.chat_id, "👇", reply_markup=markup)
        return
    await bot.send_message(reply.chat_id, reply.text, reply_markup=markup)


async def commit_and_send(
    bot: Bot, session: AsyncSession, outcome: Outcome, query: CallbackQuery | None = None
) -> None:
    """Commit the update's work, then answer: nothing is shown that was not saved.

    The update is marked processed in the same transaction (a redelivery is dropped).
    When Telegram cannot be reached (5xx, flood control, network, timeout) the reply and
    those after it go to the outbox, whose sender retries them in order: the person
    still gets the next question once Telegram is back."""
    await record_processed(session)
    await session.commit()
    if query is not None:
        try:
            await query.answer(outcome.notice, show_alert=outcome.alert)
        except TelegramAPIError as exc:  # only the button's spinner; the replies matter
            log.info("button press not answered: %s", exc.__class__.__name__)
    replies = list(outcome.replies)
    shown = query.message if query is not None and isinstance(query.message, Message) else None
    for index, reply in enumerate(replies):
        try:
            await send(bot, reply, shown)
        except _UNREACHABLE as exc:
            later = [r for r in replies[index:] if r.file_data is None]
            post(session, later, "reply")
            await session.commit()
            log.warning(
                "Telegram unreachable (%s): %s reply(ies) queued for retry",
                exc.__class__.__name__, len(later),
            )  # fmt: skip
            return
        except TelegramAPIError as exc:
            # One unreachable reviewer must not stop the others from hearing of the report.
            log.warning(
                "could not deliver a message to chat %s: %s", reply.chat_id, exc.__class__.__name__
            )
