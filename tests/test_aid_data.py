"""`lapor-warga registry import-aid`: the aid programmes each family receives, from the
national data, with a revision when they change (what /bansos shows)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.cli import main
from registry.history import household_as_of
from registry.households import household_by_kk
from storage.models import RegistryRevision
from testkit.factories import FAMILIES, HARTONO, SARI, registry_rows, write_csv
from tests.helpers.db import in_db


def _aid(tmp_path, text: str):
    path = tmp_path / "aid.csv"
    path.write_text(text, encoding="utf-8")
    return path


async def _state(session):
    sari = await household_by_kk(session, SARI.kk)
    hartono = await household_by_kk(session, HARTONO.kk)
    revisions = list(await session.scalars(select(RegistryRevision)))
    yesterday = await household_as_of(session, sari, date.today() - timedelta(days=1))
    return (
        sari.details.get("programmes"),
        hartono.details.get("programmes"),
        [(r.action, r.before, r.after) for r in revisions],
        yesterday["details"] if yesterday else None,
    )


def _import(tmp_path) -> None:
    assert (
        main(["registry", "import", str(write_csv(tmp_path / "r.csv", registry_rows(FAMILIES)))])
        == 0
    )


def test_programmes_are_written_with_a_revision(cli_db, tmp_path, capsys) -> None:
    _import(tmp_path)
    good = _aid(tmp_path, f"kk,programmes\n{SARI.kk},pkh BPNT\n{HARTONO.kk},\n")
    assert main(["registry", "import-aid", str(good)]) == 0
    assert "2 family(ies) read, 1 changed." in capsys.readouterr().out
    sari, hartono, revisions, before = in_db(cli_db, _state)
    assert sari == ["pkh", "bpnt"]
    assert hartono is None  # unchanged: no programmes, no revision
    assert revisions == [("aid_data", {"programmes": []}, {"programmes": ["pkh", "bpnt"]})]
    assert before == {"programmes": []}  # the household as it was yesterday

    # The same file again changes nothing; `export changes` leaves the national data out.
    assert main(["registry", "import-aid", str(good)]) == 0
    assert "2 family(ies) read, 0 changed." in capsys.readouterr().out
    assert main(["export", "changes", "--since", date.today().isoformat()]) == 0
    assert "aid_data" not in capsys.readouterr().out


def test_a_bad_aid_file_names_each_line_and_writes_nothing(cli_db, tmp_path, capsys) -> None:
    _import(tmp_path)
    capsys.readouterr()
    bad = _aid(
        tmp_path,
        f"kk,programmes\n{SARI.kk},pkh,bpnt,x\n1671010101990123,\n{HARTONO.kk},pkh\n"
        f"{HARTONO.kk},\n{SARI.kk},bansos\n",
    )
    assert main(["registry", "import-aid", str(bad)]) == 1
    err = capsys.readouterr().err
    assert ":2: expected 2 columns" in err
    assert ":3: no family with this KK in the registry" in err
    assert ":5: KK already on line 4" in err
    assert ":6: unknown programme bansos (use pkh, bpnt, pbi_jk, blt)" in err
    assert "4 bad row(s); nothing was imported." in err
    sari, _hartono, revisions, _before = in_db(cli_db, _state)
    assert sari is None and revisions == []
    assert main(["registry", "import-aid", str(_aid(tmp_path, "kk,desil\n"))]) == 1
    assert "header must be exactly: kk,programmes" in capsys.readouterr().err
