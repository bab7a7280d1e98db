"""``lapor-warga regions``: the Kemendagri region codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.core import EXIT_FAILED, EXIT_OK, Handler, add_group, in_session, require_file
from locales import _
from registry.errors import ImportRejected

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings

NAME = "regions"


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, NAME, help="Kemendagri region codes")
    r_import = actions.add_parser("import", help="import region codes from a kode,nama CSV")
    r_import.add_argument(
        "file", nargs="?", type=Path, help="CSV file (default: the bundled Kepmendagri 2025 list)"
    )


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


async def regions_import(settings: Settings, args: argparse.Namespace) -> int:
    from registry.regions import BUNDLED_REGIONS_CSV, import_regions

    path = args.file or BUNDLED_REGIONS_CSV
    require_file(path)

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

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {"import": regions_import}
