"""A small form engine: forms are data, drafts live in the database.

A :class:`Form` is a list of :class:`Step` s.  The engine keeps the answers in
the account's :class:`~storage.models.Draft`, prompts for the next step, checks
every answer (re-prompting with a specific message and keeping earlier
answers), offers Back / Skip / Cancel, and ends in a review screen where any
answer can be edited before Submit.  Buttons carry the draft's revision, so a
button from an earlier message or a double tap is answered "expired" instead of
changing the form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any, Literal

from babel.support import LazyProxy
from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from flows.io import Button, Ctx, Outcome, Reply
from flows.parsing import parse_date
from locales import _, current_locale, format_date, use_locale
from storage.models import Draft

Kind = Literal["text", "choice", "date", "upload", "contact"]
Choices = Callable[["FormState"], Awaitable[list[tuple[str, str]]]]
Check = Callable[[Any, "FormState"], Awaitable[None]]

PREFIX = "f"  # callback data: f:<rev>:<op>[:<arg>]
MAX_PROMPT = 500


class FieldError(Exception):
    """An answer was refused; the message is shown to the person."""

    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step


@dataclass
class Step:
    name: str
    kind: Kind
    prompt: Any  # a lazy string or a callable(FormState) -> str
    label: Any  # shown on the review screen
    optional: bool = False
    max_length: int = 100
    choices: Choices | None = None
    parse: Callable[[str], Any] | None = None  # text -> stored value, raising FieldError
    check: Check | None = None
    on_answer: Callable[[Any, FormState], Awaitable[None]] | None = None
    show: Callable[[Any], str] | None = None  # stored value -> text for the review screen

    async def render_prompt(self, state: FormState) -> str:
        if isinstance(self.prompt, str | LazyProxy):
            return str(self.prompt)
        return self.prompt(state)


@dataclass
class Form:
    name: str
    title: Any
    steps: list[Step]
    submit: Callable[[FormState], Awaitable[Outcome]]
    review: bool = True
    # Cross-field checks run before submit: raise FieldError(step=...) to send the person back.
    validate: Callable[[FormState], Awaitable[None]] | None = None

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.name == name)


@dataclass
class FormState:
    ctx: Ctx
    form: Form
    draft: Draft
    notes: list[str] = field(default_factory=list)

    @property
    def answers(self) -> dict[str, Any]:
        return self.draft.answers

    @property
    def session(self):  # type: ignore[no-untyped-def]
        return self.ctx.session

    @property
    def account(self):  # type: ignore[no-untyped-def]
        return self.ctx.account

    def answer_date(self, name: str) -> date | None:
        value = self.answers.get(name)
        return date.fromisoformat(value) if value else None


REVIEW_STEP = "__review__"
EDIT_STEP = "__edit__"

_FORMS: dict[str, Form] = {}


def register(form: Form) -> Form:
    _FORMS[form.name] = form
    return form


def form_named(name: str) -> Form | None:
    return _FORMS.get(name)


async def current_draft(ctx: Ctx, *, fresh: bool = False) -> Draft | None:
    """The account's open draft; ``fresh`` re-reads it over what the session holds."""
    if ctx.account is None:
        return None
    stmt = select(Draft).where(Draft.account_id == ctx.account.id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return (await ctx.session.execute(stmt)).scalar_one_or_none()


async def discard_draft(ctx: Ctx) -> bool:
    if ctx.account is None:
        return False
    result = await ctx.session.execute(delete(Draft).where(Draft.account_id == ctx.account.id))
    return bool(result.rowcount)


async def start(ctx: Ctx, form: Form, context: dict[str, Any] | None = None) -> Outcome:
    """Begin ``form`` for the account, replacing any other draft it had."""
    assert ctx.account is not None
    await discard_draft(ctx)
    draft = Draft(
        account_id=ctx.account.id, flow=form.name, step=form.steps[0].name, answers={},
        context=dict(context or {}), rev=1,
    )  # fmt: skip
    ctx.session.add(draft)
    await ctx.session.flush()
    state = FormState(ctx, form, draft)
    return Outcome([await _prompt(state)])


async def resume(ctx: Ctx, draft: Draft) -> Outcome:
    """Show the current step of a draft again (after /start, a restart, a day of silence)."""
    form = form_named(draft.flow)
    if form is None:
        await discard_draft(ctx)
        return Outcome()
    return Outcome([await _prompt(FormState(ctx, form, draft))])


def _data(state: FormState, op: str, arg: object = None) -> str:
    base = f"{PREFIX}:{state.draft.rev}:{op}"
    return base if arg is None else f"{base}:{arg}"


def _nav_row(state: FormState, step: Step) -> list[Button]:
    row: list[Button] = []
    if state.form.index(step.name) > 0:
        row.append(Button(_("« Back"), _data(state, "b")))
    if step.optional:
        row.append(Button(_("Skip »"), _data(state, "k")))
    row.append(Button(_("✖ Cancel"), _data(state, "x")))
    return row


async def _prompt(state: FormState) -> Reply:
    draft = state.draft
    if draft.step == REVIEW_STEP:
        return await _review_screen(state)
    if draft.step == EDIT_STEP:
        return _edit_menu(state)
    step = state.form.step(draft.step)
    position = state.form.index(step.name) + 1
    head = f"<b>{escape(str(state.form.title))}</b> ({position}/{len(state.form.steps)})"
    lines = [*state.notes, head, await step.render_prompt(state)]
    if step.optional:
        lines.append(_("<i>Optional: press Skip if you have none.</i>"))
    text = "\n".join(lines)
    buttons: list[list[Button]] = []
    if step.kind == "choice":
        assert step.choices is not None
        options = await step.choices(state)
        buttons.extend(
            [Button(label, _data(state, "v", i))] for i, (_v, label) in enumerate(options)
        )
    if step.kind == "contact":
        # A message carries one keyboard: here the reply keyboard with the contact button.
        text += "\n" + _("(Send /batal to stop.)")
        return state.ctx.reply(text, contact_button=_("📱 Share my contact"))
    buttons.append(_nav_row(state, step))
    return state.ctx.reply(text, buttons=buttons)


async def display(state: FormState, step: Step) -> str:
    value = state.answers.get(step.name)
    if value is None:
        return _("(skipped)")
    if step.show is not None:
        return step.show(value)
    if step.kind == "choice" and step.choices is not None:
        labels = dict(await step.choices(state))
        return escape(labels.get(value, str(value)))
    if step.kind == "date":
        return format_date(date.fromisoformat(value))
    if step.kind == "upload":
        return _("photo attached") if value.get("kind") == "photo" else _("document attached")
    return escape(str(value))


async def summary_lines(state: FormState) -> list[str]:
    lines = []
    for step in state.form.steps:
        lines.append(f"• {escape(str(step.label))}: {await display(state, step)}")
    return lines


async def _review_screen(state: FormState) -> Reply:
    lines = [
        *state.notes,
        _("<b>{title}: check your report</b>").format(title=escape(str(state.form.title))),
        *await summary_lines(state),
        "",
        _("Is everything right? Press Submit to send it."),
    ]
    buttons = [
        [Button(_("✅ Submit"), _data(state, "s"))],
        [Button(_("✏️ Edit"), _data(state, "e")), Button(_("✖ Cancel"), _data(state, "x"))],
    ]
    return state.ctx.reply("\n".join(lines), buttons=buttons)


def _edit_menu(state: FormState) -> Reply:
    buttons = [[Button(str(s.label), _data(state, "E", i))] for i, s in enumerate(state.form.steps)]
    buttons.append([Button(_("« Back to review"), _data(state, "r"))])
    return state.ctx.reply(_("Which answer do you want to change?"), buttons=buttons)


async def _move(state: FormState, step: str) -> None:
    state.draft.step = step
    state.draft.rev += 1
    await state.session.flush()


async def _advance(state: FormState) -> Outcome:
    """Go to the review (when editing or at the end) or to the next step."""
    form, draft = state.form, state.draft
    if draft.context.get("editing") or form.index(draft.step) == len(form.steps) - 1:
        draft.context = {**draft.context, "editing": False}
        if not form.review:
            return await _submit(state)
        await _move(state, REVIEW_STEP)
    else:
        await _move(state, form.steps[form.index(draft.step) + 1].name)
    # A step may have just set the language (the link form's first step).
    chosen = state.account.locale if state.account is not None else None
    with use_locale(chosen or current_locale()):
        return Outcome([await _prompt(state)])


async def _accept(state: FormState, step: Step, value: Any) -> Outcome:
    try:
        if step.check is not None:
            await step.check(value, state)
    except FieldError as exc:
        return _refuse(state, exc.message)
    state.draft.answers = {**state.answers, step.name: value}
    if step.on_answer is not None:
        await step.on_answer(value, state)
    return await _advance(state)


def _refuse(state: FormState, message: str) -> Outcome:
    state.notes.append(f"⚠️ {message}")
    return Outcome(notice=message)


async def _with_prompt(state: FormState, outcome: Outcome) -> Outcome:
    outcome.replies.append(await _prompt(state))
    return outcome


async def claim(ctx: Ctx, draft: Draft) -> bool:
    """Take the draft for this update by bumping its revision, unless another update
    (a double tap, a second message) changed it since it was read."""
    result = await ctx.session.execute(
        update(Draft)
        .where(Draft.id == draft.id, Draft.rev == draft.rev)
        .values(rev=Draft.rev + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(draft, "rev", draft.rev + 1)
    return True


async def on_message(ctx: Ctx, draft: Draft) -> Outcome:
    """Typed text, a shared contact or an upload, for the draft's current step."""
    if not await claim(ctx, draft):
        # Another message of this person was handled meanwhile: answer the form as it is now.
        reloaded = await current_draft(ctx, fresh=True)
        if reloaded is None or not await claim(ctx, reloaded):
            return Outcome([ctx.reply(_("Please send that again."))])
        draft = reloaded
    form = form_named(draft.flow)
    if form is None:
        await discard_draft(ctx)
        return Outcome()
    state = FormState(ctx, form, draft)
    if draft.step in (REVIEW_STEP, EDIT_STEP):
        return await _with_prompt(state, _refuse(state, _("Please use the buttons below.")))
    step = form.step(draft.step)
    incoming = ctx.incoming
    if step.kind == "contact":
        if incoming.contact is None:
            return await _with_prompt(
                state, _refuse(state, _("Please press the “Share my contact” button below."))
            )
        return await _accept_or_reprompt(
            state, step, {"phone": incoming.contact.phone, "user_id": incoming.contact.user_id}
        )
    if step.kind == "upload":
        if incoming.upload is None:
            message = (
                _("Please send a photo, or press Skip.")
                if step.optional
                else _("Please send a photo.")
            )
            return await _with_prompt(state, _refuse(state, message))
        up = incoming.upload
        return await _accept_or_reprompt(
            state, step, {"kind": up.kind, "file_id": up.file_id, "unique_id": up.unique_id}
        )
    text = (incoming.text or "").strip()
    if not text:
        return await _with_prompt(state, _refuse(state, _("Please answer with a text message.")))
    if step.kind == "choice":
        assert step.choices is not None
        for value, label in await step.choices(state):
            if text.casefold() == label.casefold():
                return await _accept_or_reprompt(state, step, value)
        return await _with_prompt(state, _refuse(state, _("Please choose one of the buttons.")))
    if len(text) > step.max_length:
        return await _with_prompt(
            state,
            _refuse(
                state, _("That is too long: at most {n} characters.").format(n=step.max_length)
            ),
        )
    if step.kind == "date":
        parsed = parse_date(text)
        if parsed is None:
            return await _with_prompt(
                state,
                _refuse(
                    state,
                    _("I could not read that date. Write it like 21/01/2026 or 21 Januari 2026."),
                ),
            )
        value: Any = parsed.isoformat()
    else:
        try:
            value = step.parse(text) if step.parse is not None else text
        except FieldError as exc:
            return await _with_prompt(state, _refuse(state, exc.message))
    return await _accept_or_reprompt(state, step, value)


async def _accept_or_reprompt(state: FormState, step: Step, value: Any) -> Outcome:
    outcome = await _accept(state, step, value)
    if not outcome.replies:  # refused by the step's check: ask again
        return await _with_prompt(state, outcome)
    return outcome


async def on_callback(ctx: Ctx, draft: Draft | None, data: str) -> Outcome:
    """A press on one of the engine's buttons (``f:<rev>:<op>[:<arg>]``)."""
    parts = data.split(":")
    form = form_named(draft.flow) if draft is not None else None
    if draft is None or form is None or len(parts) < 3 or parts[1] != str(draft.rev):
        return Outcome(notice=_("This button has expired."))
    if not await claim(ctx, draft):  # a double tap: the first press won
        return Outcome(notice=_("This button has expired."))
    state = FormState(ctx, form, draft)
    op, arg = parts[2], (parts[3] if len(parts) > 3 else None)
    if op == "x":
        await discard_draft(ctx)
        return Outcome([ctx.reply(_("Cancelled. Nothing was sent."), remove_keyboard=True)])
    if op == "b":
        index = (
            form.index(draft.step)
            if draft.step not in (REVIEW_STEP, EDIT_STEP)
            else len(form.steps)
        )
        await _move(state, form.steps[max(index - 1, 0)].name)
        return Outcome([await _prompt(state)])
    if op == "e":
        await _move(state, EDIT_STEP)
        return Outcome([await _prompt(state)])
    if op == "r":
        await _move(state, REVIEW_STEP)
        return Outcome([await _prompt(state)])
    if op == "E" and arg is not None and arg.isdigit() and int(arg) < len(form.steps):
        draft.context = {**draft.context, "editing": True}
        await _move(state, form.steps[int(arg)].name)
        return Outcome([await _prompt(state)])
    if op == "s" and draft.step == REVIEW_STEP:
        return await _submit(state)
    if draft.step in (REVIEW_STEP, EDIT_STEP):
        return Outcome(notice=_("This button has expired."))
    step = form.step(draft.step)
    if op == "k" and step.optional:
        state.draft.answers = {**state.answers, step.name: None}
        return await _advance(state)
    if op == "v" and step.kind == "choice" and arg is not None and arg.isdigit():
        assert step.choices is not None
        options = await step.choices(state)
        if int(arg) < len(options):
            return await _accept_or_reprompt(state, step, options[int(arg)][0])
    return Outcome(notice=_("This button has expired."))


async def _submit(state: FormState) -> Outcome:
    try:
        if state.form.validate is not None:
            await state.form.validate(state)
        outcome = await state.form.submit(state)
    except FieldError as exc:
        if exc.step is not None:
            state.draft.context = {**state.draft.context, "editing": False}
            await _move(state, exc.step)
        return await _with_prompt(state, _refuse(state, exc.message))
    await discard_draft(state.ctx)
    return outcome


def choice_list(pairs: Sequence[tuple[str, Any]]) -> Choices:
    """Choices from fixed (value, lazy label) pairs, rendered in the current locale."""

    async def _choices(_state: FormState) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in pairs]

    return _choices


__all__ = [
    "EDIT_STEP",
    "REVIEW_STEP",
    "FieldError",
    "Form",
    "FormState",
    "Step",
    "choice_list",
    "current_draft",
    "discard_draft",
    "form_named",
    "on_callback",
    "on_message",
    "register",
    "resume",
    "start",
]
