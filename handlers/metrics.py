"""What a running bot counts for Prometheus, and the updates it has in hand.

:class:`Metrics` owns one ``CollectorRegistry`` per dispatcher (several bots in one
test process keep their counts apart). :class:`UpdateTracker` is the outermost of our
middlewares (on every update): it counts each update by kind and outcome, times it,
and knows how many are being processed, so a shutdown can wait for them to finish.

The database gauges (reports by state, outbox by status) are filled when ``/metrics``
is scraped (``bot/monitor.py``): they describe the shared database, the same from every
process; the counters and the latency are this process's own."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from storage.updates import is_outage

log = logging.getLogger(__name__)

# Outcomes of an update (the ``outcome`` label).
HANDLED, DUPLICATE, THROTTLED, IGNORED, FAILED, UNAVAILABLE = (
    "handled", "duplicate", "throttled", "ignored", "failed", "unavailable",
)  # fmt: skip
OUTCOME_KEY = "update_outcome"  # in the middleware data: a one-item list to set the outcome


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.updates = Counter(
            "lapor_warga_updates",
            "Telegram updates received by this process, by kind and outcome",
            ["kind", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "lapor_warga_update_seconds",
            "Time from receiving an update to its last reply, including waiting for its chat",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.in_flight = Gauge(
            "lapor_warga_updates_in_flight", "Updates being processed now", registry=registry
        )
        self.reports = Gauge(
            "lapor_warga_reports", "Reports in the database by state", ["state"], registry=registry
        )
        self.outbox = Gauge(
            "lapor_warga_outbox_messages",
            "Outbox messages in the database by status",
            ["status"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "lapor_warga_outbox_backlog",
            "Outbox messages due now and not yet sent",
            registry=registry,
        )
        self.outbox_oldest = Gauge(
            "lapor_warga_outbox_oldest_pending_seconds",
            "Age of the oldest pending outbox message (0 when none)",
            registry=registry,
        )
        self.sends = Counter(
            "lapor_warga_outbox_sends",
            "Outbox send attempts by this process, by result "
            "(sent, retry, undeliverable, failed, released, lost, error)",
            ["result"],
            registry=registry,
        )
        self.database_up = Gauge(
            "lapor_warga_database_up",
            "1 when the last health check reached the database",
            registry=registry,
        )


class UpdateTracker(BaseMiddleware):
    """Outer middleware on ``dp.update``; see the module docstring."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until no update is being processed; False if some still are at ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            log.warning("shutting down with %s update(s) still in hand", self._in_flight)
            return False
        return True

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        kind = event.event_type
        outcome = [HANDLED]
        data[OUTCOME_KEY] = outcome
        self._in_flight += 1
        self._idle.clear()
        self.metrics.in_flight.inc()
        start = time.perf_counter()
        try:
            result = await handler(event, data)
            if result is UNHANDLED:
                outcome[0] = IGNORED
            return result
        except BaseException as exc:
            outcome[0] = UNAVAILABLE if is_outage(exc) else FAILED
            raise
        finally:
            self.metrics.latency.labels(kind).observe(time.perf_counter() - start)
            self.metrics.updates.labels(kind, outcome[0]).inc()
            self.metrics.in_flight.dec()
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()


def set_outcome(data: dict[str, Any], outcome: str) -> None:
    holder = data.get(OUTCOME_KEY)
    if holder is not None:
        holder[0] = outcome
