"""Registry worlds for the tests that call the registry and flows directly (no bot)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts import account_by_telegram_id, ensure_account, grant_role
from registry.households import import_households
from storage.models import Account
from testkit.factories import FAMILIES, VILLAGE, registry_rows, write_csv


async def registry_world(
    session: AsyncSession,
    tmp_path: Path,
    *,
    rt: Mapping[int, Iterable[tuple[int, int]]] | None = None,
    lurah: Iterable[int] = (),
    officers: Mapping[int, str] | None = None,
    accounts: Iterable[int] = (),
) -> None:
    """The synthetic families (SARI, HARTONO) in the registry; then, in this order, RT
    heads of ``(rw, rt)`` areas of the village, lurah of the village, officers of region
    codes, and plain accounts, all by Telegram id. The caller commits."""
    await import_households(session, write_csv(tmp_path / "r.csv", registry_rows(FAMILIES)))
    for telegram_id, areas in (rt or {}).items():
        for rw, rt_number in areas:
            await grant_role(session, telegram_id, "rt", VILLAGE, rw=rw, rt=rt_number)
    for telegram_id in lurah:
        await grant_role(session, telegram_id, "lurah", VILLAGE)
    for telegram_id, region in (officers or {}).items():
        await grant_role(session, telegram_id, "officer", region)
    for telegram_id in accounts:
        await ensure_account(session, telegram_id)


async def account(session: AsyncSession, telegram_id: int, *, roles: bool = False) -> Account:
    """The account of this Telegram id (it must exist); ``roles``: with its grants loaded."""
    found = await account_by_telegram_id(session, telegram_id)
    assert found is not None, f"no account for Telegram id {telegram_id}"
    if roles:
        await session.refresh(found, ["roles"])
    return found
