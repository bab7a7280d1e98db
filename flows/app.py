"""The entry points an adapter calls: one per command, plus messages and button presses."""

from __future__ import annotations

from flows import engine, onboarding, reports, review
from flows.io import Ctx, Outcome
from locales import _


async def start(ctx: Ctx) -> Outcome:
    return await onboarding.start(ctx)


async def report_menu(ctx: Ctx) -> Outcome:
    return await reports.menu(ctx)


async def status(ctx: Ctx) -> Outcome:
    return await reports.status(ctx)


async def review_queue(ctx: Ctx) -> Outcome:
    return await review.queue(ctx)


async def cancel(ctx: Ctx) -> Outcome:
    if await engine.discard_draft(ctx):
        return Outcome([ctx.reply(_("Cancelled. Nothing was sent."), remove_keyboard=True)])
    return Outcome([ctx.reply(_("There is nothing to cancel."), remove_keyboard=True)])


async def message(ctx: Ctx) -> Outcome:
    """Any message that is not a command: an answer to the open form, if there is one."""
    draft = await engine.current_draft(ctx)
    if draft is None:
        return Outcome([ctx.reply(_("Send /lapor to report a change, or /start to begin."))])
    return await engine.on_message(ctx, draft)


_CALLBACKS = {
    "lapor": reports.choose,
    "rv": review.on_decision,
    "rq": review.open_from_queue,
}


async def button(ctx: Ctx, data: str) -> Outcome:
    prefix = data.partition(":")[0]
    if prefix == engine.PREFIX:
        return await engine.on_callback(ctx, await engine.current_draft(ctx), data)
    handler = _CALLBACKS.get(prefix)
    if handler is None:
        return Outcome(notice=_("This button has expired."))
    return await handler(ctx, data)
