"""Notification delivery: the outbox sender's rate against Telegram's flood limit.

    .venv/bin/python benchmarks/notifications.py         # about 16 minutes here
    .venv/bin/python benchmarks/notifications.py --messages 600 --over-messages 300 \\
        --hot-messages 60 --backend sqlite              # a quick run, about 1 minute

Each run queues N outbox rows in a fresh migrated database (a SQLite file, or a
PostgreSQL 15 cluster from testkit/pgcluster.py with fsync on), then starts the real
``OutboxSender`` as ``bot/factory.py`` wires it (``on_startup`` with a Bot from
``bot.factory.create_bot``, the system clock) against a ``FakeBotAPI`` with
``flood_limit=30`` (at most 30 messages in any second, then 429 "retry after N"), and
waits until no row is pending. Runs:

* ``limit``: N messages to N/5 chats (five each, queued round-robin, as notifications
  of several changes are), the sender at the default ``OUTBOX_RATE`` 30/s: the server's
  limit exactly;
* ``over``: the sender configured above the server (``OUTBOX_RATE`` 40/s against 30):
  how 429 and its retry_after are honoured; a smaller N (``--over-messages``, 3,000),
  since the cycle of 30 messages, a 429 and a pause repeats every ~2 s, and 10,000
  rows at ~17/s would add ten minutes, not facts;
* ``hot``: a few chats with many messages each: the per-chat limit
  (``OUTBOX_CHAT_RATE``, 1/s) is what binds, so the expected rate is chats x 1/s.

Measured: wall time from the sender's start to the last row's ``sent_at``; messages/s
over it, and its ratio to the configured rate; the ideal wall time (N-1 gaps at the
lower of the sender's rate and the server's limit, or the busiest chat's messages at
the chat rate, whichever is longer) and its ratio to the measured one; the 429s the
server answered, split into those that started a flood wait and those that came while one was
still running (a client that honours retry_after sends none of the latter, except calls
already under way); the most messages the server accepted in any one second; the
claim rounds and their mean time. Checked: every row is ``sent`` in the database, every
chat got each of its texts exactly once and in queue order (nothing lost, nothing
doubled, nothing reordered), and the server stored exactly N messages.
Prints a Markdown table, or with ``--json`` one JSON document:
``{**run_info("notifications"), "flood_limit": 30, "rows": [...]}`` (``benchmarks/runinfo.py``),
a row per run with the figures of the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runinfo import run_info  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.factory import create_bot  # noqa: E402
from bot.outbox import OutboxSender  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from fake_bot_api import FakeBotAPI  # noqa: E402
from flows.io import Reply  # noqa: E402
from storage import db, outbox  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402

FLOOD_LIMIT = 30
FIRST_CHAT = 700_000_000


class MeteredFakeBotAPI(FakeBotAPI):
    """The fake server, logging every call the flood limit counted: (time, refused,
    refused while a told wait was still running)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flood_log: list[tuple[float, bool, bool]] = []

    def _flood_admit(self, cost: int) -> int | None:
        now = self.clock()
        banned = now < self._flood_until
        wait = super()._flood_admit(cost)
        if cost:
            self.flood_log.append((now, wait is not None, banned))
        return wait


