"""Reviewer invitations and role revocation, attacked through the real bot.

Invitation links work once and only until they expire; made-up codes give nothing;
only officers invite, and only inside their own area; a revoked reviewer's old buttons
stop working at once; a forged revoke button from another kabupaten is refused.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from registry.accounts import account_by_telegram_id, grant_role
from registry.invites import code_hash, create_invite
from storage.models import Account, AuditEntry, Invite, Report, RoleGrant, utcnow
from testkit.factories import VILLAGE
from tests.helpers.chat import (
    OFFICER_ID,
    RT_ID,
    ago,
    agree,
    file_birth_en,
    linked_sari,
    reviewer,
    seed,
)

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]{22})")
OTHER_OFFICER_ID = 7004  # an officer of Kota Pagar Alam (16.72), not of Palembang
SUKOREJO = "16.72.01.1001"  # a desa in Kota Pagar Alam


async def roles_of(running, telegram_id: int) -> list[tuple[str, str, int | None, int | None]]:
    async with running.session() as session:
        account = await account_by_telegram_id(session, telegram_id)
        if account is None:
            return []
        return [(g.role, g.region_code, g.rw, g.rt) for g in account.roles]


async def invite_rt_by_chat(officer, rw: str, rt: str) -> str:
    """The officer's /undang for an RT head of the test village; the code of the link."""
    await officer.send_text("/undang")
    await officer.press("RT head", await officer.expect("Which role is the invitation for?"))
    await officer.expect("For which desa/kelurahan?")
    await officer.send_text(VILLAGE)  # a code works as well as a name
    await officer.press(
        "Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang",
        await officer.expect("Choose the right one below"),
    )
    await officer.expect("Which RW?")
    await officer.send_text(rw)
    await officer.expect("Which RT?")
    await officer.send_text(rt)
    sent = await officer.expect("Send this link to the person you invite")
    assert "RT head · Tiga-puluh-lima Ilir (16.71.01.1001) RW 2 RT 4" in sent.plain_text
    day = (utcnow() + timedelta(days=7, hours=7)).date()  # the expiry, in WIB (UTC+7)
    assert f"until {day:%B} {day.day}, {day.year}, " in sent.plain_text
    assert " WIB:" in sent.plain_text
    username, code = LINK.search(sent.plain_text).groups()
    assert username == officer.api.bot_username
    return code


