"""Albums: Telegram delivers each photo of an album as its own update with a shared
``media_group_id``. This middleware holds the first one briefly, gathers the rest, and
hands the whole album to the handler as one answer (the others are swallowed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

ALBUM_WAIT = 0.6  # seconds: Telegram sends an album's updates within a fraction of that


class AlbumMiddleware(BaseMiddleware):
    def __init__(self, wait: float = ALBUM_WAIT) -> None:
        self.wait = wait
        self._albums: dict[tuple[int, str], list[Message]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.media_group_id is None:
            return await handler(event, data)
        key = (event.chat.id, event.media_group_id)
        if key in self._albums:
            self._albums[key].append(event)
            return None
        self._albums[key] = [event]
        try:
            await asyncio.sleep(self.wait)
        finally:
            album = self._albums.pop(key)
        data["album"] = sorted(album, key=lambda m: m.message_id)
        return await handler(event, data)
