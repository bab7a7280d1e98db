"""Households and members: the bulk import, lookups and the JSON view."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from locales import _, lazy_gettext
from registry.errors import ImportRejected, RowError
from registry.nik import InvalidIdentityNumber, mask, normalize_digits, parse_nik, validate_kk
from registry.regions import VILLAGE_LEVEL
from storage.models import Household, Member, Region

IMPORT_HEADER = [
    "kk", "nik", "name", "sex", "birth_date", "relationship",
    "region_code", "rw", "rt", "address", "desil",
]  # fmt: skip

# Hubungan dalam keluarga, as printed on the Kartu Keluarga.
RELATIONSHIPS = (
    "head", "spouse", "child", "child_in_law", "grandchild",
    "parent", "parent_in_law", "other_relative", "household_help", "other",
)  # fmt: skip
SEX_CODES = {"M": "M", "F": "F", "L": "M", "P": "F"}  # L/P: laki-laki / perempuan
MEMBER_STATUSES = ("alive", "deceased", "moved")
MAX_NAME = 200
MAX_ADDRESS = 500
MAX_RW_RT = 999


@dataclass
class _HouseholdRows:
    first_line: int
    values: tuple[str, int, int, str, int | None]
    members: list[dict[str, Any]] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)


def _int_in(value: str, low: int, high: int) -> int | None:
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


_NUMBER_PROBLEMS = {
    "not_16_digits": lazy_gettext("it must be 16 digits"),
    "unknown_province": lazy_gettext("unknown province code"),
    "bad_day": lazy_gettext("the day must be 01-31, or 41-71 for women"),
    "bad_date": lazy_gettext("the date inside it does not exist"),
    "future_date": lazy_gettext("the date inside it is in the future"),
    "zero_serial": lazy_gettext("the serial number cannot be 0000"),
}


def _nik_error(exc: InvalidIdentityNumber, label: str) -> str:
    reason = _NUMBER_PROBLEMS.get(exc.code, _NUMBER_PROBLEMS["not_16_digits"])
    return _("{label} is not valid: {reason}").format(label=label, reason=reason)


async def import_households(session: AsyncSession, path: Path) -> tuple[int, int]:
    """Import a CSV with one row per member; return (households, members) added.

    Every bad row is collected with its line number and reason, and nothing is
    written unless all rows are valid (``ImportRejected``).
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        if header != IMPORT_HEADER:
            raise ImportRejected(
                [
                    RowError(
                        1,
                        _("header must be exactly: {header}").format(
                            header=",".join(IMPORT_HEADER)
                        ),
                    )
                ]
            )
        return await import_household_rows(session, ((reader.line_num, row) for row in reader))


async def import_household_rows(
    session: AsyncSession, rows: Iterable[tuple[int, list[str]]]
) -> tuple[int, int]:
    """Import (line number, row) pairs in ``IMPORT_HEADER`` order; all or nothing."""
    errors: list[RowError] = []
    households: dict[str, _HouseholdRows] = {}
    nik_lines: dict[str, int] = {}
    tainted: set[str] = set()  # KKs with a bad row: their head count is not known
    villages = set(
        (await session.execute(select(Region.code).where(Region.level == VILLAGE_LEVEL)))
        .scalars()
        .all()
    )

    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(IMPORT_HEADER):
            errors.append(
                RowError(
                    line,
                    _("expected {n} columns, found {m}").format(n=len(IMPORT_HEADER), m=len(row)),
                )
            )
            continue
        problems, parsed, nik = _check_row(
            dict(zip(IMPORT_HEADER, (c.strip() for c in row), strict=True)), villages
        )
        if nik is not None:
            if nik in nik_lines:
                problems.append(
                    _("NIK {nik} already appears on line {line}").format(
                        nik=mask(nik), line=nik_lines[nik]
                    )
                )
            else:
                nik_lines[nik] = line
        if parsed is not None and not problems:
            group = households.get(parsed["kk"])
            if group is None:
                group = households[parsed["kk"]] = _HouseholdRows(line, parsed["household"])
            elif group.values != parsed["household"]:
                problems.append(
                    _(
                        "household {kk}: region, RW, RT, address or desil differ from line {line}"
                    ).format(kk=mask(parsed["kk"]), line=group.first_line)
                )
            if parsed["member"]["relationship"] == "head":
                group.heads.append(line)
            group.members.append(parsed["member"])
        if problems:
            tainted.add(normalize_digits(row[0]))
        errors.extend(RowError(line, p) for p in problems)

    for kk, group in households.items():
        if not group.heads and kk not in tainted:
            errors.append(
                RowError(
                    group.first_line,
                    _("household {kk} has no member with relationship 'head'").format(kk=mask(kk)),
                )
            )
        for extra in group.heads[1:]:
            errors.append(
                RowError(extra, _("household {kk} has more than one head").format(kk=mask(kk)))
            )

    if households:
        known_kk = set(
            (
                await session.execute(
                    select(Household.kk).where(Household.kk.in_(list(households)))
                )
            ).scalars()
        )
        for kk in known_kk:
            errors.append(
                RowError(
                    households[kk].first_line,
                    _("household {kk} is already in the registry").format(kk=mask(kk)),
                )
            )
        known_nik = set(
            (
                await session.execute(select(Member.nik).where(Member.nik.in_(list(nik_lines))))
            ).scalars()
        )
        for nik in known_nik:
            errors.append(
                RowError(
                    nik_lines[nik], _("NIK {nik} is already in the registry").format(nik=mask(nik))
                )
            )

    if errors:
        errors.sort(key=lambda e: e.line)
        raise ImportRejected(errors)

    member_count = 0
    for kk, group in households.items():
        region_code, rw, rt, address, desil = group.values
        household = Household(
            kk=kk, region_code=region_code, rw=rw, rt=rt, address=address, desil=desil
        )
        session.add(household)
        await session.flush()
        session.add_all(Member(household_id=household.id, **m) for m in group.members)
        member_count += len(group.members)
    await session.flush()
    return len(households), member_count


