"""Kelahiran: a baby was born into the household."""

from __future__ import annotations

from datetime import date
from typing import Literal, NotRequired, TypedDict

from locales import _
from locales import lazy_gettext as _l
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.kinds.base import (
    MAX_NAME,
    Apply,
    EvidenceFiles,
    ReportKind,
    date_step,
    day,
    living,
    norm,
    person_name,
    touches_nobody,
)
from storage.models import Member, Report

MOTHER_OUTSIDE = "outside"  # a birth whose mother is not a member of the household

# A newborn's relationship to the head follows the mother's.
CHILD_OF = {
    "head": "child",
    "spouse": "child",
    "child": "grandchild",
    "child_in_law": "grandchild",
}


class BirthPayload(TypedDict):
    name: str
    sex: Literal["M", "F"]
    birth_date: str  # ISO date
    mother: str  # a member id, or MOTHER_OUTSIDE
    evidence: NotRequired[EvidenceFiles]


def old_enough(mother: Member, born: date | None, years: int) -> bool:
    """Whether ``mother`` was at least ``years`` old when the baby was born."""
    if born is None:
        return True
    try:
        latest = born.replace(year=born.year - years)
    except ValueError:  # 29 February
        latest = born.replace(year=born.year - years, day=28)
    return mother.birth_date is not None and mother.birth_date <= latest


async def _mother_candidates(state: FormState) -> list[Member]:
    born, years = state.answer_date("birth_date"), state.policy.mother_min_age
    return [m for m in await living(state) if m.sex == "F" and old_enough(m, born, years)]


async def _mother_choices(state: FormState) -> list[tuple[str, str]]:
    candidates = [(str(m.id), m.name) for m in await _mother_candidates(state)]
    return [*candidates, (MOTHER_OUTSIDE, _("She is not in our household"))]


def same_baby(member: Member, name: str, born: str) -> bool:
    """A member already in the family who is this baby: born that day, one name the
    start of the other, in any case or spacing ("PUTRI AYU" and "Putri Ayu Lestari";
    twins "MUHAMMAD HASAN" and "MUHAMMAD HUSAIN" are two babies)."""
    if str(member.birth_date) != born:
        return False
    ours, theirs = norm(name).split(" "), norm(member.name).split(" ")
    shorter = min(len(ours), len(theirs))
    return shorter > 0 and ours[:shorter] == theirs[:shorter]


async def _validate(state: FormState) -> None:
    if state.answers.get("mother") not in {v for v, _label in await _mother_choices(state)}:
        raise FieldError(
            _(
                "The mother must be a woman of your household at least {years} years older "
                "than the baby."
            ).format(years=state.policy.mother_min_age),
            step="mother",
        )
    name, born = state.answers.get("name") or "", state.answers.get("birth_date") or ""
    if any(same_baby(m, name, born) for m in await living(state)):
        raise FieldError(
            _("This baby is already a member of the family. There is no need to report it again."),
            step="name",
        )


FORM = Form(
    name="birth",
    title=_l("Birth"),
    validate=_validate,
    steps=[
        Step("name", "text", prompt=_l("What is the baby's full name?"), label=_l("Baby's name"),
             max_length=MAX_NAME, parse=person_name),
        Step("sex", "choice", prompt=_l("Is the baby a boy or a girl?"), label=_l("Sex"),
             options=[("M", _l("Boy")), ("F", _l("Girl"))]),
        date_step("birth_date", _l("When was the baby born?"), _l("Date of birth")),
        Step("mother", "choice", prompt=_l("Who is the mother? Choose her from your household."),
             label=_l("Mother"), choices=_mother_choices),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the birth certificate (akta kelahiran) or the letter from the midwife or hospital."),
        label=_l("Birth certificate"),
        missing="warn",
    ),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: BirthPayload = a.payload
    household = await a.household()
    mother = None if p["mother"] == MOTHER_OUTSIDE else await a.member("mother")
    await a.add_member(
        household.id,
        nik=None,  # issued later by Dukcapil
        name=p["name"],
        sex=p["sex"],
        birth_date=day(p["birth_date"]),
        # Without the mother in the household, the child is taken to be the head's.
        relationship=CHILD_OF.get(mother.relationship, "other_relative") if mother else "child",
        details={"mother_id": mother.id} if mother else {"mother_outside": True},
    )


def fingerprint(report: Report) -> str | None:
    """The same baby reported twice (by both parents, or by the RT head too): the same
    family, day of birth and name, in any case or spacing."""
    p = report.payload
    return f"birth:{report.household_id}:{norm(p.get('name'))}:{p.get('birth_date')}"


KIND = ReportKind(
    form=FORM,
    payload=BirthPayload,
    apply=apply,
    touched=touches_nobody,  # the baby is not in the registry yet
    fingerprint=fingerprint,
    dukcapil=_l("the birth certificate (akta kelahiran) and an updated KK"),
)
