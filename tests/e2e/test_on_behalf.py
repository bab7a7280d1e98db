"""An RT head files reports for a household of their RT whose members have no phone."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from locales import local_today
from registry.households import household_by_kk
from storage.models import Account, AuditEntry, Household, Member, Report, RoleGrant, utcnow
from testkit.factories import HARTONO, SARI, VILLAGE
from tests.helpers.chat import LURAH_ID, OFFICER_ID, RT_ID, ask_reporter, open_bot, seed

BUTTON = "📝 For a resident without a phone"
NOT_YOURS = "not a household of your RT"
UNKNOWN_KK = "1671010101990123"  # well formed, in nobody's registry


def day(days_ago: int) -> str:
    return (local_today() - timedelta(days=days_ago)).strftime("%d/%m/%Y")


async def open_for(rt, kk: str):
    """/lapor, the extra button, the KK: returns the menu of reports for that household."""
    await rt.send_text("/lapor")
    menu = await rt.expect("What do you want to report?")
    await rt.press(BUTTON, menu)
    await rt.expect("name of the head of the family, or the 16-digit KK number")
    await rt.send_text(kk)
    return await rt.next_message()


async def test_rt_head_files_a_death_for_a_resident_without_a_phone(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    lurah = fake_api.user(LURAH_ID, "Bu Lurah", language_code="en")
    officer = fake_api.user(OFFICER_ID, "Petugas Dinsos", language_code="en")
    for reviewer in (rt, lurah, officer):
        await open_bot(reviewer)

    # A KK of another RT and a KK in nobody's registry get the same refusal.
    refused = await open_for(rt, HARTONO.kk)
    assert NOT_YOURS in refused.plain_text
    await rt.send_text(UNKNOWN_KK)
    again = await rt.expect("KK number")
    assert NOT_YOURS in again.plain_text
    assert [line for line in refused.plain_text.splitlines() if NOT_YOURS in line] == [
        line for line in again.plain_text.splitlines() if NOT_YOURS in line
    ]

    # Sari's household is in RT 3 / RW 2, the RT Pak RT heads.
    await rt.send_text(SARI.kk)
    menu = await rt.expect("What do you want to report for this household?")
    assert "KK 167101**********" in menu.plain_text and "Budi Santoso" in menu.plain_text
    assert SARI.kk not in menu.plain_text
    assert "Household missing from the registry" not in menu.buttons()
    await rt.press("Death", menu)
    who = await rt.expect("Who has died?")
    assert "KK 167101**********" in who.plain_text  # whose household, on every question
    assert set(who.buttons()) >= {"Budi Santoso", "Sari Wulandari", "Dewi Lestari"}
    await rt.press("Dewi Lestari", who)
    await rt.expect("On which date")
    await rt.send_text(day(4))
    await rt.expect("Where did they die?")
    await rt.send_text("Di rumah")
    await rt.press("Skip »", await rt.expect("death letter"))
    review = await rt.expect("check your report")
    assert "Dewi Lestari" in review.plain_text and "KK 167101**********" in review.plain_text
    await rt.press("✅ Submit", review)
    sent = await rt.expect("tracking number")
    assert "waits for the kelurahan/desa" in sent.plain_text  # the RT tier is skipped
    number = next(w for w in sent.plain_text.split() if w.startswith("LW-")).rstrip(".")

    await lurah.expect("A new report waits")
    card = await lurah.expect("Is this true?")
    assert "Filed by the RT head for this household (the resident has no phone)" in (
        card.plain_text
    )
    assert "KK 167101**********" in card.plain_text and "RT 3 / RW 2" in card.plain_text
    await lurah.press("✅ Verify", card)
    await rt.expect("verified by the kelurahan/desa")  # the RT head follows the report
    officer_card = await officer.expect("Is this true?")
    assert "Filed by the RT head" in officer_card.plain_text
    await officer.press("✅ Approve", officer_card)
    await rt.expect("approved and is now in the registry")

    await rt.send_text("/status")
    assert number in (await rt.expect("Your reports")).plain_text

    async with running_bot.session() as session:
        report = (await session.execute(select(Report))).scalar_one()
        household = await household_by_kk(session, SARI.kk)
        rt_account = (
            await session.execute(select(Account).where(Account.telegram_id == RT_ID))
        ).scalar_one()
        assert report.filed_on_behalf is True
        assert report.household_id == household.id
        assert report.reporter_account_id == rt_account.id
        assert "awaiting_rt" not in [e.to_state for e in report.events]
        assert report.state == "applied"
        dewi = (
            await session.execute(select(Member).where(Member.name == "Dewi Lestari"))
        ).scalar_one()
        assert (dewi.household_id, dewi.status) == (household.id, "deceased")
        entry = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "report.file_on_behalf")
            )
        ).scalar_one()
        assert (entry.actor_account_id, entry.report_id) == (rt_account.id, report.id)
        assert SARI.kk not in str(entry.details)


async def test_birth_for_a_resident_and_a_role_revoked_before_submit(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    lurah = fake_api.user(LURAH_ID, "Bu Lurah", language_code="en")
    for reviewer in (rt, lurah):
        await open_bot(reviewer)

    # Only RT heads get the button; a forged press by anyone else does nothing.
    await lurah.send_text("/lapor")
    assert BUTTON not in (await lurah.expect("What do you want to report?")).buttons()
    await lurah.press_data("ob")
    assert (await lurah.wait_callback_answer())["text"] == "This button has expired."
    # A forged button for a household of another RT is refused like its KK.
    async with running_bot.session() as session:
        hartono = await household_by_kk(session, HARTONO.kk)
    await rt.press_data(f"ob:{hartono.id}:birth")
    assert NOT_YOURS in (await rt.expect(NOT_YOURS)).plain_text

    menu = await open_for(rt, SARI.kk)
    await rt.press("Birth", menu)
    await rt.expect("baby's full name")
    await rt.send_text("Rizky Ramadhan")
    await rt.press("Boy", await rt.expect("boy or a girl"))
    await rt.expect("When was the baby born")
    await rt.send_text(day(2))
    mother = await rt.expect("Who is the mother?")
    assert "Sari Wulandari" in mother.buttons()  # the resident's household, not the RT head's
    await rt.press("Sari Wulandari", mother)
    await rt.press("Skip »", await rt.expect("birth certificate"))
    review = await rt.expect("check your report")

    # The RT head loses the role while the review screen is open.
    async with running_bot.session() as session:
        await session.execute(
            update(RoleGrant).where(RoleGrant.role == "rt").values(revoked_at=utcnow())
        )
        await session.commit()
    await rt.press("✅ Submit", review)
    refused = await rt.expect("no longer head the RT")
    assert "not sent" in refused.plain_text
    async with running_bot.session() as session:
        assert (await session.execute(select(Report))).first() is None
    await rt.send_text("/lapor")
    assert BUTTON not in (await rt.expect("What do you want to report?")).buttons()


async def test_rt_head_edits_the_report_a_reviewer_asked_about(
    running_bot, fake_api, tmp_path
) -> None:
    """The RT head answers for the resident: an edit runs on the resident's household."""
    await seed(running_bot, tmp_path)
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    lurah = fake_api.user(LURAH_ID, "Bu Lurah", language_code="en")
    for reviewer in (rt, lurah):
        await open_bot(reviewer)
    menu = await open_for(rt, SARI.kk)
    await rt.press("Death", menu)
    await rt.press("Dewi Lestari", await rt.expect("Who has died?"))
    await rt.expect("On which date")
    await rt.send_text(day(4))
    await rt.expect("Where did they die?")
    await rt.send_text("Di rumah")
    await rt.press("Skip »", await rt.expect("death letter"))
    await rt.press("✅ Submit", await rt.expect("check your report"))
    await rt.expect("tracking number")

    await ask_reporter(lurah, "Is it really Dewi?")
    question = await rt.expect("asks about report")
    await rt.press("✏️ Edit the report", question)
    review = await rt.expect("check your report")
    assert "KK 167101**********" in review.plain_text
    await rt.press("✏️ Edit", review)
    await rt.press("Who", await rt.expect("Which answer"))
    who = await rt.expect("Who has died?")
    assert "Budi Santoso" in who.buttons()  # the resident's household again
    await rt.press("Budi Santoso", who)
    # He headed the family: who heads it now is asked, not chosen silently.
    await rt.press("Sari Wulandari", await rt.expect("Who is the head of the family now?"))
    await rt.press("✅ Submit", await rt.expect("check your report"))
    await rt.expect("is back with the kelurahan/desa")
    card = await lurah.expect("Is this true?")
    assert "Budi Santoso" in card.plain_text and "Filed by the RT head" in card.plain_text
    async with running_bot.session() as session:
        report = (await session.execute(select(Report))).scalar_one()
        household = await household_by_kk(session, SARI.kk)
        budi = next(m for m in household.members if m.name == "Budi Santoso")
        assert report.payload["member"] == str(budi.id) and report.filed_on_behalf


