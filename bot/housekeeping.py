"""Background work of a running bot: reminding about and expiring stale drafts."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from flows import drafts
from handlers.delivery import send
from storage.models import utcnow

log = logging.getLogger(__name__)


class DraftSweeper:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, bot: Bot) -> int:
        async with self.sessionmaker() as session:
            replies = await drafts.sweep(
                session,
                now=utcnow(),
                remind_after=self.settings.draft_remind_after,
                expire_after=self.settings.draft_expire_after,
            )
            await session.commit()
        for reply in replies:
            try:
                await send(bot, reply)
            except TelegramAPIError as exc:
                log.warning("could not remind chat %s: %s", reply.chat_id, exc.__class__.__name__)
        return len(replies)

    async def _loop(self, bot: Bot) -> None:
        while True:
            try:
                await self.run_once(bot)
            except Exception:  # a database hiccup must not end the loop
                log.exception("draft sweep failed")
            await asyncio.sleep(self.settings.sweep_interval)

    async def on_startup(self, bot: Bot) -> None:
        self._task = asyncio.create_task(self._loop(bot))

    async def on_shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def attach(self, dp: Dispatcher) -> None:
        dp.startup.register(self.on_startup)
        dp.shutdown.register(self.on_shutdown)
