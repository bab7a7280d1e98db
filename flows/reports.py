"""/lapor: the menu of report forms, and /status."""

from __future__ import annotations

from html import escape

from flows import engine, on_behalf, switching
from flows.buttons import (
    ChooseReport,
    Confirm,
    DropForm,
    InfoAction,
    NeedsInfo,
    OnBehalfAsk,
    OnBehalfReport,
    Withdraw,
)
from flows.engine import FormState
from flows.filing import answered, attachments_of
from flows.io import Button, Ctx, Outcome
from flows.onboarding import account_of
from flows.review import STATE_LABELS, event_line, kind_title, reporter_buttons
from locales import _, format_date, format_local, lazy_gettext, local_time
from registry import queues, workflow
from registry.errors import DomainError
from registry.forms import Form, Step
from registry.kinds import CATALOG
from storage.models import Report

MAX_NUMBER = 20  # LW-2026-000001 is 14 characters


def _linked(ctx: Ctx) -> bool:
    return ctx.account is not None and ctx.account.household_id is not None


def _forms_for(ctx: Ctx) -> list[Form]:
    """The report types on offer: all of them, or before linking only the unlinked ones."""
    linked = _linked(ctx)
    return [kind.form for kind in CATALOG if linked or kind.unlinked]


async def menu(ctx: Ctx) -> Outcome:
    """/lapor: which change to report (a resident not linked yet: only a missing household)."""
    await account_of(ctx)
    forms = _forms_for(ctx)
    buttons = [[Button(str(form.title), ChooseReport(form.name).pack())] for form in forms]
    buttons += on_behalf.menu_buttons(ctx)  # RT heads: a report for a resident without a phone
    text = _("What do you want to report?")
    if not _linked(ctx):
        text += "\n\n" + _(
            "To report changes in your household, first link your account with /start."
        )
    return Outcome([ctx.reply(text, buttons=buttons)])


async def choose(ctx: Ctx, press: ChooseReport) -> Outcome:
    """A report type pressed on the menu."""
    kind = press.form
    form = next((f for f in _forms_for(ctx) if f.name == kind), None)
    if form is None or ctx.account is None:
        if any(k.name == kind for k in CATALOG):
            return Outcome(
                [ctx.reply(_("First link your account to your household: send /start."))]
            )
        return Outcome(notice=_("This button has expired."))
    return await switching.ask_first(ctx, form) or await engine.start(ctx, form)


async def drop_and_start(ctx: Ctx, press: DropForm) -> Outcome:
    """ "Drop it and start": the open draft goes, the chosen report starts (checked again)."""
    if not await switching.drop(ctx, press):
        return Outcome(notice=_("This button has expired."))
    if press.form == on_behalf.KK_FORM.name:
        return await on_behalf.on_button(ctx, OnBehalfAsk())
    if press.household_id is not None:
        return await on_behalf.on_button(ctx, OnBehalfReport(press.household_id, press.form))
    return await choose(ctx, ChooseReport(press.form))


async def status(ctx: Ctx) -> Outcome:
    """/status: the resident's reports; /status NUMBER: one report's history."""
    number = (ctx.incoming.text or "").partition(" ")[2].strip().upper()
    if ctx.account is None:
        return Outcome([ctx.reply(_("You have not sent any report yet."))])
    if len(number) > MAX_NUMBER:  # not echoed: it could be anything
        text = _("That is not a report number. Numbers look like {example}.")
        return Outcome([ctx.reply(text.format(example="<code>LW-2026-000001</code>"))])
    if number:
        return await _history(ctx, number)
    reports = await queues.reports_of(ctx.session, ctx.account)
    if not reports:
        return Outcome([ctx.reply(_("You have not sent any report yet."))])
    lines = [_("<b>Your reports</b>")]
    for report in reports:
        lines.append(
            f"• <code>{report.number}</code> · {escape(kind_title(report.kind))} · "
            f"{STATE_LABELS[report.state]} · {format_date(local_time(report.created_at))}"
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
        lines.append(f"• {format_local(event.created_at)} · {event_line(event)}")
    return Outcome([ctx.reply("\n".join(lines), buttons=reporter_buttons(report))])


async def _own_report(ctx: Ctx, report_id: int) -> Report:
    """The report a reporter's button names, if it is theirs."""
    report = await workflow.get_report(ctx.session, report_id)
    if ctx.account is None:
        raise DomainError(_("This button has expired."))
    workflow.check_reporter(ctx.account, report)
    return report


async def withdraw(ctx: Ctx, press: Withdraw) -> Outcome:
    """Ask for confirmation, or (confirmed) withdraw the report."""
    try:
        report = await _own_report(ctx, press.report_id)
        number = f"<code>{report.number}</code>"
        if press.confirm is not Confirm.YES:
            if report.state not in workflow.OPEN_STATES or report.state == workflow.APPROVED:
                raise DomainError(_("This report was already decided; it cannot be withdrawn."))
            text = _("Withdraw report {number}? Nobody will review it any more.").format(
                number=number
            )
            confirm = Withdraw(report.id, Confirm.YES).pack()
            buttons = [[Button(_("↩️ Yes, withdraw it"), confirm)]]
            return Outcome([ctx.reply(text, buttons=buttons)])
        await workflow.withdraw(ctx.session, report, ctx.account)  # type: ignore[arg-type]
    except DomainError as exc:
        return Outcome(notice=str(exc), alert=True)
    done = _("Report {number} was withdrawn.")
    return Outcome(
        [ctx.reply(done.format(number=number), edit_message_id=ctx.incoming.message_id)],
        notice=done.format(number=report.number),
    )


async def needs_info(ctx: Ctx, press: NeedsInfo) -> Outcome:
    """Answer the reviewer's question, or edit the report."""
    try:
        report = await _own_report(ctx, press.report_id)
        if report.state != workflow.NEEDS_INFO:
            raise DomainError(_("This report is not waiting for your answer."))
    except DomainError as exc:
        return Outcome(notice=str(exc), alert=True)
    context = {"report_id": report.id, "version": report.version, "number": report.number}
    if press.action is InfoAction.EDIT:
        form = engine.form_named(report.kind)
        if form is None:
            return Outcome(notice=_("This button has expired."))
        context = {"amend": report.id, "version": report.version}
        if report.filed_on_behalf and report.household is not None:
            context |= on_behalf.context_for(report.household)
        return await engine.start_at_review(ctx, form, report.payload, context)
    return await engine.start(ctx, ANSWER_FORM, context)


async def _answer(state: FormState) -> Outcome:
    context = state.draft.context
    try:
        report = await workflow.get_report(state.session, int(context["report_id"]))
        await workflow.answer_info(
            state.session, report, state.account, answer=state.answers["answer"],
            attachments=attachments_of(state), expected_version=int(context["version"]),
        )  # fmt: skip
    except DomainError as exc:
        return Outcome([state.ctx.reply(str(exc))])
    return await answered(state, report)


def _answer_prompt(state: FormState) -> str:
    return _("Your answer about report {number}:").format(
        number=f"<code>{state.draft.context['number']}</code>"
    )


ANSWER_FORM = Form(
    name="answer_info",
    title=lazy_gettext("Answer a question"),
    review=False,
    submit=_answer,
    steps=[
        Step(
            "answer",
            "text",
            prompt=_answer_prompt,
            label=lazy_gettext("Answer"),
            max_length=1000,
            voice=True,
        ),
    ],
)


__all__ = ["choose", "drop_and_start", "menu", "needs_info", "status", "withdraw"]
