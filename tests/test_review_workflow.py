"""The review workflow as its users see it: the state machine, the tiers of the workflow
file, concurrent reviewers, SLA reminders and escalations, linked reports, questions.

Everything runs on a real database (SQLite, or PostgreSQL with ``LW_TEST_DATABASE_URL``).
Times that matter are passed explicitly (``now=``); nothing depends on the wall clock
except the ``tier_since`` of a reviewer's decision, which lies after every ``T0`` used here.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.scheduler import SlaScheduler
from flows import sla as sla_flows
from flows.review import notify_decision
from registry import links, queues, sla, workflow
from registry.accounts import account_by_telegram_id, ensure_account, grant_role
from registry.errors import (
    AlreadyDecided,
    ConfigError,
    IllegalTransition,
    NotAllowed,
)
from registry.households import household_by_kk, import_households
from registry.kinds import KINDS
from registry.policy import DEFAULT_POLICY, Policy, load_policy, parse_policy
from storage import db
from storage.models import Account, Member, OutboxMessage, Report, ReportEvent, ReportLink
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE, registry_rows, write_csv

# Telegram ids of the people in every test.
RT = 1  # Ketua RT 3 / RW 2: Sari's RT
RT_NEIGHBOUR = 2  # RT 5 / RW 2: Hartono's RT
LURAH = 3
OFFICER = 4  # kecamatan Ilir Barat Dua (16.71.01)
OFFICER_FAR = 5  # another city (16.72)
OFFICER_CITY = 6  # Kota Palembang (16.71): a second officer for Sari's household
RT_2 = 7  # a second RT head of Sari's RT
LURAH_2 = 8  # a second lurah
REPORTER = 100  # a resident of Sari's household
RESIDENT = 101  # another resident

T0 = datetime(2024, 3, 1, 8, 0)  # a past morning: later than nothing, earlier than wall clock
DAY = timedelta(days=1)
KNOWN_KINDS = set(KINDS)
ERRORS = (IllegalTransition, NotAllowed, AlreadyDecided)
ON_POSTGRES = bool(os.environ.get("LW_TEST_DATABASE_URL"))

S = workflow  # short names for the states in the tables below
WAITING = (S.AWAITING_RT, S.AWAITING_KELURAHAN, S.AWAITING_OFFICER)


@pytest.fixture
async def world(session, tmp_path) -> None:
    """The synthetic families in the registry, their reviewers and two residents."""
    await import_households(session, write_csv(tmp_path / "r.csv", registry_rows(FAMILIES)))
    await grant_role(session, RT, "rt", VILLAGE, rw=SARI.rw, rt=SARI.rt)
    await grant_role(session, RT_NEIGHBOUR, "rt", VILLAGE, rw=HARTONO.rw, rt=HARTONO.rt)
    await grant_role(session, LURAH, "lurah", VILLAGE)
    await grant_role(session, OFFICER, "officer", "16.71.01")
    await grant_role(session, OFFICER_FAR, "officer", "16.72")
    await grant_role(session, OFFICER_CITY, "officer", "16.71")
    await grant_role(session, RT_2, "rt", VILLAGE, rw=SARI.rw, rt=SARI.rt)
    await grant_role(session, LURAH_2, "lurah", VILLAGE)
    await ensure_account(session, REPORTER)
    await ensure_account(session, RESIDENT)
    await session.commit()


@pytest.fixture
def maker(engine):
    return db.make_sessionmaker(engine)


async def who(session, telegram_id: int) -> Account:
    account = await account_by_telegram_id(session, telegram_id)
    assert account is not None
    await session.refresh(account, ["roles"])
    return account


async def file_birth(
    session,
    n: int = 1,
    *,
    reporter: int = REPORTER,
    name: str | None = None,
    policy: Policy = DEFAULT_POLICY,
    now: datetime | None = None,
    family=SARI,
) -> Report:
    """A birth in the family; each ``n`` is another baby (so no two are duplicates)."""
    household = await household_by_kk(session, family.kk)
    mother = household.members[1]
    return await workflow.submit_report(
        session, kind="birth", household=household, reporter=await who(session, reporter),
        payload={"name": name or f"Bayi Nomor {n}", "sex": "F",
                 "birth_date": (date(2025, 12, 31) + n * DAY).isoformat(), "mother": str(mother.id)},
        policy=policy, now=now,
    )  # fmt: skip


async def decide_as(session, report: Report, telegram_id: int, **kwargs) -> workflow.Decision:
    kwargs.setdefault("approve", True)
    return await workflow.decide(session, report, await who(session, telegram_id), **kwargs)


async def fresh(maker, report_id: int) -> Report:
    """The report as the database holds it, read in a session of its own."""
    async with maker() as s:
        return await workflow.get_report(s, report_id)


def trail(report: Report, ids: dict[int, int]) -> list[tuple]:
    """Each event as (actor's telegram id, from, to, note, reason code)."""
    return [
        (ids.get(e.actor_account_id), e.from_state, e.to_state, e.note, e.reason_code)
        for e in report.events
    ]


async def telegram_ids(session) -> dict[int, int]:
    return dict((await session.execute(select(Account.id, Account.telegram_id))).all())


async def outbox(session, purpose: str | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if purpose is not None:
        stmt = stmt.where(OutboxMessage.purpose == purpose)
    return list((await session.execute(stmt)).scalars())


# ---------------------------------------------------------------------------------------
# 1. The state machine
# ---------------------------------------------------------------------------------------

PATHS = [
    ("rt", "kelurahan", "officer"),
    ("kelurahan", "officer"),
    ("rt", "officer"),
    ("officer",),
]
ACTORS = (S.REPORTER, S.REVIEWER, S.SYSTEM)


def legal(from_state, to_state, by, path, paused) -> bool:
    """The transitions of the issue, written independently of ``workflow.TRANSITIONS``."""
    waits = [S.TIER_STATE[t] for t in path]
    nxt = {S.SUBMITTED: waits[0], **dict(itertools.pairwise(waits))}
    if from_state is None:
        return to_state == S.SUBMITTED and by == S.REPORTER
    if to_state == S.WITHDRAWN:
        return by == S.REPORTER and from_state in (S.SUBMITTED, *WAITING, S.NEEDS_INFO)
    if from_state == S.SUBMITTED:
        return to_state == waits[0] and by == S.SYSTEM
    if from_state in WAITING:
        if to_state in WAITING:  # the next tier on the report's own path
            return to_state == nxt.get(from_state) and by in (S.REVIEWER, S.SYSTEM)
        if to_state == S.APPROVED:
            return from_state == S.AWAITING_OFFICER and by == S.REVIEWER
        if to_state == S.REJECTED:  # a reviewer, or the system closing a duplicate
            return by in (S.REVIEWER, S.SYSTEM)
        if to_state == S.NEEDS_INFO:
            return by == S.REVIEWER
        return False
    if from_state == S.NEEDS_INFO:
        if to_state == S.REJECTED:  # the system closing a duplicate
            return by == S.SYSTEM
        # The reporter's answer, or the system when the reporter deleted their account.
        return to_state == paused and by in (S.REPORTER, S.SYSTEM)
    if from_state == S.APPROVED:
        return to_state == S.APPLIED and by == S.SYSTEM
    return False


@pytest.mark.parametrize("path", PATHS, ids="-".join)
@pytest.mark.parametrize("from_state", [None, *S.STATES])
def test_check_transition_allows_exactly_the_legal_moves(from_state, path) -> None:
    pauses = WAITING if from_state == S.NEEDS_INFO else (None,)
    checked = 0
    for paused in pauses:
        for to_state in S.STATES:
            for by in ACTORS:
                report = Report(state=from_state, tiers=list(path), paused_state=paused)
                expected = legal(from_state, to_state, by, path, paused)
                if expected:
                    S.check_transition(report, to_state, by)
                else:
                    with pytest.raises(IllegalTransition):
                        S.check_transition(report, to_state, by)
                checked += 1
    assert checked == len(pauses) * len(S.STATES) * len(ACTORS)


def test_the_transition_table_names_only_known_states_and_actors() -> None:
    for (old, new), actors in S.TRANSITIONS.items():
        assert old is None or old in S.STATES
        assert new in S.STATES
        assert actors and actors <= set(ACTORS)
    assert set(S.FINAL_STATES) | set(S.OPEN_STATES) == set(S.STATES)
    assert not any(old in S.FINAL_STATES for old, _new in S.TRANSITIONS)


# The states a report can be in, built through the public functions. ``submitted`` and
# ``approved`` only exist inside one transaction (filing; approving and applying), so
# they are set directly.
BUILD = {
    S.SUBMITTED: ["file", "force:submitted"],
    S.AWAITING_RT: ["file"],
    S.AWAITING_KELURAHAN: ["file", "rt"],
    S.AWAITING_OFFICER: ["file", "rt", "lurah"],
    S.NEEDS_INFO: ["file", "rt", "lurah:ask"],  # paused at the kelurahan, not the first tier
    S.APPROVED: ["file", "rt", "lurah", "force:approved"],
    S.APPLIED: ["file", "rt", "lurah", "officer"],
    S.REJECTED: ["file", "rt:reject"],
    S.WITHDRAWN: ["file", "withdraw"],
}
STEP_ACTOR = {"rt": RT, "lurah": LURAH, "officer": OFFICER}


async def build(session, state: str, n: int) -> Report:
    report: Report | None = None
    for step in BUILD[state]:
        if step == "file":
            report = await file_birth(session, n)
            continue
        assert report is not None
        actor, _sep, how = step.partition(":")
        if actor == "force":
            await session.execute(update(Report).where(Report.id == report.id).values(state=how))
            await session.refresh(report)
        elif actor == "withdraw":
            await workflow.withdraw(session, report, await who(session, REPORTER))
        elif how == "ask":
            await workflow.ask_info(session, report, await who(session, STEP_ACTOR[actor]), "?")
        elif how == "reject":
            await decide_as(session, report, STEP_ACTOR[actor], approve=False, reason_code="other",
                            note="bukan warga")  # fmt: skip
        else:
            await decide_as(session, report, STEP_ACTOR[actor])
    await session.commit()
    assert report is not None and report.state == state
    return report


TIER_REVIEWER = {S.AWAITING_RT: RT, S.AWAITING_KELURAHAN: LURAH, S.AWAITING_OFFICER: OFFICER}
NEXT = {
    S.AWAITING_RT: S.AWAITING_KELURAHAN,
    S.AWAITING_KELURAHAN: S.AWAITING_OFFICER,
    S.AWAITING_OFFICER: S.APPLIED,
}
QUESTION, ANSWER, NOTE = "Ada akta kelahiran?", "Ada, dari rumah sakit.", "sudah dicek"


def expected_events(action: str, actor: int | None, report: Report) -> list[tuple] | None:
    """The events a public action adds to a report of the default path, or None when the
    issue does not allow it."""
    state = report.state
    reviewer = state in WAITING and actor == TIER_REVIEWER[state]
    if action == "approve" and reviewer:
        if state == S.AWAITING_OFFICER:
            return [
                (actor, state, S.APPROVED, NOTE, None),
                (actor, S.APPROVED, S.APPLIED, None, None),
            ]
        return [(actor, state, NEXT[state], NOTE, None)]
    if action == "reject" and reviewer:
        return [(actor, state, S.REJECTED, NOTE, "not_true")]
    if action == "ask" and reviewer:
        return [(actor, state, S.NEEDS_INFO, QUESTION, None)]
    if action == "answer" and state == S.NEEDS_INFO and actor == REPORTER:
        return [(actor, state, report.paused_state, ANSWER, None)]
    if action == "withdraw" and actor == REPORTER:
        if state in (S.SUBMITTED, *WAITING, S.NEEDS_INFO):
            return [(actor, state, S.WITHDRAWN, NOTE, None)]
    if action == "escalate" and state in (S.AWAITING_RT, S.AWAITING_KELURAHAN):
        return [(None, state, NEXT[state], "3", S.ESCALATED)]
    return None


async def attempt(session, report: Report, action: str, actor: int | None) -> None:
    account = await who(session, actor) if actor is not None else None
    if action == "approve":
        await workflow.decide(session, report, account, approve=True, note=NOTE)
    elif action == "reject":
        await workflow.decide(
            session, report, account, approve=False, reason_code="not_true", note=NOTE
        )
    elif action == "ask":
        await workflow.ask_info(session, report, account, QUESTION)
    elif action == "answer":
        await workflow.answer_info(session, report, account, answer=ANSWER)
    elif action == "withdraw":
        await workflow.withdraw(session, report, account, note=NOTE)
    elif action == "escalate":
        await workflow.escalate(session, report, T0 + 30 * DAY, 3)


PEOPLE = (REPORTER, RESIDENT, RT, RT_NEIGHBOUR, LURAH, OFFICER, OFFICER_FAR)
ATTEMPTS = [
    (action, actor)
    for action in ("approve", "reject", "ask", "answer", "withdraw")
    for actor in PEOPLE
] + [("escalate", None)]


@pytest.mark.parametrize("from_state", S.STATES)
async def test_every_public_action_from_every_state(world, maker, from_state) -> None:
    """From each state, each action by each person (and the SLA's escalation) either
    makes exactly the issue's transition and records it, or raises a domain error and
    changes nothing; together they reach exactly the issue's legal target states."""
    reached = set()
    for n, (action, actor) in enumerate(ATTEMPTS, start=1):
        async with maker() as s:
            built = await build(s, from_state, n)
            report_id, version = built.id, built.version
            before = trail(built, await telegram_ids(s))
        async with maker() as s:
            report = await workflow.get_report(s, report_id)
            expected = expected_events(action, actor, report)
            case = f"{action} by {actor} from {from_state}"
            if expected is None:
                with pytest.raises(ERRORS):
                    await attempt(s, report, action, actor)
                await s.rollback()
            else:
                await attempt(s, report, action, actor)
                await s.commit()
        async with maker() as s:
            after = await workflow.get_report(s, report_id)
            ids = await telegram_ids(s)
            if expected is None:
                assert (after.state, after.version, trail(after, ids)) == (
                    from_state, version, before,
                ), case  # fmt: skip
            else:
                assert trail(after, ids) == before + expected, case
                assert after.state == expected[-1][2], case
                reached.add(expected[-1][2])
    legal_targets = {
        S.SUBMITTED: {S.WITHDRAWN},
        S.AWAITING_RT: {S.AWAITING_KELURAHAN, S.REJECTED, S.NEEDS_INFO, S.WITHDRAWN},
        S.AWAITING_KELURAHAN: {S.AWAITING_OFFICER, S.REJECTED, S.NEEDS_INFO, S.WITHDRAWN},
        S.AWAITING_OFFICER: {S.APPLIED, S.REJECTED, S.NEEDS_INFO, S.WITHDRAWN},
        S.NEEDS_INFO: {S.AWAITING_KELURAHAN, S.WITHDRAWN},
    }
    assert reached == legal_targets.get(from_state, set())


async def test_filing_writes_the_first_two_transitions(world, session) -> None:
    report = await file_birth(session, now=T0)
    await session.commit()
    reporter = await who(session, REPORTER)
    assert [(e.actor_account_id, e.from_state, e.to_state, e.created_at) for e in report.events] == [
        (reporter.id, None, S.SUBMITTED, T0),
        (None, S.SUBMITTED, S.AWAITING_RT, T0),
    ]  # fmt: skip
    assert (report.state, report.tier_since, report.tiers) == (
        S.AWAITING_RT, T0, ["rt", "kelurahan", "officer"],
    )  # fmt: skip
    assert report.number == f"LW-2024-{report.id:06d}"


@pytest.mark.parametrize("reason", S.REJECT_REASONS)
async def test_each_reject_reason_is_recorded(world, session, reason) -> None:
    report = await file_birth(session)
    note = "Tidak ada bayi di rumah ini" if reason == "other" else None
    decision = await decide_as(session, report, RT, approve=False, reason_code=reason, note=note)
    assert (decision.from_state, decision.to_state) == (S.AWAITING_RT, S.REJECTED)
    rt = await who(session, RT)
    last = report.events[-1]
    assert (last.actor_account_id, last.from_state, last.to_state, last.reason_code, last.note) == (
        rt.id, S.AWAITING_RT, S.REJECTED, reason, note,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("reason", "note"),
    [(None, "tidak benar"), ("", None), ("bogus", "x"), ("other", None), ("other", " \n ")],
)
async def test_a_rejection_without_a_valid_reason_is_refused(world, session, reason, note) -> None:
    report = await file_birth(session)
    await session.commit()
    with pytest.raises(IllegalTransition):
        await decide_as(session, report, RT, approve=False, reason_code=reason, note=note)
    assert report.state == S.AWAITING_RT
    assert len(report.events) == 2


async def test_the_errors_say_what_happened(world, session) -> None:
    """Final reports: AlreadyDecided; the wrong person: NotAllowed; the wrong moment:
    IllegalTransition."""
    rejected = await build(session, S.REJECTED, 1)
    with pytest.raises(AlreadyDecided):
        await decide_as(session, rejected, RT)
    waiting = await build(session, S.AWAITING_RT, 2)
    with pytest.raises(NotAllowed):
        await decide_as(session, waiting, LURAH)
    with pytest.raises(NotAllowed):
        await workflow.withdraw(session, waiting, await who(session, RESIDENT))
    with pytest.raises(IllegalTransition):
        await workflow.answer_info(session, waiting, await who(session, REPORTER), answer="x")
    officer = await build(session, S.AWAITING_OFFICER, 3)
    with pytest.raises(IllegalTransition):  # the last tier is never escalated
        await workflow.escalate(session, officer, T0, 10)


# ---------------------------------------------------------------------------------------
# 2. Tiers from the workflow file
# ---------------------------------------------------------------------------------------


def test_the_bundled_workflow_file() -> None:
    policy = load_policy()
    assert policy == DEFAULT_POLICY
    assert policy.default_tiers == ("rt", "kelurahan", "officer")
    assert policy.skip_own_tier is True
    assert policy.sla == {"rt": 3 * DAY, "kelurahan": 5 * DAY, "officer": 10 * DAY}
    assert policy.remind_every == DAY
    assert policy.types == {
        "dispute.other_household": ("kelurahan", "officer"),
        **{kind: ("rt", "kelurahan", "officer")
           for kind in ("head_change", "split_household", "merge_households")},
    }  # fmt: skip


DISPUTE_OTHER = {
    "subject": "other_household", "programmes": ["blt"], "target": "Bapak Hartono, RT 5",
    "target_kk": HARTONO.kk, "reason": "Rumahnya besar.",
}  # fmt: skip


async def test_a_dispute_about_another_household_skips_the_rt(world, session) -> None:
    hartono = await household_by_kk(session, HARTONO.kk)
    report = await workflow.submit_report(
        session, kind="dispute", household=hartono, reporter=await who(session, REPORTER),
        payload=DISPUTE_OTHER, area=hartono,
    )  # fmt: skip
    await session.commit()
    assert (report.state, report.tiers) == (S.AWAITING_KELURAHAN, ["kelurahan", "officer"])
    with pytest.raises(NotAllowed):  # the neighbours' RT head does not judge it
        await decide_as(session, report, RT_NEIGHBOUR)
    assert [a.telegram_id for a in await queues.reviewers_for(session, report)] == [
        LURAH, LURAH_2,
    ]  # fmt: skip
    # A dispute about one's own desil keeps the default path.
    own = await workflow.submit_report(
        session, kind="dispute", household=await household_by_kk(session, SARI.kk),
        reporter=await who(session, REPORTER), payload={"subject": "desil", "reason": "x"},
    )  # fmt: skip
    assert (own.state, own.tiers) == (S.AWAITING_RT, ["rt", "kelurahan", "officer"])


async def test_a_report_of_the_rt_head_starts_at_the_kelurahan(world, session) -> None:
    own_rt = await file_birth(session, 1, reporter=RT)
    assert (own_rt.state, own_rt.tiers) == (S.AWAITING_KELURAHAN, ["kelurahan", "officer"])
    # The head of another RT is a resident here: the full path.
    other_rt = await file_birth(session, 2, reporter=RT_NEIGHBOUR)
    assert (other_rt.state, other_rt.tiers) == (S.AWAITING_RT, ["rt", "kelurahan", "officer"])
    await session.commit()
    await decide_as(session, own_rt, LURAH)
    decision = await decide_as(session, own_rt, OFFICER)
    assert decision.to_state == S.APPLIED


async def test_a_report_of_the_lurah_goes_straight_to_the_officers(world, session) -> None:
    report = await file_birth(session, reporter=LURAH)
    assert (report.state, report.tiers) == (S.AWAITING_OFFICER, ["officer"])
    assert [e.to_state for e in report.events] == [S.SUBMITTED, S.AWAITING_OFFICER]


async def test_an_officers_report_is_decided_by_another_officer(world, session) -> None:
    report = await file_birth(session, reporter=OFFICER)
    await session.commit()
    assert (report.state, report.tiers) == (S.AWAITING_OFFICER, ["officer"])
    for attempt_ in (
        lambda a: workflow.decide(session, report, a, approve=True),
        lambda a: workflow.decide(session, report, a, approve=False, reason_code="not_true"),
        lambda a: workflow.ask_info(session, report, a, "?"),
    ):
        with pytest.raises(NotAllowed):
            await attempt_(await who(session, OFFICER))
    assert report.state == S.AWAITING_OFFICER
    assert await queues.queue_for(session, await who(session, OFFICER)) == []
    assert [r.id for r in await queues.queue_for(session, await who(session, OFFICER_CITY))] == [
        report.id
    ]
    assert [a.telegram_id for a in await queues.reviewers_for(session, report)] == [OFFICER_CITY]
    decision = await decide_as(session, report, OFFICER_CITY)
    assert decision.to_state == S.APPLIED


async def test_tiers_act_in_strict_order(world, session) -> None:
    report = await file_birth(session)
    await session.commit()
    for early in (LURAH, OFFICER, OFFICER_CITY):
        with pytest.raises(NotAllowed):
            await decide_as(session, report, early)
        with pytest.raises(NotAllowed):
            await decide_as(session, report, early, approve=False, reason_code="not_true")
        with pytest.raises(NotAllowed):
            await workflow.ask_info(session, report, await who(session, early), "?")
    assert report.state == S.AWAITING_RT and len(report.events) == 2
    await decide_as(session, report, RT)
    with pytest.raises(NotAllowed):  # the RT head has had its turn
        await decide_as(session, report, RT)
    with pytest.raises(NotAllowed):
        await decide_as(session, report, OFFICER)
    assert report.state == S.AWAITING_KELURAHAN


async def test_a_custom_policy_sets_the_path_of_one_report_type(world, session) -> None:
    policy = parse_policy(
        {"types": {"birth": {"tiers": ["kelurahan", "officer"]}}, "sla_days": {"kelurahan": 2}},
        KNOWN_KINDS,
    )
    birth = await file_birth(session, policy=policy, now=T0)
    assert (birth.state, birth.tiers) == (S.AWAITING_KELURAHAN, ["kelurahan", "officer"])
    household = await household_by_kk(session, SARI.kk)
    death = await workflow.submit_report(
        session, kind="death", household=household, reporter=await who(session, REPORTER),
        payload={"member": str(household.members[2].id), "death_date": "2026-01-01",
                 "place": "rumah"},
        policy=policy,
    )  # fmt: skip
    assert death.state == S.AWAITING_RT  # other types keep the default path
    await session.commit()
    with pytest.raises(NotAllowed):
        await decide_as(session, birth, RT)
    # Its own SLA: the kelurahan has two days here.
    assert await sla.overdue(session, T0 + 2 * DAY, policy) == [birth.id]
    assert await sla.overdue(session, T0 + 2 * DAY, DEFAULT_POLICY) == []


async def test_officers_only_policy_and_no_skipping(world, session) -> None:
    only_officers = parse_policy({"defaults": {"tiers": ["officer"]}}, KNOWN_KINDS)
    report = await file_birth(session, 1, policy=only_officers)
    assert (report.state, report.tiers) == (S.AWAITING_OFFICER, ["officer"])
    no_skip = parse_policy({"defaults": {"skip_own_tier": False}}, KNOWN_KINDS)
    own = await file_birth(session, 2, reporter=RT, policy=no_skip)
    await session.commit()
    assert own.state == S.AWAITING_RT
    with pytest.raises(NotAllowed):  # nobody decides their own report
        await decide_as(session, own, RT)
    await decide_as(session, own, RT_2)
    assert own.state == S.AWAITING_KELURAHAN


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"defaults": {"tiers": ["rt", "camat", "officer"]}}, "defaults.tiers: unknown tier 'camat'"),
        ({"defaults": {"tiers": ["kelurahan", "rt", "officer"]}}, "defaults.tiers: tiers must be in the order"),
        ({"defaults": {"tiers": ["rt", "rt", "officer"]}}, "defaults.tiers: tiers must be in the order"),
        ({"defaults": {"tiers": ["rt", "kelurahan"]}}, "defaults.tiers: the last tier must be 'officer'"),
        ({"defaults": {"tiers": []}}, "defaults.tiers: tiers must be a non-empty list"),
        ({"defaults": {"tiers": "officer"}}, "defaults.tiers: tiers must be a non-empty list"),
        ({"defaults": {"skip_own_tier": "yes"}}, "defaults.skip_own_tier"),
        ({"types": {"pension": {"tiers": ["officer"]}}}, "types.pension: unknown report type 'pension'"),
        ({"types": {"birth.twins": {"tiers": ["officer"]}}}, "types.birth.twins: report type 'birth' has no variants"),
        ({"types": {"birth": {"tiers": ["officer"], "sla": 2}}}, "types.birth: only 'tiers' can be set"),
        ({"types": {"birth": {}}}, "types.birth.tiers: tiers must be a non-empty list"),
        ({"types": {"birth": {"tiers": ["kelurahan"]}}}, "types.birth.tiers: the last tier must be 'officer'"),
        ({"sla_days": {"rt": 0}}, "sla_days.rt: must be a number of days above 0 and at most 3650"),
        ({"sla_days": {"rt": -1}}, "sla_days.rt: must be a number of days above 0 and at most 3650"),
        ({"sla_days": {"rt": "3"}}, "sla_days.rt: must be a number of days above 0 and at most 3650"),
        ({"sla_days": {"rt": True}}, "sla_days.rt: must be a number of days above 0 and at most 3650"),
        ({"sla_days": {"camat": 3}}, "sla_days.camat: unknown tier"),
        ({"reminders": {"every_days": 0}}, "reminders.every_days: must be a number of days"),
        ({"escalation": {"rt": 3}}, "unknown section [escalation]"),
    ],
)  # fmt: skip
def test_parse_policy_errors_name_the_key(data, key) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(data, KNOWN_KINDS)
    assert key in str(caught.value)


