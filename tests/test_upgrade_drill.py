"""The upgrade drill: a database of the first release's schema (migration 0001), filled
as that release left it (households, members, linked and reviewer accounts, roles,
reports waiting, applied and rejected with their events, a photo, a registry revision,
an unfinished form), upgraded to the newest schema with ``lapor-warga db upgrade``,
keeps every row, and the bot runs on it: the resident sees her report, the RT head
decides the one that waited through the upgrade."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from storage import db
from storage.models import (
    Account,
    Attachment,
    Draft,
    Household,
    Member,
    RegistryRevision,
    Report,
    ReportEvent,
    RoleGrant,
    utcnow,
)
from testkit.factories import HARTONO, SARI, VILLAGE
from testkit.harness import RunningBot
from tests.helpers.chat import RT_ID, SARI_ID, agree
from tests.helpers.drill import cli, table_counts

pytestmark = pytest.mark.release

FIRST = "0001"
# Recent enough that no report is past its tier's SLA (the bot would escalate it at once).
T0 = utcnow() - timedelta(hours=2)
HARTONO_ID = 1005


def _t(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


# The tables as migration 0001 made them (the columns filled here).
REGIONS = _t(
    "regions",
    ("code", sa.String()),
    ("name", sa.String()),
    ("level", sa.Integer()),
    ("parent_code", sa.String()),
)
HOUSEHOLDS = _t(
    "households",
    ("id", sa.Integer()),
    ("kk", sa.String()),
    ("address", sa.String()),
    ("region_code", sa.String()),
    ("rw", sa.Integer()),
    ("rt", sa.Integer()),
    ("desil", sa.Integer()),
    ("created_at", sa.DateTime()),
    ("updated_at", sa.DateTime()),
)
MEMBERS = _t(
    "members",
    ("id", sa.Integer()),
    ("household_id", sa.Integer()),
    ("nik", sa.String()),
    ("name", sa.String()),
    ("sex", sa.String()),
    ("birth_date", sa.Date()),
    ("relationship", sa.String()),
    ("status", sa.String()),
    ("created_at", sa.DateTime()),
)
ACCOUNTS = _t(
    "accounts",
    ("id", sa.Integer()),
    ("telegram_id", sa.BigInteger()),
    ("first_name", sa.String()),
    ("locale", sa.String()),
    ("phone", sa.String()),
    ("member_id", sa.Integer()),
    ("household_id", sa.Integer()),
    ("linked_at", sa.DateTime()),
    ("created_at", sa.DateTime()),
)
GRANTS = _t(
    "role_grants",
    ("id", sa.Integer()),
    ("account_id", sa.Integer()),
    ("role", sa.String()),
    ("region_code", sa.String()),
    ("rw", sa.Integer()),
    ("rt", sa.Integer()),
    ("granted_at", sa.DateTime()),
)
REPORTS = _t(
    "reports",
    ("id", sa.Integer()),
    ("number", sa.String()),
    ("kind", sa.String()),
    ("state", sa.String()),
    ("household_id", sa.Integer()),
    ("reporter_account_id", sa.Integer()),
    ("payload", sa.JSON()),
    ("created_at", sa.DateTime()),
    ("updated_at", sa.DateTime()),
    ("version", sa.Integer()),
)
EVENTS = _t(
    "report_events",
    ("id", sa.Integer()),
    ("report_id", sa.Integer()),
    ("actor_account_id", sa.Integer()),
    ("from_state", sa.String()),
    ("to_state", sa.String()),
    ("note", sa.Text()),
    ("created_at", sa.DateTime()),
)
ATTACHMENTS = _t(
    "attachments",
    ("id", sa.Integer()),
    ("report_id", sa.Integer()),
    ("field", sa.String()),
    ("kind", sa.String()),
    ("file_id", sa.String()),
    ("file_unique_id", sa.String()),
    ("created_at", sa.DateTime()),
)
REVISIONS = _t(
    "registry_revisions",
    ("id", sa.Integer()),
    ("household_id", sa.Integer()),
    ("member_id", sa.Integer()),
    ("report_id", sa.Integer()),
    ("approved_by_account_id", sa.Integer()),
    ("action", sa.String()),
    ("before", sa.JSON()),
    ("after", sa.JSON()),
    ("created_at", sa.DateTime()),
)
DRAFTS = _t("drafts", ("id", sa.Integer()), ("account_id", sa.Integer()), ("flow", sa.String()),
            ("step", sa.String()), ("answers", sa.JSON()), ("context", sa.JSON()),
            ("rev", sa.Integer()), ("created_at", sa.DateTime()), ("updated_at", sa.DateTime()))  # fmt: skip

BABY = {"name": "Raka Pratama", "sex": "M", "birth_date": "2025-02-20", "mother_id": 2,
        "mother_name": "Sari Wulandari"}  # fmt: skip
BORN = {"name": "Putri Lestari", "sex": "F", "birth_date": "2024-12-01", "mother_id": 2,
        "mother_name": "Sari Wulandari"}  # fmt: skip


def _insert(conn: sa.Connection, table: sa.TableClause, rows: list[dict]) -> None:
    """Rows in order, their ids given by the database (1, 2, ... in a new one), as the
    first release wrote them: an explicit id would leave PostgreSQL's sequence behind."""
    for row in rows:
        given = row.pop("id", None)
        new_id = conn.execute(table.insert().values(row).returning(table.c.id)).scalar_one()
        assert given is None or new_id == given, (table.name, given, new_id)