@dataclass
class Run:
    label: str
    backend: str
    messages: int
    chats: int
    rate: float
    chat_rate: float = 1.0
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ideal(self) -> float:
        """The shortest wall time the limits allow, first send to last: the overall
        spacing, or the spacing of the busiest chat."""
        per_chat = -(-self.messages // self.chats)
        overall = (self.messages - 1) / min(self.rate, FLOOD_LIMIT)
        return max(overall, (per_chat - 1) / self.chat_rate)


def text(chat: int, seq: int) -> str:
    return f"Pemberitahuan <b>#{seq}</b> untuk {chat}: laporan Anda diproses."


def plain(html: str) -> str:
    return html.replace("<b>", "").replace("</b>", "")


async def fill(sessionmaker: Any, run: Run) -> None:
    """N rows, round-robin over the chats, in batches of 1,000 (enqueue_many)."""
    chats = [FIRST_CHAT + i for i in range(run.chats)]
    rows = [
        (chats[i % run.chats], Reply(0, text(chats[i % run.chats], i // run.chats)).to_message())
        for i in range(run.messages)
    ]
    for start in range(0, len(rows), 1000):
        async with sessionmaker() as session:
            await outbox.enqueue_many(session, rows[start : start + 1000], purpose="status")
            await session.commit()


def max_per_second(times: list[float]) -> int:
    window: deque[float] = deque()
    best = 0
    for t in times:
        window.append(t)
        while window[0] <= t - 1.0:
            window.popleft()
        best = max(best, len(window))
    return best


async def measure(run: Run, url: str) -> None:
    engine = db.create_engine(url)
    await db.upgrade(engine)
    sessionmaker = db.make_sessionmaker(engine)
    await fill(sessionmaker, run)

    # Claim rounds: how many, how long each took (the sender calls outbox.claim).
    claims: list[float] = []
    original_claim = outbox.claim

    async def timed_claim(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original_claim(*args, **kwargs)
        finally:
            claims.append(time.perf_counter() - started)

    api = MeteredFakeBotAPI(flood_limit=FLOOD_LIMIT)
    await api.start()
    for i in range(run.chats):
        api.user(FIRST_CHAT + i, f"Warga {i}", language_code="id")
    settings = load_settings(
        database_url=url,
        bot_token=api.token,
        telegram_api_base=api.base_url,
        outbox_rate=run.rate,
        outbox_chat_rate=run.chat_rate,
    )
    bot = create_bot(settings)
    sender = OutboxSender(sessionmaker, settings)
    outbox.claim = timed_claim  # type: ignore[assignment]
    started_wall = datetime.now(UTC).replace(tzinfo=None)
    started = time.monotonic()
    deadline = started + run.ideal * 3 + 120
    try:
        await sender.on_startup(bot)
        last_report = started
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            if now - last_report >= 15:
                last_report = now
                print(
                    f"  {run.label}/{run.backend}: {len(api.sent)}/{run.messages} sent, "
                    f"{len(api.sent) / (now - started):.1f}/s, {api.flood_rejections} x 429",
                    file=sys.stderr,
                    flush=True,
                )
            if len(api.sent) >= run.messages or now > deadline:
                async with sessionmaker() as session:
                    pending = await session.scalar(
                        select(func.count()).where(OutboxMessage.status == "pending")
                    )
                if not pending or now > deadline:
                    break
        await sender.on_shutdown()
    finally:
        outbox.claim = original_claim  # type: ignore[assignment]
        await bot.session.close()
        await api.stop()

    async with sessionmaker() as session:
        by_status = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        statuses = {status: n for status, n in (await session.execute(by_status)).all()}
        span = select(func.min(OutboxMessage.sent_at), func.max(OutboxMessage.sent_at))
        first, last = (await session.execute(span)).one()
        hit = await session.scalar(
            select(func.count()).where(OutboxMessage.last_error == "TelegramRetryAfter")
        )
    await engine.dispose()

    lost = doubled = strays = reordered = 0
    for i in range(run.chats):
        chat = FIRST_CHAT + i
        count = run.messages // run.chats + (1 if i < run.messages % run.chats else 0)
        expected = [plain(text(chat, seq)) for seq in range(count)]
        got = [m.plain_text for m in api.persons[chat].messages]
        counts = Counter(got)
        lost += sum(1 for t in expected if counts[t] == 0)
        doubled += sum(n - 1 for n in counts.values() if n > 1)
        strays += sum(1 for t in counts if t not in set(expected))
        if list(dict.fromkeys(t for t in got if t in set(expected))) != [
            t for t in expected if counts[t]
        ]:
            reordered += 1
    wall = (last - started_wall).total_seconds() if last else float("nan")
    accepted = [t for t, refused, _ in api.flood_log if not refused]
    run.result = {
        "wall": wall,
        "rate": run.messages / wall,
        "span": (last - first).total_seconds() if last else float("nan"),
        "flood429": sum(1 for _, refused, banned in api.flood_log if refused and not banned),
        "ban429": sum(1 for _, refused, banned in api.flood_log if refused and banned),
        "rows_hit": hit,
        "max_1s": max_per_second(accepted),
        "claims": len(claims),
        "claim_ms": 1000 * sum(claims) / len(claims) if claims else 0.0,
        "statuses": statuses,
        "stored": len(api.sent),
        "lost": lost,
        "doubled": doubled,
        "strays": strays,
        "reordered": reordered,
    }
    print(f"done: {run.label}/{run.backend} {run.result}", file=sys.stderr, flush=True)


def row(run: Run) -> str:
    r = run.result
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(r["statuses"].items()))
    return (
        f"| {run.label} | {run.backend} | {run.messages:,} | {run.chats:,} "
        f"| {run.rate:g}/s vs {FLOOD_LIMIT}/s | {r['wall']:.1f} s | {r['rate']:.2f} "
        f"| {r['rate'] / run.rate:.3f} | {run.ideal:.1f} s / {run.ideal / r['wall']:.3f} "
        f"| {r['flood429']} + {r['ban429']} ({r['rows_hit']} rows) | {r['max_1s']} "
        f"| {r['claims']} / {r['claim_ms']:.1f} ms "
        f"| {r['stored']:,} stored, {r['lost']} lost, {r['doubled']} doubled, "
        f"{r['strays']} strays, {r['reordered']} chats out of order; DB: {statuses} |"
    )


def json_row(run: Run) -> dict[str, Any]:
    r = run.result
    return {
        "run": run.label,
        "backend": run.backend,
        "messages": run.messages,
        "chats": run.chats,
        "sender_rate": run.rate,
        "chat_rate": run.chat_rate,
        "wall_s": round(r["wall"], 2),
        "msg_per_s": round(r["rate"], 2),
        "ratio_to_sender_rate": round(r["rate"] / run.rate, 3),
        "ideal_wall_s": round(run.ideal, 2),
        "ratio_to_ideal": round(run.ideal / r["wall"], 3),
        "flood_429": r["flood429"],
        "during_wait_429": r["ban429"],
        "rows_hit": r["rows_hit"],
        "most_accepted_in_1s": r["max_1s"],
        "claim_rounds": r["claims"],
        "claim_mean_ms": round(r["claim_ms"], 1),
        "stored": r["stored"],
        "lost": r["lost"],
        "doubled": r["doubled"],
        "strays": r["strays"],
        "reordered": r["reordered"],
        "statuses": dict(r["statuses"]),
    }


async def main_async(args: argparse.Namespace) -> list[Run]:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    runs: list[Run] = []
    for backend in backends:
        runs.append(Run("limit", backend, args.messages, max(1, args.messages // 5), args.rate))
    if args.over_messages:
        runs.append(
            Run("over", backends[0], args.over_messages, max(1, args.over_messages // 5), 40.0)
        )
    if args.hot_messages:
        runs.append(Run("hot", backends[0], args.hot_messages, args.hot_chats, 30.0))

    workdir = Path(tempfile.mkdtemp(prefix="lw-bench-notify-"))
    cluster = None
    try:
        for n, run in enumerate(runs):
            if run.backend == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir / f'run{n}.sqlite3'}"
            else:
                if cluster is None:
                    from testkit.pgcluster import PgCluster

                    cluster = PgCluster(durable=True)
                    cluster.start()
                import asyncpg

                conn = await asyncpg.connect(cluster.dsn())
                await conn.execute(f"CREATE DATABASE run{n}")
                await conn.close()
                url = cluster.url(f"run{n}")
            await measure(run, url)
    finally:
        if cluster is not None:
            cluster.destroy()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="rows of the limit runs")
    parser.add_argument(
        "--rate", type=float, default=30.0, help="OUTBOX_RATE of the limit runs (default 30)"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="both", help="database"
    )
    parser.add_argument(
        "--over-messages", type=int, default=3_000, help="rows of the 40/s run (0: none)"
    )
    parser.add_argument("--hot-messages", type=int, default=300, help="rows of the hot run")
    parser.add_argument("--hot-chats", type=int, default=10, help="chats of the hot run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    info = run_info("notifications")  # the commit that runs (the tree may change meanwhile)
    load = os.getloadavg()
    runs = asyncio.run(main_async(args))
    load_after = os.getloadavg()
    if args.json:
        rows = [json_row(run) for run in runs]
        info["load_average_end"] = [round(x, 2) for x in load_after]
        print(json.dumps({**info, "flood_limit": FLOOD_LIMIT, "rows": rows}, indent=2))
        return
    print(
        f"{datetime.now(UTC).date().isoformat()}, Python {platform.python_version()}, "
        f"{platform.platform()}, {os.cpu_count()} cores; load average "
        f"{load[0]:.1f} before, {load_after[0]:.1f} after; server flood limit "
        f"{FLOOD_LIMIT}/s, OUTBOX_CHAT_RATE 1/s\n"
    )
    print(
        "| run | database | messages | chats | sender vs server | wall time | msg/s "
        "| ratio to sender rate | ideal wall time / ratio to it "
        "| 429s: started a wait + during one "
        "(rows hit) | most accepted in 1 s | claim rounds / mean | delivery check |"
    )
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---|---:|---|---|")
    for run in runs:
        print(row(run))


if __name__ == "__main__":
    main()
