"""Channel-neutral messages in and out of the conversation engine.

Adapters (``handlers/`` for Telegram) turn updates into :class:`Incoming` and
send each :class:`Reply`; nothing here knows about aiogram.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from registry.policy import DEFAULT_POLICY, Policy
from registry.site import DEFAULT_SITE, Site

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.models import Account

MAX_CALLBACK_BYTES = 64
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # bytes; MAX_UPLOAD_MB sets it


@dataclass(frozen=True)
class Button:
    text: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"button data over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass
class Reply:
    chat_id: int
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    contact_button: str | None = None  # a reply-keyboard button sharing the user's own contact
    location_button: str | None = None  # a reply-keyboard button sending the user's location
    remove_keyboard: bool = False
    menu: list[list[str]] | None = None  # a persistent reply keyboard (the main menu)
    # The chat's "/" command menu: [[command, description], ...]; [] puts back the bot's
    # default menu. Such a reply sends no message.
    commands: list[list[str]] | None = None
    photo: str | None = None  # a photo's file id: sent as a photo with the text as caption
    document: str | None = None  # a document's file id: sent as a document with the text as caption
    voice: str | None = None  # a voice note's file id, sent with the text as caption
    edit_message_id: int | None = None  # replace that message instead of sending a new one
    # A file made for this reply (e.g. /datasaya's JSON): sent as a document named
    # ``file_name`` with the text as caption. Sent directly only, never through the outbox.
    file_name: str | None = None
    file_data: bytes | None = None
    # The report this message is about (a reviewer's card, its attachments, the arrival
    # note, a status update): stored beside the outbox row, not in its message, so that
    # deleting the reporter's account finds and scrubs it (registry/privacy.py).
    about_report: int | None = None

    def to_message(self) -> dict[str, Any]:
        """The reply as JSON-ready data (an outbox row's ``message``), without the chat."""
        if self.file_data is not None:
            raise ValueError(
                "a reply carrying file content is sent directly, not through the outbox"
            )
        data = asdict(self)
        del data["chat_id"], data["about_report"]
        kept = {key: value for key, value in data.items() if value not in (None, False, [])}
        if self.commands == []:
            kept["commands"] = []  # "back to the default menu" is a message of its own
        return kept

    @classmethod
    def from_message(cls, chat_id: int, data: dict[str, Any]) -> Reply:
        buttons = [[Button(**b) for b in row] for row in data.get("buttons", [])]
        return cls(chat_id=chat_id, **{**data, "buttons": buttons})


@dataclass(frozen=True)
class Contact:
    phone: str
    user_id: int | None


@dataclass(frozen=True)
class Upload:
    kind: str  # "photo", "document" or "voice" (a voice note)
    file_id: str
    unique_id: str
    size: int | None = None  # bytes, as Telegram reports it (None when it does not say)
    duration: int | None = None  # seconds, for a voice note


@dataclass
class Incoming:
    user_id: int
    chat_id: int
    first_name: str | None = None
    language_code: str | None = None
    text: str | None = None
    contact: Contact | None = None
    uploads: list[Upload] = field(default_factory=list)  # one message, or a whole album
    location: tuple[float, float] | None = None  # latitude, longitude
    callback: str | None = None
    message_id: int | None = None  # the message that carried the pressed button

    @property
    def files(self) -> list[Upload]:
        """The photos and documents (evidence); voice notes are answers, not evidence."""
        return [u for u in self.uploads if u.kind != "voice"]

    @property
    def voice(self) -> Upload | None:
        return next((u for u in self.uploads if u.kind == "voice"), None)


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    notice: str | None = None  # short answer to a button press
    alert: bool = False

    def extend(self, other: Outcome) -> Outcome:
        self.replies.extend(other.replies)
        self.notice = self.notice or other.notice
        self.alert = self.alert or other.alert
        return self


@dataclass
class Ctx:
    """Everything a flow needs for one update: the session is the update's own."""

    session: AsyncSession
    incoming: Incoming
    account: Account | None
    policy: Policy = DEFAULT_POLICY  # the review workflow's configuration (WORKFLOW_FILE)
    upload_limit: int = DEFAULT_UPLOAD_LIMIT  # largest photo or document accepted, in bytes
    bot_username: str | None = None  # for deep links (t.me/<bot>?start=...)
    site: Site = DEFAULT_SITE  # the data controller and office contacts (settings)
    console_url: str | None = None  # the web console's address (CONSOLE_URL), for /masuk

    def reply(self, text: str, **kwargs: object) -> Reply:
        return Reply(chat_id=self.incoming.chat_id, text=text, **kwargs)  # type: ignore[arg-type]
