"""Lists for SIKS-NG after a village meeting: ``export usulan``.

What the musyawarah desa/kelurahan agreed (the reports its kelurahan/desa tier approved)
that Kemensos' SIKS-NG takes as proposals (*usulan baru*), objections (*sanggahan*) or
corrections (*perbaikan data*): a new household, a household left out of aid, a wrong
desil, a household that should not receive aid. One row per report with the household's
head (full NIK and KK: the list is for the operator who enters it in SIKS-NG).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.policy import DEFAULT_POLICY
from registry.workflow import AWAITING_KELURAHAN, NEEDS_INFO, REJECTED, WITHDRAWN
from storage.models import Household, Member, Report, ReportEvent
from storage.patterns import within_region

USULAN_BARU, SANGGAHAN, PERBAIKAN_DATA = "usulan baru", "sanggahan", "perbaikan data"
# Report type (the workflow's type key: "<kind>" or "<kind>.<subject>") -> jenis in
# SIKS-NG. One line per type; a type not listed is not a proposal for SIKS-NG.
USULAN_TYPES: dict[str, str] = {
    "new_household": USULAN_BARU,
    "aid_proposal": USULAN_BARU,  # own family or a neighbour's (the usulan form)
    "dispute.left_out": USULAN_BARU,  # filed before the usulan had its own form
    "dispute.desil": PERBAIKAN_DATA,
    "dispute.other_household": SANGGAHAN,
}
USULAN_HEADER = [
    "nik", "no_kk", "nama", "alamat", "rt", "rw", "kode_wilayah", "jenis", "program",
    "alasan", "keputusan", "tanggal_musyawarah", "nomor_laporan",
]  # fmt: skip
AGREED = "DISETUJUI MUSYAWARAH"
_NOT_AGREED = (REJECTED, NEEDS_INFO, WITHDRAWN, AWAITING_KELURAHAN)


def usulan_type(kind: str, payload: dict[str, Any]) -> str | None:
    """The SIKS-NG jenis of a report, or None when it is not a proposal for SIKS-NG."""
    key = DEFAULT_POLICY.type_key(kind, payload)
    return USULAN_TYPES.get(key) or USULAN_TYPES.get(kind)


def _programmes(payload: dict[str, Any]) -> str:
    return ", ".join(str(p).upper().replace("_", "-") for p in payload.get("programmes") or [])


def _head(household: Household) -> Member | None:
    alive = [m for m in household.members if m.status == "alive"]
    return next((m for m in alive if m.relationship == "head"), alive[0] if alive else None)


def _who(report: Report, household: Household | None) -> list[Any]:
    """nik, no_kk, nama, alamat, rt, rw, kode_wilayah of the household the report is about."""
    p = report.payload or {}
    if report.kind == "new_household" and household is None:
        members = p.get("members") or []
        head = next((m for m in members if m.get("m_relationship") == "head"), None)
        head = head or (members[0] if members else {})
        village = (p.get("village") or {}).get("code") or report.region_code
        return [head.get("m_nik") or "", p.get("kk") or "", head.get("m_name") or "",
                p.get("address") or "", p.get("rt"), p.get("rw"), village]  # fmt: skip
    if household is None:  # another household, not identified: described in words
        return ["", p.get("target_kk") or "", "", p.get("target") or "", report.rt, report.rw,
                report.region_code]  # fmt: skip
    head = _head(household)
    return [
        (head.nik or "") if head else "", household.kk or "", head.name if head else "",
        household.address, household.rt, household.rw, household.region_code,
    ]  # fmt: skip


async def usulan_rows(session: AsyncSession, region_code: str, since: date) -> list[list[Any]]:
    """Rows of ``USULAN_HEADER``: the reports of the area (any level) whose kelurahan/desa
    tier approved them since the start of ``since`` (UTC), in the order of that decision."""
    stmt = (
        select(Report, ReportEvent.created_at, ReportEvent.note)
        .join(ReportEvent, ReportEvent.report_id == Report.id)
        .where(
            within_region(Report.region_code, region_code),
            ReportEvent.from_state == AWAITING_KELURAHAN,
            ReportEvent.to_state.not_in(_NOT_AGREED),
            ReportEvent.created_at >= datetime.combine(since, time()),
        )
        .order_by(ReportEvent.created_at, ReportEvent.id)
    )
    seen: set[int] = set()
    rows: list[list[Any]] = []
    # A meeting's list is short: read at once (a report's household and its members are
    # loaded with it).
    for report, decided, note in (await session.execute(stmt)).unique().all():
        jenis = usulan_type(report.kind, report.payload or {})
        if jenis is None or report.id in seen:
            continue
        seen.add(report.id)
        household = report.household
        p = report.payload or {}
        keputusan = f"{AGREED}: {note}" if note else AGREED
        rows.append([
            *_who(report, household), jenis, _programmes(p), p.get("reason") or "",
            keputusan, decided.date(), report.number,
        ])  # fmt: skip
    return rows
