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

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.households import member_by_nik
from storage.models import Report, ReportLink

DUPLICATE, CONFLICT = "duplicate", "conflict"
# Kinds that end or move a person's membership: two of them on one person conflict, and
# any change of that person's data conflicts with them.
ENDING_KINDS = frozenset({"death", "move_out", "move_in", "marriage"})


def _norm(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip().casefold()


async def touched(session: AsyncSession, report: Report) -> set[str]:
    """The registry members (``m<id>``) and unknown NIKs (``n<nik>``) a report is about."""
    p, kind = report.payload, report.kind
    ids: list[str] = []
    if kind in ("death", "member_data", "identity") or (
        kind == "move_out" and p.get("scope") != "all"
    ):
        ids = [p.get("member")]
    elif kind == "move_out" and report.household is not None:
        ids = [str(m.id) for m in report.household.members if m.status == "alive"]
    elif kind == "marriage":
        ids = list(p.get("members") or []) + list(p.get("leaving") or [])
    keys = {f"m{i}" for i in ids if i}
    if kind == "move_in" and p.get("nik"):
        member = await member_by_nik(session, p["nik"])
        keys.add(f"m{member.id}" if member is not None else f"n{p['nik']}")
    return keys


def fingerprint(report: Report) -> str | None:
    """What makes two reports the same change; None where no two can be the same."""
    p, kind, where = report.payload, report.kind, report.household_id
    match kind:
        case "birth":
            return f"birth:{where}:{_norm(p.get('name'))}:{p.get('birth_date')}"
        case "death":
            return f"death:{p.get('member')}"
        case "move_out":
            return f"move_out:{where}:{p.get('scope')}:{p.get('member')}"
        case "move_in":
            person = p.get("nik") or f"{_norm(p.get('name'))}:{p.get('birth_date')}"
            return f"move_in:{where}:{person}"
        case "new_household":
            if p.get("kk"):
                return f"new_household:{p['kk']}"
            village = (p.get("village") or {}).get("code")
            return f"new_household:{village}:{p.get('rw')}:{p.get('rt')}:{_norm(p.get('address'))}"
        case "marriage":
            return f"marriage:{where}:{p.get('event')}:{sorted(p.get('members') or [])}"
        case "member_data":
            field = p.get("field")
            return f"member_data:{p.get('member')}:{field}:{_norm(p.get(field))}"
        case "identity":
            what = p.get("what")
            return f"identity:{p.get('member')}:{what}:{_norm(p.get(f'new_{what}'))}"
        case "dispute":
            target = p.get("target_kk") or _norm(p.get("target"))
            return (
                f"dispute:{where}:{p.get('subject')}:{target}:{sorted(p.get('programmes') or [])}"
            )
    return None


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
            (report.kind in ENDING_KINDS or other.kind in ENDING_KINDS)
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
