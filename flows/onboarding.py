"""/start: share one's own contact, link to a household by NIK + KK.

The language was chosen on the consent screen (flows.consent); /bahasa changes it."""

from __future__ import annotations

from html import escape
from typing import Any

from flows import engine, menus, notify
from flows.buttons import MenuAction, MenuPress
from flows.engine import FormState
from flows.io import Button, Ctx, Outcome, Reply
from locales import _, lazy_gettext, use_locale
from registry.accounts import (
    AlreadyLinked,
    LinkLocked,
    grant_area,
    link_account,
    link_locked_until,
)
from registry.errors import DomainError
from registry.forms import FieldError, Form, Step
from registry.households import head_of
from registry.nik import mask
from registry.queues import queue_size
from registry.regions import get_region
from storage.models import Account, Household, RoleGrant

LANGUAGES = [("id", "🇮🇩 Bahasa Indonesia"), ("en", "🇬🇧 English")]


async def _own_contact(value: Any, state: FormState) -> None:
    if value.get("user_id") != state.ctx.incoming.user_id:
        raise FieldError(
            _("Please share your own contact with the button below, not someone else's.")
        )


async def _store_phone(value: Any, state: FormState) -> None:
    state.account.phone = value["phone"]


async def _link(state: FormState) -> Outcome:
    account = state.account
    try:
        household = await link_account(
            state.session, account, state.answers["nik"], state.answers["kk"]
        )
    except LinkLocked as exc:
        # No point asking again within the hour: the form ends here (the draft is deleted).
        return Outcome([state.ctx.reply(str(exc), remove_keyboard=True)])
    except AlreadyLinked as exc:
        _tell_holder(state, exc.holder)
        return Outcome([state.ctx.reply(str(exc), remove_keyboard=True)])
    except DomainError as exc:
        state.draft.answers = {k: v for k, v in state.answers.items() if k not in ("nik", "kk")}
        raise FieldError(
            str(exc) + " " + _("Please check both numbers on your Kartu Keluarga and try again."),
            step="nik",
        ) from None
    head = head_of(household)
    text = _(
        "✅ Your account is linked to household KK {kk} ({head}).\n\n"
        "Send /lapor to report a change in your household."
    ).format(kk=mask(household.kk), head=escape(head.name if head else "-"))
    return Outcome([state.ctx.reply(text, remove_keyboard=True)])


def _tell_holder(state: FormState, holder: Account) -> None:
    """The account already linked as that member hears of the attempt, in its language."""
    with use_locale(holder.locale):
        text = _(
            "⚠️ Someone tried to link another Telegram account as you. Your account stays "
            "linked. If this was not you, tell your Ketua RT."
        )
    notify.post(state.session, [Reply(holder.telegram_id, text)], "link")


LINK_FORM = Form(
        name="link",
        title=lazy_gettext("Link your account"),
        review=False,
        submit=_link,
        steps=[
            Step(
                "contact", "contact",
                prompt=lazy_gettext(
                    "To make sure reports come from real residents, share your phone number "
                    "with the “Share my contact” button below."
                ),
                label=lazy_gettext("Phone"),
                check=_own_contact,
                on_answer=_store_phone,
            ),
            Step(
                "nik", "nik",
                prompt=lazy_gettext("Send your NIK: the 16-digit number on your KTP or Kartu Keluarga."),
                label=lazy_gettext("NIK"),
                max_length=40,
            ),
            Step(
                "kk", "kk",
                prompt=lazy_gettext("Send the 16-digit number of your Kartu Keluarga (KK)."),
                label=lazy_gettext("KK number"),
                max_length=40,
            ),
        ],
    )  # fmt: skip


ROLE_NAMES = {
    "rt": lazy_gettext("RT head"),
    "rw": lazy_gettext("RW head"),
    "lurah": lazy_gettext("Lurah / kepala desa"),
    "officer": lazy_gettext("Officer"),
    "operator": lazy_gettext("Village operator"),
    "admin": lazy_gettext("Console administrator"),
}


async def role_line(ctx: Ctx, grant: RoleGrant) -> str:
    """``• RT head: Tiga-puluh-lima Ilir RW 2 RT 3`` (the place by name, escaped)."""
    region = await get_region(ctx.session, grant.region_code)
    place = escape(region.name) if region is not None else grant.region_code
    return f"• {ROLE_NAMES[grant.role]}: {grant_area(grant, place)}"


async def account_of(ctx: Ctx) -> Account:
    """The person's account. Accounts are created only when their person agrees to the
    consent text (flows.consent), and every flow runs behind that gate (flows.app.run)."""
    if ctx.account is None or ctx.account.consented_at is None:
        raise PermissionError("a flow was reached without consent; route it via flows.app.run")
    return ctx.account


async def reviewer_welcome(ctx: Ctx, account: Account) -> Outcome:
    lines = [_("Welcome! You review reports as:")]
    lines += [await role_line(ctx, grant) for grant in account.roles]
    waiting = await queue_size(ctx.session, account)
    lines.append("")
    if waiting:
        lines.append(
            _("Reports waiting for your decision now: {n}. /antrian shows them.").format(n=waiting)
        )
    else:
        lines.append(_("No report waits for your decision now. /antrian shows your queue."))
    buttons = None
    if account.household_id is None:  # a reviewer is a resident too: /lapor sends them here
        lines += ["", _("To report changes in your own family, link your account first.")]
        buttons = [[Button(_("🔗 Link my household"), MenuPress(MenuAction.START).pack())]]
    return Outcome([ctx.reply("\n".join(lines), buttons=buttons)])


async def start(ctx: Ctx) -> Outcome:
    """/start: resume an open form, greet a linked resident or a reviewer, or begin linking."""
    account = await account_of(ctx)
    with use_locale(account.locale):
        draft = await engine.current_draft(ctx)
        if draft is not None:
            return await engine.resume(ctx, draft)
        if account.household_id is not None:
            household = await ctx.session.get(Household, account.household_id)
            text = _(
                "Welcome back! Your account is linked to household KK {kk}.\n\n"
                "/lapor – report a change\n/status – your reports\n"
                "/bansos – your desil and aid\n/bantuan – help and contacts"
            ).format(kk=mask(household.kk) if household else "-")
            return Outcome([ctx.reply(text, menu=menus.main_menu())])
        if account.roles:
            return await reviewer_welcome(ctx, account)
    return await link(ctx)


async def link(ctx: Ctx) -> Outcome:
    """The "Link my household" button: the linking form (a reviewer's /start greets them instead)."""
    account = await account_of(ctx)
    with use_locale(account.locale):
        if account.household_id is not None or await engine.current_draft(ctx) is not None:
            return await start(ctx)
        until = await link_locked_until(ctx.session, account)
        if until is not None:
            return Outcome([ctx.reply(str(LinkLocked(until)))])
        return await engine.start(ctx, LINK_FORM)


__all__ = ["LINK_FORM", "account_of", "link", "reviewer_welcome", "role_line", "start"]
