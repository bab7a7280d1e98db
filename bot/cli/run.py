"""``lapor-warga run``: the bot itself, by long polling or behind a webhook."""

from __future__ import annotations

import argparse
import sys
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

NAME = "run"


def no_token_help() -> str:
    return _("""\
BOT_TOKEN is not set, so the bot cannot start.

  1. Ask @BotFather on Telegram for a bot token (/newbot).
  2. Put it in the environment or in a .env file here:  BOT_TOKEN=123456:ABC...
  3. Load the registry: lapor-warga regions import; lapor-warga registry import FILE.csv
  4. Start again: lapor-warga run

To try the bot without a token or Telegram, run: lapor-warga sandbox""")


def register(commands: argparse._SubParsersAction) -> None:
    run_help = (
        "run the bot; needs BOT_TOKEN. Long polling by default (one process); --webhook "
        "serves Telegram's webhook instead (several processes on one PostgreSQL). "
        "METRICS_PORT adds /healthz and /metrics; CONSOLE_PORT the web console. SIGTERM stops it after the updates in hand."
    )
    run_parser = commands.add_parser(NAME, help=run_help, description=run_help)
    run_parser.add_argument(
        "--webhook",
        action="store_true",
        help="serve webhooks on WEBHOOK_HOST:WEBHOOK_PORT (default 0.0.0.0:8080) and register "
        "WEBHOOK_URL with WEBHOOK_SECRET at Telegram",
    )


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.bot_token is None:
        print(no_token_help(), file=sys.stderr)
        return EXIT_CONFIG
    # aiogram alone takes seconds to import: only when the bot really starts.
    from aiogram.utils.token import TokenValidationError, validate_token

    from bot.factory import create_bot, create_dispatcher, set_commands
    from bot.monitor import CannotListen, Monitor

    try:
        validate_token(settings.bot_token.get_secret_value())
    except TokenValidationError:
        raise CliError(
            _("BOT_TOKEN: not a Telegram bot token (expected 123456:ABC...)"), EXIT_CONFIG
        ) from None
    if args.webhook:
        missing = [
            name
            for name, value in (
                ("WEBHOOK_URL", settings.webhook_url),
                ("WEBHOOK_SECRET", settings.webhook_secret),
            )
            if value is None
        ]
        if missing:
            raise CliError(
                _("--webhook needs {names} (see docs/deploying.md).").format(
                    names=", ".join(missing)
                ),
                EXIT_CONFIG,
            )
    engine = await open_database(settings)
    bot = create_bot(settings)
    monitor = console = None
    try:
        dp = create_dispatcher(engine, settings)
        if settings.metrics_port is not None:
            monitor = Monitor(engine, dp["sessionmaker"], dp["metrics"])
            await monitor.start(settings.metrics_host, settings.metrics_port)
        if settings.console_port is not None:
            from bot.cli.console import start_console

            console = await start_console(
                settings, dp["sessionmaker"], on_enqueued=dp["outbox"].wake
            )
        await set_commands(bot, settings.default_locale)
        if args.webhook:
            from bot.webhook import serve

            await serve(dp, bot, settings)
        else:
            # getUpdates does not work while a webhook is registered (a previous
            # --webhook run): polling takes over, the pending updates are kept.
            if (await bot.get_webhook_info()).url:
                log.warning("removing the registered webhook: this process polls instead")
                await bot.delete_webhook(drop_pending_updates=False)
            # aiogram stops polling on SIGTERM and SIGINT; the dispatcher's shutdown
            # then waits for the updates in hand (SHUTDOWN_TIMEOUT).
            await dp.start_polling(bot, close_bot_session=False)
    except CannotListen as exc:
        raise cannot_listen(exc) from None
    finally:
        if console is not None:
            await console.stop()
        if monitor is not None:
            await monitor.stop()
        await bot.session.close()
        await engine.dispose()
    return EXIT_OK


HANDLERS: dict[str | None, Handler] = {None: run}
