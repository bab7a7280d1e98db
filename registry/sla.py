"""Service levels of the review tiers: daily reminders and escalation past the SLA.

The scheduler's state is in the reports themselves (``tier_since``, ``reminded_at``),
so a restart neither skips nor repeats a reminder: a reminder is claimed with a
conditional UPDATE, and an escalation is a versioned transition, in the transaction
that also queues the messages about it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry import workflow
from registry.errors import DomainError
from registry.policy import FINAL_TIER, Policy
from storage.models import Report


def _overdue_clause(now: datetime, policy: Policy) -> Any:
    return or_(
        false(),
        *(
            and_(Report.state == state, Report.tier_since <= now - sla)
            for tier, state in workflow.TIER_STATE.items()
            # Every path ends with the officers, who keep what reaches them.
            if tier != FINAL_TIER and (sla := policy.sla_for(tier)) is not None
        ),
    )


async def overdue(
    session: AsyncSession, now: datetime, policy: Policy, limit: int = 200
) -> list[int]:
    """Ids of reports past their tier's SLA that have a next tier, most overdue first."""
    stmt = (
        select(Report)
        .where(_overdue_clause(now, policy))
        .order_by(Report.tier_since, Report.id)
        .limit(limit)
    )
    reports = (await session.execute(stmt)).scalars().unique().all()
    return [r.id for r in reports if workflow.STATE_TIER[r.state] != r.tiers[-1]]


async def escalate_if_due(
    session: AsyncSession, report_id: int, now: datetime, policy: Policy
) -> workflow.Decision | None:
    """Escalate one report if it is (still) overdue; None when a reviewer was quicker.
    On a lost race the session is rolled back: use one session per report."""
    report = await session.get(Report, report_id)
    if report is None or report.state not in workflow.WAITING or report.tier_since is None:
        return None
    tier = workflow.STATE_TIER[report.state]
    sla = policy.sla_for(tier)
    if sla is None or report.tier_since > now - sla or tier == report.tiers[-1]:
        return None
    try:
        return await workflow.escalate(session, report, now, sla.total_seconds() / 86400)
    except DomainError:  # decided by a reviewer at this very moment: nothing to do
        return None


async def claim_reminders(
    session: AsyncSession, now: datetime, policy: Policy, limit: int = 500
) -> list[Report]:
    """Reports whose tier was last reminded (or entered) ``remind_every`` ago; each is
    claimed by setting ``reminded_at``, so another process or a later tick skips it."""
    last = func.coalesce(Report.reminded_at, Report.tier_since)
    stmt = (
        select(Report)
        .where(Report.state.in_(workflow.WAITING), last <= now - policy.remind_every)
        .order_by(Report.id)
        .limit(limit)
    )
    claimed = []
    for report in (await session.execute(stmt)).scalars().unique().all():
        previous = report.reminded_at
        same = Report.reminded_at.is_(None) if previous is None else Report.reminded_at == previous
        # A Core UPDATE: a reminder does not change the report's version, so the
        # reviewers' buttons stay valid.
        result = await session.execute(
            update(Report)
            .where(Report.id == report.id, Report.state == report.state, same)
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(report)
    return claimed
