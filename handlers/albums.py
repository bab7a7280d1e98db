"""Albums: Telegram delivers each photo of an album as its own update with a shared
``media_group_id``. This middleware holds the first one briefly, gathers the rest, and
hands the whole album to the handler as one answer (the others are swallowed).

It is an outer middleware placed before the per-chat lock (``handlers/ordering.py``):
the album's updates must not queue behind the first one while it waits for them. The
answer marks every update of the album as processed (``album_update_ids``)."""

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
        self._albums: dict[tuple[int, str], list[tuple[Message, int | None]]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.media_group_id is None:
            return await handler(event, data)
        key = (event.chat.id, event.media_group_id)
        update = data.get("event_update")
        update_id = update.update_id if update is not None else None
        if key in self._albums:
            self._albums[key].append((event, update_id))
            return None
        self._albums[key] = [(event, update_id)]
        try:
            await asyncio.sleep(self.wait)
        finally:
            album = self._albums.pop(key)
        data["album"] = sorted((m for m, _ in album), key=lambda m: m.message_id)
        data["album_update_ids"] = [u for _, u in album[1:] if u is not None]
        return await handler(event, data)
