"""Building the Bot and the Dispatcher from settings."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any, ClassVar

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import BotCommand, BotCommandScopeDefault
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.housekeeping import DraftSweeper
from bot.outbox import SEND_TIMEOUT, OutboxSender
from bot.scheduler import SlaScheduler
from bot.settings import Settings
from flows import menus
from handlers.albums import AlbumMiddleware
from handlers.metrics import Metrics, UpdateTracker
from handlers.middlewares import DbSessionMiddleware
from handlers.ordering import ChatOrderMiddleware
from handlers.routers import OutageNotices, create_router
from handlers.throttle import RateLimitMiddleware
from locales import SUPPORTED_LOCALES, use_locale
from storage import db


class KeptModelsSession(AiohttpSession):
    """aiogram's HTTP session, holding on to the ``Response[T]`` model of every Bot API
    method it has called.

    aiogram's ``BaseSession.check_response`` builds ``Response[method.__returning__]`` for
    every answer from Telegram; pydantic keeps parametrized generic models only in a
    ``WeakValueDictionary``, so once a garbage collection has dropped the class (nothing
    else refers to it) the next call builds it again: a few milliseconds of schema building
    per rebuild, measured at about one per form step (``benchmarks/form_steps.py``; the
    upstream report: ``benchmarks/aiogram_response_rebuild.py``). Held here, for the life of
    the process and once per result type (a few dozen at most), every call finds it in
    pydantic's cache."""

    kept: ClassVar[dict[Any, Any]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        returning = method.__returning__
        if returning not in self.kept:
            self.kept[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)


def create_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    session = KeptModelsSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(engine: AsyncEngine, settings: Settings) -> Dispatcher:
    """The dispatcher with every middleware and background job, on ``engine``'s database.

    Middleware order for messages and button presses: the rate limit (a flood is dropped
    before it touches the database), album gathering, the chat's lock (one update of a
    chat at a time, across processes on PostgreSQL), then the update's session (a
    redelivered update is dropped there)."""
    sessionmaker = db.make_sessionmaker(engine)
    # No aiogram FSM: a form's state is its draft in the database (flows/drafts.py). Its
    # default MemoryStorage would keep a record for every chat ever seen, for good (it is
    # a defaultdict that reading the state fills), and a lock per update for nothing.
    dp = Dispatcher(disable_fsm=True)
    dp["sessionmaker"] = sessionmaker
    dp["metrics"] = metrics = Metrics()
    dp["tracker"] = tracker = UpdateTracker(metrics)
    dp.update.outer_middleware(tracker)
    # The first shutdown step: the updates in hand finish before the sender and the
    # background jobs stop (they may queue messages).
    dp.shutdown.register(partial(tracker.drain, settings.shutdown_timeout))
    # Messages caused by state changes go through the outbox; whoever commits some wakes it.
    dp["outbox"] = sender = OutboxSender(
        sessionmaker,
        settings,
        lease=timedelta(seconds=settings.outbox_lease),
        send_timeout=min(SEND_TIMEOUT, settings.outbox_lease / 3),  # a send ends within its claim
        metrics=metrics,
    )
    throttle = RateLimitMiddleware(settings.rate_limit_updates, settings.rate_limit_window)
    order = ChatOrderMiddleware(engine)
    session = DbSessionMiddleware(sessionmaker, on_enqueued=sender.wake)
    dp.message.outer_middleware(throttle)
    dp.message.outer_middleware(AlbumMiddleware())
    dp.message.outer_middleware(order)
    dp.message.outer_middleware(session)
    dp.callback_query.outer_middleware(throttle)
    dp.callback_query.outer_middleware(order)
    dp.callback_query.outer_middleware(session)
    dp["upload_limit"] = int(settings.max_upload_mb * 1024 * 1024)
    dp["console_url"] = settings.console_url  # /masuk's links
    dp["outage_notices"] = OutageNotices()
    dp.include_router(create_router())
    dp["policy"] = policy = settings.policy()
    dp["site"] = settings.site()
    sender.attach(dp)
    DraftSweeper(sessionmaker, settings, on_enqueued=sender.wake).attach(dp)
    SlaScheduler(sessionmaker, policy, settings.sla_interval, on_queued=sender.wake).attach(dp)
    return dp


def command_menu() -> list[BotCommand]:
    """The default "/" menu: a resident's (each account then gets its own chat's menu by
    role and language, flows/menus.py; reviewers' commands are never in the default)."""
    return [
        BotCommand(command=name, description=str(description))
        for name, description in menus.RESIDENT_COMMANDS
    ]


async def set_commands(bot: Bot, default_locale: str) -> None:
    """The command menu in every supported language, plus the default one."""
    for locale in SUPPORTED_LOCALES:
        with use_locale(locale):
            await bot.set_my_commands(
                command_menu(), scope=BotCommandScopeDefault(), language_code=locale
            )
    with use_locale(default_locale):
        await bot.set_my_commands(command_menu(), scope=BotCommandScopeDefault())
