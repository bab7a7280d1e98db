"""Approved changes out, for the village's OpenSID: ``export changes --format opensid``.

Two workbooks from the revisions that approved reports wrote since a day in one
desa/kelurahan's households (an OpenSID holds one village; changes that came from an
import are the village's own data already and are left out):

* the people OpenSID can take by its import, in its import layout
  (``registry.opensid.EXPORT_COLUMNS``): members added (births, people moved in, new
  households) and members whose importable fields were corrected, each as they are now;
* a worklist of what OpenSID's import cannot carry and the operator enters by hand: a
  member who died or moved away, moved to another KK or got another SHDK, one row per
  change with OpenSID's event code (``registry.opensid.WORKLIST_EVENTS``, keyed by report
  kind), dates, place of death, destination, a note and the report number.

Both hold full NIK and KK numbers (for the operator) and are written 0600.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import opensid
from storage.models import Household, Member, RegistryRevision, Report
from storage.streaming import stream_rows

_CHUNK = 500


@dataclass
class OpenSidExport:
    """The rows of both workbooks, in the order the changes were applied."""

    people: list[list[Any]] = field(default_factory=list)
    worklist: list[list[Any]] = field(default_factory=list)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Which of OpenSID's not-importable changes a member revision makes."""
    found = []
    if before.get("status") == "alive" and after.get("status") != "alive":
        found.append("ended")
    if before.get("household_id") != after.get("household_id"):
        found.append("moved")
    if before.get("relationship") != after.get("relationship"):
        found.append("shdk")
    return found


def _importable(before: dict[str, Any], after: dict[str, Any]) -> bool:
    if after.get("status") != "alive":
        return False
    if any(before.get(k) != after.get(k) for k in opensid.IMPORTABLE_FIELDS):
        return True
    old, new = before.get("details") or {}, after.get("details") or {}
    return any(old.get(k) != new.get(k) for k in opensid.IMPORTABLE_DETAILS)


def _place(value: Any) -> str:
    """A place answer (text, or a region answer with code and name) as words."""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("text") or value.get("code") or "")
    return "" if value is None else str(value)


def _shdk_text(snapshot: dict[str, Any]) -> str:
    code = opensid.shdk_code(snapshot["relationship"], snapshot.get("sex", "M"))
    return f"{code} {opensid.SHDK.label(code)}"


async def _revisions(session: AsyncSession, since: date, region: str) -> AsyncIterator[Any]:
    stmt = (
        select(RegistryRevision, Report.number, Report.kind, Report.payload, Report.created_at)
        .join(Report, Report.id == RegistryRevision.report_id)
        .join(Household, Household.id == RegistryRevision.household_id)
        .where(
            RegistryRevision.created_at >= datetime.combine(since, time()),
            RegistryRevision.member_id.is_not(None),
            Household.region_code == region,
        )
        .order_by(RegistryRevision.id)
    )
    async for row in stream_rows(session, stmt, _CHUNK):
        yield row


async def opensid_export(session: AsyncSession, since: date, region: str) -> OpenSidExport:
    """The import rows and the worklist rows of the changes approved since ``since`` in
    the households of one desa/kelurahan (``region``: an OpenSID holds one village)."""
    out = OpenSidExport()
    importable: list[int] = []
    kks: dict[int, str | None] = {}

    async def kk_of(household_id: Any) -> str:
        if household_id not in kks:
            kks[household_id] = await session.scalar(
                select(Household.kk).where(Household.id == household_id)
            )
        return kks[household_id] or ""

    async for revision, number, kind, payload, reported in _revisions(session, since, region):
        before, after = revision.before, revision.after
        if after is None:
            continue  # the member left this household: its new household's revision says how
        if before is None:
            importable.append(revision.member_id)
            continue
        if _importable(before, after):
            importable.append(revision.member_id)
        changes = _changes(before, after)
        if not changes:
            continue
        event = opensid.WORKLIST_EVENTS.get(kind)
        if event is None or not set(changes) & event.changes:
            event = opensid.FALLBACK_EVENTS[changes[0]]
        notes = []
        if "moved" in changes:
            notes.append(f"no_kk lama {await kk_of(before.get('household_id'))}")
        if "shdk" in changes:
            notes.append(f"kk_level {_shdk_text(before)} -> {_shdk_text(after)}")
        answers = payload or {}
        out.worklist.append([
            after.get("nik") or "", after.get("name"), await kk_of(revision.household_id),
            event.code, event.label, event.log if event.code is not None else "",
            answers.get(event.date_key, "") if event.date_key else "", reported.date(),
            _place(answers.get(event.place_key)) if event.place_key else "",
            _place(answers.get(event.destination_key)) if event.destination_key else "",
            "; ".join(notes), number,
        ])  # fmt: skip
    out.people = await _people(session, list(dict.fromkeys(importable)))
    return out


async def _people(session: AsyncSession, member_ids: list[int]) -> list[list[Any]]:
    """Rows of ``EXPORT_COLUMNS`` for the living members among ``member_ids``, as now."""
    members: dict[int, Member] = {}
    for i in range(0, len(member_ids), _CHUNK):
        found = await session.execute(
            select(Member).where(Member.id.in_(member_ids[i : i + _CHUNK]))
        )
        members.update({m.id: m for m in found.scalars()})
    households: dict[int, Household] = {}
    rows = []
    for member_id in member_ids:
        member = members.get(member_id)
        if member is None or member.status != "alive":
            continue
        if member.household_id not in households:
            household = await session.get(Household, member.household_id)
            assert household is not None
            households[member.household_id] = household
        rows.append(person_row(member, households[member.household_id]))
    return rows


def person_row(member: Member, household: Household) -> list[Any]:
    """A member as a row of OpenSID's import layout (religion and the others left empty:
    the registry does not keep them; the operator completes them in OpenSID)."""
    details = dict(member.details or {})
    values: dict[str, Any] = {
        "alamat": household.address, "dusun": (household.details or {}).get("dusun", ""),
        "rw": f"{household.rw:03d}", "rt": f"{household.rt:03d}", "nama": member.name,
        "no_kk": household.kk or "", "nik": member.nik or opensid.NO_NIK,
        "sex": opensid.SEX_CODE[member.sex], "tempatlahir": details.get("birth_place", ""),
        "tanggallahir": member.birth_date.isoformat(),
        "pendidikan_kk_id": opensid.education_code(details),
        "pekerjaan_id": opensid.work_code(details),
        "status_kawin": opensid.marital_code(details),
        "kk_level": opensid.shdk_code(member.relationship, member.sex),
        "status_dasar": opensid.LIVING,
    }  # fmt: skip
    return [values.get(column) for column in opensid.EXPORT_COLUMNS]
