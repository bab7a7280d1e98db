"""What the form engine shows: a question with its buttons, the review screen, the
edit menu, and answers as text (also on the reviewers' cards).

The state machine that moves through a form is :mod:`flows.engine`.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any

from flows.buttons import FormOp, FormPress
from flows.io import Button, Reply
from locales import _, format_date, format_number
from registry.forms import EVIDENCE_STEP, LABELS, VOICE_ANSWER, Answers, Form, Group, Step
from registry.nik import mask, mask_identity_numbers

if TYPE_CHECKING:
    from flows.engine import FormState

REVIEW_STEP = "__review__"
EDIT_STEP = "__edit__"
_TYPED_SHOW = {"nik": mask, "kk": mask}


# ---- rendering ------------------------------------------------------------------------------


def button_data(state: FormState, op: FormOp, index: int | None = None) -> str:
    return FormPress(state.draft.id, state.draft.rev, op, index).pack()


def previous_step(state: FormState, name: str) -> Step | None:
    """The visible step before ``name`` (or before the review when ``name`` is not a step)."""
    form = state.form
    index = form.index(name) if name not in (REVIEW_STEP, EDIT_STEP) else len(form.flat)
    for step in reversed(form.flat[:index]):
        if form.entry_visible(step, state.answers):
            return step
    return None


def _nav_row(state: FormState, step: Step) -> list[Button]:
    row: list[Button] = []
    if previous_step(state, step.name) is not None:
        row.append(Button(_("« Back"), button_data(state, FormOp.BACK)))
    if step.optional:
        row.append(Button(_("Skip »"), button_data(state, FormOp.SKIP)))
    row.append(Button(_("✖ Cancel"), button_data(state, FormOp.CANCEL)))
    return row


def _header(state: FormState, step: Step) -> str:
    # Counted over every question of the form, asked or not: an answer that skips later
    # questions (or adds some) moves the position on, never the total.
    form, answers = state.form, state.answers
    owner = form.groups.get(step.group) if step.group else step
    position = next((i for i, e in enumerate(form.steps) if e is owner), 0) + 1
    head = f"<b>{escape(str(form.title))}</b> ({position}/{len(form.steps)})"
    if step.group is not None:
        group = form.groups[step.group]
        number = len(answers.get(group.name) or []) + 1  # the item being entered
        head += f" · {escape(str(group.item_label))} {number}"
    return head + subtitle(state)


def subtitle(state: FormState) -> str:
    """A line set by whoever opened the form (escaped HTML), such as whose household the
    form is about when an RT head files it for a resident."""
    subtitle = state.draft.context.get("subtitle")
    return f"\n{subtitle}" if subtitle else ""


async def prompt(state: FormState) -> Reply:
    draft = state.draft
    if draft.step == REVIEW_STEP:
        return await _review_screen(state)
    if draft.step == EDIT_STEP:
        return _edit_menu(state)
    step = state.form.step(draft.step)
    lines = [*state.notes, _header(state, step), await step.render_prompt(state), *hints(step)]
    buttons: list[list[Button]] = []
    if step.kind in ("choice", "multi"):
        options = await step.options_for(state)
        if step.choices is not None:
            # The registry may change before the press: remember what this message shows.
            state.set_context(shown=[value for value, _label in options])
    if step.kind == "choice":
        buttons.extend(
            [Button(label, button_data(state, FormOp.CHOOSE, i))]
            for i, (_v, label) in enumerate(options)
        )
    elif step.kind == "multi":
        chosen = set(state.answers.get(step.name) or [])
        for i, (value, label) in enumerate(options):
            mark = "✅" if value in chosen else "▫️"
            buttons.append([Button(f"{mark} {label}", button_data(state, FormOp.TOGGLE, i))])
        buttons.append([Button(_("✔ Done"), button_data(state, FormOp.DONE))])
    elif step.kind == "date" and step.recent:
        buttons.append(
            [
                Button(label, button_data(state, FormOp.CHOOSE, days_back))
                for days_back, label in enumerate(recent_days())
            ]
        )
    elif step.kind == "region":
        matches = draft.context.get("matches") or []
        buttons.extend(
            [Button(_clip(label), button_data(state, FormOp.CHOOSE, i))]
            for i, (_code, label) in enumerate(matches)
        )
        query = draft.context.get("query")
        if step.free_text and query:
            buttons.append(
                [
                    Button(
                        _("✍️ Use “{text}” as written").format(text=_clip(query, 30)),
                        button_data(state, FormOp.AS_WRITTEN),
                    )
                ]
            )
    buttons.append(_nav_row(state, step))
    text = "\n".join(lines)
    if step.kind == "contact":
        # A message carries one keyboard: here the reply keyboard with the contact button.
        text += "\n" + _("(Send /batal to stop.)")
        return state.ctx.reply(text, contact_button=_("📱 Share my contact"))
    if step.kind == "location":
        return state.ctx.reply(text, buttons=buttons, location_button=_("📍 Send my location"))
    return state.ctx.reply(text, buttons=buttons)


def recent_days() -> list[str]:
    """The buttons of a recent date: the label of the day ``index`` days back."""
    return [_("Today"), _("Yesterday")]


def hints(step: Step) -> list[str]:
    """How to answer, below the question."""
    out = []
    if step.kind == "date" and step.recent:
        out.append(
            _(
                "<i>Press a button, or write the date: 21/01/2026, 21 January 2026, “3 days ago”.</i>"
            )
        )
    elif step.kind == "date":
        out.append(_("<i>For example 21/01/2026 or 21 Januari 2026.</i>"))
    if step.kind == "multi":
        out.append(_("<i>Tap to select, then press Done.</i>"))
    if step.voice:
        out.append(_("<i>You may also send a voice message 🎤.</i>"))
    if step.optional:
        out.append(_("<i>Optional: press Skip if you have none.</i>"))
    return out


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display(step: Step, value: Any, answers: Answers, *, full_ids: bool = False) -> str:
    """An answer as escaped HTML for the review screen and the reviewers' card; NIK and
    KK numbers are masked unless ``full_ids`` (an officer's card)."""
    if value is None:
        return _("(skipped)")
    if step.voice and value == VOICE_ANSWER:
        return _("🎤 a voice message")
    if step.show is not None:
        return step.show(value)
    remembered = (answers.get(LABELS) or {}).get(step.name) or {}
    fixed = {v: str(label) for v, label in step.options}
    if step.kind == "choice":
        return escape(remembered.get(value) or fixed.get(value) or str(value))
    if step.kind == "multi":
        if not value:
            return _("(none)")
        return ", ".join(escape(remembered.get(v) or fixed.get(v) or str(v)) for v in value)
    if step.kind == "date":
        return format_date(date.fromisoformat(value))
    if step.kind == "number":
        return format_number(value)
    if step.kind == "upload":
        photos = sum(1 for item in value if item.get("kind") == "photo")
        documents = len(value) - photos
        parts = []
        if photos:
            parts.append(_("{n} photo(s)").format(n=format_number(photos)))
        if documents:
            parts.append(_("{n} document(s)").format(n=format_number(documents)))
        return "📎 " + ", ".join(parts)
    if step.kind == "location":
        return f"📍 {value['latitude']:.5f}, {value['longitude']:.5f}"
    if step.kind == "region":
        return escape(value.get("name") or value.get("text") or "")
    if step.kind in _TYPED_SHOW:
        shown = escape(str(value)) if full_ids else _TYPED_SHOW[step.kind](value)
        if remembered.get(value):  # whose KK it is: a masked KK names no family
            shown += f" ({escape(remembered[value])})"
        return shown
    return escape(str(value))


def summary_lines(
    form: Form, answers: Answers, omit: frozenset[str] = frozenset(), *, full_ids: bool = False
) -> list[str]:
    """``• Label: answer`` for every visible step and group (group items indented);
    steps of the kinds in ``omit`` (e.g. phone and location) are left out. NIK and KK
    answers are masked unless ``full_ids``; a NIK or KK typed into any other answer (a
    reason, a name, an address) is always masked, also on an officer's card: only the
    NIK and KK questions are shown in full, by design."""
    lines = []
    for entry in form.visible_entries(answers):
        if isinstance(entry, Step) and entry.kind in omit:
            continue
        if isinstance(entry, Group):
            items = answers.get(entry.name) or []
            lines.append(f"• {escape(str(entry.label))}: {format_number(len(items))}")
            for i, item in enumerate(items, 1):
                numbers = [
                    f"{escape(str(sub.label))} {display(sub, item[sub.name], answers, full_ids=full_ids)}"
                    for sub in entry.steps
                    if sub.kind in _TYPED_SHOW and item.get(sub.name)
                ]  # an item's NIK (masked unless full_ids)
                described = mask_identity_numbers(entry.describe(item))
                lines.append(f"   {i}. " + " · ".join([described, *numbers]))
        else:
            shown = display(entry, answers.get(entry.name), answers, full_ids=full_ids)
            if entry.kind not in _TYPED_SHOW:
                shown = mask_identity_numbers(shown)
            lines.append(f"• {escape(str(entry.label))}: {shown}")
    return lines


async def _review_screen(state: FormState) -> Reply:
    form = state.form
    lines = [
        *state.notes,
        _("<b>{title}: check your report</b>").format(title=escape(str(form.title)))
        + subtitle(state),
        *summary_lines(form, state.answers),
    ]
    if (
        form.evidence is not None
        and form.evidence.missing == "warn"
        and not state.answers.get(EVIDENCE_STEP)
    ):
        lines += ["", _("⚠️ Without a document the review may take longer or be refused.")]
    lines += ["", _("Is everything right? Press Submit to send it.")]
    buttons = [
        [Button(_("✅ Submit"), button_data(state, FormOp.SUBMIT))],
        [
            Button(_("✏️ Edit"), button_data(state, FormOp.EDIT_MENU)),
            Button(_("✖ Cancel"), button_data(state, FormOp.CANCEL)),
        ],
    ]
    return state.ctx.reply("\n".join(lines), buttons=buttons)


def _edit_menu(state: FormState) -> Reply:
    entries = state.form.steps
    buttons = [
        [Button(str(e.label), button_data(state, FormOp.EDIT_ANSWER, i))]
        for i, e in enumerate(entries)
        if e.visible(state.answers)
    ]
    buttons.append([Button(_("« Back to review"), button_data(state, FormOp.TO_REVIEW))])
    return state.ctx.reply(_("Which answer do you want to change?"), buttons=buttons)
