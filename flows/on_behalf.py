"""An RT head files a report for a household of their RT whose members have no phone.

``/lapor`` shows an RT head one more button; they type the name of the family's head
(the families of their own RT whose head is so named come as buttons, a page at a
time) or the household's KK number (refused, without saying whether the KK exists
elsewhere, unless the household is in an RT they head), then pick the report. The form runs on that household (the draft's
``on_behalf`` context, read by :func:`registry.kinds.base.own_household`); the report is
filed with ``filed_on_behalf`` set, the RT head as its reporter (they follow it up and
get its updates), and reviewed from the kelurahan/desa on like any RT head's report.
"""

from __future__ import annotations

from html import escape
from typing import Any

from flows import engine, fields, switching
from flows.buttons import TOKEN, OnBehalfAsk, OnBehalfFamilies, OnBehalfFamily, OnBehalfReport
from flows.engine import FormState
from flows.io import Button, Ctx, Outcome
from locales import _, format_number, lazy_gettext
from registry.accounts import grant_for
from registry.forms import FieldError, Form, Step
from registry.households import head_of, household_by_kk
from registry.kinds import CATALOG
from registry.kinds.base import ON_BEHALF
from registry.neighbours import families_in_rt, search_words
from registry.nik import mask
from storage.models import Account, Household

PAGE = 6  # families per page of a search

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


def _is_kk(value: str) -> bool:
    return value.isdigit()


def _kk_or_name(text: str) -> str:
    """Digits are a KK number (checked as one); anything else is a head's name."""
    if not any(ch.isalpha() for ch in text):
        return fields.kk(text)
    if not search_words(text):
        raise FieldError(_("A name needs letters. Please write the name."))
    return " ".join(text.split())


async def _covered(value: Any, state: FormState) -> None:
    if not _is_kk(value):
        _found, total = await families_in_rt(state.session, state.account, search_words(value))
        if not total:
            raise FieldError(
                _(
                    "No family of your RT has a head called “{name}”. Try another spelling, "
                    "or send the KK number."
                ).format(name=escape(value))
            )
        return
    household = await household_by_kk(state.session, value)
    if household is None or not covers(state.account, household):
        raise FieldError(_not_in_your_rt())
    if household.id == state.account.household_id:
        raise FieldError(
            _("That is your own household: choose the report on the /lapor menu instead.")
        )


async def _submit(state: FormState) -> Outcome:
    """The KK is accepted: which report to file for it; a name: the families so named."""
    value = state.answers["kk"]
    if not _is_kk(value):
        return await _families(state.ctx, search_words(value), 0)
    household = await household_by_kk(state.session, value)
    assert household is not None  # checked by the question a moment ago
    return _choose_report(state.ctx, household)


async def _families(ctx: Ctx, words: list[str], page: int) -> Outcome:
    """One page of the families of the RT head's RTs whose head's name holds ``words``;
    just the report menu when there is only one."""
    assert ctx.account is not None
    found, total = await families_in_rt(
        ctx.session, ctx.account, words, offset=page * PAGE, limit=PAGE
    )
    if total == 1 and page == 0:
        return _choose_report(ctx, found[0][0])
    if not found:
        return Outcome(notice=_("This button has expired."))
    pages = (total + PAGE - 1) // PAGE
    buttons = [
        [Button(_family_label(household, head), OnBehalfFamily(household.id).pack())]
        for household, head in found
    ]
    token = "_".join(words)
    if len(token) <= 40 and TOKEN.fullmatch(token):  # else: type more of the name
        nav = []
        if page > 0:
            nav.append(Button(_("« Previous"), OnBehalfFamilies(page - 1, token).pack()))
        if page + 1 < pages:
            nav.append(Button(_("Next »"), OnBehalfFamilies(page + 1, token).pack()))
        if nav:
            buttons.append(nav)
    # Not among them: search again (a typed name after this list is no answer any more).
    buttons.append([Button(_("🔎 Another name"), OnBehalfAsk().pack())])
    text = _("Which family? {n} found (page {page} of {pages}).").format(
        n=format_number(total), page=format_number(page + 1), pages=format_number(pages)
    )
    return Outcome([ctx.reply(text, buttons=buttons)])


def _family_label(household: Household, head: Any) -> str:
    address = household.address if len(household.address) <= 28 else household.address[:27] + "…"
    return f"{head.name} · RT {household.rt}/RW {household.rw} · {address}"


def _choose_report(ctx: Ctx, household: Household) -> Outcome:
    """Which report to file for that household."""
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
    return Outcome([ctx.reply(text, buttons=buttons)])


KK_FORM = Form(
    name="on_behalf_kk",
    title=lazy_gettext("Report for a resident without a phone"),
    review=False,
    submit=_submit,
    steps=[
        Step(
            "kk",
            "text",
            prompt=lazy_gettext(
                "Which family? Type the name of the head of the family, or the 16-digit KK "
                "number. It must be a family of your RT."
            ),
            label=lazy_gettext("Family"),
            max_length=100,
            parse=_kk_or_name,
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


async def on_family(ctx: Ctx, press: OnBehalfFamily) -> Outcome:
    """A family picked from the search: which report to file for it."""
    if not heads_an_rt(ctx.account):
        return Outcome(notice=_("This button has expired."))
    assert ctx.account is not None
    household = await ctx.session.get(Household, press.household_id)
    if household is None or not covers(ctx.account, household):
        return Outcome([ctx.reply(_not_in_your_rt())])
    if household.id == ctx.account.household_id:
        return Outcome(
            [
                ctx.reply(
                    _("That is your own household: choose the report on the /lapor menu instead.")
                )
            ]
        )
    return _choose_report(ctx, household)


async def on_families(ctx: Ctx, press: OnBehalfFamilies) -> Outcome:
    """Another page of a search by the head's name."""
    if not heads_an_rt(ctx.account):
        return Outcome(notice=_("This button has expired."))
    return await _families(ctx, search_words(press.words), press.page)


def context_for(household: Household) -> dict[str, Any]:
    """The draft context of a form filed for ``household``."""
    return {ON_BEHALF: household.id, "subtitle": subtitle(household)}


__all__ = [
    "FORMS", "KK_FORM", "context_for", "menu_buttons", "on_button", "on_families", "on_family",
]  # fmt: skip
