"""Memory of one bot process as many chats open a form.

    .venv/bin/python benchmarks/chat_memory.py                          # SQLite and PostgreSQL
    .venv/bin/python benchmarks/chat_memory.py --backend sqlite --chats 2000 --at 500,1000
    .venv/bin/python benchmarks/chat_memory.py --mode webhook --json

The bot is a real ``lapor-warga run`` subprocess (``python -m bot.cli run``, with
``--webhook`` in webhook mode) talking over HTTP to the fake Bot API (``fake_bot_api/``),
which runs in this process with the simulated people. Its database is a fresh SQLite file
or a database in a throwaway PostgreSQL cluster (``testkit/pgcluster.py``; fsync off:
nothing here measures commits).

Set-up (before the bot starts, through the registry's own functions): the province's
regions, synthetic households (``testkit/synthetic.py``) and one linked, consented resident
account per chat (``record_consent`` + ``link_account``, in English). Then every chat does
what a resident does to open a report: sends ``/lapor``, waits for "What do you want to
report?", presses "Birth" and waits for the form's first question. After that the form's
draft is in the database and the chat is idle; ``--concurrency`` chats (50) are at it at
once.

The bot process's memory is read from ``/proc/PID/status``: ``VmRSS`` (resident now),
``VmHWM`` (the peak so far) and ``RssAnon`` (the heap part of VmRSS), at start (polling or
webhook registered, idle), after each ``--at`` count of chats (1,000 and 5,000) and after
all of them (``--chats``, 10,000), each time once the last replies arrived and a second
passed; then after a full garbage collection (``gc.collect()``, asked for with SIGUSR1)
and after that plus glibc's ``malloc_trim(0)`` (SIGUSR2), which returns freed heap pages to
the system: what is left then is what the process really holds. The two signal handlers
are installed by the few lines this script runs ``bot.cli``'s ``main(["run"])`` with; the
bot is otherwise exactly ``lapor-warga run``. Each row also has the drafts counted in the
database (every chat must have one) and the load average: the machine is shared.

``--json`` prints ``{**run_info("chat_memory"), "rows": [...]}`` (``benchmarks/runinfo.py``)
instead of the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from form_steps import prepare  # noqa: E402
from runinfo import run_info  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from fake_bot_api import FakeBotAPI, Message, Person  # noqa: E402
from storage import db  # noqa: E402
from storage.models import Draft  # noqa: E402
from testkit.pgcluster import PgCluster, free_port  # noqa: E402

CHAT_BASE = 620_000_001  # Telegram ids of the simulated residents: CHAT_BASE + i
MENU = "What do you want to report?"
KIND = "Birth"
FIRST_QUESTION = "baby's full name"
REPLY_TIMEOUT = 60.0
WEBHOOK_SECRET = "chat-memory-webhook-secret-0123456789"
MIB = 1024 * 1024

# ``lapor-warga run`` (bot.cli.main) with two signal handlers: SIGUSR1 collects garbage,
# SIGUSR2 asks glibc to give freed heap back; each appends a line to $LW_MEMORY_SIGNALS.
RUN_BOT = """\
import ctypes, gc, signal, sys
def _done(what):
    with open(__import__("os").environ["LW_MEMORY_SIGNALS"], "a") as f:
        f.write(what + "\\n")
def _collect(*_):
    _done(f"gc {gc.collect()}")
def _trim(*_):
    _done(f"trim {ctypes.CDLL('libc.so.6').malloc_trim(0)}")
signal.signal(signal.SIGUSR1, _collect)
signal.signal(signal.SIGUSR2, _trim)
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


