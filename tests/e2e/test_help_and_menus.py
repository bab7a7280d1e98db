"""Every resident can finish (issue 17): /bantuan and free text, the main menu, the "/"
menu by role and language, /bansos, the reviewer's welcome, the step counter, the
consent naming the data controller, times in the region's own zone."""

from __future__ import annotations

import argparse
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from bot.cli.roles import roles_grant, roles_revoke
from bot.settings import load_settings
from locales import WIB, WITA, format_date, format_time, use_locale
from registry import workflow
from registry.accounts import ensure_account, grant_role
from registry.aid import import_aid_data
from registry.desil import import_desil
from registry.households import household_by_kk
from storage.models import Region, RoleGrant, utcnow
from testkit.factories import HARTONO, SARI
from testkit.harness import RunningBot
from tests.helpers.chat import (
    OFFICER_ID,
    RT_ID,
    SARI_ID,
    ago,
    agree,
    file_birth_en,
    link,
    open_bot,
    seed,
)

CONTROLLER = "Dinas Sosial Kota Palembang"
OFFICE = (
    'name = "Kantor Kelurahan 35 Ilir"\nphone = "0711-350035"\nhours = "Senin-Jumat 08.00-15.00"'
)
REVIEWER_ONLY = {"antrian", "umumkan", "undang", "peran"}
BALI = [
    ("51", "Bali", 1, None),
    ("51.71", "Kota Denpasar", 2, "51"),
    ("51.71.01", "Denpasar Selatan", 3, "51.71"),
    ("51.71.01.1001", "Serangan", 4, "51.71.01"),
]


@pytest.fixture
async def bot(fake_api, database_url, tmp_path):
    """The bot with a data controller and the office contact of Sari's kelurahan."""
    contacts = tmp_path / "kantor.toml"
    contacts.write_text(f'[regions."16.71.01.1001"]\n{OFFICE}\n', encoding="utf-8")
    running = RunningBot(
        fake_api, database_url, data_controller=CONTROLLER, office_contacts_file=contacts,
        outbox_poll_interval=0.2,
    )  # fmt: skip
    running.tmp = tmp_path
    await running.start()
    yield running
    await running.stop()


def local(value, zone):
    return value.replace(tzinfo=UTC).astimezone(zone)


def commands(fake_api, chat_id: int, language: str = "") -> set[str]:
    return {c["command"] for c in fake_api.commands_in_chat(chat_id, language)}


async def linked(fake_api, telegram_id: int = SARI_ID, language: str = "en"):
    sari = fake_api.user(telegram_id, "Sari", language_code=language)
    button = "🇬🇧 English" if language == "en" else None
    await link(sari, language_button=button, nik=SARI.people[1].nik, kk=SARI.kk)
    return sari


def short(message) -> None:
    """One message a resident reads: at most 500 characters as Telegram counts them."""
    assert len(message.plain_text) <= 500, (len(message.plain_text), message.plain_text)


