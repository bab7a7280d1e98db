"""Defence in depth for the logs: no full NIK, KK or phone number reaches them.

The code never logs personal data on purpose (ids and exception class names only, SQL
parameters hidden); this filter, installed on the handlers of the root logger by the
CLI, masks what might still slip through in a message or a traceback: any run of 16
digits (a NIK or KK, also written in groups) and anything that looks like an Indonesian
phone number (+62…, 62 8…, 08…).
"""

from __future__ import annotations

import logging
import re

from registry.nik import mask_identity_numbers

# +62, or 62 / 0 before a mobile 8, then 9 to 12 more digits, possibly grouped (a Telegram
# user id of 10 digits is not one).
PHONE = re.compile(r"(?<![\w+])(?:\+ ?62|62(?=[ .\-]?8)|0(?=8))(?:[ .\-]?\d){9,12}(?!\d)")
PHONE_MASK = "[phone]"


def redact(text: str) -> str:
    """``text`` with NIK/KK-like numbers masked (``167101**********``) and phone-like
    numbers replaced by ``[phone]``."""
    return PHONE.sub(PHONE_MASK, mask_identity_numbers(text))


class RedactPersonalData(logging.Filter):
    """Masks NIK/KK and phone numbers in a record's formatted message, exception text and
    stack text. The record is rewritten in place, so every handler after this one sees
    the masked text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it as usual
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None  # a later formatter would print the unmasked traceback
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> RedactPersonalData:
    """Add the filter to every handler of ``logger`` (default: the root logger), once."""
    logger = logger or logging.getLogger()
    installed = RedactPersonalData()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactPersonalData) for f in handler.filters):
            handler.addFilter(installed)
    return installed
