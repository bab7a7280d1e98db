"""The webhook answers 401 to anything but the exact secret header, even bytes aiogram
cannot compare (a non-ASCII value was a 500 with a traceback)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from bot.factory import create_bot, create_dispatcher
from bot.settings import load_settings
from bot.webhook import webhook_app
from storage import db

SECRET = "rahasia-webhook-0123456789"


async def _raw_post(port: int, secret: bytes | None) -> tuple[int, bytes]:
    """One POST with the header exactly as ``secret``'s bytes (no client library checks)."""
    body = json.dumps({"update_id": 1}).encode()
    head = [
        b"POST /webhook HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Content-Type: application/json",
        b"Content-Length: " + str(len(body)).encode(),
        b"Connection: close",
    ]
    if secret is not None:
        head.append(b"X-Telegram-Bot-Api-Secret-Token: " + secret)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.fixture
async def webhook_port(fake_api, database_url: str):
    settings = load_settings(
        bot_token=fake_api.token,
        database_url=database_url,
        telegram_api_base=fake_api.base_url,
        webhook_url="https://lapor.example.org/webhook",
        webhook_secret=SECRET,
    )
    engine = db.create_engine(database_url)
    bot = create_bot(settings)
    runner = web.AppRunner(webhook_app(create_dispatcher(engine, settings), bot, settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()
    await bot.session.close()
    await engine.dispose()


@pytest.mark.parametrize(
    "secret",
    [
        None,
        b"",
        b"wrong",
        SECRET[:-1].encode(),
        (SECRET + "x").encode(),
        "rahasia-wébhook-0123456789".encode(),  # non-ASCII, as UTF-8
        b"rahasia-w\xe9bhook-0123456789",  # not even UTF-8
        SECRET.encode() + b"\xff",
    ],
)
async def test_anything_but_the_exact_secret_is_401(webhook_port: int, secret) -> None:
    status, answer = await _raw_post(webhook_port, secret)
    assert status == 401, answer
    assert b"Traceback" not in answer


async def test_the_exact_secret_is_taken(webhook_port: int) -> None:
    status, answer = await _raw_post(webhook_port, SECRET.encode())
    assert status == 200, answer
