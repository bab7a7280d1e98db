"""Form-step throughput: the real bot against a bare aiogram echo bot, same fake Bot API.

    .venv/bin/python benchmarks/form_steps.py                       # both backends, 1/10/100 chats
    .venv/bin/python benchmarks/form_steps.py --backend sqlite --chats 1,10 --seconds 5
    .venv/bin/python benchmarks/form_steps.py --at-commit HEAD --repeats 3 --json
    .venv/bin/python benchmarks/form_steps.py --backend postgres --chats 1 --profile /tmp/p.out

What one measured update is: an update queued in the fake Bot API (``fake_bot_api/``),
fetched by the bot's long polling over HTTP, run through the whole stack (rate limit and
session middlewares, the form engine, a **durable commit**), and answered over HTTP
(``sendMessage``; a button press also gets ``answerCallbackQuery`` first). Its latency runs
from queueing the update to the fake server receiving the ``sendMessage``.

The form step. Every chat is a linked resident (consented, NIK + KK matched: set up with
``registry.accounts.record_consent`` / ``link_account``) whose birth report is open at
"When was the baby born?" (name and sex answered). Each chat repeats the cycle

1. types a birth date (``20/11/2026``-style, three or four days ago in turn, so the saved
   answers change every time): the engine reads and claims the draft in one statement
   (``UPDATE drafts SET rev = rev + 1 ... RETURNING``), parses and checks the date, saves
   it, moves on and renders the next question, "Who is the mother?", whose buttons are the
   women of the household old enough to be the mother (the household and its members are
   read from the registry); commit; reply;
2. presses "« Back" on that question: claim (``UPDATE ... WHERE id = ? AND rev = ?``, the
   button's draft and revision), move back, commit, answer the press and send the date
   question again.

Before any of that, the session middleware reads whether the update was processed before,
the account, its roles and its household's region in one statement; the commit writes the
update's id. SQL statements per update: 4.5 on SQLite, 6.5 on PostgreSQL (with the chat
lock's lock and unlock); 9 and 11 before issue 18.

So half the updates are typed answers and half are button presses, each a real engine step
with one read-modify-write of the draft and its own commit; the cycle can go on forever
without the data growing. (Answering the question wrongly would not save anything; walking
the form to Submit would file reports and fill the review queues.)

The baseline is a bare aiogram ``Dispatcher`` (same ``Bot``, same HTTP session, same parse
mode) whose handlers make the same Bot API calls: a message is answered with
``sendMessage`` (its text back, with a one-button inline keyboard), a button press with
``answerCallbackQuery`` + ``sendMessage``. Same fake server, same load, no database.

The load is closed-loop: C chats (1, 10, 100) at once, each sending its next update only
after the reply to the previous one, like a person. Each run warms up for ``--warmup``
seconds, then counts for ``--seconds``; echo and form runs alternate (``--repeats`` pairs
per concurrency) and throughput is reported as a ratio against the echo run of the same
pair, because the machine is shared and timings are noisy. CPU time per update (this process,
and the PostgreSQL server's processes) is reported too: it is far less sensitive to other
jobs on the machine than wall-clock throughput.

Diagnostics printed under the table: per form run, the SQL statements per update, how long
the first write statement of each transaction took (on SQLite that is the wait for the one
write lock) and how long the transaction then stayed open; CPU split between the event
loop's thread and other threads; how often pydantic built aiogram's ``Response[T]`` models
again (``bot.factory.KeptModelsSession`` holds them, so about never; before it, about once
per form update); and every SQL statement of the form runs with how many times per update
it ran. ``--profile`` profiles (CPU time of the loop's thread) the runs of the first repeat
and prints a summary by library, for both bots; profiled runs are slowed down, so use it
apart from measuring. ``--at-commit REV`` runs the benchmark on a ``git archive`` of REV,
for a stable measurement while the working tree is being edited (the commit's bot, this
script). ``--json`` prints one JSON document instead of the report: ``run_info`` (commit,
date, machine, load average; ``benchmarks/runinfo.py``) and a row per backend and
concurrency with both throughputs, the ratio, p50/p95 of both, CPU ms per update of both
(and the PostgreSQL server's), SQL statements per update and the repeats.

Everything runs in one process and one event loop, as in ``lapor-warga sandbox`` and the
end-to-end tests: the fake server and the simulated people take CPU from the bot in both
the baseline and the measured run. The simulated people wait for their reply on a future of
their own (:class:`BenchAPI`), not on the fake's shared change event, whose every change
wakes every waiting person (O(chats) work per message).

Databases: SQLite is a file on disk in WAL mode as ``storage/db.py`` configures it
(``synchronous`` as reported in the output); PostgreSQL 15 is a throwaway cluster from
``testkit/pgcluster.py`` with ``durable=True`` (``fsync=on``, ``synchronous_commit=on``). The
bot's engine uses SQLAlchemy's default pool (5 connections + 10 overflow).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import itertools
import json
import logging
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiogram  # noqa: E402
import pydantic  # noqa: E402
import sqlalchemy  # noqa: E402
from aiogram import Dispatcher, F  # noqa: E402
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup  # noqa: E402
from aiogram.types import Message as TgMessage  # noqa: E402
from runinfo import run_info  # noqa: E402
from sqlalchemy import text, update  # noqa: E402

from bot.factory import create_bot  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from fake_bot_api import FakeBotAPI, Message, Person  # noqa: E402
from registry.accounts import link_account, record_consent  # noqa: E402
from registry.households import import_household_rows  # noqa: E402
from registry.regions import BUNDLED_REGIONS_CSV, import_regions  # noqa: E402
from storage import db  # noqa: E402
from storage.models import Draft  # noqa: E402
from testkit.harness import RunningBot  # noqa: E402
from testkit.pgcluster import PG_BIN, PgCluster  # noqa: E402
from testkit.synthetic import synthetic_rows  # noqa: E402

CHAT_BASE = 610_000_001  # Telegram ids of the simulated residents: CHAT_BASE + i
PROVINCE = "16"  # the regions the synthetic households live in (as the tests use)
DRAFT_ANSWERS = {"name": "Bayi Sintetis", "sex": "F"}
REPLY_TIMEOUT = 60.0  # seconds: an update unanswered this long fails the run
DATE_PROMPT = "When was the baby born"
MOTHER_PROMPT = "Who is the mother?"
BACK = "« Back"
SOURCE_ENV = "LW_BENCH_SOURCE"  # set when running on a commit exported by --at-commit
COMMIT_ENV = "LW_BENCH_COMMIT"  # its short hash, for --json


# ---- the fake server, with a waiter per chat ---------------------------------------------------


_update_ids = itertools.count(1)


class BenchAPI(FakeBotAPI):
    """The fake Bot API; each new bot message to a chat resolves that chat's waiter.

    Update ids go on from one instance (one run) to the next, as Telegram's do for a bot: a
    bot that records the updates it processed would take a repeated id for a redelivery."""

    def __init__(self) -> None:
        super().__init__()
        self._update_ids = _update_ids
        self.waiters: dict[int, asyncio.Future[tuple[Message, float]]] = {}

    def _new_bot_message(self, person: Person, **fields: Any) -> Message:
        msg = super()._new_bot_message(person, **fields)
        waiter = self.waiters.pop(person.chat_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result((msg, time.perf_counter()))
        return msg

    def forget(self) -> None:
        """Drop what the fake logs for tests (every request, update and message), so memory
        stays flat over a long run; nothing the bot relies on is kept there."""
        self.requests.clear()
        self.sent.clear()
        self.updates.clear()
        self.rejected.clear()
        for person in self._persons.values():
            last = person.messages[-1:] if person.messages else []
            person.messages[:] = last
            person.cursor = len(person.messages)
            person.user_messages.clear()
            person.callback_answers.clear()
            person._store = {m.message_id: m for m in last}


# ---- aiogram's response models -----------------------------------------------------------------


class RebuildCounter:
    """Counts pydantic's builds of parametrized generic models (``Response[T]``) and the
    main thread's CPU time they take, by wrapping pydantic's ``create_generic_submodel``."""

    def __init__(self) -> None:
        from pydantic._internal import _generics

        self.module = _generics
        self.original = _generics.create_generic_submodel
        self.count = 0
        self.cpu = 0.0
        self.active = False

        def counted(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return self.original(*args, **kwargs)
            finally:
                if self.active:
                    self.count += 1
                    self.cpu += time.thread_time() - started

        _generics.create_generic_submodel = counted

    def close(self) -> None:
        self.module.create_generic_submodel = self.original


# ---- the two bots ------------------------------------------------------------------------------


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=BACK, callback_data="b")]]
    )


class EchoBot:
    """A bare aiogram bot: the same Bot API calls as a form step, and nothing else."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.settings = load_settings(bot_token=api.token, telegram_api_base=api.base_url)
        self.bot = create_bot(self.settings)
        self.dp = Dispatcher()
        self.dp.message.register(self.on_message)
        self.dp.callback_query.register(self.on_button, F.data)
        self._task: asyncio.Task[None] | None = None

    async def on_message(self, message: TgMessage) -> None:
        await self.bot.send_message(
            message.chat.id, escape(message.text or "?"), reply_markup=_keyboard()
        )

    async def on_button(self, query: CallbackQuery) -> None:
        await query.answer()
        await self.bot.send_message(query.from_user.id, DATE_PROMPT, reply_markup=_keyboard())

    async def start(self) -> None:
        self._task = asyncio.create_task(
            self.dp.start_polling(self.bot, handle_signals=False, polling_timeout=1)
        )
        await self.api.wait_polling()

    async def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self.dp.stop_polling()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
        await self.bot.session.close()


