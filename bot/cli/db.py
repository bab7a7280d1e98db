"""``lapor-warga db``: the database schema and backups."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.core import EXIT_OK, CliError, Handler, add_group
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
    db_backup.add_argument("--force", action="store_true", help="replace FILE if it exists")


async def db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from storage import db

    engine = db.create_engine(settings.database_url)
    try:
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


def _backup_target(target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise CliError(
            _("{file} exists; choose another name or add --force to replace it.").format(
                file=target
            )
        )
    if not target.parent.is_dir():
        raise CliError(_("{dir}: no such folder.").format(dir=target.parent))


async def db_backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage import backup

    target: Path = args.file
    _backup_target(target, args.force)
    try:
        if settings.is_sqlite:
            size = await backup.backup_sqlite(settings.database_url, target)
        else:
            size = await backup.backup_postgres(settings.database_url, target)
    except backup.BackupError as exc:
        raise CliError(_backup_failure(exc)) from None
    print(
        _("Backed up the database to {file} ({size} bytes).").format(
            file=target, size=format_number(size)
        )
    )
    return EXIT_OK


HANDLERS: dict[str | None, Handler] = {"upgrade": db_upgrade, "backup": db_backup}