class MemoryAPI(FakeBotAPI):
    """The fake Bot API; a new or edited bot message wakes that chat's waiter only (the
    fake's shared change event would wake all 10,000)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: dict[int, asyncio.Event] = {}

    def _touch(self, chat_id: int) -> None:
        event = self.changed.get(chat_id)
        if event is not None:
            event.set()

    def _new_bot_message(self, person: Person, **fields: Any) -> Message:
        msg = super()._new_bot_message(person, **fields)
        self._touch(person.chat_id)
        return msg

    def _apply_edit(self, msg: Message, **changes: Any) -> dict[str, Any]:
        out = super()._apply_edit(msg, **changes)
        self._touch(msg.chat_id)
        return out

    async def expect(self, person: Person, fragment: str) -> Message:
        """The bot's message in this chat containing ``fragment``, once it is there."""
        event = self.changed[person.chat_id] = asyncio.Event()
        try:
            async with asyncio.timeout(REPLY_TIMEOUT):
                while True:
                    for msg in reversed(person.messages):
                        if fragment in msg.plain_text:
                            return msg
                    await event.wait()
                    event.clear()
        except TimeoutError:
            raise SystemExit(
                f"chat {person.chat_id}: no {fragment!r} in {REPLY_TIMEOUT:g} s:\n"
                + person.transcript()
            ) from None
        finally:
            self.changed.pop(person.chat_id, None)

    def forget(self) -> None:
        """Drop the fake's logs of every request and message (this process's memory, not
        the bot's; nothing the bot relies on is kept there)."""
        self.requests.clear()
        self.sent.clear()


# ---- set-up ------------------------------------------------------------------------------------


async def count_drafts(url: str) -> int:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(Draft))).scalar_one()
    finally:
        await engine.dispose()


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = workdir / "chat-memory.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite+aiosqlite:///{path}"
        return
    with PgCluster() as pg:
        yield pg.url("postgres")


# ---- the bot process ---------------------------------------------------------------------------


class BotProcess:
    """``lapor-warga run`` as a subprocess (see ``RUN_BOT``)."""

    def __init__(self, api: MemoryAPI, url: str, workdir: Path, mode: str) -> None:
        self.api = api
        self.mode = mode
        self.workdir = workdir
        self.signals = workdir / "signals.txt"
        self.signals.unlink(missing_ok=True)
        self.log_path = workdir / "bot.log"
        self.port = free_port()
        self.webhook_url = f"http://127.0.0.1:{self.port}/telegram"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE": api.base_url,
            "DATABASE_URL": url,
            "METRICS_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
            # Scripted people answer faster than anyone types: no per-user rate limit.
            "RATE_LIMIT_UPDATES": "100000",
            "OUTBOX_CHAT_RATE": "1000",
            "LW_MEMORY_SIGNALS": str(self.signals),
        }
        if mode == "webhook":
            self.env |= {
                "WEBHOOK_URL": self.webhook_url,
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_PORT": str(self.port),
            }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        args = [sys.executable, "-c", RUN_BOT, "run"]
        if self.mode == "webhook":
            args.append("--webhook")
        with self.log_path.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                *args, cwd=self.workdir, env=self.env, stdout=log, stderr=log
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.returncode is not None:
                raise SystemExit(f"the bot exited:\n{self.log_path.read_text()}")
            if self.mode == "webhook":
                return any(c.get("url") == self.webhook_url for c in self.api.calls("setWebhook"))
            return bool(self.api.calls("getUpdates"))

        async with asyncio.timeout(120):
            while True:
                if ready():
                    return
                await asyncio.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def status(self) -> dict[str, float]:
        """VmRSS, VmHWM and RssAnon of the bot process, in MiB."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                values[key] = int(rest.split()[0]) * 1024 / MIB
        return values

    async def signal(self, signum: int, what: str) -> str:
        """Send ``signum`` and wait for the handler's line in the signals file."""
        before = self.signals.read_text().count(what) if self.signals.exists() else 0
        assert self.process is not None
        self.process.send_signal(signum)
        async with asyncio.timeout(30):
            while True:
                lines = self.signals.read_text().splitlines() if self.signals.exists() else []
                done = [line for line in lines if line.startswith(what)]
                if len(done) > before:
                    return done[-1]
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextlib.asynccontextmanager
async def running(
    url: str, workdir: Path, mode: str
) -> AsyncIterator[tuple[MemoryAPI, BotProcess]]:
    api = MemoryAPI()
    await api.start()
    bot = BotProcess(api, url, workdir, mode)
    try:
        await bot.start()
        yield api, bot
    finally:
        await bot.stop()
        await api.stop()


# ---- the load ----------------------------------------------------------------------------------


