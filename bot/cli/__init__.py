"""``lapor-warga``: run the bot and administer the registry.

One module per command group declares its subcommands (``register``) beside their
handlers (``HANDLERS``, by action); ``GROUPS`` lists the groups in the order
``--help`` shows them, and ``COMMANDS`` is the dispatch table built from them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot import __version__
from bot.cli import (
    audit,
    broadcast,
    console,
    db,
    export,
    invite,
    regions,
    registry,
    reports,
    roles,
    run,
    sandbox,
)
from bot.cli.core import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, CliError, Handler
from bot.cli.run import no_token_help
from bot.redaction import install as redact_logs
from locales import set_default_locale
from registry.textfile import UnreadableFile

__all__ = [
    "COMMANDS",
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "GROUPS",
    "CliError",
    "main",
    "no_token_help",
]

GROUPS = (
    run,
    console,
    sandbox,
    db,
    regions,
    registry,
    reports,
    export,
    audit,
    broadcast,
    roles,
    invite,
)

COMMANDS: dict[tuple[str, str | None], Handler] = {
    (group.NAME, action): handler for group in GROUPS for action, handler in group.HANDLERS.items()
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lapor-warga",
        description="Lapor Warga: residents report household changes to the DTSEN registry over Telegram.",
        epilog="Settings come from the environment or .env: BOT_TOKEN, DATABASE_URL, "
        "TELEGRAM_API_BASE, DEFAULT_LOCALE, LOG_LEVEL, WORKFLOW_FILE and more (every one, "
        "with its default, in .env.example; see docs/configuration.md).",
    )
    parser.add_argument(
        "--version", action="version", version=f"lapor-warga {__version__}",
        help="print the version and exit",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # pydantic-settings and SQLAlchemy only once the arguments are right: --help and
    # usage errors print without them. Alembic (storage.db) before the log is set up:
    # it logs each of its plugins at INFO when first imported.
    import storage.db  # noqa: F401
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    set_default_locale(settings.default_locale)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    redact_logs()  # no full NIK, KK or phone number in the log, whatever slips through
    command = COMMANDS[(args.command, getattr(args, "action", None))]
    try:
        return asyncio.run(command(settings, args))
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except UnreadableFile as exc:  # FILE:LINE: reason, from any command reading a file
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    except SettingsError as exc:  # e.g. a wrong WORKFLOW_FILE, read when the bot starts
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
