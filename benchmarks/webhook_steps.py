"""Form-step throughput in production mode: webhooks, PostgreSQL, one and two bot processes.

    .venv/bin/python benchmarks/webhook_steps.py                      # 1 and 2 processes, 10/100 chats
    .venv/bin/python benchmarks/webhook_steps.py --seconds 5 --repeats 1 --json
    .venv/bin/python benchmarks/webhook_steps.py --chats 100 --profile /tmp/wh   # + a profiled run

The load is the one of ``benchmarks/form_steps.py`` (its set-up and ``closed_loop`` are
imported from it): every chat is a linked resident whose birth report is open at "When was the baby
born?"; each chat types a date (claim, check, save, the mother's buttons from the registry,
commit, reply), then presses "« Back" (claim, move back, commit, answer the press, reply),
in a closed loop (the next update only after the reply to the previous one).

What differs is the path of an update. The bots are ``lapor-warga run --webhook``
subprocesses (as ``tests/production/`` starts them: DATABASE_URL, WEBHOOK_URL/SECRET/HOST/
PORT, METRICS_PORT, the per-user rate limit and the outbox's per-chat spacing lifted for
scripted people), each with its own event loop and database pool, on one PostgreSQL
database (a throwaway **durable** cluster from ``testkit/pgcluster.py``: fsync and
synchronous_commit on). The fake Bot API (``fake_bot_api/``) and the simulated people run
in this process (the "driver"): the fake POSTs each queued update to the webhook, with
``webhook_targets`` set to the bot processes and the ``round_robin`` strategy, as a load
balancer in front of them would; Telegram's queues apply (one update of a chat's messages,
and of a user's button presses, in flight at a time) and at most ``max_connections``
requests are in flight (what the bots register: Telegram's default 40 unless
``--max-connections`` overrides it in the fake after they registered); the fake waits 60 s
for an answer, as Telegram does, and retries an update that failed (counted in the output).

One update's latency runs from queueing it in the fake to the fake receiving the reply's
``sendMessage``. In webhook mode a reply may come back as the webhook's HTTP answer (a Bot
API method in the body) or as a separate API call; the fake runs a method named in the
answer through its own HTTP endpoint, so both arrive at the same place
(``BenchAPI._new_bot_message``) and are timed the same way. (This bot answers every update
with API calls and an empty 200: it commits, then sends, before the webhook is answered.)

CPU per counted update is measured for every party over the measured window: each bot
process (``/proc/PID/stat``), the PostgreSQL server's processes (the postmaster and its
children, those that end within the window too: ``form_steps._pg_server_cpu``), and this
process (the fake server, its webhook delivery and the simulated people); "cores" is CPU
seconds per wall second, and "others" is what the rest of the machine used meanwhile
(``/proc/stat``): the machine has few cores, and the driver, PostgreSQL and the bots compete
for them, so when two processes fail to double the throughput these shares show where the
CPU went. The "ceiling" is the updates/s those CPU costs per update allow with nothing else
on the machine (a bot process, one event loop, uses at most one core; everything together at
most all cores): the ratio of two ceilings is what the 1.6x goal can be checked against on a
shared machine, where the measured ratio also depends on the CPU share the scheduler gives
two processes against other jobs. Each bot process's CPU with no updates at all (outbox
sender, SLA pass, sweeps) is measured once. The bots' database pool is what the commit gives
them (printed); ``--bot-env NAME=VALUE`` passes any setting to every bot process.

Runs: for each repeat, the process counts in turn (the order alternates between repeats),
each with fresh bot processes that serve every ``--chats`` level in turn; every run warms
up for ``--warmup`` seconds and counts ``--seconds``. The ratio to one process is taken
within a repeat (runs close together in time), then averaged. ``--profile PATH`` adds, after
the measured runs, one run per process count at the largest chat count with every bot
process under cProfile (CPU time of its event loop's thread, switched on and off with
SIGUSR1/SIGUSR2 around the measured window), saved as ``PATH-<N>proc-bot<i>.prof`` and
summarized by library; those runs are slowed by the profiler and are not in the table.

Ctrl-C (or SIGTERM) stops the load, the bot processes (SIGTERM, then SIGKILL) and the
cluster; the bots also get SIGTERM should this process die without cleaning up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import aiohttp  # noqa: E402
from form_steps import (  # noqa: E402
    CHAT_BASE,
    BenchAPI,
    _pg_server_cpu,
    _stat_times,
    closed_loop,
    percentile,
    pg_settings,
    pg_version,
    prepare,
    print_profile,
    reset_drafts,
)
from runinfo import run_info  # noqa: E402

from bot.settings import Settings  # noqa: E402
from testkit.botenv import bot_env, webhook_url  # noqa: E402
from testkit.pgcluster import PG_BIN, PgCluster, free_port  # noqa: E402

SECRET = "bench-webhook-secret-0123456789"
BOT_START_TIMEOUT = 120.0  # seconds for a bot process to serve /healthz and set its webhook
BOT_STOP_TIMEOUT = 20.0  # seconds after SIGTERM before SIGKILL
# Telegram waits about a minute for a webhook's answer (the fake's default, 10 s, is for tests):
# at 100 chats a request can queue in a busy bot longer than 10 s, and a redelivery is noise.
WEBHOOK_TIMEOUT = 60.0
IDLE_SECONDS = 3.0  # how long the bots' CPU is measured with no load, once per process count
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Runs ``lapor-warga`` with cProfile switched on by SIGUSR1 and off (and saved) by SIGUSR2.
PROFILE_WRAPPER = """\
import cProfile, signal, sys, time
out = sys.argv[1]
profile = cProfile.Profile(time.thread_time)
def start(*_):
    profile.enable()
