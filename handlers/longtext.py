"""Messages over Telegram's 4096 characters, split at line ends.

Every answer has its own limit, but a message can gather many of them (a reviewer's
card with several questions and answers, a household with many members). Telegram
refuses a text over 4096 characters as it counts them: after the HTML is parsed, in
UTF-16 code units. Our HTML closes every tag on the line it opens, and user text in it
is escaped, so cutting between lines keeps each part valid.
"""

from __future__ import annotations

import re
from html import escape, unescape

MAX_TEXT = 4096
_TAG = re.compile(r"<[^>]*>")


def visible_length(text: str) -> int:
    """The length Telegram checks: tags removed, entities decoded, UTF-16 code units."""
    return len(unescape(_TAG.sub("", text)).encode("utf-16-le")) // 2


def _cut(line: str, limit: int) -> str:
    """A single line too long for one message: its visible text, shortened (as plain text)."""
    plain = unescape(_TAG.sub("", line)).encode("utf-16-le")[: (limit - 1) * 2]
    return escape(plain.decode("utf-16-le", errors="ignore"), quote=False) + "…"


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` as parts of at most ``limit`` visible characters, cut between lines."""
    if visible_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        length = visible_length(line)
        if length > limit:
            line = _cut(line, limit)
            length = visible_length(line)
        if current and size + 1 + length > limit:
            parts.append("\n".join(current))
            current, size = [], 0
        size += length + (1 if current else 0)
        current.append(line)
    parts.append("\n".join(current))
    # Telegram refuses an empty message: a part of blank lines only is left out.
    return [part for part in parts if unescape(_TAG.sub("", part)).strip()]
