"""No full NIK, KK, phone number or typed text reaches the logs.

A whole resident's journey runs through the real bot with every log record at DEBUG
captured: linking with a phone, a wrong and a right NIK + KK, a report naming a person
with their NIK, a reviewer's question and the answer, the three reviewers' decisions,
and an update whose database write fails (an SQL error raised from inside the INSERT of
a report, which carries the report's answers as parameters) so that the error handler
logs a traceback. The log is checked as written with the CLI's redaction filter
installed (production), and also as the code logged it, before the filter: the code
itself must not log personal data; the filter is only defence in depth.
"""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import text

from bot.redaction import RedactPersonalData, install, redact
from registry.nik import make_nik
from testkit.factories import HARTONO, SARI
from tests.helpers.chat import (
    LURAH_ID,
    OFFICER_ID,
    RT_ID,
    SARI_ID,
    agree,
    ask_reporter,
    reviewer,
    seed,
)

PHONE = "6281277771234"  # as Telegram sends a shared contact
ANDI_NIK = make_nik("167102", date(1995, 3, 3), "M", 77)
SARI_NIK = SARI.person("Sari Wulandari").nik
TYPED = [
    "Andi Saputra Wibisono",  # a person's name
    "Kampung Rambutan Ujung",  # where he lived before
    "Sejak kapan Andi tinggal di rumah Ibu?",  # the RT head's question
    "Sejak Lebaran, bersama istrinya",  # the answer
    "Tetangga sebelah punya dua mobil",  # a dispute's reason (the failing update)
]
SECRETS = [
    SARI_NIK, SARI.kk, HARTONO.kk, ANDI_NIK, PHONE, "+" + PHONE, "0" + PHONE[2:], *TYPED,
]  # fmt: skip
TRIGGER = "lw_forced_failure"


def spaced(number: str) -> str:
    """A number as people type it from the card: in groups of four."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


class RawRecords(logging.Handler):
    """Every record as the code logged it (runs before the redaction filter changes it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._format = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self._format.format(record))
        record.exc_text = None  # the formatter cached it: let the filter format it afresh


@pytest.fixture
def captured(caplog):
    """Root at DEBUG, the production filter on its handlers, and a raw copy first."""
    caplog.set_level(logging.DEBUG)
    root = logging.getLogger()
    filter_ = install()
    raw = RawRecords()
    root.handlers.insert(0, raw)
    yield raw
    root.removeHandler(raw)
    for handler in root.handlers:
        handler.removeFilter(filter_)


async def _force_failure_of_report_inserts(running, on: bool) -> None:
    async with running.session() as session:
        postgres = session.bind.dialect.name == "postgresql"
        if on and postgres:
            await session.execute(
                text(
                    f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql "
                    "AS $$ BEGIN RAISE EXCEPTION 'forced failure'; END $$"
                )
            )
            await session.execute(
                text(
                    f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON reports "
                    f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
                )
            )
        elif on:
            await session.execute(
                text(
                    f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON reports "
                    "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
                )
            )
        elif postgres:
            await session.execute(text(f"DROP TRIGGER {TRIGGER} ON reports"))
        else:
            await session.execute(text(f"DROP TRIGGER {TRIGGER}"))
        await session.commit()


