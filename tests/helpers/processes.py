"""Bot processes for the multi-process and fault tests: ``lapor-warga run`` as a real
subprocess, talking over HTTP to the in-test fake Bot API, killable with SIGKILL; and the
world those tests share (one PostgreSQL database, ``shared_db``)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp

from fake_bot_api import FakeBotAPI
from registry.accounts import grant_role
from registry.households import import_households
from testkit.botenv import bot_env, webhook_url
from testkit.factories import FAMILIES, VILLAGE, registry_rows, write_csv
from testkit.pgcluster import free_port
from tests.helpers.chat import LURAH_ID, OFFICER_ID, RT_ID, link

SECRET = "test-webhook-secret-0123456789"


class BotProcess:
    def __init__(
        self,
        api: FakeBotAPI,
        database_url: str,
        workdir: Path,
        *,
        name: str = "bot",
        webhook: bool = True,
        **settings: object,
    ) -> None:
        self.api = api
        self.name = name
        self.webhook = webhook
        self.port = free_port()
        self.metrics_port = free_port()
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = bot_env(
            api,
            database_url,
            self.port,
            self.metrics_port,
            secret=SECRET,
            **({"log_level": "INFO", "outbox_poll_interval": 0.5} | settings),
        )
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return webhook_url(self.port)

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/healthz"

    async def start(self, timeout: float = 120.0) -> None:  # noqa: ASYNC109
        args = [sys.executable, "-m", "bot.cli", "run"] + (["--webhook"] if self.webhook else [])
        log = self.log_path.open("a")
        self.process = await asyncio.create_subprocess_exec(
            *args, cwd=self.workdir, env=self.env, stdout=log, stderr=log
        )
        log.close()
        async with asyncio.timeout(timeout):
            while await self.health() != 200:
                if self.process.returncode is not None:
                    raise AssertionError(f"{self.name} exited:\n{self.log()}")
                await asyncio.sleep(0.1)
        if self.webhook:  # registered once the server is up
            await self.api.wait_for(self._registered, timeout, "setWebhook")

    def _registered(self) -> bool:
        return any(call.get("url") == self.url for call in self.api.calls("setWebhook"))

    async def health(self) -> int | None:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(self.health_url, timeout=aiohttp.ClientTimeout(total=5)) as response,
            ):
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return await response.text()

    async def kill(self) -> None:
        """kill -9: no shutdown, no cleanup."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """SIGTERM, then wait for the exit; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout):
            return await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


async def seed_shared(shared_db, tmp_path) -> None:
    """The synthetic families; one RT head for both their RTs, the lurah, an officer."""
    async with shared_db.session() as session:
        await import_households(session, write_csv(tmp_path / "reg.csv", registry_rows(FAMILIES)))
        await grant_role(session, RT_ID, "rt", VILLAGE, rw=2, rt=3)
        await grant_role(session, RT_ID, "rt", VILLAGE, rw=2, rt=5)  # heads both RTs
        await grant_role(session, LURAH_ID, "lurah", VILLAGE)
        await grant_role(session, OFFICER_ID, "officer", "16.71")
        await session.commit()


async def two_bots(spawn, fake_api, **settings):
    a, b = spawn("bot-a", **settings), spawn("bot-b", **settings)
    await asyncio.gather(a.start(), b.start())
    fake_api.webhook_targets = [a.url, b.url]  # round robin, as a load balancer would
    return a, b


async def resident(fake_api, family, user_id: int):
    """A member of ``family`` who links in English."""
    person = fake_api.user(user_id, family.people[0].name.split()[0], language_code="en")
    await link(person, nik=family.people[0].nik, kk=family.kk)
    await person.expect("is linked to household")
    return person


async def until(check, timeout: float, interval: float = 0.05) -> None:  # noqa: ASYNC109
    """Poll ``check()`` (a coroutine function: the database, a health URL) until true;
    TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(interval)
