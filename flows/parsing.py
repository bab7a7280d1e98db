"""Parsing what people type: dates in the forms Indonesians write them."""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from locales import SUPPORTED_LOCALES, month_names

_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDS = re.compile(r"^(\d{1,2})\s+([^\W\d_]+)\.?\s+(\d{4})$")


@cache
def _all_month_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in SUPPORTED_LOCALES:
        names.update(month_names(locale))
    # Spellings and abbreviations people use that CLDR does not list.
    names.update({"agt": 8, "agust": 8, "nopember": 11, "nop": 11, "pebruari": 2, "peb": 2})
    return names


def parse_date(text: str) -> date | None:
    """``21/01/2026``, ``21-1-2026``, ``2026-01-21``, ``21 Januari 2026``, ``21 Jan 2026``."""
    value = " ".join(text.strip().split())
    day = month = year = None
    if m := _NUMERIC.match(value):
        day, month, year = (int(g) for g in m.groups())
    elif m := _ISO.match(value):
        year, month, day = (int(g) for g in m.groups())
    elif m := _WORDS.match(value):
        month = _all_month_names().get(m.group(2).lower())
        if month is None:
            return None
        day, year = int(m.group(1)), int(m.group(3))
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
