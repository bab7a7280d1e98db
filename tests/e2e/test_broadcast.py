"""/umumkan end to end: an officer announces to the linked residents of their area.

The announcements go through the outbox: one resident has blocked the bot, and the
officer's summary says so once every message is final.
"""

from __future__ import annotations

from sqlalchemy import select

from registry.accounts import grant_role, link_account, record_consent
from registry.households import import_households
from storage.models import Broadcast, Household, OutboxMessage
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE, registry_rows, write_csv

OFFICER_ID, RT_ID, SARI_ID, BUDI_ID, ANI_ID, FAR_ID = 7301, 7302, 1301, 1302, 1303, 1304
PAGAR_ALAM_VILLAGE = "16.72.01.1001"  # outside Kota Palembang


async def seed(running, fake_api, *, officer_regions: tuple[str, ...] = ("16.71",)) -> dict:
    async with running.session() as session:
        await import_households(
            session, write_csv(running.tmp / "reg.csv", registry_rows(FAMILIES))
        )
        for region in officer_regions:
            await grant_role(session, OFFICER_ID, "officer", region)
        await grant_role(session, RT_ID, "rt", VILLAGE, rw=2, rt=3)
        locales = {OFFICER_ID: "en", RT_ID: "en", SARI_ID: "en", BUDI_ID: "en", ANI_ID: "id",
                   FAR_ID: "en"}  # fmt: skip
        accounts = {}
        for telegram_id, locale in locales.items():  # each agreed to the consent text before
            accounts[telegram_id] = await record_consent(session, telegram_id, locale=locale)
        await link_account(session, accounts[SARI_ID], SARI.person("Sari Wulandari").nik, SARI.kk)
        await link_account(session, accounts[BUDI_ID], SARI.person("Budi Santoso").nik, SARI.kk)
        await link_account(
            session, accounts[ANI_ID], HARTONO.person("Ani Rahmawati").nik, HARTONO.kk
        )
        far = Household(address="Jl. Jauh 1", region_code=PAGAR_ALAM_VILLAGE, rw=1, rt=1)
        session.add(far)
        await session.flush()
        accounts[FAR_ID].household_id = far.id
        await session.commit()
    names = {OFFICER_ID: "Petugas", RT_ID: "Pak RT", SARI_ID: "Sari", BUDI_ID: "Budi",
             ANI_ID: "Ani", FAR_ID: "Jauh"}  # fmt: skip
    return {i: fake_api.user(i, name, language_code="en") for i, name in names.items()}


async def test_officer_announces_to_the_residents_of_their_area(running, fake_api) -> None:
    people = await seed(running, fake_api)
    officer, sari, budi, ani, far = (
        people[OFFICER_ID], people[SARI_ID], people[BUDI_ID], people[ANI_ID], people[FAR_ID],
    )  # fmt: skip
    budi.block()

    await officer.send_text("/umumkan")
    await officer.expect("Write the announcement")
    await officer.send_text("x" * 3501)
    await officer.expect("at most 3500 characters")
    await officer.send_text("Posyandu <Sabtu> & imunisasi\njam 08.00")
    confirm = await officer.expect("It goes to every linked resident of Kota Palembang")
    assert "Recipients: 3." in confirm.plain_text
    assert "Posyandu <Sabtu> & imunisasi" in confirm.plain_text  # escaped, shown as typed
    await officer.press("📢 Send", confirm)
    queued = await officer.expect("on its way to the linked residents of Kota Palembang (16.71)")
    assert "(recipients: 3)" in queued.plain_text

    # Each in their own language: Ani reads Indonesian.
    for resident, title in ((sari, "Announcement for"), (ani, "Pengumuman untuk")):
        news = await resident.expect(f"{title} Kota Palembang")
        assert news.plain_text.endswith("Posyandu <Sabtu> & imunisasi\njam 08.00")
    summary = await officer.expect("Your announcement for Kota Palembang (16.71) has gone out")
    assert "Received it: 2" in summary.plain_text
    assert "Have blocked the bot: 1" in summary.plain_text
    assert "Could not be delivered: 0" in summary.plain_text
    await far.expect_no_message(within=0.3)  # another city
    assert budi.messages == []
    await officer.expect_no_message(within=0.3)  # one summary

    async with running.session() as session:
        broadcast = (await session.execute(select(Broadcast))).scalar_one()
        assert broadcast.total == 3 and broadcast.finished_at is not None
        assert broadcast.text == "Posyandu <Sabtu> & imunisasi\njam 08.00"
        rows = (
            await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.status, OutboxMessage.attempts)
                .where(OutboxMessage.broadcast_id == broadcast.id)
                .order_by(OutboxMessage.chat_id)
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (SARI_ID, "sent", 1), (BUDI_ID, "undeliverable", 1), (ANI_ID, "sent", 1),
    ]  # fmt: skip
    blocked_tries = [c for c in fake_api.calls("sendMessage") if str(c["chat_id"]) == str(BUDI_ID)]
    assert len(blocked_tries) == 1  # never retried


async def test_only_officers_announce(running, fake_api) -> None:
    people = await seed(running, fake_api)
    for person in (people[SARI_ID], people[RT_ID]):
        await person.send_text("/umumkan")
        await person.expect("only officers (Dinas Sosial, BPS) can send announcements")
    async with running.session() as session:
        assert (await session.execute(select(Broadcast))).first() is None
        assert (await session.execute(select(OutboxMessage))).first() is None


async def test_an_officer_of_two_areas_picks_one(running, fake_api) -> None:
    people = await seed(running, fake_api, officer_regions=("16.71", "16.72"))
    officer, far = people[OFFICER_ID], people[FAR_ID]
    await officer.send_text("/umumkan")
    await officer.press("Kota Pagar Alam (16.72)", await officer.expect("Which area"))
    await officer.expect("Write the announcement")
    await officer.send_text("Jalan ditutup besok")
    await officer.press("« Back", await officer.expect("Recipients: 1."))
    await officer.expect("Write the announcement")
    await officer.send_text("Jalan ditutup lusa")
    await officer.press("📢 Send", await officer.expect("Jalan ditutup lusa"))
    await officer.expect("on its way to the linked residents of Kota Pagar Alam")
    assert (await far.expect("Announcement for Kota Pagar Alam")).plain_text.endswith(
        "Jalan ditutup lusa"
    )
    summary = await officer.expect("has gone out")
    assert "Received it: 1" in summary.plain_text
    assert people[SARI_ID].messages == []
