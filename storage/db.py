"""Engine and session factory; schema migrations run through Alembic."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import writequeue

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# aiosqlite logs every statement with its parameters at DEBUG: NIKs and KKs would
# reach the log. SQLAlchemy's own echo is off and hide_parameters keeps them out
# of error messages.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


def _not_alembic_chatter(record: logging.LogRecord) -> bool:
    """Alembic says which dialect it uses every time it looks at the schema (every
    command on SQLite): not news. The migrations it runs stay in the log."""
    return not str(record.msg).startswith(("Context impl ", "Will assume "))


logging.getLogger("alembic.runtime.migration").addFilter(_not_alembic_chatter)


# Seconds a SQLite writer waits for its turn: in this process in the write queue
# (storage.writequeue), against another process in SQLite's busy handler (busy_timeout).
BUSY_TIMEOUT = 30.0


def create_engine(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    busy_timeout: float = BUSY_TIMEOUT,
    write_queue: bool = True,
    **kwargs: object,
) -> AsyncEngine:
    """The engine for ``url``. ``pool_size``/``max_overflow``: the connection pool
    (``DB_POOL_SIZE``/``DB_MAX_OVERFLOW``; None: SQLAlchemy's 5 and 10).

    On SQLite the writes of this process are queued in Python, one transaction at a time
    in arrival order (``storage.writequeue``, waiting up to ``BUSY_TIMEOUT`` for a turn);
    ``busy_timeout`` is how long a writer then waits in SQLite for another process's write
    lock (the command line beside the bot). ``write_queue=False`` leaves the writers to
    SQLite's busy handler alone (``benchmarks/sqlite_writers.py`` compares the two)."""
    parsed = make_url(url)
    pool: dict[str, object] = {}
    if "poolclass" not in kwargs:
        if pool_size is not None:
            pool["pool_size"] = pool_size
        if max_overflow is not None:
            pool["max_overflow"] = max_overflow
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            pool = {}  # one shared connection (StaticPool): nothing to size
        engine = create_async_engine(
            url, connect_args={"timeout": busy_timeout}, hide_parameters=True, **pool, **kwargs
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.close()

        if write_queue:
            writequeue.install(engine.sync_engine, timeout=BUSY_TIMEOUT)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **pool, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on the engine's database.

    On SQLite, Alembic's batch mode rebuilds a table to alter a column; with foreign
    keys enforced, dropping the old copy of a referenced table would fail. As SQLite's
    documentation prescribes for such changes, enforcement is off while migrating
    and the foreign keys are checked before the migration is committed."""
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)
        return
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await conn.run_sync(_upgrade, revision)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                await conn.rollback()
                raise RuntimeError(f"migration left {len(broken)} broken foreign keys")
            await conn.commit()
        finally:
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()


async def is_up_to_date(engine: AsyncEngine) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    async with engine.connect() as conn:
        return await conn.run_sync(_current_heads) == heads
