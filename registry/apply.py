"""Applying an approved report to the registry, with a revision for every change.

Each report type's ``apply`` (in its module under :mod:`registry.kinds`) reads the
report's payload and changes registry rows through :class:`~registry.kinds.base.Apply`;
every changed member or household gets a :class:`~storage.models.RegistryRevision`
with its state before and after. Disputes change no rows: they are recorded as a
household flag for the officers' desil review.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import DomainError
from registry.kinds import kind_named
from registry.kinds.base import Apply
from storage.models import Account, RegistryRevision, Report


async def apply_report(
    session: AsyncSession, report: Report, approver: Account
) -> list[RegistryRevision]:
    kind = kind_named(report.kind)
    if kind is None:
        raise DomainError(f"no report type {report.kind!r} in registry.kinds")
    work = Apply(session, report, approver)
    await kind.apply(work)
    await session.flush()
    return work.revisions