def stop(*_):
    profile.disable()
    profile.dump_stats(out)
signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
sys.argv = ["lapor-warga", *sys.argv[2:]]
from bot.cli import main
sys.exit(main())
"""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the benchmark process dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) of process ``pid`` so far."""
    times = _stat_times(pid)
    return None if times is None else times[1] / CLK_TCK


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (not idle, not waiting for I/O)."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    busy = sum(values[:8]) - values[3] - values[4]  # minus idle and iowait
    return busy / CLK_TCK


# ---- the bot processes ---------------------------------------------------------------------


class BotProcess:
    """``lapor-warga run --webhook`` as a subprocess, talking to the fake over HTTP."""

    def __init__(
        self,
        api: BenchAPI,
        database_url: str,
        workdir: Path,
        name: str,
        extra_env: dict[str, str],
        profile_path: Path | None = None,
    ) -> None:
        self.api = api
        self.name = name
        self.port = free_port()
        self.metrics_port = free_port()
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.profile_path = profile_path
        self.env = bot_env(
            api, database_url, self.port, self.metrics_port, secret=SECRET, **extra_env
        )
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return webhook_url(self.port)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        if self.profile_path is not None:
            args = [sys.executable, "-c", PROFILE_WRAPPER, str(self.profile_path)]
        else:
            args = [sys.executable, "-m", "bot.cli"]
        with self.log_path.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                *args, "run", "--webhook",
                cwd=self.workdir, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log,
                start_new_session=True,  # Ctrl-C reaches the benchmark only: it stops them
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        health = f"http://127.0.0.1:{self.metrics_port}/healthz"
        async with asyncio.timeout(BOT_START_TIMEOUT), aiohttp.ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(health, timeout=aiohttp.ClientTimeout(total=5)) as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.1)
        await self.api.wait_for(self._registered, BOT_START_TIMEOUT, f"{self.name}'s setWebhook")

    def _registered(self) -> bool:
        return any(call.get("url") == self.url for call in self.api.calls("setWebhook"))

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def cpu(self) -> float:
        return (proc_cpu(self.pid) if self.alive() else None) or 0.0

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)

    async def stop(self) -> None:
        """SIGTERM (the bot finishes the updates in hand), SIGKILL if it takes too long."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(BOT_STOP_TIMEOUT):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def kill_now(self) -> None:
        """Last resort (no event loop left): SIGKILL."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def problems(self) -> list[str]:
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(errors="replace").splitlines()
        return [f"{self.name}: {line}" for line in text if " ERROR " in line or "Traceback" in line]


# ---- one run -------------------------------------------------------------------------------


