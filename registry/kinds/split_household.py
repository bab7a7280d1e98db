"""Pecah KK: part of a family leaves to form its own KK (for reasons other than a marriage:
that is the marriage report's own question)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from locales import lazy_gettext as _l
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.households import household_by_kk
from registry.kinds.base import (
    MAX_PLACE,
    Apply,
    EvidenceFiles,
    ReportKind,
    answer_is,
    head_choices,
    living,
    member_choices,
    members_named,
)
from storage.models import Member, Report

OLD_HEAD_LEAVES = "old_head_leaves"  # a draft answer (not filed): the stayers need a head
REASONS = [
    ("own_house", _l("They live in their own house now")),
    ("grown_up", _l("Grown-up children start their own family")),
    ("work", _l("Work")),
    ("other", _l("Another reason")),
]


class SplitPayload(TypedDict):
    leaving: list[str]  # member ids of those who form the new family
    new_head: str  # member id, one of leaving
    stay_head: NotRequired[str]  # member id: heads the family that stays, when its head left
    reason: Literal["own_house", "grown_up", "work", "other"]
    address: str | None  # the new family's address, when not the same house
    new_kk: str | None
    evidence: NotRequired[EvidenceFiles]


async def _leaving_choices(state: FormState) -> list[tuple[str, str]]:
    leaving = set(state.answers.get("leaving") or [])
    return head_choices(m for m in await living(state) if str(m.id) in leaving)


async def _staying_choices(state: FormState) -> list[tuple[str, str]]:
    leaving = set(state.answers.get("leaving") or [])
    return head_choices(m for m in await living(state) if str(m.id) not in leaving)


async def _chosen(value: list[str], state: FormState) -> None:
    """The head leaves with them: ask who heads the family that stays."""
    alive = await living(state)
    head_leaves = any(m.relationship == "head" and str(m.id) in value for m in alive)
    state.set_answers(**{OLD_HEAD_LEAVES: head_leaves})


async def _validate(state: FormState) -> None:
    answers = state.answers
    alive = {str(m.id): m for m in await living(state)}
    leaving = set(answers.get("leaving") or [])
    if not leaving <= set(alive):
        raise FieldError(_("That person is no longer a member of your household."), step="leaving")
    if leaving == set(alive):
        raise FieldError(_("Someone must stay in the old household."), step="leaving")
    if answers.get("new_head") not in leaving:
        raise FieldError(_("The new head must be one of those who leave."), step="new_head")
    await _chosen(sorted(leaving), state)
    if answers.get(OLD_HEAD_LEAVES) and answers.get("stay_head") not in set(alive) - leaving:
        raise FieldError(_("Please choose who heads the family that stays."), step="stay_head")
    if answers.get("new_kk") and await household_by_kk(state.session, answers["new_kk"]):
        raise FieldError(_("That KK number already belongs to a household."), step="new_kk")


FORM = Form(
    name="split_household",
    title=_l("Family splits its KK"),
    validate=_validate,
    steps=[
        Step("leaving", "multi", prompt=_l("Who leaves to form a new family with its own KK? For a marriage, use “Marriage or divorce” instead."),
             label=_l("Leaving"), choices=member_choices, on_answer=_chosen),
        Step("new_head", "choice", prompt=_l("Who heads the new family?"),
             label=_l("Head of the new family"), choices=_leaving_choices),
        Step("stay_head", "choice", prompt=_l("The head leaves. Who heads the family that stays?"),
             label=_l("Head of the family that stays"), choices=_staying_choices,
             when=answer_is(OLD_HEAD_LEAVES, True)),
        Step("reason", "choice", prompt=_l("Why do they form their own family?"),
             label=_l("Reason"), options=REASONS),
        Step("address", "text", optional=True, max_length=MAX_PLACE,
             prompt=_l("If the new family lives at another address in this RT, write it. Skip if it is the same house."),
             label=_l("Address of the new family")),
        Step("new_kk", "kk", optional=True, max_length=40,
             prompt=_l("What is the number of the new KK, if it has been issued?"),
             label=_l("New KK number")),
    ],
    evidence=Evidence(
        prompt=_l("If you have it, send a photo of the new KK or of the letter from the kelurahan/desa."),
        label=_l("Letter or KK"),
        missing="warn",
    ),
)  # fmt: skip


def relabel(head: Member, member: Member) -> str:
    """``member``'s relationship to ``head`` in the family they form (from both of their
    relationships to the old head)."""
    if member is head:
        return "head"
    ours = member.relationship
    if head.relationship in ("head", "spouse"):
        if ours in ("head", "spouse"):
            return "spouse"
        return ours if ours in ("child", "child_in_law", "grandchild") else "other_relative"
    if head.relationship == "child":
        table = {
            "child_in_law": "spouse",
            "grandchild": "child",
            "head": "parent",
            "spouse": "parent",
        }
        return table.get(ours, "other_relative")
    return "other_relative"


async def apply(a: Apply) -> None:
    p: SplitPayload = a.payload
    old = await a.household()
    leaving = await a.members(p["leaving"])
    head = next(m for m in leaving if str(m.id) == p["new_head"])
    stay_head = await a.member("stay_head") if p.get("stay_head") else None
    new = await a.new_household(
        kk=p.get("new_kk"), address=p.get("address") or old.address, region_code=old.region_code,
        rw=old.rw, rt=old.rt, details={"split_from": old.id, "split_reason": p["reason"]},
    )  # fmt: skip
    relationships = {m.id: relabel(head, m) for m in leaving}
    for member in leaving:
        await a.change_member(
            member, "member_moved_in", household_id=new.id, relationship=relationships[member.id]
        )
    if stay_head is not None:
        await a.change_member(stay_head, "member_changed", relationship="head")
    await a.keep_a_head(old)  # filed without the question (nobody left to ask about)


async def touched(_session: AsyncSession, report: Report) -> set[str]:
    p = report.payload
    return members_named(*(p.get("leaving") or []), p.get("stay_head"))


def fingerprint(report: Report) -> str | None:
    return f"split:{report.household_id}:{sorted(report.payload.get('leaving') or [])}"


KIND = ReportKind(
    form=FORM,
    payload=SplitPayload,
    apply=apply,
    touched=touched,
    fingerprint=fingerprint,
    ends_membership=True,
    dukcapil=_l("a new KK for the new family, and an updated KK for the family that stays"),
)
