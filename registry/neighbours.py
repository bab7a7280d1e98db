"""The families of an RT head's own RT, found by the name of their head: how an RT head
picks the family of a neighbour without a phone (flows/on_behalf.py)."""

from __future__ import annotations

import re

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Household, Member
from storage.patterns import contains

MAX_WORDS = 4


def search_words(text: str) -> list[str]:
    """The words of a typed name, lower case, letters and digits only (at most four)."""
    return [w for w in re.split(r"[\W_]+", text.casefold()) if w][:MAX_WORDS]


async def families_in_rt(
    session: AsyncSession, account: Account, words: list[str], *, offset: int = 0,
    limit: int = 6,
) -> tuple[list[tuple[Household, Member]], int]:  # fmt: skip
    """Families of the RTs ``account`` heads whose living head's name holds every one of
    ``words`` (any case), by the head's name: one page of (household, head), and how
    many there are in all. The account's own family is not among them."""
    areas = [
        and_(Household.region_code == g.region_code, Household.rw == g.rw, Household.rt == g.rt)
        for g in account.roles
        if g.role == "rt"
    ]
    if not areas:
        return [], 0
    where = [
        or_(*areas),
        Member.relationship == "head",
        Member.status == "alive",
        *(contains(func.lower(Member.name), w) for w in words),
    ]
    if account.household_id is not None:
        where.append(Household.id != account.household_id)
    base = select(Household, Member).join(Member, Member.household_id == Household.id).where(*where)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    page = base.order_by(func.lower(Member.name), Household.id).offset(offset).limit(limit)
    rows = (await session.execute(page)).unique().all()
    return [(h, m) for h, m in rows], total