# ---- setup -------------------------------------------------------------------------------------


async def prepare(url: str, chats: int, *, chat_base: int = CHAT_BASE, drafts: bool = True) -> None:
    """Schema, the province's regions, synthetic households and one linked, consented
    resident (Telegram id ``chat_base + i``, in English) per chat, with a birth report open
    at the date question unless ``drafts`` is false (``chat_memory.py`` opens the forms
    through the bot). It commits every 500 residents and empties the session, so that
    10,000 (``chat_memory.py``) take little memory."""
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        async with db.make_sessionmaker(engine)() as session:
            await import_regions(session, BUNDLED_REGIONS_CSV, within=PROVINCE)
            rows = list(synthetic_rows(chats * 6))
            await import_household_rows(session, enumerate(rows, start=2))
            heads = [(row[0], row[1]) for row in rows if row[5] == "head"][:chats]
            assert len(heads) == chats, "not enough synthetic households"
            await session.commit()
            for i, (kk, nik) in enumerate(heads):
                account = await record_consent(
                    session, chat_base + i, locale="en", first_name=f"Warga {i}"
                )
                assert account is not None
                await link_account(session, account, nik, kk)
                if drafts:
                    session.add(
                        Draft(
                            account_id=account.id,
                            flow="birth",
                            step="birth_date",
                            answers=dict(DRAFT_ANSWERS),
                            context={"matches": None, "query": None},
                            rev=1,
                        )
                    )
                if i % 500 == 499:
                    await session.commit()
                    session.expunge_all()
            await session.commit()
    finally:
        await engine.dispose()


