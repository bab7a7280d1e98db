"""Test databases: a migrated template per session, copied (SQLite) or cloned
(PostgreSQL, ``LW_TEST_DATABASE_URL``) per test; and small database helpers."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from registry.regions import BUNDLED_REGIONS_CSV, import_regions
from storage import db
from storage.models import Draft

PG_ADMIN_URL = os.environ.get("LW_TEST_DATABASE_URL")
TEST_PROVINCE = "16"  # Sumatera Selatan: the regions every test database holds
REPO = Path(__file__).resolve().parents[2]


def shared_regions_csv() -> Path:
    """The official list in ../shared/data when present, else the bundled copy."""
    shared = REPO.parent / "shared" / "data" / "kode_wilayah_2025.csv"
    return shared if shared.is_file() else BUNDLED_REGIONS_CSV


def pg_dsn(database: str) -> str:
    url = make_url(PG_ADMIN_URL).set(database=database)  # type: ignore[arg-type]
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def sqla_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)  # type: ignore[arg-type]


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(pg_dsn("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def prepare(url: str, regions_csv: Path) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        async with db.make_sessionmaker(engine)() as session:
            await import_regions(session, regions_csv)
            await session.commit()
    finally:
        await engine.dispose()


def throwaway_pg_database(template: str | None = None) -> Iterator[str]:
    """Create a database (from ``template`` if given), yield its URL, drop it."""
    name = f"lw_test_{uuid.uuid4().hex[:12]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"{suffix}'))
    yield sqla_url(name)
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fresh_database(template_database: str, tmp_path: Path, name: str) -> Iterator[str]:
    """Yield the URL of a new copy of the migrated template (dropped afterwards on PG)."""
    if PG_ADMIN_URL:
        yield from throwaway_pg_database(template=template_database)
    else:
        path = tmp_path / f"{name}.sqlite3"
        shutil.copyfile(template_database, path)
        yield f"sqlite+aiosqlite:///{path}"


def in_db(url: str, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run ``work`` in a session of the database at ``url`` and commit (from sync code,
    e.g. around a CLI call)."""

    async def go() -> Any:
        engine = db.create_engine(url)
        try:
            async with db.make_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def draft_answers(database) -> dict:
    """The answers of the one open form (``database``: anything with ``session()``)."""
    async with database.session() as session:
        draft = (await session.execute(select(Draft))).scalar_one()
        return dict(draft.answers)
