"""Kematian: a member of the household died."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from locales import _
from locales import lazy_gettext as _l
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.kinds.base import (
    MAX_PLACE,
    Apply,
    EvidenceFiles,
    ReportKind,
    chosen_member,
    date_step,
    member_step,
    touches_the_member,
)
from storage.models import Report


class DeathPayload(TypedDict):
    member: str  # member id
    death_date: str  # ISO date
    place: str
    evidence: NotRequired[EvidenceFiles]


async def _validate(state: FormState) -> None:
    member = await chosen_member(state)
    if state.answer_date("death_date") < member.birth_date:  # type: ignore[operator]
        raise FieldError(_("The date of death is before the date of birth."), step="death_date")


FORM = Form(
    name="death",
    title=_l("Death"),
    validate=_validate,
    steps=[
        member_step(_l("Who has died? We are sorry for your loss."), _l("Who")),
        date_step("death_date", _l("On which date did they die?"), _l("Date of death")),
        Step("place", "text", prompt=_l("Where did they die? For example: at home, RSUD Palembang."),
             label=_l("Place"), max_length=MAX_PLACE),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the death letter (surat keterangan kematian) from the hospital, kelurahan or desa."),
        label=_l("Death letter"),
        missing="warn",
    ),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: DeathPayload = a.payload
    member = await a.member()
    await a.change_member(
        member, "member_deceased", status="deceased",
        death_date=p["death_date"], death_place=p["place"],
    )  # fmt: skip
    await a.keep_a_head(await a.household())


def fingerprint(report: Report) -> str | None:
    return f"death:{report.payload.get('member')}"


KIND = ReportKind(
    form=FORM,
    payload=DeathPayload,
    apply=apply,
    touched=touches_the_member,
    fingerprint=fingerprint,
    ends_membership=True,
)
