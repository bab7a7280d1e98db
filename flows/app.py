"""The entry points an adapter calls: one per command, plus messages and button presses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flows import (
    bansos,
    consent,
    engine,
    guide,
    invites,
    limits,
    menus,
    on_behalf,
    onboarding,
    privacy,
    reports,
    review,
    signin,
    switching,
)
from flows.buttons import (
    ButtonData,
    ChooseLanguage,
    ChooseReport,
    ConsentPress,
    Decide,
    DeleteAccount,
    DropForm,
    FormPress,
    KeepForm,
    MenuAction,
    MenuPress,
    NeedsInfo,
    OnBehalfAsk,
    OnBehalfFamilies,
    OnBehalfFamily,
    OnBehalfReport,
    OpenQueued,
    RevokeRole,
    Withdraw,
    unpack,
)
from flows.io import Button, Ctx, Outcome
from locales import _, use_locale, use_zone
from registry.regions import zone_for

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
    before = ctx.account  # /hapusakun leaves ctx.account empty
    with use_zone(await zone_for(ctx.session, ctx.account)):  # times in the person's zone
        outcome = menus.with_main_menu(ctx.account, await flow(ctx))
    # The chat's "/" menu, when role or language changed (or the account was deleted).
    commands = menus.sync(ctx.account or before, ctx.incoming.chat_id)
    if commands is not None:
        outcome.replies.append(commands)
    return outcome


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


async def help_menu(ctx: Ctx) -> Outcome:
    """/bantuan, /help."""
    return await guide.show(ctx)


async def aid_check(ctx: Ctx) -> Outcome:
    """/bansos: the family's desil and aid."""
    return await bansos.show(ctx)


async def review_queue(ctx: Ctx) -> Outcome:
    return await review.queue(ctx)


async def console_link(ctx: Ctx) -> Outcome:
    """/masuk: a one-time sign-in link to the web console."""
    return await signin.console_link(ctx)


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
    buttons = [[Button(label, ChooseLanguage(code).pack())] for code, label in onboarding.LANGUAGES]
    return Outcome([ctx.reply(_("Choose your language."), buttons=buttons)])


async def choose_language(ctx: Ctx, press: ChooseLanguage) -> Outcome:
    (await onboarding.account_of(ctx)).locale = press.locale
    with use_locale(press.locale):
        text = _("From now on I will write to you in English.")
        return Outcome([ctx.reply(text)], notice=text)


async def cancel(ctx: Ctx) -> Outcome:
    if await engine.discard_draft(ctx):
        return Outcome([ctx.reply(_("Cancelled. Nothing was sent."), remove_keyboard=True)])
    return Outcome([ctx.reply(_("There is nothing to cancel."), remove_keyboard=True)])


async def message(ctx: Ctx) -> Outcome:
    """Any message that is not a command: an answer to the open form, if there is one."""
    action = menus.menu_action(ctx.incoming.text)
    if action is not None:  # a tap on the main menu, also in the middle of a form
        ctx.incoming.text = None
        return await MENU_FLOWS[action](ctx)
    draft = await engine.take_current(ctx)  # read and claimed at once
    if draft is None:
        return limits.oversized_text(ctx) or await guide.suggest(ctx)
    return await engine.on_message(ctx, draft, taken=True)  # each question has its own limit


MENU_FLOWS: dict[str, Flow] = {
    menus.REPORT: report_menu,
    menus.STATUS: status,
    menus.BANSOS: aid_check,
    menus.HELP: help_menu,
}
PRESSED_MENU: dict[MenuAction, Flow] = {
    MenuAction.REPORT: report_menu,
    MenuAction.STATUS: status,
    MenuAction.BANSOS: aid_check,
    MenuAction.HELP: help_menu,
    MenuAction.START: onboarding.link,  # "Link my household" (a reviewer too)
}


async def _menu_button(ctx: Ctx, press: MenuPress) -> Outcome:
    return await PRESSED_MENU[press.action](ctx)


async def _form_button(ctx: Ctx, press: FormPress) -> Outcome:
    draft = await engine.take_current(ctx, press)  # only the draft and revision it names
    return await engine.on_callback(ctx, draft, press, taken=True)


# Which flow answers each kind of button (flows/buttons.py lists them all).
BUTTON_FLOWS: dict[type[ButtonData], Callable[[Ctx, Any], Awaitable[Outcome]]] = {
    FormPress: _form_button,
    ConsentPress: consent.on_button,
    ChooseLanguage: choose_language,
    ChooseReport: reports.choose,
    DropForm: reports.drop_and_start,
    KeepForm: switching.keep,
    OnBehalfAsk: on_behalf.on_button,
    OnBehalfReport: on_behalf.on_button,
    OnBehalfFamily: on_behalf.on_family,
    OnBehalfFamilies: on_behalf.on_families,
    Decide: review.on_decision,
    OpenQueued: review.open_from_queue,
    Withdraw: reports.withdraw,
    NeedsInfo: reports.needs_info,
    RevokeRole: invites.on_revoke,
    DeleteAccount: privacy.on_button,
    MenuPress: _menu_button,
}


async def button(ctx: Ctx, data: str) -> Outcome:
    """A button press: its flow gets the decoded button; anything that is not exactly
    the data of one of our buttons (an old, altered or forged one) has expired."""
    press = unpack(data)
    if press is None:
        return Outcome(notice=_("This button has expired."))
    return await BUTTON_FLOWS[type(press)](ctx, press)
