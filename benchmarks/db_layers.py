"""Where a form step's CPU goes below HTTP: the same step through five layers.

    .venv/bin/python benchmarks/db_layers.py                    # both backends
    .venv/bin/python benchmarks/db_layers.py --backend sqlite --updates 3000 --json

``form_steps.py`` compares the whole bot with a bare aiogram echo bot over HTTP. This script
takes HTTP and the fake Bot API away and runs the form step of ``form_steps.py`` (a birth
date typed, then « Back pressed; repeated) for one resident, one update after the other,
on a durable database, in five ways:

``echo, aiogram dispatch``
    ``form_steps.py``'s echo bot (a bare ``Dispatcher``, the same Bot API calls) fed the
    same updates with ``Dispatcher.feed_update``; the Bot API is answered in the process
    (:class:`LocalSession`: no HTTP, no JSON). aiogram's own cost per update.
``product, aiogram dispatch``
    The bot's real dispatcher (``bot.factory.create_dispatcher``: every middleware, the
    router, the handlers) fed the same way. Minus the echo row: what the bot adds above
    the Bot API's transport.
``product``
    What the bot runs for the update below aiogram, with the bot's own functions: the chat
    lock (PostgreSQL, ``storage.updates.chat_connection``), the update's session,
    ``registry.accounts.account_for_update``, ``flows.app.run`` with ``flows.app.message``
    or ``flows.app.button`` (the form engine, the registry reads, the rendering of the next
    question), ``storage.updates.record_processed`` and the commit.
``driver via SQLAlchemy``
    The very SQL statements and parameters the product step sent (recorded from the
    engine's ``before_cursor_execute`` event), replayed with
    ``AsyncConnection.exec_driver_sql`` on the same engine: SQLAlchemy's pool, greenlet
    bridge and dialect adapter, but no statement building, compilation or ORM.
``bare driver``
    The same statements through ``aiosqlite`` / ``asyncpg`` directly, each update in its
    own transaction like the product's (the PostgreSQL chat lock and unlock outside it).

The replay's update ids are fresh ones (every parameter equal to the recorded update id is
replaced), so the idempotency check and the ``processed_updates`` insert do the same work
as in the product; the draft's revision numbers the recorded statements carry stay valid
on replay (the step's save writes an absolute revision the next press then claims).

Reported per layer: wall-clock ms per update (one update at a time: its latency), CPU ms
per update of this process (all threads: the event loop's and aiosqlite's) and, on
PostgreSQL, of the server's processes. The rows subtract: product - driver via SQLAlchemy
= building statements, the ORM, the form logic and rendering; driver via SQLAlchemy -
bare driver = SQLAlchemy's plumbing. With ``--echo-ms``, a bare aiogram echo bot's CPU per
update over HTTP (``form_steps.py``'s echo column, same machine), each row also shows the
form/echo ratio a CPU-bound bot could at best reach if its update cost that row's CPU on
top of the echo bot's: ``echo / (echo + row)`` (for the two dispatch rows the echo bot's
aiogram cost is then counted twice: read them by difference). ``--json`` prints one
document: ``run_info`` and the median row per backend and layer, and every run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiosqlite  # noqa: E402
import asyncpg  # noqa: E402
from aiogram import Bot, Dispatcher, F  # noqa: E402
from aiogram.client.session.base import BaseSession  # noqa: E402
from aiogram.methods import AnswerCallbackQuery, EditMessageText, GetMe, SendMessage  # noqa: E402
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User  # noqa: E402
from form_steps import (  # noqa: E402
    BACK,
    CHAT_BASE,
    DATE_PROMPT,
    _keyboard,
    _pg_server_cpu,
    database,
    percentile,
    prepare,
    reset_drafts,
    run_backends,
)
from runinfo import run_info  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bot.factory import create_dispatcher  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from flows import app  # noqa: E402
from flows.io import Ctx, Incoming  # noqa: E402
from locales import local_today, use_locale  # noqa: E402
from registry.accounts import account_for_update  # noqa: E402
from storage import db  # noqa: E402
from storage.updates import chat_connection, processing, record_processed  # noqa: E402

LOCK = ("pg_advisory_lock", "pg_advisory_unlock")
LAYERS = (
    "echo, aiogram dispatch",
    "product, aiogram dispatch",
    "product",
    "driver via SQLAlchemy",
    "bare driver",
)
BOT_ID = 123456
TOKEN = f"{BOT_ID}:db-layers"


@dataclass
class Recorded:
    """One update's statements, in order, with the update id they carry."""

    update_id: int
    statements: list[tuple[str, Any]]


