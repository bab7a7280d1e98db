"""Rejections, the reviewer's queue, /status, Indonesian by default, and a restart mid-form."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import select

from storage import db
from storage.models import Draft, Report
from testkit.factories import SARI
from tests.helpers.chat import LURAH_ID, RT_ID, SARI_ID, agree, link, open_bot, seed
from tests.helpers.console import birth_report, client_for, make_console, signed_in


async def file_birth(person, name: str, born: date) -> str:
    """Indonesian birth form, happy path; returns the tracking number."""
    await person.send_text("/lapor")
    await person.press("Kelahiran", await person.next_message())
    await person.next_message()
    await person.send_text(name)
    await person.press("Laki-laki", await person.next_message())
    await person.next_message()
    await person.send_text(f"{born.day} {INDONESIAN_MONTHS[born.month - 1]} {born.year}")
    await person.press("Sari Wulandari", await person.next_message())
    await person.press("Lewati »", await person.next_message())
    review = await person.expect("periksa laporan Anda")
    assert INDONESIAN_MONTHS[born.month - 1] in review.plain_text  # dates in Bahasa Indonesia
    await person.press("✅ Kirim")
    sent = await person.expect("LW-")
    return next(w for w in sent.plain_text.split() if w.startswith("LW-")).rstrip(".")


INDONESIAN_MONTHS = [
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
]  # fmt: skip


async def test_rejection_reaches_the_resident_in_indonesian(
    running_bot, fake_api, tmp_path, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    await seed(running_bot, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code=None)  # no hint: Indonesian
    rt = fake_api.user(RT_ID, "Pak RT", language_code="id")
    await link(sari, language_button="🇮🇩 Bahasa Indonesia", nik=SARI.people[1].nik, kk=SARI.kk)
    linked = await sari.expect("KK 167101**********")
    assert "/lapor" in linked.plain_text

    number = await file_birth(sari, "Bagus Pratama", date.today() - timedelta(days=10))
    await rt.expect("laporan baru")
    card = await rt.expect(number)
    # The RT head (granted from the command line) taps the card before ever opening the bot:
    # the consent text first, then the card works.
    await rt.press("✅ Konfirmasi", card)
    await agree(rt, expect="/antrian")
    async with running_bot.session() as session:
        assert (await session.execute(select(Report))).scalar_one().state == "awaiting_rt"
    await rt.press("❌ Tolak", card)
    await rt.press("Sudah pernah dilaporkan", await rt.expect("Mengapa"))
    await rt.expect("Jelaskan alasannya")
    await rt.send_text("Bayi ini <sudah> dilaporkan & tercatat")
    await rt.expect("ditolak")
    told = await sari.expect("ditolak oleh Ketua RT")
    assert "Bayi ini <sudah> dilaporkan & tercatat" in told.plain_text
    await rt.press("✅ Konfirmasi", card, stale=True)  # the old card after the rejection
    assert (await rt.wait_callback_answer())["text"] == "Laporan ini sudah diputuskan."

    await sari.send_text("/status")
    status = await sari.expect(number)
    assert "Ditolak" in status.plain_text
    async with running_bot.session() as session:
        report = (await session.execute(select(Report))).scalar_one()
        assert report.state == "rejected"
        assert report.events[-1].note == "Bayi ini <sudah> dilaporkan & tercatat"
    # Personal data never reaches the logs.
    for person in SARI.people:
        assert person.nik not in caplog.text
    assert SARI.kk not in caplog.text


async def test_reviewer_queue_and_strict_tier_order(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code="id")
    lurah = fake_api.user(LURAH_ID, "Bu Lurah", language_code="id")
    rt = fake_api.user(RT_ID, "Pak RT", language_code="id")
    for reviewer in (lurah, rt):
        await open_bot(reviewer)
    await link(sari, language_button="🇮🇩 Bahasa Indonesia", nik=SARI.people[1].nik, kk=SARI.kk)
    await sari.expect("KK 167101**********")
    number = await file_birth(sari, "Bagus Pratama", date.today() - timedelta(days=1))

    await lurah.send_text("/antrian")
    await lurah.expect("Tidak ada")  # waiting for the RT first: not in the lurah's queue
    await rt.send_text("/antrian")
    queue = await rt.expect("Menunggu keputusan Anda: 1")
    await rt.press(f"{number} · Kelahiran", queue)
    card = await rt.expect("Apakah ini benar?")
    await rt.press("✅ Konfirmasi", card)
    await sari.expect("dikonfirmasi Ketua RT")
    await lurah.send_text("/antrian")
    await lurah.expect(number)
    await sari.send_text("/antrian")
    await sari.expect("Anda tidak memiliki peran pemeriksa.")


async def test_a_restart_in_the_middle_of_a_form_loses_nothing(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code="id")
    await link(sari, language_button="🇮🇩 Bahasa Indonesia", nik=SARI.people[1].nik, kk=SARI.kk)
    await sari.expect("KK 167101**********")
    await sari.send_text("/lapor")
    await sari.press("Kelahiran", await sari.next_message())
    await sari.next_message()
    await sari.send_text("Citra Maharani")
    await sari.expect("laki-laki atau perempuan")
    stale = sari.messages[-1]

    await running_bot.restart()

    await sari.send_text("/start")
    resumed = await sari.expect("laki-laki atau perempuan")
    await sari.press("Perempuan", stale)  # a button from before the restart still works
    await sari.expect("lahir")
    await sari.press("« Kembali")
    await sari.expect("laki-laki atau perempuan")
    await sari.press("Perempuan", resumed, stale=True)  # pressed again on an older copy
    assert (await sari.wait_callback_answer())["text"] == "Tombol ini sudah tidak berlaku."
    async with running_bot.session() as session:
        draft = (await session.execute(select(Draft))).scalar_one()
        assert draft.step == "sex" and draft.answers["name"] == "CITRA MAHARANI"
        assert draft.answers["sex"] == "F"


async def test_edit_at_review_long_input_and_double_submit(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code="en")
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    await link(sari, language_button="🇬🇧 English", nik=SARI.people[1].nik, kk=SARI.kk)
    await sari.expect("is linked")
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.next_message())
    await sari.next_message()
    await sari.send_text("x" * 10_000)
    await sari.expect("at most 100 characters")
    await sari.send_photo()
    await sari.expect("I will ask for photos at the end")
    await sari.send_text("Gilang Ramadhan")
    await sari.press("Boy", await sari.next_message())
    await sari.next_message()
    first_date = date.today() - timedelta(days=5)
    await sari.send_text(first_date.isoformat())
    await sari.press("Sari Wulandari", await sari.next_message())
    await sari.press("Skip »", await sari.next_message())
    review = await sari.expect("check your report")
    assert "(skipped)" in review.plain_text

    # Edit the date from the review screen, then come back to it.
    await sari.press("✏️ Edit", review)
    await sari.press("Date of birth", await sari.expect("Which answer"))
    await sari.expect("When was the baby born")
    corrected = date.today() - timedelta(days=4)
    await sari.send_text(corrected.strftime("%d-%m-%Y"))
    review = await sari.expect("check your report")
    assert f"{corrected:%B} {corrected.day}, {corrected.year}" in review.plain_text
    assert "GILANG RAMADHAN" in review.plain_text and "Sari Wulandari" in review.plain_text

    # Two taps on Submit before the bot answers: one report.
    first = await sari.press("✅ Submit", review)
    second = await sari.press("✅ Submit", review)
    await sari.expect("tracking number")
    answers = [(await sari.wait_callback_answer(q)).get("text") for q in (first, second)]
    assert answers.count("This button has expired.") == 1
    await rt.expect("Apakah ini benar?")  # the RT head never chose: Indonesian
    await rt.expect_no_message()  # one report, one card
    async with running_bot.session() as session:
        reports = (await session.execute(select(Report))).scalars().all()
        assert len(reports) == 1
        assert reports[0].payload["birth_date"] == corrected.isoformat()
        assert (await session.execute(select(Draft))).first() is None


async def test_a_rejection_reason_typed_after_another_rt_head_confirmed(
    running_bot, fake_api, tmp_path
) -> None:
    from registry.accounts import grant_role
    from testkit.factories import VILLAGE

    await seed(running_bot, tmp_path)
    async with running_bot.session() as session:
        await grant_role(session, 7010, "rt", VILLAGE, rw=2, rt=3)  # a second head for the same RT
        await session.commit()
    sari = fake_api.user(SARI_ID, "Sari", language_code="id")
    rt = fake_api.user(RT_ID, "Pak RT", language_code="id")
    deputy = fake_api.user(7010, "Bu Wakil RT", language_code="id")
    for reviewer in (rt, deputy):
        await open_bot(reviewer)
    await link(sari, language_button="🇮🇩 Bahasa Indonesia", nik=SARI.people[1].nik, kk=SARI.kk)
    await sari.expect("KK 167101**********")
    await file_birth(sari, "Bagus Pratama", date.today() - timedelta(days=2))

    await rt.press("❌ Tolak", await rt.expect("Apakah ini benar?"))
    await rt.press("Bukan di wilayah ini", await rt.expect("Mengapa"))
    await deputy.press("✅ Konfirmasi", await deputy.expect("Apakah ini benar?"))
    await sari.expect("dikonfirmasi Ketua RT")
    await rt.send_text("Tidak tinggal di sini")
    await rt.expect("Laporan ini sudah diputuskan.")
    await sari.expect_no_message()
    async with running_bot.session() as session:
        report = (await session.execute(select(Report))).scalar_one()
        assert report.state == "awaiting_kelurahan"
        assert (await session.execute(select(Draft))).first() is None


async def test_language_switch_resume_and_report_history(running_bot, fake_api, tmp_path) -> None:
    await seed(running_bot, tmp_path)
    sari = fake_api.user(SARI_ID, "Sari", language_code="id")
    await link(sari, language_button="🇮🇩 Bahasa Indonesia", nik=SARI.people[1].nik, kk=SARI.kk)
    await sari.expect("KK 167101**********")
    number = await file_birth(sari, "Bagus Pratama", date.today() - timedelta(days=2))

    await sari.send_text("/bahasa")
    await sari.press("🇬🇧 English", await sari.expect("Pilih bahasa Anda."))
    await sari.expect("From now on I will write to you in English.")
    await sari.send_text("/lanjut")
    await sari.expect("You have no unfinished form.")
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.next_message())
    await sari.expect("baby's full name")
    await sari.send_text("/lanjut")
    await sari.expect("baby's full name")

    await sari.send_text(f"/status {number.lower()}")
    history = await sari.expect(number)
    assert "Submitted" in history.plain_text and "Waiting for the RT head" in history.plain_text
    await sari.send_text("/status LW-1999-000042")
    await sari.expect("None of your reports has the number LW-1999-000042.")
    assert fake_api.commands[("default", "en")][-1]["command"] == "bahasa"


async def test_the_queue_counts_every_waiting_report_in_the_chat_and_the_console(
    running_bot, fake_api, database_url, tmp_path
) -> None:
    """60 reports wait for the RT head: /antrian lists the oldest 20 and says 60, and the
    console's "waiting for my decision" finds the same 60. A report waiting at the lurah's
    tier (the RT head's own: it skips his tier) counts in neither."""
    await seed(running_bot, tmp_path)
    rt = fake_api.user(RT_ID, "Pak RT", language_code="id")
    await open_bot(rt)
    numbers = []
    async with running_bot.session() as session:
        for n in range(60):
            report = await birth_report(session, reporter_id=100 + n, payload={"name": f"Anak {n}"})
            numbers.append(report.number)
        own = await birth_report(session, reporter_id=RT_ID)
        assert own.state == "awaiting_kelurahan"

    await rt.send_text("/antrian")
    queue = await rt.expect("Menunggu keputusan Anda: 60")
    listed = [line for line in queue.plain_text.splitlines() if line.startswith("•")]
    assert len(listed) == 20 and len(queue.buttons()) == 20
    assert [line.split()[1] for line in listed] == numbers[:20]  # the oldest first
    await rt.press(f"{numbers[19]} · Kelahiran", queue)
    await rt.expect("Apakah ini benar?")

    engine = db.create_engine(database_url)
    client = await client_for(make_console(db.make_sessionmaker(engine), tmp_path))
    try:
        await signed_in(client, db.make_sessionmaker(engine), RT_ID)
        html = await (await client.get("/")).text()
        assert "Laporan ditemukan: 60" in html
        assert own.number not in html
    finally:
        await client.close()
        await engine.dispose()
