"""Filing a finished form as a report, and telling the reporter and the first reviewers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flows.engine import FormState
from flows.io import Outcome
from flows.review import notify_current_tier, reporter_update
from locales import _
from registry import workflow
from registry.accounts import Area
from storage.models import Household

Target = Callable[[FormState], Awaitable[tuple[Household | None, Area | None]]]


async def own_household(state: FormState) -> Household:
    household = await state.session.get(Household, state.account.household_id)
    assert household is not None, "report forms for a household need a linked account"
    return household


async def _own(state: FormState) -> tuple[Household | None, Area | None]:
    return await own_household(state), None


async def file_report(state: FormState, target: Target = _own) -> Outcome:
    """Submit the form's answers as a report of the form's kind.

    ``target`` gives the household the report is about and, when that is not where it
    is reviewed (or there is none yet), the area."""
    household, area = await target(state)
    form = state.form
    payload = form.payload(state.answers)
    attachments: list[dict[str, Any]] = [
        {"field": step.name, **item}
        for step in form.flat
        if step.kind == "upload" and form.entry_visible(step, state.answers)
        for item in state.answers.get(step.name) or []
    ]
    report = await workflow.submit_report(
        state.session,
        kind=form.name,
        household=household,
        reporter=state.account,
        payload=payload,
        attachments=attachments,
        area=area,
    )
    replies = reporter_update(report)
    replies[0].text += "\n\n" + _(
        "Your tracking number is {number}. See /status at any time."
    ).format(number=f"<code>{report.number}</code>")
    replies += await notify_current_tier(state.ctx, report)
    return Outcome(replies)
