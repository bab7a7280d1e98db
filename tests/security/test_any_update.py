"""Property test: arbitrary button data and arbitrary messages, from a linked resident, an
RT head and a stranger, through the real dispatcher and Bot over the fake Bot API: no
update fails (no error handler, no "Maaf, terjadi kesalahan"), and Telegram would have
accepted every call the bot made. One running bot serves every example."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fake_bot_api import NOT_MODIFIED
from flows.buttons import KINDS
from testkit.factories import SARI
from tests.helpers.chat import RT_ID, SARI_ID, link, open_bot, seed

STRANGER_ID = 1800
SORRY = ("Sorry, something went wrong", "Maaf, terjadi kesalahan")
COMMANDS = ["/start", "/lapor", "/lanjut", "/batal", "/status", "/bahasa", "/antrian",
            "/datasaya", "/peran", "/undang", "/umumkan", "/hapusakun", "/status LW-2026-000001"]  # fmt: skip

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=120)
_PIECE = st.sampled_from(
    [*{k.PREFIX for k in KINDS}, "y", "n", "l", "v", "t", "E", "x", "s", "en", "id", "birth",
     "death", "0", "1", "2", "3", "99", "2147483648", "9" * 25, "-1", "²", "٣", "", " "]
)  # fmt: skip
_DATA = st.one_of(
    st.lists(_PIECE, min_size=1, max_size=6).map(":".join),
    st.text(max_size=70).filter(lambda t: t.strip() != ""),
)
_ACTION = st.one_of(
    st.tuples(st.just("text"), _TEXT),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("forged"), _DATA),
    st.tuples(st.just("button"), st.integers(0, 30)),
    st.tuples(st.just("again"), st.just(0)),  # the last button pressed, again: a double tap
)


def _processed(running) -> float:
    """Updates the dispatcher has finished with (any outcome)."""
    return sum(
        s.value
        for metric in running.dp["metrics"].updates.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    )


async def _handled(running, before: float) -> None:
    """Wait until the dispatcher is done with one more update (the counter moves after
    the update's last Bot API call, so the fake's own wait would sleep until the next poll)."""
    async with asyncio.timeout(10):
        while _processed(running) <= before:  # noqa: ASYNC110 (a counter: no event to wait on)
            await asyncio.sleep(0.005)


def _buttons(person) -> list[tuple[object, str]]:
    """(message, button text) of the newest messages' inline buttons, newest first."""
    found = []
    for message in reversed(person.messages[-6:]):
        if not message.deleted:
            found += [(message, text) for text in message.buttons()]
    return found


async def _people(running, fake_api, tmp_path) -> list:
    """Sari (linked, English), the RT head (Indonesian) and a stranger; made once, by the
    first example, on the bot every example shares."""
    people = getattr(running, "people", None)
    if people is None:
        await seed(running, tmp_path)
        sari = fake_api.user(SARI_ID, "Sari", language_code="en")
        await link(sari, language_button="🇬🇧 English", nik=SARI.people[1].nik, kk=SARI.kk)
        await sari.expect("is linked to household")
        rt = fake_api.user(RT_ID, "Pak RT", language_code="id")
        await open_bot(rt)
        people = running.people = [sari, rt, fake_api.user(STRANGER_ID, "Orang Asing")]
    return people


@pytest.mark.slow  # about 10 s
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(who=st.integers(0, 2), actions=st.lists(_ACTION, max_size=4))
# The stranger's consent screen: its language button, twice (an edit to the same text).
@example(who=2, actions=[("command", "/start"), ("button", 2), ("again", 0)])
async def test_no_update_fails(
    running_bot, fake_api, tmp_path, caplog, who: int, actions: list[tuple[str, object]]
) -> None:
    caplog.set_level(logging.ERROR)
    people = await _people(running_bot, fake_api, tmp_path)
    # What this example's actions caused (the bot and the fake are shared by every example).
    fake_api.rejected.clear()
    fake_api.internal_errors.clear()
    person = people[who]
    for kind, value in actions:
        before = _processed(running_bot)
        if kind in ("text", "command"):
            await person.send_text(str(value))
        elif kind == "forged":
            if not person.messages:
                continue
            await person.press_data(str(value))
        elif kind == "again":
            if getattr(person, "last_tap", None) is None:
                continue
            message, data = person.last_tap
            await person.press_data(data, message)
        else:
            buttons = _buttons(person)
            if not buttons:
                continue
            message, text = buttons[int(value) % len(buttons)]
            await person.press(text, message)
            person.last_tap = (message, message.find_button(text)["callback_data"])
        await _handled(running_bot, before)
    told = [m.text or "" for p in people for m in p.messages]
    assert not [t for t in told if t.startswith(SORRY)]
    assert fake_api.internal_errors == []
    # A repeated tap on an older message sometimes makes the bot edit a message to what it
    # already shows; Telegram answers "message is not modified", which delivery ignores
    # (handlers/delivery.py) and the person never sees. Every other refusal fails the test.
    assert [r for r in fake_api.rejected if r[1] != NOT_MODIFIED] == []
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []
