"""Any number of synthetic registry rows (tests and benchmarks/import_export.py).

Invented households of 1 to 6 members whose NIKs and KKs pass validation, are unique,
and belong to nobody: names are "Warga 000123", addresses "Jl. Sintetis No. 45".
Rows come in the ``registry import`` column order, household by household.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from registry.nik import make_nik

# Villages of province 16 (every test database holds its region codes).
VILLAGES = ("16.71.01.1001", "16.71.02.1002", "16.04.01.2001")
_FIRST_BIRTH = date(1950, 1, 1)
_SERIALS = 9999


def synthetic_rows(
    n: int, *, seed: int = 1, villages: tuple[str, ...] = VILLAGES
) -> Iterator[list[str]]:
    """``n`` member rows; the last household may be cut short (it keeps its head)."""
    rng = random.Random(seed)
    person = 0
    household = 0
    while person < n:
        household += 1
        village = villages[household % len(villages)]
        region6 = village[:8].replace(".", "")
        kk = f"{region6}{household // _SERIALS % 1_000_000:06d}{household % _SERIALS + 1:04d}"
        address = f"Jl. Sintetis No. {household}"
        rw, rt = str(rng.randint(1, 20)), str(rng.randint(1, 30))
        desil = "" if rng.random() < 0.2 else str(rng.randint(1, 10))
        size = min(rng.randint(1, 6), n - person)
        for i in range(size):
            # Birth dates cycle over 1950-2019; with the serial they make every NIK unique.
            born = _FIRST_BIRTH + timedelta(days=(person // _SERIALS * 7919) % 25550)
            sex = "M" if (person + i) % 2 == 0 else "F"
            nik = make_nik(region6, born, sex, person % _SERIALS + 1)
            relationship = "head" if i == 0 else rng.choice(("spouse", "child", "child", "parent"))
            yield [
                kk, nik, f"Warga {person:06d}", "L" if sex == "M" else "P", born.isoformat(),
                relationship, village, rw, rt, address, desil,
            ]  # fmt: skip
            person += 1
