"""The console's aiohttp application and its server (``lapor-warga console``, inside
``lapor-warga run`` when ``CONSOLE_PORT`` is set, and in the sandbox)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console import admin, auth, export, household, meeting, pages, summary
from console.evidence import EvidenceCache
from console.web import CONSOLE, Console, per_request, security_headers
from registry.policy import Policy

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")


def create_app(console: Console) -> web.Application:
    app = web.Application(middlewares=[security_headers, per_request], client_max_size=1024**2)
    app[CONSOLE] = console
    app.add_routes(
        [
            *auth.routes(),
            *pages.routes(),
            *admin.routes(),
            *household.routes(),
            *summary.routes(),
            *export.routes(),
            *meeting.routes(),
        ]
    )
    app.router.add_get("/static/{name}", static_file)
    return app


async def static_file(request: web.Request) -> web.FileResponse:
    """A file of console/static (only its own files: no path, no dot file); a missing one
    is the console's 404 page, not an empty answer."""
    name = request.match_info["name"]
    path = STATIC / name
    if name.startswith(".") or "/" in name or "\\" in name or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def console_from_settings(
    settings,  # type: ignore[no-untyped-def]  # bot.settings.Settings (console imports no bot/)
    sessionmaker: async_sessionmaker[AsyncSession],
    policy: Policy,
    *,
    public_url: str | None = None,
    on_enqueued: Callable[[], None] | None = None,
) -> Console:
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    evidence = EvidenceCache(
        Path(settings.console_cache_dir), int(settings.console_cache_mb * 1024 * 1024),
        settings.telegram_api_base, token,
    )  # fmt: skip
    return Console(
        sessionmaker=sessionmaker, policy=policy, bot_token=token,
        bot_username=settings.bot_username, public_url=public_url or settings.console_url,
        default_locale=settings.default_locale, evidence=evidence, on_enqueued=on_enqueued,
    )  # fmt: skip


class ConsoleServer:
    """The console on host:port in the running event loop."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> int:
        self._runner = web.AppRunner(create_app(self.console), access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = self._runner.addresses[0][1]
        log.info("console: listening on %s:%s", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
