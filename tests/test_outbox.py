"""The transactional outbox: claiming and marking rows, and the sender against the fake
Bot API (429, 5xx, 403, 400, leases, per-chat order, nothing lost or sent twice).

Time is a :class:`FakeClock`: the sender's waits (rate spacing, flood-control pauses)
move it forward at once, and a test moves it to make a retry due. Nothing here asserts
on how long anything took.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.factory import create_bot
from bot.outbox import BACKOFF_CAP, LEASE, OutboxSender, RateLimiter, SystemClock, backoff
from bot.settings import load_settings
from flows.io import Button, Reply
from storage import db, outbox
from storage.models import OutboxMessage, utcnow
from tests.helpers.db import PG_ADMIN_URL

A, B, C = 5001, 5002, 5003


class FakeClock:
    """Real time plus an offset that ``sleep`` and ``advance`` move forward at once."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return utcnow() + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += max(0.0, seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.make_sessionmaker(engine)


@pytest.fixture
async def bot(fake_api) -> AsyncIterator[Bot]:
    created = create_bot(
        load_settings(bot_token=fake_api.token, telegram_api_base=fake_api.base_url)
    )
    yield created
    await created.session.close()


@pytest.fixture
def people(fake_api):
    return {chat: fake_api.user(chat, f"Warga {chat}", language_code="en") for chat in (A, B, C)}


def make_sender(sessionmaker, database_url, clock=None, **settings) -> OutboxSender:
    settings.setdefault("outbox_chat_rate", 1000.0)
    return OutboxSender(
        sessionmaker,
        load_settings(database_url=database_url, **settings),
        clock or FakeClock(),
    )


async def queue(sessionmaker, *messages: tuple[int, str], broadcast_id=None) -> list[int]:
    async with sessionmaker() as session:
        rows = [
            outbox.enqueue(
                session, chat, Reply(chat, text).to_message(), purpose="status",
                broadcast_id=broadcast_id,
            )
            for chat, text in messages
        ]  # fmt: skip
        assert session.info[outbox.PENDING_FLAG] is True
        await session.commit()
    return [row.id for row in rows]


async def rows(sessionmaker) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session.execute(stmt)).scalars().all())


async def claim(sessionmaker, now: datetime, limit: int = 10, lease: timedelta = LEASE):
    async with sessionmaker() as session:
        claimed = await outbox.claim(session, now, limit, lease)
        await session.commit()
    return claimed


def texts(person) -> list[str]:
    return [m.text for m in person.messages]


def sends_to(fake_api, chat: int) -> int:
    return sum(1 for call in fake_api.calls("sendMessage") if str(call.get("chat_id")) == str(chat))


async def drain(sender: OutboxSender, bot: Bot, clock: FakeClock, rounds: int = 50) -> None:
    """Run rounds, moving the clock past each backoff, until every row is final."""
    for _ in range(rounds):
        if await sender.run_once(bot) == 0:
            if all(row.status != "pending" for row in await rows(sender.sessionmaker)):
                return
            clock.advance(BACKOFF_CAP)
    raise AssertionError("the outbox did not drain")


# ---- claiming and marking (storage) -------------------------------------------------------


async def test_claim_takes_the_first_waiting_row_of_each_chat_oldest_first(sessionmaker):
    a1, a2, b1, a3 = await queue(sessionmaker, (A, "a1"), (A, "a2"), (B, "b1"), (A, "a3"))
    now = utcnow()
    first = await claim(sessionmaker, now)
    assert [row.id for row in first] == [a1, b1]
    assert all(row.claimed_until == now + LEASE for row in first)
    assert await claim(sessionmaker, now) == []  # claimed, and a2 waits for a1

    async with sessionmaker() as session:
        assert await outbox.mark_sent(session, a1, now)
        assert not await outbox.mark_sent(session, a1, now)  # never marked twice
        await session.commit()
    assert [row.id for row in await claim(sessionmaker, now)] == [a2]
    (a2_row,) = [row for row in await rows(sessionmaker) if row.id == a2]
    assert a2_row.claimed_until is not None and a3 > a2


