"""What every report type is made of, and the pieces they share.

A :class:`ReportKind` puts one report type in one place: the form residents fill
in, the shape of the payload that form produces, how an approved report changes
the registry (:class:`Apply` is the work in hand), which people it is about
(*touched*) and what makes two reports the same change (*fingerprint*). The
catalog in :mod:`registry.kinds` lists them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from babel.support import LazyProxy
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from locales import _, local_today
from registry import attributes as attr
from registry.accounts import Area
from registry.errors import IllegalTransition
from registry.forms import Answers, FieldError, Form, FormState, Step
from registry.households import RELATIONSHIPS, household_by_kk, member_snapshot
from storage.models import Account, Household, Member, RegistryRevision, Report

# The files sent as evidence (None when skipped): kind, file_id and unique_id each.
EvidenceFiles = list[dict[str, str]] | None
Target = Callable[[FormState], Awaitable[tuple[Household | None, Area | None]]]
Touched = Callable[[AsyncSession, Report], Awaitable[set[str]]]
Fingerprint = Callable[[Report], str | None]

ON_BEHALF = "on_behalf"  # draft context: the household an RT head files for (flows/on_behalf.py)
MAX_NAME = 100
MAX_PLACE = 200
MAX_REASON = 1000
OLDEST = date(1900, 1, 1)


@dataclass(frozen=True)
class ReportKind:
    """One report type, whole. ``payload`` is the TypedDict of the answers its form
    files: exactly the form's top-level steps and groups, with ``evidence`` when it
    takes files (the engine's remembered labels aside; tests/test_kinds.py checks);
    ``touched`` may read ``report.household.members``, loaded with the report;
    ``dukcapil`` names the Dukcapil document to arrange after approval;
    ``ends_membership`` marks kinds that end or move a person's membership (two on one
    person conflict, and any change of that person's data conflicts with them);
    ``unlinked`` kinds are offered to a resident whose account is not linked to a
    household (and are not filed on behalf of one)."""

    form: Form
    payload: type
    apply: Callable[[Apply], Awaitable[None]]
    touched: Touched
    fingerprint: Fingerprint
    ends_membership: bool = False
    unlinked: bool = False
    # The civil-registry (Dukcapil) document the family arranges once the report is
    # approved: a lazy string, or a function of the payload giving one (or None).
    dukcapil: Any = None

    @property
    def name(self) -> str:
        return self.form.name

    def dukcapil_document(self, payload: dict[str, Any]) -> str | None:
        """The document to arrange after approval, in the current language, or None."""
        fixed = self.dukcapil is None or isinstance(self.dukcapil, str | LazyProxy)
        document = self.dukcapil if fixed else self.dukcapil(payload)
        return str(document) if document is not None else None


# ---- the form side ---------------------------------------------------------------------------


def today() -> date:
    """Today in the reporter's zone (set per update), not the server's."""
    return local_today()


@functools.cache
def _household_statement() -> Select[tuple[Household]]:
    """:func:`own_household`'s read, built once (the id is a parameter): SQLAlchemy neither
    builds it nor computes its cache key again on every form step. Members joined in the
    same statement (not the relationship's second SELECT)."""
    return (
        select(Household)
        .where(Household.id == bindparam("household_id"))
        .options(joinedload(Household.members))
    )


async def own_household(state: FormState) -> Household:
    """The household the form is about: the reporter's own, or the one an RT head files for."""
    household_id = state.draft.context.get(ON_BEHALF) or state.account.household_id  # type: ignore[union-attr]
    session = state.session
    # As ``session.get``: one the session holds already (with its members) is not read again.
    held = session.identity_map.get(session.identity_key(Household, household_id))
    if held is not None and "members" in held.__dict__:
        return cast(Household, held)
    household = (
        (await session.execute(_household_statement(), {"household_id": household_id}))
        .unique()
        .scalar_one_or_none()
    )
    assert household is not None, "report forms for a household need a linked account"
    return household


async def own_target(state: FormState) -> tuple[Household | None, Area | None]:
    """A report about the reporter's own household (or the one filed for), reviewed there."""
    return await own_household(state), None


def person_name(text: str) -> str:
    """A name as a KK writes it: upper case, single spaces (compare with :func:`norm`)."""
    name = " ".join(text.split())
    if not any(ch.isalpha() for ch in name):
        raise FieldError(_("A name needs letters. Please write the name."))
    return name.upper()


async def past_date(value: Any, _state: FormState) -> None:
    day = date.fromisoformat(value)
    if day > today():
        raise FieldError(_("That date is in the future. Please check it."))
    if day < OLDEST:
        raise FieldError(_("Please check the year of that date."))


async def living(state: FormState) -> list[Member]:
    household = await own_household(state)
    return [m for m in household.members if m.status == "alive"]


# A KK's head holds a KTP: 17 years old, or younger and married (UU Adminduk).
HEAD_MIN_AGE = 17
MARRIED = frozenset({"head", "spouse", "child_in_law"})


def may_head(member: Member, on: date | None = None) -> bool:
    """Whether ``member`` can head a family: 17 or older, or married."""
    on = on or today()
    born = member.birth_date
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return age >= HEAD_MIN_AGE or member.relationship in MARRIED


def head_choices(members: Iterable[Member]) -> list[tuple[str, str]]:
    """Who may be chosen to head a family: a baby or a child of 12 is never offered.
    When only children are left (orphans), all of them: the office decides."""
    members = list(members)
    fit = [m for m in members if may_head(m)]
    return [(str(m.id), m.name) for m in fit or members]


async def member_choices(state: FormState) -> list[tuple[str, str]]:
    return [(str(m.id), m.name) for m in await living(state)]


async def chosen_member(state: FormState, value: str | None = None) -> Member:
    """The living member of the reporter's household an answer names (re-checked at submit)."""
    wanted = value if value is not None else state.answers.get("member")
    member = next((m for m in await living(state) if str(m.id) == wanted), None)
    if member is None:
        raise FieldError(_("That person is no longer a member of your household."), step="member")
    return member


def answer_is(step: str, *values: str) -> Callable[[Answers], bool]:
    return lambda answers: answers.get(step) in values


def answer_has(step: str, value: str) -> Callable[[Answers], bool]:
    return lambda answers: value in (answers.get(step) or [])


def member_step(prompt: Any, label: Any) -> Step:
    return Step("member", "choice", prompt=prompt, label=label, choices=member_choices)


def date_step(name: str, prompt: Any, label: Any, *, recent: bool = True) -> Step:
    """A date in the past; ``recent`` (an event just reported, not a birthday of years
    ago) offers "Today" and "Yesterday" buttons."""
    return Step(
        name, "date", prompt=prompt, label=label, max_length=40, check=past_date, recent=recent
    )


def relationship_options(*, head: bool) -> list[tuple[str, Any]]:
    return [(r, attr.RELATIONSHIP_LABELS[r]) for r in RELATIONSHIPS if head or r != "head"]


# ---- the registry side -----------------------------------------------------------------------


def norm(text: Any) -> str:
    """Text compared for duplicates: spaces collapsed, case folded."""
    return re.sub(r"\s+", " ", str(text or "")).strip().casefold()


def members_named(*ids: str | None) -> set[str]:
    """The touched-keys of registry members by id (``m<id>``)."""
    return {f"m{i}" for i in ids if i}


async def touches_the_member(_session: AsyncSession, report: Report) -> set[str]:
    """A report about the one member its ``member`` answer names."""
    return members_named(report.payload.get("member"))


async def touches_nobody(_session: AsyncSession, _report: Report) -> set[str]:
    return set()


def day(value: str) -> date:
    return date.fromisoformat(value)


def place(value: dict[str, Any]) -> dict[str, Any]:
    """A region answer as stored in details: code and name, or the words as written."""
    if value.get("code"):
        return {"code": value["code"], "name": value.get("name")}
    return {"text": value.get("text")}


async def follow_member(session: AsyncSession, member: Member) -> None:
    """Accounts linked to the member follow it: to its new household, or unlinked when it
    died, moved away or is gone (they may link again with their new KK)."""
    linked = Account.member_id == member.id
    if member.status != "alive":
        await session.execute(
            update(Account).where(linked).values(household_id=None, member_id=None)
        )
    else:
        await session.execute(
            update(Account).where(linked).values(household_id=member.household_id)
        )


class Apply:
    """One approved report being applied: the session, the approver and the revisions
    written. Every changed member or household gets a
    :class:`~storage.models.RegistryRevision` with its state before and after."""

    def __init__(self, session: AsyncSession, report: Report, approver: Account) -> None:
        self.session = session
        self.report = report
        self.approver = approver
        self.revisions: list[RegistryRevision] = []

    @property
    def payload(self) -> Any:
        """The report's answers; a kind's apply casts them to its payload type."""
        return cast(Any, self.report.payload)

    def revise(
        self,
        action: str,
        household_id: int,
        *,
        member: Member | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        revision = RegistryRevision(
            household_id=household_id,
            member_id=member.id if member is not None else None,
            report_id=self.report.id,
            approved_by_account_id=self.approver.id,
            action=action,
            before=before,
            after=after,
        )
        self.session.add(revision)
        self.revisions.append(revision)

    async def household(self) -> Household:
        if self.report.household_id is None:
            raise IllegalTransition(_("This report is not about a household in the registry."))
        household = await self.session.get(Household, self.report.household_id)
        assert household is not None
        return household

    async def member(self, key: str = "member") -> Member:
        """The living member of the report's household the payload names."""
        return (await self.members([self.payload[key]]))[0]

    async def members(self, ids: Iterable[str]) -> list[Member]:
        household = await self.household()
        alive = {str(m.id): m for m in household.members if m.status == "alive"}
        missing = [i for i in ids if i not in alive]
        if missing:
            # The household changed since the report was filed (another report applied).
            raise IllegalTransition(
                _("A member named in this report is no longer in the household; reject it.")
            )
        return [alive[i] for i in ids]

    async def change_member(self, member: Member, action: str, **changes: Any) -> None:
        before = member_snapshot(member)
        details = dict(member.details or {})
        for key, value in changes.items():
            if key in ("name", "sex", "birth_date", "relationship", "status", "household_id"):
                setattr(member, key, value)
            elif value is None:
                details.pop(key, None)
            else:
                details[key] = value
        member.details = details
        await self.session.flush()
        self.revise(
            action, member.household_id, member=member, before=before, after=member_snapshot(member)
        )
        if before["household_id"] != member.household_id:
            self.revise(
                "member_left", before["household_id"], member=member, before=before, after=None
            )
        await self._follow(member)

    async def _follow(self, member: Member) -> None:
        await follow_member(self.session, member)

    async def add_member(self, household_id: int, **fields: Any) -> Member:
        member = Member(household_id=household_id, status="alive", **fields)
        self.session.add(member)
        await self.session.flush()
        self.revise("member_added", household_id, member=member, after=member_snapshot(member))
        return member

    async def new_household(
        self, *, kk: str | None, address: str, region_code: str, rw: int, rt: int,
        details: dict[str, Any],
    ) -> Household:  # fmt: skip
        if kk and await household_by_kk(self.session, kk) is not None:
            raise IllegalTransition(
                _("A household with this KK number is already in the registry.")
            )
        household = Household(
            kk=kk, address=address, region_code=region_code, rw=rw, rt=rt, desil=None,
            details=details,
        )  # fmt: skip
        self.session.add(household)
        await self.session.flush()
        self.revise("household_added", household.id, after={
            "kk": kk, "address": address, "region_code": region_code, "rw": rw, "rt": rt,
            "details": details,
        })  # fmt: skip
        return household

    async def keep_a_head(self, household: Household) -> None:
        """When the head left, the spouse (or else the eldest) heads the household now."""
        await self.session.refresh(household, ["members"])
        alive = [m for m in household.members if m.status == "alive"]
        if not alive or any(m.relationship == "head" for m in alive):
            return
        spouse = next((m for m in alive if m.relationship == "spouse"), None)
        successor = spouse or min(alive, key=lambda m: m.birth_date)
        await self.change_member(successor, "member_changed", relationship="head")
