"""The audit log: every decision, every view of a report's personal data by a reviewer,
data requests, account deletions and role changes.

Entries name accounts and reports by id and carry small ``details`` (a role, an area,
a state); never a NIK, KK, phone number or message text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Account, AuditEntry, Report
from storage.streaming import stream_rows

ACCOUNT, CLI, SYSTEM = "account", "cli", "system"


def record(
    session: AsyncSession,
    action: str,
    *,
    actor: Account | None = None,
    by: str | None = None,
    report: Report | None = None,
    subject: Account | None = None,
    **details: Any,
) -> AuditEntry:
    """Add an entry to the session (written with the change it records).

    ``actor`` is the account that acted; ``by`` says who acted when no account did
    (``"cli"`` for the command line, ``"system"`` for the scheduler)."""
    entry = AuditEntry(
        actor_account_id=actor.id if actor is not None else None,
        actor=by or (ACCOUNT if actor is not None else SYSTEM),
        action=action,
        report_id=report.id if report is not None else None,
        subject_account_id=subject.id if subject is not None else None,
        details=details,
    )
    session.add(entry)
    return entry


async def entries_since(session: AsyncSession, since: datetime) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.created_at >= since).order_by(AuditEntry.id)
    return list((await session.execute(stmt)).scalars().all())


# ---- ``lapor-warga audit``: the log as a table --------------------------------------------------

LISTING_HEADER = [
    "time", "actor", "account_id", "telegram_id", "action", "report", "subject_account_id",
    "details",
]  # fmt: skip


def _who(account_id: int | None, telegram_id: int | None, actor: str) -> str:
    """``account 3 (telegram 7001)``, ``account 3 (deleted)``, ``cli`` or ``system``; a
    decision an account took from the command line says ``via cli``."""
    if account_id is None:
        return actor
    who = f"account {account_id} "
    who += (
        f"(telegram {telegram_id})" if telegram_id is not None and telegram_id > 0 else "(deleted)"
    )
    return who + (f" via {actor}" if actor not in (ACCOUNT, SYSTEM) else "")


def _detail(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "-" if value is None else str(value)


async def listing(session: AsyncSession, since: datetime) -> AsyncIterator[dict[str, Any]]:
    """Entries from ``since`` (UTC), oldest first, as rows of ``LISTING_HEADER`` plus
    ``who`` (the actor in words) and ``text`` (the details as ``key=value`` words)."""
    actor, subject = aliased(Account), aliased(Account)
    stmt = (
        select(AuditEntry, actor.telegram_id, Report.number, subject.telegram_id)
        .outerjoin(actor, actor.id == AuditEntry.actor_account_id)
        .outerjoin(Report, Report.id == AuditEntry.report_id)
        .outerjoin(subject, subject.id == AuditEntry.subject_account_id)
        .where(AuditEntry.created_at >= since)
        .order_by(AuditEntry.created_at, AuditEntry.id)
    )
    async for entry, telegram_id, number, subject_telegram_id in stream_rows(session, stmt, 1000):
        details = dict(entry.details or {})
        words = [f"{key}={_detail(value)}" for key, value in details.items()]
        if entry.subject_account_id is not None:
            subject_is = (
                f"telegram {subject_telegram_id}"
                if subject_telegram_id is not None and subject_telegram_id > 0
                else "deleted"
            )
            words.insert(0, f"subject=account {entry.subject_account_id} ({subject_is})")
        yield {
            "time": entry.created_at.isoformat(timespec="seconds") + "Z",
            "actor": entry.actor,
            "account_id": entry.actor_account_id,
            "telegram_id": telegram_id,
            "action": entry.action,
            "report": number,
            "subject_account_id": entry.subject_account_id,
            "details": json.dumps(details, ensure_ascii=False, sort_keys=True),
            "who": _who(entry.actor_account_id, telegram_id, entry.actor),
            "text": " ".join(words),
        }


async def area_entries(
    session: AsyncSession, region_code: str, since: datetime, limit: int = 200
) -> list[tuple[AuditEntry, str | None]]:
    """The newest entries (with their report's number) about a region: its reports, and
    what accounts that hold or held a role in it did or had done to them (the web
    console's audit page for an admin of that region)."""
    from storage.models import RoleGrant
    from storage.patterns import within_region

    people = select(RoleGrant.account_id).where(within_region(RoleGrant.region_code, region_code))
    stmt = (
        select(AuditEntry, Report.number)
        .outerjoin(Report, Report.id == AuditEntry.report_id)
        .where(
            AuditEntry.created_at >= since,
            or_(
                within_region(Report.region_code, region_code),
                AuditEntry.actor_account_id.in_(people),
                AuditEntry.subject_account_id.in_(people),
            ),
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return [(entry, number) for entry, number in (await session.execute(stmt)).all()]


def details_text(entry: AuditEntry) -> str:
    """An entry's details as ``key=value`` words."""
    return " ".join(f"{key}={_detail(value)}" for key, value in (entry.details or {}).items())
