from datetime import UTC, date, datetime, timedelta

import pytest

from flows.parsing import parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21/01/2026", date(2026, 1, 21)),
        ("21-1-2026", date(2026, 1, 21)),
        ("21.01.2026", date(2026, 1, 21)),
        ("2026-01-21", date(2026, 1, 21)),
        ("21 Januari 2026", date(2026, 1, 21)),
        ("21 januari 2026", date(2026, 1, 21)),
        ("  21   Jan 2026 ", date(2026, 1, 21)),
        ("5 Agustus 2025", date(2025, 8, 5)),
        ("5 Agt 2025", date(2025, 8, 5)),
        ("17 August 1945", date(1945, 8, 17)),
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_dates_people_write(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "29/02/2025",
        "31 Februari 2026",
        "32/01/2026",
        "21 Bulan 2026",
        "",
        "21/13/2026",
        "kemarin dulu",
        "hari",
        "lalu",
        "-3 hari lalu",
        "99999 hari lalu",
        "30 Februari",
        "3 des 26",
        "besok",
    ],
)
def test_impossible_or_unreadable_dates(text: str) -> None:
    assert parse_date(text) is None


TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hari ini", TODAY),
        ("Hari Ini", TODAY),
        ("today", TODAY),
        ("kemarin", date(2026, 12, 2)),
        ("Kemarin.", date(2026, 12, 2)),
        ("yesterday", date(2026, 12, 2)),
        ("kemarin lusa", date(2026, 12, 1)),
        ("3 hari lalu", date(2026, 11, 30)),
        ("3 hari yang lalu", date(2026, 11, 30)),
        ("10 days ago", date(2026, 11, 23)),
        ("1 day ago", date(2026, 12, 2)),
        ("0 hari lalu", TODAY),
        ("3 Desember 2026", date(2026, 12, 3)),
        ("3 des", date(2026, 12, 3)),
        ("3 Des.", date(2026, 12, 3)),
        ("3des", date(2026, 12, 3)),
        ("4 des", date(2025, 12, 4)),  # no year: the last 4 December, not a future one
        ("1 Januari", date(2026, 1, 1)),
        ("29 Feb", date(2024, 2, 29)),  # the last 29 February
        ("December 3, 2026", date(2026, 12, 3)),
        ("Dec 1", date(2026, 12, 1)),
        ("3rd December 2026", date(2026, 12, 3)),
        ("3 Desember, 2026", date(2026, 12, 3)),
        ("03/12/26", date(2026, 12, 3)),
        ("12/08/85", date(1985, 8, 12)),
        ("3-12-2026", date(2026, 12, 3)),
        ("17 Agustus 1945", date(1945, 8, 17)),
        ("5 Okt 2020", date(2020, 10, 5)),
        ("9 Sept 2020", date(2020, 9, 9)),
    ],
)
def test_words_for_recent_days_and_month_names(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY) == expected


def test_without_a_clock_it_reads_todays_date_in_western_indonesia() -> None:
    # WIB (UTC+7) by default, not the server's day: from 17.00 UTC it is already tomorrow.
    wib_today = (datetime.now(UTC) + timedelta(hours=7)).date()
    assert parse_date("kemarin") == wib_today - timedelta(days=1)
