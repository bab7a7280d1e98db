"""``lapor-warga invite``: single-use invitation links to reviewer roles."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.core import EXIT_CONFIG, EXIT_OK, CliError, Handler, add_group, in_session
from bot.cli.roles import REGION_HELP, ROLES
from locales import _
from registry.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings

NAME = "invite"


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, NAME, help="single-use invitation links to reviewer roles")
    create_help = (
        "print a t.me link that gives one person a reviewer role once it is opened; "
        "needs BOT_USERNAME, or BOT_TOKEN to ask Telegram for the bot's username"
    )
    i_create = actions.add_parser("create", help=create_help, description=create_help)
    i_create.add_argument("--role", choices=ROLES, required=True)
    i_create.add_argument("--region", required=True, help=REGION_HELP)
    i_create.add_argument("--rw", type=int, help="needed for rt and rw")
    i_create.add_argument("--rt", type=int, help="needed for rt")
    i_create.add_argument(
        "--days", type=int, default=7, help="days the link stays valid, 1 to 30 (default 7)"
    )


async def _bot_username(settings: Settings) -> str:
    """BOT_USERNAME, or the username Telegram (TELEGRAM_API_BASE) gives for BOT_TOKEN."""
    if settings.bot_username:
        return settings.bot_username
    if settings.bot_token is None:
        raise CliError(
            _("Set BOT_USERNAME (the bot's @username) or BOT_TOKEN to print invitation links."),
            EXIT_CONFIG,
        )
    # aiogram alone takes seconds to import: only when Telegram must be asked.
    from aiogram.exceptions import TelegramAPIError

    from bot.factory import create_bot

    bot = create_bot(settings)
    try:
        me = await bot.get_me()
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        raise CliError(
            _("Cannot ask Telegram for the bot's username ({error}); set BOT_USERNAME.").format(
                error=exc.__class__.__name__
            ),
            EXIT_CONFIG,
        ) from None
    finally:
        await bot.session.close()
    if not me.username:
        raise CliError(_("The bot has no username; set BOT_USERNAME."), EXIT_CONFIG)
    return me.username


async def invite_create(settings: Settings, args: argparse.Namespace) -> int:
    from flows.invites import deep_link
    from registry.accounts import grant_area
    from registry.audit import CLI
    from registry.invites import create_invite

    username = await _bot_username(settings)

    async def work(session: AsyncSession) -> int:
        try:
            invite, code = await create_invite(
                session, args.role, args.region, args.rw, args.rt,
                created_by=None, days=args.days, by=CLI,
            )  # fmt: skip
        except DomainError as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        print(
            _("Invitation for {role} in {area}, single use, valid until {expiry} UTC:").format(
                role=invite.role,
                area=grant_area(invite),
                expiry=invite.expires_at.isoformat(sep=" ", timespec="minutes"),
            )
        )
        print(deep_link(username, code))
        return EXIT_OK

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {"create": invite_create}