def test_parse_policy_accepts_fractions_of_days() -> None:
    policy = parse_policy({"sla_days": {"rt": 0.5}, "reminders": {"every_days": 0.25}}, KNOWN_KINDS)
    assert (policy.sla_for("rt"), policy.sla_for("kelurahan")) == (timedelta(hours=12), None)
    assert policy.remind_every == timedelta(hours=6)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[defaults]\ntiers = ["rt", "kelurahan"]\n', "defaults.tiers"),
        ('[types.pension]\ntiers = ["officer"]\n', "types.pension"),
        ("[sla_days]\nrt = 0\n", "sla_days.rt"),
        ("[reminders]\nevery_days = -2\n", "reminders.every_days"),
        ("[escalation]\nrt = 3\n", "[escalation]"),
        ("[defaults\ntiers = [", "line 1"),  # broken TOML: the parser's position
        ('[sla_days]\nrt = 3\nrt = 4\n', "line 3"),  # a key twice is broken TOML too
    ],
)  # fmt: skip
def test_load_policy_errors_name_the_file_and_the_key(tmp_path, text, key) -> None:
    path = tmp_path / "workflow.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert key in str(caught.value)


def test_load_policy_of_a_missing_file_names_it(tmp_path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_copy_of_the_bundled_file_loads_with_changes(tmp_path) -> None:
    text = Path(workflow.__file__).with_name("workflow.toml").read_text(encoding="utf-8")
    path = tmp_path / "workflow.toml"
    path.write_text(text.replace("rt = 3", "rt = 2") + '\n[types.birth]\ntiers = ["officer"]\n')
    policy = load_policy(path)
    assert policy.sla_for("rt") == 2 * DAY
    assert policy.tiers_for("birth", {}) == ("officer",)
    assert policy.tiers_for("dispute", {"subject": "other_household"}) == ("kelurahan", "officer")
    assert policy.tiers_for("dispute", {"subject": "desil"}) == ("rt", "kelurahan", "officer")


@pytest.mark.parametrize(
    "data",
    [{"defaults": 3}, {"sla_days": 3}, {"reminders": 1}, {"types": ["birth"]}],
    ids=["defaults", "sla_days", "reminders", "types"],
)
def test_a_section_that_is_not_a_table_is_a_config_error(data) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(data, KNOWN_KINDS)
    assert next(iter(data)) in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [{"defaults": {"skip_own_tiers": False}}, {"reminders": {"every_day": 2}}],
    ids=["defaults.skip_own_tiers", "reminders.every_day"],
)
def test_an_unknown_key_in_a_section_is_a_config_error(data) -> None:
    section = next(iter(data))
    key = next(iter(data[section]))
    with pytest.raises(ConfigError) as caught:
        parse_policy(data, KNOWN_KINDS)
    assert f"{section}.{key}" in str(caught.value)


