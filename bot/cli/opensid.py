"""``registry import FILE.xlsx --region CODE``: a village's OpenSID workbook, as a sync.

Not a command group: ``bot.cli.registry`` hands a workbook to :func:`import_opensid`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.core import (
    EXIT_CONFIG,
    EXIT_OK,
    CliError,
    audit_cli,
    in_session,
    rejected,
)
from bot.progress import Progress
from locales import _
from registry.errors import DomainError, ImportRejected
from registry.nik import mask

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings
    from registry.sync import SyncPlan

FIRST_ROWS = 20  # changes printed by --dry-run


def _summary(plan: SyncPlan) -> list[str]:
    n = plan.counts()
    lines = [
        _("{rows} row(s) read for {region}.").format(rows=plan.rows, region=plan.region_code),
        _("Households: {added} added, {changed} changed.").format(
            added=n.get("household_added", 0), changed=n.get("household_changed", 0)
        ),
        _(
            "Members: {added} added, {changed} changed, {deceased} deceased, {moved} moved "
            "away, {gone} gone (no longer in the village's data)."
        ).format(
            added=n.get("member_added", 0),
            changed=n.get("member_changed", 0),
            deceased=n.get("member_deceased", 0),
            moved=n.get("member_moved_out", 0),
            gone=n.get("member_gone", 0),
        ),
    ]
    if plan.not_living:
        lines.append(
            _(
                "Not imported as living members: {n} row(s) whose status_dasar is not 1 (hidup)."
            ).format(n=plan.not_living)
        )
    if plan.without_nik:
        lines.append(
            _(
                "Without NIK (0 or a temporary NIK): {n} living member(s), kept without NIK "
                "and flagged nik_pending."
            ).format(n=plan.without_nik)
        )
    for c in plan.conflicts:
        lines.append(
            _(
                "Conflict: report {report} ({kind}) is still in review and is about {name}; "
                "this import records {action}."
            ).format(report=c.report, kind=c.kind, name=c.name, action=c.action)
        )
    return lines


def _first_rows(plan: SyncPlan) -> list[str]:
    rows = []
    for change in plan.changes[:FIRST_ROWS]:
        rows.append(
            "\t".join(
                [
                    str(change.line or "-"),
                    change.action,
                    mask(change.kk),
                    mask(change.nik) if change.nik else "-",
                    change.name,
                    change.describe(),
                ]
            )
        )
    if len(plan.changes) > FIRST_ROWS:
        rows.append(_("... and {n} more change(s).").format(n=len(plan.changes) - FIRST_ROWS))
    return rows


async def import_opensid(settings: Settings, args: argparse.Namespace) -> int:
    from registry.population import count_rows, read_population
    from registry.sync import apply_sync, plan_sync

    if not args.region:
        raise CliError(
            _(
                "{file} is an Excel workbook: it is read as OpenSID's population file, which "
                "has no desa/kelurahan code. Give --region CODE, the village it belongs to "
                "(or save a file in the registry CSV layout as CSV UTF-8)."
            ).format(file=args.file),
            EXIT_CONFIG,
        )
    with Progress(_("registry import"), count_rows(args.file)) as progress:
        try:
            people = read_population(args.file, progress=progress.update)
        except ImportRejected as exc:
            progress.close()
            return rejected(args.file, exc)

    async def work(session: AsyncSession) -> int:
        try:
            plan = await plan_sync(session, people, args.region)
        except ImportRejected as exc:
            return rejected(args.file, exc)
        except DomainError as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        for line in _summary(plan):
            print(line)
        if args.dry_run and not plan.changes:
            print(_("Dry run: nothing was written, and nothing would change."))
            return _DRY
        if args.dry_run:
            print(_("Dry run: nothing was written. The first changes:"))
            for line in _first_rows(plan):
                print(line)
            return _DRY
        record = await apply_sync(session, plan, args.file.name)
        audit_cli(session, "import", "registry import", source="opensid",
                  region=args.region, registry_import=record.id, changes=len(plan.changes))  # fmt: skip
        print(_("Imported: {n} change(s), recorded as import #{id}.").format(
            n=len(plan.changes), id=record.id))  # fmt: skip
        return EXIT_OK

    code = await in_session(settings, work)
    return EXIT_OK if code == _DRY else code


_DRY = -1  # work()'s code for a dry run: not EXIT_OK, so in_session does not commit
