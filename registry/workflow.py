"""The review path of a report: RT head -> kelurahan/desa -> officer -> registry.

Every transition is a :class:`~storage.models.ReportEvent`; an illegal one
raises a domain error. Reports carry a version column, so two reviewers
pressing at once cannot both decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from locales import _
from registry.accounts import Area, grant_covers
from registry.apply import apply_report
from registry.errors import AlreadyDecided, DomainError, IllegalTransition, NotAllowed, NotFound
from storage.models import Account, Attachment, Household, Report, ReportEvent, RoleGrant

SUBMITTED = "submitted"
AWAITING_RT = "awaiting_rt"
AWAITING_KELURAHAN = "awaiting_kelurahan"
AWAITING_OFFICER = "awaiting_officer"
APPROVED = "approved"
APPLIED = "applied"
REJECTED = "rejected"

# Which role decides at each tier, and where a "yes" leads.
TIER_ROLE = {AWAITING_RT: "rt", AWAITING_KELURAHAN: "lurah", AWAITING_OFFICER: "officer"}
NEXT_STATE = {
    AWAITING_RT: AWAITING_KELURAHAN,
    AWAITING_KELURAHAN: AWAITING_OFFICER,
    AWAITING_OFFICER: APPROVED,
}
FINAL_STATES = (APPLIED, REJECTED)


@dataclass
class Decision:
    report: Report
    from_state: str
    to_state: str


def _event(
    report: Report,
    actor: Account | None,
    from_state: str | None,
    to_state: str,
    note: str | None = None,
) -> ReportEvent:
    event = ReportEvent(
        report_id=report.id,
        actor_account_id=actor.id if actor else None,
        from_state=from_state,
        to_state=to_state,
        note=note,
    )
    report.events.append(event)
    report.state = to_state
    return event


async def submit_report(
    session: AsyncSession,
    *,
    kind: str,
    household: Household | None,
    reporter: Account,
    payload: dict[str, Any],
    attachments: list[dict[str, str]] | None = None,
    area: Area | None = None,
) -> Report:
    """File a report and put it in the RT head's queue; returns it with its tracking number.

    The report is reviewed in ``area`` (region, RW, RT), by default the household's."""
    where = area or household
    if where is None:
        raise IllegalTransition(_("A report needs a household or an area."))
    report = Report(
        kind=kind,
        state=SUBMITTED,
        household_id=household.id if household is not None else None,
        region_code=where.region_code,
        rw=where.rw,
        rt=where.rt,
        reporter_account_id=reporter.id,
        payload=payload,
    )
    session.add(report)
    await session.flush()
    await session.refresh(report, ["events", "attachments", "household", "reporter"])
    report.number = f"LW-{report.created_at.year}-{report.id:06d}"
    for item in attachments or []:
        report.attachments.append(
            Attachment(
                report_id=report.id,
                field=item["field"],
                kind=item["kind"],
                file_id=item["file_id"],
                file_unique_id=item["unique_id"],
            )
        )
    _event(report, reporter, None, SUBMITTED)
    _event(report, None, SUBMITTED, AWAITING_RT)
    await session.flush()
    return report


async def get_report(session: AsyncSession, report_id: int) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound(_("No such report."))
    return report


async def report_by_number(session: AsyncSession, number: str) -> Report | None:
    return (
        await session.execute(select(Report).where(Report.number == number))
    ).scalar_one_or_none()


def tier_grant(account: Account, report: Report) -> RoleGrant | None:
    """The account's grant that lets it decide the report's current tier, if any."""
    role = TIER_ROLE.get(report.state)
    if role is None:
        return None
    return next((g for g in account.roles if g.role == role and grant_covers(g, report)), None)


def check_can_decide(
    account: Account, report: Report, expected_version: int | None = None
) -> RoleGrant:
    if report.state in FINAL_STATES or (
        expected_version is not None and report.version != expected_version
    ):
        raise AlreadyDecided(_("This report was already decided."))
    if report.state not in TIER_ROLE:
        raise IllegalTransition(_("This report is not waiting for a review."))
    grant = tier_grant(account, report)
    if grant is None:
        raise NotAllowed(_("You may not decide this report at its current stage."))
    return grant


async def decide(
    session: AsyncSession,
    report: Report,
    actor: Account,
    *,
    approve: bool,
    note: str | None = None,
    expected_version: int | None = None,
) -> Decision:
    """Move the report one tier on (or reject it). On the officer's approval the
    change is applied to the registry in the same transaction."""
    check_can_decide(actor, report, expected_version)
    from_state = report.state
    if not approve and not note:
        raise IllegalTransition(_("A rejection needs a reason."))
    try:
        if not approve:
            _event(report, actor, from_state, REJECTED, note)
        else:
            _event(report, actor, from_state, NEXT_STATE[from_state], note)
            if report.state == APPROVED:
                await apply_report(session, report, actor)
                _event(report, actor, APPROVED, APPLIED)
        await session.flush()
    except StaleDataError:
        # Another reviewer's decision was committed first (version column): undo ours.
        await session.rollback()
        raise AlreadyDecided(_("This report was already decided.")) from None
    except DomainError:
        # The registry no longer allows the change (e.g. the member left meanwhile):
        # nothing of this decision is kept.
        await session.rollback()
        raise
    return Decision(report, from_state, report.state)


def _area_clause(grant: RoleGrant) -> Any:
    if grant.role == "officer":
        return Report.region_code.like(grant.region_code + ".%")
    clause = Report.region_code == grant.region_code
    if grant.role in ("rt", "rw"):
        clause = and_(clause, Report.rw == grant.rw)
    if grant.role == "rt":
        clause = and_(clause, Report.rt == grant.rt)
    return clause


async def queue_for(session: AsyncSession, account: Account, limit: int = 50) -> list[Report]:
    """Reports waiting at a tier the account decides, in its area, oldest first."""
    clauses = [
        and_(Report.state == state, _area_clause(grant))
        for grant in account.roles
        for state, role in TIER_ROLE.items()
        if grant.role == role
    ]
    if not clauses:
        return []
    stmt = select(Report).where(or_(*clauses)).order_by(Report.id).limit(limit)
    return list((await session.execute(stmt)).scalars().unique().all())


async def reviewers_for(session: AsyncSession, report: Report) -> list[Account]:
    """Accounts that decide the report's current tier."""
    role = TIER_ROLE.get(report.state)
    if role is None:
        return []
    grants = (
        (
            await session.execute(
                select(RoleGrant).where(RoleGrant.role == role, RoleGrant.revoked_at.is_(None))
            )
        )
        .scalars()
        .all()
    )
    ids = {g.account_id for g in grants if grant_covers(g, report)}
    if not ids:
        return []
    accounts = (
        (await session.execute(select(Account).where(Account.id.in_(ids)).order_by(Account.id)))
        .scalars()
        .all()
    )
    return list(accounts)


async def reports_of(session: AsyncSession, account: Account, limit: int = 20) -> list[Report]:
    stmt = (
        select(Report)
        .where(Report.reporter_account_id == account.id)
        .order_by(Report.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars().unique().all())
