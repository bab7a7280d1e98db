"""Reviewer roles in the chat: /undang (an officer invites a reviewer with a single-use
link), redeeming a link after ``/start <code>``, and /peran (one's roles; an officer
also revokes roles inside their area).

Every button press is checked again on the server: the presser must still be an officer
whose area strictly contains the grant, whatever the callback data says."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows import engine, menus, notify, onboarding
from flows.broadcast import region_name
from flows.buttons import Confirm, RevokeRole
from flows.engine import FormState
from flows.io import Button, Ctx, Outcome, Reply
from locales import _, format_date, format_time, lazy_gettext, local_time, use_locale, zone_name
from registry.accounts import grant_area
from registry.errors import DomainError
from registry.forms import FieldError, Form, Step
from registry.households import MAX_RW_RT
from registry.invites import (
    InviteError,
    create_invite,
    get_grant,
    invite_for,
    list_grants,
    redeem_invite,
    revoke_grant,
    within,
)
from registry.regions import region_level
from storage.models import Account, Invite, RoleGrant

PURPOSE = "role"  # outbox purpose of the messages about roles
MAX_LISTED = 30  # grants with a Revoke button in one /peran message
KABUPATEN_LEVEL = 2

REDEEM_ERRORS = {
    "unknown": lazy_gettext(
        "This invitation link is not valid. Check that you opened the whole link, "
        "or ask the officer who invited you for a new one."
    ),
    "used": lazy_gettext(
        "This invitation link has already been used; each link works once. "
        "Ask the officer who invited you for a new one."
    ),
    "expired": lazy_gettext(
        "This invitation link has expired. Ask the officer who invited you for a new one."
    ),
}


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def expiry_text(expires_at: datetime) -> str:
    """``January 21, 2026, 5:00 PM WIB`` in the current locale and the person's zone
    (``expires_at``: naive UTC)."""
    local = local_time(expires_at)
    return f"{format_date(local)}, {format_time(local)} {zone_name()}"


def officer_areas(account: Account | None) -> list[str]:
    """The region codes where the account is an officer (non-revoked grants only)."""
    if account is None:
        return []
    return [grant.region_code for grant in account.roles if grant.role == "officer"]


def manages(account: Account | None, region_code: str) -> bool:
    """Whether the account is an officer of an area strictly containing ``region_code``."""
    return any(within(region_code, area) for area in officer_areas(account))


async def _role_area(session: AsyncSession, grant: RoleGrant | Invite) -> str:
    """``RT head · Tiga-puluh-lima Ilir (16.71.01.1001) RW 2 RT 3`` (escaped HTML)."""
    place = escape(await region_name(session, grant.region_code))
    return f"{onboarding.ROLE_NAMES[grant.role]} · {grant_area(grant, place)}"


# ---- redeeming an invitation (after /start <code> and the consent) ---------------------------


async def redeem(ctx: Ctx, code: str) -> Outcome:
    """Give the person the role of the invitation ``code`` (once), welcome them as a
    reviewer and tell the officer who invited them; or say why the link does not work."""
    account = ctx.account
    assert account is not None, "redeem needs the person's account (after the consent)"
    with use_locale(account.locale or ctx.incoming.language_code):
        try:
            grant = await redeem_invite(ctx.session, account, code)
        except InviteError as exc:
            return Outcome([ctx.reply(str(REDEEM_ERRORS.get(exc.code, exc)))])
        welcome = (await onboarding.reviewer_welcome(ctx, account)).replies[0].text
        lines = [_("✅ Invitation accepted."), welcome]
        replies = [ctx.reply("\n".join(lines))]
    invite = await invite_for(ctx.session, code)
    inviter = (
        await ctx.session.get(Account, invite.created_by_account_id)
        if invite is not None and invite.created_by_account_id is not None
        else None
    )
    if inviter is not None and inviter.deleted_at is None and inviter.telegram_id > 0:
        with use_locale(inviter.locale):
            text = _("✅ Your invitation was accepted: {name} is now {role}.").format(
                name=escape(account.first_name or "-"),
                role=await _role_area(ctx.session, grant),
            )
        notify.post(ctx.session, [Reply(inviter.telegram_id, text)], PURPOSE)
    return Outcome(replies)


# ---- /undang ----------------------------------------------------------------------------------


async def _role_choices(state: FormState) -> list[tuple[str, str]]:
    roles = ["rt", "rw", "lurah"]
    # An officer invites officers of a kecamatan inside their kabupaten/kota.
    if any(region_level(area) == KABUPATEN_LEVEL for area in officer_areas(state.account)):
        roles.append("officer")
    return [(role, str(onboarding.ROLE_NAMES[role])) for role in roles]


async def _inside_own_area(value: Any, state: FormState) -> None:
    if not manages(state.account, value["code"]):
        raise FieldError(
            _(
                "{place} is outside your area ({areas}). You can invite reviewers only "
                "inside your own area."
            ).format(
                place=escape(value.get("name") or value["code"]),
                areas=", ".join(officer_areas(state.account)) or "-",
            )
        )


def _region_step(answers: dict[str, Any]) -> str:
    return "district" if answers.get("role") == "officer" else "village"


async def _create(state: FormState) -> Outcome:
    answers, ctx = state.answers, state.ctx
    region = answers[_region_step(answers)]
    if not manages(ctx.account, region["code"]):  # the role may have been revoked meanwhile
        return Outcome([ctx.reply(_("Only officers can invite reviewers, inside their area."))])
    try:
        invite, code = await create_invite(
            ctx.session, answers["role"], region["code"], answers.get("rw"), answers.get("rt"),
            created_by=ctx.account,
        )  # fmt: skip
    except DomainError as exc:
        return Outcome([ctx.reply(escape(str(exc)))])
    link = (
        deep_link(ctx.bot_username, code)
        if ctx.bot_username
        else _("send /start {code} to this bot").format(code=code)
    )
    text = "\n".join(
        [
            _("✉️ <b>Invitation: {role}</b>").format(role=await _role_area(ctx.session, invite)),
            "",
            _(
                "Send this link to the person you invite. It works once, for one person, "
                "until {expiry}:"
            ).format(expiry=expiry_text(invite.expires_at)),
            link,
            "",
            _(
                "I will tell you when it is used. Anyone with the link can use it: send it only to them."
            ),
        ]
    )
    return Outcome([ctx.reply(text)])


INVITE_FORM = Form(
        name="invite",
        title=lazy_gettext("Invite a reviewer"),
        review=False,
        submit=_create,
        steps=[
            Step(
                "role", "choice",
                prompt=lazy_gettext("Which role is the invitation for?"),
                label=lazy_gettext("Role"),
                choices=_role_choices,
            ),
            Step(
                "village", "region",
                prompt=lazy_gettext(
                    "For which desa/kelurahan? Type its name or its code (like 16.71.01.1001)."
                ),
                label=lazy_gettext("Desa/kelurahan"),
                when=lambda answers: answers.get("role") != "officer",
                check=_inside_own_area,
            ),
            Step(
                "district", "region",
                prompt=lazy_gettext("For which kecamatan? Type its name or its code (like 16.71.01)."),
                label=lazy_gettext("Kecamatan"),
                region_level=3,
                when=lambda answers: answers.get("role") == "officer",
                check=_inside_own_area,
            ),
            Step(
                "rw", "number",
                prompt=lazy_gettext("Which RW? Send the number."),
                label=lazy_gettext("RW"),
                minimum=1, maximum=MAX_RW_RT, max_length=5,
                when=lambda answers: answers.get("role") in ("rt", "rw"),
            ),
            Step(
                "rt", "number",
                prompt=lazy_gettext("Which RT? Send the number."),
                label=lazy_gettext("RT"),
                minimum=1, maximum=MAX_RW_RT, max_length=5,
                when=lambda answers: answers.get("role") == "rt",
            ),
        ],
    )  # fmt: skip


async def invite(ctx: Ctx) -> Outcome:
    """/undang: officers only."""
    if not officer_areas(ctx.account):
        return Outcome([ctx.reply(_("Only officers can invite reviewers, inside their area."))])
    return await engine.start(ctx, INVITE_FORM)


# ---- /peran -----------------------------------------------------------------------------------


async def _grants_in_area(session: AsyncSession, account: Account) -> list[RoleGrant]:
    """Active grants strictly inside any of the officer's areas, each once."""
    found: dict[int, RoleGrant] = {}
    for area in officer_areas(account):
        for grant in await list_grants(session, area):
            if within(grant.region_code, area):
                found[grant.id] = grant
    return sorted(found.values(), key=lambda g: (g.region_code, g.role, g.rw or 0, g.rt or 0, g.id))


