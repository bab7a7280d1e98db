"""Starting and stopping the polling bot inside a running event loop.

Used by the sandbox (and by the end-to-end tests) where the bot shares the loop
with other servers; ``lapor-warga run`` polls in the foreground instead.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.factory import create_bot, create_dispatcher, set_commands
from bot.settings import Settings
from storage import db


class BotRunner:
    """The real bot polling in a background task; ``restart`` is a redeploy."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine | None = None
        self.sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self.bot: Bot | None = None
        self.dp: Dispatcher | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.engine = db.create_engine(self.settings.database_url, **self.settings.pool)
        self.bot = create_bot(self.settings)
        self.dp = create_dispatcher(self.engine, self.settings)
        self.sessionmaker = self.dp["sessionmaker"]
        await set_commands(self.bot, self.settings.default_locale)
        self._task = asyncio.create_task(
            self.dp.start_polling(self.bot, handle_signals=False, polling_timeout=1)
        )

    async def stop(self) -> None:
        if self.dp is not None and self._task is not None:
            with contextlib.suppress(RuntimeError):  # polling already stopped
                await self.dp.stop_polling()
            await asyncio.wait_for(self._task, 10)
        if self.bot is not None:
            await self.bot.session.close()
        if self.engine is not None:
            await self.engine.dispose()
        self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def session(self) -> AsyncSession:
        assert self.sessionmaker is not None
        return self.sessionmaker()
