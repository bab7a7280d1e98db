"""Perubahan data anggota: a member's education, work, disability, illness or marital status."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.forms import Form, FormState, Step
from registry.kinds.base import (
    MAX_NAME,
    Apply,
    ReportKind,
    answer_is,
    chosen_member,
    member_step,
    norm,
    touches_the_member,
)
from storage.models import Report


class MemberDataPayload(TypedDict):
    member: str  # member id
    field: str  # one of registry.attributes.MEMBER_FIELDS: the answer of that name follows
    education: NotRequired[str]
    work: NotRequired[str]
    occupation: NotRequired[str]  # the work in words, for those who work
    disability: NotRequired[str]
    illness: NotRequired[str]
    marital: NotRequired[str]


async def _validate(state: FormState) -> None:
    await chosen_member(state)


FORM = Form(
    name="member_data",
    title=_l("Change in a member's data"),
    validate=_validate,
    steps=[
        member_step(_l("Whose data changed?"), _l("Member")),
        Step("field", "choice", prompt=_l("What changed?"), label=_l("What changed"),
             options=attr.MEMBER_FIELDS),
        Step("education", "choice", prompt=_l("What is the highest school they finished?"),
             label=_l("Education"), options=attr.EDUCATION, when=answer_is("field", "education")),
        Step("work", "choice", prompt=_l("What do they do now?"), label=_l("Work"),
             options=attr.WORK, when=answer_is("field", "work")),
        Step("occupation", "text", max_length=MAX_NAME,
             prompt=_l("What work is it? For example: tukang ojek, buruh tani, pedagang sayur."),
             label=_l("Occupation"),
             when=lambda a: a.get("field") == "work" and a.get("work") in attr.WORKING),
        Step("disability", "choice", prompt=_l("Which disability do they have?"),
             label=_l("Disability"), options=attr.DISABILITY, when=answer_is("field", "disability")),
        Step("illness", "choice", prompt=_l("Which chronic illness do they have?"),
             label=_l("Chronic illness"), options=attr.ILLNESS, when=answer_is("field", "illness")),
        Step("marital", "choice", prompt=_l("What is their marital status now?"),
             label=_l("Marital status"), options=attr.MARITAL, when=answer_is("field", "marital")),
    ],
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: MemberDataPayload = a.payload
    member = await a.member()
    field = p["field"]
    changes: dict[str, Any] = {field: p[field]}  # type: ignore[literal-required]
    if field == "work":
        changes["occupation"] = p.get("occupation")
    await a.change_member(member, "member_changed", **changes)


def fingerprint(report: Report) -> str | None:
    p = report.payload
    field = p.get("field")
    return f"member_data:{p.get('member')}:{field}:{norm(p.get(field))}"


KIND = ReportKind(
    form=FORM,
    payload=MemberDataPayload,
    apply=apply,
    touched=touches_the_member,
    fingerprint=fingerprint,
)
