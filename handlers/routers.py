"""aiogram routers: each handler turns an update into one flow call."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, ErrorEvent, Message
from sqlalchemy.ext.asyncio import AsyncSession

from flows import app, broadcast, invites, privacy
from flows.io import DEFAULT_UPLOAD_LIMIT, Ctx, Incoming, Outcome
from handlers.delivery import (
    commit_and_send,
    incoming_from_callback,
    incoming_from_message,
)
from locales import _, use_locale
from registry.policy import Policy
from registry.site import DEFAULT_SITE, Site
from storage.models import Account
from storage.updates import is_outage

log = logging.getLogger(__name__)

Flow = Callable[[Ctx], Awaitable[Outcome]]

COMMANDS: dict[str, Flow] = {
    "lapor": app.report_menu,
    "status": app.status,
    "bansos": app.aid_check,
    "bantuan": app.help_menu,
    "help": app.help_menu,
    "antrian": app.review_queue,
    "batal": app.cancel,
    "lanjut": app.resume,
    "bahasa": app.language_menu,
    "umumkan": broadcast.start,
    "undang": invites.invite,
    "peran": invites.roles,
    "datasaya": privacy.export_data,
    "hapusakun": privacy.ask_delete,
    "masuk": app.console_link,
}


async def _ctx(
    incoming: Incoming,
    bot: Bot,
    session: AsyncSession,
    account: Account | None,
    policy: Policy,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    site: Site = DEFAULT_SITE,
    console_url: str | None = None,
) -> Ctx:
    username = (await bot.me()).username  # cached by aiogram after the first call
    return Ctx(
        session, incoming, account, policy, upload_limit=upload_limit, bot_username=username,
        site=site,
        console_url=console_url,
    )  # fmt: skip


async def _run(
    flow: Flow,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    account: Account | None,
    policy: Policy,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    site: Site = DEFAULT_SITE,
    console_url: str | None = None,
) -> None:
    incoming = incoming_from_message(message)
    ctx = await _ctx(incoming, bot, session, account, policy, upload_limit, site, console_url)
    await commit_and_send(bot, session, await app.run(ctx, flow))


def _command_handler(flow: Flow) -> Callable[..., Awaitable[None]]:
    async def handler(
        message: Message,
        bot: Bot,
        session: AsyncSession,
        account: Account | None,
        policy: Policy,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        site: Site = DEFAULT_SITE,
        console_url: str | None = None,
    ) -> None:
        await _run(flow, message, bot, session, account, policy, upload_limit, site, console_url)

    return handler


async def on_message(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    account: Account | None,
    policy: Policy,
    album: list[Message] | None = None,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    site: Site = DEFAULT_SITE,
) -> None:
    incoming = incoming_from_message(message, album)
    ctx = await _ctx(incoming, bot, session, account, policy, upload_limit, site)
    await commit_and_send(bot, session, await app.run(ctx, app.message))


async def on_button(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    account: Account | None,
    policy: Policy,
    site: Site = DEFAULT_SITE,
) -> None:
    ctx = await _ctx(incoming_from_callback(query), bot, session, account, policy, site=site)
    data = query.data or ""
    outcome = await app.run(ctx, lambda ctx: app.button(ctx, data))
    await commit_and_send(bot, session, outcome, query)


class OutageNotices:
    """Who was told about a database outage lately: once a minute per chat, however many
    updates (or Telegram's redeliveries of them) fail meanwhile."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._told: dict[int, float] = {}

    def due(self, chat_id: int) -> bool:
        now = time.monotonic()
        self._told = {c: t for c, t in self._told.items() if now - t < self.every}
        if chat_id in self._told:
            return False
        self._told[chat_id] = now
        return True


def _outage_text(redelivered: bool) -> str:
    if redelivered:
        return _(
            "The service cannot reach its database for a moment. Your message is kept and "
            "will be answered as soon as it is back."
        )
    return _(
        "The service cannot reach its database for a moment. Nothing you saved was lost; "
        "please send your last message again in a few minutes."
    )


async def on_error(
    event: ErrorEvent,
    bot: Bot,
    outage_notices: OutageNotices | None = None,
    redelivered: bool = False,
) -> Any:
    """The apology for a failed update. A database outage is told apart: the person
    hears it once a minute, and with webhooks (``redelivered``) the error goes on to the
    webhook server, which answers 503 so that Telegram delivers the update again later."""
    outage = is_outage(event.exception)
    if outage:
        log.error("update %s: the database is unreachable (%s)", event.update.update_id,
                  event.exception.__class__.__name__)  # fmt: skip
    else:
        log.error(
            "update %s failed: %s", event.update.update_id, event.exception.__class__.__name__,
            exc_info=event.exception,
        )  # fmt: skip
    chat, user = None, None
    if event.update.message is not None:
        chat, user = event.update.message.chat.id, event.update.message.from_user
    elif event.update.callback_query is not None:
        user = event.update.callback_query.from_user
        chat = user.id
    tell = chat is not None and (not outage or outage_notices is None or outage_notices.due(chat))
    if tell:
        # Outside the session middleware (which may be what failed): the language
        # Telegram reports for the person.
        with use_locale(user.language_code if user else None):
            if outage:
                text = _outage_text(redelivered)
            else:
                text = _("Sorry, something went wrong. Nothing was lost; please try again.")
        try:
            await bot.send_message(chat, text)
        except Exception:
            log.warning("could not tell chat %s about the failure", chat)
    return UNHANDLED if outage and redelivered else True


def create_router() -> Router:
    """A fresh router with every handler (one per dispatcher)."""
    router = Router(name="lapor-warga")
    private = F.chat.type == "private"
    router.message.register(_command_handler(app.start), CommandStart(), private)
    for name, flow in COMMANDS.items():
        router.message.register(_command_handler(flow), Command(name), private)
    router.message.register(on_message, private)
    router.callback_query.register(on_button, F.data)
    router.errors.register(on_error)
    return router