def _check_row(
    raw: dict[str, str], villages: set[str]
) -> tuple[list[str], dict[str, Any] | None, str | None]:
    """The row's problems, its parsed values (when it has none) and its NIK (when valid)."""
    problems: list[str] = []
    kk = nik = None
    try:
        kk = validate_kk(raw["kk"])
    except InvalidIdentityNumber as exc:
        problems.append(_nik_error(exc, "KK"))
    info = None
    try:
        info = parse_nik(raw["nik"])
        nik = info.nik
    except InvalidIdentityNumber as exc:
        problems.append(_nik_error(exc, "NIK"))
    name = raw["name"]
    if not name:
        problems.append(_("name is empty"))
    elif len(name) > MAX_NAME:
        problems.append(_("name is longer than {n} characters").format(n=MAX_NAME))
    sex = SEX_CODES.get(raw["sex"].upper())
    if sex is None:
        problems.append(_("sex must be L or P (or M or F)"))
    elif info is not None and info.sex != sex:
        problems.append(_("sex does not match the NIK"))
    birth_date = None
    try:
        birth_date = date.fromisoformat(raw["birth_date"])
    except ValueError:
        problems.append(_("birth_date must be a date written YYYY-MM-DD"))
    if birth_date is not None and info is not None and info.birth_date != birth_date:
        problems.append(_("birth_date does not match the NIK"))
    relationship = raw["relationship"].lower()
    if relationship not in RELATIONSHIPS:
        problems.append(
            _("relationship must be one of: {values}").format(values=", ".join(RELATIONSHIPS))
        )
    region_code = raw["region_code"]
    if region_code not in villages:
        problems.append(
            _(
                "region_code {code} is not a known desa/kelurahan (import the region codes first)"
            ).format(code=region_code or "-")
        )
    rw = _int_in(raw["rw"], 1, MAX_RW_RT)
    rt = _int_in(raw["rt"], 1, MAX_RW_RT)
    if rw is None:
        problems.append(_("rw must be a number from 1 to {n}").format(n=MAX_RW_RT))
    if rt is None:
        problems.append(_("rt must be a number from 1 to {n}").format(n=MAX_RW_RT))
    address = raw["address"]
    if not address:
        problems.append(_("address is empty"))
    elif len(address) > MAX_ADDRESS:
        problems.append(_("address is longer than {n} characters").format(n=MAX_ADDRESS))
    desil = None
    if raw["desil"]:
        desil = _int_in(raw["desil"], 1, 10)
        if desil is None:
            problems.append(_("desil must be empty or a number from 1 to 10"))
    if problems:
        return problems, None, nik
    assert kk and nik and sex and birth_date and rw and rt
    return (
        problems,
        {
            "kk": kk,
            "household": (region_code, rw, rt, address, desil),
            "member": {
                "nik": nik,
                "name": name,
                "sex": sex,
                "birth_date": birth_date,
                "relationship": relationship,
                "status": "alive",
            },
        },
        nik,
    )


async def household_by_kk(session: AsyncSession, kk: str) -> Household | None:
    return (await session.execute(select(Household).where(Household.kk == kk))).scalar_one_or_none()


async def member_by_nik(session: AsyncSession, nik: str) -> Member | None:
    return (await session.execute(select(Member).where(Member.nik == nik))).scalar_one_or_none()


def member_snapshot(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "nik": member.nik,
        "name": member.name,
        "sex": member.sex,
        "birth_date": member.birth_date.isoformat(),
        "relationship": member.relationship,
        "status": member.status,
        "household_id": member.household_id,
        "details": dict(member.details or {}),
    }


def household_snapshot(household: Household) -> dict[str, Any]:
    """The household as plain JSON-ready data (used by ``registry show``)."""
    return {
        "kk": household.kk,
        "address": household.address,
        "region_code": household.region_code,
        "region_name": household.region.name,
        "rw": household.rw,
        "rt": household.rt,
        "desil": household.desil,
        "details": dict(household.details or {}),
        "members": [member_snapshot(m) for m in household.members],
    }
