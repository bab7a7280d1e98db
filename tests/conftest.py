"""Database fixtures: every test gets its own migrated database.

SQLite (default): a migrated template file is copied per test. PostgreSQL: set
``LW_TEST_DATABASE_URL`` to an admin URL of a throwaway server (``scripts/test.sh``
starts one); each test gets ``CREATE DATABASE ... TEMPLATE`` of a migrated template.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from registry.regions import BUNDLED_REGIONS_CSV, import_regions
from storage import db

PG_ADMIN_URL = os.environ.get("LW_TEST_DATABASE_URL")
TEST_PROVINCE = "16"  # Sumatera Selatan: the regions every test database holds
REPO = Path(__file__).resolve().parents[1]


def shared_regions_csv() -> Path:
    """The official list in ../shared/data when present, else the bundled copy."""
    shared = REPO.parent / "shared" / "data" / "kode_wilayah_2025.csv"
    return shared if shared.is_file() else BUNDLED_REGIONS_CSV


def _pg_dsn(database: str) -> str:
    url = make_url(PG_ADMIN_URL).set(database=database)  # type: ignore[arg-type]
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqla_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)  # type: ignore[arg-type]


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _prepare(url: str, regions_csv: Path) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        async with db.make_sessionmaker(engine)() as session:
            await import_regions(session, regions_csv)
            await session.commit()
    finally:
        await engine.dispose()


def _throwaway_pg_database(template: str | None = None) -> Iterator[str]:
    """Create a database (from ``template`` if given), yield its URL, drop it."""
    name = f"lw_test_{uuid.uuid4().hex[:12]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"{suffix}'))
    yield _sqla_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def regions_subset_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("regions") / "regions16.csv"
    with (
        shared_regions_csv().open(encoding="utf-8") as src,
        path.open("w", encoding="utf-8") as dst,
    ):
        for i, line in enumerate(src):
            if i == 0 or line.startswith(TEST_PROVINCE):
                dst.write(line)
    return path


@pytest.fixture(scope="session")
def template_database(
    tmp_path_factory: pytest.TempPathFactory, regions_subset_csv: Path
) -> Iterator[str]:
    if PG_ADMIN_URL:
        name = f"lw_template_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        asyncio.run(_prepare(_sqla_url(name), regions_subset_csv))
        yield name
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        asyncio.run(_prepare(f"sqlite+aiosqlite:///{path}", regions_subset_csv))
        yield str(path)


def fresh_database(template_database: str, tmp_path: Path, name: str) -> Iterator[str]:
    """Yield the URL of a new copy of the migrated template (dropped afterwards on PG)."""
    if PG_ADMIN_URL:
        yield from _throwaway_pg_database(template=template_database)
    else:
        path = tmp_path / f"{name}.sqlite3"
        shutil.copyfile(template_database, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database holding the province-16 region codes."""
    yield from fresh_database(template_database, tmp_path, "lapor-warga")


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all."""
    if PG_ADMIN_URL:
        yield from _throwaway_pg_database()
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = db.create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with db.make_sessionmaker(engine)() as s:
        yield s


@pytest.fixture(autouse=True)
def _default_locale() -> Iterator[None]:
    """The CLI sets the process-wide default locale; every test starts from Indonesian."""
    from locales import set_default_locale

    set_default_locale("id")
    yield
    set_default_locale("id")


@pytest.fixture
async def fake_api() -> AsyncIterator[object]:
    from tests.driver import DrivenBotAPI

    api = DrivenBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def running_bot(fake_api, database_url: str) -> AsyncIterator[object]:
    from testkit.harness import RunningBot

    running = RunningBot(fake_api, database_url)
    await running.start()
    yield running
    await running.stop()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/production brings its own PostgreSQL cluster: it runs in the SQLite pass only."""
    if (
        PG_ADMIN_URL
        and collection_path.name == "production"
        and collection_path.parent == REPO / "tests"
    ):
        return True
    return None


# User actions of each report type's happy path (tests/e2e/test_report_types.py).
ACTION_COUNTS: dict[str, int] = {}


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not ACTION_COUNTS:
        return
    terminalreporter.section("user actions per happy path (/lapor to Submit)")
    for kind, count in sorted(ACTION_COUNTS.items()):
        terminalreporter.write_line(f"{kind:<15} {count:>3}")