async def test_claim_respects_the_limit_and_puts_broadcasts_last(sessionmaker, session):
    from storage.models import Broadcast

    broadcast = Broadcast(region_code="16.71", text="x", total=1)
    session.add(broadcast)
    await session.commit()
    (announcement,) = await queue(sessionmaker, (C, "news"), broadcast_id=broadcast.id)
    card, status = await queue(sessionmaker, (A, "card"), (B, "status"))
    now = utcnow()
    assert [row.id for row in await claim(sessionmaker, now, limit=1)] == [card]
    assert [row.id for row in await claim(sessionmaker, now)] == [status, announcement]


async def test_a_dead_claim_comes_back_after_the_lease(sessionmaker):
    (row_id,) = await queue(sessionmaker, (A, "hello"))
    start = utcnow()
    (dead,) = await claim(sessionmaker, start, lease=timedelta(seconds=60))
    assert await claim(sessionmaker, start + timedelta(seconds=59)) == []
    (again,) = await claim(sessionmaker, start + timedelta(seconds=61), lease=timedelta(seconds=60))
    assert again.id == row_id and again.claimed_until != dead.claimed_until

    async with sessionmaker() as session:
        # The dead claim's holder cannot reschedule or give up a row claimed since.
        later = start + timedelta(seconds=120)
        assert not await outbox.reschedule(
            session, row_id, dead.claimed_until, at=later, error="TelegramServerError"
        )
        assert not await outbox.give_up(
            session, row_id, dead.claimed_until, status="failed", error="TelegramBadRequest"
        )
        assert await outbox.reschedule(
            session, row_id, again.claimed_until, at=later, error="TelegramServerError"
        )
        await session.commit()
    (row,) = await rows(sessionmaker)
    assert (row.status, row.attempts, row.claimed_until, row.last_error) == (
        "pending", 1, None, "TelegramServerError",
    )  # fmt: skip


async def test_a_retried_row_holds_back_the_rest_of_its_chat(sessionmaker):
    a1, a2, b1 = await queue(sessionmaker, (A, "photo"), (A, "card"), (B, "other"))
    now = utcnow()
    first = {row.id: row for row in await claim(sessionmaker, now)}
    assert set(first) == {a1, b1}
    later = now + timedelta(seconds=30)
    async with sessionmaker() as session:
        await outbox.reschedule(
            session, a1, first[a1].claimed_until, at=later, error="TelegramServerError"
        )
        await outbox.mark_sent(session, b1, now)
        await session.commit()
        assert await outbox.next_due(session, now) == later
    assert await claim(sessionmaker, now + timedelta(seconds=10)) == []  # not a2 before a1
    assert [row.id for row in await claim(sessionmaker, later)] == [a1]

    async with sessionmaker() as session:
        with pytest.raises(ValueError):
            await outbox.give_up(session, a1, later, status="sent", error="x")
        (claimed,) = [row for row in await rows(sessionmaker) if row.id == a1]
        assert await outbox.give_up(
            session,
            a1,
            claimed.claimed_until,
            status="undeliverable",
            error="TelegramForbiddenError",
        )
        await session.commit()
    # A final row, delivered or not, lets the next one of its chat go.
    assert [row.id for row in await claim(sessionmaker, later)] == [a2]


# ---- the rate limiter and the backoff (pure) ----------------------------------------------


def test_rate_limiter_spaces_sends_overall_and_per_chat() -> None:
    limiter = RateLimiter(rate=10, chat_rate=1)
    assert limiter.reserve(A, 100.0) == 0
    assert limiter.reserve(B, 100.0) == pytest.approx(0.1)  # overall: 10 a second
    assert limiter.reserve(C, 100.0) == pytest.approx(0.2)
    assert limiter.reserve(A, 100.0) == pytest.approx(1.0)  # the same chat: once a second
    assert limiter.reserve(B, 105.0) == 0  # slots in the past are not saved up


def test_rate_limiter_pause_holds_everything() -> None:
    limiter = RateLimiter(rate=30, chat_rate=1)
    limiter.pause(50.0, 7)
    assert limiter.paused_for(50.0) == 7
    assert limiter.reserve(A, 51.0) == pytest.approx(6)
    assert limiter.reserve(B, 51.0) == pytest.approx(6 + 1 / 30)
    limiter.pause(52.0, 1)  # a shorter pause does not cut the longer one short
    assert limiter.paused_for(56.0) == 1
    assert limiter.paused_for(57.0) == 0


