"""Parsing what people type: dates in the forms Indonesians (and English speakers) write them.

``21/01/2026``, ``21-1-2026``, ``21.01.26``, ``2026-01-21``, ``21 Januari 2026``,
``3 des`` (the last 3 December that is not in the future), ``December 3, 2026``, and the
words for recent days: ``hari ini`` / ``today``, ``kemarin`` / ``yesterday``,
``kemarin lusa``, ``N hari lalu`` / ``N days ago``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache

from locales import SUPPORTED_LOCALES, local_today, month_names

_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDS = re.compile(r"^(\d{1,2})\s*([^\W\d_]+)\.?(?:\s+(\d{4}))?$")
_MONTH_FIRST = re.compile(r"^([^\W\d_]+)\.?\s+(\d{1,2})(?:\s+(\d{4}))?$")
_AGO = re.compile(r"^(\d{1,5})\s+(?:hari\s+(?:yang\s+)?lalu|days?\s+ago)$")
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b")
_DAYS_BACK = {
    "hari ini": 0, "today": 0, "tadi": 0,
    "kemarin": 1, "kemaren": 1, "yesterday": 1,
    "kemarin lusa": 2, "lusa kemarin": 2,
}  # fmt: skip
MAX_DAYS_AGO = 36600  # "N hari lalu": about a hundred years at most


@cache
def _all_month_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in SUPPORTED_LOCALES:
        names.update(month_names(locale))
    # Spellings and abbreviations people use that CLDR does not list.
    names.update(
        {"agt": 8, "agust": 8, "agu": 8, "nopember": 11, "nop": 11, "pebruari": 2, "peb": 2,
         "sept": 9, "okt": 10, "des": 12, "dec": 12, "mei": 5}
    )  # fmt: skip
    return names


def _year(text: str) -> int:
    """A four-digit year, or a two-digit one: ``26`` is 2026, ``85`` is 1985."""
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= local_today().year % 100 else 1900
    return year


def _without_year(day: int, month: int, today: date) -> date | None:
    """The last ``day``/``month`` that is not after today (``3 des`` said in January
    means last December)."""
    for year in range(today.year, today.year - 5, -1):  # 29 February: up to 4 years back
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    return None


def parse_date(text: str, today: date | None = None) -> date | None:
    """The date ``text`` names, or None when it names none (see the module's forms)."""
    today = today or local_today()
    value = " ".join(text.strip().lower().replace(",", " ").split()).rstrip(".")
    value = _ORDINAL.sub("", value)
    if value in _DAYS_BACK:
        return today - timedelta(days=_DAYS_BACK[value])
    if m := _AGO.match(value):
        days = int(m.group(1))
        if days > MAX_DAYS_AGO or days >= today.toordinal():
            return None
        return today - timedelta(days=days)
    day = month = year = None
    if m := _NUMERIC.match(value):
        day, month, year = int(m.group(1)), int(m.group(2)), _year(m.group(3))
    elif m := _ISO.match(value):
        year, month, day = (int(g) for g in m.groups())
    elif (m := _WORDS.match(value)) or (m := _MONTH_FIRST.match(value)):
        number, word = (m.group(1), m.group(2)) if m.re is _WORDS else (m.group(2), m.group(1))
        month = _all_month_names().get(word.rstrip("."))
        if month is None:
            return None
        day = int(number)
        if m.group(3) is None:
            return _without_year(day, month, today)
        year = int(m.group(3))
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
