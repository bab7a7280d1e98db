"""The entry points an adapter calls: one per command, plus messages and button presses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from flows import consent, engine, invites, limits, on_behalf, onboarding, privacy, reports, review
from flows.io import Button, Ctx, Outcome
from locales import SUPPORTED_LOCALES, _, use_locale

Flow = Callable[[Ctx], Awaitable[Outcome]]


async def run(ctx: Ctx, flow: Flow) -> Outcome:
    """Every update goes through here (handlers/routers.py): someone who has not agreed to
    the consent text yet gets it instead of what they asked for, and nothing is stored."""
    # A command's argument; a message's text is checked by message() or the open form.
    too_long = limits.oversized_text(ctx) if flow is not message else None
    if too_long is not None:
        return too_long
    if not consent.agreed(ctx.account) and not consent.pressed(ctx.incoming):
        return await consent.ask(ctx)
    return await flow(ctx)


async def start(ctx: Ctx) -> Outcome:
    """/start, or /start <code> from a reviewer's invitation link."""
    code = consent.start_code(ctx.incoming)
    if code is not None:
        return await invites.redeem(ctx, code)
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
        return limits.oversized_text(ctx) or Outcome(
            [ctx.reply(_("Send /lapor to report a change, or /start to begin."))]
        )
    return await engine.on_message(ctx, draft)  # each question has its own length limit


_CALLBACKS = {
    consent.PREFIX: consent.on_button,
    "lang": choose_language,
    "lapor": reports.choose,
    on_behalf.PREFIX: on_behalf.on_button,
    "rv": review.on_decision,
    "rq": review.open_from_queue,
    "wd": reports.withdraw,
    "ni": reports.needs_info,
    "pr": invites.on_revoke,
    privacy.PREFIX: privacy.on_button,
}


async def button(ctx: Ctx, data: str) -> Outcome:
    prefix = data.partition(":")[0]
    if prefix == engine.PREFIX:
        return await engine.on_callback(ctx, await engine.current_draft(ctx), data)
    handler = _CALLBACKS.get(prefix)
    if handler is None:
        return Outcome(notice=_("This button has expired."))
    return await handler(ctx, data)
