"""``lapor-warga reports``: lists for village meetings and batch decisions from a CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.core import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Handler,
    add_group,
    add_table_output,
    audit_cli,
    bad_row,
    in_session,
    output_table,
    require_file,
    table_format,
)
from locales import _
from registry.errors import ImportRejected
from registry.textfile import check_csv

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings

NAME = "reports"


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(
        commands, NAME, help="reports: lists for village meetings (musyawarah), batch decisions"
    )
    r_list = actions.add_parser(
        "list",
        help="list an area's reports, oldest first, for a village meeting (KK masked)",
    )
    r_list.add_argument(
        "--region",
        required=True,
        metavar="CODE",
        help="region code of any level: 16.71.01.1001 (desa/kelurahan), 16.71.01, 16.71, 16",
    )
    r_list.add_argument(
        "--state",
        action="append",
        metavar="STATE",
        help="only reports in this state, e.g. awaiting_rt or applied "
        "(repeat for several; default: every state)",
    )
    add_table_output(r_list)
    decide = actions.add_parser(
        "decide",
        help="apply a reviewer's decisions from a CSV (number,decision,reason_code,note): "
        "all or nothing",
    )
    decide.add_argument(
        "--file",
        type=Path,
        required=True,
        metavar="FILE",
        help="CSV with the header number,decision,reason_code,note; decision is approve or "
        "reject; a rejection needs a reason_code, and reason_code other needs a note",
    )
    decide.add_argument(
        "--as",
        dest="as_telegram_id",
        type=int,
        required=True,
        metavar="TELEGRAM_ID",
        help="the reviewer deciding: must hold the role of each report's current tier",
    )


async def reports_list(settings: Settings, args: argparse.Namespace) -> int:
    from flows.meeting import MEETING_HEADER, meeting_rows
    from registry.regions import get_region
    from registry.workflow import STATES

    fmt = table_format(args)
    states = args.state or []
    for state in states:
        if state not in STATES:
            raise CliError(
                _("Unknown state {state}; use one of: {states}").format(
                    state=state, states=", ".join(STATES)
                ),
                EXIT_CONFIG,
            )

    async def work(session: AsyncSession) -> int:
        if await get_region(session, args.region.strip()) is None:
            raise CliError(
                _("Region {code} is not in the database.").format(code=args.region), EXIT_CONFIG
            )
        count = 0
        header = [str(h) for h in MEETING_HEADER]
        with output_table(settings, args, fmt, header, sheet=_("Reports"), bom=True) as table:
            async for row in meeting_rows(session, args.region.strip(), states):
                table.row(row)
                count += 1
        if args.output is not None:
            print(_("{n} report(s) written to {file}.").format(n=count, file=args.output))
        audit_cli(
            session, "export", "reports list", region=args.region.strip(), states=states, rows=count
        )
        return EXIT_OK

    return await in_session(settings, work)


async def reports_decide(settings: Settings, args: argparse.Namespace) -> int:
    from flows.batch import apply_decisions, read_decisions
    from flows.review import STATE_LABELS
    from registry.accounts import account_by_telegram_id

    require_file(args.file)
    # Encoding, binary content, quotes and sizes, before anything is read for real
    # (flows/batch.py reads it again, row by row, with the same reader).
    check_csv(args.file)

    def refused(exc: ImportRejected) -> int:
        for error in exc.errors:
            print(bad_row(args.file, error), file=sys.stderr)
        print(
            _("{file}: {n} bad row(s); nothing was decided.").format(
                file=args.file, n=len({e.line for e in exc.errors})
            ),
            file=sys.stderr,
        )
        return EXIT_FAILED

    async def work(session: AsyncSession) -> int:
        account = await account_by_telegram_id(session, args.as_telegram_id)
        if account is None or not account.roles:
            raise CliError(
                _("Telegram user {id} has no reviewer role.").format(id=args.as_telegram_id),
                EXIT_CONFIG,
            )
        try:
            rows = await read_decisions(session, args.file, account)
            decided = await apply_decisions(session, rows, account)
        except ImportRejected as exc:
            return refused(exc)
        approved = 0
        for item in decided:
            decision = item.decision
            approved += item.row.approve
            print(
                _("{number}: {old} -> {new}").format(
                    number=decision.report.number,
                    old=STATE_LABELS[decision.from_state],
                    new=STATE_LABELS[decision.to_state],
                )
            )
            for closed in decision.closed:
                print(
                    _("{number}: closed as a duplicate of {original}").format(
                        number=closed.number, original=decision.report.number
                    )
                )
        print(
            _("Decided {n} report(s): {a} approved, {r} rejected.").format(
                n=len(decided), a=approved, r=len(decided) - approved
            )
        )
        return EXIT_OK

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {"list": reports_list, "decide": reports_decide}