async def _journey(running, fake_api, tmp_path) -> None:
    await seed(running, tmp_path)
    rt = await reviewer(fake_api, RT_ID, "Pak RT")
    lurah = await reviewer(fake_api, LURAH_ID, "Bu Lurah")
    officer = await reviewer(fake_api, OFFICER_ID, "Petugas")
    sari = fake_api.user(SARI_ID, "Sari", language_code="en")

    # Linking: the phone, a wrong KK, then the right pair.
    await sari.send_text("/start")
    await agree(sari)
    await sari.expect("Share my contact")
    await sari.send_contact(PHONE)
    await sari.expect("Send your NIK")
    await sari.send_text(spaced(SARI_NIK))
    await sari.expect("Kartu Keluarga (KK)")
    await sari.send_text(HARTONO.kk)
    await sari.expect("do not match")
    await sari.send_text(SARI_NIK)
    await sari.expect("Kartu Keluarga (KK)")
    await sari.send_text(spaced(SARI.kk))
    await sari.expect("is linked to household")

    # A person moved in: his NIK, name and where he lived.
    await sari.send_text("/lapor")
    await sari.press("Moved in", await sari.expect("What do you want to report?"))
    await sari.expect("NIK of the person")
    await sari.send_text(spaced(ANDI_NIK))
    await sari.expect("full name")
    await sari.send_text(TYPED[0])
    await sari.press("Male", await sari.expect("Sex?"))
    await sari.expect("When were they born")
    await sari.send_text("3 Maret 1995")
    await sari.press("Other relative", await sari.expect("head of your household"))
    await sari.expect("live before")
    await sari.send_text(TYPED[1])
    await sari.press(f"✍️ Use “{TYPED[1]}” as written", await sari.expect("No desa/kelurahan"))
    await sari.press("Skip »", await sari.expect("moving letter"))
    await sari.press("✅ Submit", await sari.expect("check your report"))
    await sari.expect("tracking number")

    # The RT head asks; she answers; the three tiers decide.
    await ask_reporter(rt, TYPED[2])
    await sari.press("✍️ Answer", await sari.expect("asks about report"))
    await sari.expect("Your answer about report")
    await sari.send_text(TYPED[3])
    await sari.expect("is back with the RT head")
    await rt.press("✅ Confirm", await rt.expect(TYPED[3]))
    await lurah.press("✅ Verify", await lurah.expect("Is this true?"))
    await officer.press("✅ Approve", await officer.expect("Is this true?"))
    await sari.expect("is now in the registry")

    # A dispute whose filing fails inside the database: the error handler logs it.
    await _force_failure_of_report_inserts(running, on=True)
    try:
        await sari.send_text("/lapor")
        await sari.press("Dispute", await sari.expect("What do you want to report?"))
        await sari.press("Our desil or classification is wrong", await sari.expect("dispute"))
        await sari.expect("Why?")
        await sari.send_text(TYPED[4])
        await sari.press("Skip »", await sari.expect("evidence"))
        await sari.press("✅ Submit", await sari.expect("check your report"))
        # In her (Telegram) language: English.
        sorry = "Sorry, something went wrong. Nothing was lost; please try again."
        assert (await sari.next_message()).plain_text == sorry
    finally:
        await _force_failure_of_report_inserts(running, on=False)


async def test_a_whole_journey_logs_no_personal_data(
    running_bot, fake_api, tmp_path, captured, caplog
) -> None:
    # The two loggers that would write SQL parameters or result rows stay quiet at DEBUG:
    # aiosqlite's statements (pinned to INFO by storage.db) and SQLAlchemy's rows.
    assert logging.getLogger().isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.DEBUG)
    await _journey(running_bot, fake_api, tmp_path)
    # The two views of the log differ where the filter acts (and only there).
    logging.getLogger("tests.security").debug("probe %s", SARI_NIK)
    probe = caplog.records.pop()
    assert probe.getMessage() == f"probe {SARI_NIK[:6]}{'*' * 10}"
    assert captured.lines.pop().endswith(f"probe {SARI_NIK}")

    written = [record.getMessage() + "\n" + (record.exc_text or "") for record in caplog.records]
    failure = [r for r in caplog.records if r.name == "handlers.routers" and r.exc_text]
    assert failure, "the failing update was not logged with its traceback"
    # The error was the database's, about the INSERT that carried the answers.
    assert "forced failure" in failure[0].exc_text and "INSERT INTO reports" in failure[0].exc_text
    assert "SQL parameters hidden" in failure[0].exc_text
    assert len(captured.lines) >= len(written) > 20  # DEBUG records of aiogram, the outbox...
    for where, lines in (("as written", written), ("as logged by the code", captured.lines)):
        for line in lines:
            for secret in SECRETS:
                assert secret not in line, f"{secret!r} in a log line {where}: {line}"
            assert spaced(SARI_NIK) not in line and spaced(ANDI_NIK) not in line


def test_the_filter_masks_what_would_slip_through() -> None:
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "link %s / %s, call %s", (SARI_NIK, spaced(SARI.kk),
        "+62 812-7777-1234"), None,
    )  # fmt: skip
    try:
        raise ValueError(f"bad number {ANDI_NIK} from 081277771234")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactPersonalData().filter(record) is True
    text = logging.Formatter().format(record)
    for secret in (SARI_NIK, SARI.kk, spaced(SARI.kk), ANDI_NIK, "812-7777-1234", "081277771234"):
        assert secret not in text
    assert SARI_NIK[:6] + "*" * 10 in text and "[phone]" in text
    assert redact("chat 123456789 update 9876543210") == "chat 123456789 update 9876543210"
