"""Sanggahan (Kemensos's word): our desil is wrong, or a family receives aid that should
not. Proposing a family for aid is an usulan (:mod:`registry.kinds.aid_proposal`).

Disputes change no registry rows: an approved one becomes a household flag for the
officers' desil review. Reports filed before the usulan had its own form may carry the
subject ``left_out`` ("we were left out of aid"): it is no longer offered, but such
reports still display and apply as they were."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from locales import _
from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.households import household_by_kk
from registry.kinds.base import (
    MAX_PLACE,
    MAX_REASON,
    Apply,
    EvidenceFiles,
    ReportKind,
    answer_is,
    norm,
    own_household,
    touches_nobody,
)
from storage.models import Household, HouseholdFlag, Report

OTHER_HOUSEHOLD = "other_household"
LEFT_OUT = "left_out"  # retired: an usulan now (aid_proposal)


class DisputePayload(TypedDict):
    subject: Literal["desil", "left_out", "other_household"]
    programmes: NotRequired[list[str]]  # registry.attributes.AID_PROGRAMMES
    target: NotRequired[str]  # the other household in words
    target_kk: NotRequired[str | None]
    reason: str
    evidence: NotRequired[EvidenceFiles]


async def other_family(state: FormState, subject: str, value: str) -> tuple[Household | None, Any]:
    """A report about another family is about that family when its KK is known, and is
    reviewed in the reporter's neighbourhood otherwise (also used by the usulan)."""
    own = await own_household(state)
    if state.answers.get(subject) != value:
        return own, None
    kk = state.answers.get("target_kk")
    target = await household_by_kk(state.session, kk) if kk else None
    return target, (target or own)


async def _target(state: FormState) -> tuple[Household | None, Any]:
    return await other_family(state, "subject", OTHER_HOUSEHOLD)


async def not_own_kk(value: Any, state: FormState) -> None:
    if value == (await own_household(state)).kk:
        raise FieldError(_("That is your own household's KK."))


FORM = Form(
    name="dispute",
    title=_l("Dispute"),
    target=_target,
    anonymous=answer_is("subject", OTHER_HOUSEHOLD),
    steps=[
        Step("subject", "choice", prompt=_l("What do you dispute?"), label=_l("Subject"),
             options=[
                 ("desil", _l("Our desil or classification is wrong")),
                 (LEFT_OUT, _l("We were left out of aid")),
                 (OTHER_HOUSEHOLD, _l("Another household should not receive aid")),
             ], retired=frozenset({LEFT_OUT})),
        Step("programmes", "multi", prompt=_l("Which programmes?"), label=_l("Programmes"),
             options=attr.AID_PROGRAMMES, when=answer_is("subject", LEFT_OUT, OTHER_HOUSEHOLD)),
        Step("target", "text", max_length=MAX_PLACE, when=answer_is("subject", OTHER_HOUSEHOLD),
             prompt=_l("Which household? Write the name of its head and its address with RT/RW. They will not learn who reported."),
             label=_l("Household")),
        Step("target_kk", "kk", optional=True, max_length=40,
             when=answer_is("subject", OTHER_HOUSEHOLD), check=not_own_kk,
             prompt=_l("Do you know its KK number?"), label=_l("Its KK number")),
        Step("reason", "text", max_length=MAX_REASON, voice=True,
             prompt=_l("Why? Tell us what you know, in your own words."), label=_l("Reason")),
    ],
    evidence=Evidence(prompt=_l("If you have evidence (a photo or a letter), send it."),
                      label=_l("Evidence")),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: DisputePayload = a.payload
    flag = HouseholdFlag(
        household_id=a.report.household_id,
        report_id=a.report.id,
        region_code=a.report.region_code,
        kind=p["subject"],
        details={k: p[k] for k in ("programmes", "target", "target_kk", "reason") if p.get(k)},  # type: ignore[literal-required]
    )
    a.session.add(flag)


def fingerprint(report: Report) -> str | None:
    p = report.payload
    target = p.get("target_kk") or norm(p.get("target"))
    return (
        f"dispute:{report.household_id}:{p.get('subject')}:{target}:"
        f"{sorted(p.get('programmes') or [])}"
    )


KIND = ReportKind(
    form=FORM,
    payload=DisputePayload,
    apply=apply,
    touched=touches_nobody,  # the household's data, not a person's membership
    fingerprint=fingerprint,
)
