"""``lapor-warga``: run the bot and administer the registry."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.settings import Settings, SettingsError, load_settings
from locales import _, set_default_locale
from registry.errors import DomainError, ImportRejected
from registry.nik import normalize_digits
from storage import db

if TYPE_CHECKING:
    from storage.models import Household

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def no_token_help() -> str:
    return _("""\
BOT_TOKEN is not set, so the bot cannot start.

  1. Ask @BotFather on Telegram for a bot token (/newbot).
  2. Put it in the environment or in a .env file here:  BOT_TOKEN=123456:ABC...
  3. Load the registry: lapor-warga regions import; lapor-warga registry import FILE.csv
  4. Start again: lapor-warga run

To try the bot without a token or Telegram, run: lapor-warga sandbox""")


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lapor-warga",
        description="Lapor Warga: residents report household changes to the DTSEN registry over Telegram.",
        epilog="Settings come from the environment or .env: BOT_TOKEN, DATABASE_URL, "
        "TELEGRAM_API_BASE, DEFAULT_LOCALE, LOG_LEVEL.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the bot (long polling); needs BOT_TOKEN")

    sandbox = sub.add_parser(
        "sandbox",
        help="try the bot without a token: a local Bot API server, the real bot, a demo "
        "registry and a page with four phones, all on 127.0.0.1",
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port of the page (default: 8080; 0 picks a free one)",
    )

    db_parser = sub.add_parser("db", help="database schema")
    db_sub = db_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply all Alembic migrations")

    regions = sub.add_parser("regions", help="Kemendagri region codes")
    regions_sub = regions.add_subparsers(dest="action", required=True, metavar="ACTION")
    r_import = regions_sub.add_parser("import", help="import region codes from a kode,nama CSV")
    r_import.add_argument(
        "file", nargs="?", type=Path, help="CSV file (default: the bundled Kepmendagri 2025 list)"
    )

    registry = sub.add_parser("registry", help="households and members")
    registry_sub = registry.add_subparsers(dest="action", required=True, metavar="ACTION")
    g_import = registry_sub.add_parser(
        "import",
        help="import households from a CSV, one row per member "
        "(kk,nik,name,sex,birth_date,relationship,region_code,rw,rt,address,desil)",
    )
    g_import.add_argument("file", type=Path)
    show = registry_sub.add_parser("show", help="print one household as JSON")
    show.add_argument("--kk", required=True, help="the 16-digit KK number")
    show.add_argument(
        "--as-of", type=_day, metavar="YYYY-MM-DD",
        help="the household as it was at the end of that day (UTC)",
    )  # fmt: skip
    history = registry_sub.add_parser("history", help="list one household's revisions")
    history.add_argument("--kk", required=True, help="the 16-digit KK number")

    roles = sub.add_parser("roles", help="reviewer roles")
    roles_sub = roles.add_subparsers(dest="action", required=True, metavar="ACTION")
    grant = roles_sub.add_parser("grant", help="give a Telegram user a reviewer role in an area")
    grant.add_argument("--telegram-id", type=int, required=True)
    grant.add_argument("--role", choices=["rt", "rw", "lurah", "officer"], required=True)
    grant.add_argument(
        "--region",
        required=True,
        help="desa/kelurahan code for rt, rw and lurah; kabupaten/kota or kecamatan code for officer",
    )
    grant.add_argument("--rw", type=int)
    grant.add_argument("--rt", type=int)
    return parser


async def _open_database(settings: Settings) -> AsyncEngine:
    """The engine, with the schema migrated (SQLite) or checked (PostgreSQL)."""
    engine = db.create_engine(settings.database_url)
    try:
        if settings.is_sqlite:
            await db.upgrade(engine)
        elif not await db.is_up_to_date(engine):
            raise CliError(
                _("The database schema is not up to date: run `lapor-warga db upgrade`."),
                EXIT_CONFIG,
            )
    except CliError:
        await engine.dispose()
        raise
    except Exception as exc:  # connection refused, bad credentials, ...
        await engine.dispose()
        raise CliError(
            _("Cannot open the database: {error}").format(error=exc.__class__.__name__), EXIT_CONFIG
        ) from None
    return engine


async def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    engine = await _open_database(settings)
    try:
        async with db.make_sessionmaker(engine)() as session:
            code = await work(session)
            if code == EXIT_OK:
                await session.commit()
            return code
    finally:
        await engine.dispose()


async def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()
    print(_("Database schema is up to date."))
    return EXIT_OK


def _report_rejected(exc: ImportRejected, path: Path) -> int:
    print(
        _("{file}: {n} bad row(s); nothing was imported.").format(file=path, n=len(exc.errors)),
        file=sys.stderr,
    )
    for error in exc.errors:
        print(
            _("{file}:{line}: {reason}").format(file=path, line=error.line, reason=error.reason),
            file=sys.stderr,
        )
    return EXIT_FAILED


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise CliError(_("{file}: no such file").format(file=path), EXIT_CONFIG)


async def _regions_import(settings: Settings, args: argparse.Namespace) -> int:
    from registry.regions import BUNDLED_REGIONS_CSV, import_regions

    path = args.file or BUNDLED_REGIONS_CSV
    _require_file(path)

    async def work(session: AsyncSession) -> int:
        try:
            result = await import_regions(session, path)
        except ImportRejected as exc:
            return _report_rejected(exc, path)
        print(
            _("Regions: {added} added, {renamed} renamed, {unchanged} unchanged.").format(
                added=result.added, renamed=result.renamed, unchanged=result.unchanged
            )
        )
        return EXIT_OK

    return await _in_session(settings, work)


async def _registry_import(settings: Settings, args: argparse.Namespace) -> int:
    from registry.households import import_households

    _require_file(args.file)

    async def work(session: AsyncSession) -> int:
        try:
            households, members = await import_households(session, args.file)
        except ImportRejected as exc:
            return _report_rejected(exc, args.file)
        print(_("Imported {h} household(s) with {m} member(s).").format(h=households, m=members))
        return EXIT_OK

    return await _in_session(settings, work)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a date like 2026-06-01").format(text=text)
        ) from None


async def _household(session: AsyncSession, kk_text: str) -> Household:
    from registry.households import household_by_kk

    household = await household_by_kk(session, normalize_digits(kk_text))
    if household is None:
        raise CliError(_("No household with that KK number."))
    return household


async def _registry_show(settings: Settings, args: argparse.Namespace) -> int:
    from registry.history import household_as_of
    from registry.households import household_snapshot

    async def work(session: AsyncSession) -> int:
        household = await _household(session, args.kk)
        if args.as_of is None:
            snapshot = household_snapshot(household)
        else:
            snapshot = await household_as_of(session, household, args.as_of)
            if snapshot is None:
                raise CliError(
                    _("That household was not in the registry yet on {day}.").format(
                        day=args.as_of.isoformat()
                    )
                )
        print(json.dumps(snapshot, ensure_ascii=False, indent=2))
        return EXIT_OK

    return await _in_session(settings, work)


async def _registry_history(settings: Settings, args: argparse.Namespace) -> int:
    from registry.history import household_history

    async def work(session: AsyncSession) -> int:
        entries = await household_history(session, await _household(session, args.kk))
        if not entries:
            print(_("No changes have been applied to this household since it was imported."))
        for entry in entries:
            print(
                "\t".join(
                    [
                        entry["at"], entry["action"], entry["member"] or "-",
                        entry["report"] or "-", str(entry["approved_by"] or "-"),
                    ]
                )
            )  # fmt: skip
        return EXIT_OK

    return await _in_session(settings, work)


async def _roles_grant(settings: Settings, args: argparse.Namespace) -> int:
    from registry.accounts import grant_area, grant_role

    async def work(session: AsyncSession) -> int:
        try:
            grant = await grant_role(
                session, args.telegram_id, args.role, args.region, args.rw, args.rt
            )
        except DomainError as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        print(
            _("Granted {role} for {area} to Telegram user {id}.").format(
                role=grant.role, area=grant_area(grant), id=args.telegram_id
            )
        )
        return EXIT_OK

    return await _in_session(settings, work)


async def _run(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.bot_token is None:
        print(no_token_help(), file=sys.stderr)
        return EXIT_CONFIG
    from aiogram.utils.token import TokenValidationError, validate_token

    from bot.factory import create_bot, create_dispatcher, set_commands

    try:
        validate_token(settings.bot_token.get_secret_value())
    except TokenValidationError:
        raise CliError(
            _("BOT_TOKEN: not a Telegram bot token (expected 123456:ABC...)"), EXIT_CONFIG
        ) from None
    engine = await _open_database(settings)
    bot = create_bot(settings)
    try:
        dp = create_dispatcher(db.make_sessionmaker(engine), settings)
        await set_commands(bot, settings.default_locale)
        await dp.start_polling(bot)
    finally:
        await bot.session.close()
        await engine.dispose()
    return EXIT_OK


async def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
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


COMMANDS: dict[tuple[str, str | None], Callable[[Settings, argparse.Namespace], Awaitable[int]]] = {
    ("run", None): _run,
    ("sandbox", None): _sandbox,
    ("db", "upgrade"): _db_upgrade,
    ("regions", "import"): _regions_import,
    ("registry", "import"): _registry_import,
    ("registry", "show"): _registry_show,
    ("registry", "history"): _registry_history,
    ("roles", "grant"): _roles_grant,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    set_default_locale(settings.default_locale)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    command = COMMANDS[(args.command, getattr(args, "action", None))]
    try:
        return asyncio.run(command(settings, args))
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
