"""What the command groups share: exit codes, the error a command stops with, argument
types and options used by several groups, and opening the database.

This module and the group modules are imported for every command, ``--help``
included. SQLAlchemy, Alembic, pydantic and aiogram are not imported here at module
level: they would take ``lapor-warga --help`` over its 0.5 s budget (see
``benchmarks/cli_startup.py``), so a handler imports them when it runs.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from locales import _
from registry.errors import ImportRejected, RowError
from registry.tables import TableWriter, format_for, open_table
from storage.files import OutputRefused

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from bot.monitor import CannotListen
    from bot.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

log = logging.getLogger("bot.cli")

Handler = Callable[["Settings", argparse.Namespace], Awaitable[int]]
"""A command: the settings and the parsed arguments in, the exit code out."""


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def add_group(
    commands: argparse._SubParsersAction, name: str, help: str
) -> argparse._SubParsersAction:
    """A command with actions (``lapor-warga NAME ACTION``): where its actions are added."""
    group = commands.add_parser(name, help=help)
    return group.add_subparsers(dest="action", required=True, metavar="ACTION")


def day(text: str) -> date:
    """An argparse type: a YYYY-MM-DD day."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a date like 2026-06-01").format(text=text)
        ) from None


def add_table_output(
    parser: argparse.ArgumentParser, *, extra: tuple[str, ...] = (), extra_help: str = ""
) -> None:
    parser.add_argument(
        "--format",
        choices=["csv", "xlsx", *extra],
        help="csv or xlsx (default: from the --output suffix, else csv)" + extra_help,
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="file to write (default: CSV on stdout; xlsx needs a file)",
    )
    add_force(parser)


FORCE_HELP = (
    "replace FILE if it is an existing regular file (never a folder, device, FIFO, "
    "symbolic link or the bot's database); files are written 0600"
)


def add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


def refused(exc: OutputRefused) -> CliError:
    """A target file the command will not write: a usage error."""
    return CliError(str(exc), EXIT_CONFIG)


def table_format(args: argparse.Namespace) -> str:
    fmt = format_for(args.output, args.format)
    if fmt == "xlsx" and args.output is None:
        raise CliError(_("--format xlsx needs --output FILE."), EXIT_CONFIG)
    return fmt


def cannot_listen(exc: CannotListen) -> CliError:
    """A server (webhook, metrics, console) that cannot take its port: a setting to fix."""
    return CliError(
        _("{setting}: cannot listen on {host}:{port} ({error}).").format(
            setting=exc.setting, host=exc.host, port=exc.port, error=exc.reason
        ),
        EXIT_CONFIG,
    )


def cannot_write(path: Path | None, exc: OSError) -> CliError:
    return CliError(
        _("Cannot write {file}: {error}").format(
            file=path or "-", error=exc.strerror or exc.__class__.__name__
        )
    )


@contextmanager
def output_table(
    settings: Settings, args: argparse.Namespace, fmt: str, header: Sequence[str], **options: object
) -> Iterator[TableWriter]:
    """``open_table`` for ``args.output`` (stdout when None) with ``args.force``, never
    over the live database; a refused target or a failed write ends the command with
    one line."""
    from storage.files import database_files

    try:
        with open_table(
            args.output, fmt, header, force=args.force,
            protected=database_files(settings.database_url), **options,  # type: ignore[arg-type]
        ) as table:  # fmt: skip
            yield table
    except OutputRefused as exc:
        raise refused(exc) from None
    except OSError as exc:
        raise cannot_write(args.output, exc) from None


def require_file(path: Path) -> None:
    if path.is_dir():
        raise CliError(_("{file} is a folder: give a file").format(file=path), EXIT_CONFIG)
    if not path.is_file():
        raise CliError(_("{file}: no such file").format(file=path), EXIT_CONFIG)
    if path.stat().st_size == 0:
        from registry.textfile import UnreadableFile

        raise UnreadableFile(path, 1, _("the file is empty"))


def bad_row(path: Path, error: RowError) -> str:
    return _("{file}:{line}: {reason}").format(file=path, line=error.line, reason=error.reason)


def rejected(path: Path, exc: ImportRejected) -> int:
    """An import refused as a whole: each bad row as FILE:ROW: reason, then the count."""
    for error in exc.errors:
        print(bad_row(path, error), file=sys.stderr)
    print(
        _("{file}: {n} bad row(s); nothing was imported.").format(file=path, n=exc.count),
        file=sys.stderr,
    )
    return EXIT_FAILED


def audit_cli(session: AsyncSession, action: str, command: str, **details: object) -> None:
    """Record an export or a view of personal data from the command line (with the
    operating-system user who ran it, when known)."""
    from registry import audit

    try:
        user: str | None = getpass.getuser()
    except (OSError, KeyError):  # no user name in a bare container
        user = None
    audit.record(session, action, by=audit.CLI, command=command, os_user=user, **details)


async def open_database(settings: Settings) -> AsyncEngine:
    """The engine, with the schema migrated (SQLite) or checked (PostgreSQL)."""
    from storage import db

    engine = db.create_engine(settings.database_url, **settings.pool)
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


async def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Run ``work`` in one session of the opened database; commit when it returns EXIT_OK."""
    from storage import db

    engine = await open_database(settings)
    try:
        async with db.make_sessionmaker(engine)() as session:
            code = await work(session)
            if code == EXIT_OK:
                await session.commit()
            return code
    finally:
        await engine.dispose()