@pytest.mark.parametrize("days", [float("inf"), float("nan"), 1e12])
def test_an_impossible_number_of_days_is_a_config_error(days) -> None:
    with pytest.raises(ConfigError, match=r"sla_days\.rt"):
        parse_policy({"sla_days": {"rt": days}}, KNOWN_KINDS)


# ---------------------------------------------------------------------------------------
# 3. Concurrency
# ---------------------------------------------------------------------------------------


async def test_two_rt_heads_deciding_at_once_one_wins(world, maker) -> None:
    async with maker() as s:
        report = await file_birth(s)
        await s.commit()
        version = report.version

    async def press(telegram_id: int, approve: bool) -> str:
        async with maker() as s:
            r = await workflow.get_report(s, report.id)
            try:
                await decide_as(
                    s, r, telegram_id, approve=approve, reason_code=None if approve else "not_true",
                    expected_version=version,
                )  # fmt: skip
                await s.commit()
                return "approved" if approve else "rejected"
            except AlreadyDecided:
                return "already"

    results = await asyncio.gather(press(RT, True), press(RT_2, False))
    assert sorted(results)[0] == "already" and len(set(results)) == 2
    winner = next(r for r in results if r != "already")
    after = await fresh(maker, report.id)
    assert after.state == {"approved": S.AWAITING_KELURAHAN, "rejected": S.REJECTED}[winner]
    assert [e.from_state for e in after.events] == [None, S.SUBMITTED, S.AWAITING_RT]
    # The loser's button is stale for good, even for a later press.
    async with maker() as s:
        r = await workflow.get_report(s, report.id)
        with pytest.raises(AlreadyDecided):
            await decide_as(s, r, RT_2, expected_version=version)


