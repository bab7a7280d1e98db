"""A connection pool smaller than the chats in hand serves them all (docs/configuration.md,
DB_POOL_SIZE): nothing that holds a connection waits for a second one, so the chats take
turns for the one connection instead of deadlocking, and the background jobs (outbox
sender, SLA pass, draft sweep) get theirs between them."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage.models import Account
from testkit.harness import RunningBot
from tests.helpers.chat import agree

CHATS = 8


async def test_one_connection_serves_many_chats_at_once(fake_api, database_url) -> None:
    running = RunningBot(fake_api, database_url, db_pool_size=1, db_max_overflow=0)
    await running.start()
    try:
        people = [
            fake_api.user(700_000 + n, f"Warga {n}", language_code="en") for n in range(CHATS)
        ]

        async def newcomer(person) -> None:
            await person.send_text("/start")
            await agree(person)  # writes the account, in a savepoint, and the consent

        await asyncio.gather(*(newcomer(p) for p in people))
        async with running.session() as session:
            agreed = await session.scalar(
                select(func.count()).where(Account.consented_at.is_not(None))
            )
        assert agreed == CHATS
    finally:
        await running.stop()
