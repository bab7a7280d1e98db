"""A small form engine: forms are data, drafts live in the database.

A :class:`Form` is a list of :class:`Step` s and :class:`Group` s (a group is asked
again for every item, such as each member of a new household).  The engine keeps
the answers in the account's :class:`~storage.models.Draft`, prompts for the next
visible step (steps may depend on earlier answers through ``when``), checks every
answer (re-prompting with a specific message and keeping earlier answers), offers
Back / Skip / Cancel, and ends in a review screen where any answer can be edited
before Submit.  Buttons carry the draft's revision, so a button from an earlier
message or a double tap is answered "expired" instead of changing the form; they carry
the draft's id too, so a button of a dropped form never answers another one.

Nothing here knows about Telegram: :class:`~flows.io.Incoming` comes in,
:class:`~flows.io.Outcome` goes out.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from flows.buttons import FormOp, FormPress
from flows.draft_writes import claim_statement, save_draft
from flows.io import Ctx, Outcome
from flows.limits import oversized_upload
from flows.reading import SHOWN, file_answer, read_answer, remember_label, takes_more_files
from flows.screens import (
    EDIT_STEP,
    REVIEW_STEP,
    previous_step,
    prompt,
    recent_days,
    summary_lines,
)
from locales import _, current_locale, local_today, use_locale
from registry.forms import (
    EVIDENCE_STEP,
    YES,
    Answers,
    FieldError,
    Form,
    Group,
    Step,
)
from storage.models import Draft

log = logging.getLogger(__name__)


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

    @property
    def policy(self):  # type: ignore[no-untyped-def]
        return self.ctx.policy

    def answer_date(self, name: str) -> date | None:
        value = self.answers.get(name)
        return date.fromisoformat(value) if value else None

    def set_answers(self, **values: Any) -> None:
        self.draft.answers = {**self.answers, **values}

    def set_context(self, **values: Any) -> None:
        self.draft.context = {**self.draft.context, **values}


def form_named(name: str) -> Form | None:
    """The form a draft names, from the explicit list in :mod:`flows.forms` (imported
    here, not at the top: every flow module that declares a form imports the engine)."""
    from flows.forms import form_named as lookup

    return lookup(name)


def unknown_form(ctx: Ctx, draft: Draft) -> Outcome:
    """A draft whose form this version of the bot does not have (renamed or removed by
    an update): kept with its answers, logged for the operators, and the person told
    how to go on."""
    log.error("draft %s names form %r, which this version does not have", draft.id, draft.flow)
    return Outcome(
        [
            ctx.reply(
                _(
                    "Your unfinished form cannot be continued after an update of the bot. "
                    "Your answers are kept. Send /batal to drop it, then /lapor to start again."
                )
            )
        ]
    )


async def current_draft(ctx: Ctx, *, fresh: bool = False) -> Draft | None:
    """The account's open draft; ``fresh`` re-reads it over what the session holds."""
    if ctx.account is None:
        return None
    stmt = select(Draft).where(Draft.account_id == ctx.account.id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return (await ctx.session.execute(stmt)).scalar_one_or_none()


async def take_current(ctx: Ctx, press: FormPress | None = None) -> Draft | None:
    """The account's open draft, read and claimed (as :func:`claim`) in one statement,
    ``UPDATE ... RETURNING``: nothing can change it in between. With ``press``, only the
    draft that made the button, at the revision it carries, of a form this version has
    (otherwise None: the button has expired; nothing was changed)."""
    if ctx.account is None:
        return None
    if press is None:
        stmt, params = claim_statement(False), {"take_account": ctx.account.id}
    else:
        stmt = claim_statement(True)
        params = {"take_account": ctx.account.id, "take_draft": press.draft, "take_rev": press.rev}
    return (await ctx.session.execute(stmt, params)).scalar_one_or_none()


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
    return Outcome([await prompt(state)])


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
    return Outcome([await prompt(FormState(ctx, form, draft))])


async def resume(ctx: Ctx, draft: Draft) -> Outcome:
    """Show the current step of a draft again (after /start, a restart, a day of silence)."""
    form = form_named(draft.flow)
    if form is None:
        return unknown_form(ctx, draft)
    state = FormState(ctx, form, draft)
    await _repair(state)
    return Outcome([await prompt(state)])


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


# ---- moving through the form ------------------------------------------------------------


async def _move(state: FormState, step: str) -> None:
    if step != state.draft.step:
        state.set_context(matches=None, query=None)
    state.draft.step = step
    state.draft.rev += 1
    await save_draft(state.session, state.draft)


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
        return Outcome([await prompt(state)])


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
            return Outcome([await prompt(state)])
        if here.name == group.steps[0].name and items:
            _reopen_last_item(state, group)
            await _move(state, group.more_step)
            return Outcome([await prompt(state)])
    previous = previous_step(state, draft.step)
    while (
        previous is not None
        and previous.group is not None
        and previous.name == form.groups[previous.group].more_step
        and not state.answers.get(previous.group)
    ):  # a list with no items yet: Back goes to the question before it
        previous = previous_step(state, form.groups[previous.group].steps[0].name)
    if previous is None:
        return Outcome([await prompt(state)])
    if previous.group is not None and previous.name == form.groups[previous.group].more_step:
        _reopen_last_item(state, form.groups[previous.group])
    await _move(state, previous.name)
    return Outcome([await prompt(state)])


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
    outcome.replies.append(await prompt(state))
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


async def on_message(ctx: Ctx, draft: Draft, *, taken: bool = False) -> Outcome:
    """Typed text, a shared contact, a location or uploads, for the draft's current step.

    ``taken``: the draft comes from :func:`take_current`, already claimed."""
    if not taken and not await claim(ctx, draft):
        # Another message of this person was handled meanwhile: answer the form as it is now.
        reloaded = await current_draft(ctx, fresh=True)
        if reloaded is None or not await claim(ctx, reloaded):
            return Outcome([ctx.reply(_("Please send that again."))])
        draft = reloaded
    form = form_named(draft.flow)
    if form is None:
        return unknown_form(ctx, draft)
    state = FormState(ctx, form, draft)
    await _repair(state)
    if draft.step == REVIEW_STEP and ctx.incoming.files and takes_more_files(state):
        # More photos after the last question: they join the evidence.
        too_big = oversized_upload(ctx)
        if too_big is not None:
            return await _with_prompt(state, _refuse(state, too_big))
        added = [file_answer(u) for u in ctx.incoming.files]
        state.set_answers(**{EVIDENCE_STEP: [*(state.answers.get(EVIDENCE_STEP) or []), *added]})
        state.notes.append(_("📎 Added to your report."))
        return Outcome([await prompt(state)])
    if draft.step in (REVIEW_STEP, EDIT_STEP):
        return await _with_prompt(state, _refuse(state, _("Please use the buttons below.")))
    step = form.step(draft.step)
    try:
        value = await read_answer(state, step)
    except FieldError as exc:
        return await _with_prompt(state, _refuse(state, exc.message))
    if value is SHOWN:  # a region search: the matches are now on the prompt
        return Outcome([await prompt(state)])
    return await _accept_or_reprompt(state, step, value)


async def on_callback(
    ctx: Ctx, draft: Draft | None, press: FormPress, *, taken: bool = False
) -> Outcome:
    """A press on one of the engine's buttons (``f:<draft>:<rev>:<op>[:<index>]``): only
    the draft that made it, at the revision it had.

    ``taken``: the draft comes from ``take_current(ctx, press)``, already claimed (and
    checked against the press: None if it did not match)."""
    form = form_named(draft.flow) if draft is not None else None
    if taken:
        if draft is None or form is None:
            return Outcome(notice=_("This button has expired."))
    elif draft is None or form is None or (press.draft, press.rev) != (draft.id, draft.rev):
        return Outcome(notice=_("This button has expired."))
    elif not await claim(ctx, draft):  # a double tap: the first press won
        return Outcome(notice=_("This button has expired."))
    state = FormState(ctx, form, draft)
    await _repair(state)
    op, index = press.op, press.index
    if op is FormOp.CANCEL:
        await discard_draft(ctx)
        return Outcome([ctx.reply(_("Cancelled. Nothing was sent."), remove_keyboard=True)])
    if op is FormOp.BACK:
        return await _back(state)
    if op is FormOp.EDIT_MENU:
        await _move(state, EDIT_STEP)
        return Outcome([await prompt(state)])
    if op is FormOp.TO_REVIEW:
        await _move(state, REVIEW_STEP)
        return Outcome([await prompt(state)])
    if op is FormOp.EDIT_ANSWER and index is not None and index < len(form.steps):
        return await _edit(state, form.steps[index])
    if op is FormOp.SUBMIT and draft.step == REVIEW_STEP:
        return await _submit(state)
    if draft.step in (REVIEW_STEP, EDIT_STEP):
        return Outcome(notice=_("This button has expired."))
    step = form.step(draft.step)
    if op is FormOp.SKIP and step.optional:
        state.set_answers(**{step.name: None})
        return await _advance(state)
    if op is FormOp.CHOOSE and index is not None:
        if step.kind == "choice":
            options = await step.options_for(state)
            value = _pressed(state, step, index, options)
            if value is None:
                return await _gone(state)
            remember_label(state, step, [value], options)
            return await _accept_or_reprompt(state, step, value)
        if step.kind == "date" and step.recent and index < len(recent_days()):
            day = local_today() - timedelta(days=index)  # "Today", "Yesterday"
            return await _accept_or_reprompt(state, step, day.isoformat())
        if step.kind == "region":
            matches = draft.context.get("matches") or []
            if index < len(matches):
                code, label = matches[index]
                return await _accept_or_reprompt(state, step, {"code": code, "name": label})
    if (
        op is FormOp.AS_WRITTEN
        and step.kind == "region"
        and step.free_text
        and draft.context.get("query")
    ):
        return await _accept_or_reprompt(state, step, {"text": draft.context["query"]})
    if op is FormOp.TOGGLE and step.kind == "multi" and index is not None:
        return await _toggle(state, step, index)
    if op is FormOp.DONE and step.kind == "multi":
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
    remember_label(state, step, [value], options)
    await state.session.flush()
    reply = await prompt(state)
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
    return Outcome([await prompt(state)])


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


async def _submit_action(state: FormState) -> Outcome:
    """The form's own submit, or for a report type: filing it as a report."""
    if state.form.submit is not None:
        return await state.form.submit(state)
    from flows.filing import file_report  # filing shows the tiers' cards: it imports flows.review

    return await file_report(state)


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
        outcome = await _submit_action(state)
    except FieldError as exc:
        if exc.step is not None:
            await _send_back(state, exc.step)
        return await _with_prompt(state, _refuse(state, exc.message))
    await discard_draft(state.ctx)
    return outcome


__all__ = [
    "FormState",
    "current_draft",
    "discard_draft",
    "form_named",
    "on_callback",
    "on_message",
    "resume",
    "start",
    "start_at_review",
    "summary_lines",
    "take_current",
    "unknown_form",
]
