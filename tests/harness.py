"""The real bot (aiogram Dispatcher + Bot over HTTP) against the fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.factory import create_bot, create_dispatcher, set_commands
from bot.sandbox.fake_api import FakeBotAPI
from bot.settings import load_settings
from storage import db


class RunningBot:
    """Starts and stops polling like ``lapor-warga run``; ``restart`` is a redeploy."""

    def __init__(self, api: FakeBotAPI, database_url: str) -> None:
        self.api = api
        self.settings = load_settings(
            bot_token=api.token, database_url=database_url, telegram_api_base=api.base_url
        )
        self.engine: AsyncEngine | None = None
        self.sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self.bot: Bot | None = None
        self.dp: Dispatcher | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.engine = db.create_engine(self.settings.database_url)
        self.sessionmaker = db.make_sessionmaker(self.engine)
        self.bot = create_bot(self.settings)
        self.dp = create_dispatcher(self.sessionmaker)
        await set_commands(self.bot, self.settings.default_locale)
        self._task = asyncio.create_task(
            self.dp.start_polling(self.bot, handle_signals=False, polling_timeout=1)
        )
        await self.api.wait_polling()

    async def stop(self) -> None:
        if self.dp is not None and self._task is not None:
            with contextlib.suppress(RuntimeError):  # already stopped
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
