"""Applying an approved report to the registry, with a revision for every change.

Each report type has one apply function. It reads the report's payload (the
answers of its form: registry ids as strings, dates as ISO text) and changes
registry rows; every changed member or household gets a
:class:`~storage.models.RegistryRevision` with its state before and after.
Disputes change no rows: they are recorded as a household flag for the
officers' desil review.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from locales import _
from registry.errors import DomainError, IllegalTransition
from registry.households import household_by_kk, member_by_nik, member_snapshot
from storage.models import Account, Household, HouseholdFlag, Member, RegistryRevision, Report

# A newborn's relationship to the head follows the mother's.
_CHILD_OF = {
    "head": "child",
    "spouse": "child",
    "child": "grandchild",
    "child_in_law": "grandchild",
}
MOTHER_OUTSIDE = "outside"  # a birth whose mother is not a member of the household
HOUSEHOLD_KEYS = ("floor", "wall", "roof", "water", "sanitation", "electricity", "tenure", "assets")


class _Apply:
    """One report being applied: the session, the approver and the revisions written."""

    def __init__(self, session: AsyncSession, report: Report, approver: Account) -> None:
        self.session = session
        self.report = report
        self.approver = approver
        self.revisions: list[RegistryRevision] = []

    @property
    def payload(self) -> dict[str, Any]:
        return self.report.payload

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
        living = {str(m.id): m for m in household.members if m.status == "alive"}
        missing = [i for i in ids if i not in living]
        if missing:
            # The household changed since the report was filed (another report applied).
            raise IllegalTransition(
                _("A member named in this report is no longer in the household; reject it.")
            )
        return [living[i] for i in ids]

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
        """Accounts linked to the member follow it: to its new household, or unlinked
        when it died or moved away (they may link again with their new KK)."""
        linked = Account.member_id == member.id
        if member.status != "alive":
            await self.session.execute(
                update(Account).where(linked).values(household_id=None, member_id=None)
            )
        else:
            await self.session.execute(
                update(Account).where(linked).values(household_id=member.household_id)
            )

    async def add_member(self, household_id: int, **fields: Any) -> Member:
        member = Member(household_id=household_id, status="alive", **fields)
        self.session.add(member)
        await self.session.flush()
        self.revise("member_added", household_id, member=member, after=member_snapshot(member))
        return member


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _place(value: dict[str, Any]) -> dict[str, Any]:
    """A region answer as stored in details: code and name, or the words as written."""
    if value.get("code"):
        return {"code": value["code"], "name": value.get("name")}
    return {"text": value.get("text")}


async def _birth(a: _Apply) -> None:
    household = await a.household()
    outside = a.payload["mother"] == MOTHER_OUTSIDE
    mother = None if outside else await a.member("mother")
    await a.add_member(
        household.id,
        nik=None,  # issued later by Dukcapil
        name=a.payload["name"],
        sex=a.payload["sex"],
        birth_date=_day(a.payload["birth_date"]),
        # Without the mother in the household, the child is taken to be the head's.
        relationship=_CHILD_OF.get(mother.relationship, "other_relative") if mother else "child",
        details={"mother_id": mother.id} if mother else {"mother_outside": True},
    )


async def _death(a: _Apply) -> None:
    member = await a.member()
    await a.change_member(
        member, "member_deceased", status="deceased",
        death_date=a.payload["death_date"], death_place=a.payload["place"],
    )  # fmt: skip
    await _keep_a_head(a, await a.household())


async def _move_out(a: _Apply) -> None:
    household = await a.household()
    if a.payload["scope"] == "all":
        leaving = [m for m in household.members if m.status == "alive"]
    else:
        leaving = [await a.member()]
    for member in leaving:
        await a.change_member(
            member, "member_moved_out", status="moved",
            moved_to=_place(a.payload["destination"]), moved_on=a.payload["move_date"],
        )  # fmt: skip
    await _keep_a_head(a, household)


async def _move_in(a: _Apply) -> None:
    household = await a.household()
    p = a.payload
    known = await member_by_nik(a.session, p["nik"]) if p.get("nik") else None
    if known is not None and known.status == "deceased":
        raise IllegalTransition(_("This NIK belongs to a person recorded as deceased."))
    if known is not None:
        # Someone the registry knows in another household (or who moved away before). The
        # registry keeps its spelling of the name: that is an identity correction.
        previous = await a.session.get(Household, known.household_id)
        await a.change_member(
            known, "member_moved_in", household_id=household.id, status="alive",
            relationship=p["relationship"], moved_from=_place(p["origin"]),
        )  # fmt: skip
        if previous is not None and previous.id != household.id:
            await _keep_a_head(a, previous)
        return
    await a.add_member(
        household.id, nik=p.get("nik"), name=p["name"], sex=p["sex"],
        birth_date=_day(p["birth_date"]), relationship=p["relationship"],
        details={"moved_from": _place(p["origin"])},
    )  # fmt: skip


async def _new_household_row(
    a: _Apply, *, kk: str | None, address: str, region_code: str, rw: int, rt: int,
    details: dict[str, Any],
) -> Household:  # fmt: skip
    if kk and await household_by_kk(a.session, kk) is not None:
        raise IllegalTransition(_("A household with this KK number is already in the registry."))
    household = Household(
        kk=kk, address=address, region_code=region_code, rw=rw, rt=rt, desil=None, details=details
    )
    a.session.add(household)
    await a.session.flush()
    a.revise("household_added", household.id, after={
        "kk": kk, "address": address, "region_code": region_code, "rw": rw, "rt": rt,
        "details": details,
    })  # fmt: skip
    return household


async def _marriage(a: _Apply) -> None:
    p = a.payload
    involved = await a.members(p["members"])
    for member in involved:
        await a.change_member(
            member, "member_changed", marital=p["event"], marital_since=p["event_date"]
        )
    if p.get("new_household") != "yes":
        return
    old = await a.household()
    leaving = await a.members(p["leaving"])
    new = await _new_household_row(
        a, kk=p.get("new_kk"), address=old.address, region_code=old.region_code, rw=old.rw,
        rt=old.rt, details={"split_from": old.id},
    )  # fmt: skip
    involved_ids = {m.id for m in involved}
    heads = [m for m in leaving if m.id in involved_ids]
    if not heads:
        raise IllegalTransition(
            _("The new household must include someone who married or divorced.")
        )
    head = next((m for m in heads if m.sex == "M"), heads[0])
    # When the old head (or spouse) heads the new household, their children stay children.
    stays = (
        ("child", "child_in_law", "grandchild") if head.relationship in ("head", "spouse") else ()
    )
    for member in leaving:
        if member is head:
            relationship = "head"
        elif member.id in involved_ids:
            relationship = "spouse"
        elif member.relationship in stays:
            relationship = member.relationship
        elif member.relationship == "grandchild":
            relationship = "child"
        else:
            relationship = "other_relative"
        await a.change_member(
            member, "member_moved_in", household_id=new.id, relationship=relationship
        )
    await _keep_a_head(a, old)


async def _keep_a_head(a: _Apply, household: Household) -> None:
    """When the head left, the spouse (or else the eldest) heads the household now."""
    await a.session.refresh(household, ["members"])
    living = [m for m in household.members if m.status == "alive"]
    if not living or any(m.relationship == "head" for m in living):
        return
    spouse = next((m for m in living if m.relationship == "spouse"), None)
    successor = spouse or min(living, key=lambda m: m.birth_date)
    await a.change_member(successor, "member_changed", relationship="head")


async def _new_household(a: _Apply) -> None:
    p = a.payload
    details = {key: p[key] for key in ("floor", "wall", "roof") if p.get(key)}
    for key in ("location", "phone"):
        if p.get(key):
            details[key] = p[key]
    household = await _new_household_row(
        a, kk=p.get("kk"), address=p["address"], region_code=p["village"]["code"], rw=p["rw"],
        rt=p["rt"], details=details,
    )  # fmt: skip
    for item in p["members"]:
        if item.get("m_nik") and await member_by_nik(a.session, item["m_nik"]) is not None:
            raise IllegalTransition(
                _("A member's NIK is already in the registry; reject this report.")
            )
        await a.add_member(
            household.id, nik=item.get("m_nik"), name=item["m_name"], sex=item["m_sex"],
            birth_date=_day(item["m_birth"]), relationship=item["m_relationship"],
        )  # fmt: skip
    a.report.household = household


async def _member_data(a: _Apply) -> None:
    p = a.payload
    member = await a.member()
    field = p["field"]
    changes: dict[str, Any] = {field: p[field]}
    if field == "work":
        changes["occupation"] = p.get("occupation")
    await a.change_member(member, "member_changed", **changes)


async def _housing(a: _Apply) -> None:
    household = await a.household()
    p = a.payload
    before = {"details": dict(household.details or {})}
    details = dict(household.details or {})
    for key in p["aspects"]:
        if key in HOUSEHOLD_KEYS:
            details[key] = p.get(key)
    household.details = details
    await a.session.flush()
    a.revise("household_changed", household.id, before=before, after={"details": details})


async def _identity(a: _Apply) -> None:
    p = a.payload
    member = await a.member()
    what = p["what"]
    value = p[f"new_{what}"]
    await a.change_member(
        member, "member_corrected", **{what: _day(value) if what == "birth_date" else value}
    )


async def _dispute(a: _Apply) -> None:
    p = a.payload
    flag = HouseholdFlag(
        household_id=a.report.household_id,
        report_id=a.report.id,
        region_code=a.report.region_code,
        kind=p["subject"],
        details={k: p[k] for k in ("programmes", "target", "target_kk", "reason") if p.get(k)},
    )
    a.session.add(flag)


APPLIERS: dict[str, Callable[[_Apply], Awaitable[None]]] = {
    "birth": _birth,
    "death": _death,
    "move_out": _move_out,
    "move_in": _move_in,
    "marriage": _marriage,
    "new_household": _new_household,
    "member_data": _member_data,
    "housing": _housing,
    "identity": _identity,
    "dispute": _dispute,
}


async def apply_report(
    session: AsyncSession, report: Report, approver: Account
) -> list[RegistryRevision]:
    applier = APPLIERS.get(report.kind)
    if applier is None:
        raise DomainError(f"no apply function for report kind {report.kind!r}")
    work = _Apply(session, report, approver)
    await applier(work)
    await session.flush()
    return work.revisions
