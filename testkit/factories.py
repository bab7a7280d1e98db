"""Synthetic registry data: invented people whose NIKs are valid but belong to nobody."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.sandbox.demo import DemoMember as Person
from registry.households import IMPORT_HEADER

VILLAGE = "16.71.01.1001"  # Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang


@dataclass
class Family:
    kk: str
    address: str
    rw: int
    rt: int
    desil: int | None
    people: list[Person]

    @property
    def head(self) -> Person:
        return next(p for p in self.people if p.relationship == "head")

    def person(self, name: str) -> Person:
        return next(p for p in self.people if p.name == name)


SARI = Family(
    kk="1671011203150007",
    address="Jl. Merdeka Gg. Mawar No. 12",
    rw=2,
    rt=3,
    desil=2,
    people=[
        Person("Budi Santoso", "M", date(1988, 4, 17), "head", 9101),
        Person("Sari Wulandari", "F", date(1992, 9, 5), "spouse", 9102),
        Person("Dewi Lestari", "F", date(2014, 2, 28), "child", 9103),
    ],
)
HARTONO = Family(
    kk="1671010506180011",
    address="Jl. Kebun Sirih No. 4",
    rw=2,
    rt=5,
    desil=None,
    people=[
        Person("Hartono", "M", date(1960, 1, 30), "head", 9201),
        Person("Ani Rahmawati", "F", date(1963, 12, 1), "spouse", 9202),
    ],
)
FAMILIES = [SARI, HARTONO]


def registry_rows(families: list[Family]) -> list[list[str]]:
    rows = []
    for fam in families:
        for p in fam.people:
            rows.append([
                fam.kk, p.nik, p.name, "L" if p.sex == "M" else "P", p.birth_date.isoformat(),
                p.relationship, VILLAGE, str(fam.rw), str(fam.rt), fam.address,
                "" if fam.desil is None else str(fam.desil),
            ])  # fmt: skip
    return rows


def write_csv(path: Path, rows: list[list[str]], header: list[str] = IMPORT_HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path
