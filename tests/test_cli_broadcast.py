"""``lapor-warga broadcast``: the region is checked, the messages are queued for the running
bot, and without ``--no-wait`` the command follows them until each one is final."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

import bot.cli.broadcast
from bot.cli import main
from bot.factory import create_bot
from bot.outbox import OutboxSender
from bot.settings import load_settings
from registry.accounts import ensure_account, link_account
from registry.households import import_households
from storage import db
from storage.models import Broadcast, Household, OutboxMessage
from testkit.factories import FAMILIES, HARTONO, SARI, registry_rows, write_csv

SARI_ID, BUDI_ID, ANI_ID = 1401, 1402, 1403


@pytest.fixture
async def residents(database_url, tmp_path, monkeypatch):
    """Three linked residents of 16.71.01.1001; the CLI speaks English."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    engine = db.create_engine(database_url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            await import_households(
                session, write_csv(tmp_path / "reg.csv", registry_rows(FAMILIES))
            )
            for telegram_id, nik, kk in (
                (SARI_ID, SARI.person("Sari Wulandari").nik, SARI.kk),
                (BUDI_ID, SARI.person("Budi Santoso").nik, SARI.kk),
                (ANI_ID, HARTONO.person("Ani Rahmawati").nik, HARTONO.kk),
            ):
                account = await ensure_account(session, telegram_id)
                account.locale = "en"
                await link_account(session, account, nik, kk)
            await session.commit()
    finally:
        await engine.dispose()


async def _contents(database_url: str):
    engine = db.create_engine(database_url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            broadcasts = (await session.execute(select(Broadcast))).scalars().all()
            stmt = select(OutboxMessage).order_by(OutboxMessage.id)
            rows = (await session.execute(stmt)).scalars().all()
            return list(broadcasts), list(rows)
    finally:
        await engine.dispose()


def _text_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "announcement.txt"
    path.write_text(text, encoding="utf-8")
    return path


async def test_no_wait_queues_one_message_per_linked_resident(
    residents, database_url, tmp_path, capsys
) -> None:
    path = _text_file(tmp_path, "Posyandu <Sabtu> & imunisasi\n")
    code = await asyncio.to_thread(
        main, ["broadcast", "--region", "16.71", "--text-file", str(path), "--no-wait"]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Queued 3 message(s) to the linked residents of Kota Palembang (16.71)" in out.out
    assert "The running bot (lapor-warga run) delivers them." in out.out
    assert "Waiting" not in out.err

    (broadcast,), rows = await _contents(database_url)
    assert (broadcast.region_code, broadcast.total, broadcast.text) == (
        "16.71", 3, "Posyandu <Sabtu> & imunisasi",
    )  # fmt: skip
    assert broadcast.created_by_account_id is None and broadcast.notify_chat_id is None
    assert sorted(row.chat_id for row in rows) == [SARI_ID, BUDI_ID, ANI_ID]
    for row in rows:
        assert (row.status, row.purpose, row.broadcast_id) == ("pending", "broadcast", broadcast.id)
        assert row.message["text"].endswith("Posyandu &lt;Sabtu&gt; &amp; imunisasi")


async def test_a_region_without_linked_residents_queues_nothing(
    residents, database_url, tmp_path, capsys
) -> None:
    path = _text_file(tmp_path, "Halo")
    code = await asyncio.to_thread(
        main, ["broadcast", "--region", "16.72", "--text-file", str(path), "--no-wait"]
    )
    assert code == 0
    assert "nothing was queued" in capsys.readouterr().out
    assert await _contents(database_url) == ([], [])


@pytest.mark.parametrize(
    ("region", "text", "message"),
    [
        ("16.99", "Halo", "Region 16.99 is not in the database."),
        ("16.71.1", "Halo", "Region 16.71.1 is not in the database."),
        ("Palembang", "Halo", "Region Palembang is not in the database."),
        ("16.71", "  \n", "is empty: nothing to announce."),
        ("16.71", "x" * 3501, "the announcement has 3501 characters; at most 3500 fit."),
        ("16.71", "😀" * 1751, "the announcement has 3502 characters"),  # as Telegram counts
    ],
)
async def test_bad_region_or_text_exits_2_and_queues_nothing(
    residents, database_url, tmp_path, capsys, region, text, message
) -> None:
    path = _text_file(tmp_path, text)
    code = await asyncio.to_thread(
        main, ["broadcast", "--region", region, "--text-file", str(path), "--no-wait"]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1
    assert await _contents(database_url) == ([], [])


async def test_a_missing_text_file_exits_2(residents, tmp_path, capsys) -> None:
    missing = tmp_path / "nope.txt"
    code = await asyncio.to_thread(
        main, ["broadcast", "--region", "16.71", "--text-file", str(missing)]
    )
    assert code == 2 and "no such file" in capsys.readouterr().err


async def test_waiting_follows_the_running_bot_to_a_summary(
    residents, database_url, tmp_path, capsys, fake_api, monkeypatch
) -> None:
    monkeypatch.setattr(bot.cli.broadcast, "BROADCAST_POLL", 0.05)
    people = {
        i: fake_api.user(i, f"Warga {i}", language_code="en") for i in (SARI_ID, BUDI_ID, ANI_ID)
    }
    people[BUDI_ID].block()
    path = _text_file(tmp_path, "Kerja bakti Minggu pagi")

    # The running bot: its outbox sender, polling often since the CLI cannot wake it.
    settings = load_settings(
        database_url=database_url, bot_token=fake_api.token, telegram_api_base=fake_api.base_url,
        outbox_chat_rate=1000.0, outbox_poll_interval=0.05,
    )  # fmt: skip
    engine = db.create_engine(database_url)
    telegram = create_bot(settings)
    sender = OutboxSender(db.make_sessionmaker(engine), settings)
    await sender.on_startup(telegram)
    try:
        code = await asyncio.to_thread(
            main, ["broadcast", "--region", "16.71.01.1001", "--text-file", str(path)]
        )
    finally:
        await sender.on_shutdown()
        await telegram.session.close()
        await engine.dispose()
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Waiting until every message has gone out" in out.err
    assert "3 of 3 done: 2 delivered, 1 blocked, 0 failed" in out.err
    assert out.out.strip().splitlines()[-1] == (
        "Broadcast 1: 2 delivered, 1 blocked the bot, 0 failed."
    )
    for chat in (SARI_ID, ANI_ID):
        (message,) = people[chat].messages
        assert message.plain_text.endswith("Kerja bakti Minggu pagi")
    (broadcast,), _rows = await _contents(database_url)
    assert broadcast.finished_at is not None  # closed by the sender; no one to notify


async def test_households_elsewhere_are_not_reached(residents, database_url, tmp_path) -> None:
    engine = db.create_engine(database_url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            far = Household(address="Jl. Jauh", region_code="16.72.01.1001", rw=1, rt=1)
            session.add(far)
            await session.flush()
            (await ensure_account(session, 1499)).household_id = far.id
            await session.commit()
    finally:
        await engine.dispose()
    path = _text_file(tmp_path, "Halo Pagar Alam")
    assert await asyncio.to_thread(
        main, ["broadcast", "--region", "16.72.01.1001", "--text-file", str(path), "--no-wait"]
    ) == 0  # fmt: skip
    (broadcast,), rows = await _contents(database_url)
    assert broadcast.total == 1 and [row.chat_id for row in rows] == [1499]
