"""Fault injection: one-off errors (``fail_next``), outages and Telegram's flood limit."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from aiohttp import web

from fake_bot_api.errors import TelegramError
from fake_bot_api.limits import FLOOD_COUNTED_METHODS, OUTAGE_HANG, OUTAGE_MODES
from fake_bot_api.params import Params

if TYPE_CHECKING:
    from fake_bot_api.server import FakeBotAPI


class Outage:
    """A failure window of a :class:`FakeBotAPI` (made by :meth:`FakeBotAPI.outage`).

    While it is active every request, whatever its method or token, is answered by the
    failure instead of the method, so nothing happens: no message is stored, getUpdates
    confirms and delivers nothing. It ends after its ``seconds``, on :meth:`end`, or when
    a ``with`` block around it exits. ``requests`` lists the methods it answered."""

    def __init__(
        self,
        api: FakeBotAPI,
        mode: str,
        seconds: float | None,
        retry_after: int | None,
        hang: float,
    ) -> None:
        if mode not in OUTAGE_MODES:
            raise ValueError(f"outage mode must be one of {OUTAGE_MODES}, not {mode!r}")
        if seconds is not None and seconds <= 0:
            raise ValueError("an outage lasts a positive number of seconds")
        self.api = api
        self.mode = mode
        self.retry_after = retry_after
        self.hang = hang
        self.started = api.clock()
        self.until = None if seconds is None else self.started + seconds
        self.ended = False
        self.requests: list[str] = []

    @property
    def active(self) -> bool:
        return not self.ended and (self.until is None or self.api.clock() < self.until)

    def end(self) -> None:
        self.ended = True
        self.api._notify()

    def __enter__(self) -> Outage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def _retry_after(self) -> int:
        if self.retry_after is not None:
            return self.retry_after
        if self.until is None:
            return 1
        return max(1, math.ceil(self.until - self.api.clock()))

    async def answer(self, method: str, request: web.Request) -> web.StreamResponse:
        self.requests.append(method)
        if self.mode == "500":
            return self.api._error(method, 500, "Internal Server Error")
        if self.mode == "429":
            retry_after = self._retry_after()
            return self.api._error(
                method, 429, f"Too Many Requests: retry after {retry_after}", retry_after
            )
        # "timeout": no answer. Held until the client gives up (aiohttp then cancels this
        # handler), the server stops, or ``hang`` seconds pass; then the connection is
        # dropped without a response.
        await self.api.wait_until(lambda: self.api._closing, self.hang)
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError


class FaultsMixin:
    """The fault controls of :class:`~fake_bot_api.server.FakeBotAPI`."""

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with this error (no side effects)."""
        key = method.lower()
        self._failures.setdefault(key, []).extend([(status, description, retry_after)] * count)

    def outage(
        self,
        mode: str,
        seconds: float | None = None,
        *,
        retry_after: int | None = None,
        hang: float = OUTAGE_HANG,
    ) -> Outage:
        """Fail every request (getUpdates too) from now on, without side effects, for
        ``seconds``, or until ``end()`` or the end of a ``with`` block around it:

        * ``"500"``: HTTP 500 "Internal Server Error";
        * ``"429"``: "Too Many Requests: retry after N", N = ``retry_after``, else the
          seconds left of the outage rounded up (1 when it has no end);
        * ``"timeout"``: no answer; the request is held until the client gives up, the
          server stops, or ``hang`` seconds pass, and then dropped.

        A new outage ends the current one. ::

            with api.outage("500"):
                ...  # every call fails
            api.outage("timeout", seconds=3)  # ends by itself
        """
        current = self.current_outage
        if current is not None:
            current.end()
        outage = Outage(self, mode, seconds, retry_after, hang)
        self.outages.append(outage)
        return outage

    @property
    def current_outage(self) -> Outage | None:
        if self.outages and self.outages[-1].active:
            return self.outages[-1]
        return None

    @staticmethod
    def _flood_cost(method: str, p: Params) -> int:
        """How many messages a call counts for the flood limit (0: not counted)."""
        if method not in FLOOD_COUNTED_METHODS:
            return 0
        if method in ("sendmediagroup", "copymessages", "forwardmessages"):
            try:
                items = p.get_json("media" if method == "sendmediagroup" else "message_ids")
            except TelegramError:
                items = None
            return len(items) if isinstance(items, list) and items else 1
        return 1

    def _flood_admit(self, cost: int) -> int | None:
        """Count ``cost`` messages now, or return the seconds to wait (for a 429).

        A sliding window: at most ``flood_limit`` messages in any one second. Over it,
        the call is refused with "retry after N" (the seconds until the window has room,
        rounded up, at least 1), and, as Telegram does, every counted call is refused
        until those N seconds have passed. A refused call is not counted; an admitted
        one is, whether or not it then succeeds."""
        if not cost or self.flood_limit is None:
            return None
        now = self.clock()
        window = self._flood_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if now < self._flood_until:
            return max(1, math.ceil(self._flood_until - now))
        if not window or len(window) + cost <= self.flood_limit:
            window.extend([now] * cost)
            return None
        # The window has room once enough of its oldest messages are a second old.
        must_expire = min(len(window), math.ceil(len(window) + cost - self.flood_limit))
        wait = max(1, math.ceil(window[must_expire - 1] + 1.0 - now))
        self._flood_until = now + wait
        return wait