def _fill_first_release(conn: sa.Connection) -> None:
    conn.execute(REGIONS.insert(), [
        {"code": "16", "name": "Sumatera Selatan", "level": 1, "parent_code": None},
        {"code": "16.71", "name": "Kota Palembang", "level": 2, "parent_code": "16"},
        {"code": "16.71.01", "name": "Ilir Barat Dua", "level": 3, "parent_code": "16.71"},
        {"code": VILLAGE, "name": "Tiga-puluh-lima Ilir", "level": 4, "parent_code": "16.71.01"},
    ])  # fmt: skip
    _insert(conn, HOUSEHOLDS, [
        {"id": i, "kk": f.kk, "address": f.address, "region_code": VILLAGE, "rw": f.rw,
         "rt": f.rt, "desil": f.desil, "created_at": T0, "updated_at": T0}
        for i, f in enumerate((SARI, HARTONO), start=1)
    ])  # fmt: skip
    people = [(1, p) for p in SARI.people] + [(2, p) for p in HARTONO.people]
    _insert(conn, MEMBERS, [
        {"id": i, "household_id": h, "nik": p.nik, "name": p.name, "sex": p.sex,
         "birth_date": p.birth_date, "relationship": p.relationship, "status": "alive",
         "created_at": T0}
        for i, (h, p) in enumerate(people, start=1)
    ] + [
        {"id": 6, "household_id": 1, "nik": None, "name": BORN["name"], "sex": "F",
         "birth_date": date(2024, 12, 1), "relationship": "child", "status": "alive",
         "created_at": T0},
    ])  # fmt: skip
    _insert(conn, ACCOUNTS, [
        {"id": 1, "telegram_id": SARI_ID, "first_name": "Sari", "locale": "en",
         "phone": "+6281234567890", "member_id": 2, "household_id": 1, "linked_at": T0,
         "created_at": T0},
        {"id": 2, "telegram_id": RT_ID, "first_name": "Pak RT", "locale": "en", "phone": None,
         "member_id": None, "household_id": None, "linked_at": None, "created_at": T0},
        {"id": 3, "telegram_id": HARTONO_ID, "first_name": "Hartono", "locale": "id",
         "phone": "+6281300000005", "member_id": 4, "household_id": 2, "linked_at": T0,
         "created_at": T0},
    ])  # fmt: skip
    _insert(conn, GRANTS, [
        {"id": 1, "account_id": 2, "role": "rt", "region_code": VILLAGE, "rw": 2, "rt": 3,
         "granted_at": T0},
    ])  # fmt: skip
    _insert(conn, REPORTS, [
        {"id": 1, "number": "LW-2025-000001", "kind": "birth", "state": "applied",
         "household_id": 1, "reporter_account_id": 1, "payload": BORN, "created_at": T0,
         "updated_at": T0, "version": 4},
        {"id": 2, "number": "LW-2025-000002", "kind": "birth", "state": "rejected",
         "household_id": 1, "reporter_account_id": 1, "payload": {**BABY, "name": "Raka"},
         "created_at": T0, "updated_at": T0, "version": 2},
        {"id": 3, "number": "LW-2025-000003", "kind": "birth", "state": "awaiting_rt",
         "household_id": 1, "reporter_account_id": 1, "payload": BABY, "created_at": T0,
         "updated_at": T0, "version": 1},
    ])  # fmt: skip
    chain = [(1, None, "submitted"), (1, "submitted", "awaiting_rt"),
             (1, "awaiting_rt", "awaiting_kelurahan"), (1, "awaiting_kelurahan", "awaiting_officer"),
             (1, "awaiting_officer", "applied"), (2, None, "submitted"),
             (2, "submitted", "awaiting_rt"), (2, "awaiting_rt", "rejected"),
             (3, None, "submitted"), (3, "submitted", "awaiting_rt")]  # fmt: skip
    _insert(conn, EVENTS, [
        {"id": i, "report_id": r, "actor_account_id": 2 if to == "rejected" else None,
         "from_state": f, "to_state": to, "note": "Sudah dilaporkan" if to == "rejected" else None,
         "created_at": T0}
        for i, (r, f, to) in enumerate(chain, start=1)
    ])  # fmt: skip
    _insert(conn, ATTACHMENTS, [
        {"id": 1, "report_id": 3, "field": "certificate", "kind": "photo",
         "file_id": "AgACAgUAAxkBAAIBG2", "file_unique_id": "AQADxLsxG", "created_at": T0},
    ])  # fmt: skip
    _insert(conn, REVISIONS, [
        {"id": 1, "household_id": 1, "member_id": 6, "report_id": 1,
         "approved_by_account_id": None, "action": "member_added", "before": None,
         "after": {"id": 6, "name": BORN["name"], "sex": "F", "birth_date": "2024-12-01"},
         "created_at": T0},
    ])  # fmt: skip
    _insert(conn, DRAFTS, [
        {"id": 1, "account_id": 3, "flow": "birth", "step": "certificate",
         "answers": {"name": "Bayi Hartono", "certificate": {"kind": "photo"}}, "context": {},
         "rev": 3, "created_at": T0, "updated_at": T0},
    ])  # fmt: skip


