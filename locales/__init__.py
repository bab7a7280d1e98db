"""Translations and locale-aware formatting for every layer (no aiogram here).

The catalogs live beside this file (``<lang>/LC_MESSAGES/messages.po`` and the
compiled ``.mo``). Message ids are English; Indonesian is the default locale.
The current locale is a context variable, set once per update by the adapter
(``use_locale``) so that flows and the registry never pass it around.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from babel import Locale
from babel import dates as _dates
from babel import numbers as _numbers
from babel.support import LazyProxy

LOCALES_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
SUPPORTED_LOCALES: tuple[str, ...] = ("id", "en")
DEFAULT_LOCALE = "id"

# Times shown to people are in their region's zone (no daylight saving): Western,
# Central or Eastern Indonesia Time. The zone is a context variable like the locale,
# set once per update (flows.app.run, from the person's household or role area).
WIB = timezone(timedelta(hours=7), "WIB")
WITA = timezone(timedelta(hours=8), "WITA")
WIT = timezone(timedelta(hours=9), "WIT")

_current: ContextVar[str] = ContextVar("lapor_warga_locale", default=DEFAULT_LOCALE)
_zone: ContextVar[timezone] = ContextVar("lapor_warga_zone", default=WIB)


@cache
def _translations(locale: str) -> _gettext.NullTranslations:
    return _gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[locale])


def normalize_locale(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` such as ``en-GB`` to a supported locale."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    if base == "in":  # legacy ISO 639 code for Indonesian
        base = "id"
    return base if base in SUPPORTED_LOCALES else None


def current_locale() -> str:
    return _current.get()


def set_default_locale(locale: str) -> None:
    """Set the fallback for contexts where no user locale is known."""
    global DEFAULT_LOCALE
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    DEFAULT_LOCALE = locale
    _current.set(locale)


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    chosen = normalize_locale(locale) or DEFAULT_LOCALE
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return _translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def lazy_gettext(message: str) -> LazyProxy:
    """A string translated when it is used, in the locale current at that time."""
    return LazyProxy(gettext, message, enable_cache=False)


def format_date(value: date | datetime, fmt: str = "long") -> str:
    """``21 Januari 2026`` in Indonesian, ``January 21, 2026`` in English."""
    if isinstance(value, datetime):
        value = value.date()
    return _dates.format_date(value, format=fmt, locale=_current.get())


def format_datetime(value: datetime, fmt: str = "medium") -> str:
    return _dates.format_datetime(value, format=fmt, locale=_current.get())


def format_time(value: datetime, fmt: str = "short") -> str:
    """``14.35`` in Indonesian, ``2:35 PM`` in English (in ``value``'s own time zone)."""
    return _dates.format_time(value, format=fmt, tzinfo=value.tzinfo, locale=_current.get())


def in_wib(value: datetime) -> datetime:
    """A stored time (naive UTC) in Western Indonesia Time, for format_date/format_time."""
    return value.replace(tzinfo=UTC).astimezone(WIB)


@contextmanager
def use_zone(zone: timezone | None) -> Iterator[timezone]:
    """Show times in ``zone`` (WIB when None) within the block."""
    token = _zone.set(zone or WIB)
    try:
        yield zone or WIB
    finally:
        _zone.reset(token)


def local_time(value: datetime) -> datetime:
    """A stored time (naive UTC) in the current zone, for format_date/format_time."""
    return value.replace(tzinfo=UTC).astimezone(_zone.get())


def local_today() -> date:
    """Today's date in the current zone (WIB, WITA or WIT), not the server's: at 05.00
    WIB a UTC server still says yesterday."""
    return datetime.now(_zone.get()).date()


def zone_name() -> str:
    """``WIB``, ``WITA`` or ``WIT``: the current zone's abbreviation."""
    return _zone.get().tzname(None) or "WIB"


def format_local(value: datetime) -> str:
    """``21 Jan 2026 14.35 WITA``: a stored time (naive UTC) in the current zone."""
    local = local_time(value)
    return f"{format_date(local, 'medium')} {format_time(local)} {zone_name()}"


def format_number(value: int | float) -> str:
    return _numbers.format_decimal(value, locale=_current.get())


def month_names(locale: str) -> dict[str, int]:
    """Lower-cased wide and abbreviated month names of ``locale`` -> month number."""
    loc = Locale.parse(locale)
    names: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for number, name in loc.months["format"][width].items():
            names[name.lower().rstrip(".")] = number
    return names
