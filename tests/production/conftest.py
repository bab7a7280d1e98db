"""Fixtures of the production tests: their own PostgreSQL cluster (the outage test stops
it), a migrated database per test, the fake Bot API, and bot subprocesses.

These tests need PostgreSQL whatever the pass, so they start their own cluster and run
once, in the first (SQLite) pass of scripts/test.sh (tests/conftest.py leaves them out
of the PostgreSQL pass rather than running them twice)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from storage import db
from testkit.pgcluster import PgCluster
from tests.helpers.db import prepare
from tests.helpers.processes import BotProcess


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    with PgCluster() as cluster:
        yield cluster


async def _admin(pg: PgCluster, sql: str) -> None:
    conn = await asyncpg.connect(pg.dsn("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template(pg: PgCluster, regions_subset_csv: Path) -> str:
    name = "lw_prod_template"
    asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
    asyncio.run(prepare(pg.url(name), regions_subset_csv))
    return name


@pytest.fixture
def pg_url(pg: PgCluster, pg_template: str) -> Iterator[str]:
    name = f"lw_prod_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(pg, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield pg.url(name)
    asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Db:
    """The test's own view of the database the bot processes share."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = db.create_engine(url)
        self.sessionmaker = db.make_sessionmaker(self.engine)

    def session(self) -> AsyncSession:
        return self.sessionmaker()


@pytest.fixture
async def shared_db(pg_url: str) -> AsyncIterator[Db]:
    database = Db(pg_url)
    yield database
    await database.engine.dispose()


@pytest.fixture
async def spawn(fake_api, pg_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., BotProcess]]:
    """``spawn(name, **settings)``: a bot process (not started yet) on the test's database;
    all are killed at the end, their logs stay in tmp_path."""
    started: list[BotProcess] = []

    def make(name: str, **settings: object) -> BotProcess:
        process = BotProcess(fake_api, pg_url, tmp_path, name=name, **settings)
        started.append(process)
        return process

    yield make
    for process in started:
        await process.stop()
