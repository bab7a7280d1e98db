"""``lapor-warga audit``: the audit log, oldest first."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from datetime import datetime, time
from typing import TYPE_CHECKING

from bot.cli.core import EXIT_OK, Handler, day, in_session
from locales import _
from registry.tables import open_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings

NAME = "audit"


def register(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(
        NAME,
        help="the audit log, oldest first: decisions, views of personal data, exports, data "
        "requests, account deletions, role changes",
    )
    audit.add_argument(
        "--since",
        type=day,
        required=True,
        metavar="YYYY-MM-DD",
        help="entries from the start of that day (UTC)",
    )
    audit.add_argument(
        "--format", choices=["text", "csv"], default="text", help="text (default) or csv"
    )


async def audit(settings: Settings, args: argparse.Namespace) -> int:
    from registry.audit import LISTING_HEADER, listing

    async def work(session: AsyncSession) -> int:
        since = datetime.combine(args.since, time())
        as_csv = args.format == "csv"
        count = 0
        with open_table(None, "csv", LISTING_HEADER) if as_csv else nullcontext() as writer:
            async for row in listing(session, since):
                count += 1
                if writer is not None:  # through the table writer: no cell is a formula
                    writer.row([row[k] for k in LISTING_HEADER])
                else:
                    print("\t".join([row["time"], row["who"], row["action"],
                                     row["report"] or "-", row["text"]]))  # fmt: skip
        if not as_csv and count == 0:
            print(_("No audit entries since {day}.").format(day=args.since.isoformat()))
        return EXIT_OK

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {None: audit}
