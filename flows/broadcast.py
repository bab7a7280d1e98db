"""Announcements: an officer (``/umumkan``) or the CLI writes to every linked resident of a
region; the outbox delivers them and the officer gets a summary once all are final."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows import engine
from flows.engine import FormState
from flows.io import Ctx, Outcome, Reply
from flows.notify import post
from locales import _, format_number, lazy_gettext, use_locale
from registry import broadcasts
from registry.accounts import account_by_telegram_id
from registry.forms import FieldError, Form, Step
from registry.regions import get_region
from storage.models import Account, Broadcast

MAX_TEXT = 3500  # the header and HTML escaping still fit Telegram's 4096 characters
SEND = "send"
SUMMARY_PURPOSE = "summary"


async def region_name(session: AsyncSession, code: str) -> str:
    region = await get_region(session, code)
    return f"{region.name} ({code})" if region is not None else code


def text_length(text: str) -> int:
    """Characters as Telegram counts them (UTF-16 code units: an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def render(region: str, text: str) -> str:
    """The announcement as a resident sees it, in the current locale (escaped HTML)."""
    head = _("📢 <b>Announcement for {region}</b>").format(region=escape(region))
    return f"{head}\n\n{escape(text)}"


async def announce(
    session: AsyncSession,
    region_code: str,
    text: str,
    *,
    created_by: Account | None = None,
    notify_chat_id: int | None = None,
) -> Broadcast | None:
    """Queue ``text`` for every linked resident of the region, each in their language,
    in the caller's transaction; None (nothing written) when nobody would receive it."""
    if await broadcasts.count_recipients(session, region_code) == 0:
        return None
    name = await region_name(session, region_code)
    rendered: dict[str | None, dict[str, Any]] = {}

    def message_for(recipient: broadcasts.Recipient) -> dict[str, Any]:
        if recipient.locale not in rendered:
            with use_locale(recipient.locale):
                rendered[recipient.locale] = Reply(0, render(name, text)).to_message()
        return rendered[recipient.locale]

    return await broadcasts.create(
        session,
        region_code=region_code,
        text=text,
        created_by=created_by,
        notify_chat_id=notify_chat_id,
        message_for=message_for,
    )


def summary_text(region: str, tally: broadcasts.Tally) -> str:
    return "\n".join(
        [
            _("📢 Your announcement for {region} has gone out.").format(region=escape(region)),
            _("Received it: {n}").format(n=format_number(tally.sent)),
            _("Have blocked the bot: {n}").format(n=format_number(tally.undeliverable)),
            _("Could not be delivered: {n}").format(n=format_number(tally.failed)),
        ]
    )


async def close_finished(session: AsyncSession, now: datetime) -> int:
    """Close every broadcast whose messages are all final, posting each officer's summary
    to the outbox in the same transaction; returns how many were closed."""
    closed = 0
    for broadcast in await broadcasts.finishable(session):
        if not await broadcasts.finish(session, broadcast.id, now):
            continue  # another sender closed it
        closed += 1
        if broadcast.notify_chat_id is None:
            continue
        tally = await broadcasts.tally(session, broadcast.id)
        officer = await account_by_telegram_id(session, broadcast.notify_chat_id)
        with use_locale(officer.locale if officer is not None else None):
            text = summary_text(await region_name(session, broadcast.region_code), tally)
        post(session, [Reply(broadcast.notify_chat_id, text)], SUMMARY_PURPOSE)
    return closed


# ---- /umumkan ---------------------------------------------------------------------------------


def _region(state: FormState) -> str:
    return state.answers.get("region") or state.draft.context["region"]


async def _region_choices(state: FormState) -> list[tuple[str, str]]:
    return [
        (code, await region_name(state.session, code))
        for code in broadcasts.officer_regions(state.account)
    ]


async def _count(_value: Any, state: FormState) -> None:
    """Who would receive it, for the confirmation (counted again when it is sent)."""
    code = state.answers.get("region") or state.draft.context.get("region")
    if code is None:
        return
    state.set_context(
        recipients=await broadcasts.count_recipients(state.session, code),
        region_name=await region_name(state.session, code),
    )


async def _fits(value: Any, _state: FormState) -> None:
    if text_length(value) > MAX_TEXT:
        raise FieldError(_("That is too long: at most {n} characters.").format(n=MAX_TEXT))


async def _has_recipients(value: Any, state: FormState) -> None:
    if await broadcasts.count_recipients(state.session, value) == 0:
        raise FieldError(_no_one(await region_name(state.session, value)))


def _no_one(region: str) -> str:
    return _(
        "No resident of {region} has linked their account yet: nobody would receive it."
    ).format(region=escape(region))


def _confirm_prompt(state: FormState) -> str:
    context = state.draft.context
    return "\n".join(
        [
            _("Your announcement:"),
            "",
            escape(state.answers.get("text") or ""),
            "",
            _("It goes to every linked resident of {region}. Recipients: {n}.").format(
                region=escape(context.get("region_name") or _region(state)),
                n=format_number(context.get("recipients") or 0),
            ),
            _("Send it now? (Back changes the text.)"),
        ]
    )


async def _send(state: FormState) -> Outcome:
    region = _region(state)
    if not broadcasts.may_announce(state.account, region):
        return Outcome([state.ctx.reply(_("You can no longer send announcements there."))])
    broadcast = await announce(
        state.session,
        region,
        state.answers["text"],
        created_by=state.account,
        notify_chat_id=state.ctx.incoming.chat_id,
    )
    name = await region_name(state.session, region)
    if broadcast is None:
        return Outcome([state.ctx.reply(_no_one(name))])
    text = _(
        "📢 Your announcement is on its way to the linked residents of {region} "
        "(recipients: {n}). I will tell you here when every message has gone out."
    ).format(n=format_number(broadcast.total), region=escape(name))
    return Outcome([state.ctx.reply(text)])


def _steps(*, pick_region: bool) -> list[Step]:
    steps = [
        Step(
            "text", "text",
            prompt=lazy_gettext(
                "Write the announcement for the residents. It is sent as you write it "
                "(plain text, at most 3500 characters)."
            ),
            label=lazy_gettext("Announcement"),
            max_length=MAX_TEXT,
            check=_fits,
            on_answer=_count,
        ),
        Step(
            "confirm", "choice",
            prompt=_confirm_prompt,
            label=lazy_gettext("Send"),
            options=[(SEND, lazy_gettext("📢 Send"))],
        ),
    ]  # fmt: skip
    if pick_region:
        steps.insert(
            0,
            Step(
                "region", "choice",
                prompt=lazy_gettext("Which area is the announcement for?"),
                label=lazy_gettext("Area"),
                choices=_region_choices,
                check=_has_recipients,
                on_answer=_count,
            ),
        )  # fmt: skip
    return steps


TITLE = lazy_gettext("Announcement")
# An officer with one area (the usual case) is not asked which area.
BROADCAST_FORM = Form(
    name="broadcast", title=TITLE, review=False, submit=_send, steps=_steps(pick_region=False)
)
BROADCAST_PICK_FORM = Form(
        name="broadcast_pick", title=TITLE, review=False, submit=_send,
        steps=_steps(pick_region=True),
    )  # fmt: skip


async def start(ctx: Ctx) -> Outcome:
    """/umumkan: officers only; the text, then a confirmation with the number of recipients."""
    regions = broadcasts.officer_regions(ctx.account)
    if not regions:
        return Outcome(
            [
                ctx.reply(
                    _(
                        "Sorry, only officers (Dinas Sosial, BPS) can send announcements. "
                        "Send /lapor to report a change in your household."
                    )
                )
            ]
        )
    if len(regions) > 1:
        return await engine.start(ctx, BROADCAST_PICK_FORM)
    if await broadcasts.count_recipients(ctx.session, regions[0]) == 0:
        return Outcome([ctx.reply(_no_one(await region_name(ctx.session, regions[0])))])
    return await engine.start(ctx, BROADCAST_FORM, {"region": regions[0]})


__all__ = [
    "BROADCAST_FORM",
    "BROADCAST_PICK_FORM",
    "MAX_TEXT",
    "announce",
    "close_finished",
    "render",
    "start",
    "summary_text",
    "text_length",
]
