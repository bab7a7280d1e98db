"""/lapor: the catalogue of report forms (for now: birth), and /status."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from flows import engine
from flows.engine import FieldError, Form, FormState, Step, choice_list
from flows.io import Button, Ctx, Outcome
from flows.review import (
    KIND_TITLES,
    SEX_LABELS,
    STATE_LABELS,
    kind_title,
    notify_current_tier,
    reporter_update,
)
from locales import _, format_date, format_datetime, lazy_gettext
from registry import workflow
from storage.models import Household, Member

MAX_NAME = 100
OLDEST_BIRTH = date(1900, 1, 1)


def _today() -> date:
    return date.today()


def _parse_name(text: str) -> str:
    name = " ".join(text.split())
    if not any(ch.isalpha() for ch in name):
        raise FieldError(_("A name needs letters. Please write the baby's name."))
    return name


async def _check_birth_date(value: Any, _state: FormState) -> None:
    born = date.fromisoformat(value)
    if born > _today():
        raise FieldError(_("The date of birth cannot be in the future."))
    if born < OLDEST_BIRTH:
        raise FieldError(_("Please check the year of that date."))


async def _household(state: FormState) -> Household:
    household = await state.session.get(Household, state.account.household_id)
    assert household is not None
    return household


async def _mother_candidates(state: FormState) -> list[Member]:
    born = state.answer_date("birth_date")
    household = await _household(state)
    return [
        m
        for m in household.members
        if m.sex == "F" and m.status == "alive" and (born is None or m.birth_date < born)
    ]


async def _mother_choices(state: FormState) -> list[tuple[str, str]]:
    return [(str(m.id), m.name) for m in await _mother_candidates(state)]


def _mother_prompt(state: FormState) -> str:
    return _("Who is the mother? Choose her from your household.")


async def _validate_birth(state: FormState) -> None:
    if state.answers.get("mother") not in {str(m.id) for m in await _mother_candidates(state)}:
        raise FieldError(
            _("The mother must be a woman of your household born before the baby."), step="mother"
        )


async def _submit_birth(state: FormState) -> Outcome:
    answers = state.answers
    household = await _household(state)
    mother = next(m for m in household.members if str(m.id) == answers["mother"])
    attachments = []
    if answers.get("certificate"):
        attachments.append({"field": "certificate", **answers["certificate"]})
    report = await workflow.submit_report(
        state.session,
        kind="birth",
        household=household,
        reporter=state.account,
        payload={
            "name": answers["name"],
            "sex": answers["sex"],
            "birth_date": answers["birth_date"],
            "mother_id": mother.id,
            "mother_name": mother.name,
        },
        attachments=attachments,
    )
    replies = reporter_update(report)
    replies[0].text += "\n\n" + _(
        "Your tracking number is {number}. See /status at any time."
    ).format(number=f"<code>{report.number}</code>")
    replies += await notify_current_tier(state.ctx, report)
    return Outcome(replies)


BIRTH_FORM = engine.register(
    Form(
        name="birth",
        title=KIND_TITLES["birth"],
        submit=_submit_birth,
        validate=_validate_birth,
        steps=[
            Step(
                "name", "text",
                prompt=lazy_gettext("What is the baby's full name?"),
                label=lazy_gettext("Baby's name"),
                max_length=MAX_NAME,
                parse=_parse_name,
            ),
            Step(
                "sex", "choice",
                prompt=lazy_gettext("Is the baby a boy or a girl?"),
                label=lazy_gettext("Sex"),
                choices=choice_list([("M", lazy_gettext("Boy")), ("F", lazy_gettext("Girl"))]),
            ),
            Step(
                "birth_date", "date",
                prompt=lazy_gettext("When was the baby born? For example 21/01/2026 or 21 Januari 2026."),
                label=lazy_gettext("Date of birth"),
                max_length=40,
                check=_check_birth_date,
            ),
            Step(
                "mother", "choice",
                prompt=_mother_prompt,
                label=lazy_gettext("Mother"),
                choices=_mother_choices,
            ),
            Step(
                "certificate", "upload",
                prompt=lazy_gettext("Send a photo of the birth certificate (akta kelahiran) or the letter from the midwife or hospital."),
                label=lazy_gettext("Birth certificate"),
                optional=True,
            ),
        ],
    )
)  # fmt: skip

FORMS = {"birth": BIRTH_FORM}


def _not_linked(ctx: Ctx) -> Outcome | None:
    if ctx.account is None or ctx.account.household_id is None:
        return Outcome([ctx.reply(_("First link your account to your household: send /start."))])
    return None


async def menu(ctx: Ctx) -> Outcome:
    """/lapor: which change to report."""
    if (refusal := _not_linked(ctx)) is not None:
        return refusal
    buttons = [[Button(kind_title(kind), f"lapor:{kind}")] for kind in FORMS]
    return Outcome([ctx.reply(_("What do you want to report?"), buttons=buttons)])


async def choose(ctx: Ctx, data: str) -> Outcome:
    """``lapor:<kind>`` pressed on the menu."""
    if (refusal := _not_linked(ctx)) is not None:
        return refusal
    form = FORMS.get(data.partition(":")[2])
    if form is None:
        return Outcome(notice=_("This button has expired."))
    return await engine.start(ctx, form)


async def status(ctx: Ctx) -> Outcome:
    """/status: the resident's reports; /status NUMBER: one report's history."""
    number = (ctx.incoming.text or "").partition(" ")[2].strip().upper()
    if ctx.account is None:
        return Outcome([ctx.reply(_("You have not sent any report yet."))])
    if number:
        return await _history(ctx, number)
    reports = await workflow.reports_of(ctx.session, ctx.account)
    if not reports:
        return Outcome([ctx.reply(_("You have not sent any report yet."))])
    lines = [_("<b>Your reports</b>")]
    for report in reports:
        lines.append(
            f"• <code>{report.number}</code> · {escape(kind_title(report.kind))} · "
            f"{STATE_LABELS[report.state]} · {format_date(report.created_at)}"
        )
    lines += ["", _("Send /status followed by a number to see its history.")]
    return Outcome([ctx.reply("\n".join(lines))])


async def _history(ctx: Ctx, number: str) -> Outcome:
    assert ctx.account is not None
    report = await workflow.report_by_number(ctx.session, number)
    if report is None or report.reporter_account_id != ctx.account.id:
        return Outcome(
            [
                ctx.reply(
                    _("None of your reports has the number {number}.").format(number=escape(number))
                )
            ]
        )
    lines = [f"<b>{escape(kind_title(report.kind))}</b> · <code>{report.number}</code>"]
    for event in report.events:
        line = f"• {format_datetime(event.created_at, 'short')} · {STATE_LABELS[event.to_state]}"
        if event.note:
            line += " · " + escape(event.note)
        lines.append(line)
    return Outcome([ctx.reply("\n".join(lines))])


__all__ = ["BIRTH_FORM", "SEX_LABELS", "choose", "menu", "status"]
