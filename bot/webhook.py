"""Production mode: Telegram posts each update to our aiohttp server (a webhook).

aiogram's ``SimpleRequestHandler`` checks the ``X-Telegram-Bot-Api-Secret-Token``
header (401 without the right one) and feeds the update to the dispatcher. The answer
goes back when the update's work is committed and its replies sent (tens of
milliseconds): an update is never acknowledged before it is saved, so a crash means
Telegram delivers it again, and the processed-update table (``storage/updates.py``)
keeps a second delivery of a committed update from being applied twice. When the
database is unreachable the answer is 503 and Telegram retries later.

Several processes may serve the same webhook behind a load balancer: the chat lock
(PostgreSQL advisory lock) keeps each chat's updates in order across them.

``serve`` returns after SIGTERM or SIGINT (or ``stop``): it stops accepting requests,
lets the ones in hand finish (``SHUTDOWN_TIMEOUT``), then runs the dispatcher's
shutdown (the outbox sender finishes the message it is sending). The webhook stays
registered with Telegram, so the other processes, or this one restarted, carry on."""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.monitor import listen
from bot.settings import Settings
from storage.updates import is_outage

log = logging.getLogger(__name__)


@web.middleware
async def _outage_is_503(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        if not is_outage(exc):
            raise
        return web.Response(status=503, text="database unavailable", headers={"Retry-After": "5"})


class _SecretHandler(SimpleRequestHandler):
    """401 for any header but the exact secret. aiogram compares ``str`` s, which raises
    TypeError (a 500 with a traceback) for a header with non-ASCII characters: compare
    the bytes instead."""

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        expected = (self.secret_token or "").encode()
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, expected)


def webhook_app(dp: Dispatcher, bot: Bot, settings: Settings) -> web.Application:
    assert settings.webhook_secret is not None
    app = web.Application(middlewares=[_outage_is_503])
    # The update is handled before the answer (not in the background): an answered
    # update has been saved.
    _SecretHandler(
        dispatcher=dp,
        bot=bot,
        secret_token=settings.webhook_secret.get_secret_value(),
        handle_in_background=False,
    ).register(app, path=settings.webhook_path)
    setup_application(app, dp, bot=bot)
    return app


async def serve(
    dp: Dispatcher, bot: Bot, settings: Settings, stop: asyncio.Event | None = None
) -> None:
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    dp["redelivered"] = True  # a failed update is answered 503 and comes again
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(
        webhook_app(dp, bot, settings),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=settings.shutdown_timeout,
    )
    await runner.setup()  # runs the dispatcher's startup: outbox sender, SLA, sweeps
    try:
        await listen(runner, settings.webhook_host, settings.webhook_port, "WEBHOOK_PORT")
        await bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=dp.resolve_used_update_types(),
        )
        log.info(
            "webhook: listening on %s:%s%s for %s",
            settings.webhook_host, settings.webhook_port, settings.webhook_path,
            settings.webhook_url,
        )  # fmt: skip
        await stop.wait()
        log.info("webhook: stopping; letting the updates in hand finish")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
