"""Aid programmes from the national data: ``lapor-warga registry import-aid FILE``.

Dinas Sosial receives the programmes each family receives (SIKS-NG); this writes them
onto the families of the registry, so that /bansos tells a resident what is recorded
(the desil comes with ``registry import-desil``, :mod:`registry.desil`). The file is a
CSV with the header ``kk,programmes``: ``programmes`` empty or codes separated by spaces
(``pkh bpnt pbi_jk blt``). Every row is checked first; nothing is written unless all are
right. A family whose programmes change gets a revision (``aid_data``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from registry import attributes as attr
from registry.errors import ImportRejected, RowError
from registry.households import household_by_kk
from registry.nik import InvalidIdentityNumber, validate_kk
from registry.textfile import csv_rows
from storage.models import Household, RegistryRevision

AID_HEADER = ["kk", "programmes"]
AID_DATA = "aid_data"  # the revision's action
PROGRAMMES = [code for code, _label in attr.AID_PROGRAMMES]


def aid_snapshot(household: Household) -> dict[str, Any]:
    return {"programmes": list((household.details or {}).get("programmes") or [])}


def _parse(line: int, cells: list[str]) -> tuple[str, list[str]] | RowError:
    if len(cells) != len(AID_HEADER):
        return RowError(line, _("expected {n} columns").format(n=len(AID_HEADER)))
    kk, programmes_text = (c.strip() for c in cells)
    try:
        kk = validate_kk(kk)
    except InvalidIdentityNumber:
        return RowError(line, _("KK is not valid: it must be 16 digits"))
    programmes = programmes_text.replace(",", " ").replace(";", " ").lower().split()
    unknown = [p for p in programmes if p not in PROGRAMMES]
    if unknown:
        return RowError(
            line,
            _("unknown programme {code} (use {codes})").format(
                code=unknown[0], codes=", ".join(PROGRAMMES)
            ),
        )
    return kk, [p for p in PROGRAMMES if p in programmes]


async def import_aid_data(session: AsyncSession, path: Path) -> tuple[int, int]:
    """Apply the file; returns (families read, families changed). ImportRejected lists
    every bad row (nothing is written then)."""
    rows = csv_rows(path)
    errors: list[RowError] = []
    parsed: list[tuple[Household, list[str]]] = []
    try:
        _line, header = next(rows, (1, []))
        if [h.strip().lower() for h in header] != AID_HEADER:
            raise ImportRejected(
                [
                    RowError(
                        1, _("header must be exactly: {header}").format(header=",".join(AID_HEADER))
                    )
                ]
            )
        seen: dict[str, int] = {}
        for line, cells in rows:
            if not cells:
                continue
            result = _parse(line, cells)
            if isinstance(result, RowError):
                errors.append(result)
                continue
            kk, programmes = result
            if kk in seen:
                errors.append(RowError(line, _("KK already on line {line}").format(line=seen[kk])))
                continue
            seen[kk] = line
            household = await household_by_kk(session, kk)
            if household is None:
                errors.append(RowError(line, _("no family with this KK in the registry")))
                continue
            parsed.append((household, programmes))
    finally:
        rows.close()
    if errors:
        raise ImportRejected(errors)
    changed = 0
    for household, programmes in parsed:
        before = aid_snapshot(household)
        after = {"programmes": programmes}
        if before == after:
            continue
        household.details = {**(household.details or {}), "programmes": programmes}
        session.add(
            RegistryRevision(household_id=household.id, action=AID_DATA, before=before, after=after)
        )
        changed += 1
    await session.flush()
    return len(parsed), changed


__all__ = ["AID_DATA", "AID_HEADER", "aid_snapshot", "import_aid_data"]
