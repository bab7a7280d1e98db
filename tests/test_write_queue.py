"""SQLite's writers take turns in Python, in arrival order (storage/writequeue.py).

Real SQLite files, real aiosqlite connections through ``storage.db.create_engine``: the
busy timeout is made tiny, so a writer that met the lock taken inside SQLite instead of
waiting its turn in the queue would fail with "database is locked". These tests do not
depend on the backend under test and are skipped in the PostgreSQL pass, except the pool
settings, which are checked on both."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import SettingsError, load_settings
from storage import db
from storage.updates import DatabaseUnavailable, chat_connection, is_outage
from tests.helpers.db import PG_ADMIN_URL

sqlite_only = pytest.mark.skipif(
    bool(PG_ADMIN_URL), reason="SQLite's write queue: runs in the SQLite pass"
)

TINY_BUSY_TIMEOUT = 0.001  # seconds: SQLite's busy handler would give up at once


@pytest.fixture
async def tiny(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A SQLite file whose busy timeout is a millisecond, with room for 40 connections."""
    engine = db.create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'queue.sqlite3'}",
        pool_size=40,
        max_overflow=0,
        busy_timeout=TINY_BUSY_TIMEOUT,
    )
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER, step TEXT)"))
    yield engine
    await engine.dispose()


def _arrivals(engine: AsyncEngine) -> list[int]:
    """The writers' numbers in the order their first write was sent to the driver."""
    arrived: list[int] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def arrive(_conn, _cursor, statement, params, _context, _many):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT"):
            arrived.append(params[0])

    return arrived


@sqlite_only
async def test_many_writers_at_once_all_commit_in_the_order_they_came(tiny) -> None:
    arrived = _arrivals(tiny)

    async def writer(n: int) -> None:
        async with tiny.connect() as conn:
            await conn.execute(text("SELECT count(*) FROM t"))  # reads do not queue
            await conn.execute(text("INSERT INTO t VALUES (:n, 'first')"), {"n": n})
            await asyncio.sleep(0)  # the transaction stays open while others arrive
            await conn.execute(text("UPDATE t SET step = 'second' WHERE n = :n"), {"n": n})
            await conn.commit()

    await asyncio.gather(*(writer(n) for n in range(30)))

    async with tiny.connect() as conn:
        rows = (await conn.execute(text("SELECT n, step FROM t ORDER BY rowid"))).all()
    assert [n for n, _ in rows] == arrived  # committed one after the other, first come first
    assert sorted(arrived) == list(range(30))
    assert {step for _, step in rows} == {"second"}


@sqlite_only
async def test_sessions_that_fail_or_roll_back_pass_the_turn_on(tiny) -> None:
    sessions = db.make_sessionmaker(tiny)

    async def writer(n: int) -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO t VALUES (:n, 'kept')"), {"n": n})
            if n % 3 == 0:
                raise ValueError(n)  # the session closes with a rollback
            if n % 3 == 1:
                await session.rollback()
                return
            await session.commit()

    results = await asyncio.gather(*(writer(n) for n in range(24)), return_exceptions=True)

    assert [type(r) for r in results if r is not None] == [ValueError] * 8
    async with sessions() as session:
        kept = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
    assert kept == [n for n in range(24) if n % 3 == 2]


@sqlite_only
async def test_a_reader_runs_beside_the_writer_holding_the_turn(tiny) -> None:
    async with tiny.connect() as writer, tiny.connect() as reader:
        await writer.execute(text("INSERT INTO t VALUES (1, 'uncommitted')"))
        # The writer holds the turn and SQLite's write lock: a reader needs neither.
        assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        await reader.commit()
        await writer.commit()
        assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar() == 1


@sqlite_only
async def test_a_nested_writer_in_the_same_task_fails_at_once_instead_of_hanging(tiny) -> None:
    sessions = db.make_sessionmaker(tiny)
    async with sessions() as outer:
        await outer.execute(text("INSERT INTO t VALUES (1, 'outer')"))
        async with sessions() as inner:
            with pytest.raises(OperationalError, match="already holds the SQLite write queue"):
                await inner.execute(text("INSERT INTO t VALUES (2, 'inner')"))
        await outer.commit()
    async with sessions() as session:  # the turn went back: the next writer gets it
        await session.execute(text("INSERT INTO t VALUES (3, 'after')"))
        await session.commit()
        rows = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
    assert rows == [1, 3]


