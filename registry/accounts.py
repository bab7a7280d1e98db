"""Accounts (Telegram users), linking to a household, and reviewer roles."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from locales import _, format_time, local_time, zone_name
from registry.errors import DomainError, NotFound
from registry.households import MAX_RW_RT, household_by_kk, member_by_nik
from registry.regions import get_region, remember_household_region
from storage.models import Account, Household, Invite, LinkAttempt, RoleGrant, utcnow
from storage.updates import was_processed

ROLES = ("rt", "rw", "lurah", "officer", "operator", "admin")
# The region level each role is granted on: RT/RW heads, lurah and the village operator on
# a desa/kelurahan, officers on a kabupaten/kota (2) or a kecamatan (3), the console's
# administrator on a kabupaten/kota. An operator or admin decides no tier: they see
# the reports of their area in the web console (console/).
ROLE_LEVELS = {
    "rt": (4,), "rw": (4,), "lurah": (4,), "officer": (2, 3), "operator": (4,), "admin": (2,),
}  # fmt: skip
# Roles whose area is a whole region and everything under it.
WIDE_ROLES = ("officer", "admin")


async def account_by_telegram_id(session: AsyncSession, telegram_id: int) -> Account | None:
    return (
        await session.execute(select(Account).where(Account.telegram_id == telegram_id))
    ).scalar_one_or_none()


@functools.cache
def _account_statement(with_update: bool) -> Select[Any]:
    """:func:`account_for_update`'s statement, built once per variant: the values come as
    parameters (``telegram_id``, ``update_id``), so SQLAlchemy neither builds it nor
    computes its cache key again on every update."""
    one = select(literal(1).label("one")).subquery()
    done = was_processed(bindparam("update_id")) if with_update else literal(False)
    return (
        select(done.label("processed"), Account, Household.region_code)
        .select_from(one)
        .outerjoin(Account, Account.telegram_id == bindparam("telegram_id"))
        .outerjoin(Household, Household.id == Account.household_id)
        .options(joinedload(Account.roles))
    )


async def account_for_update(
    session: AsyncSession, telegram_id: int, update_id: int | None = None
) -> tuple[bool, Account | None]:
    """Whether update ``update_id`` was processed before, and the account of the person it
    comes from, in one statement (``storage.updates.processed``'s check as a column).

    The account comes with its roles (every update needs them: the chat's command menu
    depends on them, ``flows/menus.py``) and its household's region code (the zone its
    times are shown in, ``registry.regions.zone_for``), both joined instead of read by
    statements of their own. No account: ``(processed, None)``."""
    if update_id is None:
        result = await session.execute(_account_statement(False), {"telegram_id": telegram_id})
    else:
        result = await session.execute(
            _account_statement(True), {"telegram_id": telegram_id, "update_id": update_id}
        )
    processed, account, region_code = result.unique().one()
    if account is not None and account.household_id is not None and region_code is not None:
        remember_household_region(session, account.household_id, region_code)
    return bool(processed), account


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


async def record_consent(
    session: AsyncSession, telegram_id: int, *, locale: str, first_name: str | None = None
) -> Account | None:
    """The person agreed to the consent text: their account is created now (or, for a
    reviewer granted a role from the command line, the existing row is kept) and records
    when they agreed and the language they read the text in.

    None if the account had agreed already: a second tap on the button, perhaps at the
    same moment as the first (the row is created and marked once)."""
    account = await account_by_telegram_id(session, telegram_id)
    if account is None:
        try:
            async with session.begin_nested():
                session.add(Account(telegram_id=telegram_id, first_name=first_name))
        except IntegrityError:
            pass  # a simultaneous tap created it
        account = await account_by_telegram_id(session, telegram_id)
        assert account is not None
    marked = await session.execute(
        update(Account)
        .where(Account.id == account.id, Account.consented_at.is_(None))
        .values(
            consented_at=utcnow(),
            locale=locale,
            first_name=func.coalesce(Account.first_name, first_name),
        )
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        return None
    await session.refresh(account)
    return account


# Five failed NIK + KK tries within an hour lock linking until an hour after the first of them.
LINK_TRIES = 5
LINK_LOCK = timedelta(hours=1)


class LinkLocked(DomainError):
    """Too many failed NIK + KK tries: no linking, even with the right numbers, until ``until``
    (naive UTC)."""

    code = "link_locked"

    def __init__(self, until: datetime, now: datetime | None = None) -> None:
        self.until = until
        minutes = max(1, math.ceil((until - (now or utcnow())).total_seconds() / 60))
        shown = f"{format_time(local_time(until))} {zone_name()}"
        super().__init__(
            _(
                "Too many tries with a NIK and KK that do not match: for your safety, linking "
                "your account is locked until {time} (in {minutes} min). Meanwhile you can "
                "still report a household missing from the registry with /lapor."
            ).format(time=shown, minutes=minutes)
        )


async def link_locked_until(
    session: AsyncSession, account: Account, now: datetime | None = None
) -> datetime | None:
    """When linking opens again for the account, or None if it is open now."""
    now = now or utcnow()
    recent = (
        (
            await session.execute(
                select(LinkAttempt.created_at)
                .where(
                    LinkAttempt.account_id == account.id, LinkAttempt.created_at > now - LINK_LOCK
                )
                .order_by(LinkAttempt.created_at.desc())
                .limit(LINK_TRIES)
            )
        )
        .scalars()
        .all()
    )
    if len(recent) < LINK_TRIES:
        return None
    return min(recent) + LINK_LOCK


async def link_account(session: AsyncSession, account: Account, nik: str, kk: str) -> Household:
    """Link the account to the household whose KK lists a living member with this NIK.

    Every failed try is recorded (:class:`LinkAttempt`); the fifth within an hour locks
    linking (:class:`LinkLocked`), and a locked account cannot link even with the right
    numbers until the hour is over."""
    now = utcnow()
    until = await link_locked_until(session, account, now)
    if until is not None:
        raise LinkLocked(until, now)
    member = await member_by_nik(session, nik)
    household = await household_by_kk(session, kk)
    failure: DomainError | None = None
    if member is None or household is None or member.household_id != household.id:
        failure = NotFound(
            _("NIK and KK do not match a household in the registry."), code="no_match"
        )
    elif member.status != "alive":
        failure = DomainError(_("This NIK belongs to a member who is no longer in the household."))
    if failure is not None:
        session.add(LinkAttempt(account_id=account.id, created_at=now))
        await session.flush()
        until = await link_locked_until(session, account, now)
        raise failure if until is None else LinkLocked(until, now)
    holder = await _holder_of(session, member.id, account)
    if holder is None:
        try:
            async with session.begin_nested():  # the unique index decides a simultaneous link
                await session.execute(
                    update(Account)
                    .where(Account.id == account.id)
                    .values(member_id=member.id, household_id=household.id, linked_at=now)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            holder = await _holder_of(session, member.id, account)
    if holder is not None:
        session.add(LinkAttempt(account_id=account.id, created_at=now))
        await session.flush()
        raise AlreadyLinked(holder)
    await session.refresh(account, ["member_id", "household_id", "linked_at"])
    return household


class AlreadyLinked(DomainError):
    """The member is linked to another Telegram account (``holder``): one account per member."""

    code = "already_linked"

    def __init__(self, holder: Account) -> None:
        self.holder = holder
        super().__init__(
            _(
                "This person is already linked to another Telegram account. One person can "
                "use only one account. Did you change your phone? Send /hapusakun from the "
                "old account, or ask your Ketua RT for help."
            )
        )


async def _holder_of(session: AsyncSession, member_id: int, account: Account) -> Account | None:
    """Another account already linked as the member, if any."""
    stmt = select(Account).where(Account.member_id == member_id, Account.id != account.id)
    return (await session.execute(stmt)).scalars().first()


async def check_role_area(
    session: AsyncSession, role: str, region_code: str, rw: int | None, rt: int | None
) -> tuple[int | None, int | None]:
    """Check that ``role`` can be held on this area; returns the (rw, rt) the role keeps
    (a lurah or officer has neither, an RW head no RT)."""
    if role not in ROLES:
        raise DomainError(_("unknown role {role}").format(role=role))
    region = await get_region(session, region_code)
    if region is None:
        raise NotFound(_("region {code} is not in the database").format(code=region_code))
    if region.level not in ROLE_LEVELS[role]:
        if role == "officer":
            raise DomainError(_("role officer is granted on a kabupaten/kota or kecamatan code"))
        if role == "admin":
            raise DomainError(_("role admin is granted on a kabupaten/kota code"))
        raise DomainError(_("role {role} is granted on a desa/kelurahan code").format(role=role))
    if role in ("rt", "rw") and rw is None:
        raise DomainError(_("role {role} needs --rw").format(role=role))
    if role == "rt" and rt is None:
        raise DomainError(_("role rt needs --rt"))
    if role not in ("rt", "rw"):
        rw = rt = None
    if role == "rw":
        rt = None
    if rw is not None and not 1 <= rw <= MAX_RW_RT:
        raise DomainError(_("rw must be a number from 1 to {n}").format(n=MAX_RW_RT))
    if rt is not None and not 1 <= rt <= MAX_RW_RT:
        raise DomainError(_("rt must be a number from 1 to {n}").format(n=MAX_RW_RT))
    return rw, rt


async def grant_role(
    session: AsyncSession,
    telegram_id: int,
    role: str,
    region_code: str,
    rw: int | None = None,
    rt: int | None = None,
) -> RoleGrant:
    rw, rt = await check_role_area(session, role, region_code, rw, rt)
    return await add_grant(
        session, await ensure_account(session, telegram_id), role, region_code, rw, rt
    )


async def add_grant(
    session: AsyncSession,
    account: Account,
    role: str,
    region_code: str,
    rw: int | None,
    rt: int | None,
) -> RoleGrant:
    """Give ``account`` an area already checked by :func:`check_role_area` (an account
    may hold several roles; the same one twice is kept once)."""
    for held in account.roles:
        if (held.role, held.region_code, held.rw, held.rt) == (role, region_code, rw, rt):
            return held
    grant = RoleGrant(account_id=account.id, role=role, region_code=region_code, rw=rw, rt=rt)
    session.add(grant)
    await session.flush()
    await session.refresh(account, ["roles"])
    return grant


def grant_area(grant: RoleGrant | Invite, place: str | None = None) -> str:
    """``16.71.01.1001 RW 2 RT 3``: where a role grant (or an invitation's) applies;
    ``place`` names the region instead of its bare code."""
    area = place or grant.region_code
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


def grant_for(account: Account, role: str, area: Area) -> RoleGrant | None:
    """The account's current grant of ``role`` whose area contains ``area``, if any."""
    return next((g for g in account.roles if g.role == role and grant_covers(g, area)), None)


def grant_covers(grant: RoleGrant, area: Area) -> bool:
    """Whether a role grant's area contains a household or a report's area."""
    if grant.role in WIDE_ROLES:
        return area.region_code.startswith(grant.region_code + ".")
    if grant.region_code != area.region_code:
        return False
    if grant.role in ("lurah", "operator"):
        return True
    if grant.rw != area.rw:
        return False
    return grant.role == "rw" or grant.rt == area.rt


def admin_regions(account: Account) -> list[str]:
    """The kabupaten/kota codes the account administers in the web console."""
    return sorted({grant.region_code for grant in account.roles if grant.role == "admin"})


def administers(account: Account, region_code: str) -> bool:
    """Whether an admin grant of the account covers ``region_code`` (itself or below)."""
    return any(
        region_code == code or region_code.startswith(code + ".") for code in admin_regions(account)
    )