async def test_a_question_and_an_approval_at_once(world, maker) -> None:
    async with maker() as s:
        report = await build(s, S.AWAITING_KELURAHAN, 1)
        version = report.version

    async def ask() -> str:
        async with maker() as s:
            r = await workflow.get_report(s, report.id)
            try:
                await workflow.ask_info(s, r, await who(s, LURAH), "?", expected_version=version)
                await s.commit()
                return "asked"
            except AlreadyDecided:
                return "already"

    async def approve() -> str:
        async with maker() as s:
            r = await workflow.get_report(s, report.id)
            try:
                await decide_as(s, r, LURAH_2, expected_version=version)
                await s.commit()
                return "approved"
            except AlreadyDecided:
                return "already"

    results = await asyncio.gather(ask(), approve())
    assert sorted(results) in (["already", "asked"], ["already", "approved"])
    after = await fresh(maker, report.id)
    assert len(after.events) == 4
    assert after.state == (S.NEEDS_INFO if "asked" in results else S.AWAITING_OFFICER)


async def test_a_reminder_keeps_the_reviewers_buttons_valid(world, maker) -> None:
    async with maker() as s:
        report = await file_birth(s, now=T0)
        await s.commit()
        version = report.version
    async with maker() as s:
        assert [r.id for r in await sla.claim_reminders(s, T0 + DAY, DEFAULT_POLICY)] == [report.id]
        await s.commit()
    after = await fresh(maker, report.id)
    assert (after.reminded_at, after.version) == (T0 + DAY, version)
    async with maker() as s:  # a card sent before the reminder
        r = await workflow.get_report(s, report.id)
        await decide_as(s, r, RT, expected_version=version)
        await s.commit()
    assert (await fresh(maker, report.id)).state == S.AWAITING_KELURAHAN