def _to_first_release(connection: sa.Connection) -> None:
    from alembic import command

    cfg = db.alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, FIRST)


async def _rows(url: str):
    engine = db.create_engine(url)
    try:
        async with db.make_sessionmaker(engine)() as s:
            return {
                "households": [(h.id, h.kk, h.address, h.rw, h.rt, h.desil)
                               for h in (await s.execute(select(Household).order_by(Household.id))).scalars()],
                "members": [(m.id, m.household_id, m.nik, m.name, m.birth_date, m.status)
                            for m in (await s.execute(select(Member).order_by(Member.id))).scalars()],
                "accounts": [(a.id, a.telegram_id, a.member_id, a.household_id)
                             for a in (await s.execute(select(Account).order_by(Account.id))).scalars()],
                "grants": [(g.account_id, g.role, g.region_code, g.rw, g.rt, g.revoked_at)
                           for g in (await s.execute(select(RoleGrant))).scalars()],
                "reports": {r.number: r for r in (await s.execute(select(Report))).scalars()},
                "events": (await s.execute(select(sa.func.count()).select_from(ReportEvent))).scalar_one(),
                "attachments": [(a.report_id, a.field, a.file_id)
                                for a in (await s.execute(select(Attachment))).scalars()],
                "revisions": [(r.member_id, r.report_id, r.action, r.after)
                              for r in (await s.execute(select(RegistryRevision))).scalars()],
                "drafts": [(d.account_id, d.step, d.answers)
                           for d in (await s.execute(select(Draft))).scalars()],
            }  # fmt: skip
    finally:
        await engine.dispose()


async def test_the_first_release_upgrades_and_the_bot_runs_on_it(
    empty_database_url: str, fake_api, monkeypatch
) -> None:
    engine = db.create_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_to_first_release)
            await conn.run_sync(_fill_first_release)
    finally:
        await engine.dispose()
    first = await table_counts(empty_database_url)

    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    assert await cli("db", "upgrade") == 0

    upgraded = await table_counts(empty_database_url)
    for name, count in first.items():
        assert upgraded[name] == count, name  # every row of the first release is kept
    rows = await _rows(empty_database_url)
    assert rows["households"] == [(1, SARI.kk, SARI.address, 2, 3, 2),
                                  (2, HARTONO.kk, HARTONO.address, 2, 5, None)]  # fmt: skip
    assert [m[2] for m in rows["members"]] == [p.nik for p in SARI.people + HARTONO.people] + [None]
    assert rows["members"][5][3:] == ("Putri Lestari", date(2024, 12, 1), "alive")
    assert rows["accounts"] == [(1, SARI_ID, 2, 1), (2, RT_ID, None, None), (3, HARTONO_ID, 4, 2)]
    assert rows["grants"] == [(2, "rt", VILLAGE, 2, 3, None)]
    reports = rows["reports"]
    assert {n: r.state for n, r in reports.items()} == {
        "LW-2025-000001": "applied", "LW-2025-000002": "rejected",
        "LW-2025-000003": "awaiting_rt",
    }  # fmt: skip
    waiting = reports["LW-2025-000003"]
    assert (waiting.region_code, waiting.rw, waiting.rt) == (VILLAGE, 2, 3)  # 0002
    assert waiting.payload["mother"] == "2"  # 0001's mother_id, as today's form names it
    assert waiting.tier_since is not None  # 0003
    assert rows["events"] == 10
    assert rows["attachments"] == [(3, "evidence", "AgACAgUAAxkBAAIBG2")]
    assert rows["revisions"][0][:3] == (6, 1, "member_added")
    assert rows["drafts"][0][1] == "evidence"

    bot = RunningBot(fake_api, empty_database_url)
    await bot.start()
    try:
        # The resident of the first release: asked to agree (0004), then her reports.
        sari = fake_api.user(SARI_ID, "Sari", language_code="en")
        await sari.send_text("/status")
        await agree(sari)
        await sari.send_text("/status")
        await sari.expect("LW-2025-000003")
        # The RT head decides the report that waited through the upgrade.
        rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
        await rt.send_text("/antrian")
        await agree(rt)
        await rt.send_text("/antrian")
        queue = await rt.expect("Waiting for your decision")
        await rt.press("LW-2025-000003 · Birth", queue)
        card = await rt.expect("Is this true?")
        assert "Raka Pratama" in card.plain_text and "Sari Wulandari" in card.plain_text
        await rt.press("✅ Confirm", card)
        await sari.expect("confirmed by your RT head")
    finally:
        await bot.stop()
    assert (await _rows(empty_database_url))["reports"]["LW-2025-000003"].state == (
        "awaiting_kelurahan"
    )
