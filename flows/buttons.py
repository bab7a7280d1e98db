"""What an inline button carries: one typed class per kind of button, and the codec that
turns it into Telegram's ``callback_data`` and back.

A button's data is ``<prefix>[:<field>…]``: the class's ``PREFIX``, then its fields in
order, an optional field (``T | None = None``, always last) left out when it is None.
Fields are ``int`` (ASCII digits, no leading zero, 0 to :data:`MAX_INT`), ``str`` (a
:data:`TOKEN`) or a :class:`~enum.StrEnum` (its one-letter value on the wire).

Build a button with ``Button(label, Decide(report.id, report.version, Verdict.REJECT).pack())``;
:func:`unpack` turns what a press sends back into the same object, or None for anything
else (an old, altered or forged button: the chat answers "This button has expired").
:data:`KINDS` lists every kind; :mod:`flows.app` hands each to its flow.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar

from flows.io import MAX_CALLBACK_BYTES
from locales import SUPPORTED_LOCALES

# Every number a button carries is a row id, a version, a revision or an index, all in
# INTEGER columns (32 bits on PostgreSQL): a larger one names nothing and could not even
# be looked up.
MAX_INT = 2**31 - 1
TOKEN = re.compile(r"[A-Za-z0-9_-]+")  # a str field: a form name, a locale, a code
_DIGITS = re.compile(r"0|[1-9][0-9]{0,9}")  # ASCII only: "²".isdigit() is True
# An invitation code: what ``/start <code>`` carries (Telegram deep links allow at most 64
# characters of [A-Za-z0-9_-]; our codes are at most 24).
INVITE_CODE = re.compile(r"[A-Za-z0-9_-]{1,24}")


class ButtonData:
    """A kind of button: a frozen dataclass with a ``PREFIX``. Constructing one with a
    value its wire format cannot carry raises ValueError."""

    PREFIX: ClassVar[str]

    def __post_init__(self) -> None:
        optional_seen = False
        for f, kind in _fields(type(self)):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                optional_seen = True
                continue
            if optional_seen:
                raise ValueError(f"{f.name} follows an optional field left out")
            if not _valid(kind, value):
                raise ValueError(f"{type(self).__name__}.{f.name} cannot be {value!r}")

    def pack(self) -> str:
        """The button's ``callback_data``."""
        parts = [self.PREFIX]
        parts += [
            str(v) for f, _ in _fields(type(self)) if (v := getattr(self, f.name)) is not None
        ]
        data = ":".join(parts)
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"button data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
        return data


def _valid(kind: type, value: object) -> bool:
    if kind is int:
        return type(value) is int and 0 <= value <= MAX_INT
    if kind is str:
        return type(value) is str and TOKEN.fullmatch(value) is not None
    return isinstance(value, kind)  # a StrEnum


