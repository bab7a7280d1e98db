"""Importing a village's population from its own system, again and again: a sync.

The OpenSID workbook of one desa/kelurahan (:mod:`registry.population`) is compared
with the registry's households of that village:

* a KK not in the registry is a new household; a living person not in it, a new member;
* a field that differs (name, sex, birth date, SHDK, NIK once issued, household, address,
  dusun, RW, RT, education, work, marital status, birthplace) is changed;
* a person whose ``status_dasar`` is not *hidup* is recorded as deceased (mati), moved
  (pindah) or gone (hilang, pergi, tidak valid); a living member of a household of the
  village that is absent from the file is marked *gone*, never deleted. Households
  without a KK yet (reported through the bot, waiting for Dukcapil) are left alone.

Every change is a :class:`~storage.models.RegistryRevision` whose source is the import
(``import_id``), not a report. A change about a person a report still in review is
about is listed as a conflict (the import is the village's own data; the reviewers
decide the report knowing it). A KK or a living NIK that the registry has in another
village refuses the whole file. :func:`plan_sync` computes everything without writing;
:func:`apply_sync` writes it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from locales import _
from registry import links
from registry.errors import DomainError, ImportRejected, RowError
from registry.households import member_snapshot
from registry.kinds.base import follow_member
from registry.nik import mask
from registry.population import Person
from registry.regions import VILLAGE_LEVEL
from registry.workflow import OPEN_STATES
from storage.models import Household, Member, Region, RegistryImport, RegistryRevision, Report

# status_dasar -> the registry's member status and the revision's action.
_ENDED = {2: ("deceased", "member_deceased"), 3: ("moved", "member_moved_out")}
_GONE = ("gone", "member_gone")
# Member.details keys the village's data decides; the others (disability, illness, ...)
# come from reports and are kept.
NIK_PENDING = "nik_pending"
_CHUNK = 500


@dataclass
class Change:
    """One change the import makes. ``columns`` are the member's (or household's) new
    values; ``kk`` the household a member belongs to afterwards."""

    action: str
    kk: str
    name: str
    nik: str | None = None
    line: int | None = None
    member: Member | None = None
    household: Household | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """``field: old -> new; ...`` of a change (NIK and KK masked); empty for an addition."""
        if self.action.endswith("_added"):
            return ""
        parts = []
        for key, new in self.columns.items():
            old = self.before.get(key)
            if key in ("nik", "kk"):
                old, new = mask(old or ""), mask(new or "")
            if key == "details":
                for k in sorted(set(old or {}) | set(new or {})):
                    if (old or {}).get(k) != (new or {}).get(k):
                        parts.append(f"{k}: {(old or {}).get(k, '')} -> {(new or {}).get(k, '')}")
                continue
            parts.append(f"{key}: {'' if old is None else old} -> {new}")
        return "; ".join(parts)


@dataclass
class Conflict:
    report: str
    kind: str
    name: str
    action: str


@dataclass
class SyncPlan:
    region_code: str
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    rows: int = 0
    not_living: int = 0  # rows whose status_dasar is not hidup
    without_nik: int = 0  # living people with NIK 0 or a temporary NIK (flagged)
    households: dict[str, Household] = field(default_factory=dict)  # the village's, by KK

    def counts(self) -> dict[str, int]:
        counted = Counter(c.action for c in self.changes)
        return {
            "rows": self.rows, "not_living": self.not_living, "without_nik": self.without_nik,
            "conflicts": len(self.conflicts), **counted,
        }  # fmt: skip


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


async def _village(session: AsyncSession, code: str) -> Region:
    region = await session.get(Region, code)
    if region is None or region.level != VILLAGE_LEVEL:
        raise DomainError(
            _("{code} is not a known desa/kelurahan (import the region codes first).").format(
                code=code
            ),
            code="unknown_region",
        )
    return region


async def _elsewhere(
    session: AsyncSession, people: list[Person], region_code: str
) -> tuple[dict[str, Member], list[RowError]]:
    """The registry's members with the file's NIKs (any village), and the rows that
    another village holds: a KK, or the NIK of a person living in this file and there."""
    errors: list[RowError] = []
    kks = sorted({p.kk for p in people})
    other_kk: dict[str, str] = {}
    for i in range(0, len(kks), _CHUNK):
        rows = await session.execute(
            select(Household.kk, Household.region_code).where(
                Household.kk.in_(kks[i : i + _CHUNK]), Household.region_code != region_code
            )
        )
        other_kk.update({kk: code for kk, code in rows.all()})
    niks = sorted({p.nik for p in people if p.nik})
    known: dict[str, Member] = {}
    for i in range(0, len(niks), _CHUNK):
        found = await session.execute(
            select(Member)
            .options(joinedload(Member.household))
            .where(Member.nik.in_(niks[i : i + _CHUNK]))
        )
        known.update({m.nik: m for m in found.scalars() if m.nik})
    reported: set[str] = set()
    for p in people:
        if p.kk in other_kk and p.kk not in reported:
            reported.add(p.kk)
            errors.append(RowError(p.line, _(
                "household {kk} is in another desa/kelurahan in the registry ({code}); "
                "a KK belongs to one village: check --region"
            ).format(kk=mask(p.kk), code=other_kk[p.kk])))  # fmt: skip
        member = known.get(p.nik or "")
        if p.living and member is not None and member.status == "alive":
            code = member.household.region_code
            if code != region_code:
                errors.append(RowError(p.line, _(
                    "NIK {nik} is a living member of a household in another "
                    "desa/kelurahan in the registry ({code})"
                ).format(nik=mask(member.nik or ""), code=code)))  # fmt: skip
    return known, errors


async def plan_sync(session: AsyncSession, people: list[Person], region_code: str) -> SyncPlan:
    """What importing ``people`` into the village ``region_code`` changes; writes nothing.
    Raises ``ImportRejected`` (a KK or living NIK of another village) or ``DomainError``
    (not a known village)."""
    await _village(session, region_code)
    known, errors = await _elsewhere(session, people, region_code)
    if errors:
        raise ImportRejected(errors, count=len({e.line for e in errors}))
    plan = SyncPlan(region_code, rows=len(people))
    households = (
        (await session.execute(select(Household).where(Household.region_code == region_code)))
        .scalars()
        .all()
    )
    by_kk = {h.kk: h for h in households if h.kk}
    plan.households = dict(by_kk)
    matched: set[int] = set()
    new_kks: set[str] = set()
    for p in people:
        household = by_kk.get(p.kk)
        member = known.get(p.nik or "")
        if member is not None and not p.living and member.household.region_code != region_code:
            member = None  # left this village (pindah, ...) and lives on elsewhere: not ours
        member = member or _without_nik(household, p, matched)
        if member is not None:
            matched.add(member.id)
        if not p.living:
            plan.not_living += 1
            if member is not None and member.status == "alive":
                status, action = _ENDED.get(p.status, _GONE)
                plan.changes.append(_member_change(action, p, member, {"status": status}))
            continue
        if p.nik is None:
            plan.without_nik += 1
        if household is None and p.kk not in new_kks:
            new_kks.add(p.kk)
            plan.changes.append(
                Change("household_added", p.kk, p.name, line=p.line, columns=_place(p))
            )
        elif household is not None and p.kk not in new_kks:
            new_kks.add(p.kk)  # compared once, on its first row
            changed = _diff(_household_values(household), _place(p))
            if changed:
                plan.changes.append(Change(
                    "household_changed", p.kk, p.name, line=p.line, household=household,
                    columns=changed, before=_household_values(household),
                ))  # fmt: skip
        if member is None:
            plan.changes.append(Change("member_added", p.kk, p.name, nik=p.nik, line=p.line,
                                       columns=_member_values(p, None)))  # fmt: skip
            continue
        current = _current(member)
        changed = _diff(current, _member_values(p, member))
        if changed:
            plan.changes.append(_member_change("member_changed", p, member, changed))
    for household in households:
        if household.kk is None:
            continue  # not in the village's system yet: reported through the bot
        for member in household.members:
            if member.status == "alive" and member.id not in matched:
                plan.changes.append(Change(
                    "member_gone", household.kk, member.name, nik=member.nik, member=member,
                    columns={"status": "gone"}, before=_current(member),
                ))  # fmt: skip
    plan.conflicts = await _conflicts(session, plan.changes)
    return plan


def _without_nik(household: Household | None, p: Person, matched: set[int]) -> Member | None:
    """A member of the household without a NIK yet, with the person's name (and birth date)."""
    if household is None:
        return None
    for m in household.members:
        if m.nik is None and m.id not in matched and _name_key(m.name) == _name_key(p.name):
            if p.birth_date is None or m.birth_date == p.birth_date:
                return m
    return None


