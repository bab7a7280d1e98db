"""Kemendagri region codes: import and lookup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from locales import WIB, WIT, WITA, _
from registry.errors import ImportRejected, RowError
from registry.textfile import csv_rows
from storage.models import Household, Region
from storage.patterns import contains, starts_with

BUNDLED_REGIONS_CSV = Path(__file__).resolve().parent / "data" / "kode_wilayah_2025.csv"

_CODE_RE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
LEVEL_NAMES = {1: "provinsi", 2: "kabupaten/kota", 3: "kecamatan", 4: "desa/kelurahan"}
VILLAGE_LEVEL = 4
_BATCH = 5000


# Provinces in Central (WITA, UTC+8) and Eastern (WIT, UTC+9) Indonesia Time; the others
# are in Western Indonesia Time (WIB, UTC+7). By the first two digits of a region code.
WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})
WIT_PROVINCES = frozenset({"81", "82", "91", "92", "93", "94", "95", "96"})


def zone_of(code: str | None) -> timezone:
    """The time zone of a region (WIB, WITA or WIT), from its province code."""
    province = (code or "")[:2]
    if province in WIT_PROVINCES:
        return WIT
    if province in WITA_PROVINCES:
        return WITA
    return WIB


def region_level(code: str) -> int | None:
    """1 for ``16``, 2 for ``16.71``, 3 for ``16.71.01``, 4 for ``16.71.01.1001``; else None."""
    if not _CODE_RE.match(code):
        return None
    return code.count(".") + 1


def parent_of(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


@dataclass
class RegionImportResult:
    added: int
    renamed: int
    unchanged: int


def _read(path: Path) -> Iterator[tuple[int, str, str]]:
    rows = csv_rows(path)
    try:
        header = next(rows, (1, []))[1]
        if [h.strip().lower() for h in header] != ["kode", "nama"]:
            raise ImportRejected(
                [RowError(1, _("header must be exactly: {header}").format(header="kode,nama"))]
            )
        for line, row in rows:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != 2:
                yield (line, "", _("expected {n} columns, found {m}").format(n=2, m=len(row)))
                continue
            yield line, row[0].strip(), row[1].strip()
    finally:
        rows.close()


def _within(code: str, area: str) -> bool:
    """``code`` is ``area``, one of its ancestors, or inside it."""
    return area == code or area.startswith(code + ".") or code.startswith(area + ".")


async def import_regions(
    session: AsyncSession, path: Path, *, within: str | None = None
) -> RegionImportResult:
    """Insert new regions and rename changed ones; nothing is written if a row is bad.

    Every code must have the dotted Kemendagri shape and its parent must be in the
    file or already in the database. ``within`` (e.g. ``"16.71"``) imports only that
    area and its ancestors.
    """
    errors: list[RowError] = []
    rows: dict[str, str] = {}
    line_of: dict[str, int] = {}
    for line, code, name in _read(path):
        if within is not None and code and not _within(code, within):
            continue
        if not code:
            errors.append(RowError(line, name))  # the column-count message
        elif region_level(code) is None:
            errors.append(
                RowError(
                    line,
                    _("region code '{code}' is not of the form 16.71.01.1001").format(code=code),
                )
            )
        elif not name:
            errors.append(RowError(line, _("region {code} has no name").format(code=code)))
        elif code in rows:
            errors.append(
                RowError(
                    line,
                    _("region code {code} already appears on line {line}").format(
                        code=code, line=line_of[code]
                    ),
                )
            )
        else:
            rows[code] = name
            line_of[code] = line

    existing: dict[str, str] = {
        code: name for code, name in (await session.execute(select(Region.code, Region.name))).all()
    }
    if not errors:
        for code in rows:
            parent = parent_of(code)
            if parent is not None and parent not in rows and parent not in existing:
                errors.append(
                    RowError(
                        line_of[code],
                        _("parent region {parent} of {code} is unknown").format(
                            parent=parent, code=code
                        ),
                    )
                )
    if errors:
        errors.sort(key=lambda e: e.line)
        raise ImportRejected(errors)

    new = [
        {"code": c, "name": n, "level": region_level(c), "parent_code": parent_of(c)}
        for c, n in rows.items()
        if c not in existing
    ]
    renamed = [
        {"code": c, "name": n} for c, n in rows.items() if c in existing and existing[c] != n
    ]
    for start in range(0, len(new), _BATCH):
        await session.execute(Region.__table__.insert(), new[start : start + _BATCH])
    for item in renamed:
        region = await session.get(Region, item["code"])
        assert region is not None
        region.name = item["name"]
    await session.flush()
    return RegionImportResult(
        added=len(new), renamed=len(renamed), unchanged=len(rows) - len(new) - len(renamed)
    )


async def get_region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def region_path(session: AsyncSession, code: str) -> list[Region]:
    """The region and its ancestors, province first."""
    codes = [code]
    while (parent := parent_of(codes[-1])) is not None:
        codes.append(parent)
    found = (await session.execute(select(Region).where(Region.code.in_(codes)))).scalars().all()
    return sorted(found, key=lambda r: r.level)


@dataclass(frozen=True)
class RegionMatch:
    code: str
    label: str  # "Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang"


async def search_regions(
    session: AsyncSession, query: str, *, level: int = 4, limit: int = 8
) -> list[RegionMatch]:
    """Regions of ``level`` whose name contains every word of ``query`` (case and hyphens
    ignored), names starting with the query first, or the one region whose code the query
    is; each labelled with its parents."""
    words = [w for w in query.casefold().replace("-", " ").split() if w]
    if not words:
        return []
    stmt = select(Region).where(Region.level == level)
    if region_level(query.strip()) == level:
        exact = await session.execute(stmt.where(Region.code == query.strip()))
        return await _labelled(session, list(exact.scalars()), level)
    normalized = func.lower(func.replace(Region.name, "-", " "))
    for word in words:
        stmt = stmt.where(contains(normalized, word))
    starts = case((starts_with(normalized, words[0]), 0), else_=1)
    found = (
        (await session.execute(stmt.order_by(starts, Region.name, Region.code).limit(limit)))
        .scalars()
        .all()
    )
    return await _labelled(session, list(found), level)


async def _labelled(session: AsyncSession, found: list[Region], level: int) -> list[RegionMatch]:
    parents = {
        code
        for region in found
        for code in _ancestors(region.code)
        if (region_level(code) or 0) >= max(level - 2, 1)
    }
    rows = await session.execute(select(Region.code, Region.name).where(Region.code.in_(parents)))
    names = {code: name for code, name in rows}
    return [
        RegionMatch(
            region.code,
            ", ".join([region.name, *(names[c] for c in _ancestors(region.code) if c in names)]),
        )
        for region in found
    ]


def _ancestors(code: str) -> list[str]:
    """Parent codes, nearest first."""
    out = []
    while (parent := parent_of(code)) is not None:
        out.append(parent)
        code = parent
    return out


_HOUSEHOLD_REGIONS = "household_regions"  # session.info: household id -> its region code


def remember_household_region(session: AsyncSession, household_id: int, code: str) -> None:
    """A household's region code read along with something else in this session (the
    update's account: ``registry.accounts.account_for_update``), so :func:`zone_for` need
    not read it again. Kept for the session only (one update): a household's region is not
    changed by the bot's flows, only by imports in sessions of their own."""
    session.info.setdefault(_HOUSEHOLD_REGIONS, {})[household_id] = code


async def zone_for(session: AsyncSession, account: Any) -> timezone:
    """The zone a person's times are shown in: their household's region, else their
    first role's area, else the region of the registry's households (a deployment serves
    one area), else WIB."""
    code = None
    if account is not None and account.household_id is not None:
        known = session.info.get(_HOUSEHOLD_REGIONS, {})
        if account.household_id in known:
            code = known[account.household_id]
        else:
            code = await session.scalar(
                select(Household.region_code).where(Household.id == account.household_id)
            )
    if code is None and account is not None and account.roles:
        code = account.roles[0].region_code
    if code is None:
        code = await session.scalar(select(Household.region_code).limit(1))
    return zone_of(code)
