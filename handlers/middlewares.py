"""Per-update middleware: one database session, the account, and its locale."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from handlers.metrics import DUPLICATE, set_outcome
from locales import use_locale
from registry.accounts import account_for_update
from storage.outbox import PENDING_FLAG
from storage.updates import processed, processing

log = logging.getLogger(__name__)


class DbSessionMiddleware(BaseMiddleware):
    """Opens the update's own session; handlers commit, anything unfinished is rolled back.

    The session runs on the connection holding the chat's lock when there is one
    (``ChatOrderMiddleware`` on PostgreSQL). An update already processed (Telegram
    delivers it again after a slow or lost answer) is acknowledged and dropped here;
    otherwise its id, and those of the album it gathered, are committed with its work
    (``handlers.delivery.commit_and_send``).

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
        connection: AsyncConnection | None = data.get("db_connection")
        opened = self.sessionmaker(bind=connection) if connection else self.sessionmaker()
        async with opened as session:
            update: Update | None = data.get("event_update")
            user: User | None = data.get("event_from_user")
            update_id = update.update_id if update is not None else None
            account = None
            done = False
            if user is not None:  # the account, and whether the update was done, at once
                done, account = await account_for_update(session, user.id, update_id)
            elif update_id is not None:
                done = await processed(session, update_id)
            if update_id is not None:
                if done:
                    log.info("update %s was processed before: acknowledged, not redone",
                             update_id)  # fmt: skip
                    set_outcome(data, DUPLICATE)
                    return None
                processing(session, [update_id, *data.get("album_update_ids", ())])
            data["session"] = session
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
