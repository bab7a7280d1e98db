"""Review-queue latency: a reviewer's queue page and /status on a registry-sized database.

    .venv/bin/python benchmarks/review_queue.py                        # 5M members, 1M reports
    .venv/bin/python benchmarks/review_queue.py --members 200000 --reports 40000   # quick
    .venv/bin/python benchmarks/review_queue.py --url postgresql://...  # an already generated DB

Without ``--url`` a throwaway PostgreSQL 15 cluster is started (``testkit/pgcluster.py``,
not durable: fsync, synchronous_commit and full_page_writes off; nothing measured here
writes, so that changes no figure), a database is created in it with the collation of
``--collation`` (default ``C.utf8``: like a production database created under a UTF-8
locale; the cluster's own default is ``C``, which lets ``LIKE 'prefix%'`` use a plain
index and would flatter the officer's queue), and ``benchmarks/generate_load.py`` fills
it in a process of its own (its wall time is reported).

Each measured call is one bot update as ``handlers/`` runs it: its own ``AsyncSession``
from ``storage.db``'s engine and session factory, the account looked up by Telegram id
(``DbSessionMiddleware``), the flow through ``flows.app.run`` with an ``Incoming`` (as
``handlers/routers.py`` builds the ``Ctx``), then the commit (``commit_and_send``);
sending is not included, nor the per-update work of the handlers' other middlewares.
Measured: ``/antrian`` (``flows.app.review_queue``) of the RT head, the lurah and the
officer that ``generate_load.py`` set up, and ``/status`` (``flows.app.status``) of a
resident with two reports and of an RT head with hundreds filed on behalf. The baseline
is the smallest update: a session that reads one account by primary key
(``session.get(Account, id)``, which also loads its role grants) and commits.

After a warm-up, every round runs each case once in a shuffled order, so that load on the
machine falls on all cases alike; the table gives p50, p95 and mean per case, and each
p50 divided by the baseline's p50 in the same run (the figure to compare across runs).
``EXPLAIN (ANALYZE, BUFFERS)`` of each queue's main queries (its page and its count; /status's
page) follows.

The web console (``console/``) is measured the same way, over HTTP on loopback: its queue
page (``GET /``) for the lurah and the officer, a filtered one (overdue, oldest first), and
a report page (``GET /laporan/<id>``) of a report waiting for the officer, each with a
signed-in session cookie (every request reads the session and the grants, and commits the
session's idle clock; the report page also writes its audit entry). ``--json`` prints the
figures as JSON as well.

``--compare-at REV`` measures twice on the same data: first with the schema downgraded to
Alembic revision REV, then upgraded back to head (an index added by a migration after REV
is then measured before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import generate_load as load  # noqa: E402
from runinfo import machine, run_info  # noqa: E402

from console.app import ConsoleServer  # noqa: E402
from console.evidence import EvidenceCache  # noqa: E402
from console.web import Console  # noqa: E402
from flows import app  # noqa: E402
from flows.io import Ctx, Incoming, Outcome  # noqa: E402
from locales import use_locale  # noqa: E402
from registry import signin  # noqa: E402
from registry.accounts import account_by_telegram_id  # noqa: E402
from registry.policy import DEFAULT_POLICY  # noqa: E402
from storage import db  # noqa: E402
from storage.models import Account  # noqa: E402
from testkit.pgcluster import PgCluster  # noqa: E402

SLOW_MS = 50.0  # a queue page slower than this (p50) deserves a look at its plan


@dataclass
class Case:
    name: str
    run: Callable[[], Awaitable[Any]]
    shown: str = ""  # what the page showed (rows), filled in by a check call
    statements: int = 0
    samples: list[float] = field(default_factory=list)  # milliseconds


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def update(
    maker: async_sessionmaker[AsyncSession], telegram_id: int, text: str, flow: Any
) -> Outcome:
    """One command from one Telegram user, as handlers/ run it (minus sending)."""
    async with maker() as session:
        account = await account_by_telegram_id(session, telegram_id)
        with use_locale(account.locale if account is not None else None):
            incoming = Incoming(
                user_id=telegram_id, chat_id=telegram_id, first_name="Bench",
                language_code="id", text=text,
            )  # fmt: skip
            ctx = Ctx(session, incoming, account, DEFAULT_POLICY)
            outcome = await app.run(ctx, flow)
        await session.commit()
    return outcome


async def baseline(maker: async_sessionmaker[AsyncSession], account_id: int) -> None:
    async with maker() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        await session.commit()


class StatementLog:
    """The SQL statements an engine runs while ``active`` (with their parameters)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.active = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if self.active:
            self.statements.append((statement, parameters))

    async def capture(
        self, call: Callable[[], Awaitable[Any]]
    ) -> tuple[Any, list[tuple[str, Any]]]:
        self.statements, self.active = [], True
        try:
            result = await call()
        finally:
            self.active = False
        return result, self.statements


