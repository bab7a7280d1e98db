"""Files the command line writes: never over the database, a folder, a device, a FIFO or
a link; an existing file only with --force; 0600; nothing half written; and no CSV cell
a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from registry import tables, workflow
from registry.accounts import account_by_telegram_id
from registry.households import IMPORT_HEADER, household_by_kk
from storage.models import Region
from testkit.factories import FAMILIES, SARI, VILLAGE, registry_rows, write_csv
from tests.helpers.db import PG_ADMIN_URL, fresh_database, in_db
from tests.helpers.world import registry_world

FORMULA = '=HYPERLINK("http://x/","klik")'
RT, LURAH, OFFICER, REPORTER = 1, 3, 4, 100
SINCE = ["--since", "2020-01-01"]
# Each command that writes a file, as the arguments before its target.
WRITERS = {
    "export changes": (["export", "changes", *SINCE, "--output"], "changes.csv"),
    "registry export": (["registry", "export", "--output"], "registry.csv"),
    "reports list": (["reports", "list", "--region", VILLAGE, "--output"], "musyawarah.csv"),
    "db backup": (["db", "backup"], "backup.db"),
}
sqlite_only = pytest.mark.skipif(bool(PG_ADMIN_URL), reason="the live database file is SQLite's")


@pytest.fixture
def other_database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(template_database, tmp_path, "other")


def _write(command: str, target: Path | str, *extra: str) -> int:
    args, _name = WRITERS[command]
    return main([*args, str(target), *extra])


def _database_file(url: str) -> Path:
    return Path(make_url(url).database)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one clear line, no traceback
    return lines[0]


async def _birth_applied(session: AsyncSession, tmp_path: Path, name: str) -> None:
    """A baby of SARI's household named ``name``, approved to the registry."""
    await registry_world(
        session, tmp_path, rt={RT: [(SARI.rw, SARI.rt)]}, lurah=[LURAH],
        officers={OFFICER: "16.71"}, accounts=[REPORTER],
    )  # fmt: skip
    household = await household_by_kk(session, SARI.kk)
    mother = str(next(m.id for m in household.members if m.name == "Sari Wulandari"))
    report = await workflow.submit_report(
        session, kind="birth", household=household,
        reporter=await account_by_telegram_id(session, REPORTER),
        payload={"name": name, "sex": "M", "birth_date": "2026-10-01", "mother": mother},
    )  # fmt: skip
    for telegram_id in (RT, LURAH, OFFICER):
        reviewer = await account_by_telegram_id(session, telegram_id)
        await workflow.decide(session, report, reviewer, approve=True)


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


# ---- the target ------------------------------------------------------------------------------


@sqlite_only
@pytest.mark.parametrize("command", list(WRITERS))
@pytest.mark.parametrize("suffix", ["", "-wal"])
@pytest.mark.parametrize("force", [False, True])
def test_no_command_writes_over_the_live_database(cli_db, command, suffix, force, capsys) -> None:
    live = _database_file(cli_db)
    target = Path(str(live) + suffix)  # the database, or its write-ahead log
    before = _digest(live)

    assert _write(command, target, *(["--force"] if force else [])) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == f"{target} is the bot's database; write the file somewhere else."
    assert _digest(live) == before
    assert main(["registry", "export"]) == 0  # the database still opens
    assert not [p for p in live.parent.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("command", ["export changes", "db backup"])
@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "link to a folder", "link to a fifo"])
@pytest.mark.parametrize("force", [False, True])
def test_a_folder_fifo_or_device_is_refused_even_with_force(
    cli_db, tmp_path, command, kind, force, capsys
) -> None:
    thing = tmp_path / "thing"
    if kind.endswith("folder"):
        thing.mkdir()
    elif kind.endswith("fifo"):
        os.mkfifo(thing)
    else:
        # A /dev/null of our own (same device numbers): a regression must not cost the
        # machine its real /dev/null.
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(thing, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    target = tmp_path / "target" if kind.startswith("link") else thing
    if kind.startswith("link"):
        target.symlink_to(thing)
    before = sorted(p.name for p in tmp_path.iterdir())
    mode = target.lstat().st_mode

    assert _write(command, target, *(["--force"] if force else [])) == 2
    line = _one_line(capsys.readouterr().err)
    expected = {
        "folder": f"{target} is a folder; give a file name.",
        "fifo": f"{target} is a device, FIFO or socket, not a regular file; give a file name.",
        "device": f"{target} is a device, FIFO or socket, not a regular file; give a file name.",
    }.get(kind, f"{target} is a symbolic link; name the file itself")
    assert line.startswith(expected)
    assert target.lstat().st_mode == mode  # the same kind of thing, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .partial left


def test_db_backup_of_a_folder_with_force_is_one_line_and_leaves_nothing(
    cli_db, tmp_path, capsys
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["db", "backup", str(folder), "--force"]) == 2
    assert _one_line(capsys.readouterr().err) == f"{folder} is a folder; give a file name."
    assert list(folder.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]  # no backups.partial


@pytest.mark.parametrize("command", list(WRITERS))
@pytest.mark.parametrize("force", [False, True])
def test_a_symbolic_link_is_refused_with_or_without_force(
    cli_db, tmp_path, command, force, capsys
) -> None:
    kept = tmp_path / "kept.csv"
    kept.write_text("a file someone keeps")
    link = tmp_path / WRITERS[command][1]
    link.symlink_to(kept)

    assert _write(command, link, *(["--force"] if force else [])) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"{link} is a symbolic link; name the file itself (even --force does not follow a link)."
    )
    assert link.is_symlink() and kept.read_text() == "a file someone keeps"


