"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import db
from storage.models import Base


async def test_migrated_schema_matches_the_models(empty_database_url: str) -> None:
    engine = db.create_engine(empty_database_url)
    try:
        await db.upgrade(engine)
        assert await db.is_up_to_date(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert diff == []
        assert set(Base.metadata.tables) <= tables
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_back(empty_database_url: str) -> None:
    engine = db.create_engine(empty_database_url)
    try:
        await db.upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: _downgrade(sync))
        assert not await db.is_up_to_date(engine)
        await db.upgrade(engine)
        assert await db.is_up_to_date(engine)
    finally:
        await engine.dispose()


def _downgrade(connection) -> None:
    from alembic import command

    cfg = db.alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, "base")
