"""Delivering the outbox: every message a state change caused, after its commit.

:class:`OutboxSender` runs beside the polling bot. It claims due rows (a lease, so
several bot processes can run senders and a dead one's rows come back), sends each
through ``handlers.delivery.send`` within Telegram's rate limits, and marks each row
right after Telegram accepted it. ``wake()`` is called after a commit that queued
something; otherwise it looks every ``OUTBOX_POLL_INTERVAL`` seconds (rows queued by
another process, the CLI, or left over by a crash).

Errors: 429 pauses all sending for ``retry_after`` and retries the row after it; 5xx,
network errors and timeouts retry with exponential backoff until
``OUTBOX_MAX_ATTEMPTS`` (then ``failed``); 403 (the user blocked the bot) makes the row
``undeliverable`` at once; any other 4xx is ``failed`` at once. Only the row id and
the exception class are logged, never the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from flows.broadcast import close_finished
from flows.io import Reply
from handlers.delivery import send
from handlers.metrics import Metrics
from storage import outbox
from storage.models import OutboxMessage, utcnow
from storage.updates import log_failure

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=90)  # a claim outlives the longest send; then the row comes back
SEND_TIMEOUT = 30.0  # seconds for one Bot API call
BACKOFF_BASE = 2.0  # seconds before the first retry; doubled for each further one
BACKOFF_CAP = 900.0  # never more than 15 minutes between tries
BATCH_SECONDS = 2.0  # claim about this many seconds' worth of messages at a time
MAX_BATCH = 200
SHUTDOWN_GRACE = 5.0  # seconds for sends under way to finish when the bot stops
MIN_IDLE = 0.05
_PERMANENT = (TelegramBadRequest, TelegramNotFound, TelegramEntityTooLarge, TelegramMigrateToChat)
_TRANSIENT = (TelegramAPIError, ClientDecodeError, TimeoutError)


class Clock(Protocol):
    def now(self) -> datetime:
        """Naive UTC, as stored in the database."""

    def monotonic(self) -> float:
        """Seconds, for spacing the sends."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class RateLimiter:
    """Spaces sends: at most ``rate`` a second overall and ``chat_rate`` a second to one
    chat; ``pause`` stops everything for a while (Telegram's flood control). Pure: the
    caller passes the time, so it is tested with any clock."""

    def __init__(self, rate: float, chat_rate: float) -> None:
        self.interval = 1.0 / rate
        self.chat_interval = 1.0 / chat_rate
        self._next = -math.inf  # earliest start of the next send overall
        self._chat_next: dict[int, float] = {}
        self._paused_until = -math.inf
        self._last_start = -math.inf  # when the last send actually started

    def reserve(self, chat_id: int, now: float) -> float:
        """Book the next free slot for ``chat_id``; returns how long to wait for it."""
        start = max(now, self._next, self._paused_until, self._chat_next.get(chat_id, now))
        self._next = start + self.interval
        self._chat_next[chat_id] = start + self.chat_interval
        if len(self._chat_next) > 10_000:  # forget chats whose spacing has passed
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        return start - now

    def admit(self, now: float) -> float:
        """A send is about to start: 0 (it is counted) when the last one started at least
        ``interval`` ago, else how long still to wait. Slots are booked ahead for a whole
        round, so without this the rows that woke late (a stalled event loop, a busy
        machine) would all send at once: more than ``rate`` in a second (429)."""
        wait = self._last_start + self.interval - now
        if wait > 0:
            return wait
        self._last_start = now
        return 0.0

    def pause(self, now: float, seconds: float) -> None:
        self._paused_until = max(self._paused_until, now + seconds)

    def paused_for(self, now: float) -> float:
        return max(0.0, self._paused_until - now)


def backoff(failures: int) -> float:
    """Seconds before the next try after ``failures`` failed tries (1, 2, ...)."""
    return min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_CAP)


# What became of one claimed row.
SENT, RETRY, UNDELIVERABLE, FAILED, RELEASED, LOST = (
    "sent", "retry", "undeliverable", "failed", "released", "lost",
)  # fmt: skip


