"""The vocabulary of forms: questions as data, with their checks.

A :class:`Form` is a list of :class:`Step` s and :class:`Group` s (a group is asked
again for every item, such as each member of a new household). Forms are declared
where their rules live: a report type's form in its module under
:mod:`registry.kinds`, conversation forms (linking, a reviewer's reason) in
``flows/``. The conversation engine (:mod:`flows.engine`) asks them; nothing here
knows about Telegram or drafts' storage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

from babel.support import LazyProxy

from locales import lazy_gettext

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.models import Account, Draft


class FieldError(Exception):
    """An answer was refused; the message is shown to the person.

    ``step`` names the step to send the person back to (from a form's cross-field check).
    """

    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step


Kind = Literal[
    "text", "number", "date", "choice", "multi", "region", "nik", "kk", "phone",
    "upload", "location", "contact",
]  # fmt: skip
Choices = Callable[["FormState"], Awaitable[list[tuple[str, str]]]]
Check = Callable[[Any, "FormState"], Awaitable[None]]
Answers = dict[str, Any]

MAX_PROMPT = 500  # characters of a question, checked by the tests
LABELS = "_labels"  # answers[LABELS][step][value]: labels of choices computed from the registry

VOICE = "_voice"  # answers[VOICE][step]: the voice note that answered a text step
VOICE_ANSWER = "🎤"  # the stored answer of a text step answered by a voice note

YES, NO = "yes", "no"
YES_NO = [(YES, lazy_gettext("Yes")), (NO, lazy_gettext("No"))]


@dataclass
class Step:
    name: str
    kind: Kind
    prompt: Any  # a lazy string or a callable(FormState) -> str
    label: Any  # shown on the review screen
    optional: bool = False
    max_length: int = 100
    options: Sequence[tuple[str, Any]] = ()  # fixed choices: (value, lazy label)
    # Fixed choices no longer offered (a reworded form): stored answers still display.
    retired: frozenset[str] = frozenset()
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
    recent: bool = False  # date: a recent day is asked ("Today" / "Yesterday" buttons)
    group: str | None = None  # set by the engine for the steps of a Group
    # text: a voice note may answer instead of typed words (a reason, an explanation).
    # The answer is then VOICE_ANSWER and the note itself is kept in answers[VOICE].
    voice: bool = False

    async def render_prompt(self, state: FormState) -> str:
        if isinstance(self.prompt, str | LazyProxy):
            return str(self.prompt)
        return self.prompt(state)

    def visible(self, answers: Answers) -> bool:
        return self.when is None or self.when(answers)

    async def options_for(self, state: FormState) -> list[tuple[str, str]]:
        if self.choices is not None:
            return await self.choices(state)
        return [(v, str(label)) for v, label in self.options if v not in self.retired]


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
    # What Submit does (the flows' engine gives it the state; it returns the replies).
    # Report types leave it unset: the engine files them as reports of ``name``.
    submit: Callable[[FormState], Awaitable[Any]] | None = None
    review: bool = True
    # Cross-field checks run before submit: raise FieldError(step=...) to send the person back.
    validate: Callable[[FormState], Awaitable[None]] | None = None
    evidence: Evidence | None = None
    # Whether a filed report hides who filed it and their household (from reviewers too).
    anonymous: Callable[[Answers], bool] | None = None
    # A report form: the household the report is about and, when it is reviewed
    # elsewhere (or there is no household yet), the area: see registry.kinds.base.
    target: Callable[[FormState], Awaitable[tuple[Any, Any]]] | None = None
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


class FormState(Protocol):
    """What a form's checks see of the conversation: the flows' engine passes its state."""

    @property
    def answers(self) -> Answers: ...

    @property
    def session(self) -> AsyncSession: ...

    @property
    def account(self) -> Account | None: ...

    @property
    def draft(self) -> Draft: ...

    def answer_date(self, name: str) -> date | None: ...

    def set_answers(self, **values: Any) -> None: ...

    @property
    def policy(self) -> Any: ...  # registry.policy.Policy: the configured rules
