"""A flood from one Telegram user, through the real bot: the per-user rate limit.

The tests link a resident and open a form with the test harness's generous limit, then
redeploy the bot with the production limit (``RATE_LIMIT_UPDATES`` 20) and flood it.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

from bot.settings import Settings, SettingsError, load_settings
from handlers.throttle import RateLimitMiddleware, notice
from locales import use_locale
from storage.models import Account, Draft, Report
from tests.helpers.chat import linked_sari

NOTICE = "You are sending messages too fast"
OTHER_ID = 2002


async def _at_birth_date(running, fake_api, tmp_path):
    """Sari, linked, at the birth form's date question (each wrong date re-asks it)."""
    sari = await linked_sari(running, fake_api, tmp_path)
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
    await sari.send_text("Putri Ayu")
    await sari.press("Girl", await sari.expect("boy or a girl"))
    await sari.expect("When was the baby born")
    return sari


async def _redeploy(running, **limits: object) -> None:
    """Restart the bot with these settings (the production rate limit unless given)."""
    defaults = {name: Settings.model_fields[name].default for name in ("rate_limit_updates",)}
    running.settings = running.settings.model_copy(update={**defaults, **limits})
    await running.restart()


async def _draft_rev(running) -> int:
    async with running.session() as session:
        return (await session.execute(select(Draft.rev))).scalar_one()


async def _accounts(running) -> int:
    async with running.session() as session:
        return await session.scalar(select(func.count()).select_from(Account))


async def _settled(person, quiet: float = 1.0) -> None:
    """Wait until the bot has sent this person nothing new for ``quiet`` seconds."""
    count = -1
    while count != len(person.messages):
        count = len(person.messages)
        await asyncio.sleep(quiet)


@pytest.mark.slow
async def test_a_flood_is_cut_at_the_limit_while_others_are_served(
    running_bot, fake_api, tmp_path
) -> None:
    assert Settings.model_fields["rate_limit_updates"].default == 20
    assert Settings.model_fields["rate_limit_window"].default == 10
    sari = await _at_birth_date(running_bot, fake_api, tmp_path)
    # A long window, so that the whole flood falls in one even on a slow machine.
    await _redeploy(running_bot, rate_limit_window=60)
    limit = running_bot.settings.rate_limit_updates
    rev = await _draft_rev(running_bot)
    accounts = await _accounts(running_bot)
    before = len(sari.messages)

    for i in range(500):
        await sari.send_text(f"{i} not a date")
    other = fake_api.user(OTHER_ID, "Other", language_code="en")
    started = time.monotonic()
    await other.send_text("/start")
    await other.expect("/datasaya", timeout=10)  # the consent screen, as for anyone new
    assert time.monotonic() - started < 10

    await sari.expect(NOTICE, timeout=10)
    await _settled(sari)
    answers = [m for m in sari.messages[before:]]
    notices = [m for m in answers if NOTICE in (m.plain_text or "")]
    assert len(notices) == 1, [m.plain_text for m in answers]
    assert "the rest were not processed" in notices[0].plain_text
    assert 1 <= len(answers) - 1 <= limit
    assert all("could not read that date" in m.plain_text or "send that again" in m.plain_text
               for m in answers if m not in notices)  # fmt: skip
    # No more than the admitted updates reached the database: each answer claims the
    # form once (its revision), and nothing else was written.
    assert 1 <= await _draft_rev(running_bot) - rev <= limit
    async with running_bot.session() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 0
    assert await _accounts(running_bot) == accounts  # the other person has not agreed yet
    assert fake_api.rejected == []  # every message the bot sent was accepted

    # Still serving: the other person goes on; the flooder stays quiet for this window
    # (one notice per window, not one per message).
    await other.press("✅ I agree")
    await other.expect("Share my contact")
    quiet = len(sari.messages)
    await sari.send_text("/lanjut")
    await asyncio.sleep(1.0)
    assert len(sari.messages) == quiet


@pytest.mark.slow
async def test_the_flooder_is_served_again_after_the_window(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await _at_birth_date(running_bot, fake_api, tmp_path)
    await _redeploy(running_bot, rate_limit_updates=5, rate_limit_window=1.5)
    for i in range(40):
        await sari.send_text(f"{i} not a date")
    await sari.expect(NOTICE, timeout=10)
    await _settled(sari, quiet=1.6)  # the window is over
    await sari.send_text("/lanjut")
    await sari.expect("When was the baby born")


async def test_button_presses_over_the_limit_get_the_notice_as_their_answer(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await _at_birth_date(running_bot, fake_api, tmp_path)
    await _redeploy(running_bot, rate_limit_updates=3, rate_limit_window=60)
    queries = [await sari.press_data("zz:forged") for _ in range(6)]
    answers = [(await sari.wait_callback_answer(q))["text"] for q in queries[:4]]
    assert answers[:3] == ["This button has expired."] * 3
    assert NOTICE in answers[3]
    await asyncio.sleep(0.5)
    # Later presses in the window are dropped without another call to Telegram.
    answered = {a["callback_query_id"] for a in sari.callback_answers}
    assert not answered & set(queries[4:])
    assert fake_api.rejected == []


async def test_the_notice_is_in_the_person_s_telegram_language(
    running_bot, fake_api, tmp_path
) -> None:
    """Nothing is read from the database for a dropped update: Telegram's language_code."""
    await _redeploy(running_bot, rate_limit_updates=2, rate_limit_window=60)
    for user_id, language in ((3003, "id"), (3004, "en-GB")):
        person = fake_api.user(user_id, "Budi", language_code=language)
        for _ in range(4):
            await person.send_text("halo")
        with use_locale(language):
            expected = notice()
        await person.expect(expected, timeout=10)


def test_idle_people_are_forgotten_and_windows_restart() -> None:
    now = [0.0]
    limiter = RateLimitMiddleware(limit=2, window=10, clock=lambda: now[0])
    assert [limiter.admit(1) for _ in range(4)] == [
        (True, False), (True, False), (False, True), (False, False),
    ]  # fmt: skip
    for user in range(2, 1002):
        limiter.admit(user)
    assert limiter.tracked == 1001
    now[0] = 10.0  # a new window: person 1 may send again
    assert limiter.admit(1) == (True, False)
    now[0] = 25.0  # everyone has been idle for a whole window
    limiter.admit(5000)
    assert limiter.tracked == 1
    assert limiter.dropped == 2


def test_the_photos_of_one_album_count_once() -> None:
    limiter = RateLimitMiddleware(limit=2, window=10, clock=lambda: 0.0)
    assert all(limiter.admit(1, album="a1")[0] for _ in range(10))
    assert all(limiter.admit(1, album="a2")[0] for _ in range(10))
    assert limiter.admit(1) == (False, True)  # the third update of the window
    assert limiter.admit(1, album="a3") == (False, False)
    assert limiter.admit(1, album="a3") == (False, False)


def test_limits_are_validated_settings() -> None:
    for name, value in (
        ("rate_limit_updates", 0), ("rate_limit_window", 0), ("max_upload_mb", -1),
    ):  # fmt: skip
        with pytest.raises(SettingsError, match=name.upper()):
            load_settings(**{name: value})
    settings = load_settings(rate_limit_updates="5", rate_limit_window="2.5", max_upload_mb="1")
    assert (settings.rate_limit_updates, settings.rate_limit_window) == (5, 2.5)
