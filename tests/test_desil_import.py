"""Desil lists from SIKS-NG in: `registry import-desil FILE` (CSV or xlsx)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from bot.cli import main
from registry.households import household_by_kk, import_households
from registry.nik import mask
from storage.models import RegistryImport, RegistryRevision
from testkit.factories import FAMILIES, HARTONO, SARI, registry_rows, write_csv
from tests.helpers.db import in_db


async def _registry(session, tmp_path: Path) -> None:
    await import_households(session, write_csv(tmp_path / "r.csv", registry_rows(FAMILIES)))
    await session.commit()


async def _state(session) -> dict:
    sari = await household_by_kk(session, SARI.kk)
    hartono = await household_by_kk(session, HARTONO.kk)
    revisions = (await session.execute(select(RegistryRevision))).scalars().all()
    imports = (await session.execute(select(RegistryImport))).scalars().all()
    return {
        "desil": (sari.desil, hartono.desil),
        "revisions": [
            (r.household_id, r.action, r.before, r.after, r.import_id) for r in revisions
        ],
        "imports": [(i.id, i.source, i.file_name, i.counts) for i in imports],
        "ids": (sari.id, hartono.id),
    }


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_desil_from_an_xlsx_with_a_revision_per_household(cli_db, tmp_path, capsys) -> None:
    in_db(cli_db, lambda s: _registry(s, tmp_path))  # SARI desil 2, HARTONO none
    path = _xlsx(tmp_path / "desil.xlsx", [
        ["NIK", "desil", "no_kk", "nama"],  # any order, any case, extra columns ignored
        [SARI.people[0].nik, 2, SARI.kk, "Budi"],
        [HARTONO.people[0].nik, 4, int(HARTONO.kk), "Hartono"],  # a KK saved as a number
        [HARTONO.people[1].nik, "4", HARTONO.kk, "Ani"],
    ])  # fmt: skip
    assert main(["registry", "import-desil", str(path)]) == 0
    assert "Desil of 2 household(s) read: 1 set or changed" in capsys.readouterr().out
    state = in_db(cli_db, _state)
    assert state["desil"] == (2, 4)
    assert state["revisions"] == [
        (state["ids"][1], "household_changed", {"desil": None}, {"desil": 4}, 1)
    ]
    assert state["imports"] == [(1, "siks-ng", "desil.xlsx", {"households": 2, "changed": 1})]


def test_bad_rows_are_listed_and_nothing_is_written(cli_db, tmp_path, capsys) -> None:
    in_db(cli_db, lambda s: _registry(s, tmp_path))
    unknown_kk = "1671010101200009"
    path = write_csv(tmp_path / "desil.csv", [
        [SARI.kk, SARI.people[0].nik, "5"],  # line 2: fine alone
        [SARI.kk, HARTONO.people[0].nik, "5"],  # line 3: not a member of that KK
        [HARTONO.kk, "", "11"],  # line 4: desil out of range
        [unknown_kk, "", "3"],  # line 5: not in the registry
        [SARI.kk, "", "6"],  # line 6: differs from line 2
    ], header=["no_kk", "nik", "desil"])  # fmt: skip
    assert main(["registry", "import-desil", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}:3: NIK {mask(HARTONO.people[0].nik)} is not a member of household {mask(SARI.kk)}",
        f"{path}:4: desil must be a number from 1 to 10",
        f"{path}:5: household {mask(unknown_kk)} is not in the registry",
        f"{path}:6: household {mask(SARI.kk)}: desil 6 differs from line 2",
        f"{path}: 4 bad row(s); nothing was imported.",
    ]
    state = in_db(cli_db, _state)
    assert state["desil"] == (2, None) and state["revisions"] == [] and state["imports"] == []

    header = write_csv(tmp_path / "h.csv", [[SARI.kk, "3"]], header=["kk", "desil"])
    assert main(["registry", "import-desil", str(header)]) == 1
    assert "missing: no_kk" in capsys.readouterr().err
