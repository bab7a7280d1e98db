"""``lapor-warga db backup FILE``: a copy that holds the registry, made while it is in use.

On SQLite the copy is checked by opening it; on PostgreSQL (``LW_TEST_DATABASE_URL``) it
is restored with pg_restore into a new database and read back.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from bot.cli import main
from registry.households import import_households
from storage import db
from storage.backup import find_pg_dump
from storage.models import Member, Region
from testkit.factories import FAMILIES, registry_rows, write_csv
from tests.helpers.db import PG_ADMIN_URL, pg_dsn, throwaway_pg_database


async def _seed(database_url: str, tmp_path: Path) -> int:
    engine = db.create_engine(database_url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            await import_households(session, write_csv(tmp_path / "r.csv", registry_rows(FAMILIES)))
            await session.commit()
            return (await session.execute(select(func.count()).select_from(Member))).scalar_one()
    finally:
        await engine.dispose()


async def _count_while_writing(database_url: str, stop: asyncio.Event) -> int:
    """Keep writing to the database (as a running bot would) until ``stop``; how often."""
    engine = db.create_engine(database_url)
    writes = 0
    try:
        async with db.make_sessionmaker(engine)() as session:
            while not stop.is_set():
                region = await session.get(Region, "16.71.01.1001")
                region.name = f"Tiga-puluh-lima Ilir {writes}"
                await session.commit()
                writes += 1
                await asyncio.sleep(0.01)
    finally:
        await engine.dispose()
    return writes


def _read_back(target: Path, tmp_path: Path) -> tuple[int, int]:
    """(households, members) in the backup file."""
    if not PG_ADMIN_URL:
        with sqlite3.connect(target) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            households = conn.execute("SELECT count(*) FROM households").fetchone()[0]
            members = conn.execute("SELECT count(*) FROM members").fetchone()[0]
            return households, members
    pg_restore = str(Path(find_pg_dump()).with_name("pg_restore"))
    restored = throwaway_pg_database()
    url = next(restored)
    try:
        name = url.rsplit("/", 1)[1]
        subprocess.run(
            [pg_restore, "--no-owner", f"--dbname={pg_dsn(name)}", str(target)],
            check=True, capture_output=True,
        )  # fmt: skip

        async def counts() -> tuple[int, int]:
            conn = await asyncpg.connect(pg_dsn(name))
            try:
                return (
                    await conn.fetchval("SELECT count(*) FROM households"),
                    await conn.fetchval("SELECT count(*) FROM members"),
                )
            finally:
                await conn.close()

        return asyncio.run(counts())
    finally:
        next(restored, None)


async def _backup_while_in_use(database_url: str, target: Path, *extra: str) -> int:
    stop = asyncio.Event()
    writer = asyncio.create_task(_count_while_writing(database_url, stop))
    await asyncio.sleep(0.1)
    code = await asyncio.to_thread(main, ["db", "backup", str(target), *extra])
    stop.set()
    assert await writer > 0  # the database was written to around the backup
    return code


def test_backup_copies_the_registry_while_it_is_written_to(
    database_url, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    members = asyncio.run(_seed(database_url, tmp_path))
    target = tmp_path / "backup.db"

    assert asyncio.run(_backup_while_in_use(database_url, target)) == 0
    out = capsys.readouterr().out
    assert f"Backed up the database to {target}" in out
    assert not list(tmp_path.glob("*.partial"))  # only the finished copy is left
    assert _read_back(target, tmp_path) == (len(FAMILIES), members)


def test_backup_does_not_overwrite_unless_told(database_url, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    target = tmp_path / "backup.db"
    target.write_text("an older file someone keeps")

    assert main(["db", "backup", str(target)]) == 2  # a usage error, like the others
    assert "exists; choose another name or add --force" in capsys.readouterr().err
    assert target.read_text() == "an older file someone keeps"

    members = asyncio.run(_seed(database_url, tmp_path))
    assert main(["db", "backup", str(target), "--force"]) == 0
    assert _read_back(target, tmp_path) == (len(FAMILIES), members)

    assert main(["db", "backup", str(tmp_path / "no" / "such" / "dir.db")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_backup_of_a_missing_sqlite_file_says_so(tmp_path, monkeypatch, capsys) -> None:
    # Any other command would create and migrate the file; a backup must not.
    missing = tmp_path / "nothing-here.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    assert main(["db", "backup", str(tmp_path / "b.db")]) == 1
    assert f"{missing}: no such database file" in capsys.readouterr().err
    assert not missing.exists()
