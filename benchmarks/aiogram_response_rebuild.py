"""Minimal reproduction for an upstream report to aiogram: ``Response[T]`` is rebuilt by
pydantic after a garbage collection, on every Bot API call that follows.

    .venv/bin/python benchmarks/aiogram_response_rebuild.py            # aiogram + pydantic only
    .venv/bin/python benchmarks/aiogram_response_rebuild.py --json

What to report upstream (aiogram, ``aiogram/client/session/base.py``):

    ``BaseSession.check_response`` evaluates ``Response[method.__returning__]`` on every
    call. pydantic caches parametrized generic models in a ``WeakValueDictionary``
    (``pydantic._internal._generics._GENERIC_TYPES_CACHE``), and nothing in aiogram keeps a
    strong reference to the class it gets back, so the class lives only as long as no
    garbage collection runs (a model class sits in reference cycles, so only the cyclic
    GC frees it, and it does so at its next run). A busy bot collects garbage all the time, so most calls after a
    collection build ``Response[Message]`` again: schema generation, milliseconds of CPU
    each. In our bot (aiogram 3.31, pydantic 2.13) that was ~1.2 builds and ~3-6 ms of
    CPU per handled update, a quarter of the update's CPU. Suggested fix: build the model
    once per method class (e.g. a ``__response_model__`` class attribute set in
    ``TelegramMethod.__init_subclass__``, or a plain dict cache keyed by
    ``__returning__`` in ``BaseSession``) instead of on each call. Our workaround is a
    session subclass whose ``check_response`` keeps the class alive
    (``bot/factory.py``: ``KeptModelsSession``).

Searched on GitHub (aiogram's and pydantic's issues, 2026-12-03): no aiogram report of
this. pydantic's side is deliberate: the weak cache was introduced to fix a memory leak of
generic models (pydantic/pydantic#6672, fixed by #6681), so the fix belongs in aiogram.

What the script shows, with nothing but aiogram and pydantic: the time of
``Response[Message]`` lookups (cached: microseconds), then after ``gc.collect()`` (rebuilt:
milliseconds), the number of builds seen (by wrapping pydantic's
``create_generic_submodel``), and ``check_response`` itself timed the same two ways, then
with a strong reference held (the workaround: no rebuild)."""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time
from typing import Any

import aiogram
import pydantic
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import SendMessage
from aiogram.methods.base import Response
from aiogram.types import Message
from pydantic._internal import _generics

ROUNDS = 20
ANSWER = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 1, "type": "private"},
            "text": "hi",
        },
    }
)


class Builds:
    """Counts pydantic's builds of parametrized generic models."""

    def __init__(self) -> None:
        self.count = 0
        original = _generics.create_generic_submodel

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        _generics.create_generic_submodel = counted


def timed(call: Any, *, collect: bool) -> list[float]:
    """Milliseconds per call, ``gc.collect()`` before each (untimed) when ``collect``."""
    times = []
    for _ in range(ROUNDS):
        if collect:
            gc.collect()
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    builds = Builds()
    session = AiohttpSession()
    bot = Bot("42:TEST", session=session)
    method = SendMessage(chat_id=1, text="hi")

    def lookup() -> None:
        Response[Message]

    def check() -> None:
        session.check_response(bot, method, 200, ANSWER)

    rows: list[dict[str, Any]] = []

    def measure(name: str, call: Any, *, collect: bool) -> None:
        call()  # warm: the first build happens here
        before = builds.count
        times = timed(call, collect=collect)
        rows.append(
            {
                "case": name,
                "gc_collect_before_each": collect,
                "calls": ROUNDS,
                "builds": builds.count - before,
                "median_ms": round(statistics.median(times), 3),
                "max_ms": round(max(times), 3),
            }
        )

    measure("Response[Message]", lookup, collect=False)
    measure("Response[Message]", lookup, collect=True)
    measure("check_response(sendMessage)", check, collect=False)
    measure("check_response(sendMessage)", check, collect=True)
    kept = Response[Message]  # the workaround: a strong reference
    measure("check_response(sendMessage), Response[Message] held", check, collect=True)
    del kept

    if args.json:
        try:  # this repository's header (commit, machine, load); the script runs without it
            from runinfo import run_info  # type: ignore[import-not-found]

            info = run_info("aiogram_response_rebuild")
        except ImportError:
            info = {"benchmark": "aiogram_response_rebuild"}
        versions = {
            "aiogram": aiogram.__version__,
            "pydantic": pydantic.__version__,
            "python": platform.python_version(),
        }
        print(json.dumps({**info, **versions, "rows": rows}, indent=2))
        return
    print(
        f"aiogram {aiogram.__version__}, pydantic {pydantic.__version__}; {ROUNDS} calls per case\n"
    )
    print("| case | gc.collect() before each call | pydantic builds | median ms | max ms |")
    print("|---|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['case']} | {'yes' if row['gc_collect_before_each'] else 'no'} "
            f"| {row['builds']} | {row['median_ms']:.3f} | {row['max_ms']:.3f} |"
        )


if __name__ == "__main__":
    main()
