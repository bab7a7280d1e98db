"""Starting a report while another form is open: the person is asked whether to drop
the open one (both named), never left to lose its answers silently.

:func:`ask_first` is called by every way into a report (a /lapor menu button, old or
new, and the RT head's path for a resident without a phone); :class:`DropForm` names
the open draft, so a second tap, or a tap after another form was opened, has expired.
"""

from __future__ import annotations

from flows import engine
from flows.buttons import DropForm, KeepForm
from flows.io import Button, Ctx, Outcome
from locales import _
from registry.forms import Form


async def ask_first(ctx: Ctx, form: Form, household_id: int | None = None) -> Outcome | None:
    """The question to ask before ``form`` starts, or None when no form is open."""
    draft = await engine.current_draft(ctx)
    if draft is None:
        return None
    open_form = engine.form_named(draft.flow)
    names = {
        "open": str(open_form.title) if open_form is not None else draft.flow,
        "new": str(form.title),
    }
    text = _("You have an unfinished form “{open}”. Drop it and start “{new}”?").format(**names)
    buttons = [
        [
            Button(
                _("🗑 Drop it and start “{new}”").format(**names),
                DropForm(draft.id, form.name, household_id).pack(),
            )
        ],
        [Button(_("↩️ Continue “{open}”").format(**names), KeepForm().pack())],
    ]
    return Outcome([ctx.reply(text, buttons=buttons)])


async def drop(ctx: Ctx, press: DropForm) -> bool:
    """Drop the draft the button names; False if another form is open by now."""
    draft = await engine.current_draft(ctx)
    if draft is None:
        return True  # finished, cancelled or expired meanwhile: nothing left to drop
    if draft.id != press.draft:
        return False
    await engine.discard_draft(ctx)
    return True


async def keep(ctx: Ctx, _press: KeepForm) -> Outcome:
    """Go on with the open form (as /lanjut does)."""
    draft = await engine.current_draft(ctx)
    if draft is None:
        return Outcome(notice=_("This button has expired."))
    return await engine.resume(ctx, draft)


__all__ = ["ask_first", "drop", "keep"]
