"""The review path of a report: RT head -> kelurahan/desa -> officer -> registry.

Every transition is a :class:`~storage.models.ReportEvent` (who, when, from, to, note);
an illegal one raises a domain error. Reports carry a version column, so two reviewers
pressing at once cannot both decide. The tiers a report passes are fixed when it is
filed, from the workflow configuration (:mod:`registry.policy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from locales import _
from registry import audit, links
from registry.accounts import Area, grant_for
from registry.apply import apply_report
from registry.errors import AlreadyDecided, DomainError, IllegalTransition, NotAllowed, NotFound
from registry.policy import DEFAULT_POLICY, TIERS, Policy
from storage.models import (
    Account,
    Attachment,
    Household,
    Report,
    ReportEvent,
    RoleGrant,
    utcnow,
)

SUBMITTED = "submitted"
AWAITING_RT = "awaiting_rt"
AWAITING_KELURAHAN = "awaiting_kelurahan"
AWAITING_OFFICER = "awaiting_officer"
NEEDS_INFO = "needs_info"
APPROVED = "approved"
APPLIED = "applied"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
STATES = (
    SUBMITTED, AWAITING_RT, AWAITING_KELURAHAN, AWAITING_OFFICER, NEEDS_INFO,
    APPROVED, APPLIED, REJECTED, WITHDRAWN,
)  # fmt: skip

# Each tier, the state of a report waiting for it, and the role that decides there.
TIER_STATE = {"rt": AWAITING_RT, "kelurahan": AWAITING_KELURAHAN, "officer": AWAITING_OFFICER}
STATE_TIER = {state: tier for tier, state in TIER_STATE.items()}
TIER_ROLE = {AWAITING_RT: "rt", AWAITING_KELURAHAN: "lurah", AWAITING_OFFICER: "officer"}
WAITING = tuple(TIER_ROLE)
OPEN_STATES = (SUBMITTED, *WAITING, NEEDS_INFO, APPROVED)
FINAL_STATES = (APPLIED, REJECTED, WITHDRAWN)

# Why a reviewer rejects (plus free text); "duplicate" is also the system's reason when
# the same change was entered in the registry through another report.
REJECT_REASONS = ("not_true", "duplicate", "not_in_area", "no_evidence", "other")
ESCALATED = "escalated"  # reason_code of an SLA escalation; its note holds the SLA days
# reason_code of a report returned unanswered to the tier that asked: its reporter deleted
# their account (/hapusakun), so nobody can answer any more.
REPORTER_GONE = "reporter_gone"

# Who makes each transition. A forward move between tiers must also follow the report's
# own path (``Report.tiers``); needs-info returns to the tier that asked.
REPORTER, REVIEWER, SYSTEM = "reporter", "reviewer", "system"
TRANSITIONS: dict[tuple[str | None, str], frozenset[str]] = {
    (None, SUBMITTED): frozenset({REPORTER}),
    **{(SUBMITTED, state): frozenset({SYSTEM}) for state in WAITING},
    (AWAITING_RT, AWAITING_KELURAHAN): frozenset({REVIEWER, SYSTEM}),
    (AWAITING_RT, AWAITING_OFFICER): frozenset({REVIEWER, SYSTEM}),
    (AWAITING_KELURAHAN, AWAITING_OFFICER): frozenset({REVIEWER, SYSTEM}),
    (AWAITING_OFFICER, APPROVED): frozenset({REVIEWER}),
    (APPROVED, APPLIED): frozenset({SYSTEM}),
    **{(state, REJECTED): frozenset({REVIEWER, SYSTEM}) for state in WAITING},
    (NEEDS_INFO, REJECTED): frozenset({SYSTEM}),  # its duplicate was entered meanwhile
    **{(state, NEEDS_INFO): frozenset({REVIEWER}) for state in WAITING},
    **{(NEEDS_INFO, state): frozenset({REPORTER, SYSTEM}) for state in WAITING},
    **{(state, WITHDRAWN): frozenset({REPORTER}) for state in (SUBMITTED, *WAITING, NEEDS_INFO)},
}


@dataclass
class Decision:
    report: Report
    from_state: str
    to_state: str
    closed: list[Report] = field(default_factory=list)  # open duplicates closed by this one


def _expected_next(report: Report, from_state: str) -> str | None:
    """The state after ``from_state`` on the report's own path of tiers."""
    path = [TIER_STATE[tier] for tier in report.tiers]
    if from_state == SUBMITTED:
        return path[0]
    if from_state in path[:-1]:
        return path[path.index(from_state) + 1]
    if from_state == AWAITING_OFFICER:
        return APPROVED
    return None