def describe(outcome: Any) -> str:
    if not isinstance(outcome, Outcome) or not outcome.replies:
        return "-"
    reply = outcome.replies[0]
    first = reply.text.splitlines()[0]
    lines = sum(1 for line in reply.text.splitlines() if line.startswith("•"))
    return f"{first.replace('<b>', '').replace('</b>', '')} ({lines} listed)"


async def explain(dsn: str, statement: str, parameters: Any) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *(parameters or ()))
    finally:
        await conn.close()
    return "\n".join(r[0] for r in rows)


async def context(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        info: dict[str, Any] = {
            "version": await conn.fetchval("SHOW server_version"),
            "collation": await conn.fetchval(
                "SELECT datcollate FROM pg_database WHERE datname = current_database()"
            ),
            "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
            "size": await conn.fetchval(
                "SELECT pg_size_pretty(pg_database_size(current_database()))"
            ),
            "revision": await conn.fetchval("SELECT version_num FROM alembic_version"),
        }
        for table in ("households", "members", "accounts", "reports", "report_events",
                      "attachments", "role_grants"):  # fmt: skip
            info[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        waiting = {  # what each measured reviewer has waiting (/antrian lists 20)
            "rt": ("state = 'awaiting_rt' AND region_code = $1 AND rw = $2 AND rt = $3",
                   load.BENCH_VILLAGE, load.BENCH_RW, load.BENCH_RT),
            "lurah": ("state = 'awaiting_kelurahan' AND region_code = $1", load.BENCH_VILLAGE),
            "officer": ("state = 'awaiting_officer' AND region_code LIKE $1", load.BENCH_CITY + ".%"),
        }  # fmt: skip
        for role, (where, *values) in waiting.items():
            info[f"waiting_{role}"] = await conn.fetchval(
                f"SELECT count(*) FROM reports WHERE {where}", *values
            )
        info["waiting_all"] = await conn.fetchval(
            "SELECT count(*) FROM reports WHERE state IN"
            " ('awaiting_rt', 'awaiting_kelurahan', 'awaiting_officer', 'needs_info')"
        )
        for tg, key in ((load.TYPICAL_REPORTER_TG, "typical"), (load.HEAVY_REPORTER_TG, "many")):
            info[f"reports_{key}"] = await conn.fetchval(
                "SELECT count(*) FROM reports r JOIN accounts a ON a.id = r.reporter_account_id"
                " WHERE a.telegram_id = $1",
                tg,
            )
    finally:
        await conn.close()
    return info


async def console_cases(
    maker: async_sessionmaker[AsyncSession], dsn: str, http: aiohttp.ClientSession, base: str
) -> list[Case]:
    """The console's pages, each requested by a signed-in browser."""
    cookies = {}
    async with maker() as session:
        for key, tg in (("lurah", load.LURAH_TG), ("officer", load.OFFICER_TG)):
            account = await account_by_telegram_id(session, tg)
            assert account is not None
            cookies[key], _row = await signin.open_session(session, account, method="link")
        await session.commit()
    conn = await asyncpg.connect(dsn)
    try:
        report_id = await conn.fetchval(
            "SELECT id FROM reports WHERE state = 'awaiting_officer' AND region_code LIKE $1"
            " ORDER BY id LIMIT 1",
            load.BENCH_CITY + ".%",
        )
    finally:
        await conn.close()

    def page(who: str, path: str) -> Callable[[], Awaitable[str]]:
        async def get() -> str:
            async with http.get(base + path, headers={"Cookie": f"lw_session={cookies[who]}"},
                                allow_redirects=False) as response:  # fmt: skip
                assert response.status == 200, (path, response.status)
                text = await response.text()
            return text

        return get

    return [
        Case("console queue, lurah", page("lurah", "/")),
        Case("console queue, officer (kota)", page("officer", "/")),
        Case(
            "console queue, officer, all open, overdue", page("officer", "/?state=open&overdue=1")
        ),
        Case(f"console report page (report {report_id})", page("officer", f"/laporan/{report_id}")),
    ]


def describe_page(html: Any) -> str:
    if not isinstance(html, str):
        return describe(html)
    found = html.split('id="count">', 1)[1].split("<", 1)[0] if 'id="count">' in html else ""
    return found or f"{len(html):,} bytes"


async def measure(url: str, runs: int, warmup: int, plans: bool, label: str) -> dict[str, Case]:
    sa_url, dsn = load.urls(url)
    engine = db.create_engine(sa_url)
    maker = db.make_sessionmaker(engine)
    log = StatementLog(engine)
    console = Console(
        sessionmaker=maker, policy=DEFAULT_POLICY, bot_token=None, bot_username=None,
        public_url=None, default_locale="id",
        evidence=EvidenceCache(Path("/nonexistent"), 0, "http://127.0.0.1:9", None),
    )  # fmt: skip
    server = ConsoleServer(console)
    port = await server.start("127.0.0.1", 0)
    http = aiohttp.ClientSession()
    try:
        async with maker() as session:
            rt_head = await account_by_telegram_id(session, load.RT_HEAD_TG)
            assert rt_head is not None, "not a database made by benchmarks/generate_load.py"
            rt_head_id = rt_head.id

        def queue(tg: int) -> Callable[[], Awaitable[Outcome]]:
            return lambda: update(maker, tg, "/antrian", app.review_queue)

        def status(tg: int) -> Callable[[], Awaitable[Outcome]]:
            return lambda: update(maker, tg, "/status", app.status)

        cases = [
            Case(
                "baseline: session.get(Account, id) + commit", lambda: baseline(maker, rt_head_id)
            ),
            Case("/antrian RT head (RT 3 / RW 2)", queue(load.RT_HEAD_TG)),
            Case("/antrian lurah (desa/kelurahan)", queue(load.LURAH_TG)),
            Case("/antrian officer (kota, 16.71)", queue(load.OFFICER_TG)),
            Case("/status resident (typical)", status(load.TYPICAL_REPORTER_TG)),
            Case("/status RT head filing on behalf (many)", status(load.HEAVY_REPORTER_TG)),
            *await console_cases(maker, dsn, http, f"http://127.0.0.1:{port}"),
        ]
        main_queries: dict[str, tuple[str, Any]] = {}  # a case's page and count of reports
        for case in cases:
            outcome, statements = await log.capture(case.run)
            case.shown = describe_page(outcome)
            case.statements = len(statements)
            for statement, parameters in statements:
                if "FROM reports" not in statement:
                    continue
                if "LIMIT" in statement:
                    main_queries.setdefault(case.name, (statement, parameters))
                elif "count(" in statement:
                    main_queries.setdefault(f"{case.name}, count", (statement, parameters))
        for _ in range(warmup):
            for case in cases:
                await case.run()
        order = list(cases)
        shuffle = random.Random(1)
        started = time.perf_counter()
        for _ in range(runs):
            shuffle.shuffle(order)
            for case in order:
                t0 = time.perf_counter_ns()
                await case.run()
                case.samples.append((time.perf_counter_ns() - t0) / 1e6)
        print(
            f"[{label}] {runs} rounds of {len(cases)} cases in {time.perf_counter() - started:.0f} s"
        )
        slow = {
            c.name
            for c in cases
            if c.name.startswith(("/antrian", "console")) and statistics.median(c.samples) > SLOW_MS
        }
        if plans or slow:
            for name, (statement, parameters) in main_queries.items():
                if not plans and name.removesuffix(", count") not in slow:
                    continue
                print(f"\n[{label}] EXPLAIN (ANALYZE, BUFFERS), main query of {name}:\n")
                print("```")
                print(statement)
                print(f"-- parameters: {parameters}")
                print(await explain(dsn, statement, parameters))
                print("```")
        return {c.name: c for c in cases}
    finally:
        await http.close()
        await server.stop()
        await engine.dispose()


def table(results: dict[str, Case], label: str) -> str:
    base = statistics.median(next(iter(results.values())).samples)
    lines = [
        f"| {label} | page shows | SQL statements | p50 ms | p95 ms | mean ms | p50 ÷ baseline p50 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for case in results.values():
        p50 = statistics.median(case.samples)
        lines.append(
            f"| {case.name} | {case.shown} | {case.statements} | {p50:.2f} | "
            f"{percentile(case.samples, 95):.2f} | {statistics.fmean(case.samples):.2f} | "
            f"{p50 / base:.1f} |"
        )
    return "\n".join(lines)


def alembic(url: str, action: str, revision: str) -> None:
    """Move the schema to ``revision`` (Alembic downgrade/upgrade), then ANALYZE."""
    from alembic import command

    async def run() -> None:
        engine = db.create_engine(load.urls(url)[0])
        try:
            async with engine.begin() as conn:

                def move(connection: Any) -> None:
                    cfg = db.alembic_config()
                    cfg.attributes["connection"] = connection
                    getattr(command, action)(cfg, revision)

                await conn.run_sync(move)
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("ANALYZE reports")
        finally:
            await engine.dispose()

    asyncio.run(run())


def run_all(args: argparse.Namespace, url: str) -> None:
    info = asyncio.run(context(load.urls(url)[1]))
    load_before = os.getloadavg()
    results = []
    if args.compare_at:
        alembic(url, "downgrade", args.compare_at)
        results.append((f"schema {args.compare_at}", asyncio.run(
            measure(url, args.runs, args.warmup, args.explain, f"schema {args.compare_at}")
        )))  # fmt: skip
        alembic(url, "upgrade", "head")
        info = asyncio.run(context(load.urls(url)[1]))  # at head (the data may have been older)
        head = info["revision"]
        results.append((f"schema {head}", asyncio.run(
            measure(url, args.runs, args.warmup, args.explain, f"schema {head}")
        )))  # fmt: skip
    else:
        label = f"schema {info['revision']}"
        results.append(
            (label, asyncio.run(measure(url, args.runs, args.warmup, args.explain, label)))
        )
    load_after = os.getloadavg()

    print()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}")
    print(
        f"PostgreSQL {info['version']} (database collation {info['collation']}, shared_buffers "
        f"{info['shared_buffers']}, database {info['size']}); load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(
        f"Data: {info['households']:,} households, {info['members']:,} members, "
        f"{info['accounts']:,} accounts, {info['role_grants']:,} role grants, {info['reports']:,} "
        f"reports ({info['waiting_all']:,} open), {info['report_events']:,} report events, "
        f"{info['attachments']:,} attachments. Waiting: {info['waiting_rt']} for the RT head, "
        f"{info['waiting_lurah']} for the lurah, {info['waiting_officer']} for the officer; "
        f"/status: {info['reports_typical']} and {info['reports_many']} reports."
    )
    print(f"{args.runs} runs per case after {args.warmup} warm-up runs, cases interleaved.\n")
    for label, result in results:
        print(table(result, label))
        print()
    if args.json:
        print(json.dumps({
            **run_info("review_queue"), "data": info, "runs": args.runs, "warmup": args.warmup,
            "results": {
                label: {
                    name: {"p50_ms": round(statistics.median(c.samples), 2),
                           "p95_ms": round(percentile(c.samples, 95), 2),
                           "mean_ms": round(statistics.fmean(c.samples), 2),
                           "statements": c.statements, "shown": c.shown}
                    for name, c in result.items()
                }
                for label, result in results
            },
        }, indent=2, default=str))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a database generate_load.py filled (else a throwaway one)")
    parser.add_argument("--members", type=int, default=5_000_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--collation", default="C.utf8", help="of the throwaway database")
    parser.add_argument("--explain", action=argparse.BooleanOptionalAction, default=True,
                        help="print the plans of the main queries (always when slow)")  # fmt: skip
    parser.add_argument("--compare-at", metavar="REV", help="measure at REV, then at head")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    if args.url:
        run_all(args, args.url)
        return
    with PgCluster() as pg:
        subprocess.run(
            [str(Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")) / "psql"),
             pg.dsn(), "-q", "-c", f"CREATE DATABASE lapor TEMPLATE template0 ENCODING 'UTF8' "
             f"LC_COLLATE '{args.collation}' LC_CTYPE '{args.collation}'"],
            check=True,
        )  # fmt: skip
        url = pg.dsn("lapor")
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "generate_load.py"), "--url", url,
             "--members", str(args.members), "--reports", str(args.reports)],
            check=True,
        )  # fmt: skip
        print(f"generate_load.py: {time.perf_counter() - started:.0f} s wall time\n", flush=True)
        run_all(args, url)


if __name__ == "__main__":
    main()
