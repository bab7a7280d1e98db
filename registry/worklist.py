"""The web console's list of reports: what a signed-in reviewer or operator may see,
filtered, sorted and counted, and one report by id within the same limits.

Visibility is the union of the account's role grants' areas (:func:`registry.queues.area_clause`,
the same areas the chat uses); "waiting for me" is :func:`registry.queues.waiting_clause`, the
rule the chat's /antrian counts with (the tier the account decides, in its area, not its own
reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from locales import _
from registry import workflow
from registry.accounts import grant_covers
from registry.errors import NotFound
from registry.policy import Policy
from registry.queues import area_clause, waiting_clause
from storage.models import Account, Member, Region, Report
from storage.patterns import contains

MINE, OPEN, DONE, ALL = "mine", "open", "done", "all"
STATE_FILTERS = (MINE, OPEN, DONE, ALL, *workflow.STATES)
SORTS = ("oldest", "newest", "waiting")
PER_PAGE = 25


@dataclass
class Filters:
    state: str = MINE
    kind: str | None = None
    region: str | None = None  # a desa/kelurahan code
    rw: int | None = None
    rt: int | None = None
    overdue: bool = False
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None  # a tracking number, or a name in the household
    sort: str = "oldest"
    page: int = 1


@dataclass
class Page:
    reports: list[Report]  # their columns only: no relationship is loaded
    total: int
    page: int
    pages: int


def visible_clause(account: Account) -> Any:
    """Reports in the area of any of the account's grants."""
    clauses = [area_clause(grant) for grant in account.roles]
    return or_(false(), *clauses)


def overdue_clause(now: datetime, policy: Policy) -> Any:
    """Reports waiting at a tier longer than its SLA."""
    return or_(
        false(),
        *(
            and_(Report.state == state, Report.tier_since <= now - sla)
            for tier, state in workflow.TIER_STATE.items()
            if (sla := policy.sla_for(tier)) is not None
        ),
    )


def is_overdue(report: Report, now: datetime, policy: Policy) -> bool:
    tier = workflow.STATE_TIER.get(report.state)
    sla = policy.sla_for(tier) if tier else None
    return sla is not None and report.tier_since is not None and report.tier_since <= now - sla


def matching(account: Account, filters: Filters, now: datetime, policy: Policy) -> list[Any]:
    """The WHERE clauses of the reports the account may see that match ``filters``."""
    return _where(account, filters, now, policy)


def order_of(filters: Filters) -> tuple[Any, ...]:
    return {
        "oldest": (Report.id,),
        "newest": (Report.id.desc(),),
        "waiting": (Report.tier_since, Report.id),
    }.get(filters.sort, (Report.id,))


def _where(account: Account, filters: Filters, now: datetime, policy: Policy) -> list[Any]:
    state = filters.state
    # What waits for the account lies inside its areas already: the chat's /antrian
    # clause alone, so the console counts it with the same query as the chat.
    where = [waiting_clause(account) if state == MINE else visible_clause(account)]
    if state == OPEN:
        where.append(Report.state.in_(workflow.OPEN_STATES))
    elif state == DONE:
        where.append(Report.state.in_(workflow.FINAL_STATES))
    elif state in workflow.STATES:
        where.append(Report.state == state)
    if filters.kind:
        where.append(Report.kind == filters.kind)
    if filters.region:
        where.append(Report.region_code == filters.region)
    if filters.rw is not None:
        where.append(Report.rw == filters.rw)
    if filters.rt is not None:
        where.append(Report.rt == filters.rt)
    if filters.overdue:
        where.append(overdue_clause(now, policy))
    if filters.date_from:
        where.append(Report.created_at >= datetime.combine(filters.date_from, datetime.min.time()))
    if filters.date_to and filters.date_to < date.max:  # 9999-12-31: no end (and no overflow)
        end = datetime.combine(filters.date_to, datetime.min.time()) + timedelta(days=1)
        where.append(Report.created_at < end)
    q = (filters.q or "").strip()
    if q:
        named = select(Member.household_id).where(contains(func.lower(Member.name), q.lower()))
        where.append(
            or_(
                contains(Report.number, q.upper()),
                Report.household_id.in_(named),
            )
        )
    return where


async def find_reports(
    session: AsyncSession,
    account: Account,
    filters: Filters,
    policy: Policy,
    *,
    now: datetime,
    per_page: int = PER_PAGE,
) -> Page:
    """One page of the reports the account may see that match ``filters``, with the true
    count of all that match."""
    where = _where(account, filters, now, policy)
    total = (
        await session.execute(select(func.count()).select_from(Report).where(*where))
    ).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, filters.page), pages)
    order = order_of(filters)
    stmt = (
        select(Report).where(*where).order_by(*order)
        .offset((page - 1) * per_page).limit(per_page)
        .options(raiseload("*"))  # a line of the list: no household, events or attachments
    )  # fmt: skip
    reports = list((await session.execute(stmt)).scalars().unique().all())
    return Page(reports, total, page, pages)


async def villages_of(session: AsyncSession, account: Account) -> list[tuple[str, str]]:
    """The desa/kelurahan (code, name) inside the account's areas, by name: through the
    regions' parent codes (an index), never through the reports."""
    wanted = []
    for code in sorted({grant.region_code for grant in account.roles}):
        level = code.count(".") + 1
        if level == 4:
            wanted.append(Region.code == code)
        elif level == 3:
            wanted.append(and_(Region.parent_code == code, Region.level == 4))
        elif level == 2:
            districts = select(Region.code).where(Region.parent_code == code)
            wanted.append(and_(Region.parent_code.in_(districts), Region.level == 4))
    if not wanted:
        return []
    stmt = select(Region.code, Region.name).where(or_(*wanted)).order_by(Region.name, Region.code)
    return [(code, name) for code, name in (await session.execute(stmt)).all()]


async def visible_report(session: AsyncSession, account: Account, report_id: int) -> Report:
    """The report if one of the account's grants covers its area; NotFound otherwise
    (another area's report is not told apart from a missing one)."""
    report = await session.get(Report, report_id)
    if report is None or not any(grant_covers(g, report) for g in account.roles):
        raise NotFound(_("No such report."))
    return report
