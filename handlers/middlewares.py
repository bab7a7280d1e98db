"""Per-update middleware: one database session, the account, and its locale."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from locales import use_locale
from registry.accounts import account_by_telegram_id
from storage.outbox import PENDING_FLAG


class DbSessionMiddleware(BaseMiddleware):
    """Opens the update's own session; handlers commit, anything unfinished is rolled back.

    ``on_enqueued`` (the outbox sender's ``wake``) is called after an update whose
    session queued outbox messages, so they go out at once instead of at the next poll."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.on_enqueued = on_enqueued

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.sessionmaker() as session:
            data["session"] = session
            user: User | None = data.get("event_from_user")
            account = None
            if user is not None:
                account = await account_by_telegram_id(session, user.id)
            data["account"] = account
            locale = (
                account.locale
                if account and account.locale
                else (user.language_code if user else None)
            )
            try:
                with use_locale(locale):
                    return await handler(event, data)
            finally:
                if self.on_enqueued is not None and session.info.get(PENDING_FLAG):
                    self.on_enqueued()
