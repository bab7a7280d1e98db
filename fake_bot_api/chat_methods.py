"""Bot API methods that send, edit and delete messages, answer callback queries and
serve files."""

from __future__ import annotations

from typing import Any

from fake_bot_api.errors import TelegramError
from fake_bot_api.limits import (
    CHAT_ACTIONS,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    WRONG_FILE_ID,
)
from fake_bot_api.objects import StoredFile
from fake_bot_api.params import Params
from fake_bot_api.person import Person
from fake_bot_api.telegram_html import utf16_len


class ChatMethodsMixin:
    """sendMessage and friends for :class:`~fake_bot_api.server.FakeBotAPI`."""

    async def _api_sendMessage(self, p: Params) -> dict[str, Any]:
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

    async def _api_sendPhoto(self, p: Params) -> dict[str, Any]:
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

    async def _api_sendDocument(self, p: Params) -> dict[str, Any]:
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

    async def _api_sendVoice(self, p: Params) -> dict[str, Any]:
        """A voice note: by the file id of one the fake knows (sent by a person), or
        uploaded (audio/ogg)."""
        markup = self._markup(p)
        caption, plain, entities = self._caption(p)
        person = self._chat(p)
        self._check_writable(person)
        source = self._input_file(p, "voice", "voice")
        reply_to = self._reply_to(p, person)
        if not isinstance(source, StoredFile):
            source = self._register_file(
                source.content, kind="voice", mime_type="audio/ogg", ext="oga"
            )
        duration = p.get_int("duration") or 0
        msg = self._new_bot_message(
            person,
            kind="voice",
            text=caption,
            parse_mode=p.get_str("parse_mode"),
            plain_text=plain,
            entities=entities,
            reply_markup=markup,
            voice=source.as_voice(duration),
            reply_to_message_id=reply_to,
        )
        return self._message_dict(msg)

    async def _api_sendMediaGroup(self, p: Params) -> list[dict[str, Any]]:
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

    async def _api_editMessageText(self, p: Params) -> dict[str, Any]:
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

    async def _api_editMessageCaption(self, p: Params) -> dict[str, Any]:
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

    async def _api_editMessageReplyMarkup(self, p: Params) -> dict[str, Any]:
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

    async def _api_deleteMessage(self, p: Params) -> bool:
        person = self._chat(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise TelegramError("Bad Request: message identifier is not specified")
        if not self._delete(person, message_id):
            raise TelegramError("Bad Request: message to delete not found")
        return True

    async def _api_deleteMessages(self, p: Params) -> bool:
        person = self._chat(p)
        ids = p.get_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise TelegramError("Bad Request: message_ids must be a non-empty list")
        for message_id in ids:
            self._delete(person, int(message_id))
        return True

    async def _api_answerCallbackQuery(self, p: Params) -> bool:
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

    async def _api_getFile(self, p: Params) -> dict[str, Any]:
        stored = self.files.get(p.get_str("file_id") or "")
        if stored is None:
            raise TelegramError("Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    async def _api_sendChatAction(self, p: Params) -> bool:
        action = p.get_str("action")
        if not action:
            raise TelegramError("Bad Request: action is empty")
        if action not in CHAT_ACTIONS:
            raise TelegramError("Bad Request: wrong parameter action in request")
        person = self._chat(p)
        self._check_writable(person)
        person.chat_actions.append(action)
        return True