def check_transition(report: Report, to_state: str, by: str) -> None:
    """Raise IllegalTransition unless ``by`` may move the report to ``to_state`` now."""
    from_state = report.state
    allowed = TRANSITIONS.get((from_state, to_state), frozenset())
    if by not in allowed:
        raise IllegalTransition(
            _("A report cannot go from {old} to {new} that way.").format(
                old=from_state or "-", new=to_state
            )
        )
    forward = to_state in WAITING or to_state == APPROVED
    if forward and from_state != NEEDS_INFO and _expected_next(report, from_state) != to_state:
        raise IllegalTransition(
            _("A report cannot go from {old} to {new} that way.").format(
                old=from_state, new=to_state
            )
        )
    if from_state == NEEDS_INFO and to_state in WAITING and report.paused_state != to_state:
        raise IllegalTransition(
            _("An answered question returns the report to the tier that asked.")
        )


def _event(
    report: Report,
    actor: Account | None,
    to_state: str,
    *,
    by: str,
    note: str | None = None,
    reason_code: str | None = None,
    now: datetime | None = None,
) -> ReportEvent:
    """Move the report (checked) and record the transition."""
    check_transition(report, to_state, by)
    return _record(report, actor, to_state, note, reason_code, now)


def _record(
    report: Report,
    actor: Account | None,
    to_state: str,
    note: str | None = None,
    reason_code: str | None = None,
    now: datetime | None = None,
) -> ReportEvent:
    event = ReportEvent(
        report_id=report.id,
        actor_account_id=actor.id if actor else None,
        from_state=report.state,
        to_state=to_state,
        note=note,
        reason_code=reason_code,
    )
    if now is not None:
        event.created_at = now
    report.events.append(event)
    report.state = to_state
    report.tier_since = now or utcnow()
    # Written even when the loaded value is already None: the scheduler may have claimed
    # a reminder with a Core UPDATE since the report was loaded.
    report.reminded_at = None
    flag_modified(report, "reminded_at")
    return event


def first_tiers(
    policy: Policy, kind: str, payload: dict[str, Any], reporter: Account, area: Area
) -> list[str]:
    """The tiers that review a new report: the configured path, minus the reporter's own
    tier and those below it when they review this area (never the last tier)."""
    tiers = list(policy.tiers_for(kind, payload))
    if policy.skip_own_tier:
        held = [
            tier
            for tier in TIERS
            if grant_for(reporter, TIER_ROLE[TIER_STATE[tier]], area) is not None
        ]
        if held:
            highest = TIERS.index(held[-1])
            tiers = [t for t in tiers if TIERS.index(t) > highest] or tiers[-1:]
    return tiers


def _attach(report: Report, items: list[dict[str, str]]) -> None:
    """Add uploaded files (field, kind, file_id, unique_id) to the report's evidence."""
    for item in items:
        report.attachments.append(
            Attachment(
                report_id=report.id, field=item["field"], kind=item["kind"],
                file_id=item["file_id"], file_unique_id=item["unique_id"],
            )
        )  # fmt: skip


