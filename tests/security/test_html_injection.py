"""HTML and Telegram formatting injection in everything the bot echoes back.

The bot writes HTML messages; every answer a person types (names, addresses, places,
free text, the partner's name, reasons, questions, answers, announcements) and their
Telegram first name come back on the review screen, the reviewers' cards, the
reporter's updates and /status. The fake Bot API parses HTML as Telegram does and
refuses broken markup (a stray ``<`` or ``&``): each message must be accepted, and
show the text exactly as it was typed.
"""

from __future__ import annotations

from datetime import date, timedelta

from testkit.factories import SARI
from tests.helpers.chat import LURAH_ID, OFFICER_ID, RT_ID, SARI_ID, agree, link, seed
from tests.helpers.walk import OUR_VILLAGE, SKIP, Act, Op, Walk, press, text, toggle

INJ = '<b>b</b><a href="http://x.example/?a=1&b=2">a</a></code>&<script>s</script>&amp;<i>'
FIRST_NAME = '<b>Sari</b> & <a href="x">'
FAJAR_ID = 1102


def inj(tag: str) -> str:
    return f"{tag} {INJ}"


def ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).strftime("%d/%m/%Y")


def written(value: str) -> Op:
    """A place typed freely and used as written (its button shows it clipped)."""
    return Op("written", value)


# Each form with a typed answer, and the tags of the answers it carries.
FORMS: list[tuple[str, list[Act], list[str]]] = [
    ("Birth", [
        Act("baby's full name", text(inj("N1"))),
        Act("boy or a girl", press("Girl")),
        Act("When was the baby born", text(ago(3))),
        Act("Who is the mother", press("Sari Wulandari")),
        Act("birth certificate", SKIP),
    ], ["N1"]),
    ("Death", [
        Act("Who has died", press("Budi Santoso")),
        Act("head of the family now", press("Sari Wulandari")),
        Act("On which date did they die", text(ago(5))),
        Act("Where did they die", text(inj("P1"))),
        Act("death letter", SKIP),
    ], ["P1"]),
    ("Marriage or divorce", [
        Act("What happened?", press("A marriage")),
        Act("married or divorced?", toggle("Dewi Lestari")),
        Act("not in your household", text(inj("N2"))),
        Act("On which date?", text(ago(40))),
        Act("new household", press("No")),
        Act("marriage book", SKIP),
    ], ["N2"]),
    ("Moved in", [
        Act("NIK of the person", SKIP),
        Act("full name", text(inj("N3"))),
        Act("Sex?", press("Male")),
        Act("When were they born", text(ago(30))),
        Act("head of your household", press("Other relative")),
        Act("live before", written(inj("P2"))),
        Act("moving letter", SKIP),
    ], ["N3", "P2"]),
    ("Change in a member's data", [
        Act("Whose data changed", press("Budi Santoso")),
        Act("What changed?", press("Work")),
        Act("What do they do now", press("Own business")),
        Act("What work is it", text(inj("O1"))),
    ], ["O1"]),
    ("Correction of identity data", [
        Act("Whose data is wrong", press("Dewi Lestari")),
        Act("What is wrong", press("Spelling of the name")),
        Act("name written correctly", text(inj("N4"))),
        Act("KK or KTP", Op("photo")),
    ], ["N4"]),
    ("Dispute", [
        Act("What do you dispute", press("Another household should not receive aid")),
        Act("Which programmes", toggle("PKH (Program Keluarga Harapan)")),
        Act("Which household?", text(inj("T1"))),
        Act("know its KK number", SKIP),
        Act("Why?", text(inj("R1"))),
        Act("If you have evidence", SKIP),
    ], ["T1", "R1"]),
]  # fmt: skip
NEW_HOUSEHOLD = [
    Act("In which desa or kelurahan", Op("region", "tiga puluh lima", pick=OUR_VILLAGE)),
    Act("Which RW?", text("2")),
    Act("Which RT?", text("3")),
    Act("What is the address", text(inj("A1"))),
    Act("reach the household", SKIP),
    Act("Send my location", SKIP),
    Act("KK number, if it has one", SKIP),
    Act("member's full name", text(inj("N5"))),
    Act("What is their NIK?", SKIP),
    Act("Sex?", press("Male")),
    Act("When were they born", text("12/08/1985")),
    Act("head of the household?", press("Head of household")),
    Act("another member", press("No")),
    Act("floor made of", press("Earth")),
    Act("walls made of", press("Woven bamboo")),
    Act("roof made of", press("Zinc / metal sheets")),
    Act("photo of the house", SKIP),
]


class InjectionWalk(Walk):
    async def do(self, op: Op) -> None:
        if op.kind != "written":
            return await super().do(op)
        # The button quotes the typed text, clipped to 30 characters (buttons are plain text).
        clipped = op.value if len(op.value) <= 30 else op.value[:29] + "…"
        await self.person.send_text(op.value)
        shown = await self.person.expect("No desa/kelurahan is called")
        assert op.value in shown.plain_text
        await self.person.press(f"✍️ Use “{clipped}” as written")


