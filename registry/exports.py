"""Streaming exports of the registry: its members as an import file, and applied changes.

Rows are read with server-side cursors (``yield_per``) and yielded one by one, so a
caller that writes each row as it comes (:mod:`registry.tables`) keeps memory flat
however large the registry is. These files are meant for the national system and the
registry's own import: they hold full NIK and KK numbers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from registry.workflow import APPROVED
from storage.models import (
    Account,
    Household,
    HouseholdFlag,
    Member,
    RegistryRevision,
    Report,
    ReportEvent,
)
from storage.patterns import within_region
from storage.streaming import stream_rows

YIELD_PER = 2000

# ---- registry export: the registry in the ``registry import`` format ---------------------------

# A row of the import format: a living member with a NIK, of a household with a KK.
_EXPORTABLE = and_(Member.status == "alive", Member.nik.is_not(None), Household.kk.is_not(None))


@dataclass(frozen=True)
class RegistryExportCounts:
    """What ``registry export`` writes, and what the import format cannot hold."""

    rows: int
    not_living: int  # deceased or moved away: the import makes every member a living one
    without_nik: int  # living, but no NIK yet (a newborn waiting for Dukcapil)
    without_kk: int  # living, with a NIK, in a household that has no KK number yet
    households_without_head: int  # exported households whose head is not among the rows


async def registry_export_counts(session: AsyncSession) -> RegistryExportCounts:
    alive = Member.status == "alive"
    rows, not_living, without_nik, without_kk = (
        await session.execute(
            select(
                func.count().filter(_EXPORTABLE),
                func.count().filter(~alive),
                func.count().filter(alive, Member.nik.is_(None)),
                func.count().filter(alive, Member.nik.is_not(None), Household.kk.is_(None)),
            )
            .select_from(Member)
            .join(Household, Household.id == Member.household_id)
        )
    ).one()
    head = aliased(Member)
    headless = await session.scalar(
        select(func.count(func.distinct(Member.household_id)))
        .join(Household, Household.id == Member.household_id)
        .where(
            _EXPORTABLE,
            ~exists().where(
                head.household_id == Member.household_id,
                head.relationship == "head",
                head.status == "alive",
                head.nik.is_not(None),
            ),
        )
    )
    return RegistryExportCounts(rows, not_living, without_nik, without_kk, headless or 0)


def _sex(code: str) -> str:
    return {"M": "L", "F": "P"}.get(code, code)


async def registry_rows(session: AsyncSession) -> AsyncIterator[list[str]]:
    """Every living member with a NIK, of a household with a KK, as a row of
    ``registry.households.IMPORT_HEADER`` (household by household, members in registry
    order)."""
    stmt = (
        select(
            Household.kk,
            Member.nik,
            Member.name,
            Member.sex,
            Member.birth_date,
            Member.relationship,
            Household.region_code,
            Household.rw,
            Household.rt,
            Household.address,
            Household.desil,
        )
        .join(Household, Household.id == Member.household_id)
        .where(_EXPORTABLE)
        .order_by(Member.household_id, Member.id)
    )
    async for kk, nik, name, sex, born, relationship, region, rw, rt, address, desil in stream_rows(
        session, stmt, YIELD_PER
    ):
        yield [
            kk, nik, name, _sex(sex), born.isoformat(), relationship, region, str(rw), str(rt),
            address, "" if desil is None else str(desil),
        ]  # fmt: skip


# ---- export changes: applied changes for the national system -----------------------------------

CHANGES_HEADER = [
    "report_number", "report_type", "applied_at", "action", "region_code", "rw", "rt",
    "kk", "nik", "member_name", "changes", "approved_by_telegram_id",
]  # fmt: skip
FLAG_ACTION = "household_flagged"
_HIDDEN = ("id", "household_id")  # registry-internal ids


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _flat(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    """A member or household snapshot as field -> value, with ``details`` spread out."""
    flat: dict[str, Any] = {}
    for key, value in (snapshot or {}).items():
        if key == "details" and isinstance(value, dict):
            flat.update(value)
        elif key not in _HIDDEN:
            flat[key] = value
    return flat


def describe_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``field: old -> new; ...`` for every field whose value differs (empty: none)."""
    if after is None:
        return ""  # the member left this household: the row of its new household says how
    old, new = _flat(before), _flat(after)
    parts = []
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key) != new.get(key):
            parts.append(f"{key}: {_value(old.get(key))} -> {_value(new.get(key))}")
    return "; ".join(parts)