def _member_change(action: str, p: Person, member: Member, columns: dict[str, Any]) -> Change:
    return Change(action, p.kk, member.name, nik=member.nik, line=p.line, member=member,
                  columns=columns, before=_current(member))  # fmt: skip


def _place(p: Person) -> dict[str, Any]:
    return {"address": p.address, "rw": p.rw, "rt": p.rt, "dusun": p.dusun}


def _household_values(h: Household) -> dict[str, Any]:
    return {
        "address": h.address,
        "rw": h.rw,
        "rt": h.rt,
        "dusun": (h.details or {}).get("dusun", ""),
    }


def _current(m: Member) -> dict[str, Any]:
    return {
        "kk": m.household.kk, "nik": m.nik, "name": m.name, "sex": m.sex,
        "birth_date": m.birth_date, "relationship": m.relationship, "status": m.status,
        "details": dict(m.details or {}),
    }  # fmt: skip


def _member_values(p: Person, member: Member | None) -> dict[str, Any]:
    details = dict(member.details or {}) if member is not None else {}
    details.update(p.details)
    if p.nik is None:
        details[NIK_PENDING] = True
    else:
        details.pop(NIK_PENDING, None)
    values: dict[str, Any] = {
        "kk": p.kk, "name": p.name, "sex": p.sex, "birth_date": p.birth_date,
        "relationship": p.relationship, "status": "alive", "details": details,
    }  # fmt: skip
    if p.nik is not None:
        values["nik"] = p.nik  # a temporary NIK never replaces a real one
    return values


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if current.get(k) != v}