@dataclass
class RunResult:
    processes: int
    chats: int
    seconds: float
    updates: int
    latencies: list[float]
    bots_cpu: list[float]  # CPU seconds of each bot process in the window
    pg_cpu: float | None  # the PostgreSQL server's processes
    driver_cpu: float  # this process: fake server, webhook delivery, simulated people
    machine_cpu: float  # the whole machine's busy CPU seconds in the window
    inflight_mean: float  # webhook requests in flight, sampled every 50 ms
    inflight_max: int
    max_connections: int
    per_target: list[int]  # successful deliveries per bot in the window
    failed_deliveries: dict[str, int]  # non-2xx answers or failures in the window, by result
    load: float
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def run_load(
    api: BenchAPI,
    bots: list[BotProcess],
    url: str,
    chats: int,
    *,
    seconds: float,
    warmup: float,
    pg_data: Path,
    profile: bool = False,
) -> RunResult:
    """One closed-loop run with ``chats`` chats against the running ``bots``."""
    await reset_drafts(url)
    api.forget()
    api.webhook_deliveries.clear()
    people = [api.user(CHAT_BASE + i, f"Warga {i}", language_code="en") for i in range(chats)]
    begin = time.perf_counter()
    window_start = begin + warmup
    window_end = window_start + seconds
    samples: list[tuple[float, float]] = []  # (queued, answered) of every update
    problems: list[str] = []
    inflight: list[int] = []

    async def housekeeping() -> None:
        # The fake's logs would grow for ever; deliveries are kept until the window starts.
        while time.perf_counter() < window_end:
            await asyncio.sleep(1.0)
            api.forget()
            if time.perf_counter() < window_start:
                api.webhook_deliveries.clear()
            for bot in bots:
                if not bot.alive():
                    problems.append(f"{bot.name} exited with {bot.process.returncode}")  # type: ignore[union-attr]

    async def window() -> tuple[list[float], float | None, float, float, list[Any]]:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        deliveries_at_start = len(api.webhook_deliveries)
        if profile:
            for bot in bots:
                bot.signal(signal.SIGUSR1)
        bots0 = [bot.cpu() for bot in bots]
        pg0, driver0, machine0 = _pg_server_cpu(pg_data), time.process_time(), machine_cpu()
        while (left := window_end - time.perf_counter()) > 0:
            inflight.append(len(api._webhook_inflight))
            await asyncio.sleep(min(0.05, left))
        bots1 = [bot.cpu() for bot in bots]
        pg1, driver1, machine1 = _pg_server_cpu(pg_data), time.process_time(), machine_cpu()
        if profile:
            for bot in bots:
                bot.signal(signal.SIGUSR2)
        deliveries = list(api.webhook_deliveries[deliveries_at_start:])
        pg = pg1 - pg0 if pg0 is not None and pg1 is not None else None
        return (
            [b - a for a, b in zip(bots0, bots1, strict=True)],
            pg,
            driver1 - driver0,
            machine1 - machine0,
            deliveries,
        )

    keeper = asyncio.create_task(housekeeping())
    measured = asyncio.create_task(window())
    try:
        await closed_loop(api, people, window_end, samples, problems)
        bots_cpu, pg_cpu, driver_cpu, machine, deliveries = await measured
    finally:
        keeper.cancel()
        measured.cancel()
        await asyncio.gather(keeper, measured, return_exceptions=True)
    # Every chat ended its last cycle; let stray deliveries (none expected) finish.
    with contextlib.suppress(TimeoutError):
        await api.wait_webhook_idle(10)
    counted = [(q, a) for q, a in samples if window_start <= a <= window_end]
    latencies = [a - q for q, a in counted if q >= window_start]
    for bot in bots:
        problems += bot.problems()
    problems += [f"fake API: {e}" for e in api.internal_errors[:5]]
    targets = [bot.url for bot in bots]
    per_target = [sum(1 for d in deliveries if d.target == t and d.ok) for t in targets]
    return RunResult(
        processes=len(bots),
        chats=chats,
        seconds=seconds,
        updates=len(counted),
        latencies=latencies,
        bots_cpu=bots_cpu,
        pg_cpu=pg_cpu,
        driver_cpu=driver_cpu,
        machine_cpu=machine,
        inflight_mean=statistics.fmean(inflight) if inflight else 0.0,
        inflight_max=max(inflight, default=0),
        max_connections=api.webhook_max_connections,
        per_target=per_target,
        failed_deliveries=dict(Counter(str(d.result) for d in deliveries if not d.ok)),
        load=os.getloadavg()[0],
        errors=problems,
    )


# ---- the runs ------------------------------------------------------------------------------