def test_rate_limiter_admits_a_late_send_only_after_the_spacing() -> None:
    limiter = RateLimiter(rate=10, chat_rate=1)
    assert [limiter.reserve(chat, 100.0) for chat in (A, B, C)] == pytest.approx([0, 0.1, 0.2])
    # The event loop stalled: the three rows wake at 100.5, all their slots past.
    assert limiter.admit(100.5) == 0
    assert limiter.admit(100.5) == pytest.approx(0.1)  # not right behind the first
    assert limiter.admit(100.55) == pytest.approx(0.05)
    assert limiter.admit(100.6) == 0
    assert limiter.admit(100.7) == 0  # on time: no wait


def test_rate_limiter_forgets_old_chats() -> None:
    limiter = RateLimiter(rate=1000, chat_rate=1)
    for chat in range(10_001):
        limiter.reserve(chat, 0.0)
    limiter.reserve(-1, 100.0)
    assert len(limiter._chat_next) == 1


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(30) == BACKOFF_CAP


# ---- the sender against the fake Bot API --------------------------------------------------


async def test_flood_control_pauses_all_sending_and_retries_the_row(
    sessionmaker, database_url, bot, fake_api, people
):
    clock = FakeClock()
    sender = make_sender(sessionmaker, database_url, clock)
    await queue(sessionmaker, (A, "first"))
    fake_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    assert await sender.run_once(bot) == 1
    (row,) = await rows(sessionmaker)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "TelegramRetryAfter")
    assert row.next_attempt_at >= clock.now() + timedelta(seconds=6)
    assert sender.limiter.paused_for(clock.monotonic()) > 6

    # Another chat's message waits out the pause too (the clock's sleeps show it).
    await queue(sessionmaker, (B, "second"))
    assert await sender.run_once(bot) == 1
    # 7 s less the real time since the pause began (its monotonic clock runs on): tenths
    # of a second on a loaded machine; without the pause it would not sleep at all.
    assert sum(clock.slept) >= 6
    assert texts(people[B]) == ["second"]
    assert await sender.run_once(bot) == 1  # the paused row is due again
    assert texts(people[A]) == ["first"]
    assert sends_to(fake_api, A) == 2  # the refused try and the delivery


async def test_server_error_is_retried_with_backoff_then_delivered(
    sessionmaker, database_url, bot, fake_api, people
):
    clock = FakeClock()
    sender = make_sender(sessionmaker, database_url, clock)
    await queue(sessionmaker, (A, "status update"))
    fake_api.fail_next("sendMessage", 500, "Internal Server Error")
    await sender.run_once(bot)
    (row,) = await rows(sessionmaker)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "TelegramServerError")
    assert await sender.run_once(bot) == 0  # not due before the backoff
    clock.advance(backoff(1))
    assert await sender.run_once(bot) == 1
    (row,) = await rows(sessionmaker)
    assert (row.status, row.attempts) == ("sent", 2) and row.sent_at is not None
    assert texts(people[A]) == ["status update"]


async def test_server_errors_give_up_after_max_attempts(
    sessionmaker, database_url, bot, fake_api, people
):
    clock = FakeClock()
    sender = make_sender(sessionmaker, database_url, clock, outbox_max_attempts=3)
    await queue(sessionmaker, (A, "doomed"))
    fake_api.fail_next("sendMessage", 502, "Bad Gateway", count=10)
    await drain(sender, bot, clock)
    (row,) = await rows(sessionmaker)
    assert (row.status, row.attempts) == ("failed", 3)
    assert sends_to(fake_api, A) == 3 and people[A].messages == []