@pytest.mark.parametrize("command", list(WRITERS))
def test_an_existing_file_is_kept_unless_force(cli_db, tmp_path, command, capsys) -> None:
    target = tmp_path / WRITERS[command][1]
    target.write_text("an older file someone keeps")

    assert _write(command, target) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"{target} exists; choose another name or add --force to replace it."
    )
    assert target.read_text() == "an older file someone keeps"
    assert _write(command, target, "--force") == 0
    assert target.read_bytes() != b"an older file someone keeps"


@pytest.mark.parametrize(
    ("command", "name"),
    [*[(c, n) for c, (_a, n) in WRITERS.items()], ("export changes", "changes.xlsx")],
)
def test_exports_and_backups_are_written_0600(cli_db, tmp_path, command, name) -> None:
    in_db(cli_db, lambda s: _birth_applied(s, tmp_path, "Raka Pratama"))
    old = os.umask(0o022)
    try:
        assert _write(command, tmp_path / name) == 0
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600  # full NIK/KK inside
        (tmp_path / name).chmod(0o644)
        assert _write(command, tmp_path / name, "--force") == 0
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_failed_export_or_backup_leaves_no_partial_file(
    cli_db, tmp_path, monkeypatch, capsys
) -> None:
    in_db(cli_db, lambda s: _birth_applied(s, tmp_path, "Raka Pratama"))
    out = tmp_path / "out"
    out.mkdir()

    async def rows_then_full_disk(session: Any, since: Any) -> Any:
        yield ["R-1"] + [""] * 12
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("registry.exports.changed_rows", rows_then_full_disk)
    assert _write("export changes", out / "changes.csv") == 1
    assert _one_line(capsys.readouterr().err) == (
        f"Cannot write {out / 'changes.csv'}: No space left on device"
    )

    def copy_then_fail(source: Path, partial: Path) -> None:
        partial.write_bytes(b"half a database")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("storage.backup._backup_into", copy_then_fail)
    if not PG_ADMIN_URL:
        assert _write("db backup", out / "backup.db") == 1
        assert "No space left on device" in _one_line(capsys.readouterr().err)
    assert list(out.iterdir()) == []


# ---- formulas in CSV -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "Budi", "-", "=1+2", "+62", "@x", "\tx", "\rx", "'=x", "''-1", "'quoted'"]
)
def test_csv_escape_is_undone_exactly(text: str) -> None:
    escaped = tables.csv_escape(text)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert tables.csv_unescape(escaped) == text


def test_export_changes_csv_has_no_formula(cli_db, tmp_path, capsys) -> None:
    in_db(cli_db, lambda s: _birth_applied(s, tmp_path, FORMULA))
    target = tmp_path / "changes.csv"
    assert main(["export", "changes", *SINCE, "--output", str(target)]) == 0
    header, row = _csv(target.read_text(encoding="utf-8"))
    assert dict(zip(header, row, strict=True))["member_name"] == "'" + FORMULA


def test_registry_export_csv_has_no_formula_and_reads_back(
    cli_db, other_database_url, tmp_path, monkeypatch, capsys
) -> None:
    rows = registry_rows(FAMILIES)
    rows[1][2] = FORMULA  # a member's name
    for row in rows:
        if row[0] == SARI.kk:
            row[9] = "-Jl. Merdeka"  # an address
    assert main(["registry", "import", str(write_csv(tmp_path / "in.csv", rows))]) == 0
    target = tmp_path / "registry.csv"
    assert main(["registry", "export", "--output", str(target)]) == 0
    exported = _csv(target.read_text(encoding="utf-8"))
    assert exported[0] == IMPORT_HEADER
    cells = [cell for row in exported[1:] for cell in row]
    assert "'" + FORMULA in cells and "'-Jl. Merdeka" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]

    monkeypatch.setenv("DATABASE_URL", other_database_url)  # the round trip
    assert main(["registry", "import", str(target)]) == 0
    capsys.readouterr()
    assert main(["registry", "export"]) == 0
    again = _csv(capsys.readouterr().out)
    assert sorted(again[1:]) == sorted(exported[1:])  # the name came back as it was


def test_reports_list_csv_has_no_formula(cli_db, tmp_path, capsys) -> None:
    async def seed(session: AsyncSession) -> None:
        await _birth_applied(session, tmp_path, "Raka Pratama")
        # A region name comes from a region file (`regions import`): not ours to trust.
        await session.execute(update(Region).where(Region.code == VILLAGE).values(name=FORMULA))

    in_db(cli_db, seed)
    assert main(["reports", "list", "--region", VILLAGE]) == 0
    _header, row = _csv(capsys.readouterr().out)
    assert row[4] == "'" + FORMULA


def test_audit_csv_has_no_formula(cli_db, monkeypatch, capsys) -> None:
    # No audit cell holds a person's text today; every cell goes through the same
    # writer anyway, so one that ever does is safe.
    async def listing(session: Any, since: Any) -> Any:
        yield {
            "time": "2026-01-01T00:00:00Z", "actor": "cli", "account_id": None,
            "telegram_id": None, "action": "@SUM(1+1)", "report": "-2+3",
            "subject_account_id": None, "details": FORMULA,
        }  # fmt: skip

    monkeypatch.setattr("registry.audit.listing", listing)
    assert main(["audit", *SINCE, "--format", "csv"]) == 0
    _header, row = _csv(capsys.readouterr().out)
    assert row[4:] == ["'@SUM(1+1)", "'-2+3", "", "'" + FORMULA]
