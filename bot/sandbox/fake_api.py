"""A local server speaking the Telegram Bot API, for end-to-end tests and the sandbox.

Self-contained: only ``aiohttp`` and the standard library are used (no pytest, no
aiogram), so ``lapor-warga sandbox`` runs the real bot against it.

The real aiogram ``Bot`` talks to it over HTTP::

    api = FakeBotAPI()
    await api.start()
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(token=api.token, session=session)
    ...
    alice = api.user(1001, "Alice")
    await alice.send_text("/start")
    msg = await alice.next_message()
    await alice.press("Ya")
    ...
    await bot.session.close()
    await api.stop()

Requests are validated the way Telegram validates them (message length, HTML entities,
inline keyboards, unknown chats, "message is not modified", stale callback queries...)
and rejected with the same HTTP status and description, so aiogram raises its own
exceptions (``TelegramBadRequest`` and friends).

Faults: ``fail_next`` answers the next calls of one method with an error;
``FakeBotAPI(flood_limit=30)`` enforces Telegram's global flood control (429 "retry
after N" over 30 messages in any second); ``api.outage("500" | "429" | "timeout")``
fails every request for a while. None of them has a side effect on a refused call.

Webhooks: once the bot calls ``setWebhook`` (``http://`` is accepted for loopback hosts),
the queued updates are POSTed to it as Telegram does (secret header, retries with
back-off, one update at a time per chat, at most ``max_connections`` in flight) and
``getUpdates`` answers 409. Tests can spread deliveries over several bot processes
(``api.webhook_targets``), redeliver an update (``api.redeliver``) and inspect every
attempt (``api.webhook_deliveries``); see "Webhook delivery" in :class:`FakeBotAPI`.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import ipaddress
import itertools
import json
import math
import mimetypes
import random
import re
import secrets
import struct
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

__all__ = [
    "OUTAGE_MODES",
    "SAMPLE_PNG",
    "FakeBotAPI",
    "HTMLParseError",
    "Message",
    "Outage",
    "Person",
    "StoredFile",
    "TelegramError",
    "WebhookDelivery",
    "make_png",
    "parse_html",
    "utf16_len",
]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"

# Update types Telegram delivers when allowed_updates is empty / never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "media",
        "menu_button",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "message_ids",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

# What the flood limit counts (lower case): every method that posts a message to a chat or
# changes one, as Telegram's "about 30 messages a second" does. sendMediaGroup counts each
# item, copyMessages/forwardMessages each message. Not counted: getUpdates and the other
# get* methods, answerCallbackQuery, sendChatAction, deleteMessage(s), the set* methods.
FLOOD_COUNTED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendmediagroup",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendvoice",
        "sendvideonote",
        "sendsticker",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "copymessages",
        "forwardmessage",
        "forwardmessages",
        "editmessagetext",
        "editmessagecaption",
        "editmessagemedia",
        "editmessagereplymarkup",
        "editmessagelivelocation",
    }
)
OUTAGE_MODES = ("500", "429", "timeout")
OUTAGE_HANG = 60.0  # seconds a "timeout" outage holds a request at most (aiogram's default)


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram counts)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def make_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid, tiny, solid-colour PNG image."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


SAMPLE_PNG = make_png()


def _image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG image, or None if not recognised."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return width, height
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(content):
            if content[i] != 0xFF:
                i += 1
                continue
            marker = content[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            (length,) = struct.unpack(">H", content[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", content[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


def _image_ext(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return "png"
    return "jpg"


def _now() -> int:
    return int(time.time())


class TelegramError(Exception):
    """Raised inside method handlers; becomes an ``{"ok": false, ...}`` response."""

    def __init__(self, description: str, status: int = 400, retry_after: int | None = None):
        super().__init__(description)
        self.description = description
        self.status = status
        self.retry_after = retry_after


# --------------------------------------------------------------------------------------
# Telegram's HTML parse mode (a port of tdlib's strict parser)
# --------------------------------------------------------------------------------------


class HTMLParseError(ValueError):
    """The text is not valid Telegram HTML; str(err) is the reason Telegram gives."""


_SPACES = " \t\r\n\0\v\f"
_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,9})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]+));?")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_TOKEN_RE = re.compile(r"[A-Za-z0-9.\-]*")


def _decode_html_entity(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (visible text, message entities).

    Follows tdlib's parser: supported tags only, properly nested and closed, a ``<`` that
    does not start a supported tag is an error, a bare ``>`` is allowed. ``&`` must start
    ``&lt; &gt; &amp; &quot;`` or a numeric character reference; tdlib itself keeps an
    unknown ``&`` literally, which is what ``strict_ampersand=False`` does.
    Entity offsets/lengths are in UTF-16 code units. Raises :class:`HTMLParseError`.
    """
    n = len(text)

    def at(j: int) -> str:
        return text[j] if j < n else "\0"

    def byte_offset(j: int) -> int:
        return len(text[:j].encode("utf-8", "surrogatepass"))

    out: list[str] = []
    utf16 = 0
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            decoded = _decode_html_entity(match)
            if decoded is not None and match is not None:
                out.append(decoded)
                utf16 += utf16_len(decoded)
                i = match.end()
                continue
            if strict_ampersand:
                raise HTMLParseError(
                    f'Unsupported HTML entity at byte offset {byte_offset(i)}: a literal "&" '
                    'must be escaped as "&amp;"'
                )
        if c != "<":
            out.append(c)
            utf16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        if at(i + 1) != "/":
            # start tag
            i += 1
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise HTMLParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _TAGS:
                raise HTMLParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            attrs: dict[str, str] = {}
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise HTMLParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                attr_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attr_name = text[attr_begin:i].lower()
                if not attr_name:
                    raise HTMLParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        attrs["expandable"] = ""
                        continue
                    raise HTMLParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise HTMLParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                if at(i) not in "'\"":
                    token = _NAME_TOKEN_RE.match(text, i)
                    assert token is not None
                    value = token.group(0).lower()
                    token_begin = i
                    i = token.end()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise HTMLParseError(
                            f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    buf: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            match = _HTML_ENTITY_RE.match(text, i)
                            decoded = _decode_html_entity(match)
                            if decoded is not None and match is not None:
                                buf.append(decoded)
                                i = match.end()
                                continue
                        buf.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(buf)
                if i >= n:
                    raise HTMLParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attrs[attr_name] = value
            i += 1  # '>'
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise HTMLParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            stack.append((tag, attrs, utf16))
            continue

        # end tag
        if not stack:
            raise HTMLParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 2
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise HTMLParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        tag, attrs, start = stack.pop()
        if end_name and end_name != tag:
            raise HTMLParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        length = utf16 - start
        if tag == "code" and stack and stack[-1][0] == "pre":
            # <pre><code class="language-x">: tdlib folds the code into the pre entity.
            language = attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1][1]["language"] = language[len("language-") :]
            continue
        if length <= 0:
            continue
        entity: dict[str, Any] = {"type": _TAG_ENTITY[tag], "offset": start, "length": length}
        if tag == "a":
            href = attrs.get("href", "")
            if not href:
                continue
            entity["url"] = href
        elif tag == "tg-emoji":
            emoji_id = attrs.get("emoji-id", "")
            if not emoji_id:
                continue
            entity["custom_emoji_id"] = emoji_id
        elif tag == "pre":
            if attrs.get("language"):
                entity["language"] = attrs["language"]
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        entities.append(entity)

    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


# --------------------------------------------------------------------------------------
# Data objects
# --------------------------------------------------------------------------------------