@cache
def _fields(cls: type[ButtonData]) -> list[tuple[Any, type]]:
    """Each field with its type (``int``, ``str`` or a StrEnum), ``T | None`` unwrapped."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):  # type: ignore[arg-type]
        kind = hints[f.name]
        if isinstance(kind, types.UnionType):
            kind = next(k for k in typing.get_args(kind) if k is not type(None))
        out.append((f, kind))
    return out


def _parse(kind: type, text: str) -> Any:
    if kind is int:
        if _DIGITS.fullmatch(text) is None:
            raise ValueError(text)
        return int(text)
    return kind(text)  # str, or a StrEnum (ValueError for a value it does not have)


def unpack(data: str) -> ButtonData | None:
    """The button ``data`` was packed from, or None if no button packs to exactly ``data``."""
    if not data.isascii() or len(data) > MAX_CALLBACK_BYTES:
        return None
    prefix, *parts = data.split(":")
    for cls in _BY_PREFIX.get(prefix, ()):
        spec = _fields(cls)
        required = sum(f.default is not None for f, _ in spec)
        if not required <= len(parts) <= len(spec):
            continue
        try:  # map stops at the last part: optional fields left out stay None
            return cls(*map(_parse, [kind for _f, kind in spec], parts))
        except ValueError:
            continue
    return None


def _supported(locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"no conversation in {locale!r}")


def prefix_of(data: str | None) -> str:
    return (data or "").partition(":")[0]


# ---- what buttons do: readable names in code, one letter on the wire --------------------------


class FormOp(StrEnum):
    """What a form engine button does (:mod:`flows.screens` shows them)."""

    CANCEL = "x"
    BACK = "b"
    SKIP = "k"
    EDIT_MENU = "e"  # the review screen's Edit: which answer to change
    EDIT_ANSWER = "E"  # one entry of that menu (with its index)
    TO_REVIEW = "r"
    SUBMIT = "s"
    CHOOSE = "v"  # an option of a choice, or a match of a region search (with its index)
    TOGGLE = "t"  # an option of a multiple choice (with its index)
    DONE = "d"  # the multiple choice is complete
    AS_WRITTEN = "w"  # a region as typed, not one of the matches


INDEXED_OPS = frozenset({FormOp.EDIT_ANSWER, FormOp.CHOOSE, FormOp.TOGGLE})


class MenuAction(StrEnum):
    """What a button of the help or a suggestion opens."""

    REPORT = "r"  # the /lapor menu
    STATUS = "s"  # /status
    BANSOS = "b"  # /bansos
    HELP = "h"  # /bantuan
    START = "l"  # /start: linking


class ConsentAction(StrEnum):
    AGREE = "y"
    DECLINE = "n"
    LANGUAGE = "l"  # show the text in the button's locale


class Verdict(StrEnum):
    APPROVE = "y"  # confirm, verify or approve, by tier
    REJECT = "n"
    ASK = "q"  # ask the reporter


class Confirm(StrEnum):
    YES = "y"
    NO = "n"


class InfoAction(StrEnum):
    ANSWER = "a"
    EDIT = "e"


# ---- the kinds of buttons -------------------------------------------------------------------


@dataclass(frozen=True)
class FormPress(ButtonData):
    """``f:<draft>:<rev>:<op>[:<index>]``: a form's button, valid only for the draft that
    made it (draft ids are never reused) and at that draft's revision: a button of a
    dropped form never answers the next one, even at the same revision."""

    PREFIX = "f"
    draft: int
    rev: int
    op: FormOp
    index: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.index is not None) != (self.op in INDEXED_OPS):
            raise ValueError(f"{self.op!r} with index {self.index!r}")


@dataclass(frozen=True)
class ConsentPress(ButtonData):
    """``cs:<locale>:<y|n|l>[:<invite code>]``: the consent screen, shown in ``locale``; the
    code of ``/start <code>`` is kept until the person agrees."""

    PREFIX = "cs"
    locale: str
    action: ConsentAction
    code: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _supported(self.locale)
        if self.code is not None and not INVITE_CODE.fullmatch(self.code):
            raise ValueError(self.code)


@dataclass(frozen=True)
class ChooseLanguage(ButtonData):
    """``lang:<locale>``: /bahasa."""

    PREFIX = "lang"
    locale: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _supported(self.locale)


@dataclass(frozen=True)
class ChooseReport(ButtonData):
    """``lapor:<form>``: a report type on the /lapor menu."""

    PREFIX = "lapor"
    form: str


@dataclass(frozen=True)
class DropForm(ButtonData):
    """``sw:<draft>:<form>[:<household id>]``: drop the open draft and start ``form`` (for
    that household: an RT head filing for a resident without a phone)."""

    PREFIX = "sw"
    draft: int
    form: str
    household_id: int | None = None


@dataclass(frozen=True)
class KeepForm(ButtonData):
    """``kf``: keep the open form and go on with it."""

    PREFIX = "kf"


@dataclass(frozen=True)
class OnBehalfAsk(ButtonData):
    """``ob``: an RT head files for a resident without a phone: ask for the KK."""

    PREFIX = "ob"


@dataclass(frozen=True)
class OnBehalfReport(ButtonData):
    """``ob:<household id>:<form>``: which report to file for that household."""

    PREFIX = "ob"
    household_id: int
    form: str


@dataclass(frozen=True)
class OnBehalfFamily(ButtonData):
    """``obh:<household id>``: the family an RT head picked from a search by its head's name."""

    PREFIX = "obh"
    household_id: int