@dataclass
class LayerRow:
    backend: str
    layer: str
    updates: int
    wall_ms: float
    cpu_ms: float
    server_cpu_ms: float | None
    p50_ms: float
    p95_ms: float
    statements: float


class Product:
    """The form step as the bot runs it below aiogram (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.engine = db.create_engine(url)
        self.sessionmaker = db.make_sessionmaker(engine=self.engine)
        self.back: str | None = None  # the « Back button's data from the last reply
        self.day = 0

    async def step(self, update_id: int) -> None:
        chat = CHAT_BASE
        async with chat_connection(self.engine, chat) as conn:
            opened = self.sessionmaker(bind=conn) if conn else self.sessionmaker()
            async with opened as session:
                done, account = await account_for_update(session, chat, update_id)
                assert not done and account is not None
                processing(session, [update_id])
                with use_locale(account.locale):
                    if self.back is None:  # type the date
                        self.day = self.day % 3 + 3
                        text = (local_today() - timedelta(days=self.day)).strftime("%d/%m/%Y")
                        incoming = Incoming(user_id=chat, chat_id=chat, text=text)
                        ctx = Ctx(session=session, incoming=incoming, account=account)
                        outcome = await app.run(ctx, app.message)
                        self.back = next(
                            (b.data for r in outcome.replies for row in r.buttons for b in row
                             if b.text == BACK), None
                        )  # fmt: skip
                        if self.back is None:
                            raise SystemExit(f"no « Back: {[r.text for r in outcome.replies]}")
                    else:  # press « Back
                        data, self.back = self.back, None
                        incoming = Incoming(user_id=chat, chat_id=chat, callback=data)
                        ctx = Ctx(session=session, incoming=incoming, account=account)
                        outcome = await app.run(ctx, lambda ctx: app.button(ctx, data))
                        assert "When was the baby born" in outcome.replies[-1].text
                await record_processed(session)
                await session.commit()


class LocalSession(BaseSession):
    """aiogram's session answering every Bot API call in the process, without HTTP or
    JSON: a sent or edited message comes back as the ``Message`` Telegram would return,
    anything else as ``True``. Keeps the last message sent."""

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)
        self.last: Message | None = None

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109 (aiogram's signature)
        if isinstance(method, SendMessage | EditMessageText):
            markup = method.reply_markup
            self.last = Message(
                message_id=next(self.ids),
                date=datetime.now(UTC),
                chat=Chat(id=int(method.chat_id or CHAT_BASE), type="private"),
                from_user=User(id=BOT_ID, is_bot=True, first_name="Bot"),
                text=method.text,
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
            )
            return self.last
        if isinstance(method, GetMe):
            return User(id=BOT_ID, is_bot=True, first_name="Bot", username="lapor_bench_bot")
        assert not isinstance(method, AnswerCallbackQuery) or method.callback_query_id
        return True

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError
        yield b""

    async def close(self) -> None:
        pass


class Dispatch:
    """A Telegram update fed to a dispatcher (``Dispatcher.feed_update``), the Bot API
    answered by :class:`LocalSession`: aiogram's routing and middlewares, no HTTP."""

    def __init__(self, dp: Dispatcher) -> None:
        self.dp = dp
        self.bot = Bot(TOKEN, session=LocalSession())
        self.user = User(id=CHAT_BASE, is_bot=False, first_name="Warga 0", language_code="en")
        self.chat = Chat(id=CHAT_BASE, type="private")
        self.day = 0
        self.typed = False

    async def step(self, update_id: int) -> None:
        session = self.bot.session
        assert isinstance(session, LocalSession)
        now = datetime.now(UTC)
        if not self.typed:
            self.day = self.day % 3 + 3
            text = (local_today() - timedelta(days=self.day)).strftime("%d/%m/%Y")
            message = Message(
                message_id=update_id, date=now, chat=self.chat, from_user=self.user, text=text
            )
            update = Update(update_id=update_id, message=message)
        else:
            shown = session.last
            assert shown is not None and shown.reply_markup is not None
            data = next(
                b.callback_data for row in shown.reply_markup.inline_keyboard for b in row
                if b.text == BACK
            )  # fmt: skip
            query = CallbackQuery(
                id=str(update_id), from_user=self.user, chat_instance="1", data=data,
                message=shown,
            )  # fmt: skip
            update = Update(update_id=update_id, callback_query=query)
        self.typed = not self.typed
        await self.dp.feed_update(self.bot, update)
        assert session.last is not None
        expected = "Who is the mother" if self.typed else "When was the baby born"
        assert expected in (session.last.text or ""), session.last.text


