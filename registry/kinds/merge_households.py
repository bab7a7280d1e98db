"""Gabung KK: two families (two KKs) become one. The other family joins ours, or ours
joins theirs; the family that joins gets the relationships of the KK it joins."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from locales import lazy_gettext as _l
from registry.errors import IllegalTransition
from registry.forms import LABELS, Evidence, FieldError, Form, FormState, Step
from registry.households import head_of, household_by_kk
from registry.kinds.base import (
    Apply,
    EvidenceFiles,
    ReportKind,
    members_named,
    own_household,
    relationship_options,
)
from storage.models import Household, Member, Report

OURS, THEIRS = "ours", "theirs"

# The joining family's relationships, by what its head becomes in the KK it joins.
AS_CHILD = {"spouse": "child_in_law", "child": "grandchild", "grandchild": "grandchild"}
AS_SPOUSE = {"child": "child", "grandchild": "grandchild", "child_in_law": "child_in_law"}
AS_PARENT = {"spouse": "parent", "parent": "other_relative"}
BY_HEAD = {"child": AS_CHILD, "spouse": AS_SPOUSE, "parent": AS_PARENT, "parent_in_law": {
    "spouse": "parent_in_law"}}  # fmt: skip


class MergePayload(TypedDict):
    other_kk: str  # the KK number of the other family
    stays: Literal["ours", "theirs"]  # whose KK number the joined family keeps
    joining_head_as: str  # what the joining family's head is to the head of the KK that stays
    evidence: NotRequired[EvidenceFiles]


async def _other_family(value: str, state: FormState) -> None:
    other = await household_by_kk(state.session, value)
    if other is None:
        raise FieldError(_("That KK number is not in the registry. Please check it."))
    if other.id == (await own_household(state)).id:
        raise FieldError(_("That is your own KK. Please send the KK number of the other family."))
    if not any(m.status == "alive" for m in other.members):
        raise FieldError(_("Nobody of that family is in the registry any more. Please check it."))
    head = head_of(other)
    if head is not None:  # the review and the cards name the family: "167101****** (SITI)"
        labels = dict(state.answers.get(LABELS) or {})
        labels["other_kk"] = {value: head.name}
        state.set_answers(**{LABELS: labels})


FORM = Form(
    name="merge_households",
    title=_l("Two families join one KK"),
    steps=[
        Step("other_kk", "kk", max_length=40, check=_other_family,
             prompt=_l("What is the KK number of the other family?"), label=_l("KK of the other family")),
        Step("stays", "choice", prompt=_l("Which KK does the joined family keep?"),
             label=_l("KK that stays"),
             options=[(OURS, _l("Ours: the other family joins us")),
                      (THEIRS, _l("Theirs: our family joins them"))]),
        Step("joining_head_as", "choice",
             prompt=_l("What is the head of the family that joins to the head of the KK that stays?"),
             label=_l("The joining head is"), options=relationship_options(head=False)),
    ],
    evidence=Evidence(
        prompt=_l("If you have it, send a photo of the new KK or of the letter from the kelurahan/desa."),
        label=_l("Letter or KK"),
        missing="warn",
    ),
)  # fmt: skip


def relabel(joining_head_as: str, member: Member) -> str:
    """A member of the joining family, in the KK it joins."""
    if member.relationship == "head":
        return joining_head_as
    return BY_HEAD.get(joining_head_as, {}).get(member.relationship, "other_relative")


async def apply(a: Apply) -> None:
    p: MergePayload = a.payload
    ours = await a.household()
    other = await household_by_kk(a.session, p["other_kk"])
    if other is None or other.id == ours.id:
        raise IllegalTransition(_("The other family is no longer in the registry; reject it."))
    keep, gone = (ours, other) if p["stays"] == OURS else (other, ours)
    await a.session.refresh(gone, ["members"])
    joining = [m for m in gone.members if m.status == "alive"]
    relationships = {m.id: relabel(p["joining_head_as"], m) for m in joining}
    for member in joining:
        await a.change_member(
            member, "member_moved_in", household_id=keep.id, relationship=relationships[member.id]
        )
    before = {"details": dict(gone.details or {})}
    gone.details = {**(gone.details or {}), "merged_into": keep.id}
    await a.session.flush()
    a.revise("household_changed", gone.id, before=before, after={"details": gone.details})


async def touched(session: AsyncSession, report: Report) -> set[str]:
    """Everyone of both families: one of the two moves."""
    other = await household_by_kk(session, report.payload.get("other_kk") or "")
    families: list[Household] = [h for h in (report.household, other) if h is not None]
    return members_named(*(str(m.id) for h in families for m in h.members if m.status == "alive"))


def fingerprint(report: Report) -> str | None:
    return f"merge:{report.household_id}:{report.payload.get('other_kk')}"


KIND = ReportKind(
    form=FORM,
    payload=MergePayload,
    apply=apply,
    touched=touched,
    fingerprint=fingerprint,
    ends_membership=True,
    dukcapil=_l("one new KK for the joined family"),
)
