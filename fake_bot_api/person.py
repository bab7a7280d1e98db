"""A simulated Telegram user: sends messages, shares a contact, taps buttons, and keeps
the chat as the fake stored it."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from fake_bot_api.errors import NotInChat
from fake_bot_api.media import SAMPLE_PNG, SAMPLE_VOICE
from fake_bot_api.objects import Message, unix_now
from fake_bot_api.telegram_html import utf16_len

if TYPE_CHECKING:
    from fake_bot_api.server import FakeBotAPI

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
        self.edits_when_pressed = 0
        # How many of ``messages`` a reader has consumed (a test driver's cursor; the
        # transcript marks them).
        self.cursor = 0
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
            "date": unix_now(),
            **content,
        }
        text = content.get("text", content.get("caption"))
        msg = self.api.message_class(
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
        elif kind == "voice":
            msg.voice = content["voice"]
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

    async def send_voice(
        self, content: bytes = SAMPLE_VOICE, duration: int = 3, caption: str | None = None
    ) -> int:
        """Send a voice note (Ogg/Opus as Telegram records it); getFile serves ``content``."""
        stored = self.api._register_file(content, kind="voice", mime_type="audio/ogg", ext="oga")
        payload: dict[str, Any] = {"voice": stored.as_voice(duration)}
        if caption:
            payload["caption"] = caption
        return self._incoming("voice", **payload)

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
            "date": unix_now(),
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
        """Press an inline button; returns the callback query id (:class:`NotInChat` when
        there is no such callback button).

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
                raise NotInChat(
                    f"{self!r}: no message in the chat has an inline button {button_text!r}. "
                    f"Buttons available: {available or 'none'}\nChat so far:\n" + self.transcript()
                )
        else:
            if message.deleted:
                raise NotInChat(f"{self!r}: message {message.message_id} was deleted")
            button = message.find_button(button_text, stale=stale)
            if button is None:
                hint = ""
                if not stale and message.find_button(button_text, stale=True) is not None:
                    hint = " (it was on an earlier version; pass stale=True to tap it anyway)"
                raise NotInChat(
                    f"message {message.message_id} in chat {message.chat_id} has no inline "
                    f"button {button_text!r}{hint}; available: {message.buttons()!r} "
                    f"(text: {message.text!r})"
                )
        if "callback_data" not in button:
            raise NotInChat(f"button {button_text!r} is not a callback button: {button!r}")
        return self._callback_query(message, button["callback_data"])

    async def press_data(self, data: str, message: Message | None = None) -> str:
        """Send a callback query with arbitrary ``data``, as a forged or altered client
        could (no such button needs to exist); returns the callback query id.

        The query comes from ``message`` or else the newest (not deleted) bot message in
        this chat; the chat needs at least one message from the bot."""
        if message is None:
            message = next((m for m in reversed(self.messages) if not m.deleted), None)
            if message is None:
                raise NotInChat(f"{self!r}: no bot message to attach a callback query to")
        return self._callback_query(message, data)

    def _callback_query(self, message: Message, data: str) -> str:
        query_id = self.api._new_query_id(self)
        self.last_pressed = message
        self.last_query_id = query_id
        self.edits_when_pressed = message.edited
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
        consumed = {id(m) for m in self.messages[: self.cursor]}
        lines = []
        for m in ordered:
            mark = " [consumed]" if id(m) in consumed else ""
            lines.append(f"  {m.describe()}{mark}")
        return "\n".join(lines)

    def block(self) -> None:
        """The user blocks the bot: sends to this chat fail with 403."""
        self.blocked = True
