"""Applying approved reports to the registry: every report kind, end to end.

Each report is filed with the payload its form produces (registry ids as strings,
dates as ISO text, region answers as {"code", "name"} or {"text"}), approved by the
RT head, the lurah and the officer, and then read back from the database.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select, update

from registry import workflow
from registry.accounts import ReviewArea, account_by_telegram_id, ensure_account
from registry.errors import DomainError
from registry.history import household_as_of, household_history
from registry.households import (
    household_by_kk,
    household_snapshot,
    member_by_nik,
    member_snapshot,
)
from registry.nik import make_nik
from storage.models import Account, Household, HouseholdFlag, Member, RegistryRevision, Report
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE
from tests.helpers.world import registry_world

RT, LURAH, OFFICER, REPORTER = 1, 3, 4, 100
NEW_AREA = ReviewArea(VILLAGE, 4, 1)  # an RT where no household is registered yet
HOME = {"code": VILLAGE, "name": "Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang"}
SATU_ULU = {"code": "16.71.02.1002", "name": "Satu Ulu, Seberang Ulu Satu, Kota Palembang"}
LAHAT = {"code": "16.04.01.2001", "name": "Kembang Ayun, Tanjungsakti Pumu, Kabupaten Lahat"}


@pytest.fixture
async def reporter(session, tmp_path) -> Account:
    """The synthetic families in the registry, reviewers for their area, and a resident."""
    areas = [(SARI.rw, SARI.rt), (HARTONO.rw, HARTONO.rt), (NEW_AREA.rw, NEW_AREA.rt)]
    await registry_world(
        session, tmp_path, rt={RT: areas}, lurah=[LURAH], officers={OFFICER: "16.71.01"}
    )
    account = await ensure_account(session, REPORTER)
    await session.commit()
    return account


def assert_revision(revision, action, household_id, member_id, before, after) -> None:
    assert (revision.action, revision.household_id, revision.member_id) == (
        action, household_id, member_id,
    )  # fmt: skip
    assert (revision.before, revision.after) == (before, after)


TIER_REVIEWER = {"rt": RT, "kelurahan": LURAH, "officer": OFFICER}


async def approve(
    session, report: Report, reviewers: tuple[int, ...] | None = None
) -> tuple[Report, list[RegistryRevision]]:
    """Approve the report at each tier of its path, commit, and read it and its revisions
    back. The session is emptied afterwards, so every later lookup reads the database."""
    for telegram_id in reviewers or [TIER_REVIEWER[t] for t in report.tiers]:
        reviewer = await account_by_telegram_id(session, telegram_id)
        await workflow.decide(session, report, reviewer, approve=True)
    await session.commit()
    session.expunge_all()
    report = await session.get(Report, report.id)
    revisions = list(
        await session.scalars(
            select(RegistryRevision)
            .where(RegistryRevision.report_id == report.id)
            .order_by(RegistryRevision.id)
        )
    )
    officer = await account_by_telegram_id(session, OFFICER)
    assert all(r.approved_by_account_id == officer.id for r in revisions)
    return report, revisions


async def test_birth_adds_the_baby_to_the_mothers_household(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    people = {m.name: m for m in household.members}
    mother = people["Sari Wulandari"]
    report = await workflow.submit_report(
        session, kind="birth", household=household, reporter=reporter,
        payload={"name": "Raka Pratama", "sex": "M", "birth_date": "2026-10-01",
                 "mother": str(mother.id), "_labels": {"mother": {str(mother.id): mother.name}}},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    household = await household_by_kk(session, SARI.kk)
    assert [m.name for m in household.members] == [p.name for p in SARI.people] + ["Raka Pratama"]
    baby = household.members[-1]
    assert (baby.nik, baby.sex, baby.birth_date, baby.relationship, baby.status) == (
        None, "M", date(2026, 10, 1), "child", "alive",
    )  # fmt: skip
    assert baby.details == {"mother_id": mother.id}
    [revision] = revisions
    assert_revision(revision, "member_added", household.id, baby.id, None, member_snapshot(baby))


async def test_death_marks_the_member_deceased(session, reporter) -> None:
    household = await household_by_kk(session, HARTONO.kk)
    before, widow = (member_snapshot(m) for m in household.members)  # Hartono, Ani
    report = await workflow.submit_report(
        session, kind="death", household=household, reporter=reporter,
        payload={"member": str(before["id"]), "death_date": "2026-09-14",
                 "place": "RSUD Palembang"},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    hartono = await session.get(Member, before["id"])
    assert (hartono.status, hartono.household_id) == ("deceased", household.id)
    assert hartono.details == {"death_date": "2026-09-14", "death_place": "RSUD Palembang"}
    ani = await session.get(Member, widow["id"])
    assert ani.relationship == "head"  # the widow heads the household now
    revision, succession = revisions
    assert_revision(
        revision, "member_deceased", household.id, hartono.id, before, member_snapshot(hartono)
    )
    assert (succession.action, succession.member_id) == ("member_changed", ani.id)
    assert (succession.before, succession.after) == (widow, member_snapshot(ani))


async def test_move_out_of_one_member(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    people = {m.name: m for m in household.members}
    before = member_snapshot(people["Dewi Lestari"])
    report = await workflow.submit_report(
        session, kind="move_out", household=household, reporter=reporter,
        payload={"scope": "one", "member": str(before["id"]), "destination": SATU_ULU,
                 "move_date": "2026-07-20"},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    household = await household_by_kk(session, SARI.kk)
    dewi = await session.get(Member, before["id"])
    assert (dewi.status, dewi.household_id) == ("moved", household.id)
    assert dewi.details == {"moved_to": SATU_ULU, "moved_on": "2026-07-20"}
    assert [m.name for m in household.members if m.status == "alive"] == [
        "Budi Santoso", "Sari Wulandari",
    ]  # fmt: skip
    [revision] = revisions
    assert_revision(
        revision, "member_moved_out", household.id, dewi.id, before, member_snapshot(dewi)
    )


async def test_move_out_of_the_whole_household_abroad(session, reporter) -> None:
    household = await household_by_kk(session, HARTONO.kk)
    before = [member_snapshot(m) for m in household.members]
    abroad = {"text": "Johor Bahru, Malaysia"}
    report = await workflow.submit_report(
        session, kind="move_out", household=household, reporter=reporter,
        payload={"scope": "all", "destination": abroad, "move_date": "2026-08-01"},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    household = await household_by_kk(session, HARTONO.kk)
    assert [(m.status, m.details) for m in household.members] == [
        ("moved", {"moved_to": abroad, "moved_on": "2026-08-01"})
    ] * 2
    assert [(r.action, r.household_id, r.member_id) for r in revisions] == [
        ("member_moved_out", household.id, m["id"]) for m in before
    ]
    assert [r.before for r in revisions] == before
    assert [r.after for r in revisions] == [member_snapshot(m) for m in household.members]


async def test_move_in_of_a_new_person(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    nik = make_nik("16.04.01", date(1958, 7, 20), "F", 9301)
    report = await workflow.submit_report(
        session, kind="move_in", household=household, reporter=reporter,
        payload={"nik": nik, "name": "Siti Aminah", "sex": "F", "birth_date": "1958-07-20",
                 "relationship": "parent", "origin": LAHAT},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    household = await household_by_kk(session, SARI.kk)
    assert len(household.members) == 4
    siti = household.members[-1]
    assert siti.name == "Siti Aminah"
    assert (siti.nik, siti.sex, siti.birth_date, siti.relationship, siti.status) == (
        nik, "F", date(1958, 7, 20), "parent", "alive",
    )  # fmt: skip
    assert siti.details == {"moved_from": LAHAT}
    [revision] = revisions
    assert_revision(revision, "member_added", household.id, siti.id, None, member_snapshot(siti))


async def test_move_in_of_a_member_of_another_household(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    old = await household_by_kk(session, HARTONO.kk)
    before = member_snapshot(old.members[1])  # Ani, Hartono's wife
    report = await workflow.submit_report(
        session, kind="move_in", household=household, reporter=reporter,
        payload={"nik": before["nik"], "name": "Ani Rahmawati", "sex": "F",
                 "birth_date": "1963-12-01", "relationship": "parent_in_law", "origin": HOME},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    ani = await member_by_nik(session, before["nik"])  # the same row, not a copy
    assert ani.id == before["id"]
    assert (ani.household_id, ani.relationship, ani.status) == (
        household.id, "parent_in_law", "alive",
    )  # fmt: skip
    assert ani.details == {"moved_from": HOME}
    assert await session.scalar(select(func.count()).select_from(Member)) == 5
    old = await household_by_kk(session, HARTONO.kk)
    assert [m.name for m in old.members] == ["Hartono"]
    assert [(r.action, r.household_id, r.member_id) for r in revisions] == [
        ("member_moved_in", household.id, ani.id),
        ("member_left", old.id, ani.id),
    ]
    assert [(r.before, r.after) for r in revisions] == [
        (before, member_snapshot(ani)),
        (before, None),
    ]


async def test_marriage_without_a_new_household(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    budi, sari, dewi = (member_snapshot(m) for m in household.members)
    report = await workflow.submit_report(
        session, kind="marriage", household=household, reporter=reporter,
        payload={"event": "married", "members": [str(budi["id"]), str(sari["id"])],
                 "partner": None, "event_date": "2013-06-08", "new_household": "no"},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    household = await household_by_kk(session, SARI.kk)
    married = {"marital": "married", "marital_since": "2013-06-08"}
    assert [m.details for m in household.members] == [married, married, {}]
    assert [m.relationship for m in household.members] == ["head", "spouse", "child"]
    assert member_snapshot(household.members[2]) == dewi
    assert await session.scalar(select(func.count()).select_from(Household)) == 2
    assert [(r.action, r.household_id, r.member_id) for r in revisions] == [
        ("member_changed", household.id, budi["id"]),
        ("member_changed", household.id, sari["id"]),
    ]
    assert [r.before for r in revisions] == [budi, sari]
    assert [r.after for r in revisions] == [member_snapshot(m) for m in household.members[:2]]


async def test_divorce_with_the_head_leaving_for_a_new_household(session, reporter) -> None:
    old = await household_by_kk(session, SARI.kk)
    budi, sari, dewi = old.members
    new_kk = "1671010403260002"
    report = await workflow.submit_report(
        session, kind="marriage", household=old, reporter=reporter,
        payload={"event": "divorced", "members": [str(budi.id), str(sari.id)], "partner": None,
                 "event_date": "2026-03-02", "new_household": "yes",
                 "leaving": [str(budi.id), str(dewi.id)], "new_kk": new_kk},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    divorced = {"marital": "divorced", "marital_since": "2026-03-02"}
    new = await household_by_kk(session, new_kk)
    assert (new.address, new.region_code, new.rw, new.rt, new.desil) == (
        SARI.address, VILLAGE, SARI.rw, SARI.rt, None,
    )  # fmt: skip
    assert new.details == {"split_from": old.id}
    # The father heads the new household and his daughter stays his child.
    assert [(m.name, m.relationship, m.details) for m in new.members] == [
        ("Budi Santoso", "head", divorced),
        ("Dewi Lestari", "child", {}),
    ]
    old = await household_by_kk(session, SARI.kk)
    assert [(m.name, m.relationship, m.details) for m in old.members] == [
        ("Sari Wulandari", "head", divorced)  # the spouse heads the old household now
    ]
    assert [(r.action, r.household_id, r.member_id) for r in revisions] == [
        ("member_changed", old.id, budi.id),
        ("member_changed", old.id, sari.id),
        ("household_added", new.id, None),
        ("member_moved_in", new.id, budi.id),
        ("member_left", old.id, budi.id),
        ("member_moved_in", new.id, dewi.id),
        ("member_left", old.id, dewi.id),
        ("member_changed", old.id, sari.id),
    ]
    assert revisions[2].before is None
    assert revisions[2].after == {
        "kk": new_kk, "address": SARI.address, "region_code": VILLAGE, "rw": SARI.rw,
        "rt": SARI.rt, "details": {"split_from": old.id},
    }  # fmt: skip
    assert (revisions[3].before["household_id"], revisions[3].after["household_id"]) == (
        old.id, new.id,
    )  # fmt: skip
    assert revisions[4].after is None
    assert (revisions[-1].before["relationship"], revisions[-1].after["relationship"]) == (
        "spouse", "head",
    )  # fmt: skip


async def test_new_household_is_added_with_its_members(session, reporter) -> None:
    kk = "1671012208250004"
    location = {"latitude": -2.97412, "longitude": 104.74583}
    members = [
        {"m_name": "Rudi Hermawan", "m_nik": make_nik("16.71.01", date(1995, 3, 11), "M", 9311),
         "m_sex": "M", "m_birth": "1995-03-11", "m_relationship": "head"},
        {"m_name": "Lina Marlina", "m_nik": make_nik("16.71.01", date(1997, 8, 24), "F", 9312),
         "m_sex": "F", "m_birth": "1997-08-24", "m_relationship": "spouse"},
        {"m_name": "Putri Ayu", "m_nik": None, "m_sex": "F", "m_birth": "2026-05-02",
         "m_relationship": "child"},
    ]  # fmt: skip
    report = await workflow.submit_report(
        session, kind="new_household", household=None, reporter=reporter, area=NEW_AREA,
        payload={"village": HOME, "rw": NEW_AREA.rw, "rt": NEW_AREA.rt,
                 "address": "Jl. Sungai Sahang Lr. Damai No. 7", "location": location, "kk": kk,
                 "members": members, "floor": "wood", "wall": "wood", "roof": "metal"},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    household = await household_by_kk(session, kk)
    assert report.household_id == household.id
    assert (household.address, household.region_code, household.rw, household.rt) == (
        "Jl. Sungai Sahang Lr. Damai No. 7", VILLAGE, NEW_AREA.rw, NEW_AREA.rt,
    )  # fmt: skip
    assert household.desil is None
    details = {"floor": "wood", "wall": "wood", "roof": "metal", "location": location}
    assert household.details == details
    assert [
        (m.name, m.nik, m.sex, m.birth_date.isoformat(), m.relationship, m.status)
        for m in household.members
    ] == [
        (p["m_name"], p["m_nik"], p["m_sex"], p["m_birth"], p["m_relationship"], "alive")
        for p in members
    ]
    assert [(r.action, r.household_id, r.member_id) for r in revisions] == [
        ("household_added", household.id, None)
    ] + [("member_added", household.id, m.id) for m in household.members]
    assert revisions[0].after == {
        "kk": kk, "address": household.address, "region_code": VILLAGE, "rw": NEW_AREA.rw,
        "rt": NEW_AREA.rt, "details": details,
    }  # fmt: skip
    assert [r.after for r in revisions[1:]] == [member_snapshot(m) for m in household.members]


@pytest.mark.parametrize(
    ("name", "answers", "details"),
    [
        ("Dewi Lestari", {"field": "education", "education": "sd"}, {"education": "sd"}),
        (
            "Budi Santoso",
            {"field": "work", "work": "casual", "occupation": "tukang ojek"},
            {"work": "casual", "occupation": "tukang ojek"},
        ),
        ("Sari Wulandari", {"field": "illness", "illness": "diabetes"}, {"illness": "diabetes"}),
    ],
)
async def test_member_data_change(session, reporter, name, answers, details) -> None:
    household = await household_by_kk(session, SARI.kk)
    people = {m.name: m for m in household.members}
    before = member_snapshot(people[name])
    report = await workflow.submit_report(
        session, kind="member_data", household=household, reporter=reporter,
        payload={"member": str(before["id"]), **answers},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    member = await session.get(Member, before["id"])
    assert member.details == details
    assert member_snapshot(member) == {**before, "details": details}
    [revision] = revisions
    assert_revision(
        revision, "member_changed", household.id, member.id, before, member_snapshot(member)
    )


async def test_member_data_work_without_an_occupation_clears_the_old_one(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    budi = household.members[0]
    for answers in (
        {"work": "casual", "occupation": "tukang ojek"},
        {"work": "not_working"},  # the occupation question is not asked
    ):
        report = await workflow.submit_report(
            session, kind="member_data", household=household, reporter=reporter,
            payload={"member": str(budi.id), "field": "work", **answers},
        )  # fmt: skip
        report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    assert (await session.get(Member, budi.id)).details == {"work": "not_working"}
    [revision] = revisions
    assert revision.before["details"] == {"work": "casual", "occupation": "tukang ojek"}
    assert revision.after["details"] == {"work": "not_working"}


async def test_housing_changes_only_the_reported_aspects(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    members = [member_snapshot(m) for m in household.members]
    first = {"roof": "metal", "water": "piped", "assets": ["fridge", "motorcycle"]}
    second = {"floor": "ceramic", "assets": []}  # the motorcycle and fridge were sold
    for answers in (first, second):
        report = await workflow.submit_report(
            session, kind="housing", household=household, reporter=reporter,
            payload={"aspects": list(answers), **answers},
        )  # fmt: skip
        report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    household = await household_by_kk(session, SARI.kk)
    assert household.details == {
        "roof": "metal",
        "water": "piped",
        "assets": [],
        "floor": "ceramic",
    }
    assert household.desil == SARI.desil
    assert [member_snapshot(m) for m in household.members] == members
    [revision] = revisions
    assert_revision(
        revision,
        "household_changed",
        household.id,
        None,
        {"details": first},
        {"details": household.details},
    )


@pytest.mark.parametrize(
    ("name", "what", "new", "stored"),
    [
        ("Budi Santoso", "name", "Budi Santosa", "Budi Santosa"),
        ("Dewi Lestari", "birth_date", "2014-02-18", date(2014, 2, 18)),
        ("Dewi Lestari", "sex", "M", "M"),
    ],
)
async def test_identity_correction(session, reporter, name, what, new, stored) -> None:
    household = await household_by_kk(session, SARI.kk)
    people = {m.name: m for m in household.members}
    before = member_snapshot(people[name])
    report = await workflow.submit_report(
        session, kind="identity", household=household, reporter=reporter,
        payload={"member": str(before["id"]), "what": what, f"new_{what}": new},
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    member = await session.get(Member, before["id"])
    assert getattr(member, what) == stored
    assert member_snapshot(member) == {**before, what: new}  # nothing else changed
    [revision] = revisions
    assert_revision(
        revision, "member_corrected", household.id, member.id, before, member_snapshot(member)
    )


REASON = "Penghasilan kami turun sejak suami berhenti kerja."
ABOUT_HARTONO = "Bapak Hartono, Jl. Kebun Sirih No. 4, RT 5 RW 2. Punya dua mobil."


@pytest.mark.parametrize(
    ("payload", "about", "area"),
    [
        ({"subject": "desil", "reason": REASON}, SARI, None),
        ({"subject": "left_out", "programmes": ["pkh", "bpnt"], "reason": REASON}, SARI, None),
        (
            {"subject": "other_household", "programmes": ["blt"], "target": ABOUT_HARTONO,
             "target_kk": HARTONO.kk, "reason": "Rumahnya besar."},
            HARTONO,
            HARTONO,
        ),
        (  # the disputed household is not identified: reviewed in the reporter's RT
            {"subject": "other_household", "programmes": ["pkh"], "target": ABOUT_HARTONO,
             "target_kk": None, "reason": "Rumahnya besar."},
            None,
            SARI,
        ),
    ],
)  # fmt: skip
async def test_dispute_flags_the_household_and_changes_no_rows(
    session, reporter, payload, about, area
) -> None:
    registry = [household_snapshot(await household_by_kk(session, f.kk)) for f in FAMILIES]
    household = await household_by_kk(session, about.kk) if about else None
    report = await workflow.submit_report(
        session, kind="dispute", household=household, reporter=reporter, payload=payload,
        area=await household_by_kk(session, area.kk) if area else None,
    )  # fmt: skip
    report, revisions = await approve(session, report)

    assert report.state == workflow.APPLIED
    assert revisions == []
    assert [household_snapshot(await household_by_kk(session, f.kk)) for f in FAMILIES] == registry
    [flag] = await session.scalars(select(HouseholdFlag))
    assert (flag.household_id, flag.report_id, flag.region_code, flag.kind) == (
        household.id if household else None, report.id, VILLAGE, payload["subject"],
    )  # fmt: skip
    assert flag.details == {k: v for k, v in payload.items() if k != "subject" and v}
    assert flag.resolved_at is None


async def test_a_member_who_died_meanwhile_cannot_move_out(session, reporter) -> None:
    household = await household_by_kk(session, SARI.kk)
    dewi_id = household.members[2].id  # Dewi, the daughter
    move_out = await workflow.submit_report(
        session, kind="move_out", household=household, reporter=reporter,
        payload={"scope": "one", "member": str(dewi_id), "destination": SATU_ULU,
                 "move_date": "2026-07-20"},
    )  # fmt: skip
    move_out, _revisions = await approve(session, move_out, (RT, LURAH))
    assert move_out.state == workflow.AWAITING_OFFICER
    household = await household_by_kk(session, SARI.kk)
    death = await workflow.submit_report(
        session, kind="death", household=household, reporter=reporter,
        payload={"member": str(dewi_id), "death_date": "2026-08-30", "place": "di rumah"},
    )  # fmt: skip
    await approve(session, death)
    dewi = member_snapshot(await session.get(Member, dewi_id))

    officer = await account_by_telegram_id(session, OFFICER)
    with pytest.raises(DomainError):
        await workflow.decide(
            session, await session.get(Report, move_out.id), officer, approve=True
        )
    session.expunge_all()

    move_out = await session.get(Report, move_out.id)
    assert move_out.state == workflow.AWAITING_OFFICER
    assert [e.to_state for e in move_out.events] == [
        workflow.SUBMITTED, workflow.AWAITING_RT, workflow.AWAITING_KELURAHAN,
        workflow.AWAITING_OFFICER,
    ]  # fmt: skip
    assert member_snapshot(await session.get(Member, dewi_id)) == dewi
    assert dewi["details"] == {"death_date": "2026-08-30", "death_place": "di rumah"}
    stray = select(func.count()).where(RegistryRevision.report_id == move_out.id)
    assert await session.scalar(stray) == 0
    # The officer can still reject it.
    officer = await account_by_telegram_id(session, OFFICER)
    await workflow.decide(
        session, move_out, officer, approve=False, reason_code="not_true", note="Sudah meninggal"
    )
    assert move_out.state == workflow.REJECTED


async def test_a_failed_apply_undoes_the_changes_it_already_made(session, reporter) -> None:
    """A divorce whose leaving child moved out meanwhile: the spouses' marital status,
    written before the check of the leaving members failed, is not kept either."""
    household = await household_by_kk(session, SARI.kk)
    budi, sari, dewi = household.members
    marriage = await workflow.submit_report(
        session, kind="marriage", household=household, reporter=reporter,
        payload={"event": "divorced", "members": [str(budi.id), str(sari.id)], "partner": None,
                 "event_date": "2026-03-02", "new_household": "yes",
                 "leaving": [str(budi.id), str(dewi.id)], "new_kk": "1671010403260002"},
    )  # fmt: skip
    marriage, _revisions = await approve(session, marriage, (RT, LURAH))
    household = await household_by_kk(session, SARI.kk)
    move_out = await workflow.submit_report(
        session, kind="move_out", household=household, reporter=reporter,
        payload={"scope": "one", "member": str(dewi.id), "destination": SATU_ULU,
                 "move_date": "2026-04-01"},
    )  # fmt: skip
    await approve(session, move_out)
    household = await household_by_kk(session, SARI.kk)
    registry = household_snapshot(household)

    officer = await account_by_telegram_id(session, OFFICER)
    with pytest.raises(DomainError):
        await workflow.decide(
            session, await session.get(Report, marriage.id), officer, approve=True
        )
    session.expunge_all()

    assert household_snapshot(await household_by_kk(session, SARI.kk)) == registry
    assert [m["details"] for m in registry["members"][:2]] == [{}, {}]
    assert await session.scalar(select(func.count()).select_from(Household)) == 2
    stray = select(func.count()).where(RegistryRevision.report_id == marriage.id)
    assert await session.scalar(stray) == 0
    assert (await session.get(Report, marriage.id)).state == workflow.AWAITING_OFFICER


async def test_linked_accounts_follow_their_member(session, reporter) -> None:
    """Budi's account goes with him to the new household; Dewi's is unlinked when she
    moves away, so neither keeps reporting for a household they left."""
    old = await household_by_kk(session, SARI.kk)
    budi, sari, dewi = old.members
    budi_account = await ensure_account(session, 5551)
    dewi_account = await ensure_account(session, 5552)
    for account, member in ((budi_account, budi), (dewi_account, dewi)):
        account.member_id, account.household_id = member.id, old.id
    await session.flush()
    split = await workflow.submit_report(
        session, kind="marriage", household=old, reporter=reporter,
        payload={"event": "divorced", "members": [str(budi.id), str(sari.id)], "partner": None,
                 "event_date": "2026-03-02", "new_household": "yes",
                 "leaving": [str(budi.id)], "new_kk": "1671010403260002"},
    )  # fmt: skip
    await approve(session, split)
    old = await household_by_kk(session, SARI.kk)
    move = await workflow.submit_report(
        session, kind="move_out", household=old, reporter=reporter,
        payload={"scope": "one", "member": str(dewi.id), "destination": SATU_ULU,
                 "move_date": "2026-07-20"},
    )  # fmt: skip
    await approve(session, move)

    new = await household_by_kk(session, "1671010403260002")
    budi_account = await account_by_telegram_id(session, 5551)
    dewi_account = await account_by_telegram_id(session, 5552)
    assert (budi_account.household_id, budi_account.member_id) == (new.id, budi.id)
    assert (dewi_account.household_id, dewi_account.member_id) == (None, None)


async def test_birth_whose_mother_is_not_in_the_household(session, reporter) -> None:
    household = await household_by_kk(session, HARTONO.kk)
    report = await workflow.submit_report(
        session, kind="birth", household=household, reporter=reporter,
        payload={"name": "Bayu", "sex": "M", "birth_date": "2026-10-02", "mother": "outside"},
    )  # fmt: skip
    await approve(session, report)
    household = await household_by_kk(session, HARTONO.kk)
    await session.refresh(household, ["members"])
    baby = next(m for m in household.members if m.name == "Bayu")
    assert (baby.relationship, baby.details) == ("child", {"mother_outside": True})


async def _date_revisions(session, report: Report, when: str) -> None:
    """Pretend the report was applied on ``when`` (the history is read by timestamp)."""
    stamp = datetime.fromisoformat(when)
    await session.execute(
        update(RegistryRevision)
        .where(RegistryRevision.report_id == report.id)
        .values(created_at=stamp)
    )
    await session.commit()


async def test_household_as_of_a_day_and_its_history(session, reporter) -> None:
    hartono_home = await household_by_kk(session, HARTONO.kk)
    hartono = hartono_home.members[0]
    birth = await workflow.submit_report(
        session, kind="birth", household=hartono_home, reporter=reporter,
        payload={"name": "Bayu", "sex": "M", "birth_date": "2026-02-20", "mother": "outside"},
    )  # fmt: skip
    birth, _revisions = await approve(session, birth)
    await _date_revisions(session, birth, "2026-03-01T09:00:00")
    death = await workflow.submit_report(
        session, kind="death", household=await household_by_kk(session, HARTONO.kk),
        reporter=reporter, payload={"member": str(hartono.id), "death_date": "2026-06-10",
                                    "place": "di rumah"},
    )  # fmt: skip
    death, _revisions = await approve(session, death)
    await _date_revisions(session, death, "2026-06-15T10:00:00")
    home = await household_by_kk(session, HARTONO.kk)

    def people(snapshot) -> dict[str, tuple[str, str]]:
        return {m["name"]: (m["relationship"], m["status"]) for m in snapshot["members"]}

    february = await household_as_of(session, home, date(2026, 2, 28))
    assert people(february) == {"Hartono": ("head", "alive"), "Ani Rahmawati": ("spouse", "alive")}
    assert february["as_of"] == "2026-02-28"
    assert "Bayu" in people(await household_as_of(session, home, date(2026, 3, 1)))
    june = await household_as_of(session, home, date(2026, 6, 14))
    assert people(june)["Hartono"] == ("head", "alive")
    assert people(await household_as_of(session, home, date(2026, 6, 15))) == {
        "Hartono": ("head", "deceased"),
        "Ani Rahmawati": ("head", "alive"),
        "Bayu": ("child", "alive"),
    }

    history = await household_history(session, home)
    assert [(h["at"][:10], h["action"], h["member"], h["report"]) for h in history] == [
        ("2026-03-01", "member_added", "Bayu", birth.number),
        ("2026-06-15", "member_deceased", "Hartono", death.number),
        ("2026-06-15", "member_changed", "Ani Rahmawati", death.number),
    ]
    assert {h["approved_by"] for h in history} == {OFFICER}


async def test_a_split_household_did_not_exist_before_the_split(session, reporter) -> None:
    old = await household_by_kk(session, SARI.kk)
    budi, sari, _dewi = old.members
    split = await workflow.submit_report(
        session, kind="marriage", household=old, reporter=reporter,
        payload={"event": "divorced", "members": [str(budi.id), str(sari.id)], "partner": None,
                 "event_date": "2026-03-02", "new_household": "yes",
                 "leaving": [str(budi.id)], "new_kk": "1671010403260002"},
    )  # fmt: skip
    split, _revisions = await approve(session, split)
    await _date_revisions(session, split, "2026-04-01T08:00:00")
    new = await household_by_kk(session, "1671010403260002")
    old = await household_by_kk(session, SARI.kk)

    assert await household_as_of(session, new, date(2026, 3, 31)) is None
    before = await household_as_of(session, old, date(2026, 3, 31))
    assert {m["name"] for m in before["members"]} == {
        "Budi Santoso",
        "Sari Wulandari",
        "Dewi Lestari",
    }
    after = await household_as_of(session, old, date(2026, 4, 1))
    assert {m["name"] for m in after["members"]} == {"Sari Wulandari", "Dewi Lestari"}
    assert [
        m["name"] for m in (await household_as_of(session, new, date(2026, 4, 1)))["members"]
    ] == ["Budi Santoso"]


def _every_kind(sari: Household, hartono: Household) -> dict[str, dict]:
    """One payload per report type that changes the registry rows of Sari's household."""
    budi, wulan, dewi = (str(m.id) for m in sari.members)
    return {
        "birth": {"name": "Raka", "sex": "M", "birth_date": "2026-02-20", "mother": wulan},
        "death": {"member": dewi, "death_date": "2026-02-20", "place": "di rumah"},
        "move_out": {"scope": "one", "member": dewi, "destination": SATU_ULU,
                     "move_date": "2026-02-20"},
        "move_in": {"nik": hartono.members[1].nik, "name": "Ani Rahmawati", "sex": "F",
                    "birth_date": "1963-12-01", "relationship": "parent_in_law", "origin": HOME},
        "marriage": {"event": "divorced", "members": [budi, wulan], "partner": None,
                     "event_date": "2026-02-20", "new_household": "yes", "leaving": [budi],
                     "new_kk": "1671010403260002"},
        "member_data": {"member": dewi, "field": "education", "education": "smp"},
        "housing": {"aspects": ["floor"], "floor": "wood"},
        "identity": {"member": dewi, "what": "name", "new_name": "Dewi Lestari Putri"},
    }  # fmt: skip


