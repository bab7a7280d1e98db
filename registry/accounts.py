"""Accounts (Telegram users), linking to a household, and reviewer roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from registry.errors import DomainError, NotFound
from registry.households import household_by_kk, member_by_nik
from registry.regions import get_region
from storage.models import Account, Household, RoleGrant, utcnow

ROLES = ("rt", "rw", "lurah", "officer")
# The region level each role is granted on: RT/RW heads and lurah on a desa/kelurahan,
# officers on a kabupaten/kota (2) or a kecamatan (3).
ROLE_LEVELS = {"rt": (4,), "rw": (4,), "lurah": (4,), "officer": (2, 3)}


async def account_by_telegram_id(session: AsyncSession, telegram_id: int) -> Account | None:
    return (
        await session.execute(select(Account).where(Account.telegram_id == telegram_id))
    ).scalar_one_or_none()


async def ensure_account(
    session: AsyncSession, telegram_id: int, *, first_name: str | None = None
) -> Account:
    account = await account_by_telegram_id(session, telegram_id)
    if account is None:
        account = Account(telegram_id=telegram_id, first_name=first_name)
        session.add(account)
        await session.flush()
        await session.refresh(account, ["roles"])
    return account


async def link_account(session: AsyncSession, account: Account, nik: str, kk: str) -> Household:
    """Link the account to the household whose KK lists a living member with this NIK."""
    member = await member_by_nik(session, nik)
    household = await household_by_kk(session, kk)
    if member is None or household is None or member.household_id != household.id:
        raise NotFound(_("NIK and KK do not match a household in the registry."), code="no_match")
    if member.status != "alive":
        raise DomainError(_("This NIK belongs to a member who is no longer in the household."))
    account.member_id = member.id
    account.household_id = household.id
    account.linked_at = utcnow()
    await session.flush()
    return household


async def grant_role(
    session: AsyncSession,
    telegram_id: int,
    role: str,
    region_code: str,
    rw: int | None = None,
    rt: int | None = None,
) -> RoleGrant:
    if role not in ROLES:
        raise DomainError(_("unknown role {role}").format(role=role))
    region = await get_region(session, region_code)
    if region is None:
        raise NotFound(_("region {code} is not in the database").format(code=region_code))
    if region.level not in ROLE_LEVELS[role]:
        raise DomainError(
            _("role {role} is granted on a desa/kelurahan code")
            if role != "officer"
            else _("role officer is granted on a kabupaten/kota or kecamatan code")
        )
    if role in ("rt", "rw") and rw is None:
        raise DomainError(_("role {role} needs --rw").format(role=role))
    if role == "rt" and rt is None:
        raise DomainError(_("role rt needs --rt"))
    if role not in ("rt", "rw"):
        rw = rt = None
    if role == "rw":
        rt = None
    account = await ensure_account(session, telegram_id)
    for held in account.roles:
        if (held.role, held.region_code, held.rw, held.rt) == (role, region_code, rw, rt):
            return held
    grant = RoleGrant(account_id=account.id, role=role, region_code=region_code, rw=rw, rt=rt)
    session.add(grant)
    await session.flush()
    await session.refresh(account, ["roles"])
    return grant


def grant_area(grant: RoleGrant) -> str:
    """``16.71.01.1001 RW 2 RT 3``: where a role grant applies."""
    area = grant.region_code
    if grant.rw is not None:
        area += f" RW {grant.rw}"
    if grant.rt is not None:
        area += f" RT {grant.rt}"
    return area


class Area(Protocol):
    region_code: str
    rw: int
    rt: int


@dataclass(frozen=True)
class ReviewArea:
    """A neighbourhood (desa/kelurahan, RW, RT) where a report without a household is reviewed."""

    region_code: str
    rw: int
    rt: int


def grant_covers(grant: RoleGrant, area: Area) -> bool:
    """Whether a role grant's area contains a household or a report's area."""
    if grant.role == "officer":
        return area.region_code.startswith(grant.region_code + ".")
    if grant.region_code != area.region_code:
        return False
    if grant.role == "lurah":
        return True
    if grant.rw != area.rw:
        return False
    return grant.role == "rw" or grant.rt == area.rt
