"""Per-user rate limit: an outer middleware that runs before the database is touched.

Each Telegram user may send ``limit`` updates (messages and button presses) per
``window`` seconds; the window starts at their first update. Further updates in the
window are dropped unprocessed, and the user gets one notice per window (a button
press is answered with it instead). Users idle for a whole window are forgotten, so
memory holds only those active in the last two windows.

The count is kept in this process: with several bot processes each one counts the
updates it receives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from handlers.metrics import THROTTLED, set_outcome
from locales import _, use_locale

log = logging.getLogger(__name__)


def notice() -> str:
    return _(
        "You are sending messages too fast. Please wait a few seconds; the rest were not processed."
    )


@dataclass
class _Window:
    start: float
    count: int = 0
    warned: bool = False
    album: str | None = None  # the album (media group) last counted, and whether it passed
    album_admitted: bool = False


class RateLimitMiddleware(BaseMiddleware):
    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._users: dict[int, _Window] = {}
        self._swept = clock()
        self.dropped = 0  # updates dropped since start (for logs and tests)

    def _forget_idle(self, now: float) -> None:
        if now - self._swept < self.window:
            return
        self._swept = now
        expired = [uid for uid, w in self._users.items() if now - w.start >= self.window]
        for uid in expired:
            del self._users[uid]

    def admit(self, user_id: int, album: str | None = None) -> tuple[bool, bool]:
        """Count an update of ``user_id``: (let it through, send the notice now).

        The photos of one album (Telegram sends each as an update, at most 10) count once:
        the form takes them as one answer."""
        now = self.clock()
        self._forget_idle(now)
        state = self._users.get(user_id)
        if state is None or now - state.start >= self.window:
            state = self._users[user_id] = _Window(start=now)
        if album is not None and album == state.album:
            return state.album_admitted, False
        state.count += 1
        state.album = album
        state.album_admitted = state.count <= self.limit
        if state.count <= self.limit:
            return True, False
        self.dropped += 1
        if state.warned:
            return False, False
        state.warned = True
        return False, True

    @property
    def tracked(self) -> int:
        """How many users are remembered now."""
        return len(self._users)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        album = event.media_group_id if isinstance(event, Message) else None
        allowed, warn = self.admit(user.id, album)
        if allowed:
            return await handler(event, data)
        set_outcome(data, THROTTLED)
        if warn:
            log.info(
                "user %s sent over %s updates in %ss: dropping them", user.id, self.limit,
                self.window,
            )  # fmt: skip
            # Later dropped presses are not answered: one API call per window at most
            # (their spinner stops by itself).
            await self._warn(event, user, data.get("bot"))
        return None

    async def _warn(self, event: TelegramObject, user: User, bot: Bot | None) -> None:
        # No database lookup: the language Telegram reports for the user.
        with use_locale(user.language_code):
            text = notice()
        try:
            if isinstance(event, CallbackQuery):
                await event.answer(text)
            elif isinstance(event, Message) and event.chat.type == "private" and bot is not None:
                await bot.send_message(event.chat.id, text, parse_mode=None)
        except TelegramAPIError as exc:
            log.info("rate limit notice not delivered: %s", exc.__class__.__name__)
