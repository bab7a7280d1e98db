"""Production behaviour inside one bot process, on SQLite and on PostgreSQL: redelivered
updates, one chat at a time, /healthz and /metrics. The multi-process and fault tests
are in tests/production/."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import aiohttp
import pytest
from aiogram.types import Chat, Message, User
from sqlalchemy import func, select

from bot.monitor import Monitor
from handlers.ordering import ChatOrderMiddleware
from storage import db
from storage.models import Draft, ProcessedUpdate
from storage.updates import DatabaseUnavailable, chat_connection
from tests.helpers.chat import file_birth_en, linked_sari, seed, start_birth
from tests.helpers.db import draft_answers


async def _sari_at_the_name_question(running, fake_api, tmp_path):
    sari = await linked_sari(running, fake_api, tmp_path)
    await start_birth(sari)
    return sari


async def test_a_redelivered_update_is_acknowledged_and_not_processed_again(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await _sari_at_the_name_question(running_bot, fake_api, tmp_path)
    await sari.send_text("Adi Saputra")
    await sari.expect("boy or a girl")
    answers = await draft_answers(running_bot)
    update = fake_api.updates[-1]
    assert update["message"]["text"] == "Adi Saputra"

    # Telegram delivers it again (the bot's answer was slow or lost).
    await running_bot.dp.feed_raw_update(running_bot.bot, update)

    # Processed again, the name would be refused at the boy/girl question.
    await sari.expect_no_message(within=0.5)
    assert await draft_answers(running_bot) == answers
    metrics = running_bot.dp["metrics"]
    assert metrics.updates.labels("message", "duplicate")._value.get() == 1
    # The form goes on as if nothing happened.
    await sari.press("Boy", sari.last())
    await sari.expect("When was the baby born")


async def test_a_redelivered_photo_of_an_album_is_not_added_again(
    running_bot, fake_api, tmp_path
) -> None:
    from datetime import date

    sari = await _sari_at_the_name_question(running_bot, fake_api, tmp_path)
    await sari.send_text("Adi Saputra")
    await sari.press("Boy", await sari.expect("boy or a girl"))
    await sari.expect("When was the baby born")
    await sari.send_text(date.today().strftime("%d/%m/%Y"))
    await sari.press("Sari Wulandari", await sari.expect("Who is the mother?"))
    await sari.expect("birth certificate")
    await sari.send_photo(media_group_id="alb-1")
    await sari.send_photo(media_group_id="alb-1")
    album = [u for u in fake_api.updates if u.get("message", {}).get("media_group_id")]
    first, second = (u["update_id"] for u in album)
    review = await sari.expect("check your report")
    assert "📎 2 photo(s)" in review.plain_text
    async with running_bot.session() as session:
        ids = set(await session.scalars(select(ProcessedUpdate.update_id)))
    assert {first, second} <= ids  # the album's answer marked both of its updates

    # The second photo delivered again on its own would be a third attachment.
    await running_bot.dp.feed_raw_update(running_bot.bot, album[1])
    await sari.expect_no_message(within=1.0)  # longer than the album wait
    await sari.send_text("/lanjut")
    assert "📎 2 photo(s)" in (await sari.expect("check your report")).plain_text


async def test_updates_of_one_chat_wait_for_each_other_and_other_chats_do_not(
    engine, database_url
) -> None:
    """The chat lock, with two engines standing for two bot processes on PostgreSQL (on
    SQLite, which one process serves, the lock is the process's own)."""
    order = ChatOrderMiddleware(engine)
    other_process = (
        ChatOrderMiddleware(db.create_engine(database_url))
        if engine.dialect.name == "postgresql"
        else order
    )
    spans: list[tuple[str, int, float, float]] = []
    loop = asyncio.get_running_loop()

    def event(chat_id: int) -> tuple[Message, dict]:
        user = User(id=chat_id, is_bot=False, first_name="X")
        chat = Chat(id=chat_id, type="private")
        message = Message(message_id=1, date=0, chat=chat, from_user=user, text="x")
        return message, {"event_chat": chat, "event_from_user": user}

    async def work(name: str, middleware: ChatOrderMiddleware, chat_id: int) -> None:
        async def handler(_event, data):
            start = loop.time()
            await asyncio.sleep(0.2)
            spans.append((name, chat_id, start, loop.time()))

        message, data = event(chat_id)
        await middleware(handler, message, data)

    try:
        await asyncio.gather(
            work("a1", order, 501),
            work("a2", other_process, 501),
            work("a3", order, 501),
            work("b1", other_process, 502),
        )
    finally:
        if other_process is not order:
            await other_process.engine.dispose()
    same_chat = sorted((s for s in spans if s[1] == 501), key=lambda s: s[2])
    for earlier, later in itertools.pairwise(same_chat):
        assert later[2] >= earlier[3], f"{later[0]} started before {earlier[0]} ended"
    first_a, b = same_chat[0], next(s for s in spans if s[1] == 502)
    assert b[2] < first_a[3], "another chat waited for chat 501"
    assert order.chats_waiting == 0  # the lock table forgets idle chats
    # In one process the order is the order of arrival.
    assert [s[0] for s in same_chat if s[0] in ("a1", "a3")] == ["a1", "a3"]


async def test_an_unreachable_database_is_told_apart() -> None:
    engine = db.create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(DatabaseUnavailable):
            async with chat_connection(engine, 42):
                pass
    finally:
        await engine.dispose()


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def test_healthz_and_metrics(running_bot, fake_api, tmp_path) -> None:
    dp = running_bot.dp
    monitor = Monitor(running_bot.engine, dp["sessionmaker"], dp["metrics"])
    await monitor.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{monitor.port}"
    try:
        status, body = await _get(f"{base}/healthz")
        assert (status, body) == (200, '{"status": "ok", "database": "ok"}')

        sari = await linked_sari(running_bot, fake_api, tmp_path)
        from datetime import date

        await file_birth_en(sari, "Adi Saputra", date.today())
        status, text = await _get(f"{base}/metrics")
        assert status == 200
        lines = dict(
            line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
        )
        handled = float(lines['lapor_warga_updates_total{kind="message",outcome="handled"}'])
        presses = float(lines['lapor_warga_updates_total{kind="callback_query",outcome="handled"}'])
        # Linking (/start, contact, NIK, KK) and the form (/lapor, name, date); the
        # consent (already in English) and the form's five buttons.
        assert (handled, presses) == (7, 6)
        assert float(lines['lapor_warga_reports{state="awaiting_rt"}']) == 1
        assert float(lines['lapor_warga_reports{state="applied"}']) == 0
        assert float(lines['lapor_warga_update_seconds_count{kind="message"}']) == handled
        assert 'lapor_warga_outbox_messages{status="pending"}' in lines
        assert float(lines["lapor_warga_database_up"]) == 1
    finally:
        await monitor.stop()


async def test_healthz_says_503_when_the_database_is_down(running_bot) -> None:
    dp = running_bot.dp
    dead = db.create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    monitor = Monitor(dead, db.make_sessionmaker(dead), dp["metrics"])
    await monitor.start("127.0.0.1", 0)
    try:
        status, body = await _get(f"http://127.0.0.1:{monitor.port}/healthz")
        assert status == 503 and '"status": "unavailable"' in body
        status, text = await _get(f"http://127.0.0.1:{monitor.port}/metrics")
        assert status == 200 and "lapor_warga_database_up 0.0" in text
    finally:
        await monitor.stop()
        with contextlib.suppress(Exception):
            await dead.dispose()


async def test_processed_ids_are_pruned_after_two_days(running_bot, fake_api, tmp_path) -> None:
    from datetime import timedelta

    from bot.housekeeping import DraftSweeper
    from storage.models import utcnow

    await seed(running_bot, tmp_path)
    async with running_bot.session() as session:
        session.add(ProcessedUpdate(update_id=1, processed_at=utcnow() - timedelta(days=3)))
        session.add(ProcessedUpdate(update_id=2, processed_at=utcnow() - timedelta(hours=30)))
        await session.commit()
    await DraftSweeper(running_bot.sessionmaker, running_bot.settings).run_once()
    async with running_bot.session() as session:
        left = set(await session.scalars(select(ProcessedUpdate.update_id)))
        assert left == {2}
        assert await session.scalar(select(func.count()).select_from(Draft)) == 0
