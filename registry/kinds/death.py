"""Kematian: a member of the household died."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from locales import lazy_gettext as _l
from registry.forms import Evidence, FieldError, Form, FormState, Step
from registry.kinds.base import (
    MAX_PLACE,
    Apply,
    EvidenceFiles,
    ReportKind,
    answer_is,
    chosen_member,
    date_step,
    head_choices,
    living,
    member_choices,
    members_named,
)
from storage.models import Report

HEAD_DIED = "head_died"  # a draft answer (not filed): the chosen member heads the family


class DeathPayload(TypedDict):
    member: str  # member id
    new_head: NotRequired[str]  # member id: who heads the family when the head died
    death_date: str  # ISO date
    place: str
    evidence: NotRequired[EvidenceFiles]


async def _others(state: FormState) -> list[tuple[str, str]]:
    """Who may head the family instead: the living members but the one who died."""
    return head_choices(m for m in await living(state) if str(m.id) != state.answers.get("member"))


async def _chosen(value: str, state: FormState) -> None:
    """The head died: ask who heads the family now (when anyone is left)."""
    member = await chosen_member(state, value)
    state.set_answers(**{HEAD_DIED: member.relationship == "head" and bool(await _others(state))})


async def _validate(state: FormState) -> None:
    member = await chosen_member(state)
    if state.answer_date("death_date") < member.birth_date:  # type: ignore[operator]
        raise FieldError(_("The date of death is before the date of birth."), step="death_date")
    await _chosen(str(member.id), state)  # the family may have changed, or an edit reopened it
    if state.answers.get(HEAD_DIED):
        successor = state.answers.get("new_head")
        if successor not in {value for value, _label in await _others(state)}:
            raise FieldError(_("Please choose who heads the family now."), step="new_head")


FORM = Form(
    name="death",
    title=_l("Death"),
    validate=_validate,
    steps=[
        Step("member", "choice", prompt=_l("Who has died? We are sorry for your loss."),
             label=_l("Who"), choices=member_choices, on_answer=_chosen),
        Step("new_head", "choice", prompt=_l("They headed the family. Who is the head of the family now?"),
             label=_l("New head of the family"), choices=_others, when=answer_is(HEAD_DIED, True)),
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
    if p.get("new_head"):
        successor = await a.member("new_head")
        await a.change_member(successor, "member_changed", relationship="head")
    await a.keep_a_head(await a.household())  # nobody was named (filed before this question)


async def touched(_session: AsyncSession, report: Report) -> set[str]:
    """The one who died, and the one who heads the family now."""
    return members_named(report.payload.get("member"), report.payload.get("new_head"))


def fingerprint(report: Report) -> str | None:
    return f"death:{report.payload.get('member')}"


KIND = ReportKind(
    form=FORM,
    payload=DeathPayload,
    apply=apply,
    touched=touched,
    fingerprint=fingerprint,
    ends_membership=True,
    dukcapil=_l("the death certificate (akta kematian) and an updated KK"),
)
