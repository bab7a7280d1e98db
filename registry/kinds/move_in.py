"""Pindah masuk: someone joined the household."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from locales import _, format_date
from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.errors import IllegalTransition
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.households import member_by_nik
from registry.kinds.base import (
    MAX_NAME,
    MAX_PLACE,
    Apply,
    EvidenceFiles,
    ReportKind,
    date_step,
    day,
    norm,
    own_household,
    person_name,
    place,
    relationship_options,
    today,
)
from registry.nik import parse_nik
from storage.models import Household, Report


class MoveInPayload(TypedDict):
    nik: str | None  # None when skipped (a baby under one year)
    name: str
    sex: Literal["M", "F"]
    birth_date: str  # ISO date
    relationship: str  # to the head, one of registry.households.RELATIONSHIPS but "head"
    origin: dict[str, Any]  # a region answer: code and name, or text
    evidence: NotRequired[EvidenceFiles]


async def check_nik_matches(state: FormState, nik_step: str, sex_step: str, born_step: str) -> None:
    """The NIK's sex and birth date (its digits say both) match the answers."""
    nik = state.answers.get(nik_step)
    if not nik:
        return
    parsed = parse_nik(nik)
    if parsed.sex != state.answers.get(sex_step):
        raise FieldError(
            _("The NIK says another sex. Please check the NIK or the sex."), step=sex_step
        )
    if parsed.birth_date.isoformat() != state.answers.get(born_step):
        raise FieldError(
            _("The NIK says another birth date ({date}). Please check both.").format(
                date=format_date(parsed.birth_date)
            ),
            step=born_step,
        )


async def _validate(state: FormState) -> None:
    answers = state.answers
    born = state.answer_date("birth_date")
    if not answers.get("nik") and born is not None and (today() - born).days > 366:
        raise FieldError(
            _("A NIK is needed for anyone older than one year. It is on their KK or KTP."),
            step="nik",
        )
    await check_nik_matches(state, "nik", "sex", "birth_date")
    if answers.get("nik"):
        existing = await member_by_nik(state.session, answers["nik"])
        household = await own_household(state)
        if (
            existing is not None
            and existing.household_id == household.id
            and existing.status == "alive"
        ):
            raise FieldError(_("This person is already a member of your household."), step="nik")
        if existing is not None and existing.status == "deceased":
            raise FieldError(_("This NIK belongs to a person recorded as deceased."), step="nik")


FORM = Form(
    name="move_in",
    title=_l("Moved in"),
    validate=_validate,
    steps=[
        Step("nik", "nik", prompt=_l("What is the NIK of the person who joined your household?"),
             label=_l("NIK"), optional=True, max_length=40),
        Step("name", "text", prompt=_l("What is their full name?"), label=_l("Name"),
             max_length=MAX_NAME, parse=person_name),
        Step("sex", "choice", prompt=_l("Sex?"), label=_l("Sex"), options=attr.SEX_OPTIONS),
        date_step("birth_date", _l("When were they born?"), _l("Date of birth"), recent=False),
        Step("relationship", "choice", prompt=_l("What are they to the head of your household?"),
             label=_l("Relationship"), options=relationship_options(head=False)),
        Step("origin", "region", free_text=True, max_length=MAX_PLACE,
             prompt=_l("Where did they live before? Type the name of the desa or kelurahan, or the country."),
             label=_l("Came from")),
    ],
    evidence=Evidence(prompt=_l("If you have it, send a photo of the moving letter (surat pindah)."),
                      label=_l("Moving letter")),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: MoveInPayload = a.payload
    household = await a.household()
    known = await member_by_nik(a.session, p["nik"]) if p.get("nik") else None
    if known is not None and known.status == "deceased":
        raise IllegalTransition(_("This NIK belongs to a person recorded as deceased."))
    if known is not None:
        # Someone the registry knows in another household (or who moved away before). The
        # registry keeps its spelling of the name: that is an identity correction.
        previous = await a.session.get(Household, known.household_id)
        await a.change_member(
            known, "member_moved_in", household_id=household.id, status="alive",
            relationship=p["relationship"], moved_from=place(p["origin"]),
        )  # fmt: skip
        if previous is not None and previous.id != household.id:
            await a.keep_a_head(previous)
        return
    await a.add_member(
        household.id, nik=p.get("nik"), name=p["name"], sex=p["sex"],
        birth_date=day(p["birth_date"]), relationship=p["relationship"],
        details={"moved_from": place(p["origin"])},
    )  # fmt: skip


async def touched(session: AsyncSession, report: Report) -> set[str]:
    """The person by NIK: a registry member, or a NIK the registry does not know yet."""
    nik = report.payload.get("nik")
    if not nik:
        return set()
    member = await member_by_nik(session, nik)
    return {f"m{member.id}" if member is not None else f"n{nik}"}


def fingerprint(report: Report) -> str | None:
    p = report.payload
    person = p.get("nik") or f"{norm(p.get('name'))}:{p.get('birth_date')}"
    return f"move_in:{report.household_id}:{person}"


KIND = ReportKind(
    form=FORM,
    payload=MoveInPayload,
    apply=apply,
    touched=touched,
    fingerprint=fingerprint,
    ends_membership=True,
    dukcapil=_l(
        "the arrival with the moving letter (surat pindah): the newcomer is written on the KK"
    ),
)
