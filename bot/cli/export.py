"""``lapor-warga export``: files for the national system (full NIK/KK)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.core import (
    EXIT_CONFIG,
    EXIT_OK,
    CliError,
    Handler,
    add_group,
    add_table_output,
    audit_cli,
    cannot_write,
    day,
    in_session,
    output_table,
    refused,
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
    changes.add_argument(
        "--region", metavar="CODE",
        help="with --format opensid (required there): the desa/kelurahan whose OpenSID the "
        "files are for, e.g. 16.71.01.1001",
    )  # fmt: skip
    usulan = actions.add_parser(
        "usulan",
        help="for SIKS-NG after a village meeting: the proposals and objections the "
        "kelurahan/desa approved (new households, left out of aid, desil, should not "
        "receive), with full NIK/KK",
    )
    usulan.add_argument(
        "--region", required=True, metavar="CODE",
        help="region code of any level: 16.71.01.1001 (desa/kelurahan), 16.71.01, 16.71, 16",
    )  # fmt: skip
    usulan.add_argument(
        "--since", type=day, required=True, metavar="YYYY-MM-DD",
        help="approved at the kelurahan/desa from the start of that day (UTC): the meeting",
    )  # fmt: skip
    add_table_output(usulan)
    add_table_output(
        changes,
        extra=("opensid",),
        extra_help="; opensid: two workbooks for the village's OpenSID in the folder "
        "--output DIR, the people its import takes and a worklist of events to enter by hand",
    )


async def export_usulan(settings: Settings, args: argparse.Namespace) -> int:
    from registry.regions import get_region
    from registry.usulan import USULAN_HEADER, usulan_rows

    fmt = table_format(args)

    async def work(session: AsyncSession) -> int:
        if await get_region(session, args.region.strip()) is None:
            raise CliError(
                _("Region {code} is not in the database.").format(code=args.region), EXIT_CONFIG
            )
        rows = await usulan_rows(session, args.region.strip(), args.since)
        with output_table(settings, args, fmt, USULAN_HEADER, sheet="usulan") as table:
            for row in rows:
                table.row(row)
        if args.output is not None:
            print(
                _("{n} proposal(s) agreed since {day} written to {file}.").format(
                    n=len(rows), day=args.since.isoformat(), file=args.output
                )
            )
        audit_cli(session, "export", "export usulan", region=args.region,
                  since=args.since.isoformat(), rows=len(rows))  # fmt: skip
        return EXIT_OK

    return await in_session(settings, work)


async def export_changes(settings: Settings, args: argparse.Namespace) -> int:
    from registry.exports import CHANGES_HEADER, changed_rows, count_changes

    if args.format == "opensid":
        return await export_opensid(settings, args)
    if args.region is not None:
        raise CliError(
            _("--region is for --format opensid (the files for one village's OpenSID)."),
            EXIT_CONFIG,
        )
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


def opensid_files(folder: Path, region: str, since: date) -> tuple[Path, Path]:
    """The two workbooks of ``export changes --format opensid``."""
    return (
        folder / f"opensid-penduduk-{region}-{since.isoformat()}.xlsx",
        folder / f"opensid-peristiwa-{region}-{since.isoformat()}.xlsx",
    )


async def export_opensid(settings: Settings, args: argparse.Namespace) -> int:
    from registry import opensid
    from registry.opensid_export import opensid_export
    from registry.regions import VILLAGE_LEVEL, get_region
    from registry.tables import open_table
    from storage.files import OutputRefused, check_output, database_files

    if args.output is None or not args.output.is_dir():
        raise CliError(
            _("--format opensid writes two files: give --output DIR, an existing folder."),
            EXIT_CONFIG,
        )
    if not args.region:
        raise CliError(
            _(
                "--format opensid writes the files for one village's OpenSID: give --region "
                "CODE, its desa/kelurahan code."
            ),
            EXIT_CONFIG,
        )
    region = args.region.strip()
    people_file, worklist_file = opensid_files(args.output, region, args.since)
    protected = database_files(settings.database_url)
    try:  # both refused before either is written
        for path in (people_file, worklist_file):
            check_output(path, force=args.force, protected=protected)
    except OutputRefused as exc:
        raise refused(exc) from None

    async def work(session: AsyncSession) -> int:
        found = await get_region(session, region)
        if found is None or found.level != VILLAGE_LEVEL:
            raise CliError(
                _("{code} is not a known desa/kelurahan (import the region codes first).").format(
                    code=region
                ),
                EXIT_CONFIG,
            )
        result = await opensid_export(session, args.since, region)
        tables = (
            (people_file, opensid.EXPORT_COLUMNS, result.people, "penduduk"),
            (worklist_file, opensid.WORKLIST_COLUMNS, result.worklist, "peristiwa"),
        )
        try:
            for path, header, rows, sheet in tables:
                with open_table(path, "xlsx", header, sheet=sheet, force=args.force,
                                protected=protected) as table:  # fmt: skip
                    for row in rows:
                        table.row(row)
        except OutputRefused as exc:
            raise refused(exc) from None
        except OSError as exc:
            raise cannot_write(args.output, exc) from None
        print(
            _(
                "{people} person(s) for OpenSID's import in {people_file}; {events} event(s) "
                "to enter by hand in {worklist_file}."
            ).format(
                people=len(result.people),
                people_file=people_file,
                events=len(result.worklist),
                worklist_file=worklist_file,
            )
        )
        audit_cli(session, "export", "export changes", since=args.since.isoformat(),
                  format="opensid", region=region, rows=len(result.people) + len(result.worklist))  # fmt: skip
        return EXIT_OK

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {"changes": export_changes, "usulan": export_usulan}
