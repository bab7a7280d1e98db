"""A demo kelurahan with synthetic households and role holders (for the sandbox).

The people are invented; their NIKs pass validation but belong to nobody. The
region is real: Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts import grant_role
from registry.households import import_household_rows
from registry.nik import make_nik
from registry.regions import BUNDLED_REGIONS_CSV, import_regions
from storage.models import Account, utcnow

DEMO_CITY = "16.71"
DEMO_VILLAGE = "16.71.01.1001"
_REGION6 = "167101"


@dataclass(frozen=True)
class DemoMember:
    name: str
    sex: str
    birth_date: date
    relationship: str
    serial: int

    @property
    def nik(self) -> str:
        return make_nik(_REGION6, self.birth_date, self.sex, self.serial)


@dataclass(frozen=True)
class DemoHousehold:
    kk: str
    address: str
    rw: int
    rt: int
    desil: int | None
    members: tuple[DemoMember, ...]


DEMO_HOUSEHOLDS = (
    DemoHousehold("1671011203150007", "Jl. Merdeka Gg. Mawar No. 12", 2, 3, 2, (
        DemoMember("Budi Santoso", "M", date(1988, 4, 17), "head", 9101),
        DemoMember("Sari Wulandari", "F", date(1992, 9, 5), "spouse", 9102),
        DemoMember("Dewi Lestari", "F", date(2014, 2, 28), "child", 9103),
    )),
    DemoHousehold("1671010807190003", "Jl. Merdeka Gg. Melati No. 3", 2, 3, 1, (
        DemoMember("Siti Aminah", "F", date(1975, 11, 2), "head", 9111),
        DemoMember("Rizky Maulana", "M", date(2003, 6, 21), "child", 9112),
    )),
    DemoHousehold("1671010506180011", "Jl. Kebun Sirih No. 4", 2, 5, None, (
        DemoMember("Hartono", "M", date(1960, 1, 30), "head", 9201),
        DemoMember("Ani Rahmawati", "F", date(1963, 12, 1), "spouse", 9202),
    )),
)  # fmt: skip


@dataclass(frozen=True)
class DemoPerson:
    """A Telegram user of the demo: the resident or one of the reviewers."""

    key: str
    telegram_id: int
    first_name: str
    role: str | None = None
    region: str | None = None
    rw: int | None = None
    rt: int | None = None


DEMO_PEOPLE = (
    DemoPerson("resident", 900001, "Sari"),
    DemoPerson("rt", 900002, "Pak Joko", "rt", DEMO_VILLAGE, 2, 3),
    DemoPerson("lurah", 900003, "Bu Ratna", "lurah", DEMO_VILLAGE),
    DemoPerson("officer", 900004, "Petugas Dinsos", "officer", DEMO_CITY),
)
DEMO_RESIDENT = DEMO_HOUSEHOLDS[0].members[1]  # Sari Wulandari links with her NIK + the KK


def demo_rows() -> list[tuple[int, list[str]]]:
    rows = []
    for household in DEMO_HOUSEHOLDS:
        for member in household.members:
            rows.append([
                household.kk, member.nik, member.name, member.sex, member.birth_date.isoformat(),
                member.relationship, DEMO_VILLAGE, str(household.rw), str(household.rt),
                household.address, "" if household.desil is None else str(household.desil),
            ])  # fmt: skip
    return list(enumerate(rows, start=2))


async def load_demo(session: AsyncSession) -> None:
    """Regions of the demo city, the demo households and the reviewers' roles.

    The demo's reviewers (synthetic people) are taken to have agreed to the consent text
    already, as reviewers who opened the bot before, so the demo starts with the report;
    the demo resident is a newcomer and agrees on the consent screen like anyone."""
    await import_regions(session, BUNDLED_REGIONS_CSV, within=DEMO_CITY)
    await import_household_rows(session, demo_rows())
    for person in DEMO_PEOPLE:
        if person.role is not None:
            assert person.region is not None
            grant = await grant_role(
                session, person.telegram_id, person.role, person.region, person.rw, person.rt
            )
            account = await session.get(Account, grant.account_id)
            assert account is not None
            account.consented_at = utcnow()