async def submit_report(
    session: AsyncSession,
    *,
    kind: str,
    household: Household | None,
    reporter: Account,
    payload: dict[str, Any],
    attachments: list[dict[str, str]] | None = None,
    area: Area | None = None,
    policy: Policy = DEFAULT_POLICY,
    now: datetime | None = None,
    on_behalf: bool = False,
) -> Report:
    """File a report and put it in its first tier's queue; returns it with its tracking
    number. Duplicates and conflicts with other reports are linked (``report.links``).

    The report is reviewed in ``area`` (region, RW, RT), by default the household's.
    ``on_behalf``: an RT head files it for a household of their RT whose members have no
    phone; the reporter must hold that RT (checked now: the role may have been revoked
    while the form was filled in)."""
    where = area or household
    if where is None:
        raise IllegalTransition(_("A report needs a household or an area."))
    if on_behalf and (household is None or grant_for(reporter, "rt", household) is None):
        raise NotAllowed(
            _(
                "You no longer head the RT of this household, so the report was not sent. "
                "Nothing was saved."
            )
        )
    report = Report(
        kind=kind,
        state=SUBMITTED,
        household_id=household.id if household is not None else None,
        region_code=where.region_code,
        rw=where.rw,
        rt=where.rt,
        reporter_account_id=reporter.id,
        payload=payload,
        tiers=first_tiers(policy, kind, payload, reporter, where),
        filed_on_behalf=on_behalf,
    )
    if now is not None:
        report.created_at = now
    session.add(report)
    await session.flush()
    await session.refresh(report, ["events", "attachments", "household", "reporter"])
    report.number = f"LW-{report.created_at.year}-{report.id:06d}"
    _attach(report, attachments or [])
    report.state = None  # type: ignore[assignment]  # not filed yet: the first transition
    _event(report, reporter, SUBMITTED, by=REPORTER, now=now)
    _event(report, None, TIER_STATE[report.tiers[0]], by=SYSTEM, now=now)
    await links.link_new_report(session, report, OPEN_STATES, APPLIED)
    if on_behalf:
        audit.record(
            session, "report.file_on_behalf", actor=reporter, report=report,
            household_id=household.id if household is not None else None,
        )  # fmt: skip
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
    return grant_for(account, role, report)


def check_can_decide(
    account: Account, report: Report, expected_version: int | None = None
) -> RoleGrant:
    """The grant that lets ``account`` act on the report's current tier, or a domain error."""
    if report.state in FINAL_STATES or (
        expected_version is not None and report.version != expected_version
    ):
        raise AlreadyDecided(_("This report was already decided."))
    if report.state == NEEDS_INFO:
        raise IllegalTransition(_("This report waits for the reporter's answer."))
    if report.state not in TIER_ROLE:
        raise IllegalTransition(_("This report is not waiting for a review."))
    grant = tier_grant(account, report)
    if grant is None:
        raise NotAllowed(_("You may not decide this report at its current stage."))
    if report.reporter_account_id == account.id:
        raise NotAllowed(_("You filed this report; another reviewer decides it."))
    return grant


def check_reason(approve: bool, reason_code: str | None, note: str | None) -> None:
    if approve:
        return
    if reason_code not in REJECT_REASONS:
        raise IllegalTransition(
            _("A rejection needs a reason: one of {codes}.").format(codes=", ".join(REJECT_REASONS))
        )
    if reason_code == "other" and not (note or "").strip():
        raise IllegalTransition(_('Explain the reason "other" in a note.'))


async def _guarded(session: AsyncSession, work: Any, actor: Account | None) -> None:
    """Run ``work`` and flush; a lost race or a broken rule leaves nothing behind.

    The rollback expires everything in the session; the acting account is read again,
    so the caller can still answer them."""
    try:
        await work()
        await session.flush()
    except (StaleDataError, DBAPIError) as exc:
        # Another decision was committed first (version column), or PostgreSQL chose this
        # transaction as a deadlock victim: undo ours.
        if isinstance(exc, DBAPIError) and not _lost_race(exc):
            raise
        await session.rollback()
        if actor is not None:
            await session.refresh(actor)
        raise AlreadyDecided(_("This report was already decided.")) from None
    except DomainError:
        # The registry no longer allows the change (e.g. the member left meanwhile):
        # nothing of this decision is kept.
        await session.rollback()
        if actor is not None:
            await session.refresh(actor)
        raise