@dataclass
class StoredFile:
    """A file the fake knows about (sent by a Person or uploaded by the bot)."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    kind: str  # "photo" | "document"
    file_name: str | None = None
    mime_type: str | None = None
    photo_sizes: list[dict[str, Any]] | None = None  # the PhotoSize group this file belongs to

    @property
    def file_size(self) -> int:
        return len(self.content)

    def as_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc


@dataclass(eq=False)
class Message:
    """A message in a private chat, as the fake stores it.

    ``text`` is the text (or caption) exactly as the bot sent it, i.e. still with HTML
    markup when ``parse_mode`` is HTML; ``plain_text`` is what the user sees (markup
    removed, entities decoded) and ``entities`` the parsed entities.  Edits update the
    object in place: ``text``/``plain_text``/``reply_markup`` always show the latest
    version, ``edited`` counts the edits and ``history`` keeps earlier versions.
    """

    message_id: int
    chat_id: int
    text: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    photo_file_id: str | None = None
    document_file_id: str | None = None
    date: int = 0
    edited: int = 0
    plain_text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "text"  # "text" | "photo" | "document" | "contact" | "location"
    from_bot: bool = True
    deleted: bool = False
    edit_date: int | None = None
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    document_file_name: str | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] | None = None  # for messages sent by a Person: the update payload

    @property
    def caption(self) -> str | None:
        return self.text if self.kind in ("photo", "document") else None

    def shows(self, fragment: str) -> bool:
        """True if ``fragment`` occurs in the raw text or in the visible text."""
        return any(fragment in t for t in (self.text, self.plain_text) if t is not None)

    def buttons(self) -> list[str]:
        """Texts of all inline keyboard buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button.get("text", "") for row in rows for button in row]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button with exactly this text (AssertionError listing the others)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        for row in rows:
            for button in row:
                if button.get("text") == text:
                    return button
        raise AssertionError(
            f"message {self.message_id} in chat {self.chat_id} has no inline button {text!r}; "
            f"available: {self.buttons()!r} (text: {self.text!r})"
        )

    def find_button(self, text: str, *, stale: bool = False) -> dict[str, Any] | None:
        """The inline button with this text, or None; ``stale`` also searches the
        keyboards of earlier versions of the message (newest first)."""
        markups = [self.reply_markup]
        if stale:
            markups += [version.get("reply_markup") for version in reversed(self.history)]
        for markup in markups:
            for row in (markup or {}).get("inline_keyboard") or []:
                for button in row:
                    if button.get("text") == text:
                        return button
        return None

    def reply_buttons(self) -> list[dict[str, Any]]:
        """Buttons of a reply keyboard, flattened; plain strings become ``{"text": ...}``."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, dict) else {"text": str(b)} for row in rows for b in row]

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))

    def describe(self) -> str:
        who = "bot" if self.from_bot else "user"
        flags = []
        if self.kind != "text":
            flags.append(self.kind)
        if self.edited:
            flags.append(f"edited x{self.edited}")
        if self.deleted:
            flags.append("deleted")
        line = f"#{self.message_id} {who}"
        if flags:
            line += f" ({', '.join(flags)})"
        line += f": {self.text!r}"
        if self.buttons():
            line += f" buttons={self.buttons()!r}"
        elif self.reply_buttons():
            line += f" keyboard={[b.get('text') for b in self.reply_buttons()]!r}"
        elif self.removes_keyboard:
            line += " [removes keyboard]"
        return line


_USE_OWN_ID: Any = object()


class Person:
    """A Telegram user talking to the bot in a private chat (chat_id == user_id)."""

    def __init__(
        self,
        api: FakeBotAPI,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None = "id",
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self.api = api
        self.user_id = user_id
        self.chat_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False  # set True to make the bot's sends fail with 403
        self.messages: list[Message] = []  # bot -> this chat, in order
        self.user_messages: list[Message] = []  # this person -> bot, in order
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_actions: list[str] = []
        self.last_pressed: Message | None = None
        self.last_query_id: str | None = None
        self._pressed_edit_count = 0
        self._cursor = 0
        self._ids = itertools.count(1)
        self._store: dict[int, Message] = {}

    def __repr__(self) -> str:
        return f"<Person {self.first_name} id={self.user_id}>"

    # ---- Telegram object shapes -------------------------------------------------------

    def user_dict(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat_dict(self) -> dict[str, Any]:
        chat: dict[str, Any] = {
            "id": self.chat_id,
            "type": "private",
            "first_name": self.first_name,
        }
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    # ---- sending updates -----------------------------------------------------------------

    def _incoming(self, kind: str, **content: Any) -> int:
        message_id = next(self._ids)
        payload: dict[str, Any] = {
            "message_id": message_id,
            "from": self.user_dict(),
            "chat": self.chat_dict(),
            "date": _now(),
            **content,
        }
        text = content.get("text", content.get("caption"))
        msg = Message(
            message_id=message_id,
            chat_id=self.chat_id,
            text=text,
            plain_text=text,
            date=payload["date"],
            kind=kind,
            from_bot=False,
            raw=payload,
            media_group_id=content.get("media_group_id"),
        )
        if kind == "photo":
            msg.photo = content["photo"]
            msg.photo_file_id = content["photo"][-1]["file_id"]
        elif kind == "document":
            msg.document = content["document"]
            msg.document_file_id = content["document"]["file_id"]
            msg.document_file_name = content["document"].get("file_name")
        self._store[message_id] = msg
        self.user_messages.append(msg)
        self.api._queue_update({"message": payload})
        return message_id

    async def send_text(self, text: str) -> int:
        """Send a text message; a leading /command gets a ``bot_command`` entity."""
        content: dict[str, Any] = {"text": text}
        command = re.match(r"/\S+", text)
        if command:
            length = utf16_len(command.group(0))
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._incoming("text", **content)

    async def send_contact(
        self,
        phone_number: str,
        *,
        user_id: int | None = _USE_OWN_ID,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> int:
        """Share a contact; by default the person's own (``user_id`` = own id).

        Pass another ``user_id`` (or None for a contact without user_id) to simulate
        sharing someone else's contact.
        """
        own = user_id is _USE_OWN_ID
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or (self.first_name if own else "Kontak"),
        }
        surname = last_name if last_name is not None else (self.last_name if own else None)
        if surname:
            contact["last_name"] = surname
        uid = self.user_id if own else user_id
        if uid is not None:
            contact["user_id"] = uid
        return self._incoming("contact", contact=contact)

    async def send_photo(
        self,
        content: bytes = SAMPLE_PNG,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> int:
        """Send a photo (2 PhotoSize entries); getFile/download serve ``content``."""
        sizes = self.api._register_photo(content)
        payload: dict[str, Any] = {"photo": sizes}
        if caption:
            payload["caption"] = caption
        if media_group_id:
            payload["media_group_id"] = media_group_id
        return self._incoming("photo", **payload)

    async def send_document(
        self, content: bytes, file_name: str, mime_type: str, caption: str | None = None
    ) -> int:
        stored = self.api._register_file(
            content, kind="document", file_name=file_name, mime_type=mime_type
        )
        payload: dict[str, Any] = {"document": stored.as_document()}
        if caption:
            payload["caption"] = caption
        return self._incoming("document", **payload)

    async def send_location(self, latitude: float, longitude: float) -> int:
        return self._incoming("location", location={"latitude": latitude, "longitude": longitude})

    def raw_message(self, **content: Any) -> dict[str, Any]:
        """A message object from this person in their private chat, with a new message id
        (for :meth:`send_raw_update`): ``raw_message(sticker={...})``; pass ``chat`` to
        place it elsewhere, e.g. in a group."""
        return {
            "message_id": next(self._ids),
            "from": self.user_dict(),
            "chat": self.chat_dict(),
            "date": _now(),
            **content,
        }

    async def send_raw_update(self, payload: dict[str, Any]) -> int:
        """Queue any update as it is, e.g. ``{"message": person.raw_message(voice=...)}``,
        ``{"edited_message": ...}``, ``{"my_chat_member": ...}``, ``{"channel_post": ...}``;
        returns its update_id. The bot receives it only if its ``allowed_updates`` do."""
        return self.api._queue_update(payload)["update_id"]

    async def press(
        self, button_text: str, message: Message | None = None, *, stale: bool = False
    ) -> str:
        """Press an inline button; returns the callback query id.

        Uses ``message`` or else the newest (not deleted) bot message in this chat that
        has a button with exactly this text. The button must be on the message's current
        keyboard; ``stale=True`` also accepts a button from a keyboard the bot has since
        edited away (a user tapping an outdated message, e.g. a double tap).
        """
        button: dict[str, Any] | None = None
        if message is None:
            for candidate in reversed(self.messages):
                if not candidate.deleted:
                    button = candidate.find_button(button_text, stale=stale)
                    if button is not None:
                        message = candidate
                        break
            else:
                available = [
                    f"#{m.message_id}: {m.buttons()!r}"
                    for m in self.messages
                    if m.buttons() and not m.deleted
                ]
                raise AssertionError(
                    f"{self!r}: no message in the chat has an inline button {button_text!r}. "
                    f"Buttons available: {available or 'none'}\nChat so far:\n" + self.transcript()
                )
        else:
            if message.deleted:
                raise AssertionError(f"{self!r}: message {message.message_id} was deleted")
            button = message.find_button(button_text, stale=stale)
            if button is None:
                hint = ""
                if not stale and message.find_button(button_text, stale=True) is not None:
                    hint = " (it was on an earlier version; pass stale=True to tap it anyway)"
                raise AssertionError(
                    f"message {message.message_id} in chat {message.chat_id} has no inline "
                    f"button {button_text!r}{hint}; available: {message.buttons()!r} "
                    f"(text: {message.text!r})"
                )
        assert message is not None and button is not None
        if "callback_data" not in button:
            raise AssertionError(f"button {button_text!r} is not a callback button: {button!r}")
        return self._callback_query(message, button["callback_data"])

    async def press_data(self, data: str, message: Message | None = None) -> str:
        """Send a callback query with arbitrary ``data``, as a forged or altered client
        could (no such button needs to exist); returns the callback query id.

        The query comes from ``message`` or else the newest (not deleted) bot message in
        this chat; the chat needs at least one message from the bot."""
        if message is None:
            message = next((m for m in reversed(self.messages) if not m.deleted), None)
            if message is None:
                raise AssertionError(f"{self!r}: no bot message to attach a callback query to")
        return self._callback_query(message, data)

    def _callback_query(self, message: Message, data: str) -> str:
        query_id = self.api._new_query_id(self)
        self.last_pressed = message
        self.last_query_id = query_id
        self._pressed_edit_count = message.edited
        self.api._queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user_dict(),
                    "message": self.api._message_dict(message),
                    "chat_instance": str(-(10**12) - self.chat_id),
                    "data": data,
                }
            }
        )
        return query_id

    # ---- observing the bot -----------------------------------------------------------------

    def chat(self) -> list[Message]:
        """Every message of the chat, both directions, in order (edits applied in place)."""
        return [self._store[key] for key in sorted(self._store)]

    def transcript(self) -> str:
        """Everything in the chat so far (both directions), one line per message."""
        if not self._store:
            return "  (nothing)"
        ordered = sorted(self._store.values(), key=lambda m: m.message_id)
        consumed = {id(m) for m in self.messages[: self._cursor]}
        lines = []
        for m in ordered:
            mark = " [consumed]" if id(m) in consumed else ""
            lines.append(f"  {m.describe()}{mark}")
        return "\n".join(lines)

    async def next_message(self, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """The next new message the bot sent to this chat that was not consumed yet."""
        if not await self.api._wait_until(lambda: self._cursor < len(self.messages), timeout):
            raise AssertionError(
                f"{self!r}: no new message from the bot within {timeout}s. "
                f"Chat so far:\n{self.transcript()}"
            )
        msg = self.messages[self._cursor]
        self._cursor += 1
        return msg

    async def expect(self, contains: str, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """Consume messages until one whose text (raw or visible) contains ``contains``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen: list[str | None] = []
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self.api._wait_until(
                lambda: self._cursor < len(self.messages), remaining
            ):
                raise AssertionError(
                    f"{self!r}: no message containing {contains!r} within {timeout}s; "
                    f"texts seen meanwhile: {seen!r}\nChat so far:\n{self.transcript()}"
                )
            msg = self.messages[self._cursor]
            self._cursor += 1
            if msg.shows(contains):
                return msg
            seen.append(msg.text)

    async def expect_no_message(self, within: float = 0.5) -> None:
        """Fail if the bot sends anything new to this chat within ``within`` seconds."""
        if await self.api._wait_until(lambda: self._cursor < len(self.messages), within):
            unexpected = self.messages[self._cursor :]
            self._cursor = len(self.messages)
            raise AssertionError(
                f"{self!r}: expected no message, got {[m.text for m in unexpected]!r}"
            )

    async def expect_edit(
        self,
        contains: str | None = None,
        *,
        message: Message | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        """Wait until a message is edited (and, if given, shows ``contains``).

        The default message is the one last pressed (it must get a new edit after the
        press), else the newest bot message (it must have been edited at least once).
        """
        target = message or self.last_pressed or (self.messages[-1] if self.messages else None)
        if target is None:
            raise AssertionError(f"{self!r}: no bot message to wait for an edit on")
        baseline = self._pressed_edit_count if target is self.last_pressed else 0

        def done() -> bool:
            return target.edited > baseline and (contains is None or target.shows(contains))

        if not await self.api._wait_until(done, timeout):
            raise AssertionError(
                f"{self!r}: message {target.message_id} was not edited"
                + (f" to contain {contains!r}" if contains else "")
                + f" within {timeout}s; it shows {target.text!r} "
                f"(edited {target.edited}x). Chat so far:\n{self.transcript()}"
            )
        return target

    async def wait_callback_answer(
        self,
        query_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The answerCallbackQuery params for ``query_id`` (default: the last press)."""
        query_id = query_id or self.last_query_id
        if query_id is None:
            raise AssertionError(f"{self!r} has not pressed any button")

        def find() -> dict[str, Any] | None:
            for answer in self.callback_answers:
                if answer["callback_query_id"] == query_id:
                    return answer
            return None

        if not await self.api._wait_until(lambda: find() is not None, timeout):
            raise AssertionError(
                f"{self!r}: callback query {query_id} was not answered within {timeout}s"
            )
        answer = find()
        assert answer is not None
        return answer

    def last(self) -> Message:
        """The newest message the bot sent to this chat (does not move the cursor)."""
        if not self.messages:
            raise AssertionError(f"{self!r}: the bot has not sent anything to this chat")
        return self.messages[-1]

    def block(self) -> None:
        """The user blocks the bot: sends to this chat fail with 403."""
        self.blocked = True


# --------------------------------------------------------------------------------------
# HTTP request parameters
# --------------------------------------------------------------------------------------


@dataclass
class _Upload:
    filename: str | None
    content: bytes
    content_type: str | None


class _Params:
    def __init__(
        self, values: dict[str, Any], files: dict[str, _Upload], request: web.Request
    ) -> None:
        self.values = values
        self.files = files
        self.request = request

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.files

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise TelegramError(f"Bad Request: invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes")

    def get_json(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise TelegramError(f"Bad Request: can't parse {name} JSON object") from None

    def loggable(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in self.values.items():
            if key in _JSON_PARAMS and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            result[key] = value
        for key, upload in self.files.items():
            result.setdefault(key, {"filename": upload.filename, "size": len(upload.content)})
            if key in self.values:
                result[f"{key}:file"] = {"filename": upload.filename, "size": len(upload.content)}
        return result


# --------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------

_Handler = Callable[[_Params], Awaitable[Any]]


class WebhookDelivery(NamedTuple):
    """One webhook POST of an update (``FakeBotAPI.webhook_deliveries``, in the order
    the attempts ended).

    ``result`` is the HTTP status the receiver answered, or the failure, as Telegram
    words it in getWebhookInfo: "Connection refused", "Read timeout expired", "Webhook
    connection closed", ...; "cancelled" when deleteWebhook or ``stop()`` aborted it."""

    update_id: int
    target: str
    result: int | str

    @property
    def ok(self) -> bool:
        return isinstance(self.result, int) and 200 <= self.result < 300


WEBHOOK_STRATEGIES = ("round_robin", "random")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
# Methods Telegram does not run when a webhook answer names them (nor any get* method).
_WEBHOOK_REPLY_REFUSED = frozenset({"setwebhook", "deletewebhook", "close", "logout"})
# Update types Telegram's Bot API server queues per chat; the others are queued per
# sender and type (callback queries of a user apart from the user's messages).
_CHAT_QUEUED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
    }
)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _webhook_queue_key(update: dict[str, Any], ordering: str) -> tuple[str, Any] | None:
    """The delivery queue of ``update``: one update of a queue at a time, in order.

    ``ordering="telegram"`` follows Telegram's Bot API server: messages (and edits,
    channel posts) are queued by chat; callback queries, inline queries, shipping and
    pre-checkout queries by sender, one queue per type; polls by poll. ``"chat"`` puts
    every update of a chat (else of a sender) in one queue. None: no queue (sent freely).
    """
    kind = next((key for key in update if key != "update_id"), "")
    payload = update.get(kind)
    if not isinstance(payload, dict):
        return None

    def ident(obj: Any, key: str) -> Any:
        inner = obj.get(key) if isinstance(obj, dict) else None
        return inner.get("id") if isinstance(inner, dict) else None

    chat_id = ident(payload, "chat")
    if chat_id is None:
        chat_id = ident(payload.get("message"), "chat")  # callback_query
    sender_id = ident(payload, "from")
    if sender_id is None:
        sender_id = ident(payload, "user")
    if ordering == "chat":
        who = chat_id if chat_id is not None else sender_id
        return None if who is None else ("chat", who)
    if kind in _CHAT_QUEUED_UPDATES:
        own_chat = ident(payload, "chat")
        return None if own_chat is None else ("chat", own_chat)
    if kind == "poll":
        return ("poll", payload.get("id"))
    if kind == "poll_answer":
        return ("poll", payload.get("poll_id"))
    family = "payment" if kind in ("shipping_query", "pre_checkout_query") else kind
    who = sender_id if sender_id is not None else chat_id
    return None if who is None else (family, who)