class Bench:
    """The cluster, the fake server and the bot processes of one benchmark, and their end."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.bots: list[BotProcess] = []
        self.started = 0
        self.idle: dict[int, list[float]] = {}  # processes -> idle CPU ms/s of each bot

    async def start_bots(
        self, api: BenchAPI, url: str, count: int, profile: Path | None = None
    ) -> list[BotProcess]:
        bots = []
        for i in range(count):
            self.started += 1
            path = None if profile is None else Path(f"{profile}-{count}proc-bot{i + 1}.prof")
            bots.append(
                BotProcess(api, url, self.workdir, f"bot{self.started}", self.args.bot_env, path)
            )
        self.bots += bots
        await asyncio.gather(*(bot.start() for bot in bots))
        api.webhook_targets = [bot.url for bot in bots]  # a load balancer, round robin
        api.webhook_strategy = "round_robin"
        if self.args.max_connections is not None:
            api.webhook_max_connections = self.args.max_connections
        # What a bot costs with no update at all (outbox sender, SLA pass, sweeps, pool
        # pings): measured once per process count, after a second to settle.
        if profile is None and count not in self.idle:
            await asyncio.sleep(1.0)
            before, started = [bot.cpu() for bot in bots], time.perf_counter()
            await asyncio.sleep(IDLE_SECONDS)
            wall = time.perf_counter() - started
            self.idle[count] = [
                1000 * (bot.cpu() - cpu) / wall for bot, cpu in zip(bots, before, strict=True)
            ]
        return bots

    async def stop_bots(self, api: BenchAPI, bots: list[BotProcess]) -> None:
        api.webhook_targets = []
        await asyncio.gather(*(bot.stop() for bot in bots), return_exceptions=True)
        self.bots = [bot for bot in self.bots if bot not in bots]

    def kill_all(self) -> None:
        for bot in self.bots:
            bot.kill_now()

    async def run(self) -> tuple[list[RunResult], list[tuple[str, str, int]], str]:
        args = self.args
        results: list[RunResult] = []
        profiles: list[tuple[str, str, int]] = []
        with PgCluster(durable=True) as pg:
            url = pg.url("postgres")
            started = time.perf_counter()
            await prepare(url, max(args.chats))
            settings = await pg_settings(url)
            log(
                f"PostgreSQL {pg_version()} ({settings}); set-up of {max(args.chats)} residents "
                f"{time.perf_counter() - started:.1f} s; bot logs in {self.workdir}"
            )
            api = BenchAPI()
            api.webhook_timeout = WEBHOOK_TIMEOUT
            await api.start()
            try:
                for repeat in range(args.repeats):
                    order = args.processes if repeat % 2 == 0 else args.processes[::-1]
                    for count in order:
                        bots = await self.start_bots(api, url, count)
                        try:
                            for chats in args.chats:
                                result = await run_load(
                                    api, bots, url, chats, seconds=args.seconds,
                                    warmup=args.warmup, pg_data=pg.dir / "data",
                                )  # fmt: skip
                                report_run(result, repeat)
                                results.append(result)
                        finally:
                            await self.stop_bots(api, bots)
                if args.profile:
                    chats = max(args.chats)
                    for count in args.processes:
                        bots = await self.start_bots(api, url, count, profile=args.profile)
                        try:
                            result = await run_load(
                                api, bots, url, chats, seconds=args.seconds,
                                warmup=args.warmup, pg_data=pg.dir / "data", profile=True,
                            )  # fmt: skip
                        finally:
                            await self.stop_bots(api, bots)  # SIGUSR2 saved the profile
                        report_run(result, "profiled")
                        for bot, delivered in zip(bots, result.per_target, strict=True):
                            assert bot.profile_path is not None
                            if bot.profile_path.exists():
                                label = f"{bot.name}, one of {count} process(es), {chats} chats"
                                profiles.append((str(bot.profile_path), label, delivered))
            finally:
                await api.stop()
        return results, profiles, settings


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def report_run(result: RunResult, repeat: int | str) -> None:
    bots = ", ".join(f"{c:.1f}" for c in result.bots_cpu)
    log(
        f"  [{repeat}] processes={result.processes} chats={result.chats}: "
        f"{result.rate:,.1f} upd/s, p50 {fmt_ms(ms(result.latencies, 0.5))} ms, "
        f"p95 {fmt_ms(ms(result.latencies, 0.95))} ms; CPU s bots [{bots}], "
        f"PG {result.pg_cpu or 0:.1f}, driver {result.driver_cpu:.1f}, machine "
        f"{result.machine_cpu:.1f} of {result.seconds * (os.cpu_count() or 1):.0f}; in flight "
        f"{result.inflight_mean:.1f} (max {result.inflight_max}/{result.max_connections}); "
        f"deliveries per bot {result.per_target}; load {result.load:.2f}"
    )
    for problem in result.errors[:5] + result.errors[5:][-5:]:
        log(f"    problem: {problem}")
    if result.errors:
        raise RuntimeError(
            f"the run with {result.processes} process(es) and {result.chats} chats failed"
        )


# ---- reporting -----------------------------------------------------------------------------


def ms(latencies: list[float], q: float) -> float | None:
    """The ``q`` quantile in ms; None (null in JSON) when no update was both queued and
    answered in the window (a profiled run at many chats can be that slow)."""
    return round(1000 * percentile(latencies, q), 1) if latencies else None


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def ceiling(per_bot_ms: list[float], total_ms: float, cores: int) -> tuple[float, str]:
    """Updates/s a CPU-bound run would reach on this machine with nothing else running: each
    bot process (one event loop) can use at most one core, and all parties together at most
    ``cores``. Returns the rate and what limits it."""
    one_core = 1000 / max(per_bot_ms) if per_bot_ms and max(per_bot_ms) else float("inf")
    machine = cores * 1000 / total_ms if total_ms else float("inf")
    if one_core == machine == float("inf"):
        return 0.0, "nothing (no update counted)"
    if one_core <= machine:
        return one_core, "the busiest bot process's one core"
    return machine, f"the machine's {cores} cores (bots + PostgreSQL + driver)"


def summarize(
    results: list[RunResult], args: argparse.Namespace, idle: dict[int, list[float]]
) -> list[dict[str, Any]]:
    """One row per (processes, chats), the repeats pooled; ratio within each repeat."""
    rows: list[dict[str, Any]] = []
    repeats = args.repeats
    keyed: dict[tuple[int, int], list[RunResult]] = {}
    for result in results:
        keyed.setdefault((result.processes, result.chats), []).append(result)
    cores = os.cpu_count() or 1
    for processes in args.processes:
        for chats in args.chats:
            runs = keyed.get((processes, chats), [])
            if not runs:
                continue
            base = keyed.get((min(args.processes), chats), [])
            ratios = [r.rate / b.rate for r, b in zip(runs, base, strict=False) if b.rate][:repeats]
            updates = max(1, sum(r.updates for r in runs))
            wall = sum(r.seconds for r in runs)
            bots = sum(sum(r.bots_cpu) for r in runs)
            pg = sum(r.pg_cpu or 0.0 for r in runs)
            driver = sum(r.driver_cpu for r in runs)
            machine = sum(r.machine_cpu for r in runs)
            latencies = [x for r in runs for x in r.latencies]
            per_bot = [
                round(1000 * sum(r.bots_cpu[i] for r in runs) / updates, 2)
                for i in range(processes)
            ]
            total = 1000 * (bots + pg + driver) / updates
            bound, limit = ceiling(per_bot, total, cores)
            rows.append(
                {
                    "backend": "postgres",
                    "processes": processes,
                    "chats": chats,
                    "updates_per_s": round(statistics.fmean(r.rate for r in runs), 2),
                    "updates_per_s_runs": [round(r.rate, 2) for r in runs],
                    "ratio_to_1_process": round(statistics.fmean(ratios), 3) if ratios else None,
                    "ratio_runs": [round(x, 3) for x in ratios],
                    "p50_ms": ms(latencies, 0.5),
                    "p95_ms": ms(latencies, 0.95),
                    "cpu_ms_per_update": {
                        "bots": round(1000 * bots / updates, 2),
                        "per_bot": per_bot,
                        "postgres": round(1000 * pg / updates, 2),
                        "driver": round(1000 * driver / updates, 2),
                        "total": round(total, 2),
                    },
                    "bots_idle_cpu_ms_per_s": [round(x, 1) for x in idle.get(processes, [])],
                    "cpu_bound_ceiling": {
                        "updates_per_s": round(bound, 1),
                        "limited_by": limit,
                    },
                    "cores_used": {
                        "bots": round(bots / wall, 2),
                        "postgres": round(pg / wall, 2),
                        "driver": round(driver / wall, 2),
                        "others": round(max(0.0, machine - bots - pg - driver) / wall, 2),
                        "machine_busy": round(machine / wall, 2),
                        "of": cores,
                    },
                    "webhook_in_flight_mean": round(statistics.fmean(r.inflight_mean for r in runs), 1),
                    "webhook_in_flight_max": max(r.inflight_max for r in runs),
                    "max_connections": runs[0].max_connections,
                    "deliveries_per_bot": [
                        sum(r.per_target[i] for r in runs) for i in range(processes)
                    ],
                    "failed_deliveries": dict(
                        sum((Counter(r.failed_deliveries) for r in runs), Counter())
                    ),
                    "updates": sum(r.updates for r in runs),
                    "load_average": [round(min(r.load for r in runs), 2), round(max(r.load for r in runs), 2)],
                }
            )  # fmt: skip
    for row in rows:
        base_row = next(
            (
                r
                for r in rows
                if r["chats"] == row["chats"] and r["processes"] == min(args.processes)
            ),
            None,
        )
        if base_row is not None and base_row["cpu_bound_ceiling"]["updates_per_s"]:
            row["cpu_bound_ceiling"]["ratio_to_1_process"] = round(
                row["cpu_bound_ceiling"]["updates_per_s"]
                / base_row["cpu_bound_ceiling"]["updates_per_s"],
                3,
            )
    return rows


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace, pool: str, out: Any) -> None:
    def p(text: str = "") -> None:
        print(text, file=out)

    p(f"## Webhook form steps on PostgreSQL ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    p(
        f"{args.warmup:g} s warm-up + {args.seconds:g} s measured per run, {args.repeats} "
        f"repeat(s); bot DB pool: {pool}; webhook max_connections: "
        f"{rows[0]['max_connections'] if rows else '?'}. CPU ms per counted update: bots (all "
        "processes), PostgreSQL server, driver (this process: fake Bot API, webhook delivery, "
        "simulated people). Cores: CPU seconds per wall second of each, and of the rest of "
        "the machine (others). Ceiling: the updates/s these CPU costs allow on this machine "
        "with nothing else running (each bot process at most one core, everything together "
        "at most all cores), and its ratio to one process's ceiling; idle: CPU ms per second "
        "of each bot process with no updates.\n"
    )
    p(
        "| processes | chats | upd/s | ÷ 1 process (runs) | p50 ms | p95 ms "
        "| CPU ms/upd bots (each) | PG | driver | total "
        "| cores bots / PG / driver / others (of N) | ceiling upd/s (÷ 1) | idle ms/s "
        "| in flight (max) | load avg |"
    )
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|")
    for row in rows:
        cpu, cores = row["cpu_ms_per_update"], row["cores_used"]
        runs = ", ".join(f"{x:.2f}" for x in row["ratio_runs"])
        ratio = "–" if row["ratio_to_1_process"] is None else f"{row['ratio_to_1_process']:.2f}"
        each = " / ".join(f"{x:.1f}" for x in cpu["per_bot"])
        bound = row["cpu_bound_ceiling"]
        p(
            f"| {row['processes']} | {row['chats']} | {row['updates_per_s']:,.1f} "
            f"| {ratio} ({runs}) | {fmt_ms(row['p50_ms'])} | {fmt_ms(row['p95_ms'])} "
            f"| {cpu['bots']:.1f} ({each}) | {cpu['postgres']:.1f} | {cpu['driver']:.1f} "
            f"| {cpu['total']:.1f} | {cores['bots']:.2f} / {cores['postgres']:.2f} / "
            f"{cores['driver']:.2f} / {cores['others']:.2f} (of {cores['of']}) "
            f"| {bound['updates_per_s']:,.0f} ({bound.get('ratio_to_1_process', 0):.2f}) "
            f"| {' / '.join(f'{x:.1f}' for x in row['bots_idle_cpu_ms_per_s'])} "
            f"| {row['webhook_in_flight_mean']:.1f} ({row['webhook_in_flight_max']}) "
            f"| {row['load_average'][0]:.2f}–{row['load_average'][1]:.2f} |"
        )
    p()
    for row in rows:
        p(
            f"- {row['processes']} process(es), {row['chats']} chats: the ceiling is set by "
            f"{row['cpu_bound_ceiling']['limited_by']}"
        )
    for row in rows:
        if row["failed_deliveries"]:
            failed = ", ".join(f"{n} × {why}" for why, n in row["failed_deliveries"].items())
            p(
                f"- {row['processes']} process(es), {row['chats']} chats: webhook deliveries "
                f"failed (the fake retries them): {failed}"
            )


def pool_description(bot_env: dict[str, str]) -> str:
    """What pool the bots' engine gets: DB_POOL_SIZE / DB_MAX_OVERFLOW when this commit has
    those settings, else SQLAlchemy's default."""
    fields_ = Settings.model_fields
    if "db_pool_size" not in fields_:
        return "SQLAlchemy's default, 5 + 10 overflow per process (no DB_POOL_SIZE setting)"
    size = bot_env.get("DB_POOL_SIZE", fields_["db_pool_size"].default)
    overflow = bot_env.get(
        "DB_MAX_OVERFLOW",
        fields_["db_max_overflow"].default if "db_max_overflow" in fields_ else "?",
    )
    return f"DB_POOL_SIZE={size}, DB_MAX_OVERFLOW={overflow} per process"


