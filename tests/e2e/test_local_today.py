""" "Today" is the resident's day, not the server's: a server on another clock (a UTC
server at 05.00 WIB still says yesterday) gives the date of the resident's zone to the
"Today" button, to typed "yesterday" and to the check that a date is not in the future."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from locales import WIB
from tests.helpers.walk import SARI_ID, Act, Walk, press, report_numbered, seed, text


@pytest.fixture
def server_on_another_day() -> Iterator[None]:
    """The process's local clock set to a zone whose date differs from WIB's right now
    (UTC-12 or UTC+14: at every hour one of the two is on another day than UTC+7)."""
    now = datetime.now(UTC)
    wib_day = now.astimezone(WIB).date()
    # POSIX TZ names are inverted: Etc/GMT+12 is UTC-12.
    zone = next(
        name
        for name, hours in (("Etc/GMT+12", -12), ("Etc/GMT-14", 14))
        if (now + timedelta(hours=hours)).date() != wib_day
    )
    old = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


async def test_today_and_yesterday_are_the_residents_days(
    running, fake_api, server_on_another_day
) -> None:
    wib_today = datetime.now(WIB).date()
    people = await seed(running, fake_api)  # Sari's family is in Palembang (WIB)
    numbers = []
    for when in (press("Today"), text("yesterday"), text(wib_today.strftime("%d/%m/%Y"))):
        walk = Walk(people[SARI_ID])
        await walk.open("Birth")
        await walk.answer(Act("baby's full name", text(f"Bayi {len(numbers) + 1}")))
        await walk.answer(Act("boy or a girl", press("Girl")))
        await walk.answer(Act("When was the baby born", when))
        await walk.answer(Act("Who is the mother", press("Sari Wulandari")))
        await walk.person.press("Skip »", await walk.prompt("birth certificate"))
        await walk.person.expect("check your report")
        numbers.append(await walk.submit())
    days = [(await report_numbered(running, n)).payload["birth_date"] for n in numbers]
    yesterday = wib_today - timedelta(days=1)
    # The third: today's date typed is never "in the future" for the resident.
    assert days == [wib_today.isoformat(), yesterday.isoformat(), wib_today.isoformat()]
