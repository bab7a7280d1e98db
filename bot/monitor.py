"""``/healthz`` and ``/metrics`` of a running bot, on their own port (``METRICS_PORT``).

``/healthz`` answers 200 ``{"status": "ok", "database": "ok"}`` when the database
answered a ``SELECT 1`` within ``HEALTH_TIMEOUT`` seconds, else 503 with the reason (for
a load balancer or an orchestrator's liveness check). ``/metrics`` is the Prometheus
text format: this process's counters (updates, latency, outbox sends) and the shared
database's reports by state and outbox by status, read at each scrape."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handlers.metrics import Metrics
from registry.workflow import STATES
from storage import stats
from storage.models import utcnow

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 3.0
OUTBOX_STATUSES = ("pending", "sent", "undeliverable", "failed")


class CannotListen(Exception):
    """A server of the bot could not bind its address (in use, not permitted)."""

    def __init__(self, setting: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"{setting}: cannot listen on {host}:{port} ({reason})")
        self.setting, self.host, self.port, self.reason = setting, host, port, reason


async def listen(runner: web.AppRunner, host: str, port: int, setting: str) -> None:
    """Serve ``runner`` on host:port; a failure to bind is CannotListen naming ``setting``."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        raise CannotListen(setting, host, port, exc.strerror or exc.__class__.__name__) from exc


class Monitor:
    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: Metrics,
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.metrics = metrics
        self._runner: web.AppRunner | None = None
        self._was_up = True
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
        return app

    async def _database_up(self) -> str | None:
        """None when the database answered, else why not (an exception class name)."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                await stats.ping(self.engine)
        except Exception as exc:
            reason = "timeout" if isinstance(exc, TimeoutError) else exc.__class__.__name__
            if self._was_up:
                log.error("health check: the database is unreachable (%s)", reason)
            self._was_up = False
            self.metrics.database_up.set(0)
            return reason
        if not self._was_up:
            log.warning("health check: the database is reachable again")
        self._was_up = True
        self.metrics.database_up.set(1)
        return None

    async def healthz(self, _request: web.Request) -> web.Response:
        problem = await self._database_up()
        if problem is None:
            return web.json_response({"status": "ok", "database": "ok"})
        return web.json_response(
            {"status": "unavailable", "database": problem},
            status=503,
            headers={"Retry-After": "10"},
        )

    async def metrics_page(self, _request: web.Request) -> web.Response:
        if await self._database_up() is None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT), self.sessionmaker() as session:
                    snap = await stats.snapshot(session, utcnow())
            except Exception as exc:
                log.warning("metrics: database figures unavailable (%s)", exc.__class__.__name__)
            else:
                for state in STATES:
                    self.metrics.reports.labels(state).set(snap.reports.get(state, 0))
                for status in OUTBOX_STATUSES:
                    self.metrics.outbox.labels(status).set(snap.outbox.get(status, 0))
                self.metrics.outbox_backlog.set(snap.backlog)
                self.metrics.outbox_oldest.set(snap.oldest_pending_seconds)
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await listen(self._runner, host, port, "METRICS_PORT")
        self.port = self._runner.addresses[0][1]
        log.info("health and metrics on http://%s:%s/healthz and /metrics", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
