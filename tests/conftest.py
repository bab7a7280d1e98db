"""Database fixtures: every test gets its own migrated database.

SQLite (default): a migrated template file is copied per test. PostgreSQL: set
``LW_TEST_DATABASE_URL`` to an admin URL of a throwaway server (``scripts/test.sh``
starts one); each test gets ``CREATE DATABASE ... TEMPLATE`` of a migrated template.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage import db
from tests.helpers.db import (
    PG_ADMIN_URL,
    REPO,
    TEST_PROVINCE,
    fresh_database,
    pg_admin,
    prepare,
    shared_regions_csv,
    sqla_url,
    throwaway_pg_database,
)
from tests.helpers.walk import ACTION_COUNTS

# Every property test runs without Hypothesis's per-example deadline (200 ms by default):
# the machine may be busy (other suites, two cores), and an example that waits that long
# for a CPU would fail its test, though nothing these tests check is about time. Without
# a deadline the too_slow health check allows 30 s instead of 1 s for drawing the first
# ten examples. A test's own ``@settings`` still overrides this.
settings.register_profile("lapor-warga", deadline=None)
settings.load_profile("lapor-warga")


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
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        asyncio.run(prepare(sqla_url(name), regions_subset_csv))
        yield name
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        asyncio.run(prepare(f"sqlite+aiosqlite:///{path}", regions_subset_csv))
        yield str(path)


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database holding the province-16 region codes."""
    yield from fresh_database(template_database, tmp_path, "lapor-warga")


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all."""
    if PG_ADMIN_URL:
        yield from throwaway_pg_database()
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
def cli_db(database_url: str, monkeypatch) -> str:
    """``database_url`` as the CLI's DATABASE_URL, the CLI in English."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    return database_url


@pytest.fixture
async def running_bot(fake_api, database_url: str) -> AsyncIterator[object]:
    from testkit.harness import RunningBot

    running = RunningBot(fake_api, database_url)
    await running.start()
    yield running
    await running.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers by place: ``production`` for tests/production, ``e2e`` for tests/e2e,
    tests/security and any other test that runs the bot (``running_bot``)."""
    tests = REPO / "tests"
    for item in items:
        parts = item.path.relative_to(tests).parts if item.path.is_relative_to(tests) else ()
        if parts[:1] == ("production",):
            item.add_marker(pytest.mark.production)
        elif parts[:1] in (("e2e",), ("security",)) or "running_bot" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.e2e)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/production brings its own PostgreSQL cluster: it runs in the SQLite pass only."""
    if (
        PG_ADMIN_URL
        and collection_path.name == "production"
        and collection_path.parent == REPO / "tests"
    ):
        return True
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist (scripts/test.sh runs ``-n 2``) a worker hands its user-action
    counts to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["action_counts"] = dict(ACTION_COUNTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    ACTION_COUNTS.update(getattr(node, "workeroutput", {}).get("action_counts", {}))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not ACTION_COUNTS:
        return
    terminalreporter.section("user actions per happy path (/lapor to Submit)")
    for kind, count in sorted(ACTION_COUNTS.items()):
        terminalreporter.write_line(f"{kind:<18} {count:>3}")
