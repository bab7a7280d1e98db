"""``lapor-warga console``: the web console alone (``lapor-warga run`` also serves it
when CONSOLE_PORT is set)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING

from bot.cli.core import (
    EXIT_CONFIG,
    EXIT_OK,
    CliError,
    Handler,
    cannot_listen,
    log,
    open_database,
)
from locales import _

if TYPE_CHECKING:
    from bot.settings import Settings

NAME = "console"


def register(commands: argparse._SubParsersAction) -> None:
    console_help = (
        "serve the web console for reviewers and village operators on CONSOLE_HOST:CONSOLE_PORT "
        "(default 127.0.0.1:8090); people sign in with /masuk (links to CONSOLE_URL)"
    )
    parser = commands.add_parser(NAME, help=console_help, description=console_help)
    parser.add_argument("--port", type=int, help="port (default: CONSOLE_PORT, else 8090)")


async def start_console(settings: Settings, sessionmaker, on_enqueued=None):  # type: ignore[no-untyped-def]
    """The console server started on CONSOLE_HOST:CONSOLE_PORT in this event loop."""
    from bot.monitor import CannotListen
    from console.app import ConsoleServer, console_from_settings

    console = console_from_settings(
        settings, sessionmaker, settings.policy(), on_enqueued=on_enqueued
    )
    server = ConsoleServer(console)
    port = settings.console_port if settings.console_port is not None else 8090
    try:
        await server.start(settings.console_host, port)
    except OSError as exc:
        raise CannotListen(
            "CONSOLE_PORT", settings.console_host, port, exc.strerror or exc.__class__.__name__
        ) from exc
    return server


async def console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.monitor import CannotListen
    from storage import db

    if args.port is not None:
        if not 0 <= args.port <= 65535:
            raise CliError(_("--port must be between 0 and 65535"), EXIT_CONFIG)
        settings = settings.model_copy(update={"console_port": args.port})
    engine = await open_database(settings)
    try:
        try:
            server = await start_console(settings, db.make_sessionmaker(engine))
        except CannotListen as exc:
            raise cannot_listen(exc) from None
        log.info("console: http://%s:%s/", settings.console_host, server.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        with contextlib.suppress(asyncio.CancelledError):
            await stop.wait()
        await server.stop()
    finally:
        await engine.dispose()
    return EXIT_OK


HANDLERS: dict[str | None, Handler] = {None: console}
