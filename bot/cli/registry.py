"""``lapor-warga registry``: households and members: import, show, history, export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.core import (
    EXIT_CONFIG,
    EXIT_OK,
    CliError,
    Handler,
    add_force,
    add_group,
    audit_cli,
    bad_row,
    day,
    in_session,
    output_table,
    rejected,
    require_file,
)
from bot.progress import Progress
from locales import _
from registry.errors import ImportRejected, RowError
from registry.nik import normalize_digits

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings
    from storage.models import Household

NAME = "registry"


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, NAME, help="households and members")
    g_import = actions.add_parser(
        "import",
        help="import households from a CSV, one row per member "
        "(kk,nik,name,sex,birth_date,relationship,region_code,rw,rt,address,desil), or sync "
        "a village from OpenSID's population workbook (.xlsx, with --region)",
    )
    g_import.add_argument("file", type=Path)
    g_import.add_argument(
        "--region", metavar="CODE",
        help="OpenSID workbook: the desa/kelurahan code it belongs to (e.g. 16.71.01.1001)",
    )  # fmt: skip
    g_import.add_argument(
        "--dry-run", action="store_true",
        help="OpenSID workbook: print what would change (counts and the first rows), write nothing",
    )  # fmt: skip
    desil = actions.add_parser(
        "import-desil",
        help="set households' desil from a SIKS-NG list (CSV or xlsx with columns "
        "no_kk, nik, desil); all or nothing",
    )
    desil.add_argument("file", type=Path)
    aid = actions.add_parser(
        "import-aid",
        help="set the aid programmes each family receives (CSV kk,programmes; programmes: "
        "pkh bpnt pbi_jk blt, space-separated); all or nothing",
    )
    aid.add_argument("file", type=Path)
    show = actions.add_parser("show", help="print one household as JSON")
    show.add_argument("--kk", required=True, help="the 16-digit KK number")
    show.add_argument(
        "--as-of", type=day, metavar="YYYY-MM-DD",
        help="the household as it was at the end of that day (UTC)",
    )  # fmt: skip
    history = actions.add_parser("history", help="list one household's revisions")
    history.add_argument("--kk", required=True, help="the 16-digit KK number")
    r_export = actions.add_parser(
        "export",
        help="write every living member as CSV in the `registry import` format (full NIK/KK)",
    )
    r_export.add_argument(
        "--output", type=Path, metavar="FILE", help="CSV file to write (default: stdout)"
    )
    add_force(r_export)


def _data_lines(path: Path) -> int:
    """About how many rows a CSV file has after its header (for the progress bar)."""
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return max(lines - (last == b"\n"), 0)


async def registry_import(settings: Settings, args: argparse.Namespace) -> int:
    from registry.households import import_households
    from registry.population import XLSX_SUFFIXES, is_workbook

    require_file(args.file)
    # An OpenSID workbook: named so, or with --region (a ZIP file named .csv is refused
    # by the CSV reader as the workbook it is).
    named = args.file.suffix.lower() in XLSX_SUFFIXES
    if is_workbook(args.file) and (named or args.region is not None):
        from bot.cli.opensid import import_opensid

        return await import_opensid(settings, args)
    if args.region is not None or args.dry_run:
        raise CliError(
            _("--region and --dry-run are for OpenSID workbooks (.xlsx); {file} is a CSV.").format(
                file=args.file
            ),
            EXIT_CONFIG,
        )

    async def work(session: AsyncSession) -> int:
        progress = Progress(_("registry import"), _data_lines(args.file))

        def on_bad_row(error: RowError) -> None:
            progress.close()
            print(bad_row(args.file, error), file=sys.stderr)

        try:
            households, members = await import_households(
                session, args.file, on_error=on_bad_row, progress=progress.update
            )
        except ImportRejected as exc:
            progress.close()  # a wrong header: before any row was read
            return rejected(args.file, exc)
        finally:
            progress.close()
        print(_("Imported {h} household(s) with {m} member(s).").format(h=households, m=members))
        return EXIT_OK

    return await in_session(settings, work)


async def registry_import_aid(settings: Settings, args: argparse.Namespace) -> int:
    from registry.aid import import_aid_data

    require_file(args.file)

    async def work(session: AsyncSession) -> int:
        try:
            read, changed = await import_aid_data(session, args.file)
        except ImportRejected as exc:
            return rejected(args.file, exc)
        print(_("{n} family(ies) read, {changed} changed.").format(n=read, changed=changed))
        return EXIT_OK

    return await in_session(settings, work)


async def registry_import_desil(settings: Settings, args: argparse.Namespace) -> int:
    from registry.desil import import_desil

    require_file(args.file)

    async def work(session: AsyncSession) -> int:
        with Progress(_("registry import-desil")) as progress:
            try:
                result = await import_desil(session, args.file, progress=progress.update)
            except ImportRejected as exc:
                progress.close()
                return rejected(args.file, exc)
        audit_cli(session, "import", "registry import-desil", registry_import=result.record.id,
                  households=result.households, changed=result.changed)  # fmt: skip
        print(
            _(
                "Desil of {n} household(s) read: {changed} set or changed, the others "
                "unchanged (import #{id})."
            ).format(n=result.households, changed=result.changed, id=result.record.id)
        )
        return EXIT_OK

    return await in_session(settings, work)


async def registry_export(settings: Settings, args: argparse.Namespace) -> int:
    from registry.exports import registry_export_counts, registry_rows
    from registry.households import IMPORT_HEADER

    async def work(session: AsyncSession) -> int:
        counts = await registry_export_counts(session)
        with (
            Progress(_("registry export"), counts.rows) as progress,
            output_table(settings, args, "csv", IMPORT_HEADER) as table,
        ):
            async for row in registry_rows(session):
                table.row(row)
                progress.update()
        skipped = [
            (counts.not_living, _("{n} member(s) who died or moved away")),
            (counts.without_nik, _("{n} living member(s) without a NIK yet")),
            (counts.without_kk, _("{n} member(s) of households without a KK number")),
        ]
        for n, text in skipped:
            if n:
                print(_("Not exported: {what}.").format(what=text.format(n=n)), file=sys.stderr)
        if counts.households_without_head:
            print(
                _(
                    "Warning: {n} exported household(s) have no head among their rows; "
                    "`registry import` will refuse them."
                ).format(n=counts.households_without_head),
                file=sys.stderr,
            )
        if args.output is not None:
            print(_("Exported {n} member(s) to {file}.").format(n=counts.rows, file=args.output))
        audit_cli(session, "export", "registry export", rows=counts.rows)
        return EXIT_OK

    return await in_session(settings, work)


async def _household(session: AsyncSession, kk_text: str) -> Household:
    from registry.households import household_by_kk

    household = await household_by_kk(session, normalize_digits(kk_text))
    if household is None:
        raise CliError(_("No household with that KK number."))
    return household


async def registry_show(settings: Settings, args: argparse.Namespace) -> int:
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
        as_of = args.as_of.isoformat() if args.as_of is not None else None
        audit_cli(session, "view", "registry show", household=household.id, as_of=as_of)
        return EXIT_OK

    return await in_session(settings, work)


async def registry_history(settings: Settings, args: argparse.Namespace) -> int:
    from registry.history import household_history

    async def work(session: AsyncSession) -> int:
        household = await _household(session, args.kk)
        entries = await household_history(session, household)
        audit_cli(session, "view", "registry history", household=household.id)
        if not entries:
            print(_("No changes have been applied to this household since it was imported."))
        for entry in entries:
            print(
                "\t".join(
                    [
                        entry["at"], entry["action"], entry["member"] or "-",
                        entry["report"] or entry["import"] or "-",
                        str(entry["approved_by"] or "-"),
                    ]
                )
            )  # fmt: skip
        return EXIT_OK

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {
    "import": registry_import,
    "import-desil": registry_import_desil,
    "import-aid": registry_import_aid,
    "show": registry_show,
    "history": registry_history,
    "export": registry_export,
}
