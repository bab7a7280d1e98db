"""Usulan (Kemensos's word): propose a family for social aid, one's own or a neighbour's,
with photos of the front and the inside of the house and the reason.

Like a dispute it changes no registry rows: an approved usulan becomes a household flag
(``aid_proposal``) for the village's musyawarah and the officers' desil review; whether
the family receives aid is decided there and by Dinas Sosial, not by this report."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.forms import Form, FormState, Step
from registry.kinds.base import (
    MAX_PLACE,
    MAX_REASON,
    Apply,
    EvidenceFiles,
    ReportKind,
    answer_is,
    norm,
    touches_nobody,
)
from registry.kinds.dispute import not_own_kk, other_family
from storage.models import Household, HouseholdFlag, Report

OWN, NEIGHBOUR = "own", "neighbour"


class AidProposalPayload(TypedDict):
    whose: Literal["own", "neighbour"]
    target: NotRequired[str]  # the neighbour's family in words
    target_kk: NotRequired[str | None]
    programmes: list[str]  # registry.attributes.AID_PROGRAMMES
    reason: str
    front_photo: EvidenceFiles
    inside_photo: NotRequired[EvidenceFiles]


async def _target(state: FormState) -> tuple[Household | None, Any]:
    return await other_family(state, "whose", NEIGHBOUR)


FORM = Form(
    name="aid_proposal",
    title=_l("Aid proposal"),
    target=_target,
    anonymous=answer_is("whose", NEIGHBOUR),
    steps=[
        Step("whose", "choice", prompt=_l("Which family do you propose for aid?"),
             label=_l("Family"),
             options=[(OWN, _l("Our own family")), (NEIGHBOUR, _l("Another family (a neighbour)"))]),
        Step("target", "text", max_length=MAX_PLACE, when=answer_is("whose", NEIGHBOUR),
             prompt=_l("Which family? Write the name of its head and its address with RT/RW. They will not learn who proposed them."),
             label=_l("Which family")),
        Step("target_kk", "kk", optional=True, max_length=40,
             when=answer_is("whose", NEIGHBOUR), check=not_own_kk,
             prompt=_l("Do you know its KK number?"), label=_l("Its KK number")),
        Step("programmes", "multi", prompt=_l("Which aid does the family need?"),
             label=_l("Programmes"), options=attr.AID_PROGRAMMES),
        Step("reason", "text", max_length=MAX_REASON, voice=True,
             prompt=_l("Why does the family need aid? For example: no steady income, someone sick, elderly living alone."),
             label=_l("Reason")),
        Step("front_photo", "upload", prompt=_l("Send a photo of the front of the house."),
             label=_l("Photo of the front")),
        Step("inside_photo", "upload", optional=True,
             prompt=_l("Send a photo of the inside of the house (the main room)."),
             label=_l("Photo of the inside")),
    ],
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: AidProposalPayload = a.payload
    details = {
        k: p[k] for k in ("whose", "programmes", "target", "target_kk", "reason") if p.get(k)
    }  # type: ignore[literal-required]
    a.session.add(
        HouseholdFlag(
            household_id=a.report.household_id, report_id=a.report.id,
            region_code=a.report.region_code, kind="aid_proposal", details=details,
        )
    )  # fmt: skip


def fingerprint(report: Report) -> str | None:
    p = report.payload
    target = p.get("target_kk") or norm(p.get("target"))
    return f"aid_proposal:{report.household_id}:{p.get('whose')}:{target}"


KIND = ReportKind(
    form=FORM,
    payload=AidProposalPayload,
    apply=apply,
    touched=touches_nobody,
    fingerprint=fingerprint,
)