async def test_rt_head_picks_the_family_by_the_head_name(running_bot, fake_api, tmp_path) -> None:
    """No KK at hand: the RT head types the head's name, in any case, and picks the family
    from their own RT's households, a page of buttons at a time."""
    await seed(running_bot, tmp_path)
    async with running_bot.session() as session:  # eight more families in RT 3 / RW 2
        for i in range(8):
            household = Household(
                kk=f"16710101010100{i + 10}", address=f"Gg. Melati No. {i + 1}",
                region_code=VILLAGE, rw=2, rt=3, desil=None, details={},
            )  # fmt: skip
            session.add(household)
            await session.flush()
            session.add(
                Member(household_id=household.id, name=f"SITI AMINAH {chr(65 + i)}", sex="F",
                       birth_date=date(1970 + i, 1, 1), relationship="head", status="alive",
                       details={})
            )  # fmt: skip
        await session.commit()
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    await open_bot(rt)

    # One family of the RT has a head so named (any case): its report menu at once.
    menu = await open_for(rt, "bUdI santoso")
    assert "What do you want to report for this household?" in menu.plain_text
    assert "Budi Santoso" in menu.plain_text and "KK 167101**********" in menu.plain_text

    # A head of another RT is not found, and the question stays.
    refused = await open_for(rt, "Hartono")
    assert "No family of your RT has a head called “Hartono”" in refused.plain_text
    await rt.send_text("siti aminah")  # eight families: two pages
    first = await rt.expect("Which family? 8 found (page 1 of 2)")
    labels = first.buttons()
    assert labels[:2] == ["SITI AMINAH A · RT 3/RW 2 · Gg. Melati No. 1",
                          "SITI AMINAH B · RT 3/RW 2 · Gg. Melati No. 2"]  # fmt: skip
    assert len(labels) == 8 and labels[-2:] == ["Next »", "🔎 Another name"]
    await rt.press("Next »", first)
    second = await rt.expect("page 2 of 2")
    assert second.buttons() == ["SITI AMINAH G · RT 3/RW 2 · Gg. Melati No. 7",
                                "SITI AMINAH H · RT 3/RW 2 · Gg. Melati No. 8", "« Previous",
                                "🔎 Another name"]  # fmt: skip
    # Not the family wanted: search again by another name (the list has no text answer).
    await rt.press("🔎 Another name", second)
    await rt.expect("Type the name of the head of the family")
    await rt.send_text("siti aminah")
    second = await rt.expect("Which family? 8 found (page 1 of 2)")
    await rt.press("Next »", second)
    second = await rt.expect("page 2 of 2")
    await rt.press("SITI AMINAH H · RT 3/RW 2 · Gg. Melati No. 8", second)
    menu = await rt.expect("What do you want to report for this household?")
    assert "SITI AMINAH H" in menu.plain_text and "Gg. Melati No. 8" in menu.plain_text
    await rt.press("Death", menu)
    who = await rt.expect("Who has died?")
    assert "SITI AMINAH H" in who.buttons() and "Budi Santoso" not in who.buttons()
    # A forged pick of a family of another RT is refused like its KK.
    async with running_bot.session() as session:
        hartono = await household_by_kk(session, HARTONO.kk)
    await rt.press_data(f"obh:{hartono.id}")
    assert NOT_YOURS in (await rt.expect(NOT_YOURS)).plain_text
