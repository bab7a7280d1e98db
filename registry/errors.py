"""Domain errors raised by the registry and the review workflow."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the registry was broken; ``code`` is stable for callers."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class NotAllowed(DomainError):
    code = "not_allowed"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class AlreadyDecided(DomainError):
    code = "already_decided"


class RowError:
    """One bad line of an imported file."""

    __slots__ = ("line", "reason")

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"

    def __repr__(self) -> str:
        return f"RowError({self.line}, {self.reason!r})"


class ImportRejected(DomainError):
    """The file had bad rows; nothing was written."""

    code = "import_rejected"

    def __init__(self, errors: list[RowError], count: int | None = None) -> None:
        # ``count``: the number of bad rows, given when the errors were streamed elsewhere
        # instead of kept here.
        self.count = len(errors) if count is None else count
        super().__init__(f"{self.count} bad row(s); nothing was imported")
        self.errors = errors


class ConfigError(Exception):
    """A configuration file is wrong; the message names the file and the key."""
