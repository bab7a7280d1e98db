"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import json
from datetime import datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

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


REGIONS = text(
    "INSERT INTO regions (code, name, level, parent_code) VALUES "
    "('16', 'Sumatera Selatan', 1, NULL), ('16.71', 'Kota Palembang', 2, '16'), "
    "('16.71.01', 'Ilir Barat Dua', 3, '16.71'), "
    "('16.71.01.1001', 'Tiga-puluh-lima Ilir', 4, '16.71.01')"
)


def _upgrade_to(connection, revision: str) -> None:
    from alembic import command

    cfg = db.alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def test_0002_gives_existing_reports_their_households_area(empty_database_url: str) -> None:
    engine = db.create_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: _upgrade_to(sync, "0001"))
            await conn.execute(REGIONS)
            now = "2026-01-01 00:00:00"
            await conn.execute(text(
                "INSERT INTO households (id, kk, address, region_code, rw, rt, created_at, "
                f"updated_at) VALUES (1, '1671011203150007', 'Jl. Merdeka', '16.71.01.1001', 2, 3, "
                f"'{now}', '{now}')"
            ))  # fmt: skip
            await conn.execute(text(
                "INSERT INTO reports (id, number, kind, state, household_id, payload, created_at, "
                f"updated_at, version) VALUES (1, 'LW-2026-000001', 'birth', 'awaiting_rt', 1, "
                f"'{{\"name\": \"Raka\", \"mother_id\": 2, \"mother_name\": \"Sari\"}}', "
                f"'{now}', '{now}', 1)"
            ))  # fmt: skip
            await conn.execute(text(
                "INSERT INTO accounts (id, telegram_id, created_at) VALUES (1, 1001, "
                f"'{now}')"
            ))  # fmt: skip
            await conn.execute(text(
                "INSERT INTO drafts (id, account_id, flow, step, answers, context, rev, "
                "created_at, updated_at) VALUES (1, 1, 'birth', 'certificate', "
                f"'{{\"name\": \"Raka\", \"certificate\": {{\"kind\": \"photo\"}}}}', "
                f"'{{}}', 3, '{now}', '{now}')"
            ))  # fmt: skip
        await db.upgrade(engine)
        async with engine.connect() as conn:
            payload = (await conn.execute(text("SELECT payload FROM reports"))).scalar_one()
            draft = (await conn.execute(text("SELECT step, answers FROM drafts"))).one()
            row = (await conn.execute(text("SELECT region_code, rw, rt FROM reports"))).one()
            details = (await conn.execute(text("SELECT details FROM households"))).scalar_one()
        assert tuple(row) == ("16.71.01.1001", 2, 3)
        loads = json.loads if isinstance(payload, str) else (lambda value: value)
        assert loads(payload) == {
            "name": "Raka", "mother": "2", "_labels": {"mother": {"2": "Sari"}},
        }  # fmt: skip
        assert draft[0] == "evidence"
        assert loads(draft[1]) == {"name": "Raka", "evidence": [{"kind": "photo"}]}
        assert details in ({}, "{}")
    finally:
        await engine.dispose()


async def test_0008_keeps_the_newest_link_of_a_member_and_never_reuses_draft_ids(
    empty_database_url: str,
) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = db.create_engine(empty_database_url)
    now = "2026-01-01 00:00:00"
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: _upgrade_to(sync, "0007"))
            await conn.execute(REGIONS)
            await conn.execute(text(
                "INSERT INTO households (id, kk, address, region_code, rw, rt, details, "
                f"created_at, updated_at) VALUES (1, '1671011203150007', 'Jl. Merdeka', "
                f"'16.71.01.1001', 2, 3, '{{}}', '{now}', '{now}')"
            ))  # fmt: skip
            for member in (1, 2):
                await conn.execute(text(
                    "INSERT INTO members (id, household_id, nik, name, sex, birth_date, "
                    f"relationship, status, details, created_at) VALUES ({member}, 1, "
                    f"'167101010180000{member}', 'M{member}', 'F', '1980-01-01', 'head', "
                    f"'alive', '{{}}', '{now}')"
                ))  # fmt: skip
            links = [  # id, member, linked_at
                (1, 1, datetime(2026, 1, 1)),
                (2, 1, datetime(2026, 3, 1)),  # the newest link of member 1: kept
                (3, 1, datetime(2026, 2, 1)),
                (4, 2, datetime(2026, 1, 1)),
                (5, None, None),
            ]
            for account, member, linked in links:
                await conn.execute(
                    text(
                        "INSERT INTO accounts (id, telegram_id, member_id, household_id, "
                        "linked_at, created_at) VALUES (:id, :tg, :m, :h, :at, :now)"
                    ),
                    {"id": account, "tg": 1000 + account, "m": member,
                     "h": 1 if member else None, "at": linked, "now": datetime(2026, 1, 1)},
                )  # fmt: skip
        await db.upgrade(engine)
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    text("SELECT id, member_id, household_id, linked_at FROM accounts ORDER BY id")
                )
            ).all()
            assert [(r[0], r[1], r[2], r[3] is not None) for r in rows] == [
                (1, None, None, False),
                (2, 1, 1, True),
                (3, None, None, False),
                (4, 2, 1, True),
                (5, None, None, False),
            ]
            # A dropped draft's id is never given to the next one (SQLite would reuse the
            # highest id without AUTOINCREMENT).
            ids = []
            for flow in ("death", "dispute"):
                await conn.execute(text("DELETE FROM drafts"))
                await conn.execute(text(
                    "INSERT INTO drafts (account_id, flow, step, answers, context, rev, "
                    f"created_at, updated_at) VALUES (2, '{flow}', 'x', '{{}}', '{{}}', 1, "
                    f"'{now}', '{now}')"
                ))  # fmt: skip
                ids.append((await conn.execute(text("SELECT id FROM drafts"))).scalar_one())
            assert ids[1] > ids[0]
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE accounts SET member_id = 1 WHERE id = 5"))
    finally:
        await engine.dispose()
