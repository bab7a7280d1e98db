"""The numbers ``/healthz`` and ``/metrics`` report about the shared database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.models import OutboxMessage, Report


async def ping(engine: AsyncEngine) -> None:
    """A round trip to the database; raises when it cannot be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@dataclass(frozen=True)
class Snapshot:
    reports: dict[str, int]  # by state
    outbox: dict[str, int]  # by status
    backlog: int  # pending and due now
    oldest_pending_seconds: float


async def snapshot(session: AsyncSession, now: datetime) -> Snapshot:
    by_state = select(Report.state, func.count()).group_by(Report.state)
    reports = {state: count for state, count in await session.execute(by_state)}
    by_status = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    outbox = {status: count for status, count in await session.execute(by_status)}
    pending = OutboxMessage.status == "pending"
    backlog = await session.scalar(
        select(func.count()).where(pending, OutboxMessage.next_attempt_at <= now)
    )
    oldest = await session.scalar(select(func.min(OutboxMessage.created_at)).where(pending))
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return Snapshot(reports, outbox, backlog or 0, max(0.0, age))
