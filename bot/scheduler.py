"""The SLA scheduler of a running bot: escalations and reviewers' daily reminders.

Its state is in the database (``registry.sla``): a restart or a second process neither
skips nor repeats a reminder. Each escalation is its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.housekeeping import Periodic
from flows import sla as sla_flows
from registry import sla
from registry.policy import Policy
from storage.models import utcnow
from storage.outbox import PENDING_FLAG


class SlaScheduler(Periodic):
    name = "SLA pass"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: Policy,
        interval: float,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(interval)
        self.sessionmaker = sessionmaker
        self.policy = policy
        self.clock = clock
        self.on_queued = on_queued  # wakes the outbox sender

    async def run_once(self) -> tuple[int, int]:
        """One pass: (reports escalated, reminder digests queued)."""
        now = self.clock()
        async with self.sessionmaker() as session:
            ids = await sla.overdue(session, now, self.policy)
        escalated = 0
        for report_id in ids:
            async with self.sessionmaker() as session:
                if await sla_flows.escalate(session, report_id, now, self.policy):
                    await session.commit()
                    escalated += 1
        async with self.sessionmaker() as session:
            digests = await sla_flows.remind(session, now, self.policy)
            queued = session.info.get(PENDING_FLAG, False)
            await session.commit()
        if (escalated or queued) and self.on_queued is not None:
            self.on_queued()
        return escalated, digests
