"""/datasaya (a copy of one's data) and /hapusakun (delete one's account): UU 27/2022.

Buttons: :class:`~flows.buttons.DeleteAccount` confirms or cancels a deletion.
"""

from __future__ import annotations

import json

from flows import notify
from flows.buttons import Confirm, DeleteAccount
from flows.io import Button, Ctx, Outcome
from flows.onboarding import ROLE_NAMES
from flows.review import notify_current_tier
from locales import _
from registry.accounts import grant_area
from registry.privacy import AlreadyDeleted, delete_account, export_account_data
from storage.models import utcnow


async def export_data(ctx: Ctx) -> Outcome:
    """/datasaya: everything stored about the person, as a JSON file."""
    account = ctx.account
    if account is None:
        return Outcome([ctx.reply(_("Nothing is stored about you here."))])
    data = await export_account_data(ctx.session, account)
    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    name = f"lapor-warga-data-{utcnow():%Y-%m-%d}.json"
    caption = _(
        "📦 Everything Lapor Warga stores about you and your reports. The file holds your "
        "full NIK and KK number: keep it to yourself."
    )
    return Outcome([ctx.reply(caption, file_name=name, file_data=content)])


async def ask_delete(ctx: Ctx) -> Outcome:
    """/hapusakun: say what deleting means, and ask to confirm with a button."""
    account = ctx.account
    if account is None:
        return Outcome([ctx.reply(_("Nothing is stored about you here."))])
    lines = [
        _("<b>Delete your account?</b>"),
        "",
        _(
            "Your phone number, the link to your household, your unfinished form and the "
            "messages waiting for you are deleted."
        ),
        _(
            "Reports you sent stay with the kelurahan/desa and the officers, because the "
            "registry must keep them, but they no longer name you: you will not hear of "
            "their progress, and cannot answer questions about them or withdraw them."
        ),
    ]
    if account.roles:
        roles = "\n".join(f"• {ROLE_NAMES[g.role]}: {grant_area(g)}" for g in account.roles)
        lines += [
            "",
            _(
                "⚠️ You are a reviewer. Deleting your account ends your roles; "
                "to review again you would need a new invitation:"
            ),
            roles,
        ]
    lines += ["", _("You can first get a copy of your data with /datasaya.")]
    buttons = [
        [Button(_("🗑 Yes, delete my account"), DeleteAccount(account.id, Confirm.YES).pack())],
        [Button(_("Keep my account"), DeleteAccount(account.id, Confirm.NO).pack())],
    ]
    return Outcome([ctx.reply("\n".join(lines), buttons=buttons)])


async def on_button(ctx: Ctx, press: DeleteAccount) -> Outcome:
    """Delete the account (``Confirm.YES``) or keep it."""
    account = ctx.account
    if account is None or press.account_id != account.id:
        return Outcome(notice=_("This button has expired."))
    if press.confirm is Confirm.NO:
        text = _("Nothing was deleted. Your account stays as it is.")
        return Outcome([ctx.reply(text, edit_message_id=ctx.incoming.message_id)], notice=text)
    try:
        deletion = await delete_account(ctx.session, account)
    except AlreadyDeleted:
        return Outcome(notice=_("This button has expired."))
    for report in deletion.returned:  # nobody can answer their questions any more
        notify.post(ctx.session, await notify_current_tier(ctx.session, report), "review")
    ctx.account = None
    text = _(
        "✅ Your account was deleted. If you want to use Lapor Warga again, send /start: "
        "you will be asked for your consent again."
    )
    return Outcome(
        [ctx.reply(text, edit_message_id=ctx.incoming.message_id)],
        notice=_("Your account was deleted."),
    )


__all__ = ["ask_delete", "export_data", "on_button"]
