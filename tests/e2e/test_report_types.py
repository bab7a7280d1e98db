"""Every report type end to end, through the real aiogram stack and the fake Bot API.

Each type is a script of answers. Two walks per type:

* the happy path, counted in user actions (printed at the end of the test run), then
  confirmed by the RT head, verified by the lurah and approved by the officer, and
  checked in the registry;
* a walk with detours: one invalid answer, one Back, a restart of the bot in the
  middle and /lanjut, and one edit at the review screen.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from locales import local_today
from registry.households import household_by_kk
from registry.kinds import CATALOG, KINDS
from registry.nik import make_nik
from storage.models import Household, HouseholdFlag, Member, RegistryRevision, Report
from testkit.factories import HARTONO, SARI, VILLAGE
from tests.helpers.walk import (
    ACTION_COUNTS,
    FAJAR_ID,
    LURAH_ID,
    OFFICER_ID,
    OUR_VILLAGE,
    RT_ID,
    SARI_ID,
    SKIP,
    Act,
    Op,
    Script,
    Walk,
    press,
    report_numbered,
    seed,
    text,
    toggle,
)

SATU_ULU = "Satu Ulu, Seberang Ulu Satu, Kota Palembang"
NEW_KK = "1671010203260004"
SPLIT_KK = "1671010304260005"
ANDI_NIK = make_nik("167102", date(1995, 3, 3), "M", 77)
LINA_NIK = make_nik("167101", date(1990, 6, 14), "F", 78)


def ago(days: int) -> str:
    return (local_today() - timedelta(days=days)).strftime("%d/%m/%Y")


# ---- the scripts --------------------------------------------------------------------------------


async def _member(session: AsyncSession, name: str) -> Member:
    return (await session.execute(select(Member).where(Member.name == name))).scalar_one()


async def _kk_of(session: AsyncSession, member: Member) -> str | None:
    household = await session.get(Household, member.household_id)
    assert household is not None
    return household.kk


async def _revisions(session: AsyncSession, report: Report) -> list[RegistryRevision]:
    stmt = select(RegistryRevision).where(RegistryRevision.report_id == report.id)
    return list((await session.execute(stmt)).scalars())


async def check_birth(session: AsyncSession, report: Report) -> None:
    baby = await _member(session, "PUTRI AYU")  # typed "Putri Ayu": stored as on a KK
    assert (baby.sex, baby.relationship, baby.status) == ("F", "child", "alive")
    assert baby.birth_date == local_today() - timedelta(days=1)  # the "Yesterday" button
    assert await _kk_of(session, baby) == SARI.kk
    assert len(report.attachments) == 1


async def check_death(session: AsyncSession, report: Report) -> None:
    budi = await _member(session, "Budi Santoso")
    assert budi.status == "deceased"
    assert budi.details["death_place"] == "RSUD Palembang"
    # The head died: his wife heads the household now, in a revision of its own.
    assert (await _member(session, "Sari Wulandari")).relationship == "head"
    actions = [r.action for r in await _revisions(session, report)]
    assert actions == ["member_deceased", "member_changed"]


async def check_move_out(session: AsyncSession, report: Report) -> None:
    dewi = await _member(session, "Dewi Lestari")
    assert dewi.status == "moved"
    assert dewi.details["moved_to"] == {"code": "16.71.02.1002", "name": SATU_ULU}


async def check_move_in(session: AsyncSession, report: Report) -> None:
    andi = await _member(session, "ANDI SAPUTRA")
    assert (andi.nik, andi.relationship) == (ANDI_NIK, "other_relative")
    assert await _kk_of(session, andi) == SARI.kk
    assert andi.details["moved_from"] == {"text": "Kuala Lumpur"}


async def check_marriage(session: AsyncSession, report: Report) -> None:
    budi = await _member(session, "Budi Santoso")
    sari = await _member(session, "Sari Wulandari")
    assert await _kk_of(session, budi) == NEW_KK and budi.relationship == "head"
    assert await _kk_of(session, sari) == SARI.kk
    assert sari.relationship == "head"  # she heads the old household now
    assert budi.details["marital"] == sari.details["marital"] == "divorced"


async def check_new_household(session: AsyncSession, report: Report) -> None:
    household = await session.get(Household, report.household_id)
    assert household is not None and household.kk is None
    assert (household.region_code, household.rw, household.rt) == (VILLAGE, 4, 7)
    assert household.details["floor"] == "earth"
    assert household.details["location"] == {"latitude": -2.98, "longitude": 104.75}
    assert household.details["phone"] == "+6281277771234"
    names = {m.name: (m.relationship, m.nik) for m in household.members}
    assert names == {"FAJAR NUGROHO": ("head", None), "LINA MARLINA": ("spouse", LINA_NIK)}
    assert len(report.attachments) == 2  # an album of two photos


async def check_member_data(session: AsyncSession, report: Report) -> None:
    budi = await _member(session, "Budi Santoso")
    assert budi.details == {"work": "self_employed", "occupation": "Pedagang sayur"}


async def check_housing(session: AsyncSession, report: Report) -> None:
    household = await household_by_kk(session, SARI.kk)
    await session.refresh(household)
    assert household.details == {"floor": "ceramic", "assets": ["fridge", "motorcycle"]}


async def check_identity(session: AsyncSession, report: Report) -> None:
    assert (await _member(session, "DEWI LESTARY")).relationship == "child"
    assert report.attachments[0].field == "evidence"


async def check_aid_proposal(session: AsyncSession, report: Report) -> None:
    sari = await household_by_kk(session, SARI.kk)
    flag = (await session.execute(select(HouseholdFlag))).scalar_one()
    assert (flag.household_id, flag.kind) == (sari.id, "aid_proposal")
    assert flag.details["programmes"] == ["pkh"] and flag.details["whose"] == "own"
    assert sorted(a.field for a in report.attachments) == ["front_photo", "inside_photo"]


async def check_dispute(session: AsyncSession, report: Report) -> None:
    hartono = await household_by_kk(session, HARTONO.kk)
    flag = (await session.execute(select(HouseholdFlag))).scalar_one()
    assert (flag.household_id, flag.kind) == (hartono.id, "other_household")
    assert flag.details["programmes"] == ["pkh"]


async def check_head_change(session: AsyncSession, report: Report) -> None:
    relationships = {
        m.name: m.relationship for m in (await household_by_kk(session, SARI.kk)).members
    }
    assert relationships == {
        "Budi Santoso": "spouse",
        "Sari Wulandari": "head",
        "Dewi Lestari": "child",
    }
    assert [r.action for r in await _revisions(session, report)] == ["member_changed"] * 2


async def check_split_household(session: AsyncSession, report: Report) -> None:
    budi, dewi = await _member(session, "Budi Santoso"), await _member(session, "Dewi Lestari")
    assert budi.household_id == dewi.household_id
    new = await session.get(Household, budi.household_id)
    assert (new.kk, new.address, new.rw, new.rt) == (SPLIT_KK, "Jl. Kebun Duku No. 2", 2, 3)
    assert new.details["split_reason"] == "own_house"
    assert (budi.relationship, dewi.relationship) == ("head", "child")
    sari = await _member(session, "Sari Wulandari")  # named head of the family that stays
    assert (await _kk_of(session, sari), sari.relationship) == (SARI.kk, "head")


async def check_merge_households(session: AsyncSession, report: Report) -> None:
    ours = await household_by_kk(session, SARI.kk)
    await session.refresh(ours, ["members"])
    relationships = {m.name: m.relationship for m in ours.members}
    assert relationships["Hartono"] == relationships["Ani Rahmawati"] == "parent"
    assert relationships["Budi Santoso"] == "head" and len(relationships) == 5
    theirs = await household_by_kk(session, HARTONO.kk)
    assert theirs.details["merged_into"] == ours.id


TWO_MEMBERS = [
    Act("member's full name", text("Fajar Nugroho")),
    Act("What is their NIK?", SKIP),
    Act("Sex?", press("Male")),
    Act("When were they born", text("12/08/1985")),
    Act("head of the household?", press("Head of household")),
    Act("another member", press("Yes")),
    Act("member's full name", text("Lina Marlina")),
    Act("What is their NIK?", text(LINA_NIK)),
    Act("Sex?", press("Female")),
    Act("When were they born", text("14 Juni 1990")),
    Act("head of the household?", press("Husband / wife")),
    Act("another member", press("No")),
]

SCRIPTS = {
    "birth": Script(
        title="Birth",
        acts=[
            Act("baby's full name", text("Putri Ayu")),
            Act("boy or a girl", press("Girl")),
            Act("When was the baby born", press("Yesterday")),
            Act("Who is the mother", press("Sari Wulandari")),
            Act("birth certificate", Op("photo")),
        ],
        invalid=(2, text("31/02/2026"), "could not read that date"),
        back_at=3,
        edit=("Baby's name", [Act("baby's full name", text("putri  ayu"))], "PUTRI AYU"),
        check=check_birth,
    ),
    "death": Script(
        title="Death",
        acts=[
            Act("Who has died", press("Budi Santoso")),
            Act("Who is the head of the family now", press("Sari Wulandari")),
            Act("On which date did they die", text("5 days ago")),
            Act("Where did they die", text("RSUD Palembang")),
            Act("death letter", SKIP),
        ],
        invalid=(
            2,
            text((local_today() + timedelta(days=1)).strftime("%d/%m/%Y")),
            "in the future",
        ),
        back_at=3,
        edit=("Place", [Act("Where did they die", text("di rumah"))], "di rumah"),
        check=check_death,
        review_shows=["Without a document"],
    ),
    "move_out": Script(
        title="Moved out",
        acts=[
            Act("Who moved away?", press("One member")),
            Act("Which member moved away", press("Dewi Lestari")),
            Act("Where to?", Op("region", "satu ulu", pick=SATU_ULU)),
            Act("When did they move", text(ago(20))),
            Act("moving letter", SKIP),
        ],
        invalid=(2, text("Xyzzyville"), "No desa/kelurahan is called"),
        back_at=1,
        edit=("Date of the move", [Act("When did they move", text(ago(21)))], "Date of the move"),
        check=check_move_out,
    ),
    "move_in": Script(
        title="Moved in",
        acts=[
            Act("NIK of the person", text(ANDI_NIK)),
            Act("full name", text("Andi Saputra")),
            Act("Sex?", press("Male")),
            Act("When were they born", text("3 Maret 1995")),
            Act("head of your household", press("Other relative")),
            Act("live before", Op("written", "Kuala Lumpur")),
            Act("moving letter", SKIP),
        ],
        invalid=(0, text("12345"), "exactly 16 digits"),
        back_at=3,
        edit=("Name", [Act("full name", text("Andi Saputra"))], "ANDI SAPUTRA"),
        check=check_move_in,
    ),
    "marriage": Script(
        title="Marriage or divorce",
        acts=[
            Act("What happened?", press("A divorce")),
            Act("married or divorced?", toggle("Budi Santoso", "Sari Wulandari")),
            Act("not in your household", SKIP),
            Act("On which date?", text(ago(40))),
            Act("new household", press("Yes")),
            Act("Who moves to the new household", toggle("Budi Santoso")),
            Act("number of the new KK", text(NEW_KK)),
            Act("divorce certificate", Op("photo")),
        ],
        invalid=(6, text("1234"), "exactly 16 digits"),
        back_at=4,
        edit=("Date", [Act("On which date?", text(ago(41)))], "Date"),
        check=check_marriage,
    ),
    "new_household": Script(
        title="Household missing from the registry",
        person=FAJAR_ID,
        acts=[
            Act("In which desa or kelurahan", Op("region", "tiga puluh lima", pick=OUR_VILLAGE)),
            Act("Which RW?", text("4")),
            Act("Which RT?", text("7")),
            Act("What is the address", text("Jl. Sungai Lais No. 9")),
            Act("reach the household", text("0812-7777-1234")),
            Act("Send my location", Op("location", (-2.98, 104.75))),
            Act("KK number, if it has one", SKIP),
            *TWO_MEMBERS,
            Act("floor made of", press("Earth")),
            Act("walls made of", press("Woven bamboo")),
            Act("roof made of", press("Zinc / metal sheets")),
            Act("photo of the house", Op("album", 2)),
        ],
        invalid=(1, text("empat"), "answer with a number"),
        back_at=2,
        edit=(
            "Members",
            TWO_MEMBERS,
            "LINA MARLINA",
        ),
        check=check_new_household,
        review_shows=["FAJAR NUGROHO", "Members: 2"],
    ),
    "head_change": Script(
        title="Change of the head of the family",
        acts=[
            Act("Who is the new head of the family", press("Sari Wulandari")),
            Act("previous head to the new head", press("Husband / wife")),
            Act("letter or the new KK", SKIP),
        ],
        invalid=(1, text("boss"), "choose one of the buttons"),
        back_at=1,
        edit=(
            "The previous head is now",
            [Act("previous head to the new head", press("Other relative"))],
            "Other relative",
        ),
        check=check_head_change,
    ),
    "split_household": Script(
        title="Family splits its KK",
        acts=[
            Act("Who leaves to form a new family", toggle("Budi Santoso", "Dewi Lestari")),
            Act("Who heads the new family", press("Budi Santoso")),
            Act("Who heads the family that stays", press("Sari Wulandari")),
            Act("Why do they form their own family", press("They live in their own house now")),
            Act("another address in this RT", text("Jl. Kebun Duku No. 2")),
            Act("number of the new KK", text(SPLIT_KK)),
            Act("new KK or of the letter", SKIP),
        ],
        invalid=(5, text("1234"), "exactly 16 digits"),
        back_at=2,
        edit=("Reason", [Act("Why do they form", press("Work"))], "Reason: Work"),
        check=check_split_household,
    ),
    "merge_households": Script(
        title="Two families join one KK",
        acts=[
            Act("KK number of the other family", text(HARTONO.kk)),
            Act("Which KK does the joined family keep", press("Ours: the other family joins us")),
            Act("head of the family that joins", press("Parent")),
            Act("new KK or of the letter", SKIP),
        ],
        invalid=(0, text(SARI.kk), "your own KK"),
        back_at=2,
        edit=(
            "The joining head is",
            [Act("head of the family that joins", press("Parent-in-law"))],
            "Parent-in-law",
        ),
        check=check_merge_households,
        review_shows=["KK of the other family: 167101********** (Hartono)"],
    ),
    "member_data": Script(
        title="Change in a member's data",
        acts=[
            Act("Whose data changed", press("Budi Santoso")),
            Act("What changed?", press("Work")),
            Act("What do they do now", press("Own business")),
            Act("What work is it", text("Pedagang sayur")),
        ],
        invalid=(1, text("gaji"), "choose one of the buttons"),
        back_at=3,
        edit=(
            "What changed",
            [
                Act("What changed?", press("Education")),
                Act("highest school", press("Senior high school (SMA/SMK/MA)")),
            ],
            "Senior high school",
        ),
        check=check_member_data,
    ),
    "housing": Script(
        title="Change in housing or assets",
        acts=[
            Act("What has changed in your house", toggle("Floor", "Household assets")),
            Act("floor made of now", press("Ceramic tiles")),
            Act("Which of these does your household own", toggle("Refrigerator", "Motorcycle")),
            Act("photos of the house", SKIP),
        ],
        invalid=(0, press("✔ Done"), "select at least one"),
        back_at=2,
        edit=("Floor", [Act("floor made of now", press("Ceramic tiles"))], "Ceramic tiles"),
        check=check_housing,
    ),
    "identity": Script(
        title="Correction of identity data",
        acts=[
            Act("Whose data is wrong", press("Dewi Lestari")),
            Act("What is wrong", press("Spelling of the name")),
            Act("name written correctly", text("Dewi Lestary")),
            Act("KK or KTP", Op("photo")),
        ],
        invalid=(3, text("no photo, sorry"), "Please send a photo."),
        back_at=2,
        edit=("Correct name", [Act("name written correctly", text("Dewi Lestary"))], "LESTARY"),
        check=check_identity,
    ),
    "aid_proposal": Script(
        title="Aid proposal",
        acts=[
            Act("Which family do you propose", press("Our own family")),
            Act("Which aid does the family need", toggle("PKH (Program Keluarga Harapan)")),
            Act("Why does the family need aid", text("Pak Budi lost his job; no steady income.")),
            Act("front of the house", Op("photo")),
            Act("inside of the house", Op("photo")),
        ],
        invalid=(3, text("no photo, sorry"), "Please send a photo."),
        back_at=4,
        edit=(
            "Reason",
            [Act("Why does the family need aid", text("No steady income."))],
            "No steady",
        ),
        check=check_aid_proposal,
    ),
    "dispute": Script(
        title="Dispute",
        acts=[
            Act("What do you dispute", press("Another household should not receive aid")),
            Act("Which programmes", toggle("PKH (Program Keluarga Harapan)")),
            Act("Which household?", text("Pak Hartono, Jl. Kebun Sirih No. 4, RT 5 RW 2")),
            Act("know its KK number", text(HARTONO.kk)),
            Act("Why?", text("They own two cars & a shop.")),
            Act("If you have evidence", SKIP),
        ],
        invalid=(3, text(SARI.kk), "your own household"),
        back_at=4,
        edit=(
            "Reason",
            [
                Act("Why?", text("They own two cars.")),
            ],
            "two cars",
        ),
        check=check_dispute,
    ),
}


# ---- the walks ------------------------------------------------------------------------------


KIND_NAMES = [kind.name for kind in CATALOG]


def test_every_report_type_has_a_script() -> None:
    assert set(SCRIPTS) == set(KIND_NAMES)


@pytest.mark.parametrize("kind", KIND_NAMES)
async def test_happy_path_reaches_the_registry(kind, running, fake_api) -> None:
    script = SCRIPTS.get(kind)
    assert script is not None, f"report type {kind!r} has no script in SCRIPTS: add one"
    people = await seed(running, fake_api)
    walk = Walk(people[script.person])
    await walk.open(script.title)
    for act in script.acts:
        await walk.answer(act)
    review = await walk.person.expect("check your report")
    for fragment in script.review_shows:
        assert fragment in review.plain_text
    number = await walk.submit()
    ACTION_COUNTS[kind] = walk.actions
    if kind == "birth":
        assert walk.actions <= 12

    tiers = ((RT_ID, "✅ Confirm"), (LURAH_ID, "✅ Verify"), (OFFICER_ID, "✅ Approve"))
    if kind == "dispute":  # about another household: the neighbours' RT head is skipped
        tiers = tiers[1:]
        await people[RT_ID].expect_no_message()
    for reviewer_id, button in tiers:
        reviewer = people[reviewer_id]
        card = await reviewer.expect("Please decide")
        assert number in card.plain_text
        if kind == "dispute":  # the reported household never learns who reported
            assert "Sari" not in card.plain_text and "Budi" not in card.plain_text
            assert "who filed it is not shown" in card.plain_text
        if kind == "merge_households":  # the other family by its head, not a masked KK only
            assert "(Hartono)" in card.plain_text
        await reviewer.press(button, card)
    decided = await people[OFFICER_ID].expect_edit("it is now in the registry")
    if kind == "new_household":  # the card names the household the approval added
        assert "not in the registry yet" not in decided.plain_text
        assert "Jl. Sungai Lais No. 9" in decided.plain_text
    await walk.person.expect("approved")
    document = KINDS[kind].dukcapil
    if document is not None:  # which Dukcapil document to arrange, in one short message
        note = await walk.person.expect("Disdukcapil office")
        assert number in note.plain_text and len(note.plain_text) <= 500
    async with running.session() as session:
        report = (await session.execute(select(Report).where(Report.number == number))).scalar_one()
        assert report.state == "applied"
        await script.check(session, report)


@pytest.mark.parametrize("kind", KIND_NAMES)
async def test_invalid_answer_back_restart_and_edit_lose_nothing(kind, running, fake_api) -> None:
    script = SCRIPTS.get(kind)
    assert script is not None, f"report type {kind!r} has no script in SCRIPTS: add one"
    people = await seed(running, fake_api)
    walk = Walk(people[script.person])
    await walk.open(script.title)
    bad_at, bad_op, error = script.invalid
    restart_at = len(script.acts) // 2
    for i, act in enumerate(script.acts):
        if i == restart_at:  # a redeploy while the question waits for an answer
            await walk.prompt(act.prompt)
            await running.restart()
            await walk.person.send_text("/lanjut")
        if i == bad_at:
            await walk.prompt(act.prompt)
            await walk.do(bad_op)
            await walk.prompt(error)  # the question again, under the error
            await walk.do(act.op)
            continue
        if i == script.back_at:
            await walk.prompt(act.prompt)
            await walk.person.press("« Back")
            await walk.answer(script.acts[i - 1])
        await walk.answer(act)
    await walk.person.expect("check your report")
    label, acts, shows = script.edit
    await walk.person.press("✏️ Edit")
    await walk.person.expect("Which answer do you want to change?")
    await walk.person.press(label)
    for act in acts:
        await walk.answer(act)
    review = await walk.person.expect("check your report")
    assert shows in review.plain_text
    number = await walk.submit()
    report = await report_numbered(running, number)
    first = "awaiting_kelurahan" if kind == "dispute" else "awaiting_rt"  # workflow.toml
    assert report.kind == kind and report.state == first


async def test_evidence_rules_forbid_warn_and_require(running, fake_api) -> None:
    people = await seed(running, fake_api)
    walk = Walk(people[SARI_ID])
    # Forbidden: a member's data change takes no files.
    await walk.open("Change in a member's data")
    await walk.prompt("Whose data changed")
    await walk.person.send_photo()
    await walk.person.expect("This report takes no photos or documents")
    await walk.person.send_text("/batal")  # else the next report asks to drop this one
    await walk.person.expect("Cancelled")
    # Required: an identity correction has no Skip on its photo, and no way around it.
    await walk.open("Correction of identity data")
    for act in SCRIPTS["identity"].acts[:3]:
        await walk.answer(act)
    evidence = await walk.prompt("KK or KTP")
    assert "Skip »" not in evidence.buttons()
    await walk.person.send_document(b"%PDF-1.4 synthetic", "kk.pdf", "application/pdf")
    review = await walk.person.expect("check your report")
    assert "1 document(s)" in review.plain_text
    assert "Without a document" not in review.plain_text


# ---- engine behaviour a resident notices, beyond each type's own walks: lists, submit-time
# refusals, emptied selections, a registry that changes under a question, and photos sent
# after the last question (these reuse the scripts above).


async def _to_review(walk: Walk, kind: str) -> None:
    await walk.open(SCRIPTS[kind].title)
    for act in SCRIPTS[kind].acts:
        await walk.answer(act)
    await walk.person.expect("check your report")


async def test_back_out_of_reentering_a_list_keeps_the_old_list(running, fake_api) -> None:
    people = await seed(running, fake_api)
    walk = Walk(people[FAJAR_ID])
    await _to_review(walk, "new_household")
    await walk.person.press("✏️ Edit")
    await walk.person.press("Members", await walk.person.expect("Which answer"))
    await walk.prompt("member's full name")
    await walk.person.press("« Back")
    review = await walk.person.expect("check your report")
    assert "Members: 2" in review.plain_text and "LINA MARLINA" in review.plain_text


async def test_back_from_the_next_member_reopens_the_previous_one(running, fake_api) -> None:
    people = await seed(running, fake_api)
    walk = Walk(people[FAJAR_ID])
    await walk.open(SCRIPTS["new_household"].title)
    acts = SCRIPTS["new_household"].acts
    more = next(i for i, a in enumerate(acts) if a.prompt == "another member")
    for act in acts[: more + 1]:  # up to the first "another member?" -> Yes
        await walk.answer(act)
    second = await walk.prompt("member's full name")
    assert "Member 2" in second.plain_text
    await walk.person.press("« Back")
    again = await walk.prompt("another member")
    assert "Member 1" in again.plain_text  # the first member's last question, not the KK


async def test_a_refused_list_is_entered_again_from_scratch(running, fake_api) -> None:
    people = await seed(running, fake_api)
    walk = Walk(people[FAJAR_ID])
    acts = list(SCRIPTS["new_household"].acts)
    first = next(i for i, a in enumerate(acts) if a.op.value == "Head of household")
    acts[first] = Act("head of the household?", press("Husband / wife"))  # nobody heads it
    await walk.open(SCRIPTS["new_household"].title)
    for act in acts:
        await walk.answer(act)
    await walk.person.expect("check your report")
    await walk.person.press("✅ Submit")
    await walk.prompt("Exactly one member must be the head")  # above the first question
    await walk.do(TWO_MEMBERS[0].op)
    for act in TWO_MEMBERS[1:]:
        await walk.answer(act)
    review = await walk.person.expect("check your report")  # no question asked twice
    assert "Members: 2" in review.plain_text
    assert "📎 2 photo(s)" in review.plain_text  # the album sent earlier is kept
    report = await report_numbered(running, await walk.submit())
    heads = [m for m in report.payload["members"] if m["m_relationship"] == "head"]
    assert [m["m_name"] for m in heads] == ["FAJAR NUGROHO"]


async def test_an_emptied_selection_cannot_be_submitted(running, fake_api) -> None:
    people = await seed(running, fake_api)
    walk = Walk(people[SARI_ID])
    await _to_review(walk, "housing")
    await walk.person.press("✏️ Edit")
    await walk.person.press("What changed", await walk.person.expect("Which answer"))
    await walk.prompt("What has changed in your house")
    for label in ("Floor", "Household assets"):  # untick both
        await walk.person.press(f"✅ {label}")
        assert f"▫️ {label}" in (await walk.person.expect_edit()).buttons()
    await walk.person.press("✔ Done")
    await walk.person.expect("select at least one")


async def test_a_member_choice_means_the_person_pressed(running, fake_api) -> None:
    """The household changes between the question and the press: the press still means
    the person on the button, not whoever is now at that position."""
    people = await seed(running, fake_api)
    walk = Walk(people[SARI_ID])
    await walk.open("Moved out")
    await walk.answer(Act("Who moved away?", press("One member")))
    question = await walk.prompt("Which member moved away")
    assert question.buttons()[:3] == ["Budi Santoso", "Sari Wulandari", "Dewi Lestari"]
    async with running.session() as session:  # another report's approval, meanwhile
        await session.execute(
            update(Member).where(Member.name == "Budi Santoso").values(status="deceased")
        )
        await session.commit()
    await walk.person.press("Sari Wulandari", question)
    await walk.answer(Act("Where to?", Op("written", "Kuala Lumpur")))
    await walk.answer(Act("When did they move", text("01/11/2026")))
    await walk.person.press("Skip »", await walk.prompt("moving letter"))
    review = await walk.person.expect("check your report")
    assert "Member: Sari Wulandari" in review.plain_text
    report = await report_numbered(running, await walk.submit())
    async with running.session() as session:
        sari = await session.get(Member, int(report.payload["member"]))
        assert sari.name == "Sari Wulandari"


async def test_photos_sent_at_the_review_join_the_evidence(running, fake_api) -> None:
    people = await seed(running, fake_api)
    walk = Walk(people[SARI_ID])
    await _to_review(walk, "birth")  # one photo of the certificate already
    await walk.person.send_photo()
    review = await walk.person.expect("Added to your report")
    assert "📎 2 photo(s)" in review.plain_text
    report = await report_numbered(running, await walk.submit())
    assert len(report.attachments) == 2
