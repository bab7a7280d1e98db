"""Koreksi data identitas: the registry spells a name, a birth date or a sex wrongly."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from locales import _
from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.kinds.base import (
    MAX_NAME,
    Apply,
    EvidenceFiles,
    ReportKind,
    answer_is,
    chosen_member,
    day,
    member_step,
    norm,
    past_date,
    person_name,
    touches_the_member,
)
from storage.models import Report


class IdentityPayload(TypedDict):
    member: str  # member id
    what: Literal["name", "birth_date", "sex"]  # the answer new_<what> follows
    new_name: NotRequired[str]
    new_birth_date: NotRequired[str]  # ISO date
    new_sex: NotRequired[Literal["M", "F"]]
    evidence: NotRequired[EvidenceFiles]


async def _validate(state: FormState) -> None:
    member = await chosen_member(state)
    answers = state.answers
    current = {
        "name": member.name,
        "birth_date": member.birth_date.isoformat(),
        "sex": member.sex,
    }[answers["what"]]
    new = answers.get(f"new_{answers['what']}")
    if str(new).casefold() == str(current).casefold():
        raise FieldError(
            _("That is what the registry already says. Please write the correct value."),
            step=f"new_{answers['what']}",
        )


FORM = Form(
    name="identity",
    title=_l("Correction of identity data"),
    validate=_validate,
    steps=[
        member_step(_l("Whose data is wrong?"), _l("Member")),
        Step("what", "choice", prompt=_l("What is wrong in the registry?"), label=_l("Wrong data"),
             options=[("name", _l("Spelling of the name")), ("birth_date", _l("Date of birth")),
                      ("sex", _l("Sex"))]),
        Step("new_name", "text", prompt=_l("How is the name written correctly?"),
             label=_l("Correct name"), max_length=MAX_NAME, parse=person_name,
             when=answer_is("what", "name")),
        Step("new_birth_date", "date", prompt=_l("What is the correct date of birth?"),
             label=_l("Correct date of birth"), max_length=40, check=past_date,
             when=answer_is("what", "birth_date")),
        Step("new_sex", "choice", prompt=_l("What is the correct sex?"), label=_l("Correct sex"),
             options=attr.SEX_OPTIONS, when=answer_is("what", "sex")),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the KK or KTP that shows the correct data."),
        label=_l("KK or KTP"),
        missing="block",
    ),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: IdentityPayload = a.payload
    member = await a.member()
    what = p["what"]
    value = p[f"new_{what}"]  # type: ignore[literal-required]
    await a.change_member(
        member, "member_corrected", **{what: day(value) if what == "birth_date" else value}
    )


def fingerprint(report: Report) -> str | None:
    p = report.payload
    what = p.get("what")
    return f"identity:{p.get('member')}:{what}:{norm(p.get(f'new_{what}'))}"


KIND = ReportKind(
    form=FORM,
    payload=IdentityPayload,
    apply=apply,
    touched=touches_the_member,
    fingerprint=fingerprint,
    dukcapil=_l("a corrected KK (and KTP, if it has the same mistake)"),
)
