"""Faults against real `lapor-warga run --webhook` processes on PostgreSQL: kill -9 in
the middle of a form step, of an approval and of an outbox batch; SIGTERM with an update
in hand; PostgreSQL stopped; the Bot API failing with 500s, 429s and hanging requests.

The bots are subprocesses with their own clocks, so no fake clock reaches them: the
outages last until the bot has been seen failing through them (a condition), each at most
``OUTAGE_SECONDS`` (``LW_TEST_OUTAGE_SECONDS``, default 20: the old fixed windows)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import date

from sqlalchemy import func, select, text

from flows.io import Reply
from storage.models import OutboxMessage, Report, ReportEvent
from storage.outbox import enqueue
from storage.updates import chat_connection
from testkit.factories import SARI
from tests.helpers.chat import RT_ID, file_birth_en, reviewer, start_birth
from tests.helpers.db import draft_answers
from tests.helpers.processes import resident, seed_shared, until

# Claims of a killed sender come back after 9 s instead of 90 (sends time out after 3 s).
FAST_LEASE = {"outbox_lease": 9}
# The longest an outage of the tests below lasts; each ends sooner, once the bot has
# retried through it.
OUTAGE_SECONDS = float(os.environ.get("LW_TEST_OUTAGE_SECONDS", "20"))


async def _sari_at_the_name_question(fake_api):
    sari = await resident(fake_api, SARI, 2001)
    await start_birth(sari)
    return sari


class ChatHold:
    """The test takes a chat's lock (``storage.updates.chat_connection``, as a busy bot
    process does): an update of that chat arriving now is in the bot's hands, waiting,
    not yet committed."""

    def __init__(self, shared_db, chat_id: int) -> None:
        self.shared_db = shared_db
        self.held = chat_connection(shared_db.engine, chat_id)

    async def __aenter__(self) -> ChatHold:
        await self.held.__aenter__()
        return self

    async def waiters(self) -> int:
        async with self.shared_db.engine.connect() as conn:
            return await conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )

    async def wait_for_the_bot(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        await until(self.waiters, timeout)

    async def __aexit__(self, *exc: object) -> None:
        await self.held.__aexit__(*exc)


async def test_kill_9_in_the_middle_of_a_form_step(spawn, fake_api, shared_db, tmp_path) -> None:
    await seed_shared(shared_db, tmp_path)
    bot = spawn("bot-a")
    await bot.start()
    sari = await _sari_at_the_name_question(fake_api)

    async with ChatHold(shared_db, sari.user_id) as hold:
        await sari.send_text("Adi Saputra")
        await hold.wait_for_the_bot()
        await bot.kill()
    assert "baby_name" not in str(await draft_answers(shared_db))  # nothing half-written

    await bot.start()  # Telegram got no answer: it delivers the update again
    await sari.expect("boy or a girl", timeout=30)
    await sari.expect_no_message(within=1.0)
    assert list((await draft_answers(shared_db)).values()).count("ADI SAPUTRA") == 1  # upper case


async def test_kill_9_between_an_approval_and_its_answer(
    spawn, fake_api, shared_db, tmp_path
) -> None:
    """The decision is committed, the bot dies before answering Telegram: the press comes
    again after the restart and is acknowledged without a second decision."""
    await seed_shared(shared_db, tmp_path)
    bot = spawn("bot-a", **FAST_LEASE)
    await bot.start()
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    sari = await resident(fake_api, SARI, 2001)
    number = await file_birth_en(sari, "Adi Saputra", date.today(), sex="Girl", mother=None)
    card = await rt.expect("Is this true?", timeout=30)

    outage = fake_api.outage("timeout")  # the bot's calls to Telegram hang from now on
    await rt.press("✅ Confirm", card)

    async def decided() -> bool:
        return await _state(shared_db, number) == "awaiting_kelurahan"

    await until(decided, 30)
    await bot.kill()
    outage.end()

    await bot.start()
    await fake_api.wait_webhook_idle(timeout=30)  # the press was delivered again
    status = await sari.expect("confirmed", timeout=30)
    await sari.expect_no_message(within=2.0)
    assert number in status.plain_text
    async with shared_db.session() as session:
        report = (await session.execute(select(Report).where(Report.number == number))).scalar_one()
        decisions = await session.scalar(
            select(func.count()).where(
                ReportEvent.report_id == report.id, ReportEvent.from_state == "awaiting_rt"
            )
        )
    assert (report.state, decisions) == ("awaiting_kelurahan", 1)


async def _state(shared_db, number: str) -> str:
    async with shared_db.session() as session:
        return await session.scalar(select(Report.state).where(Report.number == number))


async def _queue(shared_db, fake_api, count: int, first_id: int = 5000) -> list:
    people = [fake_api.user(first_id + i, f"Warga {i}") for i in range(count)]
    async with shared_db.session() as session:
        for person in people:
            message = Reply(person.user_id, f"Pengumuman untuk warga {person.user_id}")
            enqueue(session, person.user_id, message.to_message(), purpose="broadcast")
        await session.commit()
    return people


async def _sent(shared_db) -> int:
    async with shared_db.session() as session:
        return await session.scalar(select(func.count()).where(OutboxMessage.status == "sent"))


async def test_kill_9_in_the_middle_of_an_outbox_batch(
    spawn, fake_api, shared_db, tmp_path
) -> None:
    await seed_shared(shared_db, tmp_path)
    people = await _queue(shared_db, fake_api, 40)
    bot = spawn("bot-a", outbox_rate=10, **FAST_LEASE)
    await bot.start()

    async def ten_sent() -> bool:
        return await _sent(shared_db) >= 10

    await until(ten_sent, 60, interval=0.01)
    # A message Telegram accepted just before the kill, not yet marked sent, would be sent
    # again after the restart (at least once: the bot cannot know Telegram had it). So the
    # kill comes when every message Telegram has is marked sent: Telegram stops answering
    # (the next sends hang, nothing more is delivered) and the marks of those it accepted
    # are awaited. Sends are spaced 0.1 s start to start, so on a busy machine the 11th
    # can be at Telegram before the test sees the 10th marked.
    outage = fake_api.outage("timeout")

    async def all_delivered_marked() -> bool:
        return await _sent(shared_db) == sum(len(p.chat()) for p in people)

    await until(all_delivered_marked, 30)
    await bot.kill()  # with the rest of its batch claimed, a send or more hanging
    outage.end()
    assert await _sent(shared_db) < 40

    await bot.start()

    async def all_sent() -> bool:
        return await _sent(shared_db) == 40

    await until(all_sent, 90, interval=0.2)
    # Every row is final: no send is under way, nothing more can come.
    assert [len(p.chat()) for p in people] == [1] * 40  # each message once


async def test_sigterm_lets_the_update_in_hand_finish(spawn, fake_api, shared_db, tmp_path) -> None:
    await seed_shared(shared_db, tmp_path)
    bot = spawn("bot-a")
    await bot.start()
    sari = await _sari_at_the_name_question(fake_api)

    async with ChatHold(shared_db, sari.user_id) as hold:
        await sari.send_text("Adi Saputra")
        await hold.wait_for_the_bot()
        assert bot.process is not None
        exit_code = asyncio.ensure_future(bot.terminate())

        async def draining() -> bool:
            return "letting the updates in hand finish" in bot.log()

        await until(draining, 10)  # SIGTERM arrived; the update is still held here
        assert not exit_code.done()  # still finishing the update in hand
    assert await exit_code == 0
    await sari.expect("boy or a girl")
    assert "letting the updates in hand finish" in bot.log()
    assert "Traceback" not in bot.log()


async def test_postgresql_stopped_while_a_person_writes(
    spawn, fake_api, shared_db, pg, tmp_path
) -> None:
    """PostgreSQL stops; Telegram redelivers the person's message (503 each time) until it
    is back, at most ``OUTAGE_SECONDS`` (it was a fixed 10 s): one notice, then the
    answer."""
    await seed_shared(shared_db, tmp_path)
    bot = spawn("bot-a")
    await bot.start()
    sari = await _sari_at_the_name_question(fake_api)

    pg.stop()
    await sari.send_text("Adi Saputra")
    notice = await sari.expect("cannot reach its database", timeout=20)
    assert "will be answered as soon as it is back" in notice.plain_text
    assert await bot.health() == 503
    # The outage lasts until several redeliveries came after the notice (each could have
    # sent another one).
    after_notice = len(fake_api.webhook_deliveries)
    await fake_api.wait_until(
        lambda: sum(d.result == 503 for d in fake_api.webhook_deliveries[after_notice:]) >= 5,
        OUTAGE_SECONDS,
    )
    assert bot.process is not None and bot.process.returncode is None
    # Telegram kept redelivering (503 each time); one notice, not one per try.
    assert sum("cannot reach its database" in (m.plain_text or "") for m in sari.chat()) == 1
    refused = [d for d in fake_api.webhook_deliveries if d.result == 503]
    assert len(refused) >= 3

    pg.start()
    await sari.expect("boy or a girl", timeout=30)

    async def healthy() -> bool:
        return await bot.health() == 200

    await until(healthy, 10, interval=0.2)
    assert list((await draft_answers(shared_db)).values()).count("ADI SAPUTRA") == 1  # upper case
    assert "the database is unreachable" in bot.log()


async def test_the_bot_api_failing_with_500_429_and_hanging_requests(
    spawn, fake_api, shared_db, tmp_path
) -> None:
    """500s, then 429s, then requests that hang, each until the bot has tried through it
    more than once (at most ``OUTAGE_SECONDS`` each; they were a fixed 20 s each):
    afterwards every queued message and the reply to what the person sent meanwhile
    arrive, each once. Sends time out after 3 s (``FAST_LEASE``) instead of 30."""
    await seed_shared(shared_db, tmp_path)
    bot = spawn("bot-a", **FAST_LEASE)
    await bot.start()
    sari = await _sari_at_the_name_question(fake_api)
    people = await _queue(shared_db, fake_api, 10)
    await fake_api.wait_for(lambda: all(p.chat() for p in people), 30, "the first messages")
    people += await _queue(shared_db, fake_api, 10, first_id=6000)

    async def through(outage, sends: int) -> None:
        """Until the bot has called sendMessage ``sends`` times into ``outage``."""
        await fake_api.wait_until(
            lambda: outage.requests.count("sendMessage") >= sends, OUTAGE_SECONDS
        )
        outage.end()

    outage = fake_api.outage("500", seconds=OUTAGE_SECONDS)
    await sari.send_text("Adi Saputra")  # committed; its reply cannot be sent now
    # 11 rows (10 messages, the reply) tried, and some of them again after the back-off
    await through(outage, 14)
    await through(fake_api.outage("429", seconds=OUTAGE_SECONDS, retry_after=5), 2)
    await through(fake_api.outage("timeout", seconds=OUTAGE_SECONDS), 2)  # one timed out

    await sari.expect("boy or a girl", timeout=60)
    await fake_api.wait_for(lambda: all(p.chat() for p in people), 60, "every message")

    async def all_final() -> bool:
        async with shared_db.session() as session:
            statuses = set(await session.scalars(select(OutboxMessage.status)))
        return "pending" not in statuses

    await until(all_final, 30, interval=0.2)  # no send under way: nothing more can come
    assert [len(p.chat()) for p in people] == [1] * 20
    assert sum("boy or a girl" in (m.plain_text or "") for m in sari.chat()) == 1
    async with shared_db.session() as session:
        statuses = Counter(await session.scalars(select(OutboxMessage.status)))
    assert set(statuses) == {"sent"}
    assert bot.process is not None and bot.process.returncode is None
