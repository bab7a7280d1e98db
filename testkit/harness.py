"""The real bot (aiogram Dispatcher + Bot over HTTP) against the fake Bot API server."""

from __future__ import annotations

from bot.runner import BotRunner
from bot.settings import load_settings
from fake_bot_api import FakeBotAPI


class RunningBot(BotRunner):
    """A :class:`BotRunner` pointed at the fake server, started once it polls."""

    def __init__(self, api: FakeBotAPI, database_url: str, **settings: object) -> None:
        # Scripted people read fast: the per-chat limit (1/s in production) would only make
        # every test wait; the sender's behaviour at the limit is tested in test_outbox.py.
        settings.setdefault("outbox_chat_rate", 1000.0)
        # Scripted people also answer faster than anyone types: the per-user rate limit
        # (20 updates in 10 s) is tested in tests/security/test_flood.py with its defaults.
        settings.setdefault("rate_limit_updates", 100_000)
        super().__init__(
            load_settings(
                bot_token=api.token,
                database_url=database_url,
                telegram_api_base=api.base_url,
                **settings,
            )
        )
        self.api = api

    async def start(self) -> None:
        await super().start()
        await self.api.wait_polling()
