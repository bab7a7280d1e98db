"""The environment of a ``lapor-warga run`` subprocess pointed at a fake Bot API server
(the production tests' and the webhook benchmark's bot processes)."""

from __future__ import annotations

import os
from pathlib import Path

from fake_bot_api import FakeBotAPI

REPO = Path(__file__).resolve().parents[1]


def webhook_url(port: int) -> str:
    """Where a bot process started with ``bot_env(api, url, port, ...)`` takes webhook updates."""
    return f"http://127.0.0.1:{port}/telegram"


def bot_env(
    api: FakeBotAPI,
    database_url: str,
    port: int,
    metrics_port: int,
    *,
    secret: str,
    **settings: object,
) -> dict[str, str]:
    """Environment variables for ``python -m bot.cli run [--webhook]``: this checkout's
    code, the fake's token and address, the database, the webhook on 127.0.0.1:``port``
    (used with ``--webhook``), the metrics/health server on ``metrics_port``; then
    ``settings`` (``name=value``, the name upper-cased), which override any of these."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE": api.base_url,
        "DATABASE_URL": database_url,
        "WEBHOOK_URL": webhook_url(port),
        "WEBHOOK_SECRET": secret,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "METRICS_PORT": str(metrics_port),
        # Scripted people answer faster than anyone: no per-chat spacing, no flood limit.
        "OUTBOX_CHAT_RATE": "1000",
        "RATE_LIMIT_UPDATES": "100000",
        **{key.upper(): str(value) for key, value in settings.items()},
    }
