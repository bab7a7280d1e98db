"""Who sees which reports: a reviewer's queue, the reviewers of a report's current
tier, and a reporter's own reports.

:func:`waiting_clause` is the one rule of what waits for whom: the chat's ``/antrian``
(:func:`queue_page`, :func:`queue_size`) and the web console's "Waiting for my decision"
(``registry.worklist``) both filter with it, so they count the same reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts import WIDE_ROLES, grant_covers
from registry.workflow import TIER_ROLE
from storage.models import Account, Report, RoleGrant
from storage.patterns import below_region


def area_clause(grant: RoleGrant) -> Any:
    """The reports in a grant's area (any role)."""
    if grant.role in WIDE_ROLES:
        return below_region(Report.region_code, grant.region_code)
    clause = Report.region_code == grant.region_code
    if grant.role in ("rt", "rw"):
        clause = and_(clause, Report.rw == grant.rw)
    if grant.role == "rt":
        clause = and_(clause, Report.rt == grant.rt)
    return clause


def waiting_clause(account: Account) -> Any:
    """Reports waiting at a tier the account decides, in its area, not filed by it
    (``false()`` for an account that decides no tier)."""
    clauses = [
        and_(Report.state == state, area_clause(grant))
        for grant in account.roles
        for state, role in TIER_ROLE.items()
        if grant.role == role
    ]
    if not clauses:
        return false()
    others = or_(Report.reporter_account_id.is_(None), Report.reporter_account_id != account.id)
    return and_(or_(*clauses), others)


def decides_a_tier(account: Account) -> bool:
    """Whether any of the account's grants decides a tier (else nothing ever waits for it)."""
    return any(grant.role in TIER_ROLE.values() for grant in account.roles)


QUEUE_PAGE = 20  # /antrian lists the oldest 20 waiting reports (and counts them all)


@dataclass(frozen=True)
class QueuedReport:
    """What a line of the queue shows: no household, events or attachments."""

    id: int
    number: str | None
    kind: str
    created_at: datetime


async def queue_page(
    session: AsyncSession, account: Account, limit: int = QUEUE_PAGE
) -> list[QueuedReport]:
    """The oldest ``limit`` reports waiting for the account, one query of four columns."""
    if not decides_a_tier(account):
        return []
    stmt = (
        select(Report.id, Report.number, Report.kind, Report.created_at)
        .where(waiting_clause(account))
        .order_by(Report.id)
        .limit(limit)
    )
    return [QueuedReport(*row) for row in (await session.execute(stmt)).all()]


async def queue_for(session: AsyncSession, account: Account, limit: int = 50) -> list[Report]:
    """Reports waiting at a tier the account decides, in its area, oldest first (whole)."""
    if not decides_a_tier(account):
        return []
    stmt = select(Report).where(waiting_clause(account)).order_by(Report.id).limit(limit)
    return list((await session.execute(stmt)).scalars().unique().all())


async def queue_size(session: AsyncSession, account: Account) -> int:
    """How many reports wait for the account's decision now (all of them: the true count)."""
    if not decides_a_tier(account):
        return 0
    stmt = select(func.count()).select_from(Report).where(waiting_clause(account))
    return await session.scalar(stmt) or 0


async def reviewers_for(session: AsyncSession, report: Report) -> list[Account]:
    """Accounts that decide the report's current tier."""
    role = TIER_ROLE.get(report.state)
    if role is None:
        return []
    grants = (
        (
            await session.execute(
                select(RoleGrant).where(RoleGrant.role == role, RoleGrant.revoked_at.is_(None))
            )
        )
        .scalars()
        .all()
    )
    ids = {g.account_id for g in grants if grant_covers(g, report)}
    ids.discard(report.reporter_account_id)  # nobody decides their own report
    if not ids:
        return []
    accounts = (
        (await session.execute(select(Account).where(Account.id.in_(ids)).order_by(Account.id)))
        .scalars()
        .all()
    )
    return list(accounts)


async def reports_of(session: AsyncSession, account: Account, limit: int = 20) -> list[Report]:
    stmt = (
        select(Report)
        .where(Report.reporter_account_id == account.id)
        .order_by(Report.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars().unique().all())
