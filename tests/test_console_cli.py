"""`lapor-warga console` and `lapor-warga run` with CONSOLE_PORT serve the console; a
SIGTERM stops them cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _login_page(port: int, within: float = 30.0) -> str:
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/login") as response:
                    if response.status == 200:
                        return await response.text()
            except aiohttp.ClientConnectionError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing answered on port {port}")
            await asyncio.sleep(0.2)


async def _spawn(args: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    full = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    full.update(PYTHONPATH=str(REPO), **env)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=cwd, env=full,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def _stop(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, _err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode()


@pytest.mark.slow
async def test_lapor_warga_console_serves_the_console(database_url, tmp_path) -> None:
    port = _free_port()
    proc = await _spawn(["console", "--port", str(port)], {"DATABASE_URL": database_url}, tmp_path)
    html = await _login_page(port)
    assert "/masuk" in html
    code, out = await _stop(proc)
    assert code == 0, out
    assert re.search(rf"console: http://127\.0\.0\.1:{port}/", out)


@pytest.mark.slow
async def test_run_serves_the_console_when_console_port_is_set(
    fake_api, database_url, tmp_path
) -> None:
    port = _free_port()
    proc = await _spawn(
        ["run"],
        {"DATABASE_URL": database_url, "BOT_TOKEN": fake_api.token,
         "TELEGRAM_API_BASE": fake_api.base_url, "CONSOLE_PORT": str(port)},
        tmp_path,
    )  # fmt: skip
    await _login_page(port)
    await fake_api.wait_polling(timeout=30)  # started: SIGTERM now stops it cleanly
    code, out = await _stop(proc)
    assert code == 0, out
