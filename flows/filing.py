"""Filing a finished form as a report, and telling the reporter and the first reviewers."""

from __future__ import annotations

from typing import Any

from flows import notify
from flows.engine import FormState
from flows.io import Outcome
from flows.review import TIER_NAMES, notify_current_tier, reporter_update
from locales import _
from registry import workflow
from registry.errors import DomainError
from registry.forms import VOICE, VOICE_ANSWER
from registry.kinds.base import ON_BEHALF, own_target
from storage.models import Report


def attachments_of(state: FormState) -> list[dict[str, Any]]:
    """The files of the answers: photos and documents, and the voice notes that answered
    a question (named by the question they answer)."""
    form, answers = state.form, state.answers
    voices = answers.get(VOICE) or {}
    return [
        {"field": step.name, **item}
        for step in form.flat
        if step.kind == "upload" and form.entry_visible(step, answers)
        for item in answers.get(step.name) or []
    ] + [
        {"field": step.name, **voices[step.name]}
        for step in form.flat
        if step.voice and step.name in voices and answers.get(step.name) == VOICE_ANSWER
        and form.entry_visible(step, answers)
    ]  # fmt: skip


async def file_report(state: FormState) -> Outcome:
    """Submit the form's answers as a report of the form's kind (or, when the form was
    opened to edit a report that waits for more information, send that report back).

    The form's ``target`` gives the household the report is about and, when that is
    not where it is reviewed (or there is none yet), the area; by default the
    reporter's own household (or the one an RT head files for)."""
    if state.draft.context.get("amend"):
        return await _amend(state)
    form = state.form
    household, area = await (form.target or own_target)(state)
    try:
        report = await workflow.submit_report(
            state.session,
            kind=form.name,
            household=household,
            reporter=state.account,
            payload=form.payload(state.answers),
            attachments=attachments_of(state),
            area=area,
            policy=state.ctx.policy,
            on_behalf=state.draft.context.get(ON_BEHALF) is not None,
        )
    except DomainError as exc:  # an RT head's role was revoked while they filled the form
        return Outcome([state.ctx.reply(str(exc))])
    replies = reporter_update(report)
    replies[0].text += "\n\n" + _(
        "Your tracking number is {number}. See /status at any time."
    ).format(number=f"<code>{report.number}</code>")
    notify.post(state.session, await notify_current_tier(state.session, report), "review")
    return Outcome(replies)


async def _amend(state: FormState) -> Outcome:
    """The edited answers replace the report's; new photos are added to its evidence."""
    context = state.draft.context
    report = await workflow.get_report(state.session, int(context["amend"]))
    known = {a.file_unique_id for a in report.attachments}
    added = [a for a in attachments_of(state) if a["unique_id"] not in known]
    try:
        await workflow.answer_info(
            state.session, report, state.account, payload=state.form.payload(state.answers),
            attachments=added, expected_version=int(context["version"]),
        )  # fmt: skip
    except DomainError as exc:
        return Outcome([state.ctx.reply(str(exc))])
    return await answered(state, report)


async def answered(state: FormState, report: Report) -> Outcome:
    """After the reporter's answer or edit: back to the tier that asked."""
    notify.post(state.session, await notify_current_tier(state.session, report), "review")
    text = _("Thank you. Report {number} is back with {tier}.").format(
        number=f"<code>{report.number}</code>", tier=TIER_NAMES.get(report.state, "-")
    )
    return Outcome([state.ctx.reply(text)])
