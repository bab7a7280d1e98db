"""Rumah tangga belum terdata: a household missing from the registry.

The one report a resident can file before linking to a household (``unlinked``)."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any, Literal, NotRequired, TypedDict

from locales import _, format_date
from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.accounts import ReviewArea
from registry.errors import IllegalTransition
from registry.forms import Answers, Evidence, FieldError, Form, FormState, Group, Step
from registry.households import household_by_kk, member_by_nik
from registry.kinds.base import (
    MAX_NAME,
    MAX_PLACE,
    Apply,
    EvidenceFiles,
    ReportKind,
    date_step,
    day,
    norm,
    person_name,
    relationship_options,
    touches_nobody,
)
from registry.nik import parse_nik
from storage.models import Household, Report


class NewMember(TypedDict):
    m_name: str
    m_nik: str | None
    m_sex: Literal["M", "F"]
    m_birth: str  # ISO date
    m_relationship: str  # to the head, one of registry.households.RELATIONSHIPS


class NewHouseholdPayload(TypedDict):
    village: dict[str, Any]  # a region answer: code and name
    rw: int
    rt: int
    address: str
    phone: str | None
    location: dict[str, float] | None  # latitude and longitude
    kk: str | None
    members: list[NewMember]
    floor: str
    wall: str
    roof: str
    evidence: NotRequired[EvidenceFiles]


def _describe_member(item: Answers) -> str:
    parts = [escape(item.get("m_name") or "?")]
    if item.get("m_relationship"):
        parts.append(str(attr.RELATIONSHIP_LABELS[item["m_relationship"]]))
    if item.get("m_birth"):
        parts.append(format_date(date.fromisoformat(item["m_birth"])))
    return " · ".join(parts)


async def _validate(state: FormState) -> None:
    answers = state.answers
    members = answers.get("members") or []
    if sum(1 for m in members if m.get("m_relationship") == "head") != 1:
        raise FieldError(
            _(
                "Exactly one member must be the head of the household. Please enter the members again."
            ),
            step="m_name",
        )
    if answers.get("kk") and await household_by_kk(state.session, answers["kk"]):
        raise FieldError(
            _("This KK is already in the registry. Link your account to it with /start instead."),
            step="kk",
        )
    seen: set[str] = set()
    for number, item in enumerate(members, 1):
        nik = item.get("m_nik")
        if not nik:
            continue
        parsed = parse_nik(nik)
        if parsed.sex != item.get("m_sex") or parsed.birth_date.isoformat() != item.get("m_birth"):
            raise FieldError(
                _(
                    "The NIK of member {n} does not match their sex or birth date. Please enter the members again."
                ).format(n=number),
                step="m_name",
            )
        if nik in seen or await member_by_nik(state.session, nik) is not None:
            raise FieldError(
                _(
                    "The NIK of member {n} is already in the registry or in this list. Please enter the members again."
                ).format(n=number),
                step="m_name",
            )
        seen.add(nik)


async def _target(state: FormState) -> tuple[Household | None, Any]:
    """No household yet: reviewed in the area the reporter named."""
    answers = state.answers
    return None, ReviewArea(answers["village"]["code"], answers["rw"], answers["rt"])


FORM = Form(
    name="new_household",
    title=_l("Household missing from the registry"),
    target=_target,
    validate=_validate,
    steps=[
        Step("village", "region", max_length=MAX_PLACE,
             prompt=_l("In which desa or kelurahan does the household live? Type its name."),
             label=_l("Desa/kelurahan")),
        Step("rw", "number", prompt=_l("Which RW? Send the number."), label=_l("RW"),
             minimum=1, maximum=999, max_length=5),
        Step("rt", "number", prompt=_l("Which RT? Send the number."), label=_l("RT"),
             minimum=1, maximum=999, max_length=5),
        Step("address", "text", prompt=_l("What is the address (street, alley, house number)?"),
             label=_l("Address"), max_length=MAX_PLACE),
        Step("phone", "phone", optional=True, max_length=30,
             prompt=_l("A mobile number where the officers can reach the household, if there is one."),
             label=_l("Phone")),
        Step("location", "location", optional=True,
             prompt=_l("If you are at the house now, press “Send my location” so the officers can find it."),
             label=_l("Location")),
        Step("kk", "kk", optional=True, max_length=40,
             prompt=_l("What is the household's KK number, if it has one?"), label=_l("KK number")),
        Group(
            "members", label=_l("Members"), item_label=_l("Member"),
            more_prompt=_l("Is there another member in this household?"),
            describe=_describe_member,
            steps=[
                Step("m_name", "text", prompt=_l("What is the member's full name?"), label=_l("Name"),
                     max_length=MAX_NAME, parse=person_name),
                Step("m_nik", "nik", prompt=_l("What is their NIK?"), label=_l("NIK"),
                     optional=True, max_length=40),
                Step("m_sex", "choice", prompt=_l("Sex?"), label=_l("Sex"), options=attr.SEX_OPTIONS),
                date_step("m_birth", _l("When were they born?"), _l("Date of birth"), recent=False),
                Step("m_relationship", "choice", prompt=_l("What are they to the head of the household?"),
                     label=_l("Relationship"), options=relationship_options(head=True)),
            ],
        ),
        Step("floor", "choice", prompt=_l("What is most of the floor made of?"), label=_l("Floor"),
             options=attr.FLOOR),
        Step("wall", "choice", prompt=_l("What are most of the walls made of?"), label=_l("Walls"),
             options=attr.WALL),
        Step("roof", "choice", prompt=_l("What is most of the roof made of?"), label=_l("Roof"),
             options=attr.ROOF),
    ],
    evidence=Evidence(prompt=_l("If you like, send a photo of the house or of the KK."),
                      label=_l("Photos")),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: NewHouseholdPayload = a.payload
    details: dict[str, Any] = {key: p[key] for key in ("floor", "wall", "roof") if p.get(key)}
    for key in ("location", "phone"):
        if p.get(key):
            details[key] = p[key]  # type: ignore[literal-required]
    household = await a.new_household(
        kk=p.get("kk"), address=p["address"], region_code=p["village"]["code"], rw=p["rw"],
        rt=p["rt"], details=details,
    )  # fmt: skip
    for item in p["members"]:
        if item.get("m_nik") and await member_by_nik(a.session, item["m_nik"]) is not None:
            raise IllegalTransition(
                _("A member's NIK is already in the registry; reject this report.")
            )
        await a.add_member(
            household.id, nik=item.get("m_nik"), name=item["m_name"], sex=item["m_sex"],
            birth_date=day(item["m_birth"]), relationship=item["m_relationship"],
        )  # fmt: skip
    a.report.household = household


def fingerprint(report: Report) -> str | None:
    p = report.payload
    if p.get("kk"):
        return f"new_household:{p['kk']}"
    village = (p.get("village") or {}).get("code")
    return f"new_household:{village}:{p.get('rw')}:{p.get('rt')}:{norm(p.get('address'))}"


def dukcapil(p: NewHouseholdPayload) -> object:
    """A family without a KK number needs one."""
    return None if p.get("kk") else _l("a KK (kartu keluarga) for the family")


KIND = ReportKind(
    form=FORM,
    payload=NewHouseholdPayload,
    apply=apply,
    touched=touches_nobody,  # its members are not in the registry yet
    fingerprint=fingerprint,
    unlinked=True,
    dukcapil=dukcapil,
)
