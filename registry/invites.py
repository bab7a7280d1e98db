"""Reviewer roles by invitation, and listing and revoking role grants.

An invitation is a single-use code for one role in one area, valid for a few days.
Only the SHA-256 of the code is stored: the code itself exists in the deep link given
to the invited person and nowhere else. Redeeming it is one conditional UPDATE, so two
processes pressing the same link at once grant the role once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from locales import _
from registry import audit
from registry.accounts import add_grant, check_role_area, grant_area
from registry.errors import DomainError, NotFound
from storage.models import Account, Invite, RoleGrant, utcnow
from storage.patterns import within_region as in_region

DEFAULT_DAYS = 7
MAX_DAYS = 30
# secrets.token_urlsafe(16): 22 characters of A-Z a-z 0-9 - _ (a Telegram /start
# parameter allows 64 of those).
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class InviteError(DomainError):
    """An invitation code that cannot be redeemed; ``code`` says why."""


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def within(region_code: str, area: str) -> bool:
    """Whether a region lies strictly inside ``area`` (a region code's prefix)."""
    return region_code.startswith(area + ".")


async def create_invite(
    session: AsyncSession,
    role: str,
    region_code: str,
    rw: int | None = None,
    rt: int | None = None,
    *,
    created_by: Account | None,
    days: int = DEFAULT_DAYS,
    by: str | None = None,
) -> tuple[Invite, str]:
    """A new invitation, checked like a direct grant; returns it and its code (the only
    time the code is known). ``by`` names a non-account actor for the audit log ("cli")."""
    if not 1 <= days <= MAX_DAYS:
        raise DomainError(
            _("An invitation is valid for 1 to {max} days.").format(max=MAX_DAYS), code="days"
        )
    rw, rt = await check_role_area(session, role, region_code, rw, rt)
    code = secrets.token_urlsafe(16)
    invite = Invite(
        code_hash=code_hash(code),
        role=role,
        region_code=region_code,
        rw=rw,
        rt=rt,
        created_by_account_id=created_by.id if created_by is not None else None,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(invite)
    await session.flush()
    audit.record(
        session, "invite.create", actor=created_by, by=by,
        invite_id=invite.id, role=role, area=grant_area(invite),
        expires_at=invite.expires_at.isoformat(timespec="seconds"),
    )  # fmt: skip
    return invite, code


async def redeem_invite(session: AsyncSession, account: Account, code: str) -> RoleGrant:
    """Use an invitation once: grant its role to ``account`` and record who used it.

    Raises :class:`InviteError` with ``code`` ``unknown``, ``used`` or ``expired``."""
    code = code.strip()
    if not _CODE.fullmatch(code):
        raise InviteError(_("This invitation code is not valid."), code="unknown")
    digest, now = code_hash(code), utcnow()
    found = (
        await session.execute(select(Invite).where(Invite.code_hash == digest))
    ).scalar_one_or_none()
    if found is not None and found.used_at is None and not await _inviter_still_may(session, found):
        raise InviteError(
            _("This invitation is no longer valid: whoever made it no longer holds the role "
              "to give it. Ask for a new one."),
            code="withdrawn",
        )  # fmt: skip
    claimed = await session.execute(
        update(Invite)
        .where(Invite.code_hash == digest, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now, used_by_account_id=account.id)
        .execution_options(synchronize_session=False)
    )
    invite = (
        await session.execute(
            select(Invite)
            .where(Invite.code_hash == digest)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if claimed.rowcount != 1 or invite is None:
        if invite is None:
            raise InviteError(_("This invitation code is not valid."), code="unknown")
        if invite.used_at is not None:
            raise InviteError(_("This invitation has already been used."), code="used")
        raise InviteError(_("This invitation has expired. Ask for a new one."), code="expired")
    grant = await add_grant(session, account, invite.role, invite.region_code, invite.rw, invite.rt)
    audit.record(
        session, "role.grant", actor=account, subject=account,
        invite_id=invite.id, grant_id=grant.id, role=grant.role, area=grant_area(grant),
    )  # fmt: skip
    return grant


async def _inviter_still_may(session: AsyncSession, invite: Invite) -> bool:
    """An invitation made in chat is only as good as its maker's officer role: one whose
    role was revoked (or who deleted their account) cannot still hand out roles through
    links made earlier. Invitations from the command line have no maker to check."""
    if invite.created_by_account_id is None:
        return True
    stmt = select(RoleGrant.region_code).where(
        RoleGrant.account_id == invite.created_by_account_id,
        RoleGrant.role.in_(("officer", "admin")),  # admin: made in the web console
        RoleGrant.revoked_at.is_(None),
    )
    areas = (await session.execute(stmt)).scalars().all()
    return any(within(invite.region_code, area) for area in areas)


async def invite_for(session: AsyncSession, code: str) -> Invite | None:
    """The invitation with this code, used or not (for the messages after redeeming)."""
    if not _CODE.fullmatch(code.strip()):
        return None
    stmt = select(Invite).where(Invite.code_hash == code_hash(code.strip()))
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_grants(session: AsyncSession, within_region: str | None = None) -> list[RoleGrant]:
    """Active role grants (with their account), optionally only those in a region: the
    region itself or anything under it."""
    stmt = (
        select(RoleGrant)
        .where(RoleGrant.revoked_at.is_(None))
        .options(selectinload(RoleGrant.account))
        .order_by(RoleGrant.region_code, RoleGrant.role, RoleGrant.rw, RoleGrant.rt, RoleGrant.id)
    )
    if within_region is not None:
        stmt = stmt.where(in_region(RoleGrant.region_code, within_region))
    return list((await session.execute(stmt)).scalars().all())


async def get_grant(session: AsyncSession, grant_id: int) -> RoleGrant:
    grant = await session.get(RoleGrant, grant_id, options=[selectinload(RoleGrant.account)])
    if grant is None:
        raise NotFound(_("There is no role grant {id}.").format(id=grant_id))
    return grant


async def revoke_grant(
    session: AsyncSession,
    grant_id: int,
    *,
    by_account: Account | None = None,
    by: str | None = None,
) -> RoleGrant:
    """End a role grant now (its holder's buttons and queue stop working at once)."""
    grant = await get_grant(session, grant_id)
    done = await session.execute(
        update(RoleGrant)
        .where(RoleGrant.id == grant_id, RoleGrant.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(grant)
    if done.rowcount != 1:
        raise DomainError(
            _("Role grant {id} was already revoked.").format(id=grant_id), code="already_revoked"
        )
    await session.refresh(grant.account, ["roles"])
    audit.record(
        session, "role.revoke", actor=by_account, by=by, subject=grant.account,
        grant_id=grant.id, role=grant.role, area=grant_area(grant),
    )  # fmt: skip
    return grant


MAX_SHEET_ROWS = 500


def rt_head_rows(path: Path) -> list[tuple[int, int, int, str]]:
    """The rows ``rw, rt, name`` of an uploaded CSV of RT heads to invite (a header row of
    those names is skipped): (line, rw, rt, name). A bad row raises a DomainError naming
    its line; nothing is made from a file with one."""
    from registry.households import MAX_RW_RT
    from registry.textfile import csv_rows

    rows = []
    for line, cells in csv_rows(path):
        values = [c.strip() for c in cells]
        if not any(values):
            continue
        if [v.lower() for v in values[:3]] in (["rw", "rt", "name"], ["rw", "rt", "nama"]):
            continue
        if len(values) < 3 or not values[0].isdigit() or not values[1].isdigit() or not values[2]:
            raise DomainError(
                _("Line {line}: expected rw, rt, name (two numbers and a name).").format(line=line)
            )
        rw, rt = int(values[0]), int(values[1])
        if not (1 <= rw <= MAX_RW_RT and 1 <= rt <= MAX_RW_RT):
            raise DomainError(
                _("Line {line}: RW and RT are numbers from 1 to {n}.").format(
                    line=line, n=MAX_RW_RT
                )
            )
        rows.append((line, rw, rt, values[2][:100]))
        if len(rows) > MAX_SHEET_ROWS:
            raise DomainError(_("At most {n} rows at a time.").format(n=MAX_SHEET_ROWS))
    if not rows:
        raise DomainError(_("The file has no rows."))
    return rows


__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "InviteError",
    "code_hash",
    "create_invite",
    "get_grant",
    "invite_for",
    "list_grants",
    "redeem_invite",
    "revoke_grant",
    "rt_head_rows",
    "within",
]