async def reset_drafts(url: str) -> None:
    """Every draft back at the date question (a run stops only between cycles; this makes
    sure of it after a failed run too)."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Draft).values(
                    step="birth_date",
                    answers=dict(DRAFT_ANSWERS),
                    context={"matches": None, "query": None},
                )
            )
    finally:
        await engine.dispose()


# ---- the load ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    kind: str  # "echo" or "form"
    chats: int
    seconds: float
    updates: int
    latencies: list[float]
    cpu: float  # this process's CPU seconds in the window (every thread)
    main_cpu: float  # of which the event loop's thread
    server_cpu: float | None  # the PostgreSQL server's CPU seconds in the window
    load: float  # the machine's 1-minute load average at the end of the run
    rebuilds: int = 0  # Response[T] models built by pydantic in the window
    rebuild_cpu: float = 0.0  # main-thread CPU seconds those builds took
    statements: int = 0  # SQL statements the bot executed in the window
    statement_texts: dict[str, int] = field(default_factory=dict)  # each one's count
    writes: list[tuple[float, float]] = field(default_factory=list)  # (wait, hold) seconds
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def _stat_times(pid: int | str) -> tuple[int, int, int] | None:
    """(ppid, own CPU ticks, reaped children's CPU ticks) of process ``pid`` from
    ``/proc/PID/stat`` (utime + stime, cutime + cstime); None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_ = stat[stat.rindex(")") + 2 :].split()
    return int(fields_[1]), int(fields_[11]) + int(fields_[12]), int(fields_[13]) + int(fields_[14])


def _pg_server_cpu(data_dir: Path | None) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL server so far: the postmaster, its
    live children, and every child that has ended.

    Backends come and go within a measured window (the bots' pools close the connections
    they opened beyond their size), so summing the live processes' times at the start and
    at the end of a window loses what the backends that ended meanwhile used, and can even
    come out negative. The kernel keeps that time: when the postmaster reaps a child, the
    child's times (with its own reaped children's) are added to the postmaster's cutime
    and cstime. So the server's total is the postmaster's own and reaped children's times
    plus the live children's own and reaped children's times (a child that exited but is
    not reaped yet is still listed, as a zombie, with its times), and it only grows.

    The listing is not atomic: a child reaped between reading the postmaster and reaching
    the child's entry would be counted in neither. The postmaster is read again after the
    listing; if its reaped children's time changed, the listing is done again."""
    if data_dir is None:
        return None
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    for _attempt in range(10):
        first = _stat_times(postmaster)
        if first is None:
            return None
        _ppid, own, reaped = first
        total = own + reaped
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == postmaster:
                continue
            times = _stat_times(entry.name)
            if times is not None and times[0] == postmaster:
                total += times[1] + times[2]
        again = _stat_times(postmaster)
        if again is None or again[2] == reaped:
            break
    return total / ticks


_WRITE = ("INSERT", "UPDATE", "DELETE")


