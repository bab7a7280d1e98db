"""The button codec (flows/buttons.py): every kind of button packs to the data it always
had, unpacks to itself, and anything else, however near, unpacks to None."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.app import BUTTON_FLOWS
from flows.buttons import (
    INVITE_CODE,
    KINDS,
    MAX_INT,
    TOKEN,
    ButtonData,
    ChooseLanguage,
    ChooseReport,
    Confirm,
    ConsentAction,
    ConsentPress,
    Decide,
    DeleteAccount,
    DropForm,
    FormOp,
    FormPress,
    InfoAction,
    KeepForm,
    MenuAction,
    MenuPress,
    NeedsInfo,
    OnBehalfAsk,
    OnBehalfFamilies,
    OnBehalfFamily,
    OnBehalfReport,
    OpenQueued,
    RevokeRole,
    Verdict,
    Withdraw,
    unpack,
)
from flows.io import MAX_CALLBACK_BYTES
from locales import SUPPORTED_LOCALES

# What each kind of button sends (form buttons carry their draft's id since issue 19;
# an older ``f:<rev>:<op>`` is in MALFORMED: expired).
WIRE = [
    (FormPress(5, 7, FormOp.CHOOSE, 0), "f:5:7:v:0"),
    (FormPress(5, 7, FormOp.TOGGLE, 3), "f:5:7:t:3"),
    (FormPress(5, 7, FormOp.EDIT_ANSWER, 12), "f:5:7:E:12"),
    (FormPress(5, 7, FormOp.BACK), "f:5:7:b"),
    (FormPress(5, 7, FormOp.SKIP), "f:5:7:k"),
    (FormPress(5, 7, FormOp.CANCEL), "f:5:7:x"),
    (FormPress(5, 7, FormOp.DONE), "f:5:7:d"),
    (FormPress(5, 7, FormOp.AS_WRITTEN), "f:5:7:w"),
    (FormPress(5, 7, FormOp.SUBMIT), "f:5:7:s"),
    (FormPress(5, 7, FormOp.EDIT_MENU), "f:5:7:e"),
    (FormPress(5, 7, FormOp.TO_REVIEW), "f:5:7:r"),
    (ConsentPress("en", ConsentAction.AGREE), "cs:en:y"),
    (ConsentPress("id", ConsentAction.DECLINE, "Ab_9-x"), "cs:id:n:Ab_9-x"),
    (ConsentPress("en", ConsentAction.LANGUAGE), "cs:en:l"),
    (ChooseLanguage("id"), "lang:id"),
    (ChooseReport("new_household"), "lapor:new_household"),
    (OnBehalfAsk(), "ob"),
    (DropForm(8, "death"), "sw:8:death"),
    (DropForm(8, "birth", 42), "sw:8:birth:42"),
    (KeepForm(), "kf"),
    (OnBehalfReport(42, "birth"), "ob:42:birth"),
    (OnBehalfFamily(42), "obh:42"),
    (OnBehalfFamilies(1, "siti_aminah"), "obl:1:siti_aminah"),
    (Decide(5, 2, Verdict.APPROVE), "rv:5:2:y"),
    (Decide(5, 2, Verdict.REJECT), "rv:5:2:n"),
    (Decide(5, 2, Verdict.ASK), "rv:5:2:q"),
    (OpenQueued(9), "rq:9"),
    (Withdraw(9), "wd:9"),
    (Withdraw(9, Confirm.YES), "wd:9:y"),
    (NeedsInfo(9, InfoAction.ANSWER), "ni:9:a"),
    (NeedsInfo(9, InfoAction.EDIT), "ni:9:e"),
    (RevokeRole(3), "pr:3"),
    (RevokeRole(3, Confirm.YES), "pr:3:y"),
    (RevokeRole(3, Confirm.NO), "pr:3:n"),
    (DeleteAccount(1, Confirm.YES), "del:1:y"),
    (DeleteAccount(1, Confirm.NO), "del:1:n"),
    (MenuPress(MenuAction.BANSOS), "mn:b"),
    (MenuPress(MenuAction.START), "mn:l"),
]

HUGE = "9" * 27
MALFORMED = [
    # Numbers: too large for any id, or not plain ASCII digits ("²".isdigit() is True).
    f"rv:{HUGE}", f"rv:{HUGE}:1:y", f"rv:1:{HUGE}:y", f"rv:{MAX_INT + 1}:1:y",
    f"rq:{HUGE}", f"rq:{MAX_INT + 1}", f"wd:{HUGE}", f"wd:{HUGE}:y", f"ni:{HUGE}:a",
    f"pr:{HUGE}:y", f"del:{HUGE}:y", f"ob:{HUGE}:birth", f"f:{HUGE}:1:x", f"f:1:1:v:{HUGE}",
    f"f:1:{HUGE}:x", "f:1:1:v:²", "f:1:²:v:1", "f:²:1:v:1", "rq:²", "rq:٣", "rq:１", "rq:-1", "rq:+1", "rq: 1", "rq:1 ",
    "rq:1_0", "rq:01", "rq:0x1", "rq:1.0", "rq:1e3", "rq:",
    # Wrong number of parts, unknown operations.
    "rv", "rv:1:1", "rv:1:1:y:x", "rv:1:1:approve", "rv:1:1:Y", "rv::1:y", "rq", "rq:1:2",
    "f", "f:1", "f:1:1", "f:1:1:next", "f:1:1:v", "f:1:1:t", "f:1:1:E", "f:1:1:x:0",
    "f:1:1:s:1", "f:1:1:v:0:0",
    # A form button of before draft ids (``f:<rev>:<op>``): expired.
    "f:1:x", "f:3:b", "f:3:v:0", "f:3:s",
    "wd:1:n", "wd:1:yes", "ni:1", "ni:1:z", "pr", "pr:1:y:extra", "pr:1:", "del:1",
    "del:1:x", "ob:", "ob:1", "ob:1:", "ob:1:birth:x", "ob:x:birth", "lapor", "lapor:",
    "lapor:a:b", "lapor:a/b", "lapor:birth ", "lang", "lang:", "lang:xx", "lang:EN",
    "cs", "cs:en", "cs:zz:y", "cs:en:z", "cs:en:y:", "cs:en:y:a/b", "cs:en:y:" + "a" * 25,
    "cs:en:y:a:b",
    # Not ours at all.
    "", ":", "::", "unknown:1", "RV:1:1:y", " rv:1:1:y", "rv:1:1:y\n", "é" * 30,
    "rq:1\x00", "rq:1;DROP TABLE reports", "lapor:" + "a" * 60, "\ud800",
]  # fmt: skip


@pytest.mark.parametrize(("button", "data"), WIRE, ids=[d for _b, d in WIRE])
def test_each_kind_packs_to_its_old_data_and_back(button: ButtonData, data: str) -> None:
    assert button.pack() == data
    assert unpack(data) == button


def test_every_kind_is_listed_and_has_its_flow() -> None:
    assert set(ButtonData.__subclasses__()) == set(KINDS)
    assert set(BUTTON_FLOWS) == set(KINDS)
    assert {type(b) for b, _data in WIRE} == set(KINDS)


@pytest.mark.parametrize("data", MALFORMED, ids=repr)
def test_malformed_data_unpacks_to_nothing(data: str) -> None:
    assert unpack(data) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: Decide(-1, 1, Verdict.APPROVE),
        lambda: Decide(MAX_INT + 1, 1, Verdict.APPROVE),
        lambda: Decide(True, 1, Verdict.APPROVE),
        lambda: Decide(1, 1, "y"),
        lambda: OpenQueued("1"),
        lambda: ChooseReport("a:b"),
        lambda: ChooseReport(""),
        lambda: ChooseLanguage("xx"),
        lambda: ConsentPress("en", ConsentAction.AGREE, "a" * 25),
        lambda: FormPress(1, 1, FormOp.CHOOSE),
        lambda: FormPress(1, 1, FormOp.CANCEL, 0),
        lambda: Withdraw(1, Confirm.NO),
        lambda: DeleteAccount(1, None),
        lambda: ChooseReport("a" * MAX_CALLBACK_BYTES).pack(),
    ],
)
def test_a_button_its_data_cannot_carry_is_refused_when_made(make) -> None:
    with pytest.raises(ValueError):
        make()


# ---- properties -----------------------------------------------------------------------------


def _value(name: str, kind: type) -> st.SearchStrategy:
    if name == "locale":
        return st.sampled_from(sorted(SUPPORTED_LOCALES))
    if kind is int:
        return st.integers(0, MAX_INT)
    if kind is str:
        return st.from_regex(INVITE_CODE, fullmatch=True)
    return st.sampled_from(list(kind))


def _field(cls: type, f: dataclasses.Field) -> st.SearchStrategy:
    kind = typing.get_type_hints(cls)[f.name]
    args = [k for k in typing.get_args(kind) if k is not type(None)]
    if args:  # T | None
        return st.none() | _value(f.name, args[0])
    return _value(f.name, kind)


def _made(cls: type[ButtonData], values: dict[str, object]) -> ButtonData | None:
    try:
        button = cls(**values)
        button.pack()
    except ValueError:  # e.g. an index on an operation that takes none
        return None
    return button


def _kind(cls: type[ButtonData]) -> st.SearchStrategy[ButtonData]:
    fields = {f.name: _field(cls, f) for f in dataclasses.fields(cls)}
    return (
        st.fixed_dictionaries(fields)
        .map(lambda values: _made(cls, values))
        .filter(lambda button: button is not None)
    )


# Every kind's strategy is made once, here, not in each draw: Hypothesis then prepares
# them (from_regex's character tables, built on a clean checkout in about a second)
# before it times the drawing of examples, and a draw only draws.
BUTTONS = st.one_of([_kind(cls) for cls in KINDS])


@given(BUTTONS)
def test_every_button_round_trips(button: ButtonData) -> None:
    data = button.pack()
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert unpack(data) == button


# Text near the real thing: our prefixes and operations, digits of every script, separators.
_PIECES = st.sampled_from(
    [*{k.PREFIX for k in KINDS}, "y", "n", "q", "a", "e", "l", "v", "x", "E", "en", "id",
     "birth", "0", "1", "01", "42", "²", "٣", "-1", " ", "", str(MAX_INT), str(MAX_INT + 1),
     HUGE, "é"]
)  # fmt: skip
_NEAR = st.lists(_PIECES | st.from_regex(TOKEN, fullmatch=True), max_size=6).map(":".join)


@given(st.text() | _NEAR)
def test_any_text_unpacks_to_nothing_or_to_exactly_that_data(data: str) -> None:
    button = unpack(data)
    assert button is None or button.pack() == data
