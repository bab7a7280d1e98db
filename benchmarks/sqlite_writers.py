"""SQLite's writers in one process: the write queue against SQLite's busy handler alone.

    .venv/bin/python benchmarks/sqlite_writers.py                     # 1 and 10 writers
    .venv/bin/python benchmarks/sqlite_writers.py --writers 10,30 --work 1 --seconds 5

C writers (chats) at once, closed loop, each repeating a transaction shaped like a form
step's (``benchmarks/form_steps.py``): two reads, the claim of its own row (the first
write), a read, a second write, the processed-update row (an INSERT), COMMIT; with
``--work`` ms of Python CPU after each statement (the engine's parsing and rendering;
other writers' CPU runs meanwhile, in the same event loop). Same file settings as the bot
(``storage.db.create_engine``: WAL, synchronous=FULL, busy_timeout 30 s).

Two modes, alternating run by run (``--repeats`` pairs), on the same file:

* ``queue``: as the bot runs, writers take turns in arrival order (``storage/writequeue.py``);
* ``busy``: ``create_engine(write_queue=False)``, as before the queue: a writer that finds
  the write lock taken sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms) and polls.

Printed per mode and writer count: transactions per second, latency of a transaction
(p50, p95, max) and how long its first write took (waiting for the turn or the lock), the
CPU per transaction, and the load average. Without the Telegram stack, this isolates
the lock's fairness from the bot's CPU; in a closed loop the mean latency is writers ÷
throughput whatever the lock does, so compare the tails (p95, max) at equal throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.runinfo import machine  # noqa: E402
from storage import db  # noqa: E402


@dataclass
class Run:
    mode: str
    writers: int
    seconds: float
    latencies: list[float]
    first_writes: list[float]
    cpu: float
    load: float
    errors: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def burn(ms: float) -> None:
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass


async def prepare(path: Path, writers: int) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS drafts"))
        await conn.execute(text("DROP TABLE IF EXISTS processed"))
        await conn.execute(
            text("CREATE TABLE drafts (id INTEGER PRIMARY KEY, rev INTEGER, answers TEXT)")
        )
        await conn.execute(text("CREATE TABLE processed (id INTEGER PRIMARY KEY, at REAL)"))
        for n in range(writers):
            await conn.execute(text("INSERT INTO drafts VALUES (:n, 0, '')"), {"n": n})
    await engine.dispose()


async def run(
    mode: str, path: Path, writers: int, seconds: float, warmup: float, work: float
) -> Run:
    engine = db.create_engine(
        f"sqlite+aiosqlite:///{path}",
        write_queue=mode == "queue",
        pool_size=writers + 2,
        max_overflow=0,
    )
    sessions = db.make_sessionmaker(engine)
    first: list[float] = []
    measuring = [False]

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def before(conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if "w0" not in conn.info and statement.startswith(("UPDATE", "INSERT")):
            conn.info["w0"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def after(conn, *_args):  # type: ignore[no-untyped-def]
        w0 = conn.info.pop("w0", None) if "w1" not in conn.info else None
        if w0 is not None:
            conn.info["w1"] = True
            if measuring[0]:
                first.append(time.perf_counter() - w0)

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def done(conn):  # type: ignore[no-untyped-def]
        conn.info.pop("w0", None)
        conn.info.pop("w1", None)

    latencies: list[float] = []
    errors = [0]
    next_id = [writers * 10_000_000 + int(time.time() * 1000) % 1_000_000 * 100]
    start = time.perf_counter()
    window = (start + warmup, start + warmup + seconds)

    async def writer(n: int) -> None:
        while time.perf_counter() < window[1]:
            began = time.perf_counter()
            try:
                async with sessions() as session:
                    await session.execute(text("SELECT count(*) FROM processed WHERE id = -1"))
                    rev = await session.scalar(
                        text("SELECT rev FROM drafts WHERE id = :n"), {"n": n}
                    )
                    burn(work)
                    await session.execute(
                        text("UPDATE drafts SET rev = rev + 1 WHERE id = :n AND rev = :rev"),
                        {"n": n, "rev": rev},
                    )
                    burn(work)
                    await session.execute(text("SELECT count(*) FROM drafts"))
                    burn(work)
                    await session.execute(
                        text("UPDATE drafts SET answers = :a WHERE id = :n"),
                        {"n": n, "a": str(began)},
                    )
                    next_id[0] += 1
                    await session.execute(
                        text("INSERT INTO processed VALUES (:id, :at)"),
                        {"id": next_id[0], "at": began},
                    )
                    await session.commit()
            except Exception:  # "database is locked" after busy_timeout, if ever
                errors[0] += 1
                continue
            burn(work)  # rendering and sending the reply
            ended = time.perf_counter()
            if began >= window[0] and ended <= window[1]:
                latencies.append(ended - began)
            await asyncio.sleep(0)

    async def measure() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
        measuring[0] = True
        cpu0 = time.process_time()
        await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
        measuring[0] = False
        return time.process_time() - cpu0, os.getloadavg()[0]

    measured = asyncio.create_task(measure())
    await asyncio.gather(*(writer(n) for n in range(writers)))
    cpu, load = await measured
    await engine.dispose()
    return Run(mode, writers, seconds, latencies, first, cpu, load, errors[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", default="1,10", help="concurrent writers, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=2, help="queue/busy pairs per count")
    parser.add_argument("--work", type=float, default=2.0, help="ms of CPU after each statement")
    parser.add_argument("--workdir", type=Path, help="where the SQLite file goes (default: temp)")
    args = parser.parse_args()
    counts = [int(c) for c in args.writers.split(",")]

    async def all_runs() -> list[Run]:
        runs = []
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            path = Path(tmp) / "writers.sqlite3"
            for writers in counts:
                await prepare(path, writers)
                for _ in range(args.repeats):
                    for mode in ("queue", "busy"):
                        r = await run(mode, path, writers, args.seconds, args.warmup, args.work)
                        print(
                            f"  {mode} writers={writers}: {r.rate:.1f} tx/s, p50 {pct(r.latencies, 0.5):.1f} ms, "
                            f"p95 {pct(r.latencies, 0.95):.1f} ms, max {pct(r.latencies, 1.0):.1f} ms, "
                            f"errors {r.errors}, load {r.load:.1f}",
                            file=sys.stderr,
                        )
                        runs.append(r)
        return runs

    runs = asyncio.run(all_runs())
    print(f"## SQLite writers in one process: write queue against busy handler\n\n{machine()}\n")
    print(
        f"Closed loop, {args.work:g} ms of CPU after each of the transaction's 5 statements and "
        f"after its commit; {args.warmup:g} s warm-up + {args.seconds:g} s measured per run, "
        f"{args.repeats} queue/busy pair(s) alternating.\n"
    )
    print(
        "| writers | mode | tx/s | p50 ms | p95 ms | max ms | first write p50 ms | p95 ms | max ms "
        "| CPU ms/tx | errors | load avg |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for writers in counts:
        for mode in ("queue", "busy"):
            mine = [r for r in runs if r.writers == writers and r.mode == mode]
            lat = [x for r in mine for x in r.latencies]
            fw = [x for r in mine for x in r.first_writes]
            rate = statistics.mean(r.rate for r in mine)
            cpu = sum(r.cpu for r in mine) / max(1, len(lat)) * 1000
            loads = [r.load for r in mine]
            print(
                f"| {writers} | {mode} | {rate:.1f} | {pct(lat, 0.5):.1f} | {pct(lat, 0.95):.1f} | "
                f"{pct(lat, 1.0):.1f} | {pct(fw, 0.5):.1f} | {pct(fw, 0.95):.1f} | {pct(fw, 1.0):.1f} | "
                f"{cpu:.1f} | {sum(r.errors for r in mine)} | {min(loads):.1f}–{max(loads):.1f} |"
            )


if __name__ == "__main__":
    main()
