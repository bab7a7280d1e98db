"""Tests for registry.nik: NIK/KK parsing, validation and masking."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.nik import (
    PROVINCE_CODES,
    InvalidIdentityNumber,
    NikInfo,
    make_nik,
    mask,
    normalize_digits,
    parse_nik,
    validate_kk,
)

# Fixed once so a test run crossing midnight cannot change the century rule.
TODAY = datetime.date.today()

WOMAN_NIK = "1671016305900001"  # 16.71.01, woman born 1990-05-23 (23 + 40 = 63)
MAN_NIK = "3201010101900007"  # 32.01.01, man born 1990-01-01


def _code(value: str, **kwargs: object) -> str:
    with pytest.raises(InvalidIdentityNumber) as info:
        parse_nik(value, **kwargs)  # type: ignore[arg-type]
    return info.value.code


# --- decoding ---------------------------------------------------------------


def test_woman_decodes_sex_birth_date_region() -> None:
    info = parse_nik(WOMAN_NIK, today=datetime.date(2026, 1, 1))
    assert info == NikInfo(
        nik=WOMAN_NIK,
        region_code="16.71.01",
        province_code="16",
        sex="F",
        birth_date=datetime.date(1990, 5, 23),
        serial="0001",
    )


def test_make_nik_woman_adds_40_to_day() -> None:
    nik = make_nik("167101", datetime.date(1990, 5, 23), "F", 1)
    assert nik == WOMAN_NIK
    assert nik[6:8] == "63"
    assert make_nik("16.71.01", datetime.date(1990, 5, 23), "F", 1) == WOMAN_NIK


def test_man_decodes() -> None:
    info = parse_nik(MAN_NIK, today=datetime.date(2026, 1, 1))
    assert info.sex == "M"
    assert info.birth_date == datetime.date(1990, 1, 1)
    assert info.region_code == "32.01.01"
    assert info.province_code == "32"
    assert info.serial == "0007"


def test_century_rule_prefers_2000s_unless_future() -> None:
    today = datetime.date(2026, 11, 23)
    assert parse_nik("3201012311260001", today=today).birth_date == datetime.date(2026, 11, 23)
    assert parse_nik("3201012411260001", today=today).birth_date == datetime.date(1926, 11, 24)
    assert parse_nik("3201010101000001", today=today).birth_date == datetime.date(2000, 1, 1)
    assert parse_nik("3201010101990001", today=today).birth_date == datetime.date(1999, 1, 1)


def test_29_february() -> None:
    today = datetime.date(2026, 11, 23)
    # 2000 is a leap year.
    assert parse_nik("3201012902000001", today=today).birth_date == datetime.date(2000, 2, 29)
    # Seen from before 2000-02-29 the year is 1900, which is not a leap year.
    assert _code("3201012902000001", today=datetime.date(2000, 2, 28)) == "bad_date"
    # 1996 and 2096 are both leap years; 2001 and 1901 are not.
    assert parse_nik("3201016902960001", today=today).birth_date == datetime.date(1996, 2, 29)
    assert _code("3201012902010001", today=today) == "bad_date"


def test_default_today_is_used() -> None:
    assert parse_nik(WOMAN_NIK).birth_date == datetime.date(1990, 5, 23)


def test_repr_hides_number_and_birth_date() -> None:
    text = repr(parse_nik(WOMAN_NIK))
    assert WOMAN_NIK not in text
    assert "1990" not in text
    assert "167101**********" in text


# --- separators -------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "1671 0163 0590 0001",
        "1671.016305900001",
        "1671-0163-0590-0001",
        "  1671016305900001\n",
        "16.71.01 630590 0001",
        "1671\u00a00163\u00a00590\u00a00001",  # no-break spaces from copy/paste
        "1671\u20130163\u20130590\u20130001",  # en dashes from autocorrect
    ],
)
def test_separators_accepted(typed: str) -> None:
    assert parse_nik(typed).nik == WOMAN_NIK
    assert normalize_digits(typed) == WOMAN_NIK


def test_kk_separators_accepted() -> None:
    assert validate_kk(" 1671.0101.0120.0003 ") == "1671010101200003"


# --- error codes ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "167101630590001",  # 15 digits
        "16710163059000012",  # 17 digits
        "1671O16305900001",  # letter O instead of zero
        "1671/0163/0590/0001",  # slash is not an accepted separator
        "１６７１０１６３０５９０００１",  # full-width digits
        "١٦٧١٠١٦٣٠٥٩٠٠٠٠١",  # Arabic-Indic digits
        "+1671016305900001",
    ],
)
def test_not_16_digits(value: str) -> None:
    assert _code(value) == "not_16_digits"


@pytest.mark.parametrize("province", ["00", "10", "20", "37", "54", "99"])
def test_unknown_province(province: str) -> None:
    assert _code(province + WOMAN_NIK[2:]) == "unknown_province"


@pytest.mark.parametrize("day", ["00", "32", "39", "40", "72", "99"])
def test_bad_day(day: str) -> None:
    assert _code(f"167101{day}05900001") == "bad_day"


@pytest.mark.parametrize(
    "ddmmyy",
    [
        "010090",  # month 00
        "011390",  # month 13
        "310490",  # 31 April
        "710490",  # 31 April, woman
        "300290",  # 30 February
        "290290",  # 29 February 1990
    ],
)
def test_bad_date(ddmmyy: str) -> None:
    assert _code(f"167101{ddmmyy}0001") == "bad_date"


def test_zero_serial() -> None:
    assert _code("1671016305900000") == "zero_serial"


def test_future_date_only_with_today_before_2000() -> None:
    # 2099 is after today, so 1999 is chosen -- still after a 1995 "today".
    assert _code("3201010101990001", today=datetime.date(1995, 6, 1)) == "future_date"


def test_error_is_value_error_and_masks_number() -> None:
    with pytest.raises(ValueError, match=r"167101\*{10}") as info:
        parse_nik("1671016305900000")
    assert isinstance(info.value, InvalidIdentityNumber)
    assert "1671016305900000" not in str(info.value)
    assert "1671016305900000" not in repr(info.value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("167101010120000", "not_16_digits"),
        ("1671-0101-0120-0003-1", "not_16_digits"),
        ("0071010101200003", "unknown_province"),
        ("1671010101200000", "zero_serial"),
    ],
)
def test_kk_errors(value: str, code: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as info:
        validate_kk(value)
    assert info.value.code == code
    assert normalize_digits(value) not in str(info.value)


def test_make_nik_rejects_bad_arguments() -> None:
    d = datetime.date(1990, 1, 1)
    for args in [
        ("16710", d, "M", 1),
        ("16710A", d, "M", 1),
        ("007101", d, "M", 1),
        ("167101", d, "X", 1),
        ("167101", d, "M", 0),
        ("167101", d, "M", 10000),
    ]:
        with pytest.raises(ValueError):
            make_nik(*args)  # type: ignore[arg-type]


# --- mask -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("1671010101900001", "167101**********"),
        ("167101", "167101"),
        ("16710", "*****"),
        ("", ""),
        ("1671012", "167101*"),
    ],
)
def test_mask(number: str, masked: str) -> None:
    assert mask(number) == masked


# --- province list ----------------------------------------------------------


def _region_csv() -> Path:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "kode_wilayah_2025.csv"
    if shared.is_file():
        return shared
    bundled = Path(__file__).resolve().parents[1] / "registry" / "data" / "kode_wilayah_2025.csv"
    if bundled.is_file():
        return bundled
    pytest.fail(f"region list not found at {shared} or {bundled}")


def test_province_codes_match_region_csv() -> None:
    with _region_csv().open(encoding="utf-8-sig", newline="") as fh:
        provinces = {row["kode"] for row in csv.DictReader(fh) if len(row["kode"]) == 2}
    assert len(PROVINCE_CODES) == 38
    assert provinces == PROVINCE_CODES


# --- properties -------------------------------------------------------------

# The two-digit year is read as 20YY unless that is after today, so only dates
# within the 100 years up to today round-trip: a birth date exactly 100 years ago
# has the same DDMMYY as today and reads as today.  99 years keeps a margin; in
# 2026 it still covers everything from 1930.
_OLDEST = max(datetime.date(1930, 1, 1), TODAY - datetime.timedelta(days=99 * 365))

provinces = st.sampled_from(sorted(PROVINCE_CODES))
two_digits = st.integers(0, 99).map("{:02d}".format)
birth_dates = st.dates(min_value=_OLDEST, max_value=TODAY)
sexes = st.sampled_from(["M", "F"])
serials = st.integers(1, 9999)
sixteen_digits = st.text(alphabet="0123456789", min_size=16, max_size=16)


@given(provinces, two_digits, two_digits, birth_dates, sexes, serials)
def test_make_parse_round_trip(
    province: str,
    kab: str,
    kec: str,
    birth_date: datetime.date,
    sex: str,
    serial: int,
) -> None:
    nik = make_nik(province + kab + kec, birth_date, sex, serial)
    info = parse_nik(nik, today=TODAY)
    assert info.nik == nik
    assert info.region_code == f"{province}.{kab}.{kec}"
    assert info.province_code == province
    assert info.sex == sex
    assert info.birth_date == birth_date
    assert info.serial == f"{serial:04d}"


@given(sixteen_digits)
def test_any_16_digits_parse_or_raise_invalid(value: str) -> None:
    try:
        info = parse_nik(value, today=TODAY)
    except InvalidIdentityNumber as exc:
        assert exc.code in {"unknown_province", "bad_day", "bad_date", "zero_serial"}
        assert value not in str(exc)
        assert value not in repr(exc)
    else:
        assert info.nik == value
        assert info.birth_date <= TODAY


@given(sixteen_digits)
def test_any_16_digits_kk_valid_or_raise_invalid(value: str) -> None:
    try:
        assert validate_kk(value) == value
    except InvalidIdentityNumber as exc:
        assert exc.code in {"unknown_province", "zero_serial"}
        assert value not in str(exc)


@given(st.text(alphabet="0123456789 .-", max_size=40))
def test_digit_strings_of_other_length_raise_not_16_digits(value: str) -> None:
    digit_count = sum(ch.isdigit() for ch in value)
    if digit_count == 16:
        return
    assert _code(value) == "not_16_digits"
    with pytest.raises(InvalidIdentityNumber) as info:
        validate_kk(value)
    assert info.value.code == "not_16_digits"


@given(
    sixteen_digits,
    st.integers(0, 16),
    st.characters().filter(lambda c: not (c.isascii() and c.isdigit())),
)
def test_16_digits_with_foreign_character_raise_not_16_digits(
    value: str, position: int, intruder: str
) -> None:
    # Any character that is not a digit 0-9 makes the string invalid, unless it
    # is a separator (then the remaining 16 digits are a legitimate NIK).
    broken = value[:position] + intruder + value[position:]
    if normalize_digits(broken) == value:
        return
    assert _code(broken) == "not_16_digits"


@given(st.text())
def test_arbitrary_text_never_raises_other_exceptions(value: str) -> None:
    try:
        parse_nik(value, today=TODAY)
    except InvalidIdentityNumber:
        pass
    try:
        validate_kk(value)
    except InvalidIdentityNumber:
        pass


@given(st.text())
def test_mask_never_reveals_more_than_six_digits(value: str) -> None:
    masked = mask(value)
    assert len(masked) == len(value)
    assert sum(ch.isdigit() for ch in masked) <= 6
    assert set(masked[6:]) <= {"*"}
    if len(value) < 6:
        assert set(masked) <= {"*"}
