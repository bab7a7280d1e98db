"""A stale draft gets one reminder, then expires; an answer in between keeps it alive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import Draft
from testkit.harness import RunningBot
from tests.helpers.walk import SARI_ID, seed


@pytest.fixture
async def quick_sweeping_bot(fake_api, database_url, tmp_path):
    running = RunningBot(
        fake_api, database_url,
        draft_remind_after=timedelta(seconds=1), draft_expire_after=timedelta(seconds=3),
        sweep_interval=0.2,
    )  # fmt: skip
    running.tmp = tmp_path
    await running.start()
    yield running
    await running.stop()


@pytest.mark.slow
async def test_stale_draft_is_reminded_once_then_expires(quick_sweeping_bot, fake_api) -> None:
    people = await seed(quick_sweeping_bot, fake_api)
    sari = people[SARI_ID]
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
    await sari.send_text("Putri Ayu")
    await sari.expect("boy or a girl")

    reminder = await sari.expect("You have not finished your form “Birth”", timeout=5)
    assert "/lanjut" in reminder.plain_text
    await sari.expect_no_message(within=1.0)  # one reminder, not one per sweep
    # Answering resets the clock: the form goes on where it stopped.
    await sari.send_text("/lanjut")
    await sari.press("Girl", await sari.expect("boy or a girl"))
    await sari.expect("When was the baby born")
    await sari.expect("You have not finished", timeout=5)  # a new quiet spell, a new reminder

    await sari.expect("was deleted after", timeout=6)
    async with quick_sweeping_bot.session() as session:
        assert (await session.execute(select(Draft))).scalars().all() == []
    await sari.send_text("/lanjut")
    await sari.expect("You have no unfinished form")
