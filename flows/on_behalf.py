"""An RT head files a report for a household of their RT whose members have no phone.

``/lapor`` shows an RT head one more button; they send the household's KK number
(refused, without saying whether the KK exists elsewhere, unless the household is in
an RT they head), then pick the report. The form runs on that household (the draft's
``on_behalf`` context, read by :func:`registry.kinds.base.own_household`); the report is
filed with ``filed_on_behalf`` set, the RT head as its reporter (they follow it up and
get its updates), and reviewed from the kelurahan/desa on like any RT head's report.
"""

from __future__ import annotations

from html import escape
from typing import Any

from flows import engine, switching
from flows.buttons import OnBehalfAsk, OnBehalfReport
from flows.engine import FormState
from flows.io import Button, Ctx, Outcome
from locales import _, lazy_gettext
from registry.accounts import grant_for
from registry.forms import FieldError, Form, Step
from registry.households import head_of, household_by_kk
from registry.kinds import CATALOG
from registry.kinds.base import ON_BEHALF
from registry.nik import mask
from storage.models import Account, Household

# Reports about a household already in the registry (not the one for a missing household).
FORMS = [kind.form for kind in CATALOG if not kind.unlinked]


def heads_an_rt(account: Account | None) -> bool:
    return account is not None and any(g.role == "rt" for g in account.roles)


def covers(account: Account, household: Household) -> bool:
    """Whether the account heads the RT of this household (a current grant)."""
    return grant_for(account, "rt", household) is not None


def menu_buttons(ctx: Ctx) -> list[list[Button]]:
    """The extra /lapor button for RT heads."""
    if not heads_an_rt(ctx.account):
        return []
    return [[Button(_("📝 For a resident without a phone"), OnBehalfAsk().pack())]]


def subtitle(household: Household) -> str:
    """A line under every question of a form filed for this household (escaped HTML)."""
    head = head_of(household)
    who = f" ({escape(head.name)})" if head is not None else ""
    return f"📝 KK {mask(household.kk) if household.kk else '-'}{who}"


def _not_in_your_rt() -> str:
    return _(
        "That KK number is not a household of your RT in the registry. You can file reports "
        "only for households of the RT you head."
    )


async def _covered(value: Any, state: FormState) -> None:
    household = await household_by_kk(state.session, value)
    if household is None or not covers(state.account, household):
        raise FieldError(_not_in_your_rt())
    if household.id == state.account.household_id:
        raise FieldError(
            _("That is your own household: choose the report on the /lapor menu instead.")
        )


async def _choose_report(state: FormState) -> Outcome:
    """The KK is accepted: which report to file for that household."""
    household = await household_by_kk(state.session, state.answers["kk"])
    assert household is not None  # checked by the question a moment ago
    text = "\n".join(
        [
            subtitle(household),
            _("Address: {address}, RT {rt} / RW {rw}").format(
                address=escape(household.address), rt=household.rt, rw=household.rw
            ),
            "",
            _("What do you want to report for this household?"),
        ]
    )
    buttons = [
        [Button(str(form.title), OnBehalfReport(household.id, form.name).pack())] for form in FORMS
    ]
    return Outcome([state.ctx.reply(text, buttons=buttons)])


KK_FORM = Form(
    name="on_behalf_kk",
    title=lazy_gettext("Report for a resident without a phone"),
    review=False,
    submit=_choose_report,
    steps=[
        Step(
            "kk",
            "kk",
            prompt=lazy_gettext(
                "Send the 16-digit KK number of the resident's household. It must be a "
                "household of your RT."
            ),
            label=lazy_gettext("KK number"),
            max_length=40,
            check=_covered,
        ),
    ],
)


async def on_button(ctx: Ctx, press: OnBehalfAsk | OnBehalfReport) -> Outcome:
    """Ask for the KK; or, once it is accepted, open the form chosen for that household."""
    if not heads_an_rt(ctx.account):
        return Outcome(notice=_("This button has expired."))
    assert ctx.account is not None
    if isinstance(press, OnBehalfAsk):
        return await switching.ask_first(ctx, KK_FORM) or await engine.start(ctx, KK_FORM)
    form = next((f for f in FORMS if f.name == press.form), None)
    if form is None:
        return Outcome(notice=_("This button has expired."))
    household = await ctx.session.get(Household, press.household_id)
    if household is None or not covers(ctx.account, household):
        return Outcome([ctx.reply(_not_in_your_rt())])
    asked = await switching.ask_first(ctx, form, household.id)
    return asked or await engine.start(ctx, form, context_for(household))


def context_for(household: Household) -> dict[str, Any]:
    """The draft context of a form filed for ``household``."""
    return {ON_BEHALF: household.id, "subtitle": subtitle(household)}


__all__ = ["FORMS", "KK_FORM", "context_for", "menu_buttons", "on_button"]
