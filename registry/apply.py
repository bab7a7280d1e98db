"""Applying an approved report to the registry, with a revision for every change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import DomainError
from registry.households import member_snapshot
from storage.models import Account, Member, RegistryRevision, Report

# A newborn's relationship to the head follows the mother's.
_CHILD_OF = {
    "head": "child",
    "spouse": "child",
    "child": "grandchild",
    "child_in_law": "grandchild",
}


async def _apply_birth(
    session: AsyncSession, report: Report, approver: Account
) -> list[RegistryRevision]:
    payload = report.payload
    mother = await session.get(Member, int(payload["mother_id"]))
    relationship = (
        _CHILD_OF.get(mother.relationship, "other_relative") if mother else "other_relative"
    )
    baby = Member(
        household_id=report.household_id,
        nik=None,  # issued later by Dukcapil
        name=payload["name"],
        sex=payload["sex"],
        birth_date=date.fromisoformat(payload["birth_date"]),
        relationship=relationship,
        status="alive",
    )
    session.add(baby)
    await session.flush()
    revision = RegistryRevision(
        household_id=report.household_id,
        member_id=baby.id,
        report_id=report.id,
        approved_by_account_id=approver.id,
        action="member_added",
        before=None,
        after=member_snapshot(baby),
    )
    session.add(revision)
    return [revision]


APPLIERS: dict[
    str, Callable[[AsyncSession, Report, Account], Awaitable[list[RegistryRevision]]]
] = {
    "birth": _apply_birth,
}


async def apply_report(
    session: AsyncSession, report: Report, approver: Account
) -> list[RegistryRevision]:
    applier = APPLIERS.get(report.kind)
    if applier is None:
        raise DomainError(f"no apply function for report kind {report.kind!r}")
    revisions = await applier(session, report, approver)
    await session.flush()
    return revisions
