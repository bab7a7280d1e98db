"""Errors of the fake Bot API."""

from __future__ import annotations


class TelegramError(Exception):
    """Raised inside method handlers; becomes an ``{"ok": false, ...}`` response."""

    def __init__(self, description: str, status: int = 400, retry_after: int | None = None):
        super().__init__(description)
        self.description = description
        self.status = status
        self.retry_after = retry_after


class NotInChat(LookupError):
    """What a simulated person tried to press is not in their chat (no such button or
    message); str(err) says what the chat offers instead."""
