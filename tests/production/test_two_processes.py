"""Two `lapor-warga run --webhook` processes on one PostgreSQL, behind a load balancer
(the fake Bot API posts each update to one of them in turn)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta

import aiohttp
from sqlalchemy import func, select, update

from storage.models import OutboxMessage, ProcessedUpdate, Report, ReportEvent
from testkit.factories import FAMILIES
from tests.helpers.chat import LURAH_ID, OFFICER_ID, RT_ID, agree, file_birth_en, reviewer
from tests.helpers.processes import SECRET, resident, seed_shared, two_bots


async def test_a_request_without_the_secret_is_refused(spawn, fake_api) -> None:
    bot = spawn("bot-a")
    await bot.start()
    update = {"update_id": 99, "message": fake_api.user(5, "X").raw_message(text="/start")}
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-0000000000"}):
            async with http.post(bot.url, json=update, headers=headers) as response:
                assert response.status == 401
        async with http.post(
            bot.url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        ) as response:
            assert response.status == 200
    await fake_api.user(5, "X").expect("/datasaya")  # the consent text: it was processed


async def test_two_processes_share_the_work_without_doing_anything_twice(
    spawn, fake_api, shared_db, tmp_path
) -> None:
    await seed_shared(shared_db, tmp_path)
    a, b = await two_bots(spawn, fake_api, SLA_INTERVAL=0.5)

    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    # Every household links and files at once; each one's updates alternate between the
    # processes, and their forms still go step by step.
    people = await asyncio.gather(
        *(resident(fake_api, family, 2001 + i) for i, family in enumerate(FAMILIES))
    )
    numbers = await asyncio.gather(
        *(
            file_birth_en(p, f"Bayi {i}", date.today(), sex="Girl", mother=None)
            for i, p in enumerate(people)
        )
    )
    assert len(set(numbers)) == len(FAMILIES)
    targets = Counter(d.target for d in fake_api.webhook_deliveries)
    assert targets[a.url] > 10 and targets[b.url] > 10

    # Telegram delivers some updates again, to the other process, after they were
    # answered: acknowledged, nothing happens.
    seen = {p.user_id: len(p.chat()) for p in people}
    for again in fake_api.updates[-6:]:
        delivered_to = next(
            d.target for d in fake_api.webhook_deliveries if d.update_id == again["update_id"]
        )
        other = b.url if delivered_to == a.url else a.url
        assert await fake_api.redeliver(again["update_id"], target=other) == 200
    await asyncio.sleep(0.5)
    assert {p.user_id: len(p.chat()) for p in people} == seen

    # The RT head confirms; the same press reaches both processes at once.
    def cards():
        found = [m for m in rt.chat() if "Is this true?" in m.plain_text]
        return found if len(found) == len(numbers) else None

    card = next(m for m in await fake_api.wait_for(cards) if numbers[0] in m.plain_text)
    await rt.press("✅ Confirm", card)
    await rt.expect_edit(message=card)
    press = fake_api.updates[-1]
    await asyncio.gather(
        fake_api.redeliver(press["update_id"], target=a.url),
        fake_api.redeliver(press["update_id"], target=b.url),
    )
    async with shared_db.session() as session:
        report = (
            await session.execute(select(Report).where(Report.number == numbers[0]))
        ).scalar_one()
        assert report.state == "awaiting_kelurahan"
        decisions = await session.scalar(
            select(func.count()).where(
                ReportEvent.report_id == report.id, ReportEvent.from_state == "awaiting_rt"
            )
        )
        assert decisions == 1

    # The other report waits for the RT head for two days: both schedulers see the
    # reminder due, one digest goes out.
    async with shared_db.session() as session:
        await session.execute(
            update(Report)
            .where(Report.number.in_(numbers[1:]))
            .values(tier_since=Report.tier_since - timedelta(days=2))
        )
        await session.commit()
    digest = await rt.expect("wait for your decision", timeout=10)
    await rt.expect_no_message(within=2.0)  # four more passes of each scheduler
    assert "1 report(s)" in digest.plain_text

    # Every outbox message went out once, and every update was processed once.
    async with shared_db.session() as session:
        rows = (await session.execute(select(OutboxMessage.chat_id, OutboxMessage.status))).all()
        # The lurah and the officer never opened the bot: Telegram refuses their chats.
        assert {chat for chat, status in rows if status != "sent"} <= {LURAH_ID, OFFICER_ID}
        assert any(status == "sent" for _, status in rows)
        processed = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    pages = [await bot.metrics() for bot in (a, b)]

    def total(outcome: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for page in pages
            for line in page.splitlines()
            if line.startswith("lapor_warga_updates_total{") and f'outcome="{outcome}"' in line
        )

    assert processed == total("handled")
    assert total("duplicate") == 6 + 2  # the six redelivered, the press twice more
    for person in people:
        texts = [m.plain_text for m in person.chat()]
        assert len(texts) == len(set(texts)) or _only_prompts_repeat(texts)


def _only_prompts_repeat(texts: list[str]) -> bool:
    """Two filings of the same form repeat their questions, never a status message."""
    repeated = [t for t, n in Counter(texts).items() if n > 1]
    return not any("LW-" in t for t in repeated)


async def test_the_first_step_after_consent_also_survives_both_processes(
    spawn, fake_api, shared_db, tmp_path
) -> None:
    """A newcomer's /start and consent press land on different processes."""
    await seed_shared(shared_db, tmp_path)
    await two_bots(spawn, fake_api)
    person = fake_api.user(3001, "Nia", language_code="en")
    await person.send_text("/start")
    await agree(person)
    prompt = await person.next_message()
    assert prompt.reply_buttons()[0]["request_contact"] is True
