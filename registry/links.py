"""Reports about the same people: conflicts and duplicates.

A report *touches* members (a death touches the deceased, a move the movers, a NIK
moving in the person with that NIK). Two open reports that touch the same member in
ways that cannot both be true (a death and a move) *conflict*; two reports of the same
change (two family members report the same birth) are *duplicates*. Both are linked
when the newer report is filed, and shown on the reviewers' cards. A report whose
duplicate was entered in the registry cannot be approved; the open duplicates of an
applied report are closed as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.households import member_by_nik
from registry.kinds import kind_named
from storage.models import Report, ReportLink

DUPLICATE, CONFLICT = "duplicate", "conflict"


async def touched(session: AsyncSession, report: Report) -> set[str]:
    """The registry members (``m<id>``) and unknown NIKs (``n<nik>``) a report is about."""
    kind = kind_named(report.kind)
    return await kind.touched(session, report) if kind is not None else set()


def fingerprint(report: Report) -> str | None:
    """What makes two reports the same change; None where no two can be the same."""
    kind = kind_named(report.kind)
    return kind.fingerprint(report) if kind is not None else None


def _ends_membership(report: Report) -> bool:
    kind = kind_named(report.kind)
    return kind is not None and kind.ends_membership


@dataclass
class Link:
    other: Report
    relation: str


async def _candidates(
    session: AsyncSession, report: Report, states: tuple[str, ...]
) -> list[Report]:
    """Reports that may be about the same people: same household, or same area for
    reports without a household (a household missing from the registry)."""
    same_place = (
        Report.household_id == report.household_id
        if report.household_id is not None
        else (Report.region_code == report.region_code) & Report.household_id.is_(None)
    )
    clauses = [same_place]
    if report.kind == "move_in" and report.payload.get("nik"):
        member = await member_by_nik(session, report.payload["nik"])
        if member is not None:  # the person's reports in their current household
            clauses.append(Report.household_id == member.household_id)
        clauses.append(Report.kind == "move_in")
    stmt = (
        select(Report)
        .where(or_(*clauses), Report.state.in_(states), Report.id != report.id)
        .order_by(Report.id)
    )
    return list((await session.execute(stmt)).scalars().unique().all())


async def find_links(
    session: AsyncSession, report: Report, open_states: tuple[str, ...], applied: str
) -> list[Link]:
    """Open or applied reports this one duplicates, and open ones it conflicts with."""
    mine = fingerprint(report)
    my_people = await touched(session, report)
    links = []
    for other in await _candidates(session, report, (*open_states, applied)):
        if mine is not None and fingerprint(other) == mine:
            links.append(Link(other, DUPLICATE))
        elif other.state != applied and (
            (_ends_membership(report) or _ends_membership(other))
            and my_people & await touched(session, other)
        ):
            links.append(Link(other, CONFLICT))
    return links


async def link_new_report(
    session: AsyncSession, report: Report, open_states: tuple[str, ...], applied: str
) -> list[Link]:
    links = await find_links(session, report, open_states, applied)
    for link in links:
        session.add(
            ReportLink(report_id=report.id, other_report_id=link.other.id, relation=link.relation)
        )
    return links


async def links_of(session: AsyncSession, report: Report) -> list[Link]:
    """Every report linked to this one, either way, oldest first."""
    rows = (
        await session.execute(
            select(ReportLink).where(
                or_(ReportLink.report_id == report.id, ReportLink.other_report_id == report.id)
            )
        )
    ).scalars()
    found = []
    for row in rows:
        other_id = row.other_report_id if row.report_id == report.id else row.report_id
        other = await session.get(Report, other_id)
        if other is not None:
            found.append(Link(other, row.relation))
    return sorted(found, key=lambda link: link.other.id)


async def relink(
    session: AsyncSession, report: Report, open_states: tuple[str, ...], applied: str
) -> list[Link]:
    """After the report's answers were edited: its links, found again."""
    await session.execute(
        delete(ReportLink).where(
            or_(ReportLink.report_id == report.id, ReportLink.other_report_id == report.id)
        )
    )
    return await link_new_report(session, report, open_states, applied)