class OutboxSender:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock | None = None,
        *,
        lease: timedelta = LEASE,
        send_timeout: float = SEND_TIMEOUT,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.lease = lease
        self.send_timeout = send_timeout
        self.limiter = RateLimiter(settings.outbox_rate, settings.outbox_chat_rate)
        self.batch = max(1, min(MAX_BATCH, math.ceil(settings.outbox_rate * BATCH_SECONDS)))
        self._db_lock = asyncio.Lock()  # one short write transaction at a time (SQLite)
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._check_broadcasts = True
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def wake(self) -> None:
        """Something was committed to the outbox: look now instead of at the next poll."""
        self._wakeup.set()

    def attach(self, dp: Dispatcher) -> None:
        dp.startup.register(self.on_startup)
        dp.shutdown.register(self.on_shutdown)

    async def on_startup(self, bot: Bot) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(bot))

    async def on_shutdown(self) -> None:
        """Stop claiming, let sends under way finish (briefly), give back the rest."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_GRACE)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, bot: Bot) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                claimed = await self.run_once(bot)
            except Exception as exc:  # a database hiccup must not end the loop
                log_failure(log, "outbox: a round of sending failed", exc)
                claimed = 0
            if not claimed and not self._stopping.is_set():
                await self._idle()

    async def _idle(self) -> None:
        timeout = self.settings.outbox_poll_interval
        try:
            now = self.clock.now()
            async with self.sessionmaker() as session:
                due = await outbox.next_due(session, now)
            if due is not None:
                timeout = min(timeout, max(MIN_IDLE, (due - now).total_seconds()))
        except Exception as exc:
            log_failure(log, "outbox: could not look for the next due message", exc)
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            self._check_broadcasts = True  # a poll: also broadcasts another process finished

    # ---- one round -------------------------------------------------------------------------

    async def run_once(self, bot: Bot) -> int:
        """Claim the rows due now, deliver them, close finished broadcasts; returns how
        many rows were claimed."""
        async with self._db_lock, self.sessionmaker() as session:
            rows = await outbox.claim(session, self.clock.now(), self.batch, self.lease)
            await session.commit()
        if rows:
            results = await asyncio.gather(
                *(self._deliver(bot, row) for row in rows), return_exceptions=True
            )
            released: list[tuple[int, datetime]] = []
            for row, result in zip(rows, results, strict=True):
                if self.metrics is not None:
                    outcome = "error" if isinstance(result, BaseException) else result
                    self.metrics.sends.labels(outcome).inc()
                if isinstance(result, BaseException):
                    log.error("outbox row %s: %s", row.id, result.__class__.__name__)
                elif result == RELEASED:
                    released.append((row.id, row.claimed_until))  # type: ignore[arg-type]
                elif row.broadcast_id is not None and result != RETRY:
                    self._check_broadcasts = True
            if released:
                await self._write(outbox.release, released)
        if self._check_broadcasts:
            self._check_broadcasts = False
            await self._close_broadcasts()
        return len(rows)

    async def _close_broadcasts(self) -> None:
        async with self._db_lock, self.sessionmaker() as session:
            closed = await close_finished(session, self.clock.now())
            await session.commit()
        if closed:
            self.wake()  # the officers' summaries are in the outbox now

    async def _write(self, operation: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        """One short transaction, one at a time in this process."""
        async with self._db_lock, self.sessionmaker() as session:
            result = await operation(session, *args, **kw)
            await session.commit()
            return result

    # ---- one row ---------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, unless the sender is stopping; False when it is."""
        if self._stopping.is_set():
            return False
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            stopper.cancel()
        return not self._stopping.is_set()

    async def _wait_turn(self, chat_id: int) -> bool:
        while True:
            delay = self.limiter.reserve(chat_id, self.clock.monotonic())
            if delay > 0 and not await self._sleep(delay):
                return False
            while not self._stopping.is_set():
                if self.limiter.paused_for(self.clock.monotonic()) > 0:
                    break  # flood control began while this row waited: queue behind it
                gap = self.limiter.admit(self.clock.monotonic())
                if gap <= 0:
                    return True
                if not await self._sleep(gap):  # woke late, right behind another send
                    return False
            if self._stopping.is_set():
                return False

    async def _deliver(self, bot: Bot, row: OutboxMessage) -> str:
        claimed_until = row.claimed_until
        assert claimed_until is not None
        if not await self._wait_turn(row.chat_id):
            return RELEASED
        if self.clock.now() + timedelta(seconds=self.send_timeout) > claimed_until:
            return RELEASED  # the claim could run out mid-send: claim it afresh
        try:
            reply = Reply.from_message(row.chat_id, row.message)
            await asyncio.wait_for(send(bot, reply), self.send_timeout)
        except TelegramRetryAfter as exc:
            self.limiter.pause(self.clock.monotonic(), exc.retry_after)
            log.warning(
                "outbox: flood control, all sending paused for %ss (row %s)",
                exc.retry_after, row.id,
            )  # fmt: skip
            at = self.clock.now() + timedelta(seconds=exc.retry_after)
            return await self._retry(row, at, exc, count_attempt=False)
        except TelegramForbiddenError as exc:
            log.info("outbox row %s undeliverable: %s", row.id, exc.__class__.__name__)
            return await self._give_up(row, UNDELIVERABLE, exc)
        except _PERMANENT as exc:
            log.error("outbox row %s failed: %s", row.id, exc.__class__.__name__)
            return await self._give_up(row, FAILED, exc)
        except _TRANSIENT as exc:
            failures = row.attempts + 1
            if failures >= self.settings.outbox_max_attempts:
                log.error(
                    "outbox row %s failed after %s tries: %s",
                    row.id, failures, exc.__class__.__name__,
                )  # fmt: skip
                return await self._give_up(row, FAILED, exc)
            delay = backoff(failures)
            log.warning(
                "outbox row %s: %s, retry %s in %ss",
                row.id, exc.__class__.__name__, failures, delay,
            )  # fmt: skip
            return await self._retry(row, self.clock.now() + timedelta(seconds=delay), exc)
        except Exception as exc:  # a row that cannot be sent at all (a bug): never retried
            log.error("outbox row %s failed: %s", row.id, exc.__class__.__name__)
            return await self._give_up(row, FAILED, exc)
        return await self._sent(row)

    async def _sent(self, row: OutboxMessage) -> str:
        for attempt in range(3):  # Telegram has it: recording that matters most
            try:
                marked = await self._write(outbox.mark_sent, row.id, self.clock.now())
            except Exception:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5)
                continue
            if not marked:  # another sender's claim got there first
                log.warning("outbox row %s was already final", row.id)
            return SENT if marked else LOST
        raise AssertionError("unreachable")

    async def _retry(
        self, row: OutboxMessage, at: datetime, exc: BaseException, *, count_attempt: bool = True
    ) -> str:
        done = await self._write(
            outbox.reschedule, row.id, row.claimed_until,
            at=at, error=exc.__class__.__name__, count_attempt=count_attempt,
        )  # fmt: skip
        return RETRY if done else LOST

    async def _give_up(self, row: OutboxMessage, status: str, exc: BaseException) -> str:
        done = await self._write(
            outbox.give_up, row.id, row.claimed_until, status=status, error=exc.__class__.__name__
        )
        return status if done else LOST


__all__ = [
    "LEASE",
    "Clock",
    "OutboxSender",
    "RateLimiter",
    "SystemClock",
    "backoff",
]
