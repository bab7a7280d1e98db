"""Settings from the environment and ``.env`` (pydantic-settings)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/lapor-warga.sqlite3"
DEFAULT_TELEGRAM_API_BASE = "https://api.telegram.org"

_TOKEN_RE = re.compile(r"^\d+:[^\s:]+$")
_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class SettingsError(Exception):
    """Missing or malformed configuration; the message is one line for the user."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = Field(default=None, description="Telegram bot token")
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base: str = DEFAULT_TELEGRAM_API_BASE
    # The bot's @username for invitation links (t.me/<username>?start=...); when unset the
    # CLI asks the Bot API (getMe) with BOT_TOKEN.
    bot_username: str | None = None
    default_locale: Literal["id", "en"] = "id"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # An unfinished form is reminded about once, then deleted (seconds or ISO 8601, e.g. P1D).
    draft_remind_after: timedelta = timedelta(days=1)
    draft_expire_after: timedelta = timedelta(days=7)
    sweep_interval: float = Field(default=60.0, gt=0, description="seconds between draft sweeps")
    # Sent (and finally failed) outbox messages are deleted this long after they were sent
    # or last tried, by the draft sweep's pass: their cards carry personal data.
    outbox_keep: timedelta = timedelta(days=7)
    # The outbox sender (bot/outbox.py): Telegram allows about 30 messages a second overall
    # and about one a second to one chat.
    outbox_rate: float = Field(default=30.0, gt=0, le=1000, description="messages per second")
    outbox_chat_rate: float = Field(
        default=1.0, gt=0, le=1000, description="messages per second to one chat"
    )
    outbox_poll_interval: float = Field(
        default=5.0, gt=0, le=3600, description="seconds between looks for messages to send"
    )
    # A sender's claim on a message; a crashed sender's messages are retried after it.
    # One send may take a third of it (at most 30 s) before it counts as timed out.
    outbox_lease: float = Field(
        default=90.0, ge=6, le=3600, description="seconds a claimed message stays claimed"
    )
    outbox_max_attempts: int = Field(
        default=10, ge=1, le=100, description="tries before a message is given up as failed"
    )
    # Review tiers per report type and SLA days (TOML); the bundled registry/workflow.toml
    # when unset.
    workflow_file: Path | None = None
    sla_interval: float = Field(default=60.0, gt=0, description="seconds between SLA passes")
    # Abuse resistance (handlers/throttle.py, per bot process): updates a Telegram user may
    # send per window; more are dropped before they reach the database.
    rate_limit_updates: int = Field(
        default=20, ge=1, le=100_000, description="updates per user per window"
    )
    rate_limit_window: float = Field(
        default=10.0, gt=0, le=3600, description="seconds of the rate limit's window"
    )
    # Production mode (lapor-warga run --webhook): Telegram posts updates to WEBHOOK_URL,
    # which a reverse proxy forwards to WEBHOOK_HOST:WEBHOOK_PORT; WEBHOOK_SECRET is the
    # X-Telegram-Bot-Api-Secret-Token that proves a request comes from Telegram.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # /healthz and /metrics (Prometheus) of a running bot; off unless a port is set.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # On SIGTERM: seconds to let the updates in hand finish before stopping anyway.
    shutdown_timeout: float = Field(default=30.0, gt=0, le=600)
    # Photos and documents larger than this are refused (Telegram lets bots fetch 20 MB).
    max_upload_mb: float = Field(default=10.0, gt=0, le=2000, description="largest upload, MB")
    # The web console (console/, docs/console.md): served on CONSOLE_HOST:CONSOLE_PORT by
    # `lapor-warga console`, and by `lapor-warga run` when CONSOLE_PORT is set. CONSOLE_URL
    # is its address as people open it (behind a reverse proxy): /masuk sends links to it,
    # and on https the login page offers the Telegram Login Widget and cookies are Secure.
    console_host: str = "127.0.0.1"
    console_port: int | None = Field(default=None, ge=0, le=65535)
    console_url: str | None = None
    # Evidence fetched from Telegram for the console is kept here, at most this many MB.
    console_cache_dir: Path = Path("./data/console-cache")
    console_cache_mb: float = Field(default=200.0, gt=0, le=100_000)

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            # The shape aiogram's validate_token checks, without importing aiogram
            # (2.5 s) into every CLI command.
            if not _TOKEN_RE.match(value):
                raise ValueError("not a Telegram bot token (expected 123456:ABC...)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a database URL") from exc
        driver = _DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(
                f"unsupported database {url.drivername!r} (use sqlite+aiosqlite or postgresql+asyncpg)"
            )
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("draft_remind_after", "draft_expire_after", "outbox_keep", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """``3600`` in the environment means seconds, like the ISO 8601 ``PT1H``."""
        if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
            return float(value)
        return value

    @field_validator("draft_remind_after", "draft_expire_after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @field_validator("outbox_keep")
    @classmethod
    def _an_hour_at_least(cls, value: timedelta) -> timedelta:
        # `broadcast` reads an announcement's counts from its rows after the last is final.
        if value < timedelta(hours=1):
            raise ValueError("must be at least one hour (3600 or PT1H)")
        return value

    @field_validator("draft_expire_after")
    @classmethod
    def _after_the_reminder(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        remind = info.data.get("draft_remind_after")
        if remind is not None and value <= remind:
            raise ValueError("must be longer than DRAFT_REMIND_AFTER")
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _http_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("bot_username", mode="before")
    @classmethod
    def _username(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().removeprefix("@")
            if not value:
                return None
            if not _USERNAME_RE.match(value):
                raise ValueError("not a Telegram username (5-32 letters, digits or _)")
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            parsed = urlsplit(value)
            if parsed.scheme not in ("http", "https") or not parsed.hostname or not parsed.path:
                raise ValueError(
                    "must be a full URL with a path, e.g. https://bot.example.org/telegram"
                )
        return value

    @field_validator("console_url", mode="before")
    @classmethod
    def _console_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            if not value:
                return None
            parsed = urlsplit(value)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError("must be a full URL, e.g. https://konsol.example.org")
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            # What Telegram accepts as secret_token; 16 characters at least, to be a secret.
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value):
                raise ValueError(
                    "16 to 256 letters, digits, _ or - (e.g. from: openssl rand -hex 32)"
                )
        return value

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts to: the path of WEBHOOK_URL (the proxy keeps it)."""
        return urlsplit(self.webhook_url).path if self.webhook_url else "/telegram"

    @field_validator("workflow_file")
    @classmethod
    def _readable_workflow(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value}: no such file")
        return value

    def policy(self):  # type: ignore[no-untyped-def]
        """The review workflow (registry.policy.Policy); raises SettingsError if the file is wrong."""
        from registry.errors import ConfigError
        from registry.policy import load_policy

        try:
            return load_policy(self.workflow_file)
        except ConfigError as exc:
            raise SettingsError(f"WORKFLOW_FILE: {exc}") from None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Load settings or raise SettingsError with a single readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        msg = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {msg}") from None