async def test_blocked_user_is_undeliverable_and_never_retried(
    sessionmaker, database_url, bot, fake_api, people
):
    clock = FakeClock()
    sender = make_sender(sessionmaker, database_url, clock)
    people[A].block()
    await queue(sessionmaker, (A, "you blocked me"), (A, "and this one"), (B, "fine"))
    await drain(sender, bot, clock)
    statuses = [(row.chat_id, row.status, row.attempts) for row in await rows(sessionmaker)]
    assert statuses == [(A, "undeliverable", 1), (A, "undeliverable", 1), (B, "sent", 1)]
    clock.advance(86400)
    assert await sender.run_once(bot) == 0
    assert sends_to(fake_api, A) == 2 and texts(people[B]) == ["fine"]


async def test_bad_request_fails_at_once_and_logs_no_text(
    sessionmaker, database_url, bot, fake_api, people, caplog
):
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    sender = make_sender(sessionmaker, database_url, clock)
    await queue(sessionmaker, (A, "Secret <unclosed"), (A, "after it"))
    await drain(sender, bot, clock)
    first, second = await rows(sessionmaker)
    assert (first.status, first.attempts, first.last_error) == ("failed", 1, "TelegramBadRequest")
    assert second.status == "sent" and texts(people[A]) == ["after it"]
    assert "TelegramBadRequest" in caplog.text and f"row {first.id}" in caplog.text
    assert "Secret" not in caplog.text and "after it" not in caplog.text


async def test_nothing_lost_nothing_twice_and_order_kept_through_failures(
    sessionmaker, database_url, bot, fake_api, people
):
    clock = FakeClock()
    sender = make_sender(sessionmaker, database_url, clock, outbox_chat_rate=1.0)
    expected = {chat: [f"{chat} #{i}" for i in range(5)] for chat in (A, B, C)}
    # Interleaved, as several updates would queue them.
    await queue(sessionmaker, *[(chat, expected[chat][i]) for i in range(5) for chat in (A, B, C)])
    fake_api.fail_next("sendMessage", 500, "Internal Server Error", count=2)
    fake_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    fake_api.fail_next("sendMessage", 503, "Service Unavailable")
    await drain(sender, bot, clock)
    for chat, person in people.items():
        assert texts(person) == expected[chat]  # each once, in order
    assert {row.status for row in await rows(sessionmaker)} == {"sent"}
    assert len(fake_api.sent) == 15


async def test_a_row_with_buttons_round_trips(sessionmaker, database_url, bot, fake_api, people):
    sender = make_sender(sessionmaker, database_url)
    async with sessionmaker() as session:
        reply = Reply(A, "<b>Card</b> &amp; more", buttons=[[Button("✅ Yes", "rv:1:1:y")]])
        outbox.enqueue(session, A, reply.to_message(), purpose="review")
        await session.commit()
    await sender.run_once(bot)
    (message,) = people[A].messages
    assert message.plain_text == "Card & more" and message.buttons() == ["✅ Yes"]


async def test_rows_committed_before_any_sender_ran_are_delivered_when_one_starts(
    sessionmaker, database_url, bot, fake_api, people
):
    # The process that committed them died before sending; a new bot starts.
    await queue(sessionmaker, (A, "queued before the crash"), (B, "this too"))
    sender = make_sender(sessionmaker, database_url, outbox_poll_interval=3600)
    await sender.on_startup(bot)
    try:
        await people[A].expect("queued before the crash")
        await people[B].expect("this too")
    finally:
        await sender.on_shutdown()
    assert [row.status for row in await rows(sessionmaker)] == ["sent", "sent"]


async def test_a_dead_senders_claim_is_delivered_after_its_lease(
    sessionmaker, database_url, bot, fake_api, people
):
    await queue(sessionmaker, (A, "claimed by a process that died"))
    clock = FakeClock()
    await claim(sessionmaker, clock.now())  # the dead process
    sender = make_sender(sessionmaker, database_url, clock)
    assert await sender.run_once(bot) == 0
    clock.advance(LEASE.total_seconds() + 1)
    assert await sender.run_once(bot) == 1
    assert texts(people[A]) == ["claimed by a process that died"]
    assert sends_to(fake_api, A) == 1