def _lost_race(exc: DBAPIError) -> bool:
    """A deadlock or serialization failure (PostgreSQL SQLSTATE 40P01 / 40001)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001")


async def _lock_in_order(session: AsyncSession, ids: list[int]) -> None:
    """Lock these reports in id order (PostgreSQL), so two transactions touching the same
    reports wait for each other instead of deadlocking. SQLite locks the whole file."""
    if session.bind.dialect.name == "postgresql" and ids:
        await session.execute(
            select(Report.id)
            .where(Report.id.in_(sorted(ids)))
            .order_by(Report.id)
            .with_for_update()
        )


async def applied_duplicate(session: AsyncSession, report: Report) -> Report | None:
    """A report of the same change that is already in the registry."""
    for link in await links.links_of(session, report):
        if link.relation == links.DUPLICATE and link.other.state == APPLIED:
            return link.other
    return None


async def decide(
    session: AsyncSession,
    report: Report,
    actor: Account,
    *,
    approve: bool,
    note: str | None = None,
    reason_code: str | None = None,
    expected_version: int | None = None,
    by: str | None = None,
) -> Decision:
    """Move the report one tier on (or reject it with a reason code). On the officer's
    approval the change is applied to the registry in the same transaction, and its open
    duplicates are closed. The decision goes into the audit log (``by="cli"`` for one
    taken from the command line)."""
    check_can_decide(actor, report, expected_version)
    check_reason(approve, reason_code, note)
    from_state = report.state
    if approve:
        original = await applied_duplicate(session, report)
        if original is not None:
            raise IllegalTransition(
                _("The same change is already in the registry through {number}; "
                  "reject this report as a duplicate.").format(number=original.number)
            )  # fmt: skip
    decision = Decision(report, from_state, from_state)
    if approve and from_state == AWAITING_OFFICER:
        duplicates = [
            link.other.id
            for link in await links.links_of(session, report)
            if link.relation == links.DUPLICATE
        ]
        await _lock_in_order(session, [report.id, *duplicates])

    async def work() -> None:
        if not approve:
            _event(report, actor, REJECTED, by=REVIEWER, note=note, reason_code=reason_code)
            return
        nxt = _expected_next(report, from_state)
        assert nxt is not None
        _event(report, actor, nxt, by=REVIEWER, note=note)
        if report.state == APPROVED:
            await apply_report(session, report, actor)
            _event(report, actor, APPLIED, by=SYSTEM)
            decision.closed = await _close_duplicates(session, report)

    await _guarded(session, work, actor)
    decision.to_state = report.state
    audit.record(
        session, "report.decide", actor=actor, by=by, report=report,
        **_moved(from_state, report.state), decision="approve" if approve else "reject",
        **({"reason_code": reason_code} if reason_code else {}),
    )  # fmt: skip
    for closed in decision.closed:
        audit.record(
            session, "report.close", by=audit.SYSTEM, report=closed,
            **_moved(closed.events[-1].from_state, closed.state), reason_code="duplicate",
            duplicate_of=report.number,
        )  # fmt: skip
    return decision


def _moved(from_state: str | None, to_state: str) -> dict[str, Any]:
    """An audit entry's ``from`` and ``to`` states."""
    return {"from": from_state, "to": to_state}


async def _close_duplicates(session: AsyncSession, report: Report) -> list[Report]:
    closed = []
    for link in await links.links_of(session, report):
        other = link.other
        if link.relation == links.DUPLICATE and other.state in (*WAITING, NEEDS_INFO):
            _event(other, None, REJECTED, by=SYSTEM, note=report.number, reason_code="duplicate")
            other.paused_state = None
            closed.append(other)
    return closed