async def test_an_invitation_link_works_once_and_a_replay_is_refused(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas Dinsos")
    code = await invite_rt_by_chat(officer, "2", "4")
    async with running_bot.session() as session:
        invite = (await session.execute(select(Invite))).scalar_one()
        assert invite.code_hash == code_hash(code)  # the code itself is stored nowhere

    newcomer = fake_api.user(7101, "Pak Joko", language_code="en")
    await newcomer.send_text(f"/start {code}")
    welcome = await agree(newcomer, expect="Invitation accepted")
    assert "RT head: Tiga-puluh-lima Ilir RW 2 RT 4" in welcome.plain_text
    assert "/antrian" in welcome.plain_text
    told = await officer.expect("Your invitation was accepted")
    assert "Pak Joko is now RT head · Tiga-puluh-lima Ilir" in told.plain_text
    assert await roles_of(running_bot, 7101) == [("rt", VILLAGE, 2, 4)]
    # The invited reviewer's chat gets the reviewers' "/" menu, not the officers'.
    await fake_api.wait_for(lambda: fake_api.commands_in_chat(7101), 5, "the reviewer's menu")
    menu = {c["command"] for c in fake_api.commands_in_chat(7101)}
    assert {"antrian", "peran"} <= menu and not {"umumkan", "undang"} & menu
    await newcomer.send_text("/antrian")
    await newcomer.expect("Nothing is waiting for you")

    # The same link again: by someone else (a forwarded link), and by the newcomer.
    intruder = fake_api.user(7102, "Orang Lain", language_code="en")
    await intruder.send_text(f"/start {code}")
    await agree(intruder, expect="This invitation link has already been used")
    assert await roles_of(running_bot, 7102) == []
    await newcomer.send_text(f"/start {code}")
    await newcomer.expect("This invitation link has already been used")
    assert await roles_of(running_bot, 7101) == [("rt", VILLAGE, 2, 4)]
    async with running_bot.session() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
        assert actions.count("invite.create") == 1 and actions.count("role.grant") == 1


async def test_an_expired_invitation_is_refused(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    async with running_bot.session() as session:
        _invite, code = await create_invite(session, "lurah", VILLAGE, created_by=None, days=1)
        await session.execute(
            update(Invite).values(expires_at=utcnow() - timedelta(minutes=1))
        )  # a day later
        await session.commit()
    late = fake_api.user(7103, "Bu Telat", language_code="en")
    await late.send_text(f"/start {code}")
    await agree(late, expect="This invitation link has expired")
    assert await roles_of(running_bot, 7103) == []
    async with running_bot.session() as session:
        assert (await session.execute(select(Invite))).scalar_one().used_at is None


async def test_a_made_up_code_gives_nothing(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    guesser = fake_api.user(7104, "Penebak", language_code="en")
    await guesser.send_text("/start AAAAAAAAAAAAAAAAAAAAAA")
    await agree(guesser, expect="This invitation link is not valid")
    for guess in ("BBBBBBBBBBBBBBBBBBBBBB", "x", "officer"):  # after the consent, directly
        await guesser.send_text(f"/start {guess}")
        await guesser.expect("This invitation link is not valid")
    assert await roles_of(running_bot, 7104) == []


async def test_only_officers_invite(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    await rt.send_text("/undang")
    await rt.expect("Only officers can invite reviewers")
    resident = fake_api.user(7105, "Warga", language_code="en")
    await resident.send_text("/undang")
    await agree(resident)  # the consent comes first, instead of the command
    await resident.send_text("/undang")
    await resident.expect("Only officers can invite reviewers")
    async with running_bot.session() as session:
        assert (await session.execute(select(Invite))).scalars().all() == []


async def test_an_officer_cannot_invite_outside_their_area(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas Dinsos")  # Kota Palembang
    await officer.send_text("/undang")
    await officer.press("Lurah / kepala desa", await officer.expect("Which role"))
    await officer.expect("For which desa/kelurahan?")
    await officer.send_text("Sukorejo")
    await officer.press(
        "Sukorejo, Pagar Alam Utara, Kota Pagar Alam", await officer.expect("Choose the right one")
    )
    refused = await officer.expect("is outside your area")
    assert "You can invite reviewers only inside your own area" in refused.plain_text
    assert "For which desa/kelurahan?" in refused.plain_text  # asked again

    # An officer invitation for a kecamatan of another kabupaten: refused as well.
    await officer.send_text("/undang")
    await officer.press("Officer", await officer.expect("Which role"))
    await officer.expect("For which kecamatan?")
    await officer.send_text("16.72.01")
    await officer.press(
        "Pagar Alam Utara, Kota Pagar Alam, Sumatera Selatan", await officer.expect("Choose")
    )
    await officer.expect("is outside your area")
    async with running_bot.session() as session:
        assert (await session.execute(select(Invite))).scalars().all() == []

    # A kecamatan officer may not invite officers at all: the role is not offered.
    async with running_bot.session() as session:
        await grant_role(session, 7106, "officer", "16.71.01")
        await session.commit()
    kecamatan = await reviewer(fake_api, 7106, "Camat")
    await kecamatan.send_text("/undang")
    choices = await kecamatan.expect("Which role")
    assert "Officer" not in choices.buttons() and "Lurah / kepala desa" in choices.buttons()


async def test_a_revoked_reviewer_s_old_confirm_button_is_refused(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas Dinsos")
    number = await file_birth_en(sari, "Raka Pratama", ago(4))
    card = await rt.expect("Is this true?")

    await officer.send_text("/peran")
    listing = await officer.expect("Roles inside your area")
    async with running_bot.session() as session:
        grant_id = (
            await session.execute(select(RoleGrant.id).where(RoleGrant.role == "rt"))
        ).scalar_one()
    assert f"#{grant_id} · RT head · Tiga-puluh-lima Ilir (16.71.01.1001) RW 2 RT 3" in (
        listing.plain_text
    )
    await officer.press(f"🚫 Revoke #{grant_id}", listing)
    await officer.press("🚫 Yes, revoke", await officer.expect("They can no longer review"))
    await officer.expect_edit(contains="🚫 Revoked: RT head")
    await rt.expect("Your role RT head · Tiga-puluh-lima Ilir")
    # Their chat's "/" menu loses the reviewers' commands (through the outbox).
    await fake_api.wait_for(
        lambda: "antrian" not in {c["command"] for c in fake_api.commands_in_chat(RT_ID)},
        5, "the revoked reviewer's menu",
    )  # fmt: skip

    await rt.press("✅ Confirm", card)
    answer = await rt.wait_callback_answer()
    assert answer["text"] == "You may not decide this report at its current stage."
    async with running_bot.session() as session:
        report = (await session.execute(select(Report).where(Report.number == number))).scalar_one()
        assert report.state == "awaiting_rt" and len(report.events) == 2
        revoke = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "role.revoke"))
        ).scalar_one()
        officer_account = await account_by_telegram_id(session, OFFICER_ID)
        assert revoke.actor_account_id == officer_account.id
    await rt.send_text("/antrian")
    await rt.expect("You have no reviewer role")


async def test_a_forged_revoke_from_another_kabupaten_is_refused(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    async with running_bot.session() as session:
        await grant_role(session, OTHER_OFFICER_ID, "officer", "16.72")
        await grant_role(session, 7107, "officer", "16.71")  # a peer of the Palembang officer
        await session.commit()
        target = (
            await session.execute(select(RoleGrant.id).where(RoleGrant.role == "rt"))
        ).scalar_one()
        peer = (
            await session.execute(
                select(RoleGrant.id).join(Account).where(Account.telegram_id == 7107)
            )
        ).scalar_one()
    stranger = await reviewer(fake_api, OTHER_OFFICER_ID, "Petugas Pagar Alam")
    await stranger.send_text("/peran")
    listing = await stranger.expect("Your roles")
    assert "Nobody holds a role inside your area yet" in listing.plain_text
    assert f"#{target}" not in listing.plain_text

    for data in (f"pr:{target}", f"pr:{target}:y", "pr:999:y"):
        await stranger.press_data(data)
        answer = await stranger.wait_callback_answer()
        assert answer["text"] == "You can revoke only roles inside your own area, as an officer."
        assert answer.get("show_alert") is True
    await stranger.press_data(f"pr:{target}:y:extra")
    assert (await stranger.wait_callback_answer())["text"] == "This button has expired."

    # A Palembang officer cannot revoke a peer of the same kabupaten, nor can an RT head.
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas Dinsos")
    await officer.press_data(f"pr:{peer}:y")
    assert (await officer.wait_callback_answer())["text"].startswith("You can revoke only")
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    await rt.press_data(f"pr:{target}:y")
    assert (await rt.wait_callback_answer())["text"].startswith("You can revoke only")

    assert await roles_of(running_bot, RT_ID) == [("rt", VILLAGE, 2, 3)]
    assert await roles_of(running_bot, 7107) == [("officer", "16.71", None, None)]
    async with running_bot.session() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
        assert "role.revoke" not in actions
