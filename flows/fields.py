"""Parsing typed answers of the engine's field kinds: NIK, KK, phone numbers, numbers."""

from __future__ import annotations

import re

from locales import _, lazy_gettext
from registry.forms import FieldError
from registry.nik import InvalidIdentityNumber, parse_nik, validate_kk

_NIK_ERRORS = {
    "not_16_digits": lazy_gettext(
        "A NIK has exactly 16 digits. Please check it and send it again."
    ),
    "unknown_province": lazy_gettext("This NIK does not start with a known province code."),
    "bad_day": lazy_gettext(
        "Digits 7-8 of a NIK are the birth day (41-71 for women). These are not."
    ),
    "bad_date": lazy_gettext("The birth date inside this NIK does not exist."),
    "zero_serial": lazy_gettext("The last four digits of a NIK cannot be 0000."),
    "future_date": lazy_gettext("The birth date inside this NIK is in the future."),
}
_KK_ERRORS = {
    "not_16_digits": lazy_gettext(
        "A KK number has exactly 16 digits. Please check it and send it again."
    ),
    "unknown_province": lazy_gettext("This KK number does not start with a known province code."),
    "zero_serial": lazy_gettext("The last four digits of a KK number cannot be 0000."),
}
_PHONE = re.compile(r"^(?:\+?62|0)(8\d{7,11})$")


def nik(text: str) -> str:
    try:
        return parse_nik(text).nik
    except InvalidIdentityNumber as exc:
        raise FieldError(str(_NIK_ERRORS[exc.code])) from None


def kk(text: str) -> str:
    try:
        return validate_kk(text)
    except InvalidIdentityNumber as exc:
        raise FieldError(str(_KK_ERRORS.get(exc.code, _KK_ERRORS["not_16_digits"]))) from None


def phone(text: str) -> str:
    """An Indonesian mobile number in any usual spelling, as ``+628...``."""
    digits = re.sub(r"[\s().-]", "", text)
    if m := _PHONE.match(digits):
        return "+62" + m.group(1)
    raise FieldError(_("Please write a mobile number like 0812 3456 7890."))


def number(text: str, minimum: int | None, maximum: int | None) -> int:
    cleaned = text.replace(".", "").replace(" ", "")
    if not re.fullmatch(r"-?\d{1,9}", cleaned):
        raise FieldError(_("Please answer with a number, for example 3."))
    value = int(cleaned)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise FieldError(
            _("Please send a number from {low} to {high}.").format(
                low=minimum if minimum is not None else "…",
                high=maximum if maximum is not None else "…",
            )
        )
    return value