async def test_a_reminder_claimed_while_a_reviewer_decides(world, maker) -> None:
    """The reviewer loaded the report before the reminder was claimed by the scheduler:
    the next tier's reminder clock still starts at the decision."""
    async with maker() as s:
        report = await file_birth(s, now=T0)
        await s.commit()
    async with maker() as reviewer_session:
        r = await workflow.get_report(reviewer_session, report.id)
        async with maker() as s:
            assert len(await sla.claim_reminders(s, T0 + DAY, DEFAULT_POLICY)) == 1
            await s.commit()
        await decide_as(reviewer_session, r, RT, expected_version=r.version)
        await reviewer_session.commit()
    after = await fresh(maker, report.id)
    assert after.state == S.AWAITING_KELURAHAN
    async with maker() as s:  # a minute after it arrived, the lurahs are not reminded yet
        soon = after.tier_since + timedelta(minutes=1)
        assert await sla.claim_reminders(s, soon, DEFAULT_POLICY) == []
    assert after.reminded_at is None


async def test_two_officers_applying_two_duplicates_at_once(world, maker) -> None:
    """Both reports add the same baby; whoever is second is told it was decided (on
    PostgreSQL too, where both transactions touch both reports)."""
    async with maker() as s:
        first = await file_birth(s, name="Raka Pratama")
        second = await file_birth(s, name="raka  pratama")
        for report in (first, second):
            await decide_as(s, report, RT)
            await decide_as(s, report, LURAH)
        await s.commit()

    async def press(report_id: int, telegram_id: int) -> str:
        async with maker() as s:
            r = await workflow.get_report(s, report_id)
            try:
                await decide_as(s, r, telegram_id, expected_version=r.version)
                await s.commit()
                return "applied"
            except (AlreadyDecided, IllegalTransition):
                return "refused"

    results = await asyncio.gather(press(first.id, OFFICER), press(second.id, OFFICER_CITY))
    assert sorted(results) == ["applied", "refused"]
    async with maker() as s:
        babies = select(func.count()).select_from(Member).where(Member.name.ilike("raka%"))
        assert await s.scalar(babies) == 1
        states = sorted([(await workflow.get_report(s, i)).state for i in (first.id, second.id)])
        assert states == [S.APPLIED, S.REJECTED]


# ---------------------------------------------------------------------------------------
# 4. SLA: reminders and escalation with a controllable clock
# ---------------------------------------------------------------------------------------


async def test_reminders_are_claimed_once_a_day(world, maker) -> None:
    async with maker() as s:
        report = await file_birth(s, now=T0)
        await s.commit()

    async def claim(now: datetime) -> list[int]:
        async with maker() as s:
            claimed = [r.id for r in await sla.claim_reminders(s, now, DEFAULT_POLICY)]
            await s.commit()
            return claimed

    assert await claim(T0 + timedelta(hours=23)) == []
    assert await claim(T0 + DAY) == [report.id]
    assert await claim(T0 + DAY) == []  # a restart at the same moment
    assert await claim(T0 + DAY + timedelta(hours=23)) == []
    assert await claim(T0 + 2 * DAY) == [report.id]
    assert (await fresh(maker, report.id)).reminded_at == T0 + 2 * DAY


async def test_escalation_after_the_sla_moves_the_report_on(world, maker) -> None:
    async with maker() as s:
        report = await file_birth(s, now=T0)
        await s.commit()
    policy = DEFAULT_POLICY
    async with maker() as s:
        assert await sla.claim_reminders(s, T0 + 2 * DAY, policy)
        await s.commit()
        assert await sla.overdue(s, T0 + 3 * DAY - timedelta(seconds=1), policy) == []
        assert await sla.escalate_if_due(s, report.id, T0 + 3 * DAY - timedelta(seconds=1), policy) is None  # fmt: skip
        assert await sla.overdue(s, T0 + 3 * DAY, policy) == [report.id]
    async with maker() as s:
        decision = await sla.escalate_if_due(s, report.id, T0 + 3 * DAY, policy)
        assert decision is not None
        assert (decision.from_state, decision.to_state) == (S.AWAITING_RT, S.AWAITING_KELURAHAN)
        await s.commit()
    after = await fresh(maker, report.id)
    last = after.events[-1]
    assert (last.actor_account_id, last.from_state, last.to_state, last.reason_code) == (
        None, S.AWAITING_RT, S.AWAITING_KELURAHAN, S.ESCALATED,
    )  # fmt: skip
    assert (last.note, last.created_at) == ("3", T0 + 3 * DAY)
    # The kelurahan's clock starts now: the reminder of day 2 does not count.
    assert (after.state, after.tier_since, after.reminded_at) == (
        S.AWAITING_KELURAHAN, T0 + 3 * DAY, None,
    )  # fmt: skip
    async with maker() as s:
        assert await sla.claim_reminders(s, T0 + 3 * DAY + timedelta(hours=23), policy) == []
        assert len(await sla.claim_reminders(s, T0 + 4 * DAY, policy)) == 1
        await s.commit()
    # The kelurahan has five days, then the officers have it for good.
    async with maker() as s:
        assert await sla.escalate_if_due(s, report.id, T0 + 8 * DAY - timedelta(minutes=1), policy) is None  # fmt: skip
        decision = await sla.escalate_if_due(s, report.id, T0 + 8 * DAY, policy)
        assert decision is not None and decision.to_state == S.AWAITING_OFFICER
        await s.commit()
    async with maker() as s:
        far = T0 + 400 * DAY
        assert await sla.overdue(s, far, policy) == []
        assert await sla.escalate_if_due(s, report.id, far, policy) is None
        # ... and are still reminded.
        assert [r.id for r in await sla.claim_reminders(s, far, policy)] == [report.id]
        await s.commit()
    after = await fresh(maker, report.id)
    assert after.state == S.AWAITING_OFFICER
    assert [e.reason_code for e in after.events].count(S.ESCALATED) == 2


