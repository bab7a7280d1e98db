"""The consent screen (UU 27/2022 Pelindungan Data Pribadi).

Nothing of a person is stored before they agree: whoever has no account, or an account
without ``consented_at`` (a reviewer granted a role from the command line), gets this
screen instead of what they asked for (:func:`flows.app.run` routes every update here).

Buttons: :class:`~flows.buttons.ConsentPress`. The invite code is the argument of
``/start <code>`` (a reviewer's invitation link), kept until the person agrees.
"""

from __future__ import annotations

import re
from html import escape

from flows import invites, onboarding
from flows.buttons import INVITE_CODE, ConsentAction, ConsentPress, prefix_of
from flows.io import Button, Ctx, Incoming, Outcome
from locales import _, normalize_locale, use_locale
from registry import audit
from registry.accounts import record_consent
from storage.models import Account

_START = re.compile(r"/start(?:@\w+)?\s+(\S+)\s*")
# The button that shows the text in the other language, labelled in that language.
OTHER_LANGUAGE = {"id": "en", "en": "id"}


def agreed(account: Account | None) -> bool:
    return account is not None and account.consented_at is not None


def start_code(incoming: Incoming) -> str | None:
    """The invitation code of ``/start <code>``, if the message is one."""
    match = _START.fullmatch(incoming.text or "")
    if match is None or not INVITE_CODE.fullmatch(match.group(1)):
        return None
    return match.group(1)


def pressed(incoming: Incoming) -> bool:
    """Whether the update is a press on a consent screen's button."""
    return prefix_of(incoming.callback) == ConsentPress.PREFIX


def consent_text(controller: str) -> str:
    """The consent text, in the current locale (HTML), naming the data controller
    (``DATA_CONTROLLER``). Under 500 characters as Telegram counts them, "✅ You agreed."
    included (tests/test_plain_words.py)."""
    return "\n\n".join(
        [
            _("🔒 <b>Your data in Lapor Warga</b>"),
            _(
                "Data controller: {controller}. The aim: true DTSEN data, so that aid reaches "
                "the right families."
            ).format(controller=escape(controller)),
            _(
                "<b>Stored:</b> your Telegram account, phone number, NIK and KK, reports and "
                "photos."
            ),
            _(
                "<b>Seen by:</b> your RT head, the lurah/kepala desa, Dinas Sosial/BPS officers "
                "of your area."
            ),
            _(
                "<b>Delete:</b> /hapusakun (reports stay, without your identity). A copy of "
                "your data: /datasaya."
            ),
            _("Nothing is stored until you agree."),
        ]
    )


def _buttons(locale: str, code: str | None) -> list[list[Button]]:
    other = OTHER_LANGUAGE[locale]
    label = dict(onboarding.LANGUAGES)[other]
    return [
        [Button(_("✅ I agree"), ConsentPress(locale, ConsentAction.AGREE, code).pack())],
        [Button(_("✖️ I do not agree"), ConsentPress(locale, ConsentAction.DECLINE, code).pack())],
        [Button(label, ConsentPress(other, ConsentAction.LANGUAGE, code).pack())],
    ]


def _screen_locale(ctx: Ctx) -> str:
    """The person's Telegram language (or the language an existing account chose)."""
    chosen = ctx.account.locale if ctx.account is not None else None
    with use_locale(chosen or normalize_locale(ctx.incoming.language_code)) as locale:
        return locale


async def ask(ctx: Ctx) -> Outcome:
    """The consent screen, instead of whatever the person asked for."""
    locale = _screen_locale(ctx)
    code = start_code(ctx.incoming)
    with use_locale(locale):
        reply = ctx.reply(consent_text(ctx.site.data_controller), buttons=_buttons(locale, code))
        notice = _("Please read the text below first.") if ctx.incoming.callback else None
    return Outcome([reply], notice=notice)


async def on_button(ctx: Ctx, press: ConsentPress) -> Outcome:
    """Agree, decline, or change the language."""
    if agreed(ctx.account):
        return Outcome(notice=_("This button has expired."))
    locale, code = press.locale, press.code
    edit = ctx.incoming.message_id
    with use_locale(locale):
        if press.action is ConsentAction.LANGUAGE:
            return Outcome(
                [
                    ctx.reply(
                        consent_text(ctx.site.data_controller),
                        buttons=_buttons(locale, code),
                        edit_message_id=edit,
                    )
                ]
            )
        if press.action is ConsentAction.DECLINE:
            text = _(
                "You did not agree, so nothing about you was stored. Lapor Warga cannot be "
                "used without it. Send /start to read the text again."
            )
            return Outcome([ctx.reply(text, edit_message_id=edit)], notice=_("Nothing was stored."))
        return await _agree(ctx, locale, code)


async def _agree(ctx: Ctx, locale: str, code: str | None) -> Outcome:
    incoming = ctx.incoming
    account = await record_consent(
        ctx.session, incoming.user_id, locale=locale, first_name=incoming.first_name
    )
    if account is None:  # a double tap: the other tap agreed
        return Outcome(notice=_("This button has expired."))
    audit.record(ctx.session, "consent", actor=account, locale=locale)
    ctx.account = account
    agreed_text = consent_text(ctx.site.data_controller) + "\n\n" + _("✅ You agreed.")
    outcome = Outcome(
        [ctx.reply(agreed_text, edit_message_id=incoming.message_id)], notice=_("Thank you!")
    )
    if code is not None:  # a reviewer's invitation link
        return outcome.extend(await invites.redeem(ctx, code))
    return outcome.extend(await onboarding.start(ctx))


__all__ = ["agreed", "ask", "consent_text", "on_button", "pressed", "start_code"]