def watch_writes(
    engine: Any,
    until: list[bool],
    out: list[tuple[float, float]],
    statements: list[int],
    texts: dict[str, int],
) -> None:
    """Per transaction that writes: how long its first write statement took (on SQLite that
    includes waiting for the database's one write lock) and how long the transaction then
    stayed open until COMMIT was issued (the lock is held meanwhile; the commit's own fsync
    comes on top). Statements run in the event loop's thread (SQLAlchemy's greenlets)."""
    from sqlalchemy import event

    sync = engine.sync_engine

    @event.listens_for(sync, "before_cursor_execute")
    def before(conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if until[0]:
            statements[0] += 1
            key = " ".join(statement.split())[:160]
            texts[key] = texts.get(key, 0) + 1
        if "w0" not in conn.info and statement.lstrip()[:6].upper() in _WRITE:
            conn.info["w0"] = time.perf_counter()

    @event.listens_for(sync, "after_cursor_execute")
    def after(conn, *_args):  # type: ignore[no-untyped-def]
        if "w0" in conn.info and "w1" not in conn.info:
            conn.info["w1"] = time.perf_counter()

    @event.listens_for(sync, "commit")
    def commit(conn):  # type: ignore[no-untyped-def]
        w0, w1 = conn.info.pop("w0", None), conn.info.pop("w1", None)
        if w0 is not None and w1 is not None and until[0]:
            out.append((w1 - w0, time.perf_counter() - w1))

    @event.listens_for(sync, "rollback")
    def rollback(conn):  # type: ignore[no-untyped-def]
        conn.info.pop("w0", None)
        conn.info.pop("w1", None)


async def closed_loop(
    api: BenchAPI,
    people: list[Person],
    until: float,
    samples: list[tuple[float, float]],
    problems: list[str],
    *,
    echo: bool = False,
) -> None:
    """The load: every person, all at once, repeats the cycle (a birth date typed, then
    "« Back" pressed), sending each update only after the reply to the previous one, until
    ``until`` (``time.perf_counter()``) or 20 problems. Appends (queued, answered) of every
    update to ``samples`` and what went wrong to ``problems``. ``echo``: the bot is the bare
    echo bot, whose reply to a typed date is the date itself."""
    loop = asyncio.get_running_loop()
    # Two birth dates taken in turn, so every typed answer changes the saved answers.
    birth_days = [(date.today() - timedelta(days=d)).strftime("%d/%m/%Y") for d in (3, 4)]

    async def exchange(person: Person, send: Any, expected: str) -> Message:
        waiter: asyncio.Future[tuple[Message, float]] = loop.create_future()
        api.waiters[person.chat_id] = waiter
        queued = time.perf_counter()
        await send()
        msg, answered = await asyncio.wait_for(waiter, REPLY_TIMEOUT)
        samples.append((queued, answered))
        if not msg.shows(expected):
            problems.append(f"chat {person.chat_id}: expected {expected!r}, got {msg.text!r}")
        return msg

    async def person_loop(person: Person) -> None:
        # Whole cycles only: every chat ends at the date question, where the next run starts.
        turn = 0
        while time.perf_counter() < until and len(problems) < 20:
            day = birth_days[turn % 2]
            turn += 1
            expected = escape(day) if echo else MOTHER_PROMPT
            question = await exchange(person, lambda d=day: person.send_text(d), expected)
            if not question.find_button(BACK):
                problems.append(f"chat {person.chat_id}: no Back button on {question.text!r}")
                return
            await exchange(person, lambda q=question: person.press(BACK, q), DATE_PROMPT)

    results = await asyncio.gather(*(person_loop(p) for p in people), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            problems.append(f"{type(result).__name__}: {result}")


async def run_load(
    kind: str,
    chats: int,
    *,
    url: str,
    seconds: float,
    warmup: float,
    pg_data: Path | None,
    profile: cProfile.Profile | None = None,
) -> RunResult:
    """One closed-loop run of ``kind`` ("echo" or "form") with ``chats`` chats."""
    gc.collect()
    if kind == "form":
        await reset_drafts(url)
    api = BenchAPI()
    await api.start()
    bot: EchoBot | RunningBot
    bot = EchoBot(api) if kind == "echo" else RunningBot(api, url)
    errors = _ErrorLog()
    logging.getLogger().addHandler(errors)
    await bot.start()
    measuring = [False]
    rebuilds = RebuildCounter()
    writes: list[tuple[float, float]] = []
    statements = [0]
    texts: dict[str, int] = {}
    if isinstance(bot, RunningBot):
        watch_writes(bot.engine, measuring, writes, statements, texts)
    people = [api.user(CHAT_BASE + i, f"Warga {i}", language_code="en") for i in range(chats)]
    begin = time.perf_counter()
    window_start = begin + warmup
    window_end = window_start + seconds
    samples: list[tuple[float, float]] = []  # (queued, answered) of every update
    problems: list[str] = []

    async def housekeeping() -> None:
        while time.perf_counter() < window_end:
            await asyncio.sleep(1.0)
            api.forget()

    async def window() -> tuple[float, float, float | None]:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        cpu0, server0 = time.process_time(), _pg_server_cpu(pg_data)
        main0 = time.thread_time()
        measuring[0] = rebuilds.active = True
        if profile is not None:
            profile.enable()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        if profile is not None:
            profile.disable()
        measuring[0] = rebuilds.active = False
        main1 = time.thread_time()
        cpu1, server1 = time.process_time(), _pg_server_cpu(pg_data)
        server = server1 - server0 if server0 is not None and server1 is not None else None
        return cpu1 - cpu0, main1 - main0, server

    try:
        keeper = asyncio.create_task(housekeeping())
        measured = asyncio.create_task(window())
        await closed_loop(api, people, window_end, samples, problems, echo=kind == "echo")
        cpu, main_cpu, server_cpu = await measured
        keeper.cancel()
    finally:
        await bot.stop()
        await api.stop()
        logging.getLogger().removeHandler(errors)
        rebuilds.close()
    counted = [(q, a) for q, a in samples if window_start <= a <= window_end]
    latencies = [a - q for q, a in counted if q >= window_start]
    problems += errors.records[:10]
    problems += [f"fake API: {e}" for e in api.internal_errors[:5]]
    return RunResult(
        kind, chats, seconds, len(counted), latencies, cpu, main_cpu, server_cpu,
        os.getloadavg()[0], rebuilds.count, rebuilds.cpu, statements[0], texts, writes, problems,
    )  # fmt: skip


# ---- reporting ---------------------------------------------------------------------------------


def filesystem_of(path: Path) -> str:
    best, kind = "", "?"
    with open("/proc/mounts", encoding="utf-8") as fh:
        for line in fh:
            _dev, mount, fstype, *_rest = line.split()
            if str(path).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    return kind


def pg_version() -> str:
    try:
        out = subprocess.run(
            [str(PG_BIN / "postgres"), "--version"], capture_output=True, text=True
        )
        return out.stdout.strip().removeprefix("postgres (PostgreSQL) ")
    except OSError:
        return "not installed"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def git_state() -> str:
    exported = os.environ.get(SOURCE_ENV)
    if exported:
        return exported

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return (
        "working tree at "
        + git("rev-parse", "--short", "HEAD")
        + (" with uncommitted changes" if dirty else "")
    )


Row = tuple[str, int, list[RunResult], list[RunResult]]  # backend, chats, echo runs, form runs


def _cpu_per_update(runs: list[RunResult], server: bool = False) -> float:
    updates = max(1, sum(r.updates for r in runs))
    if server:
        return 1000 * sum(r.server_cpu or 0.0 for r in runs) / updates
    return 1000 * sum(r.cpu for r in runs) / updates


def print_table(rows: list[Row]) -> None:
    print(
        "| backend | chats | echo upd/s | form upd/s | ratio form/echo (range) "
        "| form p50 ms | form p95 ms | echo p50 ms | echo p95 ms "
        "| CPU ms/upd echo | CPU ms/upd form (+ PG server) | CPU ratio echo/form | load avg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend, chats, echoes, forms in rows:
        echo_rate = statistics.fmean(r.rate for r in echoes)
        form_rate = statistics.fmean(r.rate for r in forms)
        ratios = [f.rate / e.rate for e, f in zip(echoes, forms, strict=True) if e.rate]
        span = f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else ""
        echo_lat = [x for r in echoes for x in r.latencies]
        form_lat = [x for r in forms for x in r.latencies]
        echo_cpu = _cpu_per_update(echoes)
        form_cpu = _cpu_per_update(forms)
        pg = _cpu_per_update(forms, server=True) if forms[0].server_cpu is not None else 0.0
        form_cpu_text = f"{form_cpu:.1f}" + (f" (+ {pg:.1f})" if pg else "")
        loads = [r.load for r in echoes + forms]
        print(
            f"| {backend} | {chats} | {echo_rate:,.0f} | {form_rate:,.1f} "
            f"| {statistics.fmean(ratios):.3f}{span} "
            f"| {1000 * percentile(form_lat, 0.5):.1f} | {1000 * percentile(form_lat, 0.95):.1f} "
            f"| {1000 * percentile(echo_lat, 0.5):.1f} | {1000 * percentile(echo_lat, 0.95):.1f} "
            f"| {echo_cpu:.1f} | {form_cpu_text} | {echo_cpu / (form_cpu + pg):.3f} "
            f"| {min(loads):.1f}–{max(loads):.1f} |"
        )


def json_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """One object per (backend, chats) for ``--json``: the figures of :func:`print_table`."""
    out = []
    for backend, chats, echoes, forms in rows:
        echo_rate = statistics.fmean(r.rate for r in echoes)
        form_rate = statistics.fmean(r.rate for r in forms)
        ratios = [f.rate / e.rate for e, f in zip(echoes, forms, strict=True) if e.rate]
        echo_lat = [x for r in echoes for x in r.latencies]
        form_lat = [x for r in forms for x in r.latencies]
        updates = max(1, sum(r.updates for r in forms))
        pg = _cpu_per_update(forms, server=True) if forms[0].server_cpu is not None else None
        out.append(
            {
                "backend": backend,
                "chats": chats,
                "echo_updates_per_s": round(echo_rate, 1),
                "form_updates_per_s": round(form_rate, 1),
                "ratio": round(statistics.fmean(ratios), 3) if ratios else None,
                "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)] if ratios else None,
                "p50_ms": round(1000 * percentile(form_lat, 0.5), 1),
                "p95_ms": round(1000 * percentile(form_lat, 0.95), 1),
                "echo_p50_ms": round(1000 * percentile(echo_lat, 0.5), 1),
                "echo_p95_ms": round(1000 * percentile(echo_lat, 0.95), 1),
                "cpu_ms_per_update_echo": round(_cpu_per_update(echoes), 2),
                "cpu_ms_per_update_form": round(_cpu_per_update(forms), 2),
                "pg_server_cpu_ms_per_update_form": round(pg, 2) if pg is not None else None,
                "statements_per_update": round(sum(r.statements for r in forms) / updates, 2),
                "response_builds_per_update_form": round(
                    sum(r.rebuilds for r in forms) / updates, 3
                ),
                "repeats": len(forms),
                "load_average_1min": [round(r.load, 2) for r in echoes + forms],
            }
        )
    return out


def print_writes(rows: list[Row]) -> None:
    print(
        "\nWrite transactions of the form runs (every update has one): the first write "
        "statement's duration (on SQLite: waiting for the write lock) and the time the "
        "transaction then stays open until COMMIT is issued.\n"
    )
    print(
        "| backend | chats | SQL statements/upd | first write p50 ms | p95 ms "
        "| open until COMMIT p50 ms | p95 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for backend, chats, _echoes, forms in rows:
        waits = [w for r in forms for w, _h in r.writes]
        holds = [h for r in forms for _w, h in r.writes]
        print(
            f"| {backend} | {chats} "
            f"| {sum(r.statements for r in forms) / max(1, sum(r.updates for r in forms)):.1f} "
            f"| {1000 * percentile(waits, 0.5):.1f} | {1000 * percentile(waits, 0.95):.1f} "
            f"| {1000 * percentile(holds, 0.5):.1f} | {1000 * percentile(holds, 0.95):.1f} |"
        )


def print_statements(rows: list[Row]) -> None:
    """The SQL statements of the form runs, each with how many times per update it ran."""
    print("\nSQL statements per form update, by statement (its first 160 characters):\n")
    for backend, chats, _echoes, forms in rows:
        updates = max(1, sum(r.updates for r in forms))
        counts: dict[str, int] = {}
        for r in forms:
            for key, n in r.statement_texts.items():
                counts[key] = counts.get(key, 0) + n
        print(f"{backend}, {chats} chats:\n```")
        for key, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"{n / updates:5.2f}  {key}")
        print("```")


def print_cpu(rows: list[Row]) -> None:
    print(
        "\nCPU per counted update, in ms: the event loop's thread (bot, fake server and clients), "
        "the process's other threads (aiosqlite's connection threads, aiohttp's resolver), the "
        "PostgreSQL server; and aiogram's Response[T] models that pydantic built again (after a "
        "garbage collection dropped them from its weak cache) with the loop thread's CPU they "
        "took:\n"
    )
    print("| backend | chats | run | loop thread | other threads | PG server "
          "| Response[T] builds/upd | their CPU ms/upd | ms per build |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for backend, chats, echoes, forms in rows:
        for kind, runs in (("echo", echoes), ("form", forms)):
            updates = max(1, sum(r.updates for r in runs))
            main = 1000 * sum(r.main_cpu for r in runs) / updates
            other = 1000 * sum(r.cpu - r.main_cpu for r in runs) / updates
            server = [r.server_cpu for r in runs if r.server_cpu is not None]
            pg = f"{1000 * sum(server) / updates:.1f}" if server and kind == "form" else ""
            builds = sum(r.rebuilds for r in runs)
            build_cpu = sum(r.rebuild_cpu for r in runs)
            per_build = f"{1000 * build_cpu / builds:.1f}" if builds else ""
            print(
                f"| {backend} | {chats} | {kind} | {main:.1f} "
                f"| {other:.1f} | {pg} | {builds / updates:.2f} "
                f"| {1000 * build_cpu / updates:.1f} | {per_build} |"
            )


def print_profile(profile: cProfile.Profile, label: str, updates: int) -> None:
    """Main-thread CPU of the profiled run by area, then the heaviest functions."""
    stats = pstats.Stats(profile)
    groups: dict[str, float] = {}
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        groups[_area(filename)] = groups.get(_area(filename), 0.0) + tottime
    print(
        f"\n### Profile: {label} (main thread's CPU time, cProfile with time.thread_time; "
        f"{updates} updates in the window; the profiler's own overhead inflates every figure)\n"
    )
    print("| area | CPU s | share | CPU ms per update |")
    print("|---|---:|---:|---:|")
    for area, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        if seconds / total < 0.005:
            continue
        print(
            f"| {area} | {seconds:.2f} | {100 * seconds / total:.1f}% "
            f"| {1000 * seconds / max(1, updates):.3f} |"
        )
    print("\nHeaviest functions by own time:\n```")
    stats.sort_stats("tottime").print_stats(20)
    print("```\nThe bot's own code by cumulative time:\n```")
    stats.sort_stats("cumulative").print_stats(r"/(flows|handlers|registry|storage)/", 20)
    print("```")


def _area(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker, name in (
        ("/fake_bot_api/", "fake Bot API server (same process)"),
        ("/benchmarks/", "benchmark clients"),
        ("/flows/", "bot: flows (engine, forms)"),
        ("/handlers/", "bot: handlers/middlewares"),
        ("/registry/", "bot: registry"),
        ("/storage/", "bot: storage"),
        ("/locales/", "bot: locales (gettext, babel)"),
        ("/bot/", "bot: bot/"),
        ("/aiogram/", "aiogram"),
        ("/sqlalchemy/", "SQLAlchemy"),
        ("/aiosqlite/", "aiosqlite (main-thread side)"),
        ("/asyncpg/", "asyncpg"),
        ("/aiohttp/", "aiohttp (client + server)"),
        ("/yarl/", "aiohttp (client + server)"),
        ("/multidict/", "aiohttp (client + server)"),
        ("/pydantic", "pydantic (aiogram types)"),
        ("/babel/", "babel"),
        ("/json/", "json"),
        ("/asyncio/", "asyncio event loop"),
        ("selectors.py", "asyncio event loop"),
    ):
        if marker in path:
            return name
    if filename.startswith("<built-in method") or filename == "~":
        return "builtins (C calls: select, socket, queue, json...)"
    return "other Python"


# ---- main --------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Any:
    """(url, PostgreSQL data dir or None, description) of a fresh empty database."""
    if backend == "sqlite":
        path = workdir / "form-steps.sqlite3"
        path.unlink(missing_ok=True)
        yield f"sqlite+aiosqlite:///{path}", None, f"file on {filesystem_of(path.parent)}"
        return
    with PgCluster(durable=True) as pg:
        yield (
            pg.url("postgres"),
            pg.dir / "data",
            "throwaway cluster (testkit/pgcluster.py, durable=True)",
        )


async def sqlite_pragmas(url: str) -> str:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            sync = (await conn.execute(text("PRAGMA synchronous"))).scalar()
    finally:
        await engine.dispose()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"journal_mode={mode}, synchronous={names.get(sync, sync)}"


async def pg_settings(url: str) -> str:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            shown = [
                f"{name}={(await conn.execute(text(f'SHOW {name}'))).scalar()}"
                for name in ("fsync", "synchronous_commit", "wal_sync_method")
            ]
    finally:
        await engine.dispose()
    return ", ".join(shown)


async def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[Row]:
    rows: list[Row] = []
    with database(backend, workdir) as (url, pg_data, description):
        started = time.perf_counter()
        await prepare(url, max(args.chats))
        description += ", " + (
            await sqlite_pragmas(url) if backend == "sqlite" else await pg_settings(url)
        )
        args.descriptions.append(f"{backend}: {description}")
        print(
            f"{backend}: {description}; set-up of {max(args.chats)} residents "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        for chats in args.chats:
            runs: dict[str, list[RunResult]] = {"echo": [], "form": []}
            for repeat in range(args.repeats):
                for kind in ("echo", "form") if repeat % 2 == 0 else ("form", "echo"):
                    profile = None
                    if args.profile and chats == args.chats[0] and repeat == 0:
                        profile = cProfile.Profile(time.thread_time)
                    result = await run_load(
                        kind, chats, url=url, seconds=args.seconds, warmup=args.warmup,
                        pg_data=pg_data, profile=profile,
                    )  # fmt: skip
                    runs[kind].append(result)
                    print(
                        f"  {backend} chats={chats} {kind}: "
                        f"{result.rate:,.1f} upd/s, p50 {1000 * percentile(result.latencies, 0.5):.1f} ms, "
                        f"p95 {1000 * percentile(result.latencies, 0.95):.1f} ms, CPU {result.cpu:.1f} s"
                        + (f", PG {result.server_cpu:.1f} s" if result.server_cpu else "")
                        + f", load {result.load:.1f}",
                        file=sys.stderr,
                    )  # fmt: skip
                    for problem in result.errors[:5] + result.errors[-10:]:
                        print(f"    problem: {problem}", file=sys.stderr)
                    if result.errors:
                        raise SystemExit(f"{backend} {kind} run with {chats} chats failed")
                    if profile is not None:
                        name = f"{backend}-{kind}-{chats}"
                        profile.dump_stats(
                            args.profile.with_name(f"{args.profile.stem}-{name}.prof")
                        )
                        label = f"{backend}, {kind}, {chats} chats"
                        args.profile_output.append((profile, label, result.updates))
            rows.append((backend, chats, runs["echo"], runs["form"]))
    return rows


def run_at_commit(rev: str) -> int:
    """Export ``rev`` with git archive and run this script there (other people may be editing
    the working tree meanwhile); testkit/pgcluster.py is taken from the working tree if the
    commit lacks it, benchmarks/runinfo.py (``--json``) always."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    snapshot = Path(tempfile.mkdtemp(prefix="lw-form-steps-src-"))
    try:
        archive = subprocess.run(["git", "archive", sha], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive.stdout, check=True)
        (snapshot / "benchmarks").mkdir(exist_ok=True)
        shutil.copyfile(Path(__file__), snapshot / "benchmarks" / "form_steps.py")
        shutil.copyfile(REPO / "benchmarks" / "runinfo.py", snapshot / "benchmarks" / "runinfo.py")
        if not (snapshot / "testkit" / "pgcluster.py").exists():
            (snapshot / "testkit").mkdir(exist_ok=True)
            shutil.copyfile(
                REPO / "testkit" / "pgcluster.py", snapshot / "testkit" / "pgcluster.py"
            )
        argv, skip = [], False
        for arg in sys.argv[1:]:
            if skip:
                skip = False
            elif arg == "--at-commit":
                skip = True
            elif not arg.startswith("--at-commit="):
                argv.append(arg)
        env = {
            **os.environ,
            SOURCE_ENV: f"commit {sha[:7]} (exported with git archive)",
            COMMIT_ENV: sha[:7],
        }
        script = snapshot / "benchmarks" / "form_steps.py"
        return subprocess.run([sys.executable, str(script), *argv], env=env).returncode
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def run_backends(bench: Any, backends: list[str], *args: Any) -> list[Any]:
    """The rows of ``await bench(backend, *args)`` for each backend in turn, in one event
    loop (``asyncio.run``)."""

    async def run_all() -> list[Any]:
        rows: list[Any] = []
        for backend in backends:
            rows += await bench(backend, *args)
        return rows

    return asyncio.run(run_all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--chats", default="1,10,100", help="concurrent chats, comma-separated (default 1,10,100)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--repeats", type=int, default=2, help="echo/form pairs per concurrency")
    parser.add_argument("--workdir", type=Path, help="where the SQLite file goes (default: temp)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="cProfile the runs of the first repeat at the first concurrency, saved as "
        "PROFILE-<backend>-<kind>-<chats>.prof next to this path (a diagnostic: the profiler "
        "slows the profiled runs, so their rows do not measure throughput)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document (run_info + a row per backend and concurrency) instead "
        "of the Markdown report",
    )
    parser.add_argument(
        "--at-commit",
        metavar="REV",
        help="run on the files of this commit (git archive to a temp dir), not the working tree",
    )
    args = parser.parse_args()
    if args.at_commit:
        raise SystemExit(run_at_commit(args.at_commit))
    args.chats = [int(c) for c in args.chats.split(",") if c.strip()]
    args.profile_output = []
    if args.profile:
        args.profile.parent.mkdir(parents=True, exist_ok=True)
    args.descriptions = []
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lw-form-steps-"))
    workdir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("aiogram").setLevel(logging.WARNING)
    started = datetime.now(UTC)

    try:
        rows = run_backends(bench_backend, backends, args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        document = {**run_info("form_steps", os.environ.get(COMMIT_ENV)), "rows": json_rows(rows)}
        print(json.dumps(document, indent=2))
        return

    print(f"## Form-step throughput ({started:%Y-%m-%d %H:%M} UTC)\n")
    print(
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs ({cpu_model()}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {pg_version()}; aiogram {aiogram.__version__}, SQLAlchemy "
        f"{sqlalchemy.__version__}, pydantic {pydantic.__version__}; "
        f"repository: {git_state()}.\n"
    )
    for description in args.descriptions:
        print(f"- {description}")
    print(
        "\nOne update = queued in the fake Bot API -> long polling -> middlewares -> form "
        "engine -> durable commit -> sendMessage over HTTP (a button press also "
        "answerCallbackQuery). Form step: a birth date typed (saved; next question, with the "
        "mother's buttons from the registry), then « Back pressed; repeated. Echo: a bare "
        "aiogram Dispatcher making the same Bot API calls, no database. Closed loop per chat; "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s measured per run, {args.repeats} "
        "echo/form pair(s) per row, alternating. The fake server, the simulated people and the "
        "bot share one process, one event loop and the machine's CPUs, in both runs. CPU = "
        "this process (all threads) per counted update; + PG server = the postgres processes; "
        "CPU ratio = echo CPU / (form CPU + PG server CPU), the throughput ratio a CPU-bound "
        "run on an otherwise idle machine would show. Load avg: the machine's 1-minute load "
        "average after each run (other jobs share the machine).\n"
    )
    print_table(rows)
    print_writes(rows)
    print_statements(rows)
    print_cpu(rows)
    for profile, label, updates in args.profile_output:
        print_profile(profile, label, updates)


if __name__ == "__main__":
    main()