async def test_escalation_follows_the_reports_own_path(world, maker) -> None:
    """A path without the kelurahan escalates from the RT head straight to the officers."""
    policy = parse_policy({"types": {"birth": {"tiers": ["rt", "officer"]}}}, KNOWN_KINDS)
    async with maker() as s:
        report = await file_birth(s, policy=policy, now=T0)
        await s.commit()
    async with maker() as s:
        decision = await sla.escalate_if_due(s, report.id, T0 + 3 * DAY, DEFAULT_POLICY)
        assert decision is not None and decision.to_state == S.AWAITING_OFFICER
        await s.commit()


@pytest.mark.parametrize("verdict", ["approve", "reject"])
async def test_a_report_decided_meanwhile_is_not_escalated(world, maker, verdict) -> None:
    async with maker() as s:
        report = await file_birth(s, now=T0)
        await s.commit()
    async with maker() as scheduler:
        assert await sla.overdue(scheduler, T0 + 5 * DAY, DEFAULT_POLICY) == [report.id]
        async with maker() as s:  # the RT head presses while the scheduler works
            r = await workflow.get_report(s, report.id)
            if verdict == "approve":
                await decide_as(s, r, RT)
            else:
                await decide_as(s, r, RT, approve=False, reason_code="no_evidence")
            await s.commit()
        assert await sla.escalate_if_due(scheduler, report.id, T0 + 5 * DAY, DEFAULT_POLICY) is None
        await scheduler.commit()
    after = await fresh(maker, report.id)
    assert after.state == (S.AWAITING_KELURAHAN if verdict == "approve" else S.REJECTED)
    assert S.ESCALATED not in [e.reason_code for e in after.events]
    assert len(after.events) == 3


async def test_a_report_waiting_for_an_answer_is_neither_escalated_nor_reminded(
    world, maker
) -> None:
    async with maker() as s:
        report = await file_birth(s, now=T0)
        await workflow.ask_info(s, report, await who(s, RT), "Nama ibunya?")
        await s.commit()
    async with maker() as s:
        far = datetime(2099, 1, 1)
        assert await sla.overdue(s, far, DEFAULT_POLICY) == []
        assert await sla.escalate_if_due(s, report.id, far, DEFAULT_POLICY) is None
        assert await sla.claim_reminders(s, far, DEFAULT_POLICY) == []


async def test_reports_at_the_last_tier_do_not_starve_escalations(world, maker) -> None:
    async with maker() as s:
        at_officers = await file_birth(s, 1, reporter=LURAH, now=T0)  # the lurah's: officers
        at_rt = await file_birth(s, 2, now=T0 + DAY)
        await s.commit()
    assert at_officers.state == S.AWAITING_OFFICER
    async with maker() as s:
        assert await sla.overdue(s, T0 + 30 * DAY, DEFAULT_POLICY, limit=1) == [at_rt.id]


async def test_remind_queues_one_digest_per_reviewer(world, maker) -> None:
    async with maker() as s:
        sari_1 = await file_birth(s, 1, now=T0)
        sari_2 = await file_birth(s, 2, now=T0 + timedelta(hours=1))
        hartono = await file_birth(s, 3, family=HARTONO, now=T0)
        await s.commit()
    async with maker() as s:
        assert await sla_flows.remind(s, T0 + 2 * DAY, DEFAULT_POLICY) == 3
        await s.commit()
    async with maker() as s:
        rows = await outbox(s)
        assert {row.purpose for row in rows} == {"reminder"}
        by_chat = {row.chat_id: row.message for row in rows}
        assert sorted(by_chat) == [RT, RT_NEIGHBOUR, RT_2]  # not one message per report
        for chat in (RT, RT_2):
            text = by_chat[chat]["text"]
            assert sari_1.number in text and sari_2.number in text
            assert hartono.number not in text
            callbacks = [b["data"] for row in by_chat[chat]["buttons"] for b in row]
            assert callbacks == [f"rq:{sari_1.id}", f"rq:{sari_2.id}"]
        assert hartono.number in by_chat[RT_NEIGHBOUR]["text"]
        assert sari_1.number not in by_chat[RT_NEIGHBOUR]["text"]
    async with maker() as s:  # again at the same moment: nothing new
        assert await sla_flows.remind(s, T0 + 2 * DAY, DEFAULT_POLICY) == 0
        await s.commit()
        assert len(await outbox(s)) == 3


async def test_the_reporter_is_not_reminded_of_their_own_report(world, maker) -> None:
    async with maker() as s:
        await file_birth(s, reporter=RT_2, policy=parse_policy(
            {"defaults": {"skip_own_tier": False}}, KNOWN_KINDS), now=T0)  # fmt: skip
        await s.commit()
    async with maker() as s:
        assert await sla_flows.remind(s, T0 + DAY, DEFAULT_POLICY) == 1
        await s.commit()
        assert [row.chat_id for row in await outbox(s)] == [RT]


async def test_escalate_queues_the_reporters_update_and_the_new_tiers_cards(world, maker) -> None:
    async with maker() as s:
        report = await file_birth(s, now=T0)
        await s.commit()
    async with maker() as s:
        assert await sla_flows.escalate(s, report.id, T0 + 2 * DAY, DEFAULT_POLICY) is False
        assert await sla_flows.escalate(s, report.id, T0 + 3 * DAY, DEFAULT_POLICY) is True
        await s.commit()
    after = await fresh(maker, report.id)
    async with maker() as s:
        rows = await outbox(s)
    assert {row.purpose for row in rows} == {"review"}
    chats = [row.chat_id for row in rows]
    assert sorted(set(chats)) == [LURAH, LURAH_2, REPORTER]
    assert chats.count(REPORTER) == 1
    reporter_text = next(row.message["text"] for row in rows if row.chat_id == REPORTER)
    assert after.number in reporter_text
    for lurah in (LURAH, LURAH_2):
        messages = [row.message for row in rows if row.chat_id == lurah]
        assert len(messages) == 2  # the note that it was escalated, then the card
        callbacks = [b["data"] for row in messages[-1]["buttons"] for b in row]
        assert f"rv:{after.id}:{after.version}:y" in callbacks  # valid buttons
    assert RT not in chats
    async with maker() as s:  # nothing more is due at the same moment
        assert await sla_flows.escalate(s, report.id, T0 + 3 * DAY, DEFAULT_POLICY) is False
        await s.commit()
        assert len(await outbox(s)) == len(rows)


