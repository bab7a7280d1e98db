"""Parsing and validation of NIK and KK numbers.

A NIK (Nomor Induk Kependudukan) is 16 digits::

    PP KK CC  DD MM YY  SSSS
    region    birth     serial

``PPKKCC`` is the region of issue (province, kabupaten/kota, kecamatan), ``DDMMYY``
the birth date with 40 added to the day for women, ``SSSS`` a serial that is never
``0000``.  A KK (Kartu Keluarga) number has the same layout with the card's issue
date in place of the birth date.

Older numbers may carry region codes that have since been renumbered, so the
region is only checked for shape and for a known province, never looked up.

Pure standard library; nothing here imports other project packages.  Error
messages never contain a full number, only :func:`mask`-ed forms.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PROVINCE_CODES",
    "InvalidIdentityNumber",
    "NikInfo",
    "make_nik",
    "mask",
    "mask_identity_numbers",
    "normalize_digits",
    "parse_nik",
    "validate_kk",
]

# The 38 provinces of Kepmendagri 300.2.2-2138/2025 (kode_wilayah_2025.csv).
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11",  # Aceh
        "12",  # Sumatera Utara
        "13",  # Sumatera Barat
        "14",  # Riau
        "15",  # Jambi
        "16",  # Sumatera Selatan
        "17",  # Bengkulu
        "18",  # Lampung
        "19",  # Kepulauan Bangka Belitung
        "21",  # Kepulauan Riau
        "31",  # Daerah Khusus Ibukota Jakarta
        "32",  # Jawa Barat
        "33",  # Jawa Tengah
        "34",  # Daerah Istimewa Yogyakarta
        "35",  # Jawa Timur
        "36",  # Banten
        "51",  # Bali
        "52",  # Nusa Tenggara Barat
        "53",  # Nusa Tenggara Timur
        "61",  # Kalimantan Barat
        "62",  # Kalimantan Tengah
        "63",  # Kalimantan Selatan
        "64",  # Kalimantan Timur
        "65",  # Kalimantan Utara
        "71",  # Sulawesi Utara
        "72",  # Sulawesi Tengah
        "73",  # Sulawesi Selatan
        "74",  # Sulawesi Tenggara
        "75",  # Gorontalo
        "76",  # Sulawesi Barat
        "81",  # Maluku
        "82",  # Maluku Utara
        "91",  # Papua
        "92",  # Papua Barat
        "93",  # Papua Selatan
        "94",  # Papua Tengah
        "95",  # Papua Pegunungan
        "96",  # Papua Barat Daya
    }
)

ErrorCode = Literal[
    "not_16_digits",
    "unknown_province",
    "bad_day",
    "bad_date",
    "zero_serial",
    "future_date",
]

_LENGTH = 16
_VISIBLE = 6
_FEMALE_DAY_OFFSET = 40

# Characters people type between digit groups: spaces (incl. no-break and other
# Unicode whitespace), dots, and ASCII or typographic dashes (phones and Telegram
# clients sometimes turn "-" into "–").
_SEPARATORS = frozenset(".-\u2010\u2011\u2012\u2013\u2014\u2212")


class InvalidIdentityNumber(ValueError):
    """A NIK or KK number failed validation.

    ``code`` is a stable machine-readable reason (see :data:`ErrorCode`), meant
    for choosing a user-facing, translated message.  ``str(exc)`` is a short
    English reason for logs and the CLI; it never contains the full number.
    """

    code: ErrorCode

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, repr=False)
class NikInfo:
    """What a valid NIK says about its holder."""

    nik: str  # normalized, 16 ASCII digits
    region_code: str  # dotted "16.71.01"
    province_code: str  # "16"
    sex: Literal["M", "F"]
    birth_date: datetime.date
    serial: str  # "0001"

    def __repr__(self) -> str:
        # Keep the number and birth date out of logs and tracebacks.
        return (
            f"NikInfo(nik={mask(self.nik)!r}, region_code={self.region_code!r}, sex={self.sex!r})"
        )


def normalize_digits(value: str) -> str:
    """Strip surrounding whitespace and the separators people type inside numbers.

    ``"1671 0123 0590 0001"``, ``"1671.012305900001"`` and ``"1671-0123-0590-0001"``
    all become ``"1671012305900001"``.  Nothing else is changed or checked: the
    result may still contain letters or non-ASCII digits.
    """
    if value.isascii() and value.isdigit():  # the usual case, and the bulk import's
        return value
    return "".join(ch for ch in value.strip() if not ch.isspace() and ch not in _SEPARATORS)


def mask(number: str) -> str:
    """The first 6 characters, then ``*`` for the rest; all ``*`` if shorter than 6.

    ``mask("1671010101900001") == "167101**********"``.  The value is masked as
    given; pass a normalized number to get the usual 6 + 10 form.
    """
    if len(number) < _VISIBLE:
        return "*" * len(number)
    return number[:_VISIBLE] + "*" * (len(number) - _VISIBLE)


# 16 digits, possibly grouped by single spaces, dots or dashes (1671 0112 0315 0007).
IDENTITY_NUMBER = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){15}(?!\d)")


def mask_identity_numbers(text: str) -> str:
    """``text`` with every NIK/KK-like run of 16 digits masked (``167101**********``).

    The one rule for free text that may hold a typed NIK or KK: the log filter
    (``bot/redaction.py``), reviewers' cards and meeting lists all use it.
    """
    return IDENTITY_NUMBER.sub(lambda m: mask(re.sub(r"\D", "", m.group())), text)


def _is_16_ascii_digits(value: str) -> bool:
    return len(value) == _LENGTH and value.isascii() and value.isdigit()


def _require_16_digits(value: str, kind: str) -> str:
    digits = normalize_digits(value)
    if not _is_16_ascii_digits(digits):
        # Say nothing about the content: it may be some other personal number.
        if digits.isascii() and digits.isdigit():
            detail = f"got {len(digits)} digits"
        else:
            detail = f"got {len(digits)} characters, not all of them digits 0-9"
        raise InvalidIdentityNumber("not_16_digits", f"{kind} must be 16 digits, {detail}")
    if digits[:2] not in PROVINCE_CODES:
        raise InvalidIdentityNumber(
            "unknown_province", f"{kind} {mask(digits)}: unknown province code {digits[:2]}"
        )
    return digits


def parse_nik(value: str, *, today: datetime.date | None = None) -> NikInfo:
    """Validate a NIK and decode region, sex and birth date.

    The two-digit year is read as 20YY unless that date would be after ``today``
    (default: ``date.today()``), in which case it is 19YY.  Raises
    :class:`InvalidIdentityNumber`.
    """
    if today is None:
        today = datetime.date.today()
    nik = _require_16_digits(value, "NIK")
    masked = mask(nik)

    day = int(nik[6:8])
    month = int(nik[8:10])
    yy = int(nik[10:12])
    serial = nik[12:]

    sex: Literal["M", "F"]
    if 1 <= day <= 31:
        sex = "M"
    elif 1 + _FEMALE_DAY_OFFSET <= day <= 31 + _FEMALE_DAY_OFFSET:
        sex = "F"
        day -= _FEMALE_DAY_OFFSET
    else:
        raise InvalidIdentityNumber(
            "bad_day", f"NIK {masked}: day field must be 01-31 (men) or 41-71 (women)"
        )
    if not 1 <= month <= 12:
        raise InvalidIdentityNumber("bad_date", f"NIK {masked}: month must be 01-12")

    # Compare as tuples so that 29 Feb picks a century before it is validated.
    year = 2000 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    try:
        birth_date = datetime.date(year, month, day)
    except ValueError:
        raise InvalidIdentityNumber(
            "bad_date", f"NIK {masked}: birth date is not a calendar date"
        ) from None
    if birth_date > today:  # only possible when ``today`` is before 2000
        raise InvalidIdentityNumber("future_date", f"NIK {masked}: birth date is in the future")

    if serial == "0000":
        raise InvalidIdentityNumber("zero_serial", f"NIK {masked}: serial must not be 0000")

    return NikInfo(
        nik=nik,
        region_code=f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}",
        province_code=nik[0:2],
        sex=sex,
        birth_date=birth_date,
        serial=serial,
    )


def validate_kk(value: str) -> str:
    """Validate a KK (family card) number and return its 16 normalized digits.

    Checks length, province and serial only; the issue date is not checked.
    Raises :class:`InvalidIdentityNumber`.
    """
    kk = _require_16_digits(value, "KK")
    if kk[12:] == "0000":
        raise InvalidIdentityNumber("zero_serial", f"KK {mask(kk)}: serial must not be 0000")
    return kk


def make_nik(region6: str, birth_date: datetime.date, sex: str, serial: int) -> str:
    """Build a NIK, for tests and synthetic data.

    ``region6`` is six digits, dotted or not (``"167101"`` or ``"16.71.01"``);
    ``sex`` is ``"M"`` or ``"F"``; ``serial`` is 1-9999.  Raises ``ValueError``
    on bad arguments.  The result parses back to the same values when
    ``birth_date`` is within the last 100 years (see :func:`parse_nik`).
    """
    region = normalize_digits(region6)
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        raise ValueError("region6 must be 6 digits")
    if region[:2] not in PROVINCE_CODES:
        raise ValueError(f"unknown province code {region[:2]}")
    if sex not in ("M", "F"):
        raise ValueError('sex must be "M" or "F"')
    if not 1 <= serial <= 9999:
        raise ValueError("serial must be 1-9999")
    day = birth_date.day + (_FEMALE_DAY_OFFSET if sex == "F" else 0)
    return f"{region}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"
