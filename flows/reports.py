"""/lapor: the menu of report forms, and /status."""

from __future__ import annotations

from html import escape

from flows import engine
from flows.engine import Form
from flows.io import Button, Ctx, Outcome
from flows.onboarding import account_of
from flows.report_forms import REPORT_FORMS, UNLINKED_FORMS
from flows.review import STATE_LABELS, kind_title
from locales import _, format_date, format_datetime
from registry import workflow


def _forms_for(ctx: Ctx) -> list[Form]:
    if ctx.account is not None and ctx.account.household_id is not None:
        return REPORT_FORMS
    return UNLINKED_FORMS


async def menu(ctx: Ctx) -> Outcome:
    """/lapor: which change to report (a resident not linked yet: only a missing household)."""
    await account_of(ctx)
    forms = _forms_for(ctx)
    buttons = [[Button(str(form.title), f"lapor:{form.name}")] for form in forms]
    text = _("What do you want to report?")
    if forms is UNLINKED_FORMS:
        text += "\n\n" + _(
            "To report changes in your household, first link your account with /start."
        )
    return Outcome([ctx.reply(text, buttons=buttons)])


async def choose(ctx: Ctx, data: str) -> Outcome:
    """``lapor:<kind>`` pressed on the menu."""
    kind = data.partition(":")[2]
    form = next((f for f in _forms_for(ctx) if f.name == kind), None)
    if form is None or ctx.account is None:
        if any(f.name == kind for f in REPORT_FORMS):
            return Outcome(
                [ctx.reply(_("First link your account to your household: send /start."))]
            )
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


__all__ = ["choose", "menu", "status"]
