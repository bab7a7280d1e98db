"""``lapor-warga roles``: grant, list and revoke reviewer roles."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.core import EXIT_CONFIG, EXIT_OK, CliError, Handler, add_group, in_session
from locales import _
from registry.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings

NAME = "roles"

ROLES = ["rt", "rw", "lurah", "officer"]  # what an invitation can give
GRANTABLE = [*ROLES, "operator", "admin"]
REGION_HELP = (
    "desa/kelurahan code for rt, rw, lurah and operator; kabupaten/kota or kecamatan code "
    "for officer; kabupaten/kota code for admin"
)


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, NAME, help="reviewer roles")
    grant = actions.add_parser("grant", help="give a Telegram user a reviewer role in an area")
    grant.add_argument("--telegram-id", type=int, required=True)
    grant.add_argument(
        "--role",
        choices=GRANTABLE,
        required=True,
        help="operator: a village's operator in the web console (sees, decides nothing); "
        "admin: manages grants and reads the audit log in the web console",
    )
    grant.add_argument("--region", required=True, help=REGION_HELP)
    grant.add_argument("--rw", type=int)
    grant.add_argument("--rt", type=int)
    r_list = actions.add_parser(
        "list", help="active role grants: id, Telegram id, role, area, date granted"
    )
    r_list.add_argument(
        "--region", metavar="CODE", help="only grants in this region (itself or anything under it)"
    )
    revoke = actions.add_parser(
        "revoke", help="end a role grant now (its holder can no longer decide)"
    )
    revoke.add_argument("grant_id", type=int, metavar="GRANT_ID", help="the id `roles list` shows")


async def roles_grant(settings: Settings, args: argparse.Namespace) -> int:
    from flows import menus
    from registry import audit
    from registry.accounts import grant_area, grant_role
    from storage.models import Account

    async def work(session: AsyncSession) -> int:
        try:
            grant = await grant_role(
                session, args.telegram_id, args.role, args.region, args.rw, args.rt
            )
        except DomainError as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        holder = await session.get(Account, grant.account_id)
        audit.record(
            session, "role.grant", by=audit.CLI, subject=holder,
            grant_id=grant.id, role=grant.role, area=grant_area(grant),
        )  # fmt: skip
        await menus.post_refresh(session, holder)  # their "/" menu gains the reviewer commands
        print(
            _("Granted {role} for {area} to Telegram user {id}.").format(
                role=grant.role, area=grant_area(grant), id=args.telegram_id
            )
        )
        return EXIT_OK

    return await in_session(settings, work)


async def roles_list(settings: Settings, args: argparse.Namespace) -> int:
    from registry.accounts import grant_area
    from registry.invites import list_grants

    async def work(session: AsyncSession) -> int:
        grants = await list_grants(session, args.region)
        if not grants:
            print(_("No active role grants."))
        for grant in grants:
            print(
                "\t".join(
                    [
                        str(grant.id), str(grant.account.telegram_id), grant.role,
                        grant_area(grant), grant.granted_at.date().isoformat(),
                    ]
                )
            )  # fmt: skip
        return EXIT_OK

    return await in_session(settings, work)


async def roles_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from flows import menus
    from registry.accounts import grant_area
    from registry.audit import CLI
    from registry.invites import revoke_grant

    async def work(session: AsyncSession) -> int:
        try:
            grant = await revoke_grant(session, args.grant_id, by=CLI)
        except DomainError as exc:
            raise CliError(str(exc)) from None
        await menus.post_refresh(session, grant.account)  # their "/" menu loses them
        print(
            _("Revoked {role} for {area} of Telegram user {id}.").format(
                role=grant.role, area=grant_area(grant), id=grant.account.telegram_id
            )
        )
        return EXIT_OK

    return await in_session(settings, work)


HANDLERS: dict[str | None, Handler] = {
    "grant": roles_grant,
    "list": roles_list,
    "revoke": roles_revoke,
}
