"""OUTBOX_KEEP: the draft sweep's pass deletes outbox rows final for longer than it (sent,
undeliverable, failed), keeps pending ones and those of an announcement still open, and
two passes at once delete each row once. Time is passed as ``now``, never slept."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.housekeeping import DraftSweeper
from bot.settings import SettingsError, load_settings
from storage import db, outbox
from storage.models import Broadcast, OutboxMessage, utcnow

KEEP = timedelta(days=7)
LEASE = timedelta(seconds=90)


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.make_sessionmaker(engine)


def sweeper(sessionmaker, database_url: str) -> DraftSweeper:
    return DraftSweeper(sessionmaker, load_settings(database_url=database_url))


async def _queue(session: AsyncSession, chat_id: int, text: str, **kwargs) -> int:
    row = outbox.enqueue(session, chat_id, {"text": text}, purpose="review", **kwargs)
    await session.flush()
    return row.id


async def _finish(session: AsyncSession, at, status: str) -> list[int]:
    """Claim every due row at ``at`` and make it final as the sender would."""
    rows = await outbox.claim(session, at, 100, LEASE)
    for row in rows:
        if status == "sent":
            assert await outbox.mark_sent(session, row.id, at)
        else:
            assert await outbox.give_up(
                session, row.id, row.claimed_until, status=status, error="x"
            )
    await session.commit()
    return [row.id for row in rows]


async def _left(session: AsyncSession) -> set[str]:
    session.expire_all()
    rows = (await session.execute(select(OutboxMessage))).scalars().all()
    return {row.message["text"] for row in rows}


def test_outbox_keep_is_a_duration_of_an_hour_at_least() -> None:
    assert load_settings().outbox_keep == KEEP
    assert load_settings(outbox_keep="PT2H").outbox_keep == timedelta(hours=2)
    assert load_settings(outbox_keep="86400").outbox_keep == timedelta(days=1)
    for wrong in ("60", "0", "-P1D", "soon"):
        with pytest.raises(SettingsError, match=r"^OUTBOX_KEEP: "):
            load_settings(outbox_keep=wrong)


async def test_final_rows_go_after_outbox_keep_pending_and_open_announcements_stay(
    sessionmaker, database_url
) -> None:
    start = utcnow() + timedelta(minutes=1)  # every row queued is due by then
    async with sessionmaker() as session:
        await _queue(session, 1, "sent long ago", report_id=None)
        await session.commit()
        assert len(await _finish(session, start, "sent")) == 1
        await _queue(session, 2, "failed long ago")
        await session.commit()
        await _finish(session, start, "failed")
        await _queue(session, 3, "blocked long ago")
        await session.commit()
        await _finish(session, start, "undeliverable")
        open_broadcast = Broadcast(region_code="16", text="x", total=1)
        done_broadcast = Broadcast(region_code="16", text="y", total=1, finished_at=start)
        session.add_all([open_broadcast, done_broadcast])
        await session.flush()
        await _queue(session, 4, "announcement still open", broadcast_id=open_broadcast.id)
        await _queue(session, 5, "announcement closed", broadcast_id=done_broadcast.id)
        await session.commit()
        await _finish(session, start, "sent")
        later = start + KEEP - timedelta(hours=1)
        await _queue(session, 6, "sent a day later")
        await session.commit()
        await _finish(session, later, "sent")
        pending = await _queue(session, 7, "still pending")
        await session.execute(
            OutboxMessage.__table__.update()
            .where(OutboxMessage.id == pending)
            .values(next_attempt_at=start, created_at=start)
        )
        await session.commit()

    sweep = sweeper(sessionmaker, database_url)
    await sweep.run_once(now=start + KEEP - timedelta(minutes=1))  # nothing is old enough
    async with sessionmaker() as session:
        assert len(await _left(session)) == 7

    await sweep.run_once(now=start + KEEP + timedelta(minutes=1))
    async with sessionmaker() as session:
        assert await _left(session) == {
            "announcement still open",  # its summary counts it
            "sent a day later",
            "still pending",
        }

    await sweep.run_once(now=later + KEEP + timedelta(minutes=1))
    async with sessionmaker() as session:
        assert await _left(session) == {"announcement still open", "still pending"}


async def test_two_passes_at_once_delete_each_row_once(sessionmaker, database_url) -> None:
    start = utcnow() + timedelta(minutes=1)  # every row queued is due by then
    async with sessionmaker() as session:
        for chat in range(50):
            await _queue(session, 100 + chat, f"card {chat}")
        await session.commit()
        assert len(await _finish(session, start, "sent")) == 50

    async def prune() -> int:
        async with sessionmaker() as session:
            deleted = 0
            while n := await outbox.prune(session, start + KEEP + timedelta(1), limit=7):
                deleted += n
                await session.commit()
            await session.commit()
            return deleted

    first, second = await asyncio.gather(prune(), prune())
    assert first + second == 50
    async with sessionmaker() as session:
        assert await _left(session) == set()