async def test_wake_delivers_a_fresh_commit_without_waiting_for_the_poll(
    sessionmaker, database_url, bot, fake_api, people
):
    sender = make_sender(sessionmaker, database_url, outbox_poll_interval=3600)
    await sender.on_startup(bot)
    try:
        await asyncio.sleep(0.1)  # the sender is idle now, its next poll an hour away
        await queue(sessionmaker, (A, "right away"))
        sender.wake()
        await people[A].expect("right away", timeout=5)
    finally:
        await sender.on_shutdown()


async def test_stopping_gives_back_claims_it_did_not_send(
    sessionmaker, database_url, bot, fake_api, people
):
    # One message every 100 s: the second waits for its turn when the bot stops.
    sender = make_sender(
        sessionmaker, database_url, SystemClock(), outbox_rate=0.01, outbox_poll_interval=3600
    )
    await queue(sessionmaker, (A, "one"), (B, "two"))
    await sender.on_startup(bot)
    await people[A].expect("one")
    await sender.on_shutdown()
    first, second = await rows(sessionmaker)
    assert first.status == "sent"
    assert (second.status, second.claimed_until, second.attempts) == ("pending", None, 0)
    assert people[B].messages == []


async def test_a_stalled_event_loop_does_not_send_the_missed_slots_at_once(
    sessionmaker, database_url, bot, fake_api
):
    # A round books its slots ahead; after a stall (a slow query, a busy machine) every
    # row whose slot passed used to send at once: more than the rate within a second,
    # which Telegram answers with 429. Real time: the stall is the point.
    fake_api.flood_limit = 60
    chats = [9000 + i for i in range(80)]
    for chat in chats:
        fake_api.user(chat, f"Warga {chat}")
    await queue(sessionmaker, *[(chat, f"m{chat}") for chat in chats])
    sender = make_sender(
        sessionmaker, database_url, SystemClock(), outbox_rate=50, outbox_poll_interval=3600
    )
    await sender.on_startup(bot)
    try:
        await fake_api.wait_for(lambda: len(fake_api.sent) >= 10, timeout=10)
        time.sleep(0.4)  # noqa: ASYNC251  the stall: 20 slots of 50/s pass meanwhile
        await fake_api.wait_for(lambda: len(fake_api.sent) == 80, timeout=20)
    finally:
        await sender.on_shutdown()
    assert fake_api.flood_rejections == 0
    assert {row.status for row in await rows(sessionmaker)} == {"sent"}


async def test_concurrent_claims_never_take_a_row_twice(database_url, sessionmaker):
    await queue(sessionmaker, *[(9000 + i, f"m{i}") for i in range(40)])
    engines = [db.create_engine(database_url) for _ in range(4)]
    try:
        now = utcnow()
        claims = await asyncio.gather(
            *(claim(db.make_sessionmaker(engine), now, limit=15) for engine in engines)
        )
    finally:
        for engine in engines:
            await engine.dispose()
    ids = [row.id for claimed in claims for row in claimed]
    assert len(ids) == len(set(ids))
    if PG_ADMIN_URL:  # SKIP LOCKED: each claimer passes over the rows the others hold
        assert len(ids) == 40
    else:  # the claims that lost the race for SQLite's write lock find their rows taken
        assert len(ids) >= 15


async def test_two_senders_deliver_each_message_once_in_order(
    database_url, sessionmaker, bot, fake_api, people
):
    expected = {chat: [f"{chat} #{i}" for i in range(4)] for chat in (A, B, C)}
    await queue(sessionmaker, *[(chat, expected[chat][i]) for i in range(4) for chat in (A, B, C)])
    fake_api.fail_next("sendMessage", 500, "Internal Server Error", count=2)
    engines = [db.create_engine(database_url) for _ in range(2)]
    clock = FakeClock()
    senders = [make_sender(db.make_sessionmaker(e), database_url, clock) for e in engines]
    try:
        for _ in range(40):
            claimed = await asyncio.gather(*(sender.run_once(bot) for sender in senders))
            if sum(claimed) == 0:
                if all(row.status != "pending" for row in await rows(sessionmaker)):
                    break
                clock.advance(BACKOFF_CAP)
    finally:
        for engine in engines:
            await engine.dispose()
    for chat, person in people.items():
        assert texts(person) == expected[chat]
    assert len(fake_api.sent) == 12
