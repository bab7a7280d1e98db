"""The restore drill: a backup taken while the bot is writing, restored into an empty
database the way docs/operations.md#restoring-a-backup says, holds what the database
held at the backup's moment, and the bot runs on it.

The database is filled through the real flows (the chat through the real bot, the
batch decisions of the command line): reports in every state a report rests in,
registry revisions, outbox rows, audit entries. While ``lapor-warga db backup`` runs,
the RT head keeps opening their queue (each update writes a processed update id and an
audit entry). The restored database's every table holds between the rows the source
held just before the backup started and just after it ended (exactly as many where the
bot wrote nothing meanwhile), and the registry (households, members, revisions) is the
same, row for row.
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import db
from storage.backup import find_pg_dump
from storage.models import Report
from testkit.harness import RunningBot
from tests.helpers.chat import (
    LURAH_ID,
    OFFICER_ID,
    RT_ID,
    ago,
    ask_reporter,
    file_birth_en,
    linked_sari,
    reviewer,
)
from tests.helpers.db import PG_ADMIN_URL, pg_dsn, throwaway_pg_database
from tests.helpers.drill import cli, registry_checksum, table_counts

pytestmark = pytest.mark.release
REPO = Path(__file__).resolve().parents[1]

# The states a report rests in (submitted and approved last only inside a transaction).
RESTING = (
    "awaiting_rt", "awaiting_kelurahan", "awaiting_officer", "needs_info",
    "applied", "rejected", "withdrawn",
)  # fmt: skip


async def _states(url: str) -> dict[str, str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return dict((await conn.execute(select(Report.number, Report.state))).all())
    finally:
        await engine.dispose()


def _decisions(path: Path, rows: list[tuple[str, str, str]]) -> str:
    lines = ["number,decision,reason_code,note", *(",".join((*row, "")) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


async def _fill(running, fake_api, tmp_path: Path) -> tuple[dict[str, str], object, object]:
    """Reports left in every resting state (by the chat and by batch decisions): the
    tracking number of each; Sari's and the RT head's phones."""
    sari = await linked_sari(running, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    await reviewer(fake_api, LURAH_ID, "Bu Lurah")
    await reviewer(fake_api, OFFICER_ID, "Pak Petugas")
    number: dict[str, str] = {}

    number["needs_info"] = await file_birth_en(sari, "Raka Pratama", ago(9))
    await ask_reporter(rt, "Di rumah sakit mana bayi lahir?")
    await rt.expect("was sent to the reporter")
    await sari.expect("asks about report")

    number["withdrawn"] = await file_birth_en(sari, "Putra Wijaya", ago(8))
    await sari.send_text(f"/status {number['withdrawn']}")
    await sari.press("↩️ Withdraw", await sari.expect(number["withdrawn"]))
    await sari.press("↩️ Yes, withdraw it", await sari.expect("Nobody will review it any more"))
    await sari.expect_edit(contains="was withdrawn.")

    names = ("Bima Sakti", "Candra Kirana", "Dimas Anggara", "Eka Saputra", "Fajar Nugroho")
    rest = ("awaiting_rt", "awaiting_kelurahan", "awaiting_officer", "applied", "rejected")
    for days, (state, name) in enumerate(zip(rest, names, strict=True), start=2):
        number[state] = await file_birth_en(sari, name, ago(days))

    n = number
    batches = {
        RT_ID: [
            (n["awaiting_kelurahan"], "approve", ""), (n["awaiting_officer"], "approve", ""),
            (n["applied"], "approve", ""), (n["rejected"], "reject", "not_true"),
        ],
        LURAH_ID: [(n["awaiting_officer"], "approve", ""), (n["applied"], "approve", "")],
        OFFICER_ID: [(n["applied"], "approve", "")],
    }  # fmt: skip
    for who, rows in batches.items():
        decisions = _decisions(tmp_path / f"decisions-{who}.csv", rows)
        assert await cli("reports", "decide", "--file", decisions, "--as", str(who)) == 0
    await sari.expect(f"{n['applied']}", timeout=10)  # the outbox reaches her
    return number, sari, rt


def documented_pg_restore_options() -> list[str]:
    """The options of the pg_restore command docs/operations.md gives (but --dbname)."""
    docs = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Restoring a backup") :]
    line = next(line for line in section.splitlines() if line.startswith("pg_restore "))
    return [w for w in shlex.split(line)[1:] if w.startswith("--") and "=" not in w]


async def _restore(backup: Path, tmp_path: Path) -> str:
    """docs/operations.md#restoring-a-backup: SQLite, copy the file into place;
    PostgreSQL, pg_restore (with the options the docs give) into an empty database."""
    if PG_ADMIN_URL:
        database = throwaway_pg_database()
        url = await asyncio.to_thread(next, database)
        pg_restore = shutil.which("pg_restore") or str(Path(find_pg_dump()).with_name("pg_restore"))
        restored = await asyncio.to_thread(
            subprocess.run,
            [pg_restore, *documented_pg_restore_options(),
             f"--dbname={pg_dsn(url.rsplit('/', 1)[1])}", str(backup)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
    else:
        target = tmp_path / "restored" / "lapor-warga.sqlite3"
        target.parent.mkdir()
        shutil.copyfile(backup, target)
        target.chmod(0o600)
        url = f"sqlite+aiosqlite:///{target}"
    return url


async def test_a_backup_taken_while_the_bot_writes_restores_whole(
    running_bot, fake_api, database_url, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    number, sari, rt = await _fill(running_bot, fake_api, tmp_path)
    assert await _states(database_url) == {n: state for state, n in number.items()}
    assert set(number) == set(RESTING)

    writes = 0
    stop, warm = asyncio.Event(), asyncio.Event()

    async def keep_writing() -> None:  # the RT head opens the queue and the card, again
        nonlocal writes
        while not stop.is_set():
            await rt.send_text("/antrian")
            queue = await rt.expect("Waiting for your decision")
            await rt.press(f"{number['awaiting_rt']} · Birth", queue)
            await rt.expect("Is this true?")
            writes += 1
            if writes >= 2:
                warm.set()

    writer = asyncio.create_task(keep_writing())
    await asyncio.wait_for(warm.wait(), 30)
    before = await table_counts(database_url)
    registry = await registry_checksum(database_url)
    backup = tmp_path / "lapor-warga.backup"
    started = writes
    assert await cli("db", "backup", str(backup)) == 0
    during = writes - started
    stop.set()
    await writer
    after = await table_counts(database_url)
    assert await registry_checksum(database_url) == registry  # the writer left it alone
    assert during > 0 or after["processed_updates"] > before["processed_updates"]
    assert backup.stat().st_mode & 0o777 == 0o600

    assert documented_pg_restore_options() == ["--no-owner", "--exit-on-error"]
    url = await _restore(backup, tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    assert await cli("db", "upgrade") == 0

    restored = await table_counts(url)
    assert set(restored) == set(before)
    for name, count in restored.items():
        assert before[name] <= count <= after[name], (name, before[name], count, after[name])
    for must in ("reports", "report_events", "registry_revisions", "outbox", "audit_log"):
        assert restored[must] > 0, must
    assert await registry_checksum(url) == registry
    assert await _states(url) == {n: state for state, n in number.items()}

    # The bot runs on the restored database: Sari's reports are there for her.
    await running_bot.stop()
    bot = RunningBot(fake_api, url)
    await bot.start()
    try:
        await sari.send_text(f"/status {number['applied']}")
        await sari.expect(number["applied"])
        await sari.send_text("/status")
        await sari.expect(number["awaiting_officer"])
    finally:
        await bot.stop()
