from datetime import date

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
    ["29/02/2025", "31 Februari 2026", "32/01/2026", "21 Bulan 2026", "kemarin", "", "21/13/2026"],
)
def test_impossible_or_unreadable_dates(text: str) -> None:
    assert parse_date(text) is None
