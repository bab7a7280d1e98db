"""A small form engine: forms are data, drafts live in the database.

A :class:`Form` is a list of :class:`Step` s and :class:`Group` s (a group is asked
again for every item, such as each member of a new household).  The engine keeps
the answers in the account's :class:`~storage.models.Draft`, prompts for the next
visible step (steps may depend on earlier answers through ``when``), checks every
answer (re-prompting with a specific message and keeping earlier answers), offers
Back / Skip / Cancel, and ends in a review screen where any answer can be edited
before Submit.  Buttons carry the draft's revision, so a button from an earlier
message or a double tap is answered "expired" instead of changing the form.

Nothing here knows about Telegram: :class:`~flows.io.Incoming` comes in,
:class:`~flows.io.Outcome` goes out.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any, Literal

from babel.support import LazyProxy
from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from flows import fields
from flows.errors import FieldError
from flows.io import Button, Ctx, Outcome, Reply
from flows.limits import oversized_upload
from flows.parsing import parse_date
from locales import _, current_locale, format_date, format_number, lazy_gettext, use_locale
from registry.nik import mask
from registry.regions import search_regions
from storage.models import Draft

Kind = Literal[
    "text", "number", "date", "choice", "multi", "region", "nik", "kk", "phone",
    "upload", "location", "contact",
]  # fmt: skip
Choices = Callable[["FormState"], Awaitable[list[tuple[str, str]]]]
Check = Callable[[Any, "FormState"], Awaitable[None]]
Answers = dict[str, Any]

PREFIX = "f"  # callback data: f:<rev>:<op>[:<arg>]
MAX_PROMPT = 500
LABELS = "_labels"  # answers[LABELS][step][value]: labels of choices computed from the registry

YES, NO = "yes", "no"
YES_NO = [(YES, lazy_gettext("Yes")), (NO, lazy_gettext("No"))]

_TYPED = {
    "nik": fields.nik,
    "kk": fields.kk,
    "phone": fields.phone,
}
_TYPED_SHOW = {"nik": mask, "kk": mask}


@dataclass
class Step:
    name: str
    kind: Kind
    prompt: Any  # a lazy string or a callable(FormState) -> str
    label: Any  # shown on the review screen
    optional: bool = False
    max_length: int = 100
    options: Sequence[tuple[str, Any]] = ()  # fixed choices: (value, lazy label)
    choices: Choices | None = None  # choices computed from the registry (labels remembered)
    parse: Callable[[str], Any] | None = None  # text -> stored value, raising FieldError
    check: Check | None = None
    on_answer: Callable[[Any, FormState], Awaitable[None]] | None = None
    show: Callable[[Any], str] | None = None  # stored value -> text for the review screen
    when: Callable[[Answers], bool] | None = None  # asked only when this holds
    minimum: int | None = None  # number
    maximum: int | None = None  # number
    min_choices: int = 1  # multi
    region_level: int = 4  # region: desa/kelurahan
    free_text: bool = False  # region: an answer outside the region list is allowed
    group: str | None = None  # set by the engine for the steps of a Group

    async def render_prompt(self, state: FormState) -> str:
        if isinstance(self.prompt, str | LazyProxy):
            return str(self.prompt)
        return self.prompt(state)

    def visible(self, answers: Answers) -> bool:
        return self.when is None or self.when(answers)

    async def options_for(self, state: FormState) -> list[tuple[str, str]]:
        if self.choices is not None:
            return await self.choices(state)
        return [(value, str(label)) for value, label in self.options]


@dataclass
class Group:
    """Steps asked once per item ("every member"), then "add another?"."""

    name: str
    label: Any
    steps: list[Step]
    more_prompt: Any  # "Add another member?"
    describe: Callable[[Answers], str]  # one item on the review screen (escaped HTML)
    item_label: Any  # "Member" -> "Member 2" in the step header
    when: Callable[[Answers], bool] | None = None

    def visible(self, answers: Answers) -> bool:
        return self.when is None or self.when(answers)

    @property
    def more_step(self) -> str:
        return f"{self.name}__more"


@dataclass(frozen=True)
class Evidence:
    """What a report type asks for as proof: ``missing`` says what happens without it.

    ``none``: fine; ``warn``: allowed, with a warning on the review screen; ``block``:
    the report cannot be sent without it.  A form without ``evidence`` takes no files."""

    prompt: Any
    label: Any
    missing: Literal["none", "warn", "block"] = "none"


EVIDENCE_STEP = "evidence"


@dataclass
class Form:
    name: str
    title: Any
    steps: list[Step | Group]
    submit: Callable[[FormState], Awaitable[Outcome]]
    review: bool = True
    # Cross-field checks run before submit: raise FieldError(step=...) to send the person back.
    validate: Callable[[FormState], Awaitable[None]] | None = None
    evidence: Evidence | None = None
    # Whether a filed report hides who filed it and their household (from reviewers too).
    anonymous: Callable[[Answers], bool] | None = None
    flat: list[Step] = field(init=False)
    groups: dict[str, Group] = field(init=False)

    def __post_init__(self) -> None:
        if self.evidence is not None:
            self.steps.append(
                Step(
                    EVIDENCE_STEP, "upload",
                    prompt=self.evidence.prompt, label=self.evidence.label,
                    optional=self.evidence.missing != "block",
                )
            )  # fmt: skip
        self.flat, self.groups = [], {}
        for entry in self.steps:
            if isinstance(entry, Group):
                self.groups[entry.name] = entry
                for sub in entry.steps:
                    sub.group = entry.name
                    self.flat.append(sub)
                self.flat.append(
                    Step(
                        entry.more_step, "choice", prompt=entry.more_prompt, label=entry.label,
                        options=YES_NO, group=entry.name,
                    )
                )  # fmt: skip
            else:
                self.flat.append(entry)
        names = [s.name for s in self.flat] + list(self.groups)
        assert len(names) == len(set(names)), f"form {self.name}: duplicate step names"
        assert all(len(n) <= 32 for n in names), f"form {self.name}: step name over 32"

    def step(self, name: str) -> Step:
        return next(s for s in self.flat if s.name == name)

    def index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.flat) if s.name == name)

    def entry_visible(self, step: Step, answers: Answers) -> bool:
        if step.group is not None and not self.groups[step.group].visible(answers):
            return False
        return step.visible(answers)

    def visible_entries(self, answers: Answers) -> list[Step | Group]:
        return [e for e in self.steps if e.visible(answers)]

    def payload(self, answers: Answers) -> Answers:
        """The answers of the visible steps and groups, with the labels they need."""
        out: Answers = {}
        for entry in self.visible_entries(answers):
            if entry.name in answers:
                out[entry.name] = answers[entry.name]
        if answers.get(LABELS):
            out[LABELS] = answers[LABELS]
        return out


@dataclass
class FormState:
    ctx: Ctx
    form: Form
    draft: Draft
    notes: list[str] = field(default_factory=list)

    @property
    def answers(self) -> Answers:
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

    def set_answers(self, **values: Any) -> None:
        self.draft.answers = {**self.answers, **values}

    def set_context(self, **values: Any) -> None:
        self.draft.context = {**self.draft.context, **values}


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
    first = next(s for s in form.flat if form.entry_visible(s, {}))
    draft = Draft(
        account_id=ctx.account.id, flow=form.name, step=first.name, answers={},
        context=dict(context or {}), rev=1,
    )  # fmt: skip
    ctx.session.add(draft)
    await ctx.session.flush()
    state = FormState(ctx, form, draft)
    return Outcome([await _prompt(state)])


async def start_at_review(
    ctx: Ctx, form: Form, answers: Answers, context: dict[str, Any]
) -> Outcome:
    """Open ``form`` filled in with ``answers`` (a filed report's), at its review screen."""
    assert ctx.account is not None
    await discard_draft(ctx)
    draft = Draft(
        account_id=ctx.account.id, flow=form.name, step=REVIEW_STEP,
        answers=copy.deepcopy(answers), context=dict(context), rev=1,
    )  # fmt: skip
    ctx.session.add(draft)
    await ctx.session.flush()
    return Outcome([await _prompt(FormState(ctx, form, draft))])


async def resume(ctx: Ctx, draft: Draft) -> Outcome:
    """Show the current step of a draft again (after /start, a restart, a day of silence)."""
    form = form_named(draft.flow)
    if form is None:
        await discard_draft(ctx)
        return Outcome()
    state = FormState(ctx, form, draft)
    await _repair(state)
    return Outcome([await _prompt(state)])


def _unanswered(form: Form, step: Step, answers: Answers) -> bool:
    if not form.entry_visible(step, answers):
        return False
    if step.group is None:
        return step.name not in answers
    return step.name == form.groups[step.group].steps[0].name and not answers.get(step.group)


async def _repair(state: FormState) -> None:
    """A draft saved at a question a newer version of the form no longer has goes on at
    the first unanswered question (or the review); its answers are kept."""
    form, draft = state.form, state.draft
    if draft.step in (REVIEW_STEP, EDIT_STEP) or any(s.name == draft.step for s in form.flat):
        return
    target = next((s for s in form.flat if _unanswered(form, s, state.answers)), None)
    draft.step = target.name if target is not None else REVIEW_STEP
    await state.session.flush()


# ---- rendering ------------------------------------------------------------------------------


def _data(state: FormState, op: str, arg: object = None) -> str:
    base = f"{PREFIX}:{state.draft.rev}:{op}"
    return base if arg is None else f"{base}:{arg}"


def _previous(state: FormState, name: str) -> Step | None:
    """The visible step before ``name`` (or before the review when ``name`` is not a step)."""
    form = state.form
    index = form.index(name) if name not in (REVIEW_STEP, EDIT_STEP) else len(form.flat)
    for step in reversed(form.flat[:index]):
        if form.entry_visible(step, state.answers):
            return step
    return None


def _nav_row(state: FormState, step: Step) -> list[Button]:
    row: list[Button] = []
    if _previous(state, step.name) is not None:
        row.append(Button(_("« Back"), _data(state, "b")))
    if step.optional:
        row.append(Button(_("Skip »"), _data(state, "k")))
    row.append(Button(_("✖ Cancel"), _data(state, "x")))
    return row


def _header(state: FormState, step: Step) -> str:
    form, answers = state.form, state.answers
    entries = form.visible_entries(answers)
    owner = form.groups.get(step.group) if step.group else step
    position = next((i for i, e in enumerate(entries) if e is owner), 0) + 1
    head = f"<b>{escape(str(form.title))}</b> ({position}/{len(entries)})"
    if step.group is not None:
        group = form.groups[step.group]
        number = len(answers.get(group.name) or []) + 1  # the item being entered
        head += f" · {escape(str(group.item_label))} {number}"
    return head + _subtitle(state)


def _subtitle(state: FormState) -> str:
    """A line set by whoever opened the form (escaped HTML), such as whose household the
    form is about when an RT head files it for a resident."""
    subtitle = state.draft.context.get("subtitle")
    return f"\n{subtitle}" if subtitle else ""


async def _prompt(state: FormState) -> Reply:
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
            [Button(label, _data(state, "v", i))] for i, (_v, label) in enumerate(options)
        )
    elif step.kind == "multi":
        chosen = set(state.answers.get(step.name) or [])
        for i, (value, label) in enumerate(options):
            mark = "✅" if value in chosen else "▫️"
            buttons.append([Button(f"{mark} {label}", _data(state, "t", i))])
        buttons.append([Button(_("✔ Done"), _data(state, "d"))])
    elif step.kind == "region":
        matches = draft.context.get("matches") or []
        buttons.extend(
            [Button(_clip(label), _data(state, "v", i))] for i, (_code, label) in enumerate(matches)
        )
        query = draft.context.get("query")
        if step.free_text and query:
            buttons.append(
                [
                    Button(
                        _("✍️ Use “{text}” as written").format(text=_clip(query, 30)),
                        _data(state, "w"),
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


def hints(step: Step) -> list[str]:
    """How to answer, below the question."""
    out = []
    if step.kind == "date":
        out.append(_("<i>For example 21/01/2026 or 21 Januari 2026.</i>"))
    if step.kind == "multi":
        out.append(_("<i>Tap to select, then press Done.</i>"))
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
        return escape(str(value)) if full_ids else _TYPED_SHOW[step.kind](value)
    return escape(str(value))


def summary_lines(
    form: Form, answers: Answers, omit: frozenset[str] = frozenset(), *, full_ids: bool = False
) -> list[str]:
    """``• Label: answer`` for every visible step and group (group items indented);
    steps of the kinds in ``omit`` (e.g. phone and location) are left out. NIK and KK
    numbers are masked unless ``full_ids``."""
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
                lines.append(f"   {i}. " + " · ".join([entry.describe(item), *numbers]))
        else:
            lines.append(
                f"• {escape(str(entry.label))}: "
                f"{display(entry, answers.get(entry.name), answers, full_ids=full_ids)}"
            )
    return lines


async def _review_screen(state: FormState) -> Reply:
    form = state.form
    lines = [
        *state.notes,
        _("<b>{title}: check your report</b>").format(title=escape(str(form.title)))
        + _subtitle(state),
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
        [Button(_("✅ Submit"), _data(state, "s"))],
        [Button(_("✏️ Edit"), _data(state, "e")), Button(_("✖ Cancel"), _data(state, "x"))],
    ]
    return state.ctx.reply("\n".join(lines), buttons=buttons)


def _edit_menu(state: FormState) -> Reply:
    entries = state.form.steps
    buttons = [
        [Button(str(e.label), _data(state, "E", i))]
        for i, e in enumerate(entries)
        if e.visible(state.answers)
    ]
    buttons.append([Button(_("« Back to review"), _data(state, "r"))])
    return state.ctx.reply(_("Which answer do you want to change?"), buttons=buttons)


# ---- moving through the form ------------------------------------------------------------


async def _move(state: FormState, step: str) -> None:
    if step != state.draft.step:
        state.set_context(matches=None, query=None)
    state.draft.step = step
    state.draft.rev += 1
    await state.session.flush()


def _next_visible(state: FormState, after: int, *, unanswered: bool = False) -> Step | None:
    """The next step to ask; when editing, only one an edit has just made visible."""
    form, answers = state.form, state.answers
    for step in form.flat[after + 1 :]:
        if not form.entry_visible(step, answers):
            continue
        if unanswered and (step.group or step.name) in answers:
            continue
        return step
    return None


async def _advance(state: FormState) -> Outcome:
    """Go to the next visible step, around a group again, or to the review."""
    form, draft = state.form, state.draft
    step = form.step(draft.step)
    target: Step | None
    editing = bool(draft.context.get("editing"))
    if step.group is not None and step.name == form.groups[step.group].more_step:
        group = form.groups[step.group]
        inner = {s.name for s in group.steps} | {step.name}
        item = {s.name: state.answers.get(s.name) for s in group.steps}
        again = state.answers.get(step.name) == YES
        rest = {k: v for k, v in state.answers.items() if k not in inner}
        draft.answers = {**rest, group.name: [*(rest.get(group.name) or []), item]}
        state.set_context(restore=None)
        if again:
            await _move(state, group.steps[0].name)
            return await _prompt_outcome(state)
        target = _next_visible(state, form.index(step.name), unanswered=editing)
    else:
        inside = step.group is not None
        target = _next_visible(state, form.index(step.name), unanswered=editing and not inside)
    if target is None:
        state.set_context(editing=False)
        if not form.review:
            return await _submit(state)
        await _move(state, REVIEW_STEP)
    else:
        await _move(state, target.name)
    return await _prompt_outcome(state)


async def _prompt_outcome(state: FormState) -> Outcome:
    # A step may have just set the language (the link form's first step).
    chosen = state.account.locale if state.account is not None else None
    with use_locale(chosen or current_locale()):
        return Outcome([await _prompt(state)])


async def _back(state: FormState) -> Outcome:
    form, draft = state.form, state.draft
    here = form.step(draft.step) if draft.step not in (REVIEW_STEP, EDIT_STEP) else None
    if here is not None and here.group is not None:
        group = form.groups[here.group]
        items = list(state.answers.get(group.name) or [])
        restore = (draft.context.get("restore") or {}).get(group.name)
        if here.name == group.steps[0].name and restore is not None and not items:
            # Back out of re-entering a list from the review: the old list stays.
            state.set_answers(**{group.name: restore})
            state.set_context(restore=None, editing=False)
            await _move(state, REVIEW_STEP)
            return Outcome([await _prompt(state)])
        if here.name == group.steps[0].name and items:
            _reopen_last_item(state, group)
            await _move(state, group.more_step)
            return Outcome([await _prompt(state)])
    previous = _previous(state, draft.step)
    while (
        previous is not None
        and previous.group is not None
        and previous.name == form.groups[previous.group].more_step
        and not state.answers.get(previous.group)
    ):  # a list with no items yet: Back goes to the question before it
        previous = _previous(state, form.groups[previous.group].steps[0].name)
    if previous is None:
        return Outcome([await _prompt(state)])
    if previous.group is not None and previous.name == form.groups[previous.group].more_step:
        _reopen_last_item(state, form.groups[previous.group])
    await _move(state, previous.name)
    return Outcome([await _prompt(state)])


def _reopen_last_item(state: FormState, group: Group) -> None:
    """The last finished item of a list becomes the current one again."""
    items = list(state.answers.get(group.name) or [])
    inner = {s.name for s in group.steps}
    rest = {k: v for k, v in state.answers.items() if k not in inner}
    state.draft.answers = {**rest, group.name: items[:-1], **items[-1]}


async def _accept(state: FormState, step: Step, value: Any) -> Outcome:
    try:
        if step.check is not None:
            await step.check(value, state)
    except FieldError as exc:
        return _refuse(state, exc.message)
    state.set_answers(**{step.name: value})
    if step.on_answer is not None:
        await step.on_answer(value, state)
    return await _advance(state)


def _refuse(state: FormState, message: str) -> Outcome:
    state.notes.append(f"⚠️ {message}")
    return Outcome(notice=message)


async def _with_prompt(state: FormState, outcome: Outcome) -> Outcome:
    outcome.replies.append(await _prompt(state))
    return outcome


async def _accept_or_reprompt(state: FormState, step: Step, value: Any) -> Outcome:
    outcome = await _accept(state, step, value)
    if not outcome.replies:  # refused by the step's check: ask again
        return await _with_prompt(state, outcome)
    return outcome


async def claim(ctx: Ctx, draft: Draft) -> bool:
    """Take the draft for this update by bumping its revision, unless another update
    (a double tap, a second message) changed it since it was read."""
    result = await ctx.session.execute(
        update(Draft)
        .where(Draft.id == draft.id, Draft.rev == draft.rev)
        .values(rev=Draft.rev + 1, reminded_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(draft, "rev", draft.rev + 1)
    set_committed_value(draft, "reminded_at", None)
    return True


# ---- input ----------------------------------------------------------------------------------


async def on_message(ctx: Ctx, draft: Draft) -> Outcome:
    """Typed text, a shared contact, a location or uploads, for the draft's current step."""
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
    await _repair(state)
    if draft.step == REVIEW_STEP and ctx.incoming.uploads and _takes_more_files(state):
        # More photos after the last question: they join the evidence.
        too_big = oversized_upload(ctx)
        if too_big is not None:
            return await _with_prompt(state, _refuse(state, too_big))
        added = [_file(u) for u in ctx.incoming.uploads]
        state.set_answers(**{EVIDENCE_STEP: [*(state.answers.get(EVIDENCE_STEP) or []), *added]})
        state.notes.append(_("📎 Added to your report."))
        return Outcome([await _prompt(state)])
    if draft.step in (REVIEW_STEP, EDIT_STEP):
        return await _with_prompt(state, _refuse(state, _("Please use the buttons below.")))
    step = form.step(draft.step)
    try:
        value = await _read(state, step)
    except FieldError as exc:
        return await _with_prompt(state, _refuse(state, exc.message))
    if value is _SHOWN:  # a region search: the matches are now on the prompt
        return Outcome([await _prompt(state)])
    return await _accept_or_reprompt(state, step, value)


_SHOWN = object()
MAX_FILES = 10


def _file(upload: Any) -> dict[str, str]:
    return {"kind": upload.kind, "file_id": upload.file_id, "unique_id": upload.unique_id}


def _takes_more_files(state: FormState) -> bool:
    form = state.form
    if form.evidence is None or not form.entry_visible(form.step(EVIDENCE_STEP), state.answers):
        return False
    return len(state.answers.get(EVIDENCE_STEP) or []) < MAX_FILES


async def _read(state: FormState, step: Step) -> Any:
    """The value of an incoming message for ``step``, or FieldError saying what is wrong."""
    incoming = state.ctx.incoming
    if step.kind == "contact":
        if incoming.contact is None:
            raise FieldError(_("Please press the “Share my contact” button below."))
        return {"phone": incoming.contact.phone, "user_id": incoming.contact.user_id}
    if step.kind == "upload":
        if not incoming.uploads:
            raise FieldError(
                _("Please send a photo, or press Skip.")
                if step.optional
                else _("Please send a photo.")
            )
        too_big = oversized_upload(state.ctx)
        if too_big is not None:
            raise FieldError(too_big)
        return [_file(u) for u in incoming.uploads]
    if incoming.uploads:
        if state.form.evidence is None:
            raise FieldError(_("This report takes no photos or documents. Please answer in words."))
        raise FieldError(
            _("Not yet: I will ask for photos at the end. Please answer this question first.")
        )
    if step.kind == "location":
        if incoming.location is None:
            raise FieldError(
                _("Please press “Send my location” below, or Skip.")
                if step.optional
                else _("Please press “Send my location” below.")
            )
        latitude, longitude = incoming.location
        return {"latitude": latitude, "longitude": longitude}
    text = (incoming.text or "").strip()
    if not text and step.kind in ("choice", "multi"):  # a sticker, a voice message...
        raise FieldError(_("Please choose one of the buttons."))
    if not text:
        raise FieldError(_("Please answer with a text message."))
    if step.kind in ("choice", "multi"):
        if step.kind == "choice":
            options = await step.options_for(state)
            for value, label in options:
                if text.casefold() == label.casefold():
                    _remember_label(state, step, [value], options)
                    return value
        raise FieldError(_("Please choose one of the buttons."))
    if len(text) > step.max_length:
        raise FieldError(_("That is too long: at most {n} characters.").format(n=step.max_length))
    if step.kind == "date":
        parsed = parse_date(text)
        if parsed is None:
            raise FieldError(
                _("I could not read that date. Write it like 21/01/2026 or 21 Januari 2026.")
            )
        return parsed.isoformat()
    if step.kind == "number":
        return fields.number(text, step.minimum, step.maximum)
    if step.kind == "region":
        return await _search(state, step, text)
    if step.kind in _TYPED:
        return _TYPED[step.kind](text)
    return step.parse(text) if step.parse is not None else text


async def _search(state: FormState, step: Step, text: str) -> Any:
    matches = await search_regions(state.session, text, level=step.region_level)
    state.set_context(matches=[[m.code, m.label] for m in matches], query=text)
    if not matches:
        if step.free_text:
            state.notes.append(
                _(
                    "⚠️ No desa/kelurahan is called “{text}”. Try another spelling, or use it as written."
                ).format(text=escape(text))
            )
        elif step.region_level == 3:
            state.notes.append(
                _("⚠️ No kecamatan is called “{text}”. Try another spelling.").format(
                    text=escape(text)
                )
            )
        else:
            state.notes.append(
                _("⚠️ No desa/kelurahan is called “{text}”. Try another spelling.").format(
                    text=escape(text)
                )
            )
        return _SHOWN
    state.notes.append(_("Choose the right one below, or type another name."))
    return _SHOWN


def _remember_label(
    state: FormState, step: Step, values: list[str], options: list[tuple[str, str]]
) -> None:
    """Keep the labels of registry-computed choices, for the review and the reviewers."""
    if step.choices is None:
        return
    labels = dict(options)
    remembered = dict(state.answers.get(LABELS) or {})
    remembered[step.name] = {**(remembered.get(step.name) or {}), **{v: labels[v] for v in values}}
    state.set_answers(**{LABELS: remembered})


async def on_callback(ctx: Ctx, draft: Draft | None, data: str) -> Outcome:
    """A press on one of the engine's buttons (``f:<rev>:<op>[:<arg>]``)."""
    parts = data.split(":")
    form = form_named(draft.flow) if draft is not None else None
    if draft is None or form is None or len(parts) < 3 or parts[1] != str(draft.rev):
        return Outcome(notice=_("This button has expired."))
    if not await claim(ctx, draft):  # a double tap: the first press won
        return Outcome(notice=_("This button has expired."))
    state = FormState(ctx, form, draft)
    await _repair(state)
    op, arg = parts[2], (parts[3] if len(parts) > 3 else None)
    index = int(arg) if arg is not None and arg.isdigit() else None
    if op == "x":
        await discard_draft(ctx)
        return Outcome([ctx.reply(_("Cancelled. Nothing was sent."), remove_keyboard=True)])
    if op == "b":
        return await _back(state)
    if op == "e":
        await _move(state, EDIT_STEP)
        return Outcome([await _prompt(state)])
    if op == "r":
        await _move(state, REVIEW_STEP)
        return Outcome([await _prompt(state)])
    if op == "E" and index is not None and index < len(form.steps):
        return await _edit(state, form.steps[index])
    if op == "s" and draft.step == REVIEW_STEP:
        return await _submit(state)
    if draft.step in (REVIEW_STEP, EDIT_STEP):
        return Outcome(notice=_("This button has expired."))
    step = form.step(draft.step)
    if op == "k" and step.optional:
        state.set_answers(**{step.name: None})
        return await _advance(state)
    if op == "v" and index is not None:
        if step.kind == "choice":
            options = await step.options_for(state)
            value = _pressed(state, step, index, options)
            if value is None:
                return await _gone(state)
            _remember_label(state, step, [value], options)
            return await _accept_or_reprompt(state, step, value)
        if step.kind == "region":
            matches = draft.context.get("matches") or []
            if index < len(matches):
                code, label = matches[index]
                return await _accept_or_reprompt(state, step, {"code": code, "name": label})
    if op == "w" and step.kind == "region" and step.free_text and draft.context.get("query"):
        return await _accept_or_reprompt(state, step, {"text": draft.context["query"]})
    if op == "t" and step.kind == "multi" and index is not None:
        return await _toggle(state, step, index)
    if op == "d" and step.kind == "multi":
        chosen = state.answers.get(step.name) or []
        if len(chosen) < step.min_choices:
            message = _("Please select at least one.")
            return await _with_prompt(state, _refuse(state, message))
        return await _accept_or_reprompt(state, step, chosen)
    return Outcome(notice=_("This button has expired."))


def _pressed(
    state: FormState, step: Step, index: int, options: list[tuple[str, str]]
) -> str | None:
    """The value of the option pressed, if it is still on offer."""
    offered = [value for value, _label in options]
    shown = state.draft.context.get("shown") if step.choices is not None else offered
    if shown is None or index >= len(shown) or shown[index] not in offered:
        return None
    return shown[index]


async def _gone(state: FormState) -> Outcome:
    message = _("That choice is no longer available. Please choose again.")
    return await _with_prompt(state, _refuse(state, message))


async def _toggle(state: FormState, step: Step, index: int) -> Outcome:
    options = await step.options_for(state)
    value = _pressed(state, step, index, options)
    if value is None:
        return await _gone(state)
    chosen = list(state.answers.get(step.name) or [])
    chosen = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
    # Keep the order of the options, whatever the order of the taps.
    order = [v for v, _label in options]
    state.set_answers(**{step.name: sorted(chosen, key=order.index)})
    _remember_label(state, step, [value], options)
    await state.session.flush()
    reply = await _prompt(state)
    reply.edit_message_id = state.ctx.incoming.message_id
    return Outcome([reply])


async def _edit(state: FormState, entry: Step | Group) -> Outcome:
    if not entry.visible(state.answers):
        return Outcome(notice=_("This button has expired."))
    state.set_context(editing=True)
    if isinstance(entry, Group):
        # A list is entered again from its first item; Back there keeps the old list.
        state.set_context(restore={entry.name: state.answers.get(entry.name) or []})
        state.set_answers(**{entry.name: []})
        await _move(state, entry.steps[0].name)
    else:
        await _move(state, entry.name)
    return Outcome([await _prompt(state)])


def _missing(step: Step, value: Any) -> bool:
    if step.kind == "multi":
        return value is None or len(value) < step.min_choices
    return not step.optional and value is None


def _check_complete(state: FormState) -> None:
    """Every visible required question has an answer (an edit may have opened new ones
    or emptied a selection), in every item of every list too."""
    answers = state.answers
    for entry in state.form.visible_entries(answers):
        if isinstance(entry, Group):
            items = answers.get(entry.name) or []
            broken = not items or any(
                _missing(sub, item.get(sub.name))
                for item in items
                for sub in entry.steps
                if sub.visible({**answers, **item})
            )
            if broken:
                raise FieldError(_("Please answer this question."), step=entry.steps[0].name)
        elif _missing(entry, answers.get(entry.name)):
            raise FieldError(_("Please answer this question."), step=entry.name)


async def _send_back(state: FormState, step_name: str) -> None:
    """After a refusal at Submit: ask that question again (a list from its first item),
    then only what is still unanswered, then the review."""
    step = state.form.step(step_name)
    if step.group is not None:
        group = state.form.groups[step.group]
        inner = {s.name for s in group.steps} | {group.more_step}
        rest = {k: v for k, v in state.answers.items() if k not in inner}
        state.draft.answers = {**rest, group.name: []}
        step = group.steps[0]
    state.set_context(editing=True, restore=None)
    await _move(state, step.name)


async def _submit(state: FormState) -> Outcome:
    try:
        _check_complete(state)
        if state.form.validate is not None:
            await state.form.validate(state)
        if state.form.evidence is not None and state.form.evidence.missing == "block":
            if not state.answers.get(EVIDENCE_STEP):
                raise FieldError(
                    _("This report needs a photo of the document."), step=EVIDENCE_STEP
                )
        outcome = await state.form.submit(state)
    except FieldError as exc:
        if exc.step is not None:
            await _send_back(state, exc.step)
        return await _with_prompt(state, _refuse(state, exc.message))
    await discard_draft(state.ctx)
    return outcome


__all__ = [
    "EDIT_STEP",
    "EVIDENCE_STEP",
    "LABELS",
    "NO",
    "REVIEW_STEP",
    "YES",
    "YES_NO",
    "Evidence",
    "FieldError",
    "Form",
    "FormState",
    "Group",
    "Step",
    "current_draft",
    "discard_draft",
    "display",
    "form_named",
    "on_callback",
    "on_message",
    "register",
    "resume",
    "start",
    "start_at_review",
    "summary_lines",
]
