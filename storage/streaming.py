"""Reading a large result in constant memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable


async def stream_rows(
    session: AsyncSession, stmt: Executable, batch: int = 2000
) -> AsyncIterator[Row[Any]]:
    """The rows of ``stmt``, read through a server-side cursor ``batch`` rows at a time.

    Rows are fetched a batch per call into the driver, then handed out one by one (a
    fetch per row would cost a round trip through the async driver each)."""
    result = await session.stream(stmt.execution_options(yield_per=batch))
    try:
        async for partition in result.partitions(batch):
            for row in partition:
                yield row
    finally:
        await result.close()
