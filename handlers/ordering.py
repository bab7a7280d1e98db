"""One chat at a time: updates of one chat are processed in order, different chats at once.

An outer middleware for messages and button presses, after the rate limit and after an
album has been gathered (the album's updates must not wait behind each other). Inside
one process an ``asyncio.Lock`` per chat (fair: first come, first served) keeps the
order; across processes ``storage.updates.chat_connection`` holds a PostgreSQL advisory
lock on the chat for as long as the update is processed, and the update's session runs
on that very connection (``data["db_connection"]``, used by DbSessionMiddleware)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.updates import chat_connection


class ChatOrderMiddleware(BaseMiddleware):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    @property
    def chats_waiting(self) -> int:
        """Chats with an update in hand (for tests: the table forgets idle chats)."""
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def _local(self, chat_id: int) -> AsyncIterator[None]:
        entry = self._locks.get(chat_id)
        if entry is None:
            entry = self._locks[chat_id] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[chat_id]

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        chat_id = chat.id if chat is not None else (user.id if user is not None else None)
        if chat_id is None:
            return await handler(event, data)
        async with self._local(chat_id), chat_connection(self.engine, chat_id) as conn:
            data["db_connection"] = conn
            return await handler(event, data)
