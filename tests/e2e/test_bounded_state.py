"""Nothing per chat stays in the bot's memory: a form's state is its draft in the database,
and the per-chat tables of the middlewares (rate limit, chat order) forget idle chats.

benchmarks/chat_memory.py measures the process's memory with 10,000 chats; here the real
bot (aiogram over HTTP against the fake Bot API) shows each table's bound, and that a
chat the tables forgot is served as before."""

from __future__ import annotations

import asyncio

from handlers.ordering import ChatOrderMiddleware
from handlers.throttle import RateLimitMiddleware

CHATS = 60
WINDOW = 3.0  # the rate limit's window (seconds) here: idle users are forgotten after it


async def _idle(running) -> None:
    """Every update in hand finished (a reply arrives before its update has let go)."""
    assert await running.dp["tracker"].drain(10)


def _middleware(running, kind: type) -> object:
    return next(m for m in running.dp.message.outer_middleware if isinstance(m, kind))


async def test_many_chats_leave_no_state_in_the_process(running, fake_api) -> None:
    running.settings = running.settings.model_copy(update={"rate_limit_window": WINDOW})
    await running.restart()
    people = [fake_api.user(8000 + i, f"Warga {i}", language_code="en") for i in range(CHATS)]
    await asyncio.gather(*(p.send_text("/start") for p in people))
    consents = await asyncio.gather(*(p.expect("/datasaya", timeout=30) for p in people))
    await _idle(running)

    # aiogram's FSM (a record per chat, kept for good in its default MemoryStorage) is off.
    assert running.dp.fsm.storage.storage == {}
    order = _middleware(running, ChatOrderMiddleware)
    throttle = _middleware(running, RateLimitMiddleware)
    assert order.chats_waiting == 0  # no update in hand: the lock table is empty
    assert throttle.tracked == CHATS  # everyone sent something within the window

    # A window later the rate limit forgets them all at the next update; the person who
    # sends it, forgotten too, is served as before and counted afresh.
    await asyncio.sleep(WINDOW * 1.2)
    first = people[0]
    await first.press("✅ I agree", consents[0])
    await first.expect_edit(message=consents[0])
    await _idle(running)
    assert throttle.tracked == 1
    assert order.chats_waiting == 0
    assert running.dp.fsm.storage.storage == {}