async def open_form(api: MemoryAPI, person: Person) -> None:
    """/lapor, then the report type: the form's draft is in the database."""
    await person.send_text("/lapor")
    menu = await api.expect(person, MENU)
    await person.press(KIND, menu)
    await api.expect(person, FIRST_QUESTION)


async def open_forms(api: MemoryAPI, people: list[Person], concurrency: int) -> None:
    queue: asyncio.Queue[Person] = asyncio.Queue()
    for person in people:
        queue.put_nowait(person)

    async def worker() -> None:
        while not queue.empty():
            await open_form(api, queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def bench(backend: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with database(backend, workdir) as url:
        started = time.perf_counter()
        await prepare(url, args.chats, chat_base=CHAT_BASE, drafts=False)
        print(f"{backend}: set up {args.chats} linked residents in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
        async with running(url, workdir, args.mode) as (api, bot):

            async def row(stage: str, chats: int, seconds: float | None = None) -> None:
                await asyncio.sleep(1.0)  # the last replies' work finishes
                drafts = await count_drafts(url)
                memory = bot.status()
                rows.append(
                    {
                        "backend": backend,
                        "mode": args.mode,
                        "stage": stage,
                        "chats": chats,
                        "drafts": drafts,
                        "vm_rss_mib": round(memory["VmRSS"], 1),
                        "vm_hwm_mib": round(memory["VmHWM"], 1),
                        "rss_anon_mib": round(memory["RssAnon"], 1),
                        "chats_per_s": round(seconds, 1) if seconds is not None else None,
                        "load_average": [round(x, 2) for x in os.getloadavg()],
                    }
                )
                print(f"{backend} {stage}: {rows[-1]}", file=sys.stderr)
                if drafts != chats:
                    raise SystemExit(f"{drafts} drafts for {chats} chats")

            await row("start", 0)
            people = [
                api.user(CHAT_BASE + i, f"Warga {i}", language_code="en") for i in range(args.chats)
            ]
            done = 0
            for target in [*sorted(n for n in args.at if n < args.chats), args.chats]:
                began = time.perf_counter()
                await open_forms(api, people[done:target], args.concurrency)
                rate = (target - done) / (time.perf_counter() - began)
                done = target
                api.forget()
                await row(f"after {target:,} chats", target, rate)
            print(f"{backend}: {await bot.signal(signal.SIGUSR1, 'gc')}", file=sys.stderr)
            await row("after gc", done)
            print(f"{backend}: {await bot.signal(signal.SIGUSR2, 'trim')}", file=sys.stderr)
            await row("after gc + malloc_trim", done)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print("| backend | mode | stage | drafts | VmRSS MiB | VmHWM MiB | RssAnon MiB | chats/s "
          "| load |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        rate = "" if r["chats_per_s"] is None else f"{r['chats_per_s']:.1f}"
        load = " ".join(f"{x:.2f}" for x in r["load_average"])
        print(
            f"| {r['backend']} | {r['mode']} | {r['stage']} | {r['drafts']:,} "
            f"| {r['vm_rss_mib']:.1f} | {r['vm_hwm_mib']:.1f} | {r['rss_anon_mib']:.1f} "
            f"| {rate} | {load} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    parser.add_argument("--chats", type=int, default=10_000, help="chats in all (10,000)")
    parser.add_argument(
        "--at", default="1000,5000", help="also measure after this many chats (1000,5000)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="chats at once (50)")
    parser.add_argument("--workdir", type=Path, help="default: a temporary directory")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    args.at = [int(n) for n in args.at.split(",") if n.strip()]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]

    async def run_all(workdir: Path) -> list[dict[str, Any]]:
        rows = []
        for backend in backends:
            rows += await bench(backend, args, workdir)
        return rows

    info = run_info("chat_memory")  # the commit that runs (the tree may change meanwhile)
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        rows = asyncio.run(run_all(workdir))
    if args.json:
        print(json.dumps({**info, "rows": rows}, indent=2))
    else:
        print(f"commit {info['commit']}, {info['date']}, {info['machine']}")
        print_table(rows)


if __name__ == "__main__":
    main()
