"""/datasaya (a copy of one's data) and /hapusakun (delete one's account): UU 27/2022.

Buttons: :class:`~flows.buttons.DeleteAccount` confirms or cancels a deletion.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows import engine, notify
from flows.buttons import Confirm, DeleteAccount, OpenQueued
from flows.io import Button, Ctx, Outcome, Reply
from flows.onboarding import ROLE_NAMES
from flows.review import STATE_LABELS, kind_title, notify_current_tier
from locales import _, use_locale
from registry import queues
from registry.accounts import grant_area
from registry.forms import MAX_PROMPT
from registry.nik import mask
from registry.privacy import AlreadyDeleted, Deletion, delete_account, export_account_data
from storage.models import utcnow

MAX_SHOWN_REPORTS = 20  # the newest; the file holds every one


def _pack(lines: list[str], limit: int = MAX_PROMPT) -> list[str]:
    """Lines joined into as few messages as fit ``limit`` characters each."""
    messages: list[str] = []
    current = ""
    for line in lines:
        joined = f"{current}\n{line}" if current else line
        if current and len(joined) > limit:
            messages.append(current)
            joined = line
        current = joined
    if current:
        messages.append(current)
    return messages


def _summary(data: dict[str, Any], roles: list[str]) -> list[str]:
    """The export as short messages a resident can read: who they are (NIK and KK
    masked), their family, their roles, their reports and what is unfinished."""
    account = data["account"]
    member, household = account["member"], account["household"]
    lines = [_("<b>📋 Your data in Lapor Warga</b>")]
    if member is not None:
        lines.append(_("Name: {name}").format(name=escape(member["name"])))
        if member["nik"]:
            lines.append(_("NIK: {nik}").format(nik=mask(member["nik"])))
    if household is not None:
        lines.append(
            _("Family: KK {kk}").format(kk=mask(household["kk"]) if household["kk"] else "-")
        )
        lines.append(
            _("Address: {address}, RT {rt} / RW {rw}").format(
                address=escape(household["address"] or "-"), rt=household["rt"], rw=household["rw"]
            )
        )
    elif member is None:
        lines.append(_("Your account is not linked to a family."))
    if account["phone"]:
        lines.append(_("Phone number: {phone}").format(phone=escape(account["phone"])))
    lines += roles
    reports = data["reports"]
    if reports:
        lines += ["", _("<b>Your reports: {n}</b>").format(n=len(reports))]
        for report in reports[-MAX_SHOWN_REPORTS:]:
            lines.append(
                f"• <code>{report['number']}</code> {escape(kind_title(report['kind']))}: "
                f"{STATE_LABELS[report['state']]}"
            )
        if len(reports) > MAX_SHOWN_REPORTS:
            lines.append(_("The older ones are in the file."))
    else:
        lines += ["", _("You have sent no report.")]
    if data["open_form"] is not None:
        form = engine.form_named(data["open_form"]["form"])
        title = str(form.title) if form is not None else data["open_form"]["form"]
        lines.append(
            _("Unfinished form: {title} (/lanjut to go on, /batal to drop it)").format(
                title=escape(title)
            )
        )
    if data["pending_messages"]:
        lines.append(
            _("Messages still on their way to you: {n}").format(n=len(data["pending_messages"]))
        )
    return _pack(lines)


async def export_data(ctx: Ctx) -> Outcome:
    """/datasaya: a short summary to read in the chat, then everything stored about the
    person as a JSON file."""
    account = ctx.account
    if account is None:
        return Outcome([ctx.reply(_("Nothing is stored about you here."))])
    data = await export_account_data(ctx.session, account)
    roles = [
        _("Role: {role}, {area}").format(role=ROLE_NAMES[g.role], area=grant_area(g))
        for g in account.roles
    ]
    replies = [ctx.reply(text) for text in _summary(data, roles)]
    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    name = f"lapor-warga-data-{utcnow():%Y-%m-%d}.json"
    caption = _(
        "📦 Everything Lapor Warga stores about you and your reports. The file holds your "
        "full NIK and KK number: keep it to yourself."
    )
    return Outcome([*replies, ctx.reply(caption, file_name=name, file_data=content)])


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


async def _withdrawn_cards(session: AsyncSession, deletion: Deletion) -> list[Reply]:
    """For each card deleted before it was sent whose report still waits for that
    reviewer: a note that it waits, with a button to open it (the card is rendered then,
    from the registry), and no personal data of its own."""
    replies = []
    for chat_id, report in deletion.unsent:
        reviewers = {a.telegram_id: a for a in await queues.reviewers_for(session, report)}
        if chat_id not in reviewers:
            continue  # no longer theirs to decide
        with use_locale(reviewers[chat_id].locale):
            label = f"{report.number} · {kind_title(report.kind)}"
            text = _(
                "📥 Report {number} waits for your review. Its card was withdrawn because "
                "its reporter deleted their account; open it with the button or /antrian."
            ).format(number=f"<code>{report.number}</code>")
            button = Button(label, OpenQueued(report.id).pack())
        replies.append(Reply(chat_id, text, [[button]], about_report=report.id))
    return replies


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
    notify.post(ctx.session, await _withdrawn_cards(ctx.session, deletion), "review")
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
