"""A household's history: its revisions, and the household as it was on a given day.

Every applied change wrote a :class:`~storage.models.RegistryRevision` with the
member's (or the household's details') state before and after. Undoing the
revisions made after a day, newest first, gives the household as it was then.
Rows imported with ``registry import`` have no revision: they count as having
been there from the start.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.aid import AID_DATA
from registry.exports import live_telegram_id
from registry.households import household_snapshot
from storage.models import (
    Account,
    Household,
    Member,
    RegistryImport,
    RegistryRevision,
    Report,
)


async def revisions_of(session: AsyncSession, household: Household) -> list[RegistryRevision]:
    stmt = (
        select(RegistryRevision)
        .where(RegistryRevision.household_id == household.id)
        .order_by(RegistryRevision.id)
    )
    return list((await session.execute(stmt)).scalars())


async def household_history(session: AsyncSession, household: Household) -> list[dict[str, Any]]:
    """One entry per revision, oldest first: when, what, whom, which report (or import),
    approved by."""
    rows = (
        await session.execute(
            select(
                RegistryRevision,
                Member.name,
                Report.number,
                live_telegram_id(),
                RegistryImport.file_name,
            )
            .outerjoin(Member, Member.id == RegistryRevision.member_id)
            .outerjoin(Report, Report.id == RegistryRevision.report_id)
            .outerjoin(RegistryImport, RegistryImport.id == RegistryRevision.import_id)
            .outerjoin(Account, Account.id == RegistryRevision.approved_by_account_id)
            .where(RegistryRevision.household_id == household.id)
            .order_by(RegistryRevision.id)
        )
    ).all()
    return [
        {
            "at": revision.created_at.isoformat(timespec="seconds"),
            "action": revision.action,
            "member": name,
            "report": number,
            # The source when it is not a report: the import of the village's own data.
            "import": (
                f"import #{revision.import_id} ({file_name})" if revision.import_id else None
            ),
            "approved_by": telegram_id,
            "before": revision.before,
            "after": revision.after,
        }
        for revision, name, number, telegram_id, file_name in rows
    ]


async def household_as_of(
    session: AsyncSession, household: Household, day: date
) -> dict[str, Any] | None:
    """The household at the end of ``day`` (UTC), or None if it did not exist yet."""
    end = datetime.combine(day + timedelta(days=1), time())
    revisions = await revisions_of(session, household)
    if any(r.action == "household_added" and r.created_at >= end for r in revisions):
        return None
    snapshot = household_snapshot(household)
    members: dict[int, dict[str, Any]] = {m["id"]: m for m in snapshot["members"]}
    for revision in reversed([r for r in revisions if r.created_at >= end]):
        if revision.action == "household_changed" and revision.before is not None:
            for key in ("address", "rw", "rt", "desil", "details"):
                if key in revision.before:
                    snapshot[key] = revision.before[key]
        elif revision.action == AID_DATA and revision.before is not None:
            snapshot["details"] = {
                **snapshot["details"],
                "programmes": revision.before["programmes"],
            }
        elif revision.member_id is not None:
            if revision.before is None:
                members.pop(revision.member_id, None)  # added after the day
            else:
                members[revision.member_id] = revision.before
    snapshot["members"] = [
        m
        for _id, m in sorted(members.items())
        if m.get("household_id", household.id) == household.id
    ]
    snapshot["as_of"] = day.isoformat()
    return snapshot