def _retry_after_header(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _parse_webhook_reply(
    content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, _Upload]]:
    """The parameters of a Bot API call in a webhook's answer (JSON, URL-encoded or
    multipart, as Telegram accepts); empty when there is none."""
    mime = content_type.split(";", 1)[0].strip().lower()
    values: dict[str, Any] = {}
    files: dict[str, _Upload] = {}
    if not body.strip():
        return values, files
    if mime == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return values, files
        if isinstance(data, dict):
            values.update(data)
    elif mime == "application/x-www-form-urlencoded":
        values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            return values, files
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                continue
            content = part.get_payload(decode=True)
            content = content if isinstance(content, bytes) else b""
            filename = part.get_filename()
            if filename is None:
                values[name] = content.decode(part.get_content_charset() or "utf-8", "replace")
            else:
                files[name] = _Upload(filename, content, part.get_content_type())
    return values, files


class Outage:
    """A failure window of a :class:`FakeBotAPI` (made by :meth:`FakeBotAPI.outage`).

    While it is active every request, whatever its method or token, is answered by the
    failure instead of the method, so nothing happens: no message is stored, getUpdates
    confirms and delivers nothing. It ends after its ``seconds``, on :meth:`end`, or when
    a ``with`` block around it exits. ``requests`` lists the methods it answered."""

    def __init__(
        self,
        api: FakeBotAPI,
        mode: str,
        seconds: float | None,
        retry_after: int | None,
        hang: float,
    ) -> None:
        if mode not in OUTAGE_MODES:
            raise ValueError(f"outage mode must be one of {OUTAGE_MODES}, not {mode!r}")
        if seconds is not None and seconds <= 0:
            raise ValueError("an outage lasts a positive number of seconds")
        self.api = api
        self.mode = mode
        self.retry_after = retry_after
        self.hang = hang
        self.started = api.clock()
        self.until = None if seconds is None else self.started + seconds
        self.ended = False
        self.requests: list[str] = []

    @property
    def active(self) -> bool:
        return not self.ended and (self.until is None or self.api.clock() < self.until)

    def end(self) -> None:
        self.ended = True
        self.api._notify()

    def __enter__(self) -> Outage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def _retry_after(self) -> int:
        if self.retry_after is not None:
            return self.retry_after
        if self.until is None:
            return 1
        return max(1, math.ceil(self.until - self.api.clock()))

    async def answer(self, method: str, request: web.Request) -> web.StreamResponse:
        self.requests.append(method)
        if self.mode == "500":
            return self.api._error(method, 500, "Internal Server Error")
        if self.mode == "429":
            retry_after = self._retry_after()
            return self.api._error(
                method, 429, f"Too Many Requests: retry after {retry_after}", retry_after
            )
        # "timeout": no answer. Held until the client gives up (aiohttp then cancels this
        # handler), the server stops, or ``hang`` seconds pass; then the connection is
        # dropped without a response.
        await self.api._wait_until(lambda: self.api._closing, self.hang)
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError


class FakeBotAPI:
    """An in-process fake Telegram Bot API server (see module docstring)."""

    def __init__(
        self,
        token: str = "123456:TEST-fake-token",
        bot_username: str = "lapor_warga_test_bot",
        bot_id: int | None = None,
        *,
        bot_first_name: str = "Lapor Warga (test)",
        strict_html: bool = True,
        flood_limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        if bot_id is None:
            head = token.split(":", 1)[0]
            bot_id = int(head) if head.isdigit() else 123456
        self.bot_id = bot_id
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        # Telegram keeps a bare "&" literally; strict mode rejects it to catch unescaped input.
        self.strict_html = strict_html

        self.sent: list[Message] = []
        self.rejected: list[tuple[str, str]] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []  # every update ever queued
        self.dropped_updates: list[dict[str, Any]] = []  # filtered out by allowed_updates
        self.files: dict[str, StoredFile] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        # (name | description | short_description, language_code or "") -> text
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.webhook_url = ""
        self.allowed_updates: list[str] = []
        # Webhook delivery (see "Webhook delivery" below). What the bot registered:
        self.webhook_secret_token: str | None = None
        self.webhook_max_connections = 40
        self.webhook_last_error_date: int | None = None
        self.webhook_last_error_message: str | None = None
        # Knobs for tests: where deliveries really go (as if behind a load balancer; empty:
        # the registered URL) and how a target is chosen for each attempt...
        self.webhook_targets: list[str] = []
        self.webhook_strategy: str | Callable[[dict[str, Any], list[str]], str] = "round_robin"
        self.webhook_random = random.Random()
        # ...timings (Telegram: about 60 s per request; retries after 0, 2, 4... s up to
        # 60-120 s), the delivery queues ("telegram" or "chat", see _webhook_queue_key),
        # and a guard against POSTing to anything but this machine.
        self.webhook_timeout = 10.0
        self.webhook_retry_delay = 0.05  # the first back-off, doubled per failure...
        self.webhook_retry_max_delay = 1.0  # ...up to this; Retry-After is capped by it too
        self.webhook_ordering = "telegram"
        self.webhook_local_only = True
        self.webhook_deliveries: list[WebhookDelivery] = []  # every attempt, as it ended
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_inflight: dict[int, tuple[Any, asyncio.Task[None]]] = {}
        self._webhook_failures: dict[int, int] = {}  # update_id -> failed attempts so far
        self._webhook_retry_at: dict[int, float] = {}  # update_id -> loop time of next try
        self._webhook_rr = itertools.count()
        self.internal_errors: list[str] = []
        # Telegram's global flood control: at most ``flood_limit`` messages (see
        # FLOOD_COUNTED_METHODS) in any one second, across all chats; more get a 429.
        if flood_limit is not None and flood_limit <= 0:
            raise ValueError("flood_limit must be positive")
        self.flood_limit = flood_limit
        self.clock = clock  # seconds, for the flood limit and outages (tests pass their own)
        self.flood_rejections = 0  # 429s answered by the flood limit
        self.outages: list[Outage] = []  # every outage, the last one current

        self._persons: dict[int, Person] = {}
        self._pending: list[dict[str, Any]] = []  # queued, not yet confirmed
        self._update_ids = itertools.count(1)
        self._delivered_upto = 0
        self._poll_generation = 0
        self._open_queries: dict[str, Person] = {}
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._media_groups = itertools.count(1)
        self._failures: dict[str, list[tuple[int, str, int | None]]] = {}
        self._flood_window: deque[float] = deque()  # when the last second's messages came
        self._flood_until = -math.inf  # a 429 told to wait until then: sends refused
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._methods: dict[str, tuple[str, _Handler]] = {}
        for attr in dir(self):
            if attr.startswith("_api_"):
                name = attr[len("_api_") :]
                self._methods[name.lower()] = (name, getattr(self, attr))

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeBotAPI is not started; await api.start() first")
        return self._base_url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI already started")
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_port = runner.addresses[0][1]
        self._base_url = f"http://{host}:{bound_port}"

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._notify()
        await self._stop_webhook_delivery()
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._base_url = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- test-facing helpers -------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None = "id",
        last_name: str | None = None,
        username: str | None = None,
    ) -> Person:
        """The Person with this id (created on first call; the bot can then message it)."""
        existing = self._persons.get(user_id)
        if existing is not None:
            return existing
        person = Person(
            self,
            user_id,
            first_name,
            language_code=language_code,
            last_name=last_name,
            username=username,
        )
        self._persons[user_id] = person
        return person

    @property
    def persons(self) -> dict[int, Person]:
        return dict(self._persons)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with this error (no side effects)."""
        key = method.lower()
        self._failures.setdefault(key, []).extend([(status, description, retry_after)] * count)

    def outage(
        self,
        mode: str,
        seconds: float | None = None,
        *,
        retry_after: int | None = None,
        hang: float = OUTAGE_HANG,
    ) -> Outage:
        """Fail every request (getUpdates too) from now on, without side effects, for
        ``seconds``, or until ``end()`` or the end of a ``with`` block around it:

        * ``"500"``: HTTP 500 "Internal Server Error";
        * ``"429"``: "Too Many Requests: retry after N", N = ``retry_after``, else the
          seconds left of the outage rounded up (1 when it has no end);
        * ``"timeout"``: no answer; the request is held until the client gives up, the
          server stops, or ``hang`` seconds pass, and then dropped.

        A new outage ends the current one. ::

            with api.outage("500"):
                ...  # every call fails
            api.outage("timeout", seconds=3)  # ends by itself
        """
        current = self.current_outage
        if current is not None:
            current.end()
        outage = Outage(self, mode, seconds, retry_after, hang)
        self.outages.append(outage)
        return outage

    @property
    def current_outage(self) -> Outage | None:
        if self.outages and self.outages[-1].active:
            return self.outages[-1]
        return None

    def file_content(self, file_id: str) -> bytes:
        return self.files[file_id].content

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Params of every call of ``method`` (case-insensitive), in order."""
        return [params for name, params in self.requests if name.lower() == method.lower()]

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return it."""
        result: list[Any] = []

        def check() -> bool:
            value = predicate()
            if value:
                result.append(value)
                return True
            return False

        if not await self._wait_until(check, timeout):
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        return result[-1]

    async def wait_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has called getUpdates at least once."""
        await self.wait_for(lambda: self.calls("getUpdates"), timeout, "the bot to poll")

    async def wait_webhook(self, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        """Wait until the bot has set a webhook (setWebhook with a URL); return its URL."""
        return str(await self.wait_for(lambda: self.webhook_url, timeout, "the bot's setWebhook"))

    async def wait_webhook_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the webhook has got (with a 2xx) every update queued so far."""
        if not await self._wait_until(
            lambda: not self._webhook_inflight and not self._deliverable(), timeout
        ):
            raise AssertionError(
                f"timed out after {timeout}s waiting for the webhook to take every update: "
                f"{len(self._pending)} pending, webhook {self.webhook_url!r}, last error "
                f"{self.webhook_last_error_message!r}"
            )

    async def redeliver(self, update_id: int, target: str | None = None) -> int | str:
        """POST update ``update_id`` to the webhook once more, now, as Telegram does when
        it got no answer in time, e.g. from a slow bot process: the update may reach a
        second process while the first still handles it.

        It goes to ``target`` or else to the next target the strategy picks (see
        ``webhook_targets``), with the secret header; it is recorded in
        ``webhook_deliveries`` and leaves the queue alone. Returns the HTTP status or
        the failure (see :class:`WebhookDelivery`)."""
        update = next((u for u in self.updates if u["update_id"] == update_id), None)
        if update is None:
            raise KeyError(f"no update {update_id} was ever queued")
        url = self._webhook_resolve(target) if target else self._webhook_target(update)
        if not url:
            raise RuntimeError("no webhook is set and no target was given")
        async with aiohttp.ClientSession() as session:
            result, _ = await self._webhook_post(session, update, url)
        return result

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, predicate: Callable[[], Any], timeout: float) -> bool:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._changed
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                pass

    def _queue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        self.updates.append(update)
        self._pending.append(update)
        self._notify()
        return update

    def _new_query_id(self, person: Person) -> str:
        query_id = f"{person.user_id}{next(self._query_ids):08d}"
        self._open_queries[query_id] = person
        return query_id

    def _new_file_ids(self, prefix: str) -> tuple[str, str]:
        n = next(self._file_ids)
        file_id = f"{prefix}{n:06d}-{secrets.token_urlsafe(18)}"
        unique = f"AQAD{n:06d}{secrets.token_hex(3)}"
        return file_id, unique

    def _register_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        ext: str | None = None,
    ) -> StoredFile:
        prefix = "AgACAgUAAxk" if kind == "photo" else "BQACAgUAAxk"
        file_id, unique = self._new_file_ids(prefix)
        if ext is None:
            ext = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        folder = "photos" if kind == "photo" else "documents"
        path = f"{folder}/file_{len(self.files)}.{ext}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            file_path=path,
            content=content,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[file_id] = stored
        return stored

    def _register_photo(self, content: bytes) -> list[dict[str, Any]]:
        """Register a photo; returns its PhotoSize list (thumbnail first, largest last)."""
        width, height = _image_size(content) or (1280, 960)
        scale = min(1.0, 90 / max(width, height, 1))
        thumb_w, thumb_h = max(1, round(width * scale)), max(1, round(height * scale))
        ext = _image_ext(content)
        sizes: list[dict[str, Any]] = []
        for w, h in ((thumb_w, thumb_h), (width, height)):
            stored = self._register_file(content, kind="photo", ext=ext)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.file_size,
                    "width": w,
                    "height": h,
                }
            )
            stored.photo_sizes = sizes
        return sizes

    def _chat(self, p: _Params, name: str = "chat_id") -> Person:
        raw = p.get_str(name)
        if raw is None:
            raise TelegramError(f"Bad Request: {name} is empty")
        person: Person | None = None
        if raw.startswith("@"):
            for candidate in self._persons.values():
                if candidate.username and candidate.username.lower() == raw[1:].lower():
                    person = candidate
        else:
            try:
                person = self._persons.get(int(raw))
            except ValueError:
                person = None
        if person is None:
            raise TelegramError("Bad Request: chat not found")
        return person

    @staticmethod
    def _check_writable(person: Person) -> None:
        if person.blocked:
            raise TelegramError("Forbidden: bot was blocked by the user", status=403)

    def _format(
        self,
        text: str,
        parse_mode: str | None,
        entities: Any,
    ) -> tuple[str, list[dict[str, Any]]]:
        if parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    return parse_html(text, strict_ampersand=self.strict_html)
                except HTMLParseError as exc:
                    raise TelegramError(f"Bad Request: can't parse entities: {exc}") from None
            if mode in ("markdown", "markdownv2"):
                return text, []  # not emulated: kept verbatim
            raise TelegramError("Bad Request: unsupported parse_mode")
        if entities is not None and not isinstance(entities, list):
            raise TelegramError("Bad Request: can't parse entities JSON object")
        return text, list(entities or [])

    def _text(self, p: _Params) -> tuple[str, str, list[dict[str, Any]]]:
        text = p.get_str("text")
        if not text:
            raise TelegramError("Bad Request: message text is empty")
        plain, entities = self._format(text, p.get_str("parse_mode"), p.get_json("entities"))
        if not plain.strip():
            raise TelegramError("Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise TelegramError("Bad Request: message is too long")
        return text, plain, entities

    def _caption(self, p: _Params) -> tuple[str | None, str | None, list[dict[str, Any]]]:
        caption = p.get_str("caption")
        if not caption:
            return None, None, []
        plain, entities = self._format(
            caption, p.get_str("parse_mode"), p.get_json("caption_entities")
        )
        if utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise TelegramError("Bad Request: message caption is too long")
        return caption, plain, entities

    def _markup(self, p: _Params, *, inline_only: bool = False) -> dict[str, Any] | None:
        if not p.has("reply_markup"):
            return None
        try:
            markup = p.get_json("reply_markup")
        except TelegramError:
            raise TelegramError(
                "Bad Request: can't parse reply keyboard markup JSON object"
            ) from None
        if not isinstance(markup, dict):
            raise TelegramError("Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup["inline_keyboard"])
            return markup
        if inline_only:
            raise TelegramError("Bad Request: inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise TelegramError("Bad Request: can't parse reply keyboard markup JSON object")
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else (button or {}).get("text")
                    if not isinstance(text, str) or not text:
                        raise TelegramError("Bad Request: keyboard button text must be non-empty")
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise TelegramError("Bad Request: can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise TelegramError("Bad Request: can't parse inline keyboard markup JSON object")
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise TelegramError("Bad Request: can't parse inline keyboard button")
                text = button.get("text")
                if not isinstance(text, str) or not text:
                    raise TelegramError(
                        "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
                    raise TelegramError(
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise TelegramError("Bad Request: BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(
                        r"^(https?|tg|ton)://\S+$", url, re.IGNORECASE
                    ):
                        raise TelegramError("Bad Request: BUTTON_URL_INVALID")

    def _reply_to(self, p: _Params, person: Person) -> int | None:
        reply = p.get_json("reply_parameters")
        allow_missing = p.get_bool("allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = p.get_int("reply_to_message_id")
        if message_id is None:
            return None
        target = person._store.get(int(message_id))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise TelegramError("Bad Request: message to be replied not found")
        return int(message_id)

    def _new_bot_message(self, person: Person, **fields: Any) -> Message:
        message_id = next(person._ids)
        msg = Message(message_id=message_id, chat_id=person.chat_id, date=_now(), **fields)
        person._store[message_id] = msg
        person.messages.append(msg)
        self.sent.append(msg)
        self._notify()
        return msg

    def _message_dict(self, msg: Message, *, with_reply: bool = True) -> dict[str, Any]:
        """The Telegram Message object for ``msg`` (current state)."""
        if msg.raw is not None:
            return msg.raw
        person = self._persons[msg.chat_id]
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user,
            "chat": person.chat_dict(),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if msg.media_group_id:
            data["media_group_id"] = msg.media_group_id
        if with_reply and msg.reply_to_message_id is not None:
            target = person._store.get(msg.reply_to_message_id)
            if target is not None:
                data["reply_to_message"] = self._message_dict(target, with_reply=False)
        if msg.kind == "text":
            data["text"] = msg.plain_text
            if msg.entities:
                data["entities"] = msg.entities
        else:
            if msg.kind == "photo":
                data["photo"] = msg.photo
            elif msg.kind == "document":
                data["document"] = msg.document
            if msg.plain_text:
                data["caption"] = msg.plain_text
                if msg.entities:
                    data["caption_entities"] = msg.entities
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        return data

    def _input_file(self, p: _Params, name: str, kind: str) -> StoredFile | _Upload:
        if name in p.files and not p.get_str(name):
            return p.files[name]
        value = p.get_str(name)
        if not value:
            raise TelegramError(f"Bad Request: there is no {name} in the request")
        return self._resolve_media(value, p, kind)

    def _resolve_media(self, value: str, p: _Params, kind: str) -> StoredFile | _Upload:
        if value.startswith("attach://"):
            upload = p.files.get(value[len("attach://") :])
            if upload is None:
                raise TelegramError(WRONG_FILE_ID)
            return upload
        if value.startswith(("http://", "https://")):
            # The fake cannot fetch URLs.
            raise TelegramError(WRONG_FILE_ID)
        stored = self.files.get(value)
        if stored is None:
            raise TelegramError(WRONG_FILE_ID)
        if stored.kind != kind:
            raise TelegramError(
                f"Bad Request: can't use file of type {stored.kind.title()} as {kind.title()}"
            )
        return stored

    def _photo_sizes(self, source: StoredFile | _Upload) -> list[dict[str, Any]]:
        if isinstance(source, StoredFile):
            assert source.photo_sizes is not None
            return source.photo_sizes
        if not source.content:
            raise TelegramError("Bad Request: IMAGE_PROCESS_FAILED")
        return self._register_photo(source.content)

    def _document(self, source: StoredFile | _Upload) -> dict[str, Any]:
        if isinstance(source, StoredFile):
            return source.as_document()
        file_name = source.filename or "document"
        mime = source.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self._register_file(
            source.content, kind="document", file_name=file_name, mime_type=mime
        )
        return stored.as_document()

    def _editable(self, p: _Params) -> Message:
        if p.has("inline_message_id"):
            raise TelegramError("Bad Request: MESSAGE_ID_INVALID")
        person = self._chat(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise TelegramError("Bad Request: message identifier is not specified")
        msg = person._store.get(message_id)
        if msg is None or msg.deleted:
            raise TelegramError("Bad Request: message to edit not found")
        if not msg.from_bot:
            raise TelegramError("Bad Request: message can't be edited")
        return msg

    @staticmethod
    def _inline(markup: dict[str, Any] | None) -> dict[str, Any] | None:
        return markup if markup and "inline_keyboard" in markup else None

    def _apply_edit(self, msg: Message, **changes: Any) -> dict[str, Any]:
        msg.history.append(
            {
                "text": msg.text,
                "parse_mode": msg.parse_mode,
                "plain_text": msg.plain_text,
                "entities": msg.entities,
                "reply_markup": msg.reply_markup,
            }
        )
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edited += 1
        msg.edit_date = _now()
        self._notify()
        return self._message_dict(msg)

    def _new_markup_after_edit(
        self, msg: Message, new_markup: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        # An edit without reply_markup removes an inline keyboard; reply keyboards stay.
        if new_markup is None and msg.reply_markup and "inline_keyboard" not in msg.reply_markup:
            return msg.reply_markup
        return new_markup

    # ---- HTTP handlers -------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.method != "POST" or not request.can_read_body:
            return values, files
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                values.update(body)
            return values, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = _Upload(value.filename, value.file.read(), value.content_type)
            else:
                values[key] = value
        return values, files

    def _error(
        self, method: str, status: int, description: str, retry_after: int | None = None
    ) -> web.Response:
        self.rejected.append((method, description))
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    @staticmethod
    def _flood_cost(method: str, p: _Params) -> int:
        """How many messages a call counts for the flood limit (0: not counted)."""
        if method not in FLOOD_COUNTED_METHODS:
            return 0
        if method in ("sendmediagroup", "copymessages", "forwardmessages"):
            try:
                items = p.get_json("media" if method == "sendmediagroup" else "message_ids")
            except TelegramError:
                items = None
            return len(items) if isinstance(items, list) and items else 1
        return 1

    def _flood_admit(self, cost: int) -> int | None:
        """Count ``cost`` messages now, or return the seconds to wait (for a 429).

        A sliding window: at most ``flood_limit`` messages in any one second. Over it,
        the call is refused with "retry after N" (the seconds until the window has room,
        rounded up, at least 1), and, as Telegram does, every counted call is refused
        until those N seconds have passed. A refused call is not counted; an admitted
        one is, whether or not it then succeeds."""
        if not cost or self.flood_limit is None:
            return None
        now = self.clock()
        window = self._flood_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if now < self._flood_until:
            return max(1, math.ceil(self._flood_until - now))
        if not window or len(window) + cost <= self.flood_limit:
            window.extend([now] * cost)
            return None
        # The window has room once enough of its oldest messages are a second old.
        must_expire = min(len(window), math.ceil(len(window) + cost - self.flood_limit))
        wait = max(1, math.ceil(window[must_expire - 1] + 1.0 - now))
        self._flood_until = now + wait
        return wait

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        requested = request.match_info["method"]
        entry = self._methods.get(requested.lower())
        name = entry[0] if entry else requested
        try:
            values, files = await self._read_params(request)
        except Exception:  # malformed body: treat as no parameters
            values, files = {}, {}
        params = _Params(values, files, request)
        self.requests.append((name, params.loggable()))
        self._notify()
        outage = self.current_outage
        if outage is not None:
            return await outage.answer(name, request)
        if token != self.token:
            return self._error(name, 401, "Unauthorized")
        if entry is None:
            return self._error(name, 404, "Not Found")
        failures = self._failures.get(name.lower())
        if failures:
            status, description, retry_after = failures.pop(0)
            return self._error(name, status, description, retry_after)
        if self.flood_limit is not None:
            wait = self._flood_admit(self._flood_cost(name.lower(), params))
            if wait is not None:
                self.flood_rejections += 1
                return self._error(name, 429, f"Too Many Requests: retry after {wait}", wait)

        polling = name == "getUpdates"
        try:
            result = await entry[1](params)
        except TelegramError as exc:
            return self._error(name, exc.status, exc.description, exc.retry_after)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the fake: make it loud but keep serving
            self.internal_errors.append(f"{name}: {type(exc).__name__}: {exc}")
            return self._error(name, 500, f"Internal Server Error: {type(exc).__name__}: {exc}")
        finally:
            if not polling:
                self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                if stored.mime_type:
                    content_type = stored.mime_type
                elif stored.kind == "photo":
                    content_type = "image/png" if path.endswith(".png") else "image/jpeg"
                else:
                    content_type = "application/octet-stream"
                return web.Response(body=stored.content, content_type=content_type)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    # ---- Bot API methods (name after "_api_" is the Telegram method name) ---------------

    async def _api_getMe(self, p: _Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_logOut(self, p: _Params) -> bool:
        return True

    async def _api_close(self, p: _Params) -> bool:
        return True

    def _update_type(self, update: dict[str, Any]) -> str:
        return next(key for key in update if key != "update_id")

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _deliverable(self) -> list[dict[str, Any]]:
        allowed = set(self.allowed_updates)
        kept = []
        for update in self._pending:
            kind = self._update_type(update)
            ok = kind in allowed if allowed else kind not in _DEFAULT_EXCLUDED_UPDATES
            if ok:
                kept.append(update)
            else:
                self.dropped_updates.append(update)
        if len(kept) != len(self._pending):
            self._pending = kept
        return kept

    async def _api_getUpdates(self, p: _Params) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise TelegramError(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                status=409,
            )
        offset = p.get_int("offset", 0) or 0
        limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
        timeout = max(p.get_int("timeout", 0) or 0, 0)
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        self._confirm(offset)
        self._poll_generation += 1  # a newer getUpdates supersedes a waiting one
        generation = self._poll_generation

        def ready() -> bool:
            return self._closing or generation != self._poll_generation or bool(self._deliverable())

        if timeout:
            await self._wait_until(ready, timeout)
        if self._closing or generation != self._poll_generation:
            return []
        transport = p.request.transport
        if transport is None or transport.is_closing():
            return []  # the client went away; nothing is delivered
        batch = self._deliverable()[:limit]
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
            self._notify()
        return batch

    # ---- Webhook delivery ----------------------------------------------------------------
    #
    # While a webhook is set, a background task POSTs the queued updates (the queue
    # getUpdates serves, filtered by allowed_updates the same way) as JSON to the webhook,
    # with "X-Telegram-Bot-Api-Secret-Token" when a secret is set. As Telegram's Bot API
    # server does:
    # * an update is delivered, and leaves the queue, only on a 2xx answer; any other
    #   status (redirects included), a refused or dropped connection or no answer within
    #   ``webhook_timeout`` is a failure, shown in getWebhookInfo's last_error_*, and the
    #   update is tried again after a back-off (``webhook_retry_delay`` doubled per
    #   failure up to ``webhook_retry_max_delay``; a Retry-After header counts instead,
    #   capped the same way), for as long as the webhook is set (Telegram gives up
    #   after a while; the fake does not);
    # * updates are sent in queues, one update of a queue at a time in update_id order:
    #   a queue's next update waits until the previous one got its 2xx (even through
    #   retries), while other queues proceed. Queues follow Telegram (messages per chat,
    #   callback queries per user apart from messages, ...; see _webhook_queue_key), or
    #   with ``webhook_ordering = "chat"`` every update of a chat is in one queue;
    # * at most ``max_connections`` requests are in flight;
    # * a 2xx answer whose body names a Bot API method (JSON, URL-encoded or multipart:
    #   aiogram's SimpleRequestHandler(handle_in_background=False) answers so) has it
    #   run, the result discarded; get* methods, setWebhook, deleteWebhook, close and
    #   logOut are not run.
    # deleteWebhook (or setWebhook with no URL) and stop() end the deliveries, aborting
    # the requests in flight ("cancelled"); their updates stay queued.
    #
    # Each attempt goes to the registered URL, or, when tests set ``webhook_targets``, to
    # one of them, as if a load balancer stood behind the URL: "round_robin" (each
    # attempt, retries too, to the next target), "random" (``webhook_random``, seedable)
    # or a callable ``(update, targets) -> target``. A target without a path gets the
    # registered URL's path and query. Every attempt is recorded in
    # ``webhook_deliveries``. Only loopback hosts get requests (``webhook_local_only``);
    # for any other host the attempt fails without a connection.

    def _check_webhook_url(self, url: str) -> None:
        bad = "Bad Request: bad webhook: "
        if "://" not in url:
            raise TelegramError(bad + "HTTPS url must be provided for webhook")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise TelegramError(bad + "Unsupported URL protocol")
        host = parts.hostname
        if not host:
            raise TelegramError(bad + "URL host is empty")
        try:
            port = parts.port
        except ValueError:
            raise TelegramError(bad + "Wrong port number specified in the URL") from None
        if _is_loopback(host):
            return  # tests: plain http and any port (Telegram itself would refuse these)
        if scheme != "https":
            raise TelegramError(bad + "HTTPS url must be provided for webhook")
        if port not in (None, 80, 88, 443, 8443):
            raise TelegramError(bad + "Webhook can be set up only on ports 80, 88, 443 or 8443")

    async def _api_deleteWebhook(self, p: _Params) -> bool:
        self.webhook_url = ""
        await self._stop_webhook_delivery()
        self.webhook_last_error_date = self.webhook_last_error_message = None
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_setWebhook(self, p: _Params) -> bool:
        url = p.get_str("url") or ""
        if url:
            self._check_webhook_url(url)
        secret = p.get_str("secret_token") or None
        if secret is not None:
            if len(secret) > 256:
                raise TelegramError("Bad Request: secret token is too long")
            if not _SECRET_TOKEN_RE.fullmatch(secret):
                raise TelegramError("Bad Request: secret token contains unallowed characters")
        max_connections = p.get_int("max_connections", 40)
        allowed = p.get_json("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise TelegramError("Bad Request: can't parse allowed_updates JSON object")
        if not url:
            return await self._api_deleteWebhook(p)
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        if url != self.webhook_url:
            self.webhook_last_error_date = self.webhook_last_error_message = None
        self.webhook_url = url
        self.webhook_secret_token = secret
        # Telegram clamps max_connections to 1-100 rather than refusing it.
        self.webhook_max_connections = min(
            max(40 if max_connections is None else max_connections, 1), 100
        )
        self._poll_generation += 1  # a waiting getUpdates ends (empty): the webhook takes over
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._webhook_loop(), name="webhook")
        self._notify()
        return True

    async def _api_getWebhookInfo(self, p: _Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook_url:
            if self.webhook_last_error_date is not None:
                info["last_error_date"] = self.webhook_last_error_date
                info["last_error_message"] = self.webhook_last_error_message
            info["max_connections"] = self.webhook_max_connections
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._webhook_failures.clear()
        self._webhook_retry_at.clear()

    def _webhook_resolve(self, target: str) -> str:
        parts = urlsplit(target)
        if parts.path or not self.webhook_url:
            return target
        registered = urlsplit(self.webhook_url)
        return urlunsplit((parts.scheme, parts.netloc, registered.path, registered.query, ""))

    def _webhook_target(self, update: dict[str, Any]) -> str:
        targets = list(self.webhook_targets)
        if not targets:
            return self.webhook_url
        strategy = self.webhook_strategy
        if callable(strategy):
            chosen = strategy(update, targets)
        elif strategy == "round_robin":
            chosen = targets[next(self._webhook_rr) % len(targets)]
        elif strategy == "random":
            chosen = self.webhook_random.choice(targets)
        else:
            raise ValueError(
                f"webhook_strategy must be one of {WEBHOOK_STRATEGIES} or a callable, "
                f"not {strategy!r}"
            )
        return self._webhook_resolve(chosen)

    async def _webhook_loop(self) -> None:
        loop = asyncio.get_running_loop()
        session = aiohttp.ClientSession()
        inflight = self._webhook_inflight
        try:
            while self.webhook_url and not self._closing:
                changed = self._changed
                now = loop.time()
                wake_at: float | None = None
                busy = {key for key, _ in inflight.values() if key is not None}
                for update in self._deliverable():
                    update_id = update["update_id"]
                    if update_id in inflight:
                        continue
                    key = _webhook_queue_key(update, self.webhook_ordering)
                    if key is not None:
                        if key in busy:
                            continue  # not this queue's turn: its earlier update is not done
                        busy.add(key)
                    retry_at = self._webhook_retry_at.get(update_id, 0.0)
                    if retry_at > now:
                        wake_at = retry_at if wake_at is None else min(wake_at, retry_at)
                        continue
                    if len(inflight) >= self.webhook_max_connections:
                        continue  # an ending request notifies: the scan runs again
                    task = asyncio.create_task(self._webhook_attempt(session, update))
                    inflight[update_id] = (key, task)
                delay = None if wake_at is None else max(0.0, wake_at - loop.time())
                try:
                    async with asyncio.timeout(delay):
                        await changed.wait()
                except TimeoutError:
                    pass
        except Exception as exc:  # a bug in the fake: deliveries stop, loudly
            self.internal_errors.append(f"webhook loop: {type(exc).__name__}: {exc}")
            raise
        finally:
            tasks = [task for _, task in inflight.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            inflight.clear()
            await session.close()

    async def _webhook_attempt(
        self, session: aiohttp.ClientSession, update: dict[str, Any]
    ) -> None:
        update_id = update["update_id"]
        try:
            url = self._webhook_target(update)
            result, retry_after = await self._webhook_post(session, update, url)
            if isinstance(result, int) and 200 <= result < 300:
                self._pending = [u for u in self._pending if u["update_id"] != update_id]
                self._webhook_failures.pop(update_id, None)
                self._webhook_retry_at.pop(update_id, None)
            else:
                self._webhook_retry_later(update_id, retry_after)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the fake or a bad strategy: loud, and retried
            self.internal_errors.append(f"webhook: {type(exc).__name__}: {exc}")
            self._webhook_retry_later(update_id, None)
        finally:
            self._webhook_inflight.pop(update_id, None)
            self._notify()

    def _webhook_retry_later(self, update_id: int, retry_after: float | None) -> None:
        failures = self._webhook_failures[update_id] = self._webhook_failures.get(update_id, 0) + 1
        if retry_after is None:
            retry_after = self.webhook_retry_delay * 2 ** (failures - 1)
        delay = min(retry_after, self.webhook_retry_max_delay)
        self._webhook_retry_at[update_id] = asyncio.get_running_loop().time() + delay

    async def _webhook_post(
        self, session: aiohttp.ClientSession, update: dict[str, Any], url: str
    ) -> tuple[int | str, float | None]:
        """One POST of ``update`` to ``url``: (status or failure, Retry-After seconds)."""
        update_id = update["update_id"]
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret_token
        result: int | str
        error: str | None = None
        retry_after: float | None = None
        reply: tuple[str, bytes] | None = None
        host = urlsplit(url).hostname
        if self.webhook_local_only and not _is_loopback(host):
            result = error = f"the fake Bot API delivers only to this machine, not to {host}"
        else:
            try:
                async with session.post(
                    url,
                    data=json.dumps(update, ensure_ascii=False).encode(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    allow_redirects=False,
                ) as response:
                    body = await response.read()
                result = response.status
                if 200 <= result < 300:
                    reply = (response.headers.get("Content-Type", ""), body)
                else:
                    error = f"Wrong response from the webhook: {result} {response.reason or ''}"
                    error = error.rstrip()
                    retry_after = _retry_after_header(response.headers.get("Retry-After"))
            except asyncio.CancelledError:
                self.webhook_deliveries.append(WebhookDelivery(update_id, url, "cancelled"))
                raise
            except TimeoutError:
                result = error = "Read timeout expired"
            except aiohttp.ClientConnectorError as exc:
                refused = isinstance(exc.os_error, ConnectionRefusedError)
                result = error = "Connection refused" if refused else f"Connection error: {exc}"
            except aiohttp.ServerDisconnectedError:
                result = error = "Webhook connection closed"
            except aiohttp.ClientError as exc:
                result = error = f"{type(exc).__name__}: {exc}"
        self.webhook_deliveries.append(WebhookDelivery(update_id, url, result))
        if error is not None:
            self.webhook_last_error_date = _now()
            self.webhook_last_error_message = error
        self._notify()
        if reply is not None:
            await self._webhook_reply(session, *reply)
        return result, retry_after

    async def _webhook_reply(
        self, session: aiohttp.ClientSession, content_type: str, body: bytes
    ) -> None:
        """Run the Bot API call a webhook answered with, through this server (so it is
        logged, validated, flood-limited like any call); the result is discarded."""
        values, files = _parse_webhook_reply(content_type, body)
        method = str(values.pop("method", "") or "")
        lowered = method.lower()
        if not method or lowered.startswith("get") or lowered in _WEBHOOK_REPLY_REFUSED:
            return
        if self._base_url is None:
            return
        form = aiohttp.FormData()
        for key, value in values.items():
            if value is not None:
                form.add_field(key, value if isinstance(value, str) else json.dumps(value))
        for key, upload in files.items():
            form.add_field(
                key,
                upload.content,
                filename=upload.filename or key,
                content_type=upload.content_type or "application/octet-stream",
            )
        try:
            async with session.post(
                f"{self._base_url}/bot{self.token}/{method}",
                data=form,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            pass  # Telegram does not tell either

    @staticmethod
    def _scope_key(p: _Params) -> tuple[str, str]:
        scope = p.get_json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise TelegramError("Bad Request: can't parse BotCommandScope JSON object")
        language = p.get_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise TelegramError("Bad Request: invalid language code specified")
        return str(scope["type"]), language

    async def _api_setMyCommands(self, p: _Params) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list):
            raise TelegramError("Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise TelegramError("Bad Request: too many commands specified")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise TelegramError("Bad Request: can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            if not _COMMAND_RE.match(name.removeprefix("/")):
                raise TelegramError("Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not description.strip() or len(description) > 256:
                raise TelegramError("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name.removeprefix("/"), "description": description})
        key = self._scope_key(p)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _api_getMyCommands(self, p: _Params) -> list[dict[str, str]]:
        return list(self.commands.get(self._scope_key(p), []))

    async def _api_deleteMyCommands(self, p: _Params) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _api_setChatMenuButton(self, p: _Params) -> bool:
        chat_id = None
        if p.has("chat_id"):
            chat_id = self._chat(p).chat_id
        button = p.get_json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise TelegramError("Bad Request: can't parse MenuButton JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _api_getChatMenuButton(self, p: _Params) -> dict[str, Any]:
        chat_id = self._chat(p).chat_id if p.has("chat_id") else None
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        if not button or button.get("type") == "default":
            return {"type": "commands"}
        return button

    def _set_bot_text(self, p: _Params, kind: str, param: str, limit: int) -> bool:
        value = p.get_str(param) or ""
        if len(value) > limit:
            raise TelegramError(f"Bad Request: {kind} is too long")
        key = (kind, p.get_str("language_code") or "")
        if value:
            self.bot_texts[key] = value
        else:
            self.bot_texts.pop(key, None)
        return True

    def _get_bot_text(self, p: _Params, kind: str) -> str:
        return self.bot_texts.get((kind, p.get_str("language_code") or ""), "")

    async def _api_setMyName(self, p: _Params) -> bool:
        return self._set_bot_text(p, "name", "name", 64)

    async def _api_getMyName(self, p: _Params) -> dict[str, str]:
        return {"name": self._get_bot_text(p, "name") or self.bot_user["first_name"]}

    async def _api_setMyDescription(self, p: _Params) -> bool:
        return self._set_bot_text(p, "description", "description", 512)

    async def _api_getMyDescription(self, p: _Params) -> dict[str, str]:
        return {"description": self._get_bot_text(p, "description")}

    async def _api_setMyShortDescription(self, p: _Params) -> bool:
        return self._set_bot_text(p, "short_description", "short_description", 120)

    async def _api_getMyShortDescription(self, p: _Params) -> dict[str, str]:
        return {"short_description": self._get_bot_text(p, "short_description")}

    async def _api_sendMessage(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p)
        text, plain, entities = self._text(p)
        person = self._chat(p)
        self._check_writable(person)
        reply_to = self._reply_to(p, person)
        msg = self._new_bot_message(
            person,
            text=text,
            parse_mode=p.get_str("parse_mode"),
            plain_text=plain,
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._message_dict(msg)

    async def _api_sendPhoto(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p)
        caption, plain, entities = self._caption(p)
        person = self._chat(p)
        self._check_writable(person)
        source = self._input_file(p, "photo", "photo")
        reply_to = self._reply_to(p, person)
        sizes = self._photo_sizes(source)
        msg = self._new_bot_message(
            person,
            kind="photo",
            text=caption,
            parse_mode=p.get_str("parse_mode"),
            plain_text=plain,
            entities=entities,
            reply_markup=markup,
            photo=sizes,
            photo_file_id=sizes[-1]["file_id"],
            reply_to_message_id=reply_to,
        )
        return self._message_dict(msg)

    async def _api_sendDocument(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p)
        caption, plain, entities = self._caption(p)
        person = self._chat(p)
        self._check_writable(person)
        source = self._input_file(p, "document", "document")
        reply_to = self._reply_to(p, person)
        document = self._document(source)
        msg = self._new_bot_message(
            person,
            kind="document",
            text=caption,
            parse_mode=p.get_str("parse_mode"),
            plain_text=plain,
            entities=entities,
            reply_markup=markup,
            document=document,
            document_file_id=document["file_id"],
            document_file_name=document.get("file_name"),
            reply_to_message_id=reply_to,
        )
        return self._message_dict(msg)

    async def _api_sendMediaGroup(self, p: _Params) -> list[dict[str, Any]]:
        media = p.get_json("media")
        if not isinstance(media, list):
            raise TelegramError("Bad Request: can't parse media JSON object")
        if not 2 <= len(media) <= 10:
            raise TelegramError("Bad Request: wrong number of media in the media group")
        person = self._chat(p)
        self._check_writable(person)
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document"):
                raise TelegramError("Bad Request: unsupported media type in the media group")
            kind = item["type"]
            value = item.get("media")
            if not isinstance(value, str) or not value:
                raise TelegramError(WRONG_FILE_ID)
            source = self._resolve_media(value, p, kind)
            caption = item.get("caption") or None
            plain, entities = (None, [])
            if caption:
                plain, entities = self._format(
                    caption, item.get("parse_mode"), item.get("caption_entities")
                )
                if utf16_len(plain) > MAX_CAPTION_LENGTH:
                    raise TelegramError("Bad Request: message caption is too long")
            prepared.append((kind, source, caption, item.get("parse_mode"), plain, entities))
        group_id = f"{13000000000000000 + next(self._media_groups)}"
        result = []
        for kind, source, caption, parse_mode, plain, entities in prepared:
            fields: dict[str, Any] = {
                "kind": kind,
                "text": caption,
                "parse_mode": parse_mode,
                "plain_text": plain,
                "entities": entities,
                "media_group_id": group_id,
            }
            if kind == "photo":
                sizes = self._photo_sizes(source)
                fields.update(photo=sizes, photo_file_id=sizes[-1]["file_id"])
            else:
                document = self._document(source)
                fields.update(
                    document=document,
                    document_file_id=document["file_id"],
                    document_file_name=document.get("file_name"),
                )
            result.append(self._message_dict(self._new_bot_message(person, **fields)))
        return result

    async def _api_editMessageText(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p, inline_only=True)
        text, plain, entities = self._text(p)
        msg = self._editable(p)
        if msg.kind != "text":
            raise TelegramError("Bad Request: there is no text in the message to edit")
        new_markup = self._new_markup_after_edit(msg, markup)
        if (plain, entities, self._inline(new_markup)) == (
            msg.plain_text,
            msg.entities,
            self._inline(msg.reply_markup),
        ):
            raise TelegramError(NOT_MODIFIED)
        return self._apply_edit(
            msg,
            text=text,
            parse_mode=p.get_str("parse_mode"),
            plain_text=plain,
            entities=entities,
            reply_markup=new_markup,
        )

    async def _api_editMessageCaption(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p, inline_only=True)
        caption, plain, entities = self._caption(p)
        msg = self._editable(p)
        if msg.kind not in ("photo", "document"):
            raise TelegramError("Bad Request: there is no caption in the message to edit")
        new_markup = self._new_markup_after_edit(msg, markup)
        if (plain or None, entities, self._inline(new_markup)) == (
            msg.plain_text or None,
            msg.entities,
            self._inline(msg.reply_markup),
        ):
            raise TelegramError(NOT_MODIFIED)
        return self._apply_edit(
            msg,
            text=caption,
            parse_mode=p.get_str("parse_mode"),
            plain_text=plain,
            entities=entities,
            reply_markup=new_markup,
        )

    async def _api_editMessageReplyMarkup(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p, inline_only=True)
        msg = self._editable(p)
        new_markup = self._new_markup_after_edit(msg, markup)
        if self._inline(new_markup) == self._inline(msg.reply_markup):
            raise TelegramError(NOT_MODIFIED)
        return self._apply_edit(msg, reply_markup=new_markup)

    def _delete(self, person: Person, message_id: int) -> bool:
        msg = person._store.get(message_id)
        if msg is None or msg.deleted:
            return False
        msg.deleted = True
        self._notify()
        return True

    async def _api_deleteMessage(self, p: _Params) -> bool:
        person = self._chat(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise TelegramError("Bad Request: message identifier is not specified")
        if not self._delete(person, message_id):
            raise TelegramError("Bad Request: message to delete not found")
        return True

    async def _api_deleteMessages(self, p: _Params) -> bool:
        person = self._chat(p)
        ids = p.get_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise TelegramError("Bad Request: message_ids must be a non-empty list")
        for message_id in ids:
            self._delete(person, int(message_id))
        return True

    async def _api_answerCallbackQuery(self, p: _Params) -> bool:
        query_id = p.get_str("callback_query_id") or ""
        person = self._open_queries.get(query_id)
        if person is None:
            raise TelegramError(QUERY_TOO_OLD)
        text = p.get_str("text")
        if text and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise TelegramError("Bad Request: MESSAGE_TOO_LONG")
        del self._open_queries[query_id]
        person.callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": text,
                "show_alert": p.get_bool("show_alert"),
                "url": p.get_str("url"),
                "cache_time": p.get_int("cache_time", 0),
            }
        )
        self._notify()
        return True

    async def _api_getFile(self, p: _Params) -> dict[str, Any]:
        stored = self.files.get(p.get_str("file_id") or "")
        if stored is None:
            raise TelegramError("Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    async def _api_sendChatAction(self, p: _Params) -> bool:
        action = p.get_str("action")
        if not action:
            raise TelegramError("Bad Request: action is empty")
        if action not in _CHAT_ACTIONS:
            raise TelegramError("Bad Request: wrong parameter action in request")
        person = self._chat(p)
        self._check_writable(person)
        person.chat_actions.append(action)
        return True
