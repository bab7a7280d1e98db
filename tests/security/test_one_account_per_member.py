"""One Telegram account per member: someone with a photocopy of a KK cannot link as a
person already linked; the linked person is told, in their own language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry import accounts as accounts_module
from registry.accounts import AlreadyLinked, link_account
from storage.models import Account, LinkAttempt, OutboxMessage
from testkit.factories import SARI
from tests.helpers.chat import SARI_ID, link, linked_sari
from tests.helpers.world import account, registry_world

COPYCAT_ID = 1600
SARI_NIK = SARI.people[1].nik


async def test_linking_as_an_already_linked_member_is_refused_and_the_member_told(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)  # in English
    copycat = fake_api.user(COPYCAT_ID, "Peniru", language_code="id")
    await link(copycat, nik=SARI_NIK, kk=SARI.kk)  # a photocopy of Sari's KK
    refusal = await copycat.expect("/hapusakun")
    assert "Ketua RT" in refusal.plain_text
    told = await sari.expect("Someone tried to link another Telegram account as you")
    assert "Ketua RT" in told.plain_text

    async with running_bot.session() as session:
        rows = {a.telegram_id: a for a in (await session.execute(select(Account))).scalars()}
        assert rows[COPYCAT_ID].member_id is None and rows[COPYCAT_ID].household_id is None
        assert rows[SARI_ID].member_id is not None
        assert rows[SARI_ID].household_id is not None
        # The attempt counts towards the hour's lock: the member is not told without end.
        attempts = await session.execute(
            select(LinkAttempt).where(LinkAttempt.account_id == rows[COPYCAT_ID].id)
        )
        assert len(attempts.scalars().all()) == 1
        queued = (await session.execute(select(OutboxMessage.chat_id))).scalars().all()
        assert queued.count(SARI_ID) == 1 and COPYCAT_ID not in queued
    # /start again offers the linking form, not the refusal's dead end.
    await copycat.send_text("/start")
    await copycat.expect("kontak")


async def test_the_same_account_may_link_again(session, tmp_path) -> None:
    await registry_world(session, tmp_path, accounts=[SARI_ID])
    sari = await account(session, SARI_ID)
    await link_account(session, sari, SARI_NIK, SARI.kk)
    await link_account(session, sari, SARI_NIK, SARI.kk)
    assert sari.member_id is not None


async def test_two_accounts_linking_at_once_one_is_refused(session, tmp_path, monkeypatch) -> None:
    """The loser of a simultaneous link (both saw no holder) gets the refusal, not a
    traceback: the unique index decides, inside a savepoint."""
    await registry_world(session, tmp_path, accounts=[SARI_ID, COPYCAT_ID])
    first, second = await account(session, SARI_ID), await account(session, COPYCAT_ID)
    await link_account(session, first, SARI_NIK, SARI.kk)
    await session.commit()

    real = accounts_module._holder_of
    calls = []

    async def not_yet(session, member_id, account):  # the check ran before the other commit
        calls.append(member_id)
        return None if len(calls) == 1 else await real(session, member_id, account)

    monkeypatch.setattr(accounts_module, "_holder_of", not_yet)
    with pytest.raises(AlreadyLinked) as refused:
        await link_account(session, second, SARI_NIK, SARI.kk)
    assert refused.value.holder.id == first.id
    assert len(calls) == 2
    await session.commit()  # the session is still usable: the refusal is saved
    await session.refresh(second)
    assert second.member_id is None and second.household_id is None
