"""The transactional outbox: messages written with the change that caused them.

``enqueue`` adds a row to the caller's session, so the message exists exactly when the
change is committed. A sender (``bot/outbox.py``) delivers the rows later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Broadcast, OutboxMessage, utcnow

# Set on a session that enqueued something, so its owner can wake the sender after commit.
PENDING_FLAG = "outbox_pending"


def enqueue(
    session: AsyncSession,
    chat_id: int,
    message: dict[str, Any],
    *,
    purpose: str,
    broadcast_id: int | None = None,
    report_id: int | None = None,
) -> OutboxMessage:
    """Queue one message to ``chat_id``; ``message`` is a serialized ``flows.io.Reply``;
    ``report_id`` the report it is about, if any."""
    row = OutboxMessage(
        chat_id=chat_id, message=message, purpose=purpose, broadcast_id=broadcast_id,
        report_id=report_id,
    )  # fmt: skip
    session.add(row)
    session.info[PENDING_FLAG] = True
    return row


async def enqueue_many(
    session: AsyncSession,
    messages: Iterable[tuple[int, dict[str, Any]]],
    *,
    purpose: str,
    broadcast_id: int | None = None,
) -> int:
    """Queue many messages in one statement (a broadcast); returns how many."""
    now = utcnow()
    rows = [
        {
            "chat_id": chat_id,
            "message": message,
            "purpose": purpose,
            "broadcast_id": broadcast_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for chat_id, message in messages
    ]
    if rows:
        await session.execute(insert(OutboxMessage), rows)
        session.info[PENDING_FLAG] = True
    return len(rows)


FINAL_STATUSES = ("sent", "undeliverable", "failed")


def _earlier_pending_exists() -> Any:
    """An earlier row to the same chat is still pending: per-chat order waits for it."""
    earlier = aliased(OutboxMessage)
    return (
        select(earlier.id)
        .where(
            earlier.chat_id == OutboxMessage.chat_id,
            earlier.status == "pending",
            earlier.id < OutboxMessage.id,
        )
        .exists()
    )


def _claimable(now: datetime) -> list[Any]:
    return [
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
        ~_earlier_pending_exists(),
    ]


# Announcements wait behind messages caused by a single change (a review card, a status
# update), so a large broadcast does not delay them; each class is oldest first.
_PRIORITY = case((OutboxMessage.broadcast_id.is_(None), 0), else_=1)


async def claim(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[OutboxMessage]:
    """Take up to ``limit`` due rows for ``lease`` and return them; commit at once.

    A row is due when it is pending, its ``next_attempt_at`` has come, nobody holds a
    live claim on it, and no earlier row to the same chat is still pending (so at most
    the first waiting row of each chat, and a card's photos go before the card even
    when one of them is retried). Non-broadcast rows first, then oldest first.

    On PostgreSQL the rows are chosen with ``SELECT ... FOR UPDATE SKIP LOCKED``, so
    concurrent senders skip each other's rows; the ``UPDATE`` then checks every condition
    again, which on SQLite (no row locks, but one writer at a time) keeps a row from
    being claimed twice. ``claimed_until`` of the returned rows is the claim's token for
    :func:`reschedule`, :func:`give_up` and :func:`release`.
    """
    if limit <= 0:
        return []
    due = (
        select(OutboxMessage.id)
        .where(*_claimable(now))
        .order_by(_PRIORITY, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    ids = list((await session.execute(due)).scalars().all())
    if not ids:
        return []
    rows = (
        (
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), *_claimable(now))
                .values(claimed_until=now + lease)
                .returning(OutboxMessage)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    return sorted(rows, key=lambda row: (row.broadcast_id is not None, row.id))


async def next_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the earliest row that is first in its chat and not claimed becomes due."""
    return (
        await session.execute(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == "pending",
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
                ~_earlier_pending_exists(),
            )
        )
    ).scalar_one_or_none()


def _error(text: str | None) -> str | None:
    return text[:200] if text else None


async def mark_sent(session: AsyncSession, row_id: int, now: datetime) -> bool:
    """Telegram accepted the message: final, whoever holds the claim. False if the row
    was already final (so it is never marked twice)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
        .values(status="sent", sent_at=now, claimed_until=None, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _held(row_id: int, claimed_until: datetime) -> tuple[Any, ...]:
    """The row, still pending and still under this claim: only its holder may change it."""
    return (
        OutboxMessage.id == row_id,
        OutboxMessage.status == "pending",
        OutboxMessage.claimed_until == claimed_until,
    )


async def reschedule(
    session: AsyncSession,
    row_id: int,
    claimed_until: datetime,
    *,
    at: datetime,
    error: str,
    count_attempt: bool = True,
) -> bool:
    """Try again at ``at``, releasing the claim; only by the claim's holder."""
    attempts = OutboxMessage.attempts + 1 if count_attempt else OutboxMessage.attempts
    result = await session.execute(
        update(OutboxMessage)
        .where(*_held(row_id, claimed_until))
        .values(next_attempt_at=at, claimed_until=None, attempts=attempts, last_error=_error(error))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def give_up(
    session: AsyncSession, row_id: int, claimed_until: datetime, *, status: str, error: str
) -> bool:
    """Final without delivery: ``undeliverable`` (blocked, chat gone) or ``failed``."""
    if status not in ("undeliverable", "failed"):
        raise ValueError(f"not a final failure status: {status!r}")
    result = await session.execute(
        update(OutboxMessage)
        .where(*_held(row_id, claimed_until))
        .values(
            status=status,
            claimed_until=None,
            attempts=OutboxMessage.attempts + 1,
            last_error=_error(error),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def release(session: AsyncSession, claims: Iterable[tuple[int, datetime]]) -> int:
    """Give back claimed rows that were not sent (a sender stopping), so another sender
    need not wait for the lease to run out."""
    released = 0
    for row_id, claimed_until in claims:
        result = await session.execute(
            update(OutboxMessage)
            .where(*_held(row_id, claimed_until))
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        released += result.rowcount
    return released


PRUNE_BATCH = 1000


async def prune(session: AsyncSession, before: datetime, *, limit: int = PRUNE_BATCH) -> int:
    """Delete up to ``limit`` final rows (sent, undeliverable, failed) that were sent or
    last tried before ``before``; returns how many. ``OUTBOX_KEEP`` sets ``before``.

    Deleted rather than emptied: a delivered message is in the person's Telegram chat,
    and a failed one will not be tried again, so the row has no use left, and an emptied
    row would still say who was told what about which report, and the table would
    grow forever. Rows of an announcement still open are kept (its summary counts
    them); after its summary, the counts are in the ``broadcasts`` row and the logs.

    Claimed like the sender's rows: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets two
    processes pruning at once take different rows instead of waiting on each other (or
    deadlocking); on SQLite one writer at a time. Deleting a row twice is harmless.
    """
    unfinished = (
        select(Broadcast.id)
        .where(Broadcast.id == OutboxMessage.broadcast_id, Broadcast.finished_at.is_(None))
        .exists()
    )
    stale = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status.in_(FINAL_STATUSES),
            OutboxMessage.next_attempt_at < before,
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.next_attempt_at) < before,
            ~unfinished,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    ids = list((await session.execute(stale)).scalars().all())
    if not ids:
        return 0
    result = await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status.in_(FINAL_STATUSES))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
