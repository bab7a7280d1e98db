"""The review workflow's rules, against a real database."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from registry import queues, workflow
from registry.accounts import ensure_account, grant_role
from registry.errors import AlreadyDecided, IllegalTransition, NotAllowed
from registry.households import household_by_kk
from storage import db
from storage.models import Member, RegistryRevision
from testkit.factories import SARI
from tests.helpers.world import account, registry_world


async def _setup(session, tmp_path):
    await registry_world(
        session, tmp_path, rt={1: [(2, 3)], 2: [(2, 5)]},  # 2: the neighbouring RT
        lurah=[3], officers={4: "16.71.01", 5: "16.72"},  # a kecamatan, another city
    )  # fmt: skip
    reporter = await ensure_account(session, 100)
    household = await household_by_kk(session, SARI.kk)
    mother = household.members[1]
    report = await workflow.submit_report(
        session, kind="birth", household=household, reporter=reporter,
        payload={"name": "Raka", "sex": "M", "birth_date": "2026-10-01", "mother": str(mother.id),
                 "mother_name": mother.name},
    )  # fmt: skip
    await session.commit()
    return report


async def test_only_the_current_tier_in_its_area_decides(session, tmp_path) -> None:
    report = await _setup(session, tmp_path)
    assert report.number == f"LW-{date.today().year}-{report.id:06d}"
    assert report.state == workflow.AWAITING_RT
    for outsider in (2, 3, 4, 100):  # other RT, lurah and officer too early, the reporter
        with pytest.raises(NotAllowed):
            await workflow.decide(
                session, report, await account(session, outsider, roles=True), approve=True
            )
    await workflow.decide(session, report, await account(session, 1, roles=True), approve=True)
    with pytest.raises(NotAllowed):  # the RT cannot decide the next tier as well
        await workflow.decide(session, report, await account(session, 1, roles=True), approve=True)
    await workflow.decide(session, report, await account(session, 3, roles=True), approve=True)
    with pytest.raises(NotAllowed):
        await workflow.decide(session, report, await account(session, 5, roles=True), approve=True)
    decision = await workflow.decide(
        session, report, await account(session, 4, roles=True), approve=True
    )
    assert decision.to_state == workflow.APPLIED
    with pytest.raises(AlreadyDecided):
        await workflow.decide(session, report, await account(session, 4, roles=True), approve=True)
    assert await session.scalar(select(func.count()).select_from(RegistryRevision)) == 1


async def test_rejection_needs_a_reason_and_is_final(session, tmp_path) -> None:
    report = await _setup(session, tmp_path)
    rt = await account(session, 1, roles=True)
    with pytest.raises(IllegalTransition):
        await workflow.decide(session, report, rt, approve=False, note="")
    with pytest.raises(IllegalTransition):  # "other" needs words
        await workflow.decide(session, report, rt, approve=False, reason_code="other", note=" ")
    await workflow.decide(
        session,
        report,
        rt,
        approve=False,
        reason_code="not_in_area",
        note="Tidak dikenal di RT ini",
    )
    assert report.state == workflow.REJECTED
    assert report.events[-1].note == "Tidak dikenal di RT ini"
    assert report.events[-1].reason_code == "not_in_area"
    assert report.events[-1].actor_account_id == rt.id
    with pytest.raises(AlreadyDecided):
        await workflow.decide(session, report, rt, approve=True)


async def test_queue_is_scoped_to_the_reviewers_area(session, tmp_path) -> None:
    report = await _setup(session, tmp_path)
    assert [
        r.id for r in await queues.queue_for(session, await account(session, 1, roles=True))
    ] == [report.id]
    assert await queues.queue_for(session, await account(session, 2, roles=True)) == []
    assert (
        await queues.queue_for(session, await account(session, 3, roles=True)) == []
    )  # not its tier yet
    reviewers = await queues.reviewers_for(session, report)
    assert [a.telegram_id for a in reviewers] == [1]


async def test_two_officers_pressing_at_once_apply_the_change_once(engine, tmp_path) -> None:
    maker = db.make_sessionmaker(engine)
    async with maker() as session:
        report = await _setup(session, tmp_path)
        await grant_role(session, 6, "officer", "16.71")
        for reviewer in (1, 3):
            await workflow.decide(
                session, report, await account(session, reviewer, roles=True), approve=True
            )
        await session.commit()
        version = report.version

    async def press(telegram_id: int) -> str:
        async with maker() as s:
            r = await workflow.get_report(s, report.id)
            try:
                await workflow.decide(
                    s,
                    r,
                    await account(s, telegram_id, roles=True),
                    approve=True,
                    expected_version=version,
                )
                await s.commit()
                return "decided"
            except AlreadyDecided:
                return "already"

    results = await asyncio.gather(press(4), press(6))
    assert sorted(results) == ["already", "decided"]
    async with maker() as session:
        assert await session.scalar(select(func.count()).select_from(RegistryRevision)) == 1
        assert (
            await session.scalar(
                select(func.count()).select_from(Member).where(Member.name == "Raka")
            )
            == 1
        )
