"""Stale drafts: one reminder after a quiet while, then the draft expires.

Run periodically by the bot (``bot/housekeeping.py``); each step claims its draft
with a conditional UPDATE/DELETE, so two bot processes never remind twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.engine import form_named
from flows.io import Reply
from locales import _, format_date, format_number, local_time, use_locale, use_zone
from registry.regions import zone_for
from storage.models import Account, Draft


def _title(draft: Draft) -> str:
    form = form_named(draft.flow)
    return str(form.title) if form is not None else draft.flow


async def sweep(
    session: AsyncSession, *, now: datetime, remind_after: timedelta, expire_after: timedelta
) -> list[Reply]:
    """Expire drafts untouched for ``expire_after``; remind once those untouched for
    ``remind_after``. Returns the messages to send once the session is committed."""
    replies: list[Reply] = []
    rows = (
        await session.execute(
            select(Draft, Account)
            .join(Account, Account.id == Draft.account_id)
            .where(Draft.updated_at < now - min(remind_after, expire_after))
            .order_by(Draft.id)
        )
    ).all()
    for draft, account in rows:
        with use_locale(account.locale), use_zone(await zone_for(session, account)):
            if draft.updated_at < now - expire_after:
                gone = await session.execute(
                    delete(Draft).where(Draft.id == draft.id, Draft.rev == draft.rev)
                )
                if gone.rowcount == 1:
                    text = _(
                        "Your unfinished form “{title}” was deleted after {days} days without "
                        "an answer. Nothing was sent. Send /lapor to start again."
                    ).format(title=_title(draft), days=format_number(expire_after.days or 1))
                    replies.append(Reply(chat_id=account.telegram_id, text=text))
            elif draft.reminded_at is None:
                claimed = await session.execute(
                    update(Draft)
                    .where(
                        Draft.id == draft.id, Draft.rev == draft.rev, Draft.reminded_at.is_(None)
                    )
                    .values(reminded_at=now, updated_at=Draft.updated_at)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:
                    text = _(
                        "⏰ You have not finished your form “{title}”. Send /lanjut to continue "
                        "where you stopped, or /batal to drop it. It will be deleted on {date}."
                    ).format(
                        title=_title(draft),
                        date=format_date(local_time(draft.updated_at + expire_after)),
                    )
                    replies.append(Reply(chat_id=account.telegram_id, text=text))
    return replies