async def test_the_scheduler_does_nothing_twice(world, maker) -> None:
    async with maker() as s:
        await file_birth(s, now=T0)
        await s.commit()
    clock = [T0 + DAY]
    wakes = []
    scheduler = SlaScheduler(
        maker, DEFAULT_POLICY, 3600, clock=lambda: clock[0], on_queued=lambda: wakes.append(1)
    )
    assert await scheduler.run_once() == (0, 2)  # reminders to both RT heads
    async with maker() as s:
        queued = len(await outbox(s))
    assert await scheduler.run_once() == (0, 0)  # restarted at the same moment
    clock[0] = T0 + 3 * DAY
    assert await scheduler.run_once() == (1, 0)  # escalated; the kelurahan's clock is new
    assert await scheduler.run_once() == (0, 0)
    async with maker() as s:
        rows = await outbox(s)
    assert queued == 2 and {r.purpose for r in rows[queued:]} == {"review"}
    assert len(wakes) == 2


# ---------------------------------------------------------------------------------------
# 5. Conflicts and duplicates
# ---------------------------------------------------------------------------------------


async def test_a_death_and_a_move_of_the_same_member_conflict(world, session) -> None:
    household = await household_by_kk(session, SARI.kk)
    dewi, budi = household.members[2], household.members[0]
    reporter = await who(session, REPORTER)
    death = await workflow.submit_report(
        session, kind="death", household=household, reporter=reporter,
        payload={"member": str(dewi.id), "death_date": "2026-01-02", "place": "rumah"},
    )  # fmt: skip
    move = await workflow.submit_report(
        session, kind="move_out", household=household, reporter=reporter,
        payload={"scope": "one", "member": str(dewi.id), "destination": {"text": "Jambi"},
                 "move_date": "2026-01-03"},
    )  # fmt: skip
    other_move = await workflow.submit_report(
        session, kind="move_out", household=household, reporter=reporter,
        payload={"scope": "one", "member": str(budi.id), "destination": {"text": "Jambi"},
                 "move_date": "2026-01-03"},
    )  # fmt: skip
    await session.commit()
    relations = {
        r.id: [(link.other.id, link.relation) for link in await links.links_of(session, r)]
        for r in (death, move, other_move)
    }
    assert relations == {
        death.id: [(move.id, links.CONFLICT)],
        move.id: [(death.id, links.CONFLICT)],
        other_move.id: [],
    }
    # The whole household moving conflicts with both.
    everyone = await workflow.submit_report(
        session, kind="move_out", household=household, reporter=reporter,
        payload={"scope": "all", "destination": {"text": "Jambi"}, "move_date": "2026-01-04"},
    )  # fmt: skip
    assert [(link.other.id, link.relation) for link in await links.links_of(session, everyone)] == [
        (death.id, links.CONFLICT), (move.id, links.CONFLICT), (other_move.id, links.CONFLICT),
    ]  # fmt: skip


async def test_two_reports_of_one_birth_are_duplicates(world, session) -> None:
    first = await file_birth(session, 5, name="Raka Pratama")
    second = await file_birth(session, 5, name="  raka\tPRATAMA ", reporter=RESIDENT)
    await session.commit()
    assert [(link.other.id, link.relation) for link in await links.links_of(session, second)] == [
        (first.id, links.DUPLICATE)
    ]
    assert [(link.other.id, link.relation) for link in await links.links_of(session, first)] == [
        (second.id, links.DUPLICATE)
    ]
    members_before = len((await household_by_kk(session, SARI.kk)).members)
    await decide_as(session, second, RT)  # the duplicate got one step further meanwhile
    for reviewer in (RT, LURAH):
        await decide_as(session, first, reviewer)
    decision = await decide_as(session, first, OFFICER)
    assert decision.to_state == S.APPLIED
    assert [r.id for r in decision.closed] == [second.id]
    assert second.state == S.REJECTED
    last = second.events[-1]
    assert (last.actor_account_id, last.from_state, last.reason_code, last.note) == (
        None, S.AWAITING_KELURAHAN, "duplicate", first.number,
    )  # fmt: skip
    # Both reporters hear of it.
    assert await notify_decision(session, decision) >= 2
    second_number = second.number
    await session.commit()
    session.expunge_all()
    household = await household_by_kk(session, SARI.kk)
    assert len(household.members) == members_before + 1
    assert [m.name for m in household.members].count("Raka Pratama") == 1
    resident_chat = [
        row.message["text"] for row in await outbox(session) if row.chat_id == RESIDENT
    ]
    assert len(resident_chat) == 1 and second_number in resident_chat[0]


async def test_a_duplicate_waiting_for_an_answer_is_closed_too(world, session) -> None:
    first = await file_birth(session, 5, name="Raka")
    second = await file_birth(session, 5, name="RAKA", reporter=RESIDENT)
    await workflow.ask_info(session, second, await who(session, RT), "Siapa ibunya?")
    for reviewer in (RT, LURAH, OFFICER):
        decision = await decide_as(session, first, reviewer)
    assert [r.id for r in decision.closed] == [second.id]
    assert (second.state, second.events[-1].from_state) == (S.REJECTED, S.NEEDS_INFO)
    with pytest.raises(IllegalTransition):  # its reporter can no longer answer
        await workflow.answer_info(session, second, await who(session, RESIDENT), answer="x")


async def test_a_duplicate_of_an_applied_report_cannot_be_approved(world, session) -> None:
    first = await build(session, S.APPLIED, 5)
    late = await file_birth(session, 5, reporter=RESIDENT)
    await session.commit()
    assert [(link.other.id, link.relation) for link in await links.links_of(session, late)] == [
        (first.id, links.DUPLICATE)
    ]
    with pytest.raises(IllegalTransition) as caught:
        await decide_as(session, late, RT)
    assert first.number in str(caught.value)
    assert late.state == S.AWAITING_RT and len(late.events) == 2
    await decide_as(session, late, RT, approve=False, reason_code="duplicate")
    assert late.state == S.REJECTED


async def test_unrelated_reports_are_not_linked(world, session) -> None:
    household = await household_by_kk(session, SARI.kk)
    reporter = await who(session, REPORTER)
    reports = [
        await file_birth(session, 1, name="Raka"),
        await file_birth(session, 2, name="Raka"),  # another day: twins are not one birth
        await file_birth(session, 1, name="Rani"),
        await file_birth(session, 1, name="Raka", family=HARTONO),  # another household
        await workflow.submit_report(
            session, kind="death", household=household, reporter=reporter,
            payload={"member": str(household.members[0].id), "death_date": "2026-01-02",
                     "place": "rumah"},
        ),
        await workflow.submit_report(
            session, kind="move_out", household=household, reporter=reporter,
            payload={"scope": "one", "member": str(household.members[2].id),
                     "destination": {"text": "Jambi"}, "move_date": "2026-01-03"},
        ),
    ]  # fmt: skip
    await session.commit()
    for report in reports:
        assert await links.links_of(session, report) == [], report.payload
    assert await session.scalar(select(func.count()).select_from(ReportLink)) == 0


async def test_a_rejected_or_withdrawn_report_is_not_a_duplicate(world, session) -> None:
    rejected = await build(session, S.REJECTED, 5)
    withdrawn = await build(session, S.WITHDRAWN, 6)
    again = [
        await file_birth(session, 5, reporter=RESIDENT),
        await file_birth(session, 6, reporter=RESIDENT),
    ]
    assert rejected.state == S.REJECTED and withdrawn.state == S.WITHDRAWN
    for report in again:
        assert await links.links_of(session, report) == []


# ---------------------------------------------------------------------------------------
# 6. Needs info
# ---------------------------------------------------------------------------------------


