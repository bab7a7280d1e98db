"""What the restore and upgrade drills compare: every table's row count and a checksum
of the registry (households, members, their revisions), read the same way from any
database; and the command line run from a running event loop."""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import inspect, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from storage import db
from storage.models import Household, Member, RegistryRevision

REGISTRY = (Household.__table__, Member.__table__, RegistryRevision.__table__)


async def table_counts(url: str) -> dict[str, int]:
    """Rows of every table of the database (alembic_version included)."""
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            return {
                name: (
                    await conn.execute(select(text("count(*)")).select_from(table(name)))
                ).scalar_one()
                for name in sorted(names)
            }
    finally:
        await engine.dispose()


async def _checksum(engine: AsyncEngine) -> str:
    digest = hashlib.sha256()
    async with engine.connect() as conn:
        for registry_table in REGISTRY:
            digest.update(registry_table.name.encode())
            ordered = select(registry_table).order_by(*registry_table.primary_key.columns)
            for row in (await conn.execute(ordered)).all():
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


async def registry_checksum(url: str) -> str:
    """SHA-256 of every row of households, members and registry_revisions, in id order."""
    engine = db.create_engine(url)
    try:
        return await _checksum(engine)
    finally:
        await engine.dispose()


async def cli(*args: str) -> int:
    """``lapor-warga ARGS`` in a thread (it runs its own event loop), with the settings
    of the environment; from a test whose loop keeps the bot running."""
    return await asyncio.to_thread(main, list(args))
