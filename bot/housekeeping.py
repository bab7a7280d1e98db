"""Background work of a running bot: periodic passes, and reminding about and expiring
stale drafts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from flows import drafts
from flows.notify import post
from storage import outbox, updates
from storage.models import utcnow
from storage.updates import log_failure

KEEP_PROCESSED_UPDATES = timedelta(days=2)

log = logging.getLogger(__name__)


class Periodic:
    """A pass run every ``interval`` seconds from the bot's start to its shutdown; a
    failed pass (a database hiccup) is logged and the next one runs as usual."""

    name = "background pass"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> object:
        raise NotImplementedError

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:
                log_failure(log, f"{self.name} failed", exc)
            await asyncio.sleep(self.interval)

    async def on_startup(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def on_shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def attach(self, dp: Dispatcher) -> None:
        dp.startup.register(self.on_startup)
        dp.shutdown.register(self.on_shutdown)


class DraftSweeper(Periodic):
    """Reminders and expiry notices go to the outbox in the sweep's own transaction,
    which also forgets processed update ids older than two days and deletes outbox
    messages final for longer than ``OUTBOX_KEEP`` (``storage.outbox.prune``, a batch
    per pass, logged with its count); ``on_enqueued`` (the outbox sender's ``wake``) is
    called after a sweep queued some."""

    name = "draft sweep"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(settings.sweep_interval)
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.on_enqueued = on_enqueued

    async def run_once(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        async with self.sessionmaker() as session:
            replies = await drafts.sweep(
                session,
                now=now,
                remind_after=self.settings.draft_remind_after,
                expire_after=self.settings.draft_expire_after,
            )
            queued = post(session, replies, "reminder")
            # Telegram redelivers an update within a day at most: older ids can go.
            await updates.prune(session, now - KEEP_PROCESSED_UPDATES)
            pruned = await outbox.prune(session, now - self.settings.outbox_keep)
            await session.commit()
        if pruned:
            log.info("outbox: deleted %d messages final for over OUTBOX_KEEP", pruned)
        if queued and self.on_enqueued is not None:
            self.on_enqueued()
        return queued
