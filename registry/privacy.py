"""Residents' rights under UU 27/2022 (Pelindungan Data Pribadi): a copy of everything
stored about an account, and the deletion of the account.

A deleted account stays as a tombstone row (decisions, registry revisions and the audit
log refer to it) with every personal field emptied and ``telegram_id`` set to ``-id``.
The reports it filed stay, because the registry must keep them, but no longer name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from registry import audit
from registry.errors import DomainError
from registry.workflow import APPLIED, NEEDS_INFO, STATE_TIER, WAITING, return_unanswered
from storage.models import (
    Account,
    Attachment,
    AuditEntry,
    Broadcast,
    Draft,
    Household,
    LinkAttempt,
    Member,
    OutboxMessage,
    Report,
    ReportEvent,
    RoleGrant,
    utcnow,
)

EXPORT_FORMAT = 1

# Answers in which a reporter gave their own contact data: the phone number and the
# location pin of a household missing from the registry (the reporter's household, unless
# an RT head filed it for someone else). They go when the reporter deletes the account.
OWN_CONTACT_ANSWERS = {"new_household": ("phone", "location")}


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _household(household: Household | None) -> dict[str, Any] | None:
    if household is None:
        return None
    return {
        "kk": household.kk,
        "address": household.address,
        "region_code": household.region_code,
        "region_name": household.region.name if household.region is not None else None,
        "rw": household.rw,
        "rt": household.rt,
    }


def _member(member: Member | None) -> dict[str, Any] | None:
    if member is None:
        return None
    return {
        "nik": member.nik,
        "name": member.name,
        "sex": member.sex,
        "birth_date": _day(member.birth_date),
        "relationship": member.relationship,
    }


def _event_by(event: ReportEvent, account: Account) -> str:
    """Who made a transition, as the reporter may know it: themselves, the system, or a
    reviewer named only by tier."""
    if event.actor_account_id is None:
        return "system"
    if event.actor_account_id == account.id:
        return "you"
    tier = STATE_TIER.get(event.from_state or "")
    if tier is None and event.to_state == APPLIED:
        tier = "officer"
    return f"reviewer:{tier}" if tier else "reviewer"


def _report(report: Report, account: Account) -> dict[str, Any]:
    return {
        "number": report.number,
        "kind": report.kind,
        "state": report.state,
        "filed_on_behalf": report.filed_on_behalf,
        "area": {"region_code": report.region_code, "rw": report.rw, "rt": report.rt},
        "payload": report.payload,
        "created_at": _time(report.created_at),
        "updated_at": _time(report.updated_at),
        "events": [
            {
                "at": _time(event.created_at),
                "by": _event_by(event, account),
                "from_state": event.from_state,
                "to_state": event.to_state,
                "reason_code": event.reason_code,
                "note": event.note,
            }
            for event in report.events
        ],
        "attachments": [
            {
                "field": a.field,
                "kind": a.kind,
                "file_id": a.file_id,
                "file_unique_id": a.file_unique_id,
                "created_at": _time(a.created_at),
            }
            for a in report.attachments
        ],
    }


async def export_account_data(session: AsyncSession, account: Account) -> dict[str, Any]:
    """Everything stored about the account and its reports, JSON-ready (/datasaya).

    Holds the person's own full NIK and KK. Reviewers appear only by their tier. The
    request is recorded in the audit log."""
    household = await session.get(Household, account.household_id) if account.household_id else None
    member = await session.get(Member, account.member_id) if account.member_id else None
    roles = (
        (
            await session.execute(
                select(RoleGrant).where(RoleGrant.account_id == account.id).order_by(RoleGrant.id)
            )
        )
        .scalars()
        .all()
    )
    reports = (
        (
            await session.execute(
                select(Report).where(Report.reporter_account_id == account.id).order_by(Report.id)
            )
        )
        .scalars()
        .unique()
        .all()
    )
    draft = (
        await session.execute(select(Draft).where(Draft.account_id == account.id))
    ).scalar_one_or_none()
    pending = (
        (
            await session.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.chat_id == account.telegram_id,
                    OutboxMessage.status == "pending",
                )
                .order_by(OutboxMessage.id)
            )
        )
        .scalars()
        .all()
    )
    attempts = (
        await session.execute(
            select(LinkAttempt.created_at)
            .where(LinkAttempt.account_id == account.id)
            .order_by(LinkAttempt.id)
        )
    ).scalars()
    decisions = (
        await session.execute(
            select(ReportEvent, Report.number)
            .join(Report, Report.id == ReportEvent.report_id)
            .where(
                ReportEvent.actor_account_id == account.id,
                or_(
                    Report.reporter_account_id.is_(None),
                    Report.reporter_account_id != account.id,
                ),
            )
            .order_by(ReportEvent.id)
        )
    ).all()
    announcements = (
        (
            await session.execute(
                select(Broadcast)
                .where(Broadcast.created_by_account_id == account.id)
                .order_by(Broadcast.id)
            )
        )
        .scalars()
        .all()
    )
    logged = (
        await session.execute(
            select(AuditEntry, Report.number)
            .outerjoin(Report, Report.id == AuditEntry.report_id)
            .where(
                or_(
                    AuditEntry.actor_account_id == account.id,
                    AuditEntry.subject_account_id == account.id,
                )
            )
            .order_by(AuditEntry.id)
        )
    ).all()
    data = {
        "format": EXPORT_FORMAT,
        "generated_at": _time(utcnow()),
        "account": {
            "telegram_id": account.telegram_id,
            "first_name": account.first_name,
            "language": account.locale,
            "phone": account.phone,
            "created_at": _time(account.created_at),
            "consented_at": _time(account.consented_at),
            "linked_at": _time(account.linked_at),
            "household": _household(household),
            "member": _member(member),
            "roles": [
                {
                    "role": g.role,
                    "region_code": g.region_code,
                    "rw": g.rw,
                    "rt": g.rt,
                    "granted_at": _time(g.granted_at),
                    "revoked_at": _time(g.revoked_at),
                }
                for g in roles
            ],
        },
        "reports": [_report(report, account) for report in reports],
        "open_form": None
        if draft is None
        else {
            "form": draft.flow,
            "step": draft.step,
            "answers": draft.answers,
            "started_at": _time(draft.created_at),
            "updated_at": _time(draft.updated_at),
        },
        "pending_messages": [
            {
                "queued_at": _time(m.created_at),
                "purpose": m.purpose,
                "text": m.message.get("text"),
            }
            for m in pending
        ],
        "failed_link_attempts": [_time(at) for at in attempts],
        "decisions_as_reviewer": [
            {
                "report": number,
                "at": _time(event.created_at),
                "from_state": event.from_state,
                "to_state": event.to_state,
                "reason_code": event.reason_code,
                "note": event.note,
            }
            for event, number in decisions
        ],
        "announcements": [
            {
                "created_at": _time(b.created_at),
                "region_code": b.region_code,
                "text": b.text,
                "recipients": b.total,
            }
            for b in announcements
        ],
        "audit_log": [
            {
                "at": _time(entry.created_at),
                "action": entry.action,
                "by_you": entry.actor_account_id == account.id,
                "report": number,
                "details": entry.details,
            }
            for entry, number in logged
        ],
    }
    audit.record(session, "account.export", actor=account, subject=account)
    await session.flush()
    return data


class AlreadyDeleted(DomainError):
    """The account was deleted meanwhile (a second press of the confirmation)."""


@dataclass(frozen=True)
class Deletion:
    """What deleting an account changed (counts only: this goes into the audit log)."""

    reports: int  # reports that no longer name their reporter
    roles: int  # reviewer roles revoked
    messages: int  # outbox rows to the person's chat deleted
    # Reports that waited for the person's answer, returned unanswered to the tier that
    # asked (its reviewers are to be told).
    returned: list[Report] = field(default_factory=list)
    cards: int = 0  # outbox rows about the person's reports in other chats, deleted
    # (chat id, report) of each card deleted before it was sent whose report still waits
    # for that reviewer: they are to be told, without the card (flows/privacy.py).
    unsent: list[tuple[int, Report]] = field(default_factory=list)


async def delete_account(
    session: AsyncSession, account: Account, *, now: datetime | None = None
) -> Deletion:
    """Delete the account's personal data, in the caller's transaction (/hapusakun).

    Deleted: the open form, failed link attempts and every outbox message to the chat
    (pending or sent: they are the person's messages). The account's reports stay for the
    registry but no longer name it (nor do the events it made on them), and the contact
    data it gave about itself in them goes. Its reviewer roles are revoked. The row stays
    as a tombstone for the decisions and the audit entries that refer to it.

    Messages about its reports in other people's outboxes go too (:func:`_scrub_cards`):
    reviewers' cards were rendered when queued, with the household's KK (in full on an
    officer's card), the contact phone and the location pin."""
    now = now or utcnow()
    account_id, chat_id = account.id, account.telegram_id
    # Claimed first: of two presses of the confirmation at once, one deletes.
    claimed = await session.execute(
        update(Account)
        .where(Account.id == account_id, Account.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise AlreadyDeleted(_("This account was already deleted."))
    await session.execute(delete(Draft).where(Draft.account_id == account_id))
    await session.execute(delete(LinkAttempt).where(LinkAttempt.account_id == account_id))
    messages = (
        await session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == chat_id))
    ).rowcount
    # Summaries of announcements the person made would go to their chat.
    await session.execute(
        update(Broadcast).where(Broadcast.notify_chat_id == chat_id).values(notify_chat_id=None)
    )

    waiting = (
        await session.execute(
            select(Report).where(
                Report.reporter_account_id == account_id, Report.state == NEEDS_INFO
            )
        )
    ).scalars()
    returned = [return_unanswered(report, now=now).report for report in waiting]
    await session.flush()

    own = (
        await session.execute(
            select(Report.id, Report.kind, Report.payload, Report.filed_on_behalf).where(
                Report.reporter_account_id == account_id
            )
        )
    ).all()
    ids = [row.id for row in own]
    for row in own:
        keys = [k for k in OWN_CONTACT_ANSWERS.get(row.kind, ()) if k in (row.payload or {})]
        if keys and not row.filed_on_behalf:
            payload = {k: v for k, v in row.payload.items() if k not in keys}
            await _update_report(session, row.id, payload=payload)
    if ids:
        # The reporter's own voice goes with the account: their voice notes are deleted
        # (the answer they gave stays "🎤"); photos and documents stay with the report.
        await session.execute(
            delete(Attachment)
            .where(Attachment.report_id.in_(ids), Attachment.kind == "voice")
            .execution_options(synchronize_session=False)
        )
        for report in returned:  # their new cards are rendered from these objects
            await session.refresh(report, ["attachments"])
        await session.execute(
            update(ReportEvent)
            .where(ReportEvent.report_id.in_(ids), ReportEvent.actor_account_id == account_id)
            .values(actor_account_id=None)
            .execution_options(synchronize_session=False)
        )
        await _update_report(session, None, reporter_account_id=None, account_id=account_id)
    cards, unsent = await _scrub_cards(session, ids, skip={r.id for r in returned})

    roles = (
        await session.execute(
            update(RoleGrant)
            .where(RoleGrant.account_id == account_id, RoleGrant.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    ).rowcount

    account.telegram_id = -account_id
    account.first_name = None
    account.phone = None
    account.locale = None
    account.member_id = None
    account.household_id = None
    account.linked_at = None
    account.consented_at = None
    account.deleted_at = now
    deletion = Deletion(
        reports=len(ids), roles=roles, messages=messages, returned=returned, cards=cards,
        unsent=unsent,
    )  # fmt: skip
    audit.record(
        session, "account.delete", actor=account, subject=account,
        reports=deletion.reports, roles=deletion.roles, cards=cards,
    )  # fmt: skip
    await session.flush()
    await session.refresh(account, ["roles"])
    return deletion


async def _scrub_cards(
    session: AsyncSession, report_ids: list[int], *, skip: set[int]
) -> tuple[int, list[tuple[int, Report]]]:
    """Delete every outbox row about these reports (cards, their attachments, arrival
    notes, status updates), queued or kept; returns how many, and the (chat, report) of
    the unsent ones whose report still waits at a tier.

    A queued card is deleted, not re-rendered: a new card would show the household's KK
    and address again (registry data, but read from the card's row for as long as the
    outbox keeps it). Its reviewer is told instead, without any personal data, that the
    report waits (the caller posts that), and opens it from the registry with /antrian,
    a view recorded in the audit log. ``skip``: reports returned unanswered, whose
    reviewers get a new card anyway."""
    if not report_ids:
        return 0, []
    rows = (
        await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.report_id, OutboxMessage.status).where(
                OutboxMessage.report_id.in_(report_ids)
            )
        )
    ).all()
    if not rows:
        return 0, []
    await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.report_id.in_(report_ids))
        .execution_options(synchronize_session=False)
    )
    pending = sorted({(r.chat_id, r.report_id) for r in rows if r.status == "pending"})
    unsent = []
    for chat_id, report_id in pending:
        report = await session.get(Report, report_id)
        if report is not None and report.state in WAITING and report_id not in skip:
            unsent.append((chat_id, report))
    return len(rows), unsent


async def _update_report(
    session: AsyncSession, report_id: int | None, *, account_id: int | None = None, **values: Any
) -> None:
    """A Core UPDATE of one report (or of every report of ``account_id``) that leaves its
    version alone: the reviewers' buttons on its card stay valid."""
    stmt = update(Report.__table__)  # type: ignore[arg-type]
    if report_id is not None:
        stmt = stmt.where(Report.__table__.c.id == report_id)
    else:
        stmt = stmt.where(Report.__table__.c.reporter_account_id == account_id)
    await session.execute(stmt.values(**values))
