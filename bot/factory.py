"""Building the Bot and the Dispatcher from settings."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, BotCommandScopeDefault
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.housekeeping import DraftSweeper
from bot.outbox import OutboxSender
from bot.scheduler import SlaScheduler
from bot.settings import Settings
from handlers.middlewares import DbSessionMiddleware
from handlers.routers import create_router
from handlers.throttle import RateLimitMiddleware
from locales import SUPPORTED_LOCALES, _, use_locale


def create_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> Dispatcher:
    dp = Dispatcher()
    # Messages caused by state changes go through the outbox; whoever commits some wakes it.
    dp["outbox"] = sender = OutboxSender(sessionmaker, settings)
    # The rate limit comes first: a flood is dropped before it touches the database.
    throttle = RateLimitMiddleware(settings.rate_limit_updates, settings.rate_limit_window)
    dp.message.outer_middleware(throttle)
    dp.callback_query.outer_middleware(throttle)
    dp["upload_limit"] = int(settings.max_upload_mb * 1024 * 1024)
    middleware = DbSessionMiddleware(sessionmaker, on_enqueued=sender.wake)
    dp.message.outer_middleware(middleware)
    dp.callback_query.outer_middleware(middleware)
    dp.include_router(create_router())
    dp["policy"] = policy = settings.policy()
    sender.attach(dp)
    DraftSweeper(sessionmaker, settings, on_enqueued=sender.wake).attach(dp)
    SlaScheduler(sessionmaker, policy, settings.sla_interval, on_queued=sender.wake).attach(dp)
    return dp


def command_menu() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Start and link your household")),
        BotCommand(command="lapor", description=_("Report a change in your household")),
        BotCommand(command="status", description=_("Your reports and their state")),
        BotCommand(command="antrian", description=_("Reports waiting for your review")),
        BotCommand(command="lanjut", description=_("Continue the form you started")),
        BotCommand(command="batal", description=_("Cancel the form you are filling in")),
        BotCommand(command="umumkan", description=_("Announce to the residents (officers)")),
        BotCommand(command="undang", description=_("Invite a reviewer (officers)")),
        BotCommand(command="peran", description=_("Your reviewer roles")),
        BotCommand(command="datasaya", description=_("Get a copy of your data")),
        BotCommand(command="hapusakun", description=_("Delete your account")),
        BotCommand(command="bahasa", description=_("Change the language")),
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
