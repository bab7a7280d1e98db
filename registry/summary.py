"""Figures for the web console's Ringkasan page, within what an account may see: counts
by state and type, overdue reports by tier and area, reports filed per week, and the
median days each tier took to decide."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import workflow
from registry.policy import Policy
from registry.worklist import overdue_clause, visible_clause
from storage.models import Account, Report, ReportEvent

DECISION_WINDOW = timedelta(days=90)
MAX_EVENTS = 50_000


async def counts(session: AsyncSession, account: Account) -> list[tuple[str, str, int]]:
    """(state, kind, number of reports), most first."""
    stmt = (
        select(Report.state, Report.kind, func.count())
        .where(visible_clause(account))
        .group_by(Report.state, Report.kind)
        .order_by(func.count().desc())
    )
    return [(state, kind, n) for state, kind, n in (await session.execute(stmt)).all()]


async def overdue(
    session: AsyncSession, account: Account, now: datetime, policy: Policy
) -> list[tuple[str, str, int]]:
    """(state, desa/kelurahan code, number of reports past the tier's SLA)."""
    stmt = (
        select(Report.state, Report.region_code, func.count())
        .where(visible_clause(account), overdue_clause(now, policy))
        .group_by(Report.state, Report.region_code)
        .order_by(func.count().desc())
    )
    return [(state, code, n) for state, code, n in (await session.execute(stmt)).all()]


async def per_week(
    session: AsyncSession, account: Account, now: datetime, weeks: int = 12
) -> list[tuple[datetime, int]]:
    """(Monday of the week, reports filed that week) for the last ``weeks`` weeks."""
    monday = datetime.combine((now - timedelta(days=now.weekday())).date(), datetime.min.time())
    start = monday - timedelta(weeks=weeks - 1)
    stmt = select(Report.created_at).where(visible_clause(account), Report.created_at >= start)
    buckets = [0] * weeks
    for (created,) in (await session.execute(stmt)).all():
        buckets[min(weeks - 1, (created - start).days // 7)] += 1
    return [(start + timedelta(weeks=i), n) for i, n in enumerate(buckets)]


async def median_days(session: AsyncSession, account: Account, now: datetime) -> dict[str, float]:
    """Median days from a report reaching a tier to that tier's decision (confirm, verify,
    approve or reject), over the decisions of the last 90 days; by waiting state."""
    reports = select(Report.id).where(visible_clause(account))
    stmt = (
        select(ReportEvent.report_id, ReportEvent.from_state, ReportEvent.to_state,
               ReportEvent.actor_account_id, ReportEvent.created_at)
        .where(ReportEvent.report_id.in_(reports),
               ReportEvent.created_at >= now - DECISION_WINDOW - timedelta(days=60))
        .order_by(ReportEvent.report_id, ReportEvent.id)
        .limit(MAX_EVENTS)
    )  # fmt: skip
    spans: dict[str, list[float]] = {}
    previous: Any = None
    for report_id, from_state, to_state, actor, created in (await session.execute(stmt)).all():
        decided = (
            from_state in workflow.WAITING and actor is not None and to_state != workflow.NEEDS_INFO
        )
        if (
            decided and previous is not None and previous[0] == report_id
            and created >= now - DECISION_WINDOW
        ):  # fmt: skip
            spans.setdefault(from_state, []).append((created - previous[1]).total_seconds() / 86400)
        previous = (report_id, created)
    return {state: round(statistics.median(days), 1) for state, days in spans.items()}
