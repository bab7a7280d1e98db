"""Engine behaviour a resident notices, beyond each report type's own walks: lists,
submit-time refusals, emptied selections, a registry that changes under a question,
and photos sent after the last question."""

from __future__ import annotations

from sqlalchemy import update

from storage.models import Member
from tests.e2e.test_report_types import (
    FAJAR_ID,
    SARI_ID,
    SCRIPTS,
    TWO_MEMBERS,
    Act,
    Op,
    Walk,
    press,
    report_numbered,
    seed,
    text,
)


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
    assert "Members: 2" in review.plain_text and "Lina Marlina" in review.plain_text


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
    assert [m["m_name"] for m in heads] == ["Fajar Nugroho"]


async def test_an_emptied_selection_cannot_bereport_numbered(running, fake_api) -> None:
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
