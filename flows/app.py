"""The entry points an adapter calls: one per command, plus messages and button presses."""

from __future__ import annotations

from flows import engine, onboarding, reports, review
from flows.io import Button, Ctx, Outcome
from locales import SUPPORTED_LOCALES, _, use_locale


async def start(ctx: Ctx) -> Outcome:
    return await onboarding.start(ctx)


async def report_menu(ctx: Ctx) -> Outcome:
    return await reports.menu(ctx)


async def status(ctx: Ctx) -> Outcome:
    return await reports.status(ctx)


async def review_queue(ctx: Ctx) -> Outcome:
    return await review.queue(ctx)


async def resume(ctx: Ctx) -> Outcome:
    """/lanjut: show the open form's current question again."""
    draft = await engine.current_draft(ctx)
    if draft is None:
        return Outcome(
            [ctx.reply(_("You have no unfinished form. Send /lapor to report a change."))]
        )
    return await engine.resume(ctx, draft)


async def language_menu(ctx: Ctx) -> Outcome:
    """/bahasa: choose the language of the conversation."""
    buttons = [[Button(label, f"lang:{code}")] for code, label in onboarding.LANGUAGES]
    return Outcome([ctx.reply(_("Choose your language."), buttons=buttons)])


async def choose_language(ctx: Ctx, data: str) -> Outcome:
    locale = data.partition(":")[2]
    if locale not in SUPPORTED_LOCALES:
        return Outcome(notice=_("This button has expired."))
    (await onboarding.account_of(ctx)).locale = locale
    with use_locale(locale):
        text = _("From now on I will write to you in English.")
        return Outcome([ctx.reply(text)], notice=text)


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
    "lang": choose_language,
    "lapor": reports.choose,
    "rv": review.on_decision,
    "rq": review.open_from_queue,
    "wd": reports.withdraw,
    "ni": reports.needs_info,
}


async def button(ctx: Ctx, data: str) -> Outcome:
    prefix = data.partition(":")[0]
    if prefix == engine.PREFIX:
        return await engine.on_callback(ctx, await engine.current_draft(ctx), data)
    handler = _CALLBACKS.get(prefix)
    if handler is None:
        return Outcome(notice=_("This button has expired."))
    return await handler(ctx, data)
