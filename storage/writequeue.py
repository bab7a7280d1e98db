"""SQLite's one writer at a time, queued in Python in arrival order.

SQLite lets one connection write at a time. Left to itself, a connection that finds the
write lock taken sleeps in SQLite's busy handler and polls again with growing sleeps (1,
2, 5, 10 ... 100 ms): a writer that has waited long sleeps long, a newcomer may grab the
lock between two of its polls, and at 10 busy chats the first write of an update waited up
to 1.2 s. Here a connection that is about to write first takes its turn in a FIFO queue
(an ``asyncio.Lock``: first come, first served), then starts its transaction with
``BEGIN IMMEDIATE``, which takes SQLite's write lock at once; the turn passes on when the
transaction's COMMIT or ROLLBACK has finished.

Which transactions queue: those that write, at their first write. The driver (Python's
``sqlite3`` under aiosqlite, left in its default "legacy" transaction control) runs the
statements before a transaction's first write outside any SQLite transaction, as it did
before this queue existed, so a reader never queues: the console's pages, the command
line's reports, ``/healthz``, a long export and the reads an update does before its first
write run beside the one writer (WAL). The first INSERT, UPDATE, DELETE, REPLACE, CREATE,
ALTER, DROP, SAVEPOINT, ANALYZE or REINDEX of a transaction waits for the turn and is
preceded by ``BEGIN IMMEDIATE``; what follows until COMMIT or ROLLBACK, reads included, is
that one transaction. (The driver would have begun a deferred transaction before the DML
anyway; ``IMMEDIATE`` takes the write lock at BEGIN, so the lock is never waited for in
the middle of a transaction, and SAVEPOINT and DDL are now inside the transaction they
belong to.) Not queued: a write inside a CTE sent as text (``WITH ... INSERT``: the driver
runs it on its own, and SQLite's busy handler serialises it), ``VACUUM`` (never inside a
transaction), connections in the driver's AUTOCOMMIT mode, and the backup (``sqlite3``
connections of its own).

The queue is per database file and per event loop: engines of one process on one file
(the sandbox's bot and console) share it; another event loop, another process (the
command line beside the bot) or another program writes with ``busy_timeout`` as before,
which stays the fallback across processes. PostgreSQL is not touched (its writers do not
share one lock).

Deadlocks. The turn is held by a connection from its first write to its COMMIT/ROLLBACK,
exactly as long as SQLite's own write lock would be, so no wait is added that SQLite would
not impose: a coroutine that holds the turn and waits for another connection's write
would wait on SQLite's lock too. Such a wait ends like SQLite's: after ``timeout``
seconds (the busy timeout) with ``database is locked``. A task that asks for the turn
through a second connection while it holds it through another (nested sessions that both
write) could never get it: that fails at once, with a message saying so. The chat lock is
always taken before the turn (the update's session opens inside it) and nothing holding
the turn waits for a chat lock. Background jobs (outbox sender, scheduler, draft sweep)
queue like updates and hold the turn only for their own short transactions; no code holds
a write transaction open across a Telegram call (replies are sent after the commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.util import await_only

_WRITES = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "ALTER", "DROP", "SAVEPOINT",
     "ANALYZE", "REINDEX"}
)  # fmt: skip
_HOLDS = "lapor_warga.write_queue"  # connection record .info: the queue this connection holds


class WriteQueue:
    """One writer at a time for one database in one event loop, in arrival order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._holder: object | None = None  # the DBAPI connection holding the turn
        self._task: asyncio.Task[Any] | None = None  # the task that took it
        self.waiting = 0
        # For the benchmarks: how many turns were taken, and how many found a queue.
        self.turns = 0
        self.queued = 0

    @property
    def held(self) -> bool:
        return self._holder is not None

    async def acquire(self, holder: object) -> None:
        task = asyncio.current_task()
        if self._holder is not None and task is not None and self._task is task:
            raise sqlite3.OperationalError(
                "database is locked: this task already holds the SQLite write queue "
                "through another connection (a nested session writing while the outer "
                "one has written and not committed would wait for ever)"
            )
        self.turns += 1
        if self._lock.locked() or self.waiting:
            self.queued += 1
        self.waiting += 1
        try:
            async with asyncio.timeout(self.timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked: no turn in the SQLite write queue within {self.timeout:g} s"
            ) from None
        finally:
            self.waiting -= 1
        self._holder, self._task = holder, task

    def release(self, holder: object) -> None:
        if self._holder is not holder:
            return
        self._holder = self._task = None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._lock.release()
        elif not self.loop.is_closed():  # a pool finalizer in another thread or loop
            self.loop.call_soon_threadsafe(self._lock.release)


# database file -> event loop -> queue. Loops are weak keys: a closed test loop's queue goes.
_QUEUES: dict[str, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WriteQueue]] = {}


