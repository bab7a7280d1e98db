"""Reviewer invitations, role listing and revoking: the registry functions and the CLI."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from locales import set_default_locale
from registry.accounts import ensure_account, grant_role
from registry.errors import DomainError
from registry.invites import (
    InviteError,
    create_invite,
    list_grants,
    redeem_invite,
    revoke_grant,
)
from storage import db
from storage.models import AuditEntry, Invite, RoleGrant, utcnow
from testkit.factories import VILLAGE

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


@pytest.fixture(autouse=True)
def _english() -> None:
    set_default_locale("en")  # the conftest's fixture sets Indonesian back afterwards


async def _audit(session: AsyncSession) -> list[AuditEntry]:
    return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


async def test_an_invitation_stores_only_the_hash_of_its_code(session) -> None:
    officer = await ensure_account(session, 9001)
    await grant_role(session, 9001, "officer", "16.71")
    invite, code = await create_invite(session, "rt", VILLAGE, 2, 3, created_by=officer)
    await session.commit()
    assert len(code) == 22 and re.fullmatch(r"[A-Za-z0-9_-]+", code)
    assert invite.code_hash == hashlib.sha256(code.encode()).hexdigest()
    row = (await session.execute(select(Invite))).scalar_one()
    assert code not in repr([getattr(row, c.key) for c in Invite.__table__.columns])
    assert (row.role, row.region_code, row.rw, row.rt) == ("rt", VILLAGE, 2, 3)
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)
    [entry] = await _audit(session)
    assert (entry.action, entry.actor_account_id) == ("invite.create", officer.id)
    assert entry.details["role"] == "rt" and entry.details["area"] == f"{VILLAGE} RW 2 RT 3"
    assert code not in str(entry.details)


@pytest.mark.parametrize(
    ("role", "region", "rw", "rt", "message"),
    [
        ("rt", VILLAGE, None, None, "role rt needs --rw"),
        ("rt", VILLAGE, 2, None, "role rt needs --rt"),
        ("rw", VILLAGE, 0, None, "rw must be a number from 1 to 999"),
        ("lurah", "16.71.01", None, None, "role lurah is granted on a desa/kelurahan code"),
        ("officer", VILLAGE, None, None, "kabupaten/kota or kecamatan"),
        ("lurah", "16.99.99.9999", None, None, "region 16.99.99.9999 is not in the database"),
        ("mayor", VILLAGE, None, None, "unknown role mayor"),
    ],
)
async def test_invitations_are_checked_like_direct_grants(
    session, role, region, rw, rt, message
) -> None:
    with pytest.raises(DomainError, match=message):
        await create_invite(session, role, region, rw, rt, created_by=None)
    with pytest.raises(DomainError, match=message):
        await grant_role(session, 9100, role, region, rw, rt)


async def test_days_must_be_between_one_and_thirty(session) -> None:
    for days in (0, 31):
        with pytest.raises(DomainError, match="valid for 1 to 30 days"):
            await create_invite(session, "lurah", VILLAGE, created_by=None, days=days)


async def test_redeeming_grants_once_and_says_why_it_fails(session) -> None:
    officer = await ensure_account(session, 9001)
    await grant_role(session, 9001, "officer", "16.71")
    newcomer = await ensure_account(session, 9002)
    other = await ensure_account(session, 9003)
    await grant_role(session, 9002, "lurah", "16.71.01.1002")  # one person, several roles
    _invite, code = await create_invite(session, "rt", VILLAGE, 2, 3, created_by=officer)
    grant = await redeem_invite(session, newcomer, code)
    assert (grant.role, grant.region_code, grant.rw, grant.rt) == ("rt", VILLAGE, 2, 3)
    assert sorted(g.role for g in newcomer.roles) == ["lurah", "rt"]
    invite = (await session.execute(select(Invite))).scalar_one()
    assert invite.used_by_account_id == newcomer.id and invite.used_at is not None

    with pytest.raises(InviteError, match="already been used") as used:
        await redeem_invite(session, other, code)
    assert used.value.code == "used" and not other.roles
    with pytest.raises(InviteError, match="not valid") as unknown:
        await redeem_invite(session, other, "A" * 22)
    assert unknown.value.code == "unknown"
    with pytest.raises(InviteError) as garbage:
        await redeem_invite(session, other, "'; DROP TABLE invites; --")
    assert garbage.value.code == "unknown"

    _invite, old = await create_invite(session, "rw", VILLAGE, 2, created_by=officer)
    await session.execute(
        update(Invite).where(Invite.code_hash == hashlib.sha256(old.encode()).hexdigest())
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )  # fmt: skip
    with pytest.raises(InviteError, match="expired") as expired:
        await redeem_invite(session, other, old)
    assert expired.value.code == "expired" and not other.roles

    grants = [e for e in await _audit(session) if e.action == "role.grant"]
    assert len(grants) == 1
    assert grants[0].actor_account_id == newcomer.id == grants[0].subject_account_id
    assert grants[0].details["area"] == f"{VILLAGE} RW 2 RT 3"


async def test_two_processes_redeeming_one_code_at_once_grant_it_once(engine, session) -> None:
    first = await ensure_account(session, 9011)
    second = await ensure_account(session, 9012)
    _invite, code = await create_invite(session, "lurah", VILLAGE, created_by=None)
    await session.commit()
    maker = db.make_sessionmaker(engine)

    async def attempt(telegram_id: int) -> str:
        async with maker() as own:
            account = await ensure_account(own, telegram_id)
            try:
                await redeem_invite(own, account, code)
            except InviteError as exc:
                await own.rollback()
                return exc.code
            await own.commit()
            return "granted"

    outcomes = await asyncio.gather(attempt(first.telegram_id), attempt(second.telegram_id))
    assert sorted(outcomes) == ["granted", "used"]
    rows = (await session.execute(select(RoleGrant))).scalars().all()
    assert len(rows) == 1 and rows[0].role == "lurah"


async def test_listing_and_revoking_grants(session) -> None:
    rt = await grant_role(session, 9021, "rt", VILLAGE, 2, 3)
    await grant_role(session, 9022, "officer", "16.71")
    await grant_role(session, 9023, "lurah", "16.72.01.1001")
    assert [g.account.telegram_id for g in await list_grants(session, "16.71")] == [9022, 9021]
    assert [g.account.telegram_id for g in await list_grants(session, VILLAGE)] == [9021]
    assert len(await list_grants(session)) == 3
    assert await list_grants(session, "16.7") == []  # a prefix of codes, not of text

    holder = await ensure_account(session, 9021)
    await revoke_grant(session, rt.id, by="cli")
    assert holder.roles == []
    assert [g.account.telegram_id for g in await list_grants(session, "16.71")] == [9022]
    with pytest.raises(DomainError, match="already revoked") as again:
        await revoke_grant(session, rt.id, by="cli")
    assert again.value.code == "already_revoked"
    with pytest.raises(DomainError, match="There is no role grant 999"):
        await revoke_grant(session, 999, by="cli")
    [entry] = [e for e in await _audit(session) if e.action == "role.revoke"]
    assert (entry.actor, entry.subject_account_id) == ("cli", holder.id)
    assert entry.details == {
        "grant_id": rt.id, "role": "rt", "area": f"{VILLAGE} RW 2 RT 3",
    }  # fmt: skip


# ---- the command line ---------------------------------------------------------------------


@pytest.fixture
def cli_env(database_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    for name in ("BOT_TOKEN", "BOT_USERNAME", "TELEGRAM_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def _invite_rows(database_url: str) -> list[Invite]:
    engine = db.create_engine(database_url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            return list((await session.execute(select(Invite))).scalars())
    finally:
        await engine.dispose()


def test_invite_create_prints_a_deep_link_and_its_expiry(cli_env, database_url, capsys) -> None:
    cli_env.setenv("BOT_USERNAME", "@lapor_warga_bot")
    args = ["invite", "create", "--role", "rt", "--region", VILLAGE, "--rw", "2", "--rt", "3"]
    assert main([*args, "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert f"Invitation for rt in {VILLAGE} RW 2 RT 3, single use, valid until" in out
    username, code = LINK.search(out).groups()
    assert username == "lapor_warga_bot" and len(code) == 22
    [invite] = asyncio.run(_invite_rows(database_url))
    assert invite.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert invite.expires_at.isoformat(sep=" ", timespec="minutes") in out
    assert timedelta(days=2, hours=23) < invite.expires_at - utcnow() <= timedelta(days=3)

    assert main(["invite", "create", "--role", "rt", "--region", VILLAGE, "--rw", "2"]) == 2
    assert capsys.readouterr().err.strip() == "role rt needs --rt"
    assert main(["invite", "create", "--role", "lurah", "--region", VILLAGE, "--days", "90"]) == 2
    assert "valid for 1 to 30 days" in capsys.readouterr().err
    assert len(asyncio.run(_invite_rows(database_url))) == 1


def test_invite_create_without_username_or_token_says_what_to_set(cli_env, capsys) -> None:
    assert main(["invite", "create", "--role", "lurah", "--region", VILLAGE]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Set BOT_USERNAME (the bot's @username) or BOT_TOKEN to print invitation links."]
    cli_env.setenv("BOT_USERNAME", "no spaces allowed")
    assert main(["invite", "create", "--role", "lurah", "--region", VILLAGE]) == 2
    assert capsys.readouterr().err.startswith("BOT_USERNAME: not a Telegram username")


async def test_invite_create_asks_telegram_for_the_username(cli_env, fake_api, capsys) -> None:
    cli_env.setenv("BOT_TOKEN", fake_api.token)
    cli_env.setenv("TELEGRAM_API_BASE", fake_api.base_url)
    args = ["invite", "create", "--role", "officer", "--region", "16.71.02"]
    assert await asyncio.to_thread(main, args) == 0
    username, _code = LINK.search(capsys.readouterr().out).groups()
    assert username == fake_api.bot_username
    assert fake_api.calls("getMe")

    cli_env.setenv("BOT_TOKEN", "42:unknown-to-the-server")
    assert await asyncio.to_thread(main, args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "set BOT_USERNAME" in err[0]


def test_roles_list_and_revoke(cli_env, capsys) -> None:
    grant = ["roles", "grant", "--role"]
    assert (
        main([*grant, "rt", "--telegram-id", "5001", "--region", VILLAGE, "--rw", "2", "--rt", "3"])
        == 0
    )
    assert main([*grant, "officer", "--telegram-id", "5002", "--region", "16.71"]) == 0
    assert main([*grant, "lurah", "--telegram-id", "5003", "--region", "16.72.01.1001"]) == 0
    capsys.readouterr()

    assert main(["roles", "list", "--region", "16.71"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    today = utcnow().date().isoformat()
    assert [line[1:] for line in lines] == [
        ["5002", "officer", "16.71", today],
        ["5001", "rt", f"{VILLAGE} RW 2 RT 3", today],
    ]
    rt_id = lines[1][0]
    assert main(["roles", "list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3

    assert main(["roles", "revoke", rt_id]) == 0
    assert capsys.readouterr().out.strip() == (
        f"Revoked rt for {VILLAGE} RW 2 RT 3 of Telegram user 5001."
    )
    assert main(["roles", "list", "--region", VILLAGE]) == 0
    assert capsys.readouterr().out.strip() == "No active role grants."
    assert main(["roles", "revoke", rt_id]) == 1
    assert capsys.readouterr().err.strip() == f"Role grant {rt_id} was already revoked."
    assert main(["roles", "revoke", "999"]) == 1
    assert capsys.readouterr().err.strip() == "There is no role grant 999."


def test_cli_role_changes_are_in_the_audit_log(cli_env, database_url) -> None:
    assert (
        main(["roles", "grant", "--role", "lurah", "--telegram-id", "5003", "--region", VILLAGE])
        == 0
    )
    cli_env.setenv("BOT_USERNAME", "lapor_warga_bot")
    assert main(["invite", "create", "--role", "lurah", "--region", VILLAGE]) == 0
    assert main(["roles", "revoke", "1"]) == 0

    async def entries() -> list[AuditEntry]:
        engine = db.create_engine(database_url)
        try:
            async with db.make_sessionmaker(engine)() as session:
                return await _audit(session)
        finally:
            await engine.dispose()

    found = [(e.action, e.actor, e.actor_account_id) for e in asyncio.run(entries())]
    assert found == [
        ("role.grant", "cli", None), ("invite.create", "cli", None), ("role.revoke", "cli", None),
    ]  # fmt: skip


def test_help_describes_the_invite_and_roles_commands(capsys) -> None:
    for args in (
        ["invite", "create", "--help"],
        ["roles", "list", "--help"],
        ["roles", "revoke", "--help"],
    ):
        with pytest.raises(SystemExit):
            main(args)
    out = capsys.readouterr().out
    assert "BOT_USERNAME" in out and "--days DAYS" in out and "GRANT_ID" in out


async def test_an_invitation_dies_with_its_makers_officer_role(session) -> None:
    await grant_role(session, 9001, "officer", "16.71")
    officer = await ensure_account(session, 9001)
    newcomer = await ensure_account(session, 9002)
    _invite, code = await create_invite(session, "rt", VILLAGE, 2, 3, created_by=officer)
    [grant] = officer.roles
    await revoke_grant(session, grant.id, by="cli")
    with pytest.raises(InviteError, match="no longer valid") as withdrawn:
        await redeem_invite(session, newcomer, code)
    assert withdrawn.value.code == "withdrawn" and not newcomer.roles
    invite = (await session.execute(select(Invite))).scalar_one()
    assert invite.used_at is None
    # An invitation made from the command line has no maker whose role could end.
    _invite, cli_code = await create_invite(session, "rt", VILLAGE, 2, 3, created_by=None, by="cli")
    assert (await redeem_invite(session, newcomer, cli_code)).role == "rt"