def echo_dispatcher(bot: Bot) -> Dispatcher:
    """``form_steps.py``'s echo bot: the same Bot API calls as a form step, nothing else."""
    dp = Dispatcher()

    async def on_message(message: Message) -> None:
        await bot.send_message(message.chat.id, "Who is the mother?", reply_markup=_keyboard())

    async def on_button(query: CallbackQuery) -> None:
        await query.answer()
        await bot.send_message(query.from_user.id, DATE_PROMPT, reply_markup=_keyboard())

    dp.message.register(on_message)
    dp.callback_query.register(on_button, F.data)
    return dp


def record(engine: Any, into: list[tuple[str, Any]]) -> Any:
    def before(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        into.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return lambda: event.remove(engine.sync_engine, "before_cursor_execute", before)


def fresh(parameters: Any, old: int, new: int) -> Any:
    """The recorded parameters with the recorded update id replaced by a fresh one."""
    if isinstance(parameters, dict):
        return {k: new if v == old else v for k, v in parameters.items()}
    return tuple(new if v == old and isinstance(v, int) else v for v in parameters)


def split(statements: list[tuple[str, Any]]) -> tuple[list, list, list]:
    """(chat lock, the transaction's statements, chat unlock) of one update."""
    lock = [s for s in statements if LOCK[0] + "(" in s[0]]
    unlock = [s for s in statements if LOCK[1] in s[0]]
    body = [s for s in statements if s not in lock and s not in unlock]
    return lock, body, unlock


async def replay_sqlalchemy(engine: Any, update: Recorded, update_id: int) -> None:
    lock, body, unlock = split(update.statements)
    conn_cm = engine.connect()
    async with conn_cm as conn:
        if lock:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for sql, params in lock:
                await conn.exec_driver_sql(sql, params)
            await conn.commit()
            await conn.execution_options(isolation_level=conn.default_isolation_level)
        for sql, params in body:
            await conn.exec_driver_sql(sql, fresh(params, update.update_id, update_id))
        await conn.commit()
        if unlock:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for sql, params in unlock:
                await conn.exec_driver_sql(sql, params)
            await conn.commit()


class BareSqlite:
    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.conn = await aiosqlite.connect(self.path, isolation_level=None)
        await self.conn.execute("PRAGMA journal_mode=WAL")
        await self.conn.execute("PRAGMA synchronous=FULL")
        await self.conn.execute("PRAGMA foreign_keys=ON")

    async def close(self) -> None:
        assert self.conn is not None
        await self.conn.close()

    async def step(self, update: Recorded, update_id: int) -> None:
        assert self.conn is not None
        _, body, _ = split(update.statements)
        await self.conn.execute("BEGIN")
        for sql, params in body:
            cursor = await self.conn.execute(sql, fresh(params, update.update_id, update_id))
            await cursor.fetchall()
            await cursor.close()
        await self.conn.execute("COMMIT")


class BarePostgres:
    def __init__(self, url: str) -> None:
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        self.conn: asyncpg.Connection | None = None

    async def open(self) -> None:
        self.conn = await asyncpg.connect(self.dsn)

    async def close(self) -> None:
        assert self.conn is not None
        await self.conn.close()

    async def step(self, update: Recorded, update_id: int) -> None:
        conn = self.conn
        assert conn is not None
        lock, body, unlock = split(update.statements)
        for sql, params in lock:
            await conn.fetch(sql, *params)
        async with conn.transaction():
            for sql, params in body:
                await conn.fetch(sql, *fresh(params, update.update_id, update_id))
        for sql, params in unlock:
            await conn.fetch(sql, *params)


async def timed(
    backend: str,
    layer: str,
    step: Any,
    n: int,
    pg_data: Path | None,
    statements: float,
) -> LayerRow:
    latencies: list[float] = []
    server0 = _pg_server_cpu(pg_data)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(n):
        started = time.perf_counter()
        await step(i)
        latencies.append((time.perf_counter() - started) * 1000)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    server1 = _pg_server_cpu(pg_data)
    server = (server1 - server0) * 1000 / n if server0 is not None and server1 else None
    return LayerRow(
        backend=backend,
        layer=layer,
        updates=n,
        wall_ms=(wall1 - wall0) * 1000 / n,
        cpu_ms=(cpu1 - cpu0) * 1000 / n,
        server_cpu_ms=server,
        p50_ms=percentile(latencies, 0.5),
        p95_ms=percentile(latencies, 0.95),
        statements=statements,
    )


async def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[LayerRow]:
    rows: list[LayerRow] = []
    with database(backend, workdir) as (url, pg_data, _description):
        await prepare(url, 1)
        ids = iter(range(50_000_001, 10**9))
        product = Product(url)
        recorded: list[Recorded] = []
        try:
            # Warm up (imports, caches, prepared statements), then record one cycle.
            for _ in range(args.warmup):
                await product.step(next(ids))
            for _ in range(2):
                update_id = next(ids)
                statements: list[tuple[str, Any]] = []
                stop = record(product.engine, statements)
                try:
                    await product.step(update_id)
                finally:
                    stop()
                recorded.append(Recorded(update_id, statements))
            per_update = sum(len(r.statements) for r in recorded) / len(recorded)

            async def product_step(_i: int) -> None:
                await product.step(next(ids))

            async def replay_step(i: int) -> None:
                await replay_sqlalchemy(product.engine, recorded[i % 2], next(ids))

            settings = load_settings(
                bot_token=TOKEN, database_url=url, rate_limit_updates=100_000,
                outbox_chat_rate=1000.0,
            )  # fmt: skip
            real = Dispatch(create_dispatcher(product.engine, settings))
            echo = Dispatch(Dispatcher())
            echo.dp = echo_dispatcher(echo.bot)
            for _ in range(args.warmup):
                await real.step(next(ids))
                await echo.step(next(ids))
            await reset_drafts(url)
            real.typed = False

            async def real_step(_i: int) -> None:
                await real.step(next(ids))

            async def echo_step(_i: int) -> None:
                await echo.step(next(ids))

            for repeat in range(args.repeats):
                rows.append(await timed(backend, LAYERS[0], echo_step, args.updates, pg_data, 0))
                rows.append(
                    await timed(backend, LAYERS[1], real_step, args.updates, pg_data, per_update)
                )
                await reset_drafts(url)
                real.typed = False
                rows.append(
                    await timed(backend, LAYERS[2], product_step, args.updates, pg_data, per_update)
                )
                await reset_drafts(url)
                product.back = None
                rows.append(
                    await timed(backend, LAYERS[3], replay_step, args.updates, pg_data, per_update)
                )
                await reset_drafts(url)
                bare = (
                    BareSqlite(url.split("///", 1)[1]) if backend == "sqlite" else BarePostgres(url)
                )
                await bare.open()
                try:

                    async def bare_step(i: int, bare: Any = bare) -> None:
                        await bare.step(recorded[i % 2], next(ids))

                    rows.append(
                        await timed(
                            backend, LAYERS[4], bare_step, args.updates, pg_data, per_update
                        )
                    )
                finally:
                    await bare.close()
                await reset_drafts(url)
                print(f"{backend}: repeat {repeat + 1} done", file=sys.stderr)
        finally:
            await product.engine.dispose()
    return rows


def summarise(rows: list[LayerRow]) -> list[LayerRow]:
    """The median row of the repeats, per backend and layer."""
    out = []
    for backend in dict.fromkeys(r.backend for r in rows):
        for layer in LAYERS:
            same = sorted(
                (r for r in rows if r.backend == backend and r.layer == layer),
                key=lambda r: r.cpu_ms + (r.server_cpu_ms or 0),
            )
            if same:
                out.append(same[len(same) // 2])
    return out


def print_table(rows: list[LayerRow], echo_ms: float | None) -> None:
    head = (
        "| backend | layer | SQL statements/upd | wall ms/upd | p50 ms | p95 ms "
        "| CPU ms/upd (+ PG server) |"
    )
    if echo_ms:
        head += f" best form/echo with echo at {echo_ms:g} ms |"
    print(head)
    print("|---|---|---:|---:|---:|---:|---:|" + ("---:|" if echo_ms else ""))
    for r in rows:
        cpu = f"{r.cpu_ms:.2f}" + (
            f" (+ {r.server_cpu_ms:.2f})" if r.server_cpu_ms is not None else ""
        )
        line = (
            f"| {r.backend} | {r.layer} | {r.statements:.1f} | {r.wall_ms:.2f} | "
            f"{r.p50_ms:.2f} | {r.p95_ms:.2f} | {cpu} |"
        )
        if echo_ms:
            line += f" {echo_ms / (echo_ms + r.cpu_ms + (r.server_cpu_ms or 0)):.2f} |"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--updates", type=int, default=2000, help="updates per layer and run")
    parser.add_argument("--warmup", type=int, default=200, help="product updates before")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each layer (median)")
    parser.add_argument(
        "--echo-ms",
        type=float,
        help="a bare aiogram echo bot's CPU ms per update on this machine (form_steps.py): "
        "adds the best form/echo ratio each layer allows",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    if args.updates < 2 or args.updates % 2:
        parser.error("--updates must be an even number (a step is a typed date and a press)")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    workdir = Path(tempfile.mkdtemp(prefix="lw-db-layers-"))

    try:
        rows = run_backends(bench_backend, backends, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    best = summarise(rows)
    if args.json:
        document = {
            **run_info("db_layers"),
            "echo_cpu_ms": args.echo_ms,
            "rows": [vars(r) for r in best],
            "runs": [vars(r) for r in rows],
        }
        print(json.dumps(document, indent=2))
        return
    print(f"## A form step below HTTP, five layers ({run_info('db_layers')['date']})\n")
    info = run_info("db_layers")
    print(f"Machine: {info['machine']}; commit {info['commit']}.\n")
    print(
        f"{args.updates} updates per run (a date typed, « Back pressed, repeated), one at a "
        f"time, median of {args.repeats} runs by CPU.\n"
    )
    print_table(best, args.echo_ms)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