def check_postgres() -> None:
    missing = [tool for tool in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / tool).exists()]
    if missing:
        raise SystemExit(
            f"webhook_steps.py needs PostgreSQL's server binaries: {', '.join(missing)} not "
            f"found in {PG_BIN}. Install PostgreSQL 15 (apt-get install postgresql-15) or "
            "point PG_BIN at the folder that has them."
        )


def parse_ints(text: str, name: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"{name}: comma-separated whole numbers, not {text!r}") from None
    if not values or min(values) < 1:
        raise SystemExit(f"{name}: at least one number, each 1 or more")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", default="10,100", help="concurrent chats (default 10,100)")
    parser.add_argument(
        "--processes", default="1,2", help="bot processes behind the webhook (default 1,2)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over the process counts")
    parser.add_argument(
        "--max-connections",
        type=int,
        help="webhook requests in flight at once in the fake (default: what the bots register, "
        "Telegram's default 40)",
    )
    parser.add_argument(
        "--bot-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every bot process, e.g. DB_POOL_SIZE=20 (repeatable)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PATH",
        help="after the measured runs, one cProfiled run per process count at the largest "
        "chat count; profiles saved as PATH-<N>proc-bot<i>.prof and summarized",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout "
                        "(the table then goes to stderr)")  # fmt: skip
    parser.add_argument("--keep-logs", action="store_true", help="keep the bots' log folder")
    args = parser.parse_args()
    args.chats = parse_ints(args.chats, "--chats")
    args.processes = parse_ints(args.processes, "--processes")
    if args.repeats < 1 or args.seconds <= 0 or args.warmup < 0:
        raise SystemExit("--repeats must be 1 or more, --seconds positive, --warmup not negative")
    env: dict[str, str] = {}
    for item in args.bot_env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--bot-env: NAME=VALUE, not {item!r}")
        env[name.upper()] = value
    args.bot_env = env
    if args.profile:
        args.profile.parent.mkdir(parents=True, exist_ok=True)
    check_postgres()
    logging.getLogger("aiogram").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="lw-webhook-steps-"))
    bench = Bench(args, workdir)

    async def run_all() -> tuple[list[RunResult], list[tuple[str, str, int]], str]:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await bench.run()

    failed = True
    try:
        results, profiles, pg_description = asyncio.run(run_all())
        failed = False
    except (KeyboardInterrupt, asyncio.CancelledError):
        failed = False  # nothing to look into: no logs kept
        raise SystemExit("interrupted: the bot processes and the cluster are stopped") from None
    except RuntimeError as exc:
        raise SystemExit(f"failed: {exc}\nbot logs kept in {workdir}") from None
    finally:
        bench.kill_all()  # only if something escaped the orderly stop
        if not failed and not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)

    rows = summarize(results, args, bench.idle)
    pool = pool_description(env)
    out = sys.stderr if args.json else sys.stdout
    print_table(rows, args, pool, out)
    if profiles:
        with contextlib.redirect_stdout(out):
            for path, label, updates in profiles:
                print_profile(path, label, updates)  # type: ignore[arg-type]
    if args.json:
        document = {
            **run_info("webhook_steps"),
            "postgres": f"{pg_version()}, throwaway durable cluster ({pg_description})",
            "bot_pool": pool,
            "bot_env": env,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "rows": rows,
        }
        print(json.dumps(document, indent=2, allow_nan=False))


if __name__ == "__main__":
    main()
