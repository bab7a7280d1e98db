"""The console administrator's pages over HTTP: role grants of the area and the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from registry.accounts import grant_role
from storage import db
from storage.models import AuditEntry, RoleGrant
from testkit.factories import VILLAGE
from tests.helpers.console import client_for, csrf_of, make_console, signed_in
from tests.helpers.world import registry_world

RT, LURAH, ADMIN, FAR_ADMIN = 1, 3, 8, 9


@pytest.fixture
async def world(engine, tmp_path):
    maker = db.make_sessionmaker(engine)
    async with maker() as session:
        await registry_world(session, tmp_path, rt={RT: [(2, 3)]}, lurah=[LURAH])
        await grant_role(session, ADMIN, "admin", "16.71")
        await grant_role(session, FAR_ADMIN, "admin", "16.72")
        await session.commit()
    client = await client_for(make_console(maker, tmp_path))
    yield maker, client
    await client.close()


async def _grants(maker, telegram_id: int) -> list[RoleGrant]:
    from registry.accounts import account_by_telegram_id

    async with maker() as session:
        account = await account_by_telegram_id(session, telegram_id)
        if account is None:
            return []
        await session.refresh(account, ["roles"])
        return list(account.roles)


async def test_only_an_admin_opens_roles_and_audit(world) -> None:
    maker, client = world
    await signed_in(client, maker, LURAH)
    assert "/peran" not in await (await client.get("/")).text()
    assert (await client.get("/peran")).status == 403
    assert (await client.get("/audit")).status == 403
    csrf = await csrf_of(client)
    response = await client.post(
        "/peran/beri",
        data={"csrf": csrf, "telegram_id": "55", "role": "officer", "region": "16.71"},
    )
    assert response.status == 403 and await _grants(maker, 55) == []


async def test_an_admin_grants_and_revokes_within_the_area_only(world) -> None:
    maker, client = world
    await signed_in(client, maker, ADMIN)
    html = await (await client.get("/peran")).text()
    assert 'id="grants"' in html and VILLAGE in html
    csrf = await csrf_of(client, "/peran")
    made = await client.post(
        "/peran/beri",
        data={"csrf": csrf, "telegram_id": "70", "role": "operator", "region": VILLAGE},
    )
    assert made.status == 200
    assert [(g.role, g.region_code) for g in await _grants(maker, 70)] == [("operator", VILLAGE)]
    far = await client.post(
        "/peran/beri",
        data={"csrf": csrf, "telegram_id": "71", "role": "officer", "region": "16.72"},
    )
    assert far.status == 403 and await _grants(maker, 71) == []
    wrong_level = await client.post(
        "/peran/beri",
        data={"csrf": csrf, "telegram_id": "72", "role": "operator", "region": "16.71"},
    )
    assert wrong_level.status == 400 and await _grants(maker, 72) == []
    # Revoking the RT head's grant; another admin's grant or one elsewhere is not reachable.
    rt_grant = (await _grants(maker, RT))[0]
    far_grant = (await _grants(maker, FAR_ADMIN))[0]
    assert (await client.post(f"/peran/{far_grant.id}/cabut", data={"csrf": csrf})).status == 404
    assert (await client.post(f"/peran/{rt_grant.id}/cabut", data={"csrf": csrf})).status == 200
    assert await _grants(maker, RT) == []
    async with maker() as session:
        entries = (await session.execute(select(AuditEntry))).scalars().all()
    actions = {(e.action, e.actor) for e in entries if e.action.startswith("role.")}
    assert actions == {("role.grant", "console"), ("role.revoke", "console")}
    html = await (await client.get("/audit")).text()
    assert "role.revoke" in html and "console.sign_in" in html


async def test_the_audit_page_keeps_to_the_admins_area(world) -> None:
    maker, client = world
    await signed_in(client, maker, LURAH)  # a sign-in in 16.71
    client.session.cookie_jar.clear()
    await signed_in(client, maker, FAR_ADMIN)  # the admin of 16.72
    html = await (await client.get("/audit")).text()
    assert html.count("console.sign_in") == 1  # their own, not the lurah's


async def test_bulk_invitations_print_qr_codes_that_grant_the_rt(world) -> None:
    from aiohttp import FormData

    from registry.accounts import ensure_account
    from registry.invites import redeem_invite
    from storage.models import Invite

    maker, client = world
    await signed_in(client, maker, ADMIN)
    csrf = await csrf_of(client, "/peran/undangan")

    def upload(text: str) -> FormData:
        form = FormData()
        form.add_field("csrf", csrf)
        form.add_field("region", VILLAGE)
        form.add_field("days", "7")
        form.add_field("file", text.encode(), filename="rt.csv", content_type="text/csv")
        return form

    bad = await client.post(
        "/peran/undangan", data=upload("rw,rt,name\n2,4,Pak Joko\nx,5,Bu Ani\n")
    )
    assert bad.status == 400 and "3" in await bad.text()
    async with maker() as session:
        assert (await session.execute(select(Invite))).scalars().all() == []
    made = await client.post(
        "/peran/undangan", data=upload("rw,rt,name\n2,4,Pak Joko\n2,6,<b>Bu Ani</b>\n")
    )
    html = await made.text()
    assert made.status == 200 and html.count("<svg") == 2
    assert "&lt;b&gt;Bu Ani&lt;/b&gt;" in html  # a name is text, not markup
    codes = re.findall(r"https://t\.me/lapor_warga_bot\?start=([A-Za-z0-9_-]+)", html)
    assert len(set(codes)) == 2
    async with maker() as session:
        joko = await ensure_account(session, 80)
        grant = await redeem_invite(session, joko, codes[0])
        await session.commit()
    assert (grant.role, grant.region_code, grant.rw, grant.rt) == ("rt", VILLAGE, 2, 4)
