"""Messages caused by a state change go to the outbox, in the change's own transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from flows.io import Reply
from storage.outbox import enqueue


def post(session: AsyncSession, replies: Iterable[Reply], purpose: str) -> int:
    """Queue each reply for delivery after commit; returns how many were queued."""
    count = 0
    for reply in replies:
        enqueue(
            session, reply.chat_id, reply.to_message(), purpose=purpose,
            report_id=reply.about_report,
        )  # fmt: skip
        count += 1
    return count