@pytest.mark.parametrize(
    "kind",
    ["birth", "death", "move_out", "move_in", "marriage", "member_data", "housing", "identity"],
)
async def test_as_of_shows_every_kind_of_change_undone_the_day_before(
    session, reporter, kind
) -> None:
    sari = await household_by_kk(session, SARI.kk)
    hartono = await household_by_kk(session, HARTONO.kk)
    payload = _every_kind(sari, hartono)[kind]
    before = {
        h.kk: household_snapshot(h) for h in (sari, hartono)
    }  # both: a move-in takes a member from Hartono's household
    report = await workflow.submit_report(
        session, kind=kind, household=sari, reporter=reporter, payload=payload
    )
    report, revisions = await approve(session, report)
    assert report.state == workflow.APPLIED and revisions
    await _date_revisions(session, report, "2026-03-01T09:00:00")
    for kk, snapshot in before.items():
        household = await household_by_kk(session, kk)
        then = await household_as_of(session, household, date(2026, 2, 28))
        assert then is not None
        then.pop("as_of")
        assert then == snapshot, f"{kind}: {kk} on 2026-02-28"
    now = household_snapshot(await household_by_kk(session, SARI.kk))
    after = await household_as_of(
        session, await household_by_kk(session, SARI.kk), date(2026, 3, 1)
    )
    after.pop("as_of")
    assert after == now and now != before[SARI.kk]


