"""Pindah keluar: one member, or the whole household, moved away."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from locales import lazy_gettext as _l
from registry.forms import Evidence, Form, FormState, Step
from registry.kinds.base import (
    MAX_PLACE,
    Apply,
    EvidenceFiles,
    ReportKind,
    answer_is,
    chosen_member,
    date_step,
    member_choices,
    members_named,
    place,
)
from storage.models import Report


class MoveOutPayload(TypedDict):
    scope: Literal["one", "all"]
    member: NotRequired[str]  # member id, when one member moved
    destination: dict[str, Any]  # a region answer: code and name, or text
    move_date: str  # ISO date
    evidence: NotRequired[EvidenceFiles]


async def _validate(state: FormState) -> None:
    if state.answers.get("scope") == "one":
        await chosen_member(state)


FORM = Form(
    name="move_out",
    title=_l("Moved out"),
    validate=_validate,
    steps=[
        Step("scope", "choice", prompt=_l("Who moved away?"), label=_l("Who moved"),
             options=[("one", _l("One member")), ("all", _l("The whole household"))]),
        Step("member", "choice", prompt=_l("Which member moved away?"), label=_l("Member"),
             choices=member_choices, when=answer_is("scope", "one")),
        Step("destination", "region", free_text=True, max_length=MAX_PLACE,
             prompt=_l("Where to? Type the name of the desa or kelurahan. If abroad or unknown, type that and use it as written."),
             label=_l("Moved to")),
        date_step("move_date", _l("When did they move?"), _l("Date of the move")),
    ],
    evidence=Evidence(prompt=_l("If you have it, send a photo of the moving letter (surat pindah)."),
                      label=_l("Moving letter")),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: MoveOutPayload = a.payload
    household = await a.household()
    if p["scope"] == "all":
        leaving = [m for m in household.members if m.status == "alive"]
    else:
        leaving = [await a.member()]
    for member in leaving:
        await a.change_member(
            member, "member_moved_out", status="moved",
            moved_to=place(p["destination"]), moved_on=p["move_date"],
        )  # fmt: skip
    await a.keep_a_head(household)


async def touched(_session: AsyncSession, report: Report) -> set[str]:
    if report.payload.get("scope") != "all":
        return members_named(report.payload.get("member"))
    if report.household is None:
        return set()
    return members_named(*(str(m.id) for m in report.household.members if m.status == "alive"))


def fingerprint(report: Report) -> str | None:
    p = report.payload
    return f"move_out:{report.household_id}:{p.get('scope')}:{p.get('member')}"


KIND = ReportKind(
    form=FORM,
    payload=MoveOutPayload,
    apply=apply,
    touched=touched,
    fingerprint=fingerprint,
    ends_membership=True,
    dukcapil=_l("the moving letter (surat pindah) for those who moved, and an updated KK"),
)
