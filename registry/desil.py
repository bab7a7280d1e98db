"""Desil from SIKS-NG: ``registry import-desil FILE`` (CSV or xlsx).

Kemensos sends each region the desil (welfare decile, 1-10) of its households from
SIKS-NG as a list of ``no_kk, nik, desil`` (one row per household or per member; the
header names the columns, in any order, extra ones ignored). Each household's desil is
set with a registry revision whose source is the import. Every bad row (an unknown KK, a
NIK not in that KK, a desil outside 1-10, rows of one KK with different desils) is
listed as ``FILE:LINE: reason``, and nothing is written unless all rows are valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from registry import opensid
from registry.errors import ImportRejected, RowError
from registry.households import nik_error
from registry.nik import InvalidIdentityNumber, mask, parse_nik, validate_kk
from registry.population import is_workbook, open_workbook
from registry.tables import csv_unescape
from registry.textfile import csv_rows
from storage.models import Household, Member, RegistryImport, RegistryRevision

COLUMNS = ("no_kk", "nik", "desil")
REQUIRED = ("no_kk", "desil")
_CHUNK = 500


def table_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line or workbook row, cells as text) of a CSV (UTF-8) or an .xlsx's first sheet."""
    if not is_workbook(path):
        for line, cells in csv_rows(path):
            yield line, [csv_unescape(c) for c in cells]
        return
    book, rows, _total = open_workbook(path)
    try:
        for line, values in enumerate(rows, start=1):
            yield line, [_as_text(v) for v in values]
    finally:
        book.close()


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return opensid.only_digits(value) if float(value).is_integer() else str(value)
    return str(value)


@dataclass
class DesilResult:
    households: int  # households in the file
    changed: int  # whose desil was set or changed
    record: RegistryImport


def _desil(text: str) -> int | None:
    text = text.strip()
    if text.endswith(".0"):  # a number cell saved as text by a spreadsheet
        text = text[:-2]
    return int(text) if text.isdigit() and 1 <= int(text) <= 10 else None


async def import_desil(
    session: AsyncSession, path: Path, *, progress: Callable[[int], None] | None = None
) -> DesilResult:
    """Set the desil of every household of the file; all or nothing (``ImportRejected``)."""
    rows = table_rows(path)
    header = [h.strip().lower() for h in next(rows, (1, []))[1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        rows.close()
        raise ImportRejected([RowError(1, _(
            "the header row must name the columns {columns} (missing: {missing})"
        ).format(columns=", ".join(COLUMNS), missing=", ".join(missing)))])  # fmt: skip
    where = {c: header.index(c) for c in COLUMNS if c in header}
    errors: list[RowError] = []
    wanted: dict[str, tuple[int, int]] = {}  # kk -> (desil, first line)
    niks: list[tuple[int, str, str]] = []  # (line, kk, nik)
    for line, cells in rows:
        if progress is not None:
            progress(1)
        cell = {c: (cells[i].strip() if i < len(cells) else "") for c, i in where.items()}
        if not any(cell.values()):
            continue
        problems = []
        kk = None
        try:
            kk = validate_kk(opensid.only_digits(cell["no_kk"]))
        except InvalidIdentityNumber as exc:
            problems.append(nik_error(exc, "no_kk"))
        if cell.get("nik"):
            try:
                nik = parse_nik(opensid.only_digits(cell["nik"])).nik
                if kk is not None:
                    niks.append((line, kk, nik))
            except InvalidIdentityNumber as exc:
                problems.append(nik_error(exc, "NIK"))
        desil = _desil(cell["desil"])
        if desil is None:
            problems.append(_("desil must be a number from 1 to 10"))
        if kk is not None and desil is not None:
            first = wanted.setdefault(kk, (desil, line))
            if first[0] != desil:
                problems.append(_("household {kk}: desil {desil} differs from line {line}").format(
                    kk=mask(kk), desil=desil, line=first[1]))  # fmt: skip
        errors.extend(RowError(line, p) for p in problems)

    households = await _households(session, sorted(wanted))
    for kk, (_desil_value, line) in wanted.items():
        if kk not in households:
            errors.append(RowError(line, _("household {kk} is not in the registry").format(
                kk=mask(kk))))  # fmt: skip
    members = await _members(session, [nik for _line, _kk, nik in niks])
    for line, kk, nik in niks:
        household_id = members.get(nik)
        if kk in households and household_id != households[kk].id:
            errors.append(RowError(line, _("NIK {nik} is not a member of household {kk}").format(
                nik=mask(nik), kk=mask(kk))))  # fmt: skip
    if errors:
        errors.sort(key=lambda e: e.line)
        raise ImportRejected(errors, count=len({e.line for e in errors}))

    record = RegistryImport(source="siks-ng", file_name=path.name[:255], region_code=None)
    session.add(record)
    await session.flush()
    changed = 0
    for kk, (desil, _line) in wanted.items():
        household = households[kk]
        if household.desil == desil:
            continue
        changed += 1
        session.add(RegistryRevision(
            household_id=household.id, import_id=record.id, action="household_changed",
            before={"desil": household.desil}, after={"desil": desil},
        ))  # fmt: skip
        household.desil = desil
    record.counts = {"households": len(wanted), "changed": changed}
    await session.flush()
    return DesilResult(len(wanted), changed, record)


async def _households(session: AsyncSession, kks: list[str]) -> dict[str, Household]:
    found: dict[str, Household] = {}
    for i in range(0, len(kks), _CHUNK):
        rows = await session.execute(select(Household).where(Household.kk.in_(kks[i : i + _CHUNK])))
        found.update({h.kk: h for h in rows.scalars() if h.kk})
    return found


async def _members(session: AsyncSession, niks: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i in range(0, len(niks), _CHUNK):
        rows = await session.execute(
            select(Member.nik, Member.household_id).where(Member.nik.in_(niks[i : i + _CHUNK]))
        )
        found.update({nik: household_id for nik, household_id in rows.all() if nik})
    return found
