"""Typed answers of the engine's field kinds, and the region search behind the region kind."""

from __future__ import annotations

import pytest

from flows import fields
from registry.forms import FieldError
from registry.regions import search_regions


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0812 3456 7890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("6281234567", "+6281234567"),
        ("(0813) 1111 2222", "+6281311112222"),
    ],
)
def test_phone_numbers_in_every_usual_spelling(typed: str, stored: str) -> None:
    assert fields.phone(typed) == stored


@pytest.mark.parametrize("typed", ["021 555 1234", "0812", "08123456789012345", "nomor saya"])
def test_phone_refuses_what_is_not_a_mobile_number(typed: str) -> None:
    with pytest.raises(FieldError, match="0812 3456 7890"):
        fields.phone(typed)


def test_numbers_within_range() -> None:
    assert fields.number(" 7 ", 1, 999) == 7
    with pytest.raises(FieldError, match="dari 1 sampai 999"):
        fields.number("1000", 1, 999)
    with pytest.raises(FieldError, match="angka"):
        fields.number("tujuh", 1, 999)


async def test_region_search_ignores_case_and_hyphens_and_names_the_parents(session) -> None:
    matches = await search_regions(session, "tiga PULUH lima")
    assert [(m.code, m.label) for m in matches] == [
        ("16.71.01.1001", "Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang")
    ]
    assert await search_regions(session, "100%_ilir") == []  # LIKE wildcards are literal


async def test_region_search_lists_names_starting_with_the_query_first(session) -> None:
    matches = await search_regions(session, "ulu", limit=50)
    assert matches and all("ulu" in m.label.casefold() for m in matches)
    starts = [m.label.casefold().startswith("ulu") for m in matches]
    assert starts == sorted(starts, reverse=True)
