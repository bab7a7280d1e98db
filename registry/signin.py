"""Signing in to the web console: one-time links from ``/masuk``, the Telegram Login
Widget's signed data, and server-side sessions.

Only SHA-256 hashes of a link's code and of a session's cookie token are stored, so a
copy of the database signs nobody in. Only an account holding an active role grant
gets in, and its grants are read again on every request (:func:`session_account`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from registry import audit
from registry.accounts import account_by_telegram_id
from registry.errors import DomainError, NotAllowed
from storage.models import Account, ConsoleLoginCode, ConsoleSession, utcnow

LINK_VALID = timedelta(minutes=10)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
WIDGET_MAX_AGE = timedelta(days=1)
# The fields the Telegram Login Widget signs (its ``hash`` aside).
WIDGET_FIELDS = ("id", "first_name", "last_name", "username", "photo_url", "auth_date")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def can_sign_in(account: Account | None) -> bool:
    """An account that is not deleted and holds at least one active role grant."""
    return account is not None and account.deleted_at is None and bool(account.roles)


async def new_login_code(
    session: AsyncSession, account: Account, now: datetime | None = None
) -> str:
    """A one-time code for ``CONSOLE_URL/login/<code>``, valid :data:`LINK_VALID`."""
    if not can_sign_in(account):
        raise NotAllowed(_("Only people with a role can sign in to the web console."))
    now = now or utcnow()
    code = secrets.token_urlsafe(24)
    session.add(
        ConsoleLoginCode(
            code_hash=_sha256(code), account_id=account.id, created_at=now,
            expires_at=now + LINK_VALID,
        )
    )  # fmt: skip
    await session.flush()
    return code


async def use_login_code(
    session: AsyncSession, code: str, now: datetime | None = None
) -> Account | None:
    """The account a valid, unused code belongs to; the code is used up. None for an
    unknown, used or expired code, or an account without a role any more."""
    now = now or utcnow()
    if not code or len(code) > 100:
        return None
    found = (
        await session.execute(
            select(ConsoleLoginCode).where(ConsoleLoginCode.code_hash == _sha256(code))
        )
    ).scalar_one_or_none()
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    # Used once even when two requests bring the same code at the same moment.
    claimed = await session.execute(
        update(ConsoleLoginCode)
        .where(ConsoleLoginCode.id == found.id, ConsoleLoginCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    account = await session.get(Account, found.account_id)
    if account is not None:
        await session.refresh(account, ["roles"])
    return account if can_sign_in(account) else None


class WidgetRefused(DomainError):
    code = "widget_refused"


def check_widget(data: Mapping[str, str], bot_token: str, now: datetime | None = None) -> int:
    """The Telegram user id of the Login Widget's data, checked as Telegram documents it:
    ``hash`` is the hex HMAC-SHA256 of the data-check-string (the other fields as sorted
    ``key=value`` lines) keyed with SHA-256 of the bot token, and ``auth_date`` is at
    most a day old. Raises :class:`WidgetRefused` otherwise."""
    given = data.get("hash", "")
    fields = {k: v for k, v in data.items() if k != "hash" and k in WIDGET_FIELDS}
    check_string = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    key = hashlib.sha256(bot_token.encode()).digest()
    expected = hmac.new(key, check_string.encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise WidgetRefused(_("The sign-in data from Telegram is not valid."))
    try:
        signed = datetime.fromtimestamp(int(fields["auth_date"]), UTC).replace(tzinfo=None)
        telegram_id = int(fields["id"])
    except (KeyError, ValueError, OverflowError, OSError):
        raise WidgetRefused(_("The sign-in data from Telegram is not valid.")) from None
    now = now or utcnow()
    if signed > now + timedelta(minutes=5) or now - signed > WIDGET_MAX_AGE:
        raise WidgetRefused(_("The sign-in data from Telegram is too old. Please sign in again."))
    return telegram_id


async def widget_account(session: AsyncSession, telegram_id: int) -> Account | None:
    account = await account_by_telegram_id(session, telegram_id)
    return account if can_sign_in(account) else None


async def open_session(
    session: AsyncSession,
    account: Account,
    *,
    method: str,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> tuple[str, ConsoleSession]:
    """A new signed-in session; returns the cookie token (only its hash is stored). The
    sign-in goes into the audit log."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=_sha256(token), csrf_token=secrets.token_urlsafe(32), account_id=account.id,
        method=method, user_agent=(user_agent or "")[:200] or None, created_at=now,
        last_seen_at=now, expires_at=now + ABSOLUTE_TIMEOUT,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    audit.record(session, "console.sign_in", actor=account, method=method, session_id=row.id)
    return token, row


async def session_account(
    session: AsyncSession, token: str | None, now: datetime | None = None
) -> tuple[ConsoleSession, Account] | None:
    """The live session of a cookie token and its account, with the account's grants
    read now; its idle clock restarts. None when the session ended, was idle for
    :data:`IDLE_TIMEOUT`, is older than :data:`ABSOLUTE_TIMEOUT`, or its account holds no
    role any more (the session is then ended)."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = (
        await session.execute(
            select(ConsoleSession).where(ConsoleSession.token_hash == _sha256(token))
        )
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None
    if row.expires_at <= now or now - row.last_seen_at >= IDLE_TIMEOUT:
        row.ended_at = now
        return None
    account = await session.get(Account, row.account_id)
    if account is not None:
        await session.refresh(account, ["roles"])  # a grant revoked a moment ago is gone
    if account is None or not can_sign_in(account):
        row.ended_at = now
        return None
    row.last_seen_at = now
    return row, account


async def end_session(
    session: AsyncSession, row: ConsoleSession, account: Account, *, reason: str = "logout"
) -> None:
    row.ended_at = utcnow()
    audit.record(session, "console.sign_out", actor=account, session_id=row.id, reason=reason)


async def sessions_of(session: AsyncSession, account: Account) -> list[ConsoleSession]:
    """The account's sessions still open, newest first."""
    now = utcnow()
    stmt = (
        select(ConsoleSession)
        .where(
            ConsoleSession.account_id == account.id,
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now,
            ConsoleSession.last_seen_at > now - IDLE_TIMEOUT,
        )
        .order_by(ConsoleSession.id.desc())
    )
    return list((await session.execute(stmt)).scalars().all())


async def revoke_session(session: AsyncSession, account: Account, session_id: int) -> bool:
    """End one of the account's own sessions (e.g. a browser left signed in elsewhere)."""
    row = await session.get(ConsoleSession, session_id)
    if row is None or row.account_id != account.id or row.ended_at is not None:
        return False
    await end_session(session, row, account, reason="revoked")
    return True
