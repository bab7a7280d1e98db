"""Ganti kepala keluarga: another member becomes the head of the family (the KK's head)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from locales import lazy_gettext as _l
from registry.errors import IllegalTransition
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.kinds.base import (
    Apply,
    EvidenceFiles,
    ReportKind,
    chosen_member,
    head_choices,
    living,
    members_named,
    relationship_options,
)
from storage.models import Member, Report


class HeadChangePayload(TypedDict):
    member: str  # member id: the new head
    previous_head_as: str  # what the previous head is to the new head now
    evidence: NotRequired[EvidenceFiles]


def current_head(members: list[Member]) -> Member | None:
    return next((m for m in members if m.status == "alive" and m.relationship == "head"), None)


async def _candidates(state: FormState) -> list[tuple[str, str]]:
    return head_choices(m for m in await living(state) if m.relationship != "head")


async def _validate(state: FormState) -> None:
    member = await chosen_member(state)
    if member.relationship == "head":
        raise FieldError(_("That person already heads the family."), step="member")
    if current_head(await living(state)) is None:
        raise FieldError(
            _("Nobody heads this family now: please ask the kelurahan/desa office."), step="member"
        )


FORM = Form(
    name="head_change",
    title=_l("Change of the head of the family"),
    validate=_validate,
    steps=[
        Step("member", "choice", prompt=_l("Who is the new head of the family?"),
             label=_l("New head"), choices=_candidates),
        Step("previous_head_as", "choice",
             prompt=_l("What is the previous head to the new head now?"),
             label=_l("The previous head is now"), options=relationship_options(head=False)),
    ],
    evidence=Evidence(
        prompt=_l("If you have it, send a photo of the letter or the new KK."),
        label=_l("Letter or KK"),
        missing="warn",
    ),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: HeadChangePayload = a.payload
    household = await a.household()
    new_head = await a.member()
    previous = current_head(household.members)
    if previous is None or previous is new_head:
        raise IllegalTransition(_("The family's head changed since this report; reject it."))
    await a.change_member(previous, "member_changed", relationship=p["previous_head_as"])
    await a.change_member(new_head, "member_changed", relationship="head")


async def touched(_session: AsyncSession, report: Report) -> set[str]:
    """The new head, and the head they replace."""
    head = current_head(report.household.members) if report.household is not None else None
    return members_named(report.payload.get("member"), str(head.id) if head else None)


def fingerprint(report: Report) -> str | None:
    return f"head_change:{report.household_id}:{report.payload.get('member')}"


KIND = ReportKind(
    form=FORM,
    payload=HeadChangePayload,
    apply=apply,
    touched=touched,
    fingerprint=fingerprint,
    dukcapil=_l("a new KK with the new head of the family"),
)
