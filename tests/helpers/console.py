"""The web console over real HTTP (aiohttp's test server) on the test database."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console.app import create_app
from console.evidence import EvidenceCache
from console.web import Console
from registry import signin, workflow
from registry.accounts import ensure_account
from registry.households import household_by_kk
from registry.policy import DEFAULT_POLICY
from storage.models import Report
from testkit.factories import SARI
from tests.helpers.world import account

TOKEN = "123456:TEST-fake-token"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def make_console(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path, *, api_base: str = "http://127.0.0.1:9",
    public_url: str = "http://127.0.0.1", cache_bytes: int = 10 * 1024 * 1024,
) -> Console:  # fmt: skip
    return Console(
        sessionmaker=sessionmaker, policy=DEFAULT_POLICY, bot_token=TOKEN,
        bot_username="lapor_warga_bot", public_url=public_url, default_locale="id",
        evidence=EvidenceCache(tmp_path / "cache", cache_bytes, api_base, TOKEN),
    )  # fmt: skip


async def client_for(console: Console) -> TestClient:
    client = TestClient(TestServer(create_app(console)))
    await client.start_server()
    return client


async def login_code(sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int) -> str:
    async with sessionmaker() as session:
        code = await signin.new_login_code(session, await account(session, telegram_id, roles=True))
        await session.commit()
    return code


async def sign_in(client: TestClient, code: str) -> ClientResponse:
    """Open the link, press the button; the response after the redirect."""
    page = await client.get(f"/login/{code}")
    assert page.status == 200, await page.text()
    nonce = NONCE.search(await page.text())
    assert nonce is not None
    return await client.post(f"/login/{code}", data={"nonce": nonce.group(1)})


async def signed_in(
    client: TestClient, sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int
) -> None:
    response = await sign_in(client, await login_code(sessionmaker, telegram_id))
    assert response.status == 200 and str(response.url.path) == "/", await response.text()


async def csrf_of(client: TestClient, path: str = "/") -> str:
    found = CSRF.search(await (await client.get(path)).text())
    assert found is not None
    return found.group(1)


def widget_data(telegram_id: int, *, token: str = TOKEN, auth_date: int | None = None,
                **extra: str) -> dict[str, str]:  # fmt: skip
    """What the Telegram Login Widget sends, signed with ``token``."""
    data = {"id": str(telegram_id), "first_name": "Petugas", "username": "petugas",
            "auth_date": str(auth_date if auth_date is not None else int(time.time())), **extra}  # fmt: skip
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    key = hashlib.sha256(token.encode()).digest()
    data["hash"] = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    return data


async def birth_report(session: AsyncSession, *, reporter_id: int = 100, **kwargs: Any) -> Report:
    reporter = await ensure_account(session, reporter_id)
    household = await household_by_kk(session, SARI.kk)
    assert household is not None
    mother = household.members[1]
    report = await workflow.submit_report(
        session, kind="birth", household=household, reporter=reporter,
        payload={"name": "Raka", "sex": "M", "birth_date": "2026-10-01", "mother": str(mother.id),
                 "mother_name": mother.name, **kwargs.pop("payload", {})},
        **kwargs,
    )  # fmt: skip
    await session.commit()
    return report
