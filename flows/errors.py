"""The one exception a form step raises to refuse an answer."""

from __future__ import annotations


class FieldError(Exception):
    """An answer was refused; the message is shown to the person.

    ``step`` names the step to send the person back to (from a form's cross-field check).
    """

    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step
