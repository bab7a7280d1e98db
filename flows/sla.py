"""What the SLA scheduler says: escalations to the next tier, and reviewers' reminders.

Each function works in the caller's session and posts its messages to the outbox, so
the messages are committed with the state they report."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flows import notify
from flows.buttons import OpenQueued
from flows.io import Button, Reply
from flows.review import kind_title, notify_decision
from locales import _, format_date, local_time, use_locale, use_zone
from registry import queues, sla
from registry.policy import Policy
from registry.regions import zone_of
from storage.models import Account, Report

DIGEST_LINES = 10


async def escalate(session: AsyncSession, report_id: int, now: datetime, policy: Policy) -> bool:
    """Escalate one overdue report and queue the news; False when nothing was due."""
    decision = await sla.escalate_if_due(session, report_id, now, policy)
    if decision is None:
        return False
    await notify_decision(session, decision)
    return True


def _digest(account: Account, reports: list[Report]) -> Reply:
    with use_locale(account.locale), use_zone(zone_of(reports[0].region_code)):
        oldest = min(r.tier_since or r.created_at for r in reports)
        lines = [
            _("⏰ {n} report(s) wait for your decision, the oldest since {date}.").format(
                n=len(reports), date=format_date(local_time(oldest))
            )
        ]
        lines += [
            f"• <code>{r.number}</code> · {kind_title(r.kind)}" for r in reports[:DIGEST_LINES]
        ]
        if len(reports) > DIGEST_LINES:
            lines.append(_("… and {n} more.").format(n=len(reports) - DIGEST_LINES))
        buttons = [
            [Button(f"{r.number} · {kind_title(r.kind)}", OpenQueued(r.id).pack())]
            for r in reports[:DIGEST_LINES]
        ]
        lines.append(_("Send /antrian to see them all."))
        return Reply(chat_id=account.telegram_id, text="\n".join(lines), buttons=buttons)


async def remind(session: AsyncSession, now: datetime, policy: Policy) -> int:
    """Claim the reminders due and queue one digest per reviewer; returns the digests."""
    due = await sla.claim_reminders(session, now, policy)
    by_reviewer: dict[int, list[Report]] = defaultdict(list)
    accounts: dict[int, Account] = {}
    for report in due:
        for account in await queues.reviewers_for(session, report):
            accounts[account.id] = account
            by_reviewer[account.id].append(report)
    replies = [_digest(accounts[i], reports) for i, reports in sorted(by_reviewer.items())]
    return notify.post(session, replies, purpose="reminder")
