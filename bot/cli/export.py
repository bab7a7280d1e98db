"""``lapor-warga export``: files for the national system (full NIK/KK)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.core import (
    EXIT_OK,
    Handler,
    add_group,
    add_table_output,
    audit_cli,
    day,
    in_session,
    output_table,
    table_format,
)
from bot.progress import Progress
from locales import _

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings

NAME = "export"


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, NAME, help="files for the national system (full NIK/KK)")
    changes = actions.add_parser(
        "changes",
        help="every change applied to the registry since a day: a row per member changed, "
        "household changes and disputes with empty member columns",
    )
    changes.add_argument(
        "--since",
        type=day,
        required=True,
        metavar="YYYY-MM-DD",
        help="changes applied from the start of that day (UTC)",
    )
    add_table_output(changes)


async def export_changes(settings: Settings, args: argparse.Namespace) -> int:
    from registry.exports import CHANGES_HEADER, changed_rows, count_changes

    fmt = table_format(args)

    async def work(session: AsyncSession) -> int:
        total = await count_changes(session, args.since)
        with (
            Progress(_("export changes"), total) as progress,
            output_table(settings, args, fmt, CHANGES_HEADER, sheet="changes") as table,
        ):
            async for row in changed_rows(session, args.since):
                table.row(row)
                progress.update()
        if args.output is not None:
            print(
                _("{n} change(s) since {day} written to {file}.").format(
                    n=progress.count, day=args.since.isoformat(), file=args.output
                )
            )
        audit_cli(
            session, "export", "export changes", since=args.since.isoformat(), rows=progress.count
        )
        return EXIT_OK

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {"changes": export_changes}