async def roles(ctx: Ctx) -> Outcome:
    """/peran: the person's own roles; for an officer also the roles inside their area."""
    account = ctx.account
    if account is None or not account.roles:
        return Outcome([ctx.reply(_("You have no reviewer role."))])
    lines = [_("<b>Your roles</b>")]
    lines += [await onboarding.role_line(ctx, grant) for grant in account.roles]
    buttons: list[list[Button]] = []
    if officer_areas(account):
        grants = await _grants_in_area(ctx.session, account)
        lines.append("")
        if not grants:
            lines.append(
                _("Nobody holds a role inside your area yet. Invite someone with /undang.")
            )
        else:
            lines.append(_("<b>Roles inside your area</b>"))
            for grant in grants[:MAX_LISTED]:
                lines.append(
                    f"#{grant.id} · {await _role_area(ctx.session, grant)} · "
                    f"{escape(grant.account.first_name or '-')} · {format_date(local_time(grant.granted_at))}"
                )
                buttons.append(
                    [Button(_("🚫 Revoke #{id}").format(id=grant.id), RevokeRole(grant.id).pack())]
                )
            if len(grants) > MAX_LISTED:
                lines.append(
                    _("… and {n} more; <code>lapor-warga roles list</code> shows them all.").format(
                        n=len(grants) - MAX_LISTED
                    )
                )
    return Outcome([ctx.reply("\n".join(lines), buttons=buttons)])


