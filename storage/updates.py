"""Telegram updates in the database: which were processed, one chat at a time, and
telling a database outage from other failures.

* ``processed`` / ``record_processed``: an update's id is written in the transaction
  that commits its work, so a redelivered update is recognised and not applied twice.
* ``chat_connection``: on PostgreSQL a connection holding a session-level advisory
  lock on the chat, so updates of one chat are processed one after the other even
  when several bot processes receive them; different chats lock different keys and
  run at the same time. The update's session is bound to this connection (one
  connection per update). On SQLite, which one process uses, there is no connection
  to hold: the caller's in-process lock is enough.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from storage.models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)

# The first key of the two-key advisory lock: the application's own namespace, so the
# chat locks cannot collide with advisory locks another program takes in the database.
# The second key is the chat id folded into 32 bits: two chats sharing a key only wait
# for each other, they are never processed at once out of order.
LOCK_NAMESPACE = 0x4C57  # "LW"
# Built once: every update of a chat takes and releases the lock.
_LOCK = text("SELECT pg_advisory_lock(:ns, :key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:ns, :key)")


class DatabaseUnavailable(Exception):
    """The database cannot be reached (stopped, restarting, network down)."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unreachable, not that a statement was wrong."""
    if isinstance(exc, DatabaseUnavailable | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, PoolTimeout):
        # Every connection of the pool stayed busy for pool_timeout (DB_POOL_SIZE): to the
        # person the same as an outage; Telegram delivers the update again later.
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, InterfaceError | OperationalError):
            # asyncpg: connection refused / closed mid-statement / "the database system is
            # starting up" (CannotConnectNowError) / admin shutdown.
            name = exc.orig.__class__.__name__ if exc.orig is not None else ""
            return name in _OUTAGE_NAMES or isinstance(exc.orig, OSError)
    return isinstance(exc, OSError)


_OUTAGE_NAMES = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
        "InterfaceError",
        "ConnectionRefusedError",
    }
)


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log a background job's failure: one line for a database outage (it repeats every
    few seconds until the database is back), the traceback for anything else."""
    if is_outage(exc):
        logger.error("%s: the database is unreachable (%s)", what, exc.__class__.__name__)
    else:
        logger.error("%s", what, exc_info=exc)


def _lock_key(chat_id: int) -> int:
    folded = (chat_id ^ (chat_id >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


@contextlib.asynccontextmanager
async def chat_connection(
    engine: AsyncEngine, chat_id: int
) -> AsyncIterator[AsyncConnection | None]:
    """Hold the chat's lock for the ``async with`` body (see the module docstring).

    Raises DatabaseUnavailable when no connection can be had."""
    if engine.dialect.name != "postgresql":
        yield None
        return
    try:
        conn = await engine.connect()
    except Exception as exc:
        if is_outage(exc):
            raise DatabaseUnavailable(str(exc.__class__.__name__)) from exc
        raise
    key = _lock_key(chat_id)
    locked = False
    try:
        try:
            # In autocommit: one round trip, no BEGIN/COMMIT around it (a session-level lock
            # outlives transactions anyway); then back to the default level for the
            # update's session, which starts its own transaction.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(_LOCK, {"ns": LOCK_NAMESPACE, "key": key})
            await conn.commit()  # SQLAlchemy's side only: nothing is sent in autocommit
            locked = True
            await conn.execution_options(isolation_level=conn.default_isolation_level)
        except Exception as exc:
            if is_outage(exc):
                raise DatabaseUnavailable(str(exc.__class__.__name__)) from exc
            raise
        yield conn
    finally:
        await _release(conn, key, locked)


async def _release(conn: AsyncConnection, key: int, locked: bool) -> None:
    try:
        if conn.in_transaction():
            await conn.rollback()
        if locked:
            await conn.execution_options(isolation_level="AUTOCOMMIT")  # as when locking
            await conn.execute(_UNLOCK, {"ns": LOCK_NAMESPACE, "key": key})
            await conn.commit()
    except Exception as exc:
        # A connection that may still hold the lock must not go back to the pool: closing
        # it for good ends the server session, and the lock with it.
        log.warning("chat lock not released cleanly (%s); dropping the connection",
                    exc.__class__.__name__)  # fmt: skip
        with contextlib.suppress(Exception):
            await conn.invalidate()
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


def was_processed(update_id: int | BindParameter[Any]) -> ColumnElement[bool]:
    """The check of :func:`processed` as an expression, to be read along with other things
    in one statement (``registry.accounts.account_for_update``); ``update_id`` may be a
    ``bindparam()``, for a statement built once."""
    return exists().where(ProcessedUpdate.update_id == update_id)


async def processed(session: AsyncSession, update_id: int) -> bool:
    return bool(await session.scalar(select(was_processed(update_id))))


_UPDATE_IDS = "processed_update_ids"  # session.info key


def processing(session: AsyncSession, update_ids: Iterable[int]) -> None:
    """The session does the work of these updates: its commit marks them processed."""
    session.info[_UPDATE_IDS] = list(update_ids)


# Built once; a Core INSERT, not an ORM object: no unit-of-work flush for it at the commit.
_RECORD = insert(ProcessedUpdate.__table__)


async def record_processed(session: AsyncSession) -> None:
    """Just before the session's commit: record its updates in the same transaction."""
    update_ids = session.info.pop(_UPDATE_IDS, ())
    if not update_ids:
        return
    now = utcnow()
    rows = [{"update_id": update_id, "processed_at": now} for update_id in update_ids]
    await session.execute(_RECORD, rows[0] if len(rows) == 1 else rows)


async def prune(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
    )
    return result.rowcount or 0