async def ask_info(
    session: AsyncSession,
    report: Report,
    actor: Account,
    question: str,
    *,
    expected_version: int | None = None,
) -> Decision:
    """A reviewer of the current tier asks the reporter a question; the report waits."""
    check_can_decide(actor, report, expected_version)
    if not question.strip():
        raise IllegalTransition(_("Write the question for the reporter."))
    from_state = report.state

    async def work() -> None:
        _event(report, actor, NEEDS_INFO, by=REVIEWER, note=question)
        report.paused_state = from_state

    await _guarded(session, work, actor)
    audit.record(
        session, "report.ask", actor=actor, report=report, **_moved(from_state, NEEDS_INFO)
    )
    return Decision(report, from_state, NEEDS_INFO)


def check_reporter(account: Account, report: Report) -> None:
    if report.reporter_account_id != account.id:
        raise NotAllowed(_("Only the reporter can do this."))


async def answer_info(
    session: AsyncSession,
    report: Report,
    reporter: Account,
    *,
    answer: str | None = None,
    payload: dict[str, Any] | None = None,
    attachments: list[dict[str, str]] | None = None,
    expected_version: int | None = None,
) -> Decision:
    """The reporter answers the question, or sends the report edited (``payload``); it
    goes back to the tier that asked."""
    check_reporter(reporter, report)
    if expected_version is not None and report.version != expected_version:
        raise AlreadyDecided(_("This report has changed meanwhile."))
    if report.state != NEEDS_INFO or report.paused_state is None:
        raise IllegalTransition(_("This report is not waiting for your answer."))
    if payload is None and not (answer or "").strip():
        raise IllegalTransition(_("Write your answer, or edit the report."))
    back = report.paused_state

    async def work() -> None:
        if payload is not None:
            report.payload = payload
        _attach(report, attachments or [])  # new evidence, or the answer as a voice note
        _event(report, reporter, back, by=REPORTER, note=answer)
        report.paused_state = None
        if payload is not None:  # what it duplicates or conflicts with may have changed
            await links.relink(session, report, OPEN_STATES, APPLIED)

    await _guarded(session, work, reporter)
    return Decision(report, NEEDS_INFO, back)


def return_unanswered(report: Report, *, now: datetime | None = None) -> Decision:
    """A report waiting for its reporter's answer goes back, unanswered, to the tier that
    asked, because the reporter deleted their account. In the caller's transaction."""
    if report.state != NEEDS_INFO or report.paused_state is None:
        raise IllegalTransition(_("This report is not waiting for an answer."))
    back = report.paused_state
    _event(report, None, back, by=SYSTEM, reason_code=REPORTER_GONE, now=now)
    report.paused_state = None
    return Decision(report, NEEDS_INFO, back)


async def withdraw(
    session: AsyncSession, report: Report, reporter: Account, *, note: str | None = None
) -> Decision:
    """The reporter takes the report back before it is approved."""
    check_reporter(reporter, report)
    if report.state in (APPROVED, *FINAL_STATES):
        raise IllegalTransition(_("This report was already decided; it cannot be withdrawn."))
    from_state = report.state

    async def work() -> None:
        _event(report, reporter, WITHDRAWN, by=REPORTER, note=note)
        report.paused_state = None

    await _guarded(session, work, reporter)
    return Decision(report, from_state, WITHDRAWN)


async def escalate(
    session: AsyncSession, report: Report, now: datetime, sla_days: float
) -> Decision:
    """Past its tier's SLA the report moves to the next tier on its path."""
    from_state = report.state
    nxt = _expected_next(report, from_state)
    if from_state not in WAITING or nxt not in WAITING:
        raise IllegalTransition(_("This report cannot be escalated."))

    async def work() -> None:
        _event(report, None, nxt, by=SYSTEM, note=f"{sla_days:g}", reason_code=ESCALATED, now=now)

    await _guarded(session, work, None)
    audit.record(
        session, "report.escalate", by=audit.SYSTEM, report=report, **_moved(from_state, nxt),
        sla_days=int(sla_days) if sla_days == int(sla_days) else sla_days,
    )  # fmt: skip
    return Decision(report, from_state, nxt)