def _refused() -> Outcome:
    return Outcome(
        notice=_("You can revoke only roles inside your own area, as an officer."), alert=True
    )


async def on_revoke(ctx: Ctx, press: RevokeRole) -> Outcome:
    """Ask to confirm; then revoke (``Confirm.YES``) or keep the role."""
    try:
        grant = await get_grant(ctx.session, press.grant_id)
    except DomainError:
        return _refused()  # the same answer as for a grant elsewhere: ids are not revealed
    if not manages(ctx.account, grant.region_code):
        return _refused()
    holder = grant.account
    who = await _role_area(ctx.session, grant)
    name = escape(holder.first_name or "-")
    if press.confirm is Confirm.NO:
        return Outcome(
            [ctx.reply(_("Nothing was changed."), edit_message_id=ctx.incoming.message_id)]
        )
    if press.confirm is None:
        if grant.revoked_at is not None:
            return Outcome(notice=_("This role was already revoked."), alert=True)
        text = _("Revoke the role {role} of {name}? They can no longer review reports there.")
        return Outcome(
            [
                ctx.reply(
                    text.format(role=who, name=name),
                    buttons=[
                        [
                            Button(_("🚫 Yes, revoke"), RevokeRole(grant.id, Confirm.YES).pack()),
                            Button(_("Keep it"), RevokeRole(grant.id, Confirm.NO).pack()),
                        ]
                    ],
                )
            ]
        )
    try:
        await revoke_grant(ctx.session, grant.id, by_account=ctx.account)
    except DomainError:
        return Outcome(notice=_("This role was already revoked."), alert=True)
    if holder.deleted_at is None and holder.telegram_id > 0:
        with use_locale(holder.locale):
            told = _("Your role {role} was revoked. You no longer review reports there.").format(
                role=await _role_area(ctx.session, grant)
            )
        notify.post(ctx.session, [Reply(holder.telegram_id, told)], PURPOSE)
    await menus.post_refresh(ctx.session, holder)  # their "/" menu loses the reviewer commands
    done = _("🚫 Revoked: {role} of {name}.").format(role=who, name=name)
    return Outcome([ctx.reply(done, edit_message_id=ctx.incoming.message_id)], notice=_("Revoked."))


__all__ = ["INVITE_FORM", "deep_link", "expiry_text", "invite", "on_revoke", "redeem", "roles"]