async def _conflicts(session: AsyncSession, changes: list[Change]) -> list[Conflict]:
    """Changes about a person an open report is about (its *touched* members)."""
    about: dict[int, list[Change]] = {}
    for change in changes:
        if change.member is not None:
            about.setdefault(change.member.household_id, []).append(change)
    if not about:
        return []
    found: list[Conflict] = []
    ids = sorted(about)
    for i in range(0, len(ids), _CHUNK):
        reports = await session.execute(
            select(Report)
            .where(Report.state.in_(OPEN_STATES), Report.household_id.in_(ids[i : i + _CHUNK]))
            .order_by(Report.id)
        )
        for report in reports.unique().scalars():
            keys = await links.touched(session, report)
            for change in about[report.household_id or 0]:
                if change.member is not None and f"m{change.member.id}" in keys:
                    found.append(Conflict(report.number or str(report.id), report.kind,
                                          change.member.name, change.action))  # fmt: skip
    return found


async def apply_sync(session: AsyncSession, plan: SyncPlan, file_name: str) -> RegistryImport:
    """Write the plan: households, members and a revision for each change, from one
    :class:`~storage.models.RegistryImport`."""
    record = RegistryImport(
        source="opensid", file_name=file_name[:255], region_code=plan.region_code,
        counts=plan.counts(),
    )  # fmt: skip
    session.add(record)
    await session.flush()

    def revise(
        action: str, household_id: int, member: Member | None, before: Any, after: Any
    ) -> None:
        session.add(RegistryRevision(
            household_id=household_id, member_id=member.id if member else None,
            import_id=record.id, action=action, before=before, after=after,
        ))  # fmt: skip

    households = dict(plan.households)
    added: list[Household] = []
    for change in plan.changes:
        if change.action == "household_added":
            c = change.columns
            household = Household(
                kk=change.kk, address=c["address"], region_code=plan.region_code, rw=c["rw"],
                rt=c["rt"], desil=None, details={"dusun": c["dusun"]} if c["dusun"] else {},
                members=[],
            )  # fmt: skip
            session.add(household)
            households[change.kk] = household
            added.append(household)
        elif change.action == "household_changed":
            household = change.household
            assert household is not None
            before = _household_json(household)
            c = change.columns
            household.address = c.get("address", household.address)
            household.rw, household.rt = c.get("rw", household.rw), c.get("rt", household.rt)
            if "dusun" in c:
                household.details = {**(household.details or {}), "dusun": c["dusun"]}
            revise("household_changed", household.id, None, before, _household_json(household))
    await session.flush()  # one flush for every new household: their ids
    for household in added:
        revise("household_added", household.id, None, None, _household_json(household))

    # Members join their households through the relationship, so that the households'
    # loaded member lists stay true without reading them again.
    written: list[tuple[Change, Member, dict[str, Any] | None]] = []
    for change in plan.changes:
        if change.action == "member_added":
            c = change.columns
            member = Member(
                nik=c.get("nik"), name=c["name"], sex=c["sex"], birth_date=c["birth_date"],
                relationship=c["relationship"], status="alive", details=c["details"],
            )  # fmt: skip
            households[change.kk].members.append(member)
            written.append((change, member, None))
        elif change.member is not None:
            member = change.member
            before = member_snapshot(member)
            for key, value in change.columns.items():
                if key == "kk":  # the old household's list follows (backref)
                    households[value].members.append(member)
                else:
                    setattr(member, key, value)
            written.append((change, member, before))
    await session.flush()  # one flush for every member: their ids and households
    for change, member, before in written:
        after = member_snapshot(member)
        revise(change.action, member.household_id, member, before, after)
        if before is None:
            continue
        if before["household_id"] != member.household_id:
            revise("member_left", before["household_id"], member, before, None)
        if before["household_id"] != member.household_id or before["status"] != member.status:
            await follow_member(session, member)
    await session.flush()
    return record


def _household_json(h: Household) -> dict[str, Any]:
    return {
        "kk": h.kk, "address": h.address, "region_code": h.region_code, "rw": h.rw, "rt": h.rt,
        "details": dict(h.details or {}),
    }  # fmt: skip