@dataclass(frozen=True)
class OnBehalfFamilies(ButtonData):
    """``obl:<page>:<words>``: another page of the families whose head's name holds the
    words (``_``-separated, as typed, lower case)."""

    PREFIX = "obl"
    page: int
    words: str


@dataclass(frozen=True)
class Decide(ButtonData):
    """``rv:<report id>:<version>:<y|n|q>``: a decision on a reviewer's card."""

    PREFIX = "rv"
    report_id: int
    version: int
    verdict: Verdict


@dataclass(frozen=True)
class OpenQueued(ButtonData):
    """``rq:<report id>``: a report of /antrian or of a reminder, shown with its card."""

    PREFIX = "rq"
    report_id: int


@dataclass(frozen=True)
class Withdraw(ButtonData):
    """``wd:<report id>`` asks the reporter to confirm; ``wd:<report id>:y`` withdraws."""

    PREFIX = "wd"
    report_id: int
    confirm: Confirm | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.confirm is Confirm.NO:
            raise ValueError("no withdrawal button says no")


@dataclass(frozen=True)
class NeedsInfo(ButtonData):
    """``ni:<report id>:<a|e>``: the reporter answers a reviewer's question, or edits."""

    PREFIX = "ni"
    report_id: int
    action: InfoAction


@dataclass(frozen=True)
class RevokeRole(ButtonData):
    """``pr:<grant id>`` asks an officer to confirm; ``:y`` revokes, ``:n`` keeps it."""

    PREFIX = "pr"
    grant_id: int
    confirm: Confirm | None = None


@dataclass(frozen=True)
class DeleteAccount(ButtonData):
    """``del:<account id>:<y|n>``: /hapusakun confirmed or cancelled. The id keeps a button
    of an account deleted earlier from deleting the new one."""

    PREFIX = "del"
    account_id: int
    confirm: Confirm


@dataclass(frozen=True)
class MenuPress(ButtonData):
    """``mn:<action>``: a button of /bantuan or of a suggestion (open /lapor, /status...)."""

    PREFIX = "mn"
    action: MenuAction


KINDS: tuple[type[ButtonData], ...] = (
    FormPress,
    ConsentPress,
    ChooseLanguage,
    ChooseReport,
    DropForm,
    KeepForm,
    OnBehalfAsk,
    OnBehalfReport,
    OnBehalfFamily,
    OnBehalfFamilies,
    Decide,
    OpenQueued,
    Withdraw,
    NeedsInfo,
    RevokeRole,
    DeleteAccount,
    MenuPress,
)
_BY_PREFIX = {p: [k for k in KINDS if k.PREFIX == p] for p in {k.PREFIX for k in KINDS}}

__all__ = [
    "INDEXED_OPS",
    "INVITE_CODE",
    "KINDS",
    "MAX_INT",
    "ButtonData",
    "ChooseLanguage",
    "ChooseReport",
    "Confirm",
    "ConsentAction",
    "ConsentPress",
    "Decide",
    "DeleteAccount",
    "DropForm",
    "FormOp",
    "FormPress",
    "InfoAction",
    "KeepForm",
    "MenuAction",
    "MenuPress",
    "NeedsInfo",
    "OnBehalfAsk",
    "OnBehalfFamilies",
    "OnBehalfFamily",
    "OnBehalfReport",
    "OpenQueued",
    "RevokeRole",
    "Verdict",
    "Withdraw",
    "prefix_of",
    "unpack",
]
