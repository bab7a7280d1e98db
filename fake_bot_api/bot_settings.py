"""Bot API methods about the bot itself: commands, menu button, name and descriptions."""

from __future__ import annotations

import re
from typing import Any

from fake_bot_api.errors import TelegramError
from fake_bot_api.limits import COMMAND_RE
from fake_bot_api.params import Params


class BotSettingsMixin:
    """setMyCommands and friends for :class:`~fake_bot_api.server.FakeBotAPI`."""

    @staticmethod
    def _scope_key(p: Params) -> tuple[str, str]:
        """``("default", "id")``; a scope about one chat is keyed ``"chat:<chat id>"``
        (``"chat_member:<chat id>:<user id>"``)."""
        scope = p.get_json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise TelegramError("Bad Request: can't parse BotCommandScope JSON object")
        language = p.get_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise TelegramError("Bad Request: invalid language code specified")
        kind = str(scope["type"])
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = scope.get("chat_id")
            if not isinstance(chat_id, int | str) or not str(chat_id).lstrip("-").isdigit():
                raise TelegramError("Bad Request: chat not found")
            kind += f":{int(chat_id)}"
            if scope["type"] == "chat_member":
                kind += f":{scope.get('user_id')}"
        return kind, language

    def commands_in_chat(self, chat_id: int, language: str = "") -> list[dict[str, str]]:
        """The "/" menu a private chat shows, resolved as Telegram does: the chat's own
        scope, then all private chats, then the default; each with the user's language
        first, then without one."""
        for kind in (f"chat:{chat_id}", "all_private_chats", "default"):
            for lang in dict.fromkeys((language, "")):
                if (kind, lang) in self.commands:
                    return list(self.commands[(kind, lang)])
        return []

    async def _api_setMyCommands(self, p: Params) -> bool:
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
            if not COMMAND_RE.match(name.removeprefix("/")):
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

    async def _api_getMyCommands(self, p: Params) -> list[dict[str, str]]:
        return list(self.commands.get(self._scope_key(p), []))

    async def _api_deleteMyCommands(self, p: Params) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _api_setChatMenuButton(self, p: Params) -> bool:
        chat_id = None
        if p.has("chat_id"):
            chat_id = self._chat(p).chat_id
        button = p.get_json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise TelegramError("Bad Request: can't parse MenuButton JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _api_getChatMenuButton(self, p: Params) -> dict[str, Any]:
        chat_id = self._chat(p).chat_id if p.has("chat_id") else None
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        if not button or button.get("type") == "default":
            return {"type": "commands"}
        return button

    def _set_bot_text(self, p: Params, kind: str, param: str, limit: int) -> bool:
        value = p.get_str(param) or ""
        if len(value) > limit:
            raise TelegramError(f"Bad Request: {kind} is too long")
        key = (kind, p.get_str("language_code") or "")
        if value:
            self.bot_texts[key] = value
        else:
            self.bot_texts.pop(key, None)
        return True

    def _get_bot_text(self, p: Params, kind: str) -> str:
        return self.bot_texts.get((kind, p.get_str("language_code") or ""), "")

    async def _api_setMyName(self, p: Params) -> bool:
        return self._set_bot_text(p, "name", "name", 64)

    async def _api_getMyName(self, p: Params) -> dict[str, str]:
        return {"name": self._get_bot_text(p, "name") or self.bot_user["first_name"]}

    async def _api_setMyDescription(self, p: Params) -> bool:
        return self._set_bot_text(p, "description", "description", 512)

    async def _api_getMyDescription(self, p: Params) -> dict[str, str]:
        return {"description": self._get_bot_text(p, "description")}

    async def _api_setMyShortDescription(self, p: Params) -> bool:
        return self._set_bot_text(p, "short_description", "short_description", 120)

    async def _api_getMyShortDescription(self, p: Params) -> dict[str, str]:
        return {"short_description": self._get_bot_text(p, "short_description")}
