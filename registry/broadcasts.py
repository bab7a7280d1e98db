"""Announcements to every linked resident of a region, and how far their delivery got.

A :class:`~storage.models.Broadcast` is written with one outbox row per recipient in
the same transaction; the outbox sender delivers them and, once every row is final,
:func:`finish` closes the broadcast exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Broadcast, Household, OutboxMessage
from storage.outbox import enqueue_many
from storage.patterns import within_region

PURPOSE = "broadcast"


def _in_region(region_code: str) -> Any:
    """Households in the region at any level (a province down to one desa/kelurahan)."""
    return within_region(Household.region_code, region_code)


def _linked_in(region_code: str) -> list[Any]:
    return [Account.household_id.is_not(None), _in_region(region_code)]


@dataclass(frozen=True)
class Recipient:
    chat_id: int  # the account's Telegram id (a private chat)
    locale: str | None


async def recipients(session: AsyncSession, region_code: str) -> list[Recipient]:
    """Accounts linked to a household of the region, in the order they joined."""
    stmt = (
        select(Account.telegram_id, Account.locale)
        .join(Household, Household.id == Account.household_id)
        .where(*_linked_in(region_code))
        .order_by(Account.id)
    )
    return [Recipient(chat_id, locale) for chat_id, locale in await session.execute(stmt)]


async def count_recipients(session: AsyncSession, region_code: str) -> int:
    stmt = (
        select(func.count(Account.id))
        .join(Household, Household.id == Account.household_id)
        .where(*_linked_in(region_code))
    )
    return int((await session.execute(stmt)).scalar_one())


def officer_regions(account: Account | None) -> list[str]:
    """The regions an account announces to: those of its officer grants."""
    if account is None:
        return []
    return sorted({grant.region_code for grant in account.roles if grant.role == "officer"})


def may_announce(account: Account | None, region_code: str) -> bool:
    return region_code in officer_regions(account)


async def create(
    session: AsyncSession,
    *,
    region_code: str,
    text: str,
    created_by: Account | None,
    notify_chat_id: int | None,
    message_for: Callable[[Recipient], dict[str, Any]],
) -> Broadcast:
    """The broadcast and one outbox row per recipient (``message_for`` renders each
    recipient's serialized reply), in the caller's transaction."""
    people = await recipients(session, region_code)
    broadcast = Broadcast(
        region_code=region_code,
        text=text,
        created_by_account_id=created_by.id if created_by is not None else None,
        notify_chat_id=notify_chat_id,
        total=len(people),
    )
    session.add(broadcast)
    await session.flush()
    await enqueue_many(
        session,
        ((person.chat_id, message_for(person)) for person in people),
        purpose=PURPOSE,
        broadcast_id=broadcast.id,
    )
    return broadcast


@dataclass(frozen=True)
class Tally:
    sent: int = 0
    undeliverable: int = 0
    failed: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.undeliverable + self.failed + self.pending

    @property
    def done(self) -> bool:
        return self.pending == 0


async def tally(session: AsyncSession, broadcast_id: int) -> Tally:
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    return Tally(**{status: int(n) for status, n in rows})


def _none_pending() -> Any:
    return ~(
        select(OutboxMessage.id)
        .where(OutboxMessage.broadcast_id == Broadcast.id, OutboxMessage.status == "pending")
        .exists()
    )


async def finishable(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts not closed yet whose every message is final."""
    stmt = (
        select(Broadcast)
        .where(Broadcast.finished_at.is_(None), _none_pending())
        .order_by(Broadcast.id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def finish(session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Close the broadcast if every message is final; True only for the one caller that
    closed it (so its summary is posted once, whichever sender gets there first)."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.finished_at.is_(None), _none_pending())
        .values(finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def get_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


__all__ = [
    "PURPOSE",
    "Recipient",
    "Tally",
    "count_recipients",
    "create",
    "finish",
    "finishable",
    "get_broadcast",
    "may_announce",
    "officer_regions",
    "recipients",
    "tally",
]
