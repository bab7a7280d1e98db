"""A local server speaking the Telegram Bot API, for end-to-end tests and the sandbox.

Self-contained: only ``aiohttp`` and the standard library are used (no pytest, no
aiogram), so ``lapor-warga sandbox`` runs the real bot against it. It holds no test
assertions: the tests' driver (``tests/driver.py``) subclasses :class:`Person` and
:class:`Message` (``FakeBotAPI.person_class`` / ``message_class``) to wait for and
assert on what the bot sends.

The real aiogram ``Bot`` talks to it over HTTP::

    api = FakeBotAPI()
    await api.start()
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(token=api.token, session=session)
    ...
    alice = api.user(1001, "Alice")
    await alice.send_text("/start")
    await api.wait_for(lambda: alice.messages)
    await alice.press("Ya")
    ...
    await bot.session.close()
    await api.stop()

Requests are validated the way Telegram validates them (message length, HTML entities,
inline keyboards, unknown chats, "message is not modified", stale callback queries...)
and rejected with the same HTTP status and description, so aiogram raises its own
exceptions (``TelegramBadRequest`` and friends).

Faults: ``fail_next`` answers the next calls of one method with an error;
``FakeBotAPI(flood_limit=30)`` enforces Telegram's global flood control (429 "retry
after N" over 30 messages in any second); ``api.outage("500" | "429" | "timeout")``
fails every request for a while. None of them has a side effect on a refused call.

Webhooks: once the bot calls ``setWebhook`` (``http://`` is accepted for loopback hosts),
the queued updates are POSTed to it as Telegram does (secret header, retries with
back-off, one update at a time per chat, at most ``max_connections`` in flight) and
``getUpdates`` answers 409. Tests can spread deliveries over several bot processes
(``api.webhook_targets``), redeliver an update (``api.redeliver``) and inspect every
attempt (``api.webhook_deliveries``); see ``fake_bot_api.webhook``.

Modules: ``server`` (HTTP routing, getUpdates, the people), ``person`` (a simulated user),
``objects`` (stored messages and files), ``messages`` and ``chat_methods`` (checking and
storing what the bot sends), ``telegram_html`` (the HTML parse mode), ``bot_settings``
(commands, menu button, names), ``webhook`` (delivery), ``faults`` (errors, outages, flood
limit), ``params``, ``limits``, ``media``, ``errors``.
"""

from fake_bot_api.errors import NotInChat, TelegramError
from fake_bot_api.faults import Outage
from fake_bot_api.limits import (
    NOT_MODIFIED,
    OUTAGE_HANG,
    OUTAGE_MODES,
    QUERY_TOO_OLD,
    WRONG_FILE_ID,
)
from fake_bot_api.media import SAMPLE_PNG, SAMPLE_VOICE, make_png, make_voice
from fake_bot_api.objects import Message, StoredFile
from fake_bot_api.person import Person
from fake_bot_api.server import FakeBotAPI
from fake_bot_api.telegram_html import HTMLParseError, parse_html, utf16_len
from fake_bot_api.webhook import WEBHOOK_STRATEGIES, WebhookDelivery

__all__ = [
    "NOT_MODIFIED",
    "OUTAGE_HANG",
    "OUTAGE_MODES",
    "QUERY_TOO_OLD",
    "SAMPLE_PNG",
    "SAMPLE_VOICE",
    "WEBHOOK_STRATEGIES",
    "WRONG_FILE_ID",
    "FakeBotAPI",
    "HTMLParseError",
    "Message",
    "NotInChat",
    "Outage",
    "Person",
    "StoredFile",
    "TelegramError",
    "WebhookDelivery",
    "make_png",
    "make_voice",
    "parse_html",
    "utf16_len",
]