def shows_literally(message, *tags: str) -> None:
    """Tags N…: names, stored upper case as on a KK (still shown literally)."""
    for tag in tags:
        typed = inj(tag).upper() if tag.startswith("N") else inj(tag)
        assert typed in message.plain_text, (tag, message.plain_text)


async def _people(running, fake_api, tmp_path):
    await seed(running, tmp_path)
    people = {}
    for key, telegram_id in (("rt", RT_ID), ("lurah", LURAH_ID), ("officer", OFFICER_ID)):
        person = fake_api.user(telegram_id, f"{key} {FIRST_NAME}", language_code="en")
        await person.send_text("/start")
        await agree(person, expect="You review reports as")
        people[key] = person
    sari = fake_api.user(SARI_ID, FIRST_NAME, language_code="en")
    await link(sari, language_button="🇬🇧 English", nik=SARI.people[1].nik, kk=SARI.kk)
    await sari.expect("is linked to household")
    people["sari"] = sari
    return people


async def _file(person, title: str, acts: list[Act], tags: list[str]) -> str:
    walk = InjectionWalk(person)
    await walk.open(title)
    for act in acts:
        await walk.answer(act)
    review = await person.expect("check your report")
    shows_literally(review, *tags)
    return await walk.submit()


async def test_every_typed_answer_is_shown_literally_on_review_screens_and_cards(
    running_bot, fake_api, tmp_path
) -> None:
    people = await _people(running_bot, fake_api, tmp_path)
    sari, rt, lurah = people["sari"], people["rt"], people["lurah"]
    for title, acts, tags in FORMS:
        number = await _file(sari, title, acts, tags)
        reviewer = lurah if title == "Dispute" else rt  # another household: the kelurahan
        card = await reviewer.expect(number)
        if "Is this true?" not in card.plain_text:
            card = await reviewer.expect("Is this true?")
        shows_literally(card, *tags)

    fajar = fake_api.user(FAJAR_ID, FIRST_NAME + "F", language_code="en")
    await fajar.send_text("/start")
    await agree(fajar, language="🇬🇧 English")
    await fajar.expect("Share my contact")
    await fajar.send_text("/batal")  # not linking: the report would ask to drop the form
    await fajar.expect("Cancelled")
    number = await _file(fajar, "Household missing from the registry", NEW_HOUSEHOLD, ["A1", "N5"])
    card = await rt.expect("Is this true?")
    assert number in card.plain_text
    shows_literally(card, "A1", "N5")
    assert fake_api.rejected == []


async def test_questions_answers_reasons_updates_status_and_announcements(
    running_bot, fake_api, tmp_path
) -> None:
    people = await _people(running_bot, fake_api, tmp_path)
    sari, rt, lurah, officer = (people[k] for k in ("sari", "rt", "lurah", "officer"))
    title, acts, tags = FORMS[0]
    birth = await _file(sari, title, acts, tags)
    title, acts, tags = FORMS[1]
    death = await _file(sari, title, acts, tags)

    # The birth goes through: the reporter's update names the baby.
    await rt.press("✅ Confirm", await rt.expect(birth))
    await lurah.press("✅ Verify", await lurah.expect("Is this true?"))
    officer_card = await officer.expect("Is this true?")
    shows_literally(officer_card, "N1")
    await officer.press("✅ Approve", officer_card)
    shows_literally(await sari.expect("is now a member of your household"), "N1")

    # The death: a question, an answer, a rejection with a reason.
    card = await rt.expect(death)
    if "Is this true?" not in card.plain_text:
        card = await rt.expect("Is this true?")
    await rt.press("❓ Ask the reporter", card)
    await rt.expect("What do you want to ask")
    await rt.send_text(inj("Q1"))
    await rt.expect("was sent to the reporter")
    asked = await sari.expect("asks about report")
    shows_literally(asked, "Q1")
    await sari.press("✍️ Answer", asked)
    await sari.expect("Your answer about report")
    await sari.send_text(inj("A2"))
    await sari.expect("is back with")
    back = await rt.expect("Is this true?")
    shows_literally(back, "Q1", "A2")
    await rt.press("❌ Reject", back)
    await rt.press("Another reason", await rt.expect("Why do you reject"))
    await rt.expect("Explain the reason")
    await rt.send_text(inj("R2"))
    await rt.expect("was rejected")
    shows_literally(await sari.expect("was rejected by"), "R2")

    await sari.send_text("/status")
    status = await sari.expect("Your reports")
    assert birth in status.plain_text and death in status.plain_text
    await sari.send_text(f"/status {death}")
    shows_literally(await sari.expect(death), "Q1", "A2", "R2")
    await sari.send_text(f"/status {INJ}")  # a number that is not one
    assert fake_api.rejected == []

    # An announcement, shown to the officer for confirmation and to the resident.
    await officer.send_text("/umumkan")
    await officer.expect("Write the announcement")
    await officer.send_text(inj("U1"))
    confirm = await officer.expect("Send it now?")
    shows_literally(confirm, "U1")
    await officer.press("📢 Send", confirm)
    shows_literally(await sari.expect("Announcement for"), "U1")
    await officer.expect("has gone out")
    assert fake_api.rejected == []
