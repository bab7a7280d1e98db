"""Perkawinan / perceraian: a marriage or a divorce, maybe with a new household."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from locales import lazy_gettext as _l
from registry.errors import IllegalTransition
from registry.forms import YES, YES_NO, Evidence, FieldError, Form, FormState, Step
from registry.households import household_by_kk
from registry.kinds.base import (
    MAX_NAME,
    Apply,
    EvidenceFiles,
    ReportKind,
    answer_is,
    date_step,
    living,
    member_choices,
    members_named,
    person_name,
)
from storage.models import Report


class MarriagePayload(TypedDict):
    event: Literal["married", "divorced"]
    members: list[str]  # member ids of those who married or divorced
    partner: str | None  # a partner outside the household, when named
    event_date: str  # ISO date
    new_household: Literal["yes", "no"]
    leaving: NotRequired[list[str]]  # member ids moving to the new household
    new_kk: NotRequired[str | None]
    evidence: NotRequired[EvidenceFiles]


async def _validate(state: FormState) -> None:
    answers = state.answers
    alive = {str(m.id): m for m in await living(state)}
    if not set(answers.get("members") or []) <= set(alive):
        raise FieldError(_("That person is no longer a member of your household."), step="members")
    if answers.get("new_household") != YES:
        return
    leaving = set(answers.get("leaving") or [])
    if not leaving <= set(alive):
        raise FieldError(_("That person is no longer a member of your household."), step="leaving")
    if leaving == set(alive):
        raise FieldError(_("Someone must stay in the old household."), step="leaving")
    if not leaving & set(answers.get("members") or []):
        raise FieldError(
            _("The new household must include someone who married or divorced."), step="leaving"
        )
    if answers.get("new_kk") and await household_by_kk(state.session, answers["new_kk"]):
        raise FieldError(_("That KK number already belongs to a household."), step="new_kk")


FORM = Form(
    name="marriage",
    title=_l("Marriage or divorce"),
    validate=_validate,
    steps=[
        Step("event", "choice", prompt=_l("What happened?"), label=_l("Event"),
             options=[("married", _l("A marriage")), ("divorced", _l("A divorce"))]),
        Step("members", "multi", prompt=_l("Who in your household married or divorced?"),
             label=_l("Who"), choices=member_choices),
        Step("partner", "text", optional=True, max_length=MAX_NAME, parse=person_name,
             prompt=_l("If the husband or wife is not in your household, write their name."),
             label=_l("Partner outside the household")),
        date_step("event_date", _l("On which date?"), _l("Date")),
        Step("new_household", "choice", options=YES_NO,
             prompt=_l("Do some members now form a new household with their own KK?"),
             label=_l("New household")),
        Step("leaving", "multi", prompt=_l("Who moves to the new household?"),
             label=_l("Moving to the new household"), choices=member_choices,
             when=answer_is("new_household", YES)),
        Step("new_kk", "kk", optional=True, max_length=40, when=answer_is("new_household", YES),
             prompt=_l("What is the number of the new KK, if it has been issued?"),
             label=_l("New KK number")),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the marriage book (buku nikah) or the divorce certificate (akta cerai)."),
        label=_l("Certificate"),
        missing="warn",
    ),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: MarriagePayload = a.payload
    involved = await a.members(p["members"])
    for member in involved:
        await a.change_member(
            member, "member_changed", marital=p["event"], marital_since=p["event_date"]
        )
    if p.get("new_household") != YES:
        return
    old = await a.household()
    leaving = await a.members(p.get("leaving") or [])
    new = await a.new_household(
        kk=p.get("new_kk"), address=old.address, region_code=old.region_code, rw=old.rw,
        rt=old.rt, details={"split_from": old.id},
    )  # fmt: skip
    involved_ids = {m.id for m in involved}
    heads = [m for m in leaving if m.id in involved_ids]
    if not heads:
        raise IllegalTransition(
            _("The new household must include someone who married or divorced.")
        )
    head = next((m for m in heads if m.sex == "M"), heads[0])
    # When the old head (or spouse) heads the new household, their children stay children.
    stays = (
        ("child", "child_in_law", "grandchild") if head.relationship in ("head", "spouse") else ()
    )
    for member in leaving:
        if member is head:
            relationship = "head"
        elif member.id in involved_ids:
            relationship = "spouse"
        elif member.relationship in stays:
            relationship = member.relationship
        elif member.relationship == "grandchild":
            relationship = "child"
        else:
            relationship = "other_relative"
        await a.change_member(
            member, "member_moved_in", household_id=new.id, relationship=relationship
        )
    await a.keep_a_head(old)


async def touched(_session: AsyncSession, report: Report) -> set[str]:
    p = report.payload
    return members_named(*(p.get("members") or []), *(p.get("leaving") or []))


def fingerprint(report: Report) -> str | None:
    p = report.payload
    return f"marriage:{report.household_id}:{p.get('event')}:{sorted(p.get('members') or [])}"


def dukcapil(p: MarriagePayload) -> object:
    if p.get("new_household") == YES:
        return _l("a new KK for the new family, and the marriage or divorce on both KKs")
    if p.get("event") == "divorced":
        return _l("the divorce certificate (akta cerai) written on an updated KK")
    return _l("the marriage written on an updated KK (bring the buku nikah)")


KIND = ReportKind(
    form=FORM,
    payload=MarriagePayload,
    apply=apply,
    touched=touched,
    fingerprint=fingerprint,
    ends_membership=True,
    dukcapil=dukcapil,
)
