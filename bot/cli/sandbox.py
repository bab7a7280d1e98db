"""``lapor-warga sandbox``: the bot without a token, against a local fake Bot API."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.core import EXIT_CONFIG, EXIT_OK, CliError, Handler
from locales import _

if TYPE_CHECKING:
    from bot.settings import Settings

NAME = "sandbox"


def register(commands: argparse._SubParsersAction) -> None:
    sandbox_parser = commands.add_parser(
        NAME,
        help="try the bot without a token: a local Bot API server, the real bot, a demo "
        "registry and a page with four phones, all on 127.0.0.1",
    )
    sandbox_parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port of the page (default: 8080; 0 picks a free one)",
    )


async def sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox.app import serve

    if not 0 <= args.port <= 65535:
        raise CliError(_("--port must be between 0 and 65535"), EXIT_CONFIG)
    try:
        await serve(args.port, settings.default_locale)
    except OSError as exc:
        raise CliError(
            _("Cannot listen on 127.0.0.1:{port} ({error}); try --port 0.").format(
                port=args.port, error=exc.strerror or exc.__class__.__name__
            ),
            EXIT_CONFIG,
        ) from None
    return EXIT_OK


HANDLERS: dict[str | None, Handler] = {None: sandbox}