@sqlite_only
async def test_a_savepoint_belongs_to_its_transaction(tiny) -> None:
    """SAVEPOINT starts the transaction when it comes first (the driver would have run it
    as a transaction of its own, committed at RELEASE)."""
    sessions = db.make_sessionmaker(tiny)
    async with sessions() as session:
        async with session.begin_nested():
            await session.execute(text("INSERT INTO t VALUES (1, 'in a savepoint')"))
        await session.rollback()
        count = (await session.execute(text("SELECT count(*) FROM t"))).scalar()
    assert count == 0


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO t VALUES (0, 'other process')")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


async def _other_process_holding_the_lock(path: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"locked\n"
    return proc


async def _let_go(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"\n")
    await proc.stdin.drain()
    assert await proc.wait() == 0


@sqlite_only
async def test_another_process_writing_is_waited_for_by_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout=60)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER, step TEXT)"))
        other = await _other_process_holding_the_lock(path)
        sessions = db.make_sessionmaker(engine)

        async def writer(n: int) -> None:
            async with sessions() as session:
                await session.execute(text("INSERT INTO t VALUES (:n, 'here')"), {"n": n})
                await session.commit()

        # The first writer waits in SQLite's busy handler for the other process (with the
        # turn in hand); the others wait in the queue behind it.
        writers = asyncio.gather(*(writer(n) for n in range(1, 6)))
        await asyncio.sleep(0.2)
        await _let_go(other)
        await writers
        async with sessions() as session:
            rows = (await session.execute(text("SELECT n FROM t ORDER BY rowid"))).scalars().all()
        assert rows[0] == 0 and sorted(rows[1:]) == [1, 2, 3, 4, 5]
    finally:
        await engine.dispose()


@sqlite_only
async def test_busy_timeout_still_gives_up_on_another_process_and_the_turn_is_not_lost(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite3"
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout=TINY_BUSY_TIMEOUT)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER, step TEXT)"))
        other = await _other_process_holding_the_lock(path)
        sessions = db.make_sessionmaker(engine)
        try:
            async with sessions() as session:
                with pytest.raises(OperationalError, match="database is locked"):
                    await session.execute(text("INSERT INTO t VALUES (1, 'here')"))
        finally:
            await _let_go(other)
        async with sessions() as session:
            await session.execute(text("INSERT INTO t VALUES (2, 'here')"))
            await session.commit()
            rows = (await session.execute(text("SELECT n FROM t ORDER BY rowid"))).scalars().all()
        assert rows == [0, 2]
    finally:
        await engine.dispose()


# ---- pool settings -------------------------------------------------------------------------


def test_pool_settings_have_defaults_and_refuse_bad_values(monkeypatch) -> None:
    settings = load_settings()
    assert settings.pool == {"pool_size": 10, "max_overflow": 10}
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    assert load_settings().pool == {"pool_size": 3, "max_overflow": 0}
    for name, value, says in [
        ("DB_POOL_SIZE", "0", "DB_POOL_SIZE: Input should be greater than or equal to 1"),
        ("DB_POOL_SIZE", "-5", "DB_POOL_SIZE: Input should be greater than or equal to 1"),
        ("DB_POOL_SIZE", "lots", "DB_POOL_SIZE: Input should be a valid integer"),
        ("DB_POOL_SIZE", "1001", "DB_POOL_SIZE: Input should be less than or equal to 1000"),
        ("DB_MAX_OVERFLOW", "-1", "DB_MAX_OVERFLOW: Input should be greater than or equal to 0"),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=f"^{says}"):
            load_settings()
        monkeypatch.setenv(name, "3" if name == "DB_POOL_SIZE" else "0")


async def test_the_engine_takes_the_pool_settings(database_url: str) -> None:
    settings = load_settings(database_url=database_url, db_pool_size=3, db_max_overflow=2)
    engine = db.create_engine(settings.database_url, **settings.pool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 2  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def test_no_connection_free_within_the_pool_timeout_counts_as_an_outage(
    database_url: str,
) -> None:
    engine = db.create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            with pytest.raises(sqlalchemy.exc.TimeoutError) as raised:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            assert is_outage(raised.value)
            if engine.dialect.name == "postgresql":  # the chat lock takes a connection there
                with pytest.raises(DatabaseUnavailable):
                    async with chat_connection(engine, 42):
                        pass
    finally:
        await engine.dispose()
