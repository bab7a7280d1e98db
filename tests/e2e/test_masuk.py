"""/masuk through the real bot: a reviewer gets a one-time link that signs them in to a
running web console; someone without a role gets none."""

from __future__ import annotations

import re

import aiohttp
from sqlalchemy import select

from console.app import ConsoleServer
from storage import db
from storage.models import ConsoleLoginCode
from testkit.harness import RunningBot
from tests.helpers.chat import LURAH_ID, SARI_ID, agree, reviewer, seed
from tests.helpers.console import NONCE, make_console

LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/login/([A-Za-z0-9_-]+)")


async def _sign_in(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as http:  # an IP host
        page = await http.get(url)
        nonce = NONCE.search(await page.text())
        assert nonce is not None
        response = await http.post(url, data={"nonce": nonce.group(1)})
        return response.status, await response.text()


async def test_masuk_sends_a_one_time_link_that_opens_the_console(
    fake_api, database_url, tmp_path
) -> None:
    engine = db.create_engine(database_url)
    server = ConsoleServer(make_console(db.make_sessionmaker(engine), tmp_path))
    port = await server.start("127.0.0.1", 0)
    running = RunningBot(fake_api, database_url, console_url=f"http://127.0.0.1:{port}")
    await running.start()
    try:
        await seed(running, tmp_path)
        lurah = await reviewer(fake_api, LURAH_ID, "Lurah")
        await lurah.send_text("/masuk")
        message = await lurah.expect("/login/")
        found = LINK.search(message.plain_text or "")
        assert found is not None and found.group(1) == f"http://127.0.0.1:{port}"
        code = found.group(2)
        async with running.session() as session:
            stored = (await session.execute(select(ConsoleLoginCode))).scalar_one()
        assert code not in stored.code_hash  # only its hash is kept
        url = found.group(0)
        status, html = await _sign_in(url)
        assert status == 200 and 'id="count"' in html  # the queue
        status, _html = await _sign_in(url)
        assert status == 403  # used once

        sari = fake_api.user(SARI_ID, "Sari", language_code="en")
        await sari.send_text("/masuk")
        await agree(sari)
        await sari.send_text("/masuk")
        await sari.expect("Only people with a role can sign in")
    finally:
        await running.stop()
        await server.stop()
        await engine.dispose()


async def test_masuk_without_console_url_says_so(running, fake_api, tmp_path) -> None:
    await seed(running, tmp_path)
    lurah = await reviewer(fake_api, LURAH_ID, "Lurah")
    await lurah.send_text("/masuk")
    await lurah.expect("not set up")
