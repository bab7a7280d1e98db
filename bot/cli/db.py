"""``lapor-warga db``: the database schema and backups."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.core import (
    EXIT_CONFIG,
    EXIT_OK,
    FORCE_HELP,
    CliError,
    Handler,
    add_group,
    cannot_write,
    refused,
)
from locales import _, format_number

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.backup import BackupError

NAME = "db"


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, NAME, help="database schema and backups")
    actions.add_parser("upgrade", help="apply all Alembic migrations")
    db_backup = actions.add_parser(
        "backup",
        help="copy the database to FILE while the bot may keep running "
        "(SQLite: online backup API; PostgreSQL: pg_dump --format=custom, restore with pg_restore)",
    )
    db_backup.add_argument("file", type=Path, metavar="FILE")
    db_backup.add_argument("--force", action="store_true", help=FORCE_HELP)


async def db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from storage import db

    engine = db.create_engine(settings.database_url, **settings.pool)
    try:
        try:
            async with engine.connect():
                pass
        except Exception as exc:  # connection refused, bad credentials, no such database
            raise CliError(
                _("Cannot open the database: {error}").format(error=exc.__class__.__name__),
                EXIT_CONFIG,
            ) from None
        await db.upgrade(engine)
    finally:
        await engine.dispose()
    print(_("Database schema is up to date."))
    return EXIT_OK


def _backup_failure(exc: BackupError) -> str:
    messages = {
        "memory": _("An in-memory SQLite database has nothing to back up."),
        "missing": _("{file}: no such database file.").format(file=exc.detail),
        "sqlite": _("The SQLite backup failed: {error}").format(error=exc.detail),
        "no_pg_dump": _(
            "pg_dump was not found: install the PostgreSQL client (apt-get install "
            "postgresql-client), or run pg_dump --format=custom yourself."
        ),
        "pg_dump": _("pg_dump failed: {error}").format(error=exc.detail),
    }
    return messages[exc.code]


async def db_backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage import backup
    from storage.files import OutputRefused

    target: Path = args.file
    copy = backup.backup_sqlite if settings.is_sqlite else backup.backup_postgres
    try:
        size = await copy(settings.database_url, target, force=args.force)
    except backup.BackupError as exc:
        raise CliError(_backup_failure(exc)) from None
    except OutputRefused as exc:
        raise refused(exc) from None
    except OSError as exc:
        raise cannot_write(target, exc) from None
    print(
        _("Backed up the database to {file} ({size} bytes).").format(
            file=target, size=format_number(size)
        )
    )
    return EXIT_OK


HANDLERS: dict[str | None, Handler] = {"upgrade": db_upgrade, "backup": db_backup}
