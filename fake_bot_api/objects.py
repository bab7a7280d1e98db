"""What the fake stores: files and messages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


def unix_now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------------------


@dataclass
class StoredFile:
    """A file the fake knows about (sent by a Person or uploaded by the bot)."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    kind: str  # "photo" | "document" | "voice"
    file_name: str | None = None
    mime_type: str | None = None
    photo_sizes: list[dict[str, Any]] | None = None  # the PhotoSize group this file belongs to

    @property
    def file_size(self) -> int:
        return len(self.content)

    def as_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def as_voice(self, duration: int) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "duration": duration,
            "mime_type": self.mime_type or "audio/ogg",
            "file_size": self.file_size,
        }


@dataclass(eq=False)
class Message:
    """A message in a private chat, as the fake stores it.

    ``text`` is the text (or caption) exactly as the bot sent it, i.e. still with HTML
    markup when ``parse_mode`` is HTML; ``plain_text`` is what the user sees (markup
    removed, entities decoded) and ``entities`` the parsed entities.  Edits update the
    object in place: ``text``/``plain_text``/``reply_markup`` always show the latest
    version, ``edited`` counts the edits and ``history`` keeps earlier versions.
    """

    message_id: int
    chat_id: int
    text: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    photo_file_id: str | None = None
    document_file_id: str | None = None
    date: int = 0
    edited: int = 0
    plain_text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "text"  # "text" | "photo" | "document" | "voice" | "contact" | "location"
    from_bot: bool = True
    deleted: bool = False
    edit_date: int | None = None
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    document_file_name: str | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    voice: dict[str, Any] | None = None  # a voice note: file_id, duration, mime_type...
    history: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] | None = None  # for messages sent by a Person: the update payload

    @property
    def caption(self) -> str | None:
        return self.text if self.kind in ("photo", "document", "voice") else None

    def shows(self, fragment: str) -> bool:
        """True if ``fragment`` occurs in the raw text or in the visible text."""
        return any(fragment in t for t in (self.text, self.plain_text) if t is not None)

    def buttons(self) -> list[str]:
        """Texts of all inline keyboard buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button.get("text", "") for row in rows for button in row]

    def find_button(self, text: str, *, stale: bool = False) -> dict[str, Any] | None:
        """The inline button with this text, or None; ``stale`` also searches the
        keyboards of earlier versions of the message (newest first)."""
        markups = [self.reply_markup]
        if stale:
            markups += [version.get("reply_markup") for version in reversed(self.history)]
        for markup in markups:
            for row in (markup or {}).get("inline_keyboard") or []:
                for button in row:
                    if button.get("text") == text:
                        return button
        return None

    def reply_buttons(self) -> list[dict[str, Any]]:
        """Buttons of a reply keyboard, flattened; plain strings become ``{"text": ...}``."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, dict) else {"text": str(b)} for row in rows for b in row]

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))

    def describe(self) -> str:
        who = "bot" if self.from_bot else "user"
        flags = []
        if self.kind != "text":
            flags.append(self.kind)
        if self.edited:
            flags.append(f"edited x{self.edited}")
        if self.deleted:
            flags.append("deleted")
        line = f"#{self.message_id} {who}"
        if flags:
            line += f" ({', '.join(flags)})"
        line += f": {self.text!r}"
        if self.buttons():
            line += f" buttons={self.buttons()!r}"
        elif self.reply_buttons():
            line += f" keyboard={[b.get('text') for b in self.reply_buttons()]!r}"
        elif self.removes_keyboard:
            line += " [removes keyboard]"
        return line