async def test_help_contacts_faq_and_the_main_menu(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    rt = fake_api.user(RT_ID, "Pak Joko", language_code="en")
    await open_bot(rt)
    sari = fake_api.user(SARI_ID, "Sari", language_code="id")
    await sari.send_text("/start")
    consent = await sari.expect("/datasaya")
    assert f"Pengendali data: {CONTROLLER}" in consent.plain_text
    short(consent)
    await sari.press("✅ Saya setuju", consent)
    assert len((await sari.expect_edit(message=consent)).plain_text) <= 500
    await sari.next_message()  # the contact question
    await sari.send_contact("+6281234567890")
    await sari.expect("NIK")
    await sari.send_text(SARI.people[1].nik)
    await sari.expect("KK")
    await sari.send_text(SARI.kk)
    done = await sari.expect("terhubung dengan keluarga")
    # The main menu stays under the text field.
    assert [b["text"] for b in done.reply_buttons()] == [
        "📝 Lapor", "📋 Status", "💰 Cek bansos", "❓ Bantuan",
    ]  # fmt: skip
    assert done.reply_markup.get("is_persistent") is True

    await sari.send_text("❓ Bantuan")
    intro = await sari.expect("Lapor Warga: bantuan")
    contacts = await sari.next_message()
    faq = await sari.next_message()
    for message in (intro, contacts, faq):
        short(message)
        assert "registri" not in message.plain_text.lower()
    assert "📝 Laporkan perubahan" in intro.buttons()
    assert "Pak Joko" in contacts.plain_text and "RT 3 / RW 2" in contacts.plain_text
    assert 'href="tg://user?id=7001"' in contacts.text
    assert "Kantor Kelurahan 35 Ilir, 0711-350035, Senin-Jumat 08.00-15.00" in contacts.plain_text
    assert "Dinas Sosial yang memutuskan" in faq.plain_text
    await sari.press("📝 Laporkan perubahan", intro)
    await sari.expect("Apa yang ingin Anda laporkan?")

    # Free text naming a report offers its button; other text gets the help.
    await sari.send_text("halo, saya mau lapor anak saya lahir")
    offer = await sari.expect("Apakah Anda ingin melaporkan ini?")
    assert offer.buttons() == ["Kelahiran"]
    await sari.press("Kelahiran", offer)
    await sari.expect("nama lengkap bayi")
    await sari.send_text("/batal")
    cancelled = await sari.expect("Dibatalkan")
    assert cancelled.reply_buttons()[0]["text"] == "📝 Lapor"  # the main menu is back
    await sari.send_text("Kami tidak mendapat bantuan")
    offer = await sari.expect("Apakah Anda ingin melaporkan ini?")
    assert offer.buttons() == ["Usulan bansos", "💰 Cek bansos"]
    await sari.send_text("selamat pagi")
    await sari.expect("Lapor Warga: bantuan")


async def test_help_in_english_for_someone_not_linked_yet(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    stranger = fake_api.user(1555, "Rina", language_code="en")
    await stranger.send_text("/help")
    await agree(stranger)
    await stranger.next_message()  # /start's linking begins after the consent
    await stranger.send_text("/batal")
    await stranger.expect("Cancelled")
    await stranger.send_text("/help")
    intro = await stranger.expect("Lapor Warga: help")
    assert intro.buttons() == ["🔗 Link my household", "📝 Report a household not yet recorded"]
    contacts = await stranger.expect("Who can help you")
    assert "Link your account with /start" in contacts.plain_text
    assert not contacts.reply_buttons()  # no main menu before linking
    await stranger.send_text("my father died")
    await stranger.expect("Lapor Warga: help")  # a death is reported once linked


async def test_the_main_menu_buttons_and_bansos(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    sari = await linked(fake_api)
    await sari.expect("is linked to household")
    await sari.send_text("💰 Check aid")
    holds = await sari.expect("Check aid and desil")
    short(holds)
    assert "Desil: 2 (as of" in holds.plain_text
    assert "No aid programme is recorded for your family here." in holds.plain_text
    assert "Your family has no report in review." in holds.plain_text
    honest = await sari.expect("Who decides?")
    short(honest)
    assert "Dinas Sosial decides" in honest.plain_text and "DTSEN" in honest.plain_text
    assert honest.buttons() == ["Aid proposal", "Dispute"]
    await sari.press("Aid proposal", honest)
    await sari.expect("Which family do you propose for aid?")
    await sari.send_text("❓ Help")  # a menu tap in the middle of a form: the form is kept
    await sari.expect("Your unfinished form is kept: /lanjut continues it.")
    await sari.send_text("/lanjut")
    await sari.expect("Which family do you propose for aid?")
    await sari.send_text("/batal")
    await sari.expect("Cancelled")

    number = await file_birth_en(sari, "Raka Pratama", ago(3))
    await sari.send_text("📋 Status")
    listing = await sari.expect("Your reports")
    assert number in listing.plain_text
    await sari.send_text("/bansos")
    holds = await sari.expect("Check aid and desil")
    assert f"{number} · Birth · Waiting for the RT head" in holds.plain_text
    await sari.send_text("📝 Report")
    await sari.expect("What do you want to report?")
    await sari.send_text("/start")  # the welcome back names what the menu offers
    back = await sari.expect("Welcome back!")
    assert "/bansos" in back.plain_text and "/bantuan" in back.plain_text


async def test_command_menus_follow_role_and_language(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    sari = await linked(fake_api, language="id")
    await sari.expect("terhubung dengan keluarga")
    await fake_api.wait_for(lambda: commands(fake_api, SARI_ID), 5, "Sari's own menu")
    mine = fake_api.commands_in_chat(SARI_ID)
    assert {c["command"] for c in mine}.isdisjoint(REVIEWER_ONLY)
    assert {"lapor", "status", "bansos", "bantuan"} <= {c["command"] for c in mine}
    assert mine[0]["description"] == "Laporkan perubahan di keluarga Anda"
    await sari.send_text("/bahasa")
    await sari.press("🇬🇧 English", await sari.expect("Pilih bahasa Anda."))
    await fake_api.wait_for(
        lambda: fake_api.commands_in_chat(SARI_ID)[0]["description"]
        == "Report a change in your household",
        5, "the menu in English",
    )  # fmt: skip

    rt = fake_api.user(RT_ID, "Pak Joko", language_code="en")
    officer = fake_api.user(OFFICER_ID, "Petugas", language_code="en")
    for reviewer in (rt, officer):
        await open_bot(reviewer)
    await fake_api.wait_for(lambda: "antrian" in commands(fake_api, OFFICER_ID), 5, "officer")
    assert {"antrian", "peran"} <= commands(fake_api, RT_ID)
    assert {"umumkan", "undang"}.isdisjoint(commands(fake_api, RT_ID))
    assert REVIEWER_ONLY <= commands(fake_api, OFFICER_ID)

    # Granted from the command line while the bot runs: the menu follows, and goes back.
    settings = load_settings(database_url=bot.settings.database_url)
    grant = argparse.Namespace(telegram_id=SARI_ID, role="rt", region="16.71.01.1001", rw=2, rt=5)
    assert await roles_grant(settings, grant) == 0
    await fake_api.wait_for(lambda: "antrian" in commands(fake_api, SARI_ID), 10, "granted")
    async with bot.session() as session:
        grant_id = await session.scalar(
            select(RoleGrant.id).where(RoleGrant.role == "rt", RoleGrant.rt == 5)
        )
    assert await roles_revoke(settings, argparse.Namespace(grant_id=grant_id)) == 0
    await fake_api.wait_for(lambda: "antrian" not in commands(fake_api, SARI_ID), 10, "revoked")
    assert "lapor" in commands(fake_api, SARI_ID)

    # An officer who deletes their account: their chat goes back to the default menu.
    await officer.send_text("/hapusakun")
    await officer.press("🗑 Yes, delete my account", await officer.expect("Delete your account?"))
    await fake_api.wait_for(
        lambda: (f"chat:{OFFICER_ID}", "") not in fake_api.commands, 5, "the default menu"
    )


async def test_the_reviewer_welcome_counts_what_waits(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    sari = await linked(fake_api)
    await sari.expect("is linked to household")
    await file_birth_en(sari, "Raka Pratama", ago(3))
    rt = fake_api.user(RT_ID, "Pak Joko", language_code="en")
    await rt.send_text("/start")
    welcome = await agree(rt, expect="You review reports as")
    assert "RT head: Tiga-puluh-lima Ilir RW 2 RT 3" in welcome.plain_text
    assert "Reports waiting for your decision now: 1." in welcome.plain_text
    # The RT head is a resident too. /lapor sends them to /start to link their family;
    # /start greets them as a reviewer, with the button that links (it looped to the
    # welcome, which never offered linking).
    await rt.send_text("/lapor")
    assert "first link your account with /start" in (await rt.expect("report?")).plain_text
    await rt.send_text("/start")
    welcome = await rt.expect("You review reports as")
    assert "link your account first" in welcome.plain_text
    await rt.press("🔗 Link my household", welcome)
    await rt.expect("share your phone number")
    await rt.send_contact("+6281234500077")
    await rt.send_text(HARTONO.person("Hartono").nik)
    await rt.expect("KK")
    await rt.send_text(HARTONO.kk)
    await rt.expect("is linked to household")


async def test_the_step_counter_keeps_its_total(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    sari = await linked(fake_api)
    await sari.expect("is linked to household")
    await sari.send_text("/lapor")
    await sari.press("Dispute", await sari.expect("What do you want to report?"))
    first = await sari.expect("What do you dispute?")
    assert "(1/6)" in first.plain_text
    await sari.press("Our desil or classification is wrong", first)
    reason = await sari.expect("Why?")
    assert "(5/6)" in reason.plain_text  # the questions about another family are skipped


async def test_times_are_in_the_regions_own_zone(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    async with bot.session() as session:  # the test databases hold province 16 only
        for code, name, level, parent in BALI:
            if await session.get(Region, code) is None:
                session.add(Region(code=code, name=name, level=level, parent_code=parent))
        await session.flush()
        await grant_role(session, 7301, "officer", "51.71")  # Kota Denpasar: WITA
        await session.commit()
    officer = fake_api.user(7301, "Petugas Bali", language_code="en")
    await officer.send_text("/start")
    await agree(officer, expect="Officer: Kota Denpasar")
    await officer.send_text("/undang")
    await officer.press("Lurah / kepala desa", await officer.expect("Which role"))
    await officer.expect("For which desa/kelurahan?")
    await officer.send_text("51.71.01.1001")
    await officer.press(
        "Serangan, Denpasar Selatan, Kota Denpasar", await officer.expect("Choose the right one")
    )
    sent = await officer.expect("Send this link to the person you invite")
    with use_locale("en"):
        expires = format_time(local(utcnow() + timedelta(days=7), WITA))
    assert f"{expires} WITA:" in sent.plain_text and "WIB" not in sent.plain_text

    sari = await linked(fake_api)  # Kota Palembang: WIB
    await sari.expect("is linked to household")
    number = await file_birth_en(sari, "Raka Pratama", ago(3))
    await sari.send_text(f"/status {number}")
    history = await sari.expect(number)
    with use_locale("en"):
        submitted = format_time(local(utcnow(), WIB))
    assert f"{submitted} WIB · Submitted" in history.plain_text  # not the UTC time


async def test_bansos_shows_what_the_national_data_says_and_since_when(bot, fake_api) -> None:
    await seed(bot, bot.tmp)
    aid = bot.tmp / "aid.csv"
    aid.write_text(f"kk,programmes\n{SARI.kk},pkh bpnt\n", encoding="utf-8")
    desil = bot.tmp / "desil.csv"
    desil.write_text(f"no_kk,desil\n{SARI.kk},1\n", encoding="utf-8")
    async with bot.session() as session:
        assert await import_aid_data(session, aid) == (1, 1)
        assert (await import_desil(session, desil)).changed == 1
        await session.commit()
    sari = await linked(fake_api)
    await sari.expect("is linked to household")
    await sari.send_text("/bansos")
    holds = await sari.expect("Check aid and desil")
    with use_locale("en"):
        today = format_date(local(utcnow(), WIB))
    assert f"Desil: 1 (as of {today})" in holds.plain_text
    assert "Aid recorded for your family: PKH (Program Keluarga Harapan), BPNT / Sembako." in (
        holds.plain_text
    )

    # A neighbour's sanggahan about Sari's family hides its reporter: not listed to her.
    async with bot.session() as session:
        household = await household_by_kk(session, SARI.kk)
        neighbour = await ensure_account(session, 1777)
        await workflow.submit_report(
            session, kind="dispute", household=household, reporter=neighbour,
            payload={"subject": "other_household", "target": "Bu Sari", "target_kk": SARI.kk,
                     "reason": "Punya mobil."},
        )  # fmt: skip
        await session.commit()
    await sari.send_text("/bansos")
    holds = await sari.expect("Check aid and desil")
    assert "Your family has no report in review." in holds.plain_text