async def test_only_the_current_tier_asks(world, session) -> None:
    report = await build(session, S.AWAITING_KELURAHAN, 1)
    for nobody in (REPORTER, RESIDENT, RT, RT_NEIGHBOUR, OFFICER):
        with pytest.raises(NotAllowed):
            await workflow.ask_info(session, report, await who(session, nobody), "Kapan?")
    with pytest.raises(IllegalTransition):
        await workflow.ask_info(session, report, await who(session, LURAH), "  ")
    with pytest.raises(AlreadyDecided):
        await workflow.ask_info(
            session, report, await who(session, LURAH), "Kapan?", expected_version=1
        )
    assert report.state == S.AWAITING_KELURAHAN and len(report.events) == 3
    decision = await workflow.ask_info(session, report, await who(session, LURAH_2), "Kapan?")
    assert (decision.from_state, decision.to_state) == (S.AWAITING_KELURAHAN, S.NEEDS_INFO)
    assert (report.state, report.paused_state) == (S.NEEDS_INFO, S.AWAITING_KELURAHAN)
    # Waiting for the reporter, nobody decides or asks again.
    for reviewer in (LURAH, LURAH_2, RT, OFFICER):
        with pytest.raises(IllegalTransition):
            await decide_as(session, report, reviewer)
        with pytest.raises(IllegalTransition):
            await workflow.ask_info(session, report, await who(session, reviewer), "Lagi?")


async def test_only_the_reporter_answers_and_the_report_returns_to_that_tier(
    world, session
) -> None:
    report = await build(session, S.NEEDS_INFO, 1)  # asked by the kelurahan
    for nobody in (RESIDENT, RT, LURAH, OFFICER):
        with pytest.raises(NotAllowed):
            await workflow.answer_info(session, report, await who(session, nobody), answer="Ya")
    reporter = await who(session, REPORTER)
    with pytest.raises(IllegalTransition):
        await workflow.answer_info(session, report, reporter, answer=" ")
    with pytest.raises(AlreadyDecided):
        await workflow.answer_info(session, report, reporter, answer="Ya", expected_version=1)
    decision = await workflow.answer_info(session, report, reporter, answer="Ya, ada akta.")
    assert (decision.from_state, decision.to_state) == (S.NEEDS_INFO, S.AWAITING_KELURAHAN)
    assert (report.state, report.paused_state) == (S.AWAITING_KELURAHAN, None)
    assert (report.events[-1].actor_account_id, report.events[-1].note) == (
        reporter.id, "Ya, ada akta.",
    )  # fmt: skip
    with pytest.raises(NotAllowed):  # not back to the RT head
        await decide_as(session, report, RT)
    with pytest.raises(IllegalTransition):  # answered once
        await workflow.answer_info(session, report, reporter, answer="Lagi")
    await decide_as(session, report, LURAH)
    assert report.state == S.AWAITING_OFFICER


async def test_an_edited_report_replaces_the_payload_and_adds_attachments(world, maker) -> None:
    async with maker() as s:
        household = await household_by_kk(s, SARI.kk)
        mother = household.members[1]
        report = await workflow.submit_report(
            s, kind="birth", household=household, reporter=await who(s, REPORTER),
            payload={"name": "Rak", "sex": "M", "birth_date": "2026-01-01",
                     "mother": str(mother.id)},
            attachments=[{"field": "evidence", "kind": "photo", "file_id": "F1",
                          "unique_id": "U1"}],
        )  # fmt: skip
        await workflow.ask_info(s, report, await who(s, RT), "Namanya lengkap?")
        await s.commit()
        edited = {**report.payload, "name": "Raka Pratama"}
        await workflow.answer_info(
            s, report, await who(s, REPORTER), payload=edited,
            attachments=[{"field": "evidence", "kind": "document", "file_id": "F2",
                          "unique_id": "U2"}],
            expected_version=report.version,
        )  # fmt: skip
        await s.commit()
    after = await fresh(maker, report.id)
    assert after.payload["name"] == "Raka Pratama"
    assert after.state == S.AWAITING_RT
    assert [(a.file_id, a.kind) for a in after.attachments] == [("F1", "photo"), ("F2", "document")]
    assert after.events[-1].note is None  # edited without words
    async with maker() as s:
        for reviewer in (RT, LURAH, OFFICER):
            await decide_as(s, await workflow.get_report(s, report.id), reviewer)
        await s.commit()
        names = [m.name for m in (await household_by_kk(s, SARI.kk)).members]
    assert "Raka Pratama" in names and "Rak" not in names


async def _ask_and_edit(session, report: Report, **changes) -> None:
    await workflow.ask_info(session, report, await who(session, RT), "Bayi yang sama?")
    reporter = await session.get(Account, report.reporter_account_id)
    await session.refresh(reporter, ["roles"])
    await workflow.answer_info(session, report, reporter, payload={**report.payload, **changes})


async def test_a_report_edited_into_a_duplicate_is_linked(world, session) -> None:
    first = await file_birth(session, 5, name="Raka")
    second = await file_birth(session, 5, name="Rakha", reporter=RESIDENT)
    assert await links.links_of(session, second) == []
    await _ask_and_edit(session, second, name="raka")  # the RT head: "is it Raka?"
    for reviewer in (RT, LURAH, OFFICER):
        decision = await decide_as(session, first, reviewer)
    assert [r.id for r in decision.closed] == [second.id]


async def test_a_report_edited_away_from_a_duplicate_is_not_closed(world, session) -> None:
    first = await file_birth(session, 5, name="Raka")
    twin = await file_birth(session, 5, name="Raka", reporter=RESIDENT)
    await _ask_and_edit(session, twin, name="Rani")  # "no, this is his twin sister"
    for reviewer in (RT, LURAH, OFFICER):
        decision = await decide_as(session, first, reviewer)
    assert decision.closed == []
    assert twin.state == S.AWAITING_RT


async def test_the_reporter_withdraws_until_it_is_approved(world, session) -> None:
    reporter = await who(session, REPORTER)
    for n, state in enumerate((S.AWAITING_RT, S.AWAITING_OFFICER, S.NEEDS_INFO), start=1):
        report = await build(session, state, n)
        with pytest.raises(NotAllowed):
            await workflow.withdraw(session, report, await who(session, RT))
        decision = await workflow.withdraw(session, report, reporter, note="Salah isi")
        assert (decision.from_state, decision.to_state) == (state, S.WITHDRAWN)
        assert report.paused_state is None
        assert (report.events[-1].actor_account_id, report.events[-1].note) == (
            reporter.id, "Salah isi",
        )  # fmt: skip
        with pytest.raises(IllegalTransition):
            await workflow.withdraw(session, report, reporter)
        with pytest.raises(AlreadyDecided):
            await decide_as(session, report, TIER_REVIEWER.get(state, RT))
    for n, state in enumerate((S.APPROVED, S.APPLIED, S.REJECTED), start=10):
        report = await build(session, state, n)
        with pytest.raises(IllegalTransition):
            await workflow.withdraw(session, report, reporter)
        assert report.state == state


async def test_a_withdrawal_racing_a_decision(world, maker) -> None:
    async with maker() as s:
        report = await file_birth(s)
        await s.commit()
    async with maker() as reviewer_session:
        r = await workflow.get_report(reviewer_session, report.id)
        version = r.version
        async with maker() as s:
            await workflow.withdraw(
                s, await workflow.get_report(s, report.id), await who(s, REPORTER)
            )
            await s.commit()
        with pytest.raises(AlreadyDecided):
            await decide_as(reviewer_session, r, RT, expected_version=version)
    after = await fresh(maker, report.id)
    assert after.state == S.WITHDRAWN
    assert await _event_count(maker, report.id) == 3


async def _event_count(maker, report_id: int) -> int:
    async with maker() as s:
        return await s.scalar(
            select(func.count()).select_from(ReportEvent).where(ReportEvent.report_id == report_id)
        )
