"""Checking what the bot sends (text, HTML, keyboards, files) and storing it as messages."""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from fake_bot_api.errors import TelegramError
from fake_bot_api.limits import (
    INLINE_BUTTON_ACTIONS,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    WRONG_FILE_ID,
)
from fake_bot_api.media import image_ext, image_size
from fake_bot_api.objects import Message, StoredFile, unix_now
from fake_bot_api.params import Params, Upload
from fake_bot_api.person import Person
from fake_bot_api.telegram_html import HTMLParseError, parse_html, utf16_len


class MessagesMixin:
    """Validation and storage of the bot's messages for :class:`~fake_bot_api.server.FakeBotAPI`."""

    def _register_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        ext: str | None = None,
    ) -> StoredFile:
        prefix = {"photo": "AgACAgUAAxk", "voice": "AwACAgUAAxk"}.get(kind, "BQACAgUAAxk")
        file_id, unique = self._new_file_ids(prefix)
        if ext is None:
            ext = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        folder = {"photo": "photos", "voice": "voice"}.get(kind, "documents")
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
        width, height = image_size(content) or (1280, 960)
        scale = min(1.0, 90 / max(width, height, 1))
        thumb_w, thumb_h = max(1, round(width * scale)), max(1, round(height * scale))
        ext = image_ext(content)
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

    def _chat(self, p: Params, name: str = "chat_id") -> Person:
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

    def _text(self, p: Params) -> tuple[str, str, list[dict[str, Any]]]:
        text = p.get_str("text")
        if not text:
            raise TelegramError("Bad Request: message text is empty")
        plain, entities = self._format(text, p.get_str("parse_mode"), p.get_json("entities"))
        if not plain.strip():
            raise TelegramError("Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise TelegramError("Bad Request: message is too long")
        return text, plain, entities

    def _caption(self, p: Params) -> tuple[str | None, str | None, list[dict[str, Any]]]:
        caption = p.get_str("caption")
        if not caption:
            return None, None, []
        plain, entities = self._format(
            caption, p.get_str("parse_mode"), p.get_json("caption_entities")
        )
        if utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise TelegramError("Bad Request: message caption is too long")
        return caption, plain, entities

    def _markup(self, p: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
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
                if not any(key in button for key in INLINE_BUTTON_ACTIONS):
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

    def _reply_to(self, p: Params, person: Person) -> int | None:
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
        msg = self.message_class(
            message_id=message_id, chat_id=person.chat_id, date=unix_now(), **fields
        )
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
            elif msg.kind == "voice":
                data["voice"] = msg.voice
            if msg.plain_text:
                data["caption"] = msg.plain_text
                if msg.entities:
                    data["caption_entities"] = msg.entities
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        return data

    def _input_file(self, p: Params, name: str, kind: str) -> StoredFile | Upload:
        if name in p.files and not p.get_str(name):
            return p.files[name]
        value = p.get_str(name)
        if not value:
            raise TelegramError(f"Bad Request: there is no {name} in the request")
        return self._resolve_media(value, p, kind)

    def _resolve_media(self, value: str, p: Params, kind: str) -> StoredFile | Upload:
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

    def _photo_sizes(self, source: StoredFile | Upload) -> list[dict[str, Any]]:
        if isinstance(source, StoredFile):
            assert source.photo_sizes is not None
            return source.photo_sizes
        if not source.content:
            raise TelegramError("Bad Request: IMAGE_PROCESS_FAILED")
        return self._register_photo(source.content)

    def _document(self, source: StoredFile | Upload) -> dict[str, Any]:
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

    def _editable(self, p: Params) -> Message:
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
        msg.edit_date = unix_now()
        self._notify()
        return self._message_dict(msg)

    def _new_markup_after_edit(
        self, msg: Message, new_markup: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        # An edit without reply_markup removes an inline keyboard; reply keyboards stay.
        if new_markup is None and msg.reply_markup and "inline_keyboard" not in msg.reply_markup:
            return msg.reply_markup
        return new_markup
