"""Input limits that hold for every message, whatever it answers.

Each form question has its own, smaller limit (``Step.max_length``); this is the
outer bound for text that reaches no question (commands, text without an open form,
captions), and the size limit of photos and documents (``MAX_UPLOAD_MB``).
"""

from __future__ import annotations

from flows.io import Ctx, Outcome
from locales import _, format_number

MAX_MESSAGE = 4096  # characters: Telegram's own limit for a message's text


def oversized_text(ctx: Ctx) -> Outcome | None:
    """A refusal for a message whose text or caption is over :data:`MAX_MESSAGE`."""
    text = ctx.incoming.text
    if text is None or len(text) <= MAX_MESSAGE:
        return None
    message = _(
        "That message is too long: at most {n} characters. Nothing was saved; "
        "please send a shorter one."
    ).format(n=format_number(MAX_MESSAGE))
    return Outcome([ctx.reply(message)])


def megabytes(size: int) -> str:
    return format_number(round(size / (1024 * 1024), 1))


def oversized_upload(ctx: Ctx) -> str | None:
    """Why the message's photos or documents cannot be taken, if one is too big."""
    limit = ctx.upload_limit
    biggest = max((u.size or 0 for u in ctx.incoming.uploads), default=0)
    if biggest <= limit:
        return None
    return _(
        "That file is too big ({size} MB): at most {limit} MB. Please send a smaller photo or scan."
    ).format(size=megabytes(biggest), limit=megabytes(limit))