def live_telegram_id() -> Any:
    """An account's Telegram id; empty for a deleted account (its row keeps ``-id``)."""
    return case((Account.deleted_at.is_(None), Account.telegram_id)).label("telegram_id")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time())


async def count_changes(session: AsyncSession, since: date) -> int:
    """How many rows :func:`changed_rows` gives for ``since``."""
    start = _start_of(since)
    revisions = await session.scalar(
        select(func.count())
        .select_from(RegistryRevision)
        .where(RegistryRevision.created_at >= start)
    )
    flags = await session.scalar(
        select(func.count()).select_from(HouseholdFlag).where(HouseholdFlag.created_at >= start)
    )
    return (revisions or 0) + (flags or 0)


async def changed_rows(
    session: AsyncSession, since: date, region: str | None = None
) -> AsyncIterator[list[Any]]:
    """Every change applied since the start of ``since`` (UTC), as rows of
    ``CHANGES_HEADER``: a row per registry revision (one member, or a household's own
    data with the member columns empty), in the order they were applied, then a row per
    dispute recorded on a household (``household_flagged``). ``region``: only changes of
    households in that region (itself or below; the web console's export)."""
    start = _start_of(since)
    revisions = (
        select(
            Report.number,
            Report.kind,
            RegistryRevision.created_at,
            RegistryRevision.action,
            Household.region_code,
            Household.rw,
            Household.rt,
            Household.kk,
            RegistryRevision.member_id,
            RegistryRevision.before,
            RegistryRevision.after,
            live_telegram_id(),
        )
        .join(Household, Household.id == RegistryRevision.household_id)
        .outerjoin(Report, Report.id == RegistryRevision.report_id)
        .outerjoin(Account, Account.id == RegistryRevision.approved_by_account_id)
        .where(RegistryRevision.created_at >= start)
        # Desil and programmes written by `registry aid` came from the national data.
        .where(RegistryRevision.action != "aid_data")
        .order_by(RegistryRevision.id)
    )
    if region is not None:
        revisions = revisions.where(within_region(Household.region_code, region))
    async for row in stream_rows(session, revisions, YIELD_PER):
        member = (row.after or row.before or {}) if row.member_id is not None else {}
        yield [
            row.number, row.kind, row.created_at, row.action, row.region_code, row.rw, row.rt,
            row.kk, member.get("nik"), member.get("name"), describe_changes(row.before, row.after),
            row.telegram_id,
        ]  # fmt: skip

    approver = (
        select(live_telegram_id())
        .join(ReportEvent, ReportEvent.actor_account_id == Account.id)
        .where(ReportEvent.report_id == HouseholdFlag.report_id, ReportEvent.to_state == APPROVED)
        .order_by(ReportEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    flags = (
        select(
            Report.number,
            Report.kind,
            HouseholdFlag.created_at,
            HouseholdFlag.region_code,
            func.coalesce(Household.rw, Report.rw),
            func.coalesce(Household.rt, Report.rt),
            Household.kk,
            HouseholdFlag.kind,
            HouseholdFlag.details,
            approver,
        )
        .join(Report, Report.id == HouseholdFlag.report_id)
        .outerjoin(Household, Household.id == HouseholdFlag.household_id)
        .where(HouseholdFlag.created_at >= start)
        .order_by(HouseholdFlag.id)
    )
    if region is not None:
        flags = flags.where(within_region(HouseholdFlag.region_code, region))
    async for number, kind, at, region, rw, rt, kk, flag, details, by in stream_rows(
        session, flags, YIELD_PER
    ):
        yield [
            number, kind, at, FLAG_ACTION, region, rw, rt, kk, None, None,
            describe_changes(None, {"flag": flag, **(details or {})}), by,
        ]  # fmt: skip