async def test_a_dispute_filed_before_the_usulan_form_still_displays_and_applies(
    session, reporter
) -> None:
    """ "We were left out of aid" is an usulan now (aid_proposal) and no longer offered by
    the dispute form; a report stored with that subject keeps its label and applies."""
    from flows.review import render_card
    from locales import use_locale
    from registry.kinds import dispute

    assert "left_out" not in [v for v, _l in await dispute.FORM.step("subject").options_for(None)]
    household = await household_by_kk(session, SARI.kk)
    report = await workflow.submit_report(
        session, kind="dispute", household=household, reporter=reporter,
        payload={"subject": "left_out", "programmes": ["pkh"], "reason": REASON},
    )  # fmt: skip
    with use_locale("en"):
        card = await render_card(session, report)
    assert "• Subject: We were left out of aid" in card and "• Programmes: PKH" in card
    report, _revisions = await approve(session, report)
    assert report.state == workflow.APPLIED
    [flag] = await session.scalars(select(HouseholdFlag))
    assert (flag.kind, flag.details["programmes"]) == ("left_out", ["pkh"])


async def test_an_aid_proposal_for_a_neighbour_flags_their_household(session, reporter) -> None:
    hartono = await household_by_kk(session, HARTONO.kk)
    photo = [{"kind": "photo", "file_id": "f1", "unique_id": "u1"}]
    payload = {
        "whose": "neighbour", "target": "Pak Hartono, RT 5 RW 2", "target_kk": HARTONO.kk,
        "programmes": ["bpnt"], "reason": "Sakit dan tidak bekerja.", "front_photo": photo,
    }  # fmt: skip
    report = await workflow.submit_report(
        session, kind="aid_proposal", household=hartono, reporter=reporter, payload=payload,
        area=hartono,
    )  # fmt: skip
    report, revisions = await approve(session, report)
    assert report.state == workflow.APPLIED and revisions == []
    [flag] = await session.scalars(select(HouseholdFlag))
    assert (flag.household_id, flag.kind) == (hartono.id, "aid_proposal")
    assert flag.details["whose"] == "neighbour" and flag.details["programmes"] == ["bpnt"]
