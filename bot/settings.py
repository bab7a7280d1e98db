"""Settings from the environment and ``.env`` (pydantic-settings)."""

from __future__ import annotations

import re
from dataclasses import replace
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

    # Every field has a one-line description: scripts/env_example.py writes .env.example
    # from them (tests/test_env_example.py fails when one is missing or the file is stale);
    # docs/configuration.md says more about each.
    bot_token: SecretStr | None = Field(
        default=None,
        description="Telegram bot token from @BotFather (123456:ABC...); `run` needs it",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLite (sqlite:///path) or PostgreSQL (postgresql://user:password@host/db)",
    )
    # The connection pool (storage.db.create_engine), per process. On PostgreSQL the chat
    # lock (storage.updates.chat_connection) holds one connection for each chat with an
    # update in hand; the outbox sender, SLA pass, draft sweep and /healthz take one each
    # meanwhile. Nothing holding a connection waits for a second one, so a smaller pool
    # never deadlocks: updates then wait their turn for a connection (docs/configuration.md).
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="database connections a process keeps open (1 to 1000)",
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="connections a process may open beyond DB_POOL_SIZE when busy (0 to 1000)",
    )
    telegram_api_base: str = Field(
        default=DEFAULT_TELEGRAM_API_BASE,
        description="Bot API server base URL (a self-hosted telegram-bot-api, or Telegram's)",
    )
    # The bot's @username for invitation links (t.me/<username>?start=...); when unset the
    # CLI asks the Bot API (getMe) with BOT_TOKEN.
    bot_username: str | None = Field(
        default=None,
        description="the bot's @username for `invite create` links; unset: asked from Telegram",
    )
    default_locale: Literal["id", "en"] = Field(
        default="id",
        description="id or en: for people whose Telegram language is neither, and the CLI",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR"
    )
    # An unfinished form is reminded about once, then deleted (seconds or ISO 8601, e.g. P1D).
    draft_remind_after: timedelta = Field(
        default=timedelta(days=1),
        description="an unfinished form untouched this long gets one reminder (seconds or ISO 8601)",
    )
    draft_expire_after: timedelta = Field(
        default=timedelta(days=7),
        description="an unfinished form untouched this long is deleted (longer than the reminder)",
    )
    sweep_interval: float = Field(
        default=60.0, gt=0, description="seconds between checks for stale forms"
    )
    # Sent (and finally failed) outbox messages are deleted this long after they were sent
    # or last tried, by the draft sweep's pass: their cards carry personal data.
    outbox_keep: timedelta = Field(
        default=timedelta(days=7),
        description="sent or failed outbox messages are deleted after this (at least PT1H)",
    )
    # The outbox sender (bot/outbox.py): Telegram allows about 30 messages a second overall
    # and about one a second to one chat.
    outbox_rate: float = Field(
        default=30.0, gt=0, le=1000, description="messages per second the outbox sender sends"
    )
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
    workflow_file: Path | None = Field(
        default=None,
        description="review tiers, SLA days and reminders (TOML); unset: the bundled workflow.toml",
    )
    sla_interval: float = Field(
        default=60.0, gt=0, description="seconds between SLA passes (escalations, reminders)"
    )
    # Abuse resistance (handlers/throttle.py, per bot process): updates a Telegram user may
    # send per window; more are dropped before they reach the database.
    rate_limit_updates: int = Field(
        default=20, ge=1, le=100_000, description="messages and presses per user per window"
    )
    rate_limit_window: float = Field(
        default=10.0, gt=0, le=3600, description="seconds of the rate limit's window"
    )
    # Production mode (lapor-warga run --webhook): Telegram posts updates to WEBHOOK_URL,
    # which a reverse proxy forwards to WEBHOOK_HOST:WEBHOOK_PORT; WEBHOOK_SECRET is the
    # X-Telegram-Bot-Api-Secret-Token that proves a request comes from Telegram.
    webhook_url: str | None = Field(
        default=None,
        description="run --webhook: the public URL Telegram posts to, with a path",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="run --webhook: 16-256 letters, digits, _ or - (openssl rand -hex 32)",
    )
    webhook_host: str = Field(default="0.0.0.0", description="where run --webhook listens")
    webhook_port: int = Field(
        default=8080, ge=1, le=65535, description="the port run --webhook listens on"
    )
    # /healthz and /metrics (Prometheus) of a running bot; off unless a port is set.
    metrics_host: str = Field(default="127.0.0.1", description="where /healthz and /metrics listen")
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="port of /healthz and /metrics; unset: off"
    )
    # On SIGTERM: seconds to let the updates in hand finish before stopping anyway.
    shutdown_timeout: float = Field(
        default=30.0, gt=0, le=600, description="on SIGTERM, seconds the updates in hand may take"
    )
    # Photos and documents larger than this are refused (Telegram lets bots fetch 20 MB).
    max_upload_mb: float = Field(
        default=10.0,
        gt=0,
        le=2000,
        description="photos and documents larger than this (MB) are refused",
    )
    # A newborn's mother is at least this many years older than the baby: a younger woman
    # of the family is not offered as the mother.
    mother_min_age: int = Field(
        default=10, ge=0, le=40, description="a birth's mother is at least this many years older"
    )
    # Who controls the residents' data (UU 27/2022), named in the consent text.
    data_controller: str = Field(
        default="Dinas Sosial", min_length=2, max_length=60,
        description="who controls the residents' data, named in the consent text (2-60 characters)",
    )  # fmt: skip
    # The desa/kelurahan office contacts /bantuan shows (TOML, see registry/site.py).
    office_contacts_file: Path | None = Field(
        default=None, description="TOML file of kelurahan/desa office contacts for /bantuan"
    )
    # The web console (console/, docs/console.md): served on CONSOLE_HOST:CONSOLE_PORT by
    # `lapor-warga console`, and by `lapor-warga run` when CONSOLE_PORT is set. CONSOLE_URL
    # is its address as people open it (behind a reverse proxy): /masuk sends links to it,
    # and on https the login page offers the Telegram Login Widget and cookies are Secure.
    console_host: str = Field(default="127.0.0.1", description="where the web console listens")
    console_port: int | None = Field(
        default=None, ge=0, le=65535,
        description="port of the web console; set, `run` serves it too; unset: off",
    )  # fmt: skip
    console_url: str | None = Field(
        default=None,
        description="the console's public address (https://...), for /masuk links and the login widget",
    )
    # Evidence fetched from Telegram for the console is kept here, at most this many MB.
    console_cache_dir: Path = Field(
        default=Path("./data/console-cache"),
        description="where the console keeps evidence fetched from Telegram (mode 0600 files)",
    )
    console_cache_mb: float = Field(
        default=200.0, gt=0, le=100_000, description="the console's evidence cache, at most MB"
    )

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
            policy = load_policy(self.workflow_file)
        except ConfigError as exc:
            raise SettingsError(f"WORKFLOW_FILE: {exc}") from None
        return replace(policy, mother_min_age=self.mother_min_age)

    @field_validator("data_controller", mode="before")
    @classmethod
    def _controller(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("office_contacts_file")
    @classmethod
    def _readable_contacts(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value}: no such file")
        return value

    def site(self):  # type: ignore[no-untyped-def]
        """What the bot says about the deployment (registry.site.Site); raises
        SettingsError if the office contacts file is wrong."""
        from registry.errors import ConfigError
        from registry.site import Site, load_offices

        try:
            offices = load_offices(self.office_contacts_file) if self.office_contacts_file else {}
        except ConfigError as exc:
            raise SettingsError(f"OFFICE_CONTACTS_FILE: {exc}") from None
        return Site(self.data_controller, offices)

    @property
    def pool(self) -> dict[str, int]:
        """``storage.db.create_engine``'s pool arguments."""
        return {"pool_size": self.db_pool_size, "max_overflow": self.db_max_overflow}

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


def _example_value(value: object) -> str:
    """A default as it is written in the environment (``P1D``, ``60``, empty for unset)."""
    if value is None:
        return ""
    if isinstance(value, timedelta):
        from pydantic import TypeAdapter

        return TypeAdapter(timedelta).dump_python(value, mode="json")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


ENV_EXAMPLE_HEADER = """\
# Lapor Warga settings, every one with its default. Generated from bot/settings.py by
# scripts/env_example.py: do not edit by hand. Copy it to .env in the bot's working
# folder (or to the EnvironmentFile of deploy/'s units), uncomment what you change.
# docs/configuration.md says more about each setting and its limits.
"""


def env_example() -> str:
    """The text of ``.env.example``: each setting's description, then ``# NAME=default``."""
    lines = [ENV_EXAMPLE_HEADER]
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"{name.upper()}: no description in bot/settings.py")
        default = _example_value(field.default)
        note = "" if default or "unset" in field.description else " (default: unset)"
        lines.append(f"# {field.description}{note}\n# {name.upper()}={default}\n")
    return "\n".join(lines)