def queue_for(database: str, timeout: float) -> WriteQueue:
    """The queue of ``database`` (a file path, or a key of one engine's memory database)
    in the running event loop."""
    loop = asyncio.get_running_loop()
    per_loop = _QUEUES.setdefault(database, weakref.WeakKeyDictionary())
    found = per_loop.get(loop)
    if found is None:
        found = per_loop[loop] = WriteQueue(loop, timeout)
    return found


def _database_key(engine: Engine) -> str:
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        return os.path.realpath(database)
    return f"engine:{id(engine)}"  # one engine's own memory (or URI) database


def _is_write(statement: str, context: Any) -> bool:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    head = statement.lstrip().split(None, 1)
    return bool(head) and head[0].upper() in _WRITES


def _in_transaction(dbapi_connection: Any) -> bool:
    driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    return bool(driver.in_transaction)


def _autocommit(dbapi_connection: Any) -> bool:
    # SQLAlchemy's AUTOCOMMIT isolation level sets the driver's isolation_level to None;
    # every statement then commits on its own and there is no transaction to queue.
    driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    return driver.isolation_level is None


def install(engine: Engine, *, timeout: float) -> None:
    """Queue the writes of ``engine`` (a SQLite engine; ``AsyncEngine.sync_engine``)."""
    key = _database_key(engine)

    def before_write(cursor: Any, statement: str, _params: Any, context: Any) -> None:
        if not _is_write(statement, context):
            return
        fairy = context.root_connection.connection
        info = fairy.info
        dbapi_connection = fairy.dbapi_connection
        if _HOLDS not in info:
            if _autocommit(dbapi_connection):
                return
            queue = queue_for(key, timeout)
            await_only(queue.acquire(dbapi_connection))
            info[_HOLDS] = (queue, dbapi_connection)
        # With the turn: begin, unless this transaction has begun already (its first write
        # came before, or a BEGIN was sent by hand). A COMMIT sent by hand as text ends
        # the SQLite transaction unseen: the next write begins again, in the same turn.
        if _in_transaction(dbapi_connection):
            return
        try:
            # On the statement's own cursor: one round trip to the connection's thread.
            cursor.execute("BEGIN IMMEDIATE")  # another process: busy_timeout waits
        except BaseException:
            _release(info)
            raise

    def do_execute(cursor: Any, statement: str, params: Any, context: Any) -> None:
        before_write(cursor, statement, params, context)

    def do_execute_no_params(cursor: Any, statement: str, context: Any) -> None:
        before_write(cursor, statement, None, context)

    dialect_events = engine.dialect
    event.listen(dialect_events, "do_execute", do_execute)
    event.listen(dialect_events, "do_execute_no_params", do_execute_no_params)
    event.listen(dialect_events, "do_executemany", do_execute)

    # SQLAlchemy's commit and rollback events come before the driver's COMMIT/ROLLBACK.
    # The turn must pass on only after it (the next writer's BEGIN IMMEDIATE would
    # otherwise meet the lock still taken and sleep in SQLite's busy handler), so the
    # listener ends the transaction itself; the driver's own call then finds no
    # transaction and does nothing. If ending it fails, the turn is kept and SQLAlchemy's
    # call raises the error as usual; the rollback or the pool's reset that follows
    # releases it.
    @event.listens_for(engine, "commit")
    def commit(conn: Connection) -> None:
        _end(conn, "commit")

    @event.listens_for(engine, "rollback")
    def rollback(conn: Connection) -> None:
        _end(conn, "rollback")

    @event.listens_for(engine, "reset")
    def reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
        if record is not None:
            _finish(record.info, dbapi_connection, "rollback")

    @event.listens_for(engine, "checkin")
    def checkin(_dbapi_connection: Any, record: Any) -> None:
        # The reset before it has rolled back (or the connection was dropped).
        _release(record.info if record is not None else None)

    # A connection closed or invalidated has no transaction left (SQLite rolls it back).
    @event.listens_for(engine, "invalidate")
    def invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        _release(record.info if record is not None else None)

    @event.listens_for(engine, "close")
    def close(_dbapi_connection: Any, record: Any) -> None:
        _release(record.info if record is not None else None)


def _end(conn: Connection, how: str) -> None:
    if conn.closed or conn.invalidated:
        return
    fairy = conn.connection
    _finish(fairy.info, fairy.dbapi_connection, how)


def _finish(info: dict[Any, Any], dbapi_connection: Any, how: str) -> None:
    if _HOLDS not in info:
        return
    with contextlib.suppress(Exception):
        if _in_transaction(dbapi_connection):
            getattr(dbapi_connection, how)()
    try:
        still_open = _in_transaction(dbapi_connection)
    except Exception:  # the connection is gone; so is its transaction
        still_open = False
    if not still_open:
        _release(info)


def _release(info: dict[Any, Any] | None) -> None:
    held: tuple[WriteQueue, Any] | None = info.pop(_HOLDS, None) if info is not None else None
    if held is not None:
        queue, holder = held
        queue.release(holder)
