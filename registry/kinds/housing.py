"""Perubahan kondisi rumah dan aset: the house or the household's belongings changed."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.forms import Evidence, Form, Step
from registry.kinds.base import Apply, EvidenceFiles, ReportKind, answer_has, touches_nobody
from storage.models import Report

HOUSEHOLD_KEYS = ("floor", "wall", "roof", "water", "sanitation", "electricity", "tenure", "assets")


class HousingPayload(TypedDict):
    aspects: list[str]  # which of HOUSEHOLD_KEYS changed: the answers of those names follow
    floor: NotRequired[str]
    wall: NotRequired[str]
    roof: NotRequired[str]
    water: NotRequired[str]
    sanitation: NotRequired[str]
    electricity: NotRequired[str]
    tenure: NotRequired[str]
    assets: NotRequired[list[str]]
    evidence: NotRequired[EvidenceFiles]


def _housing_step(key: str, prompt: Any) -> Step:
    label = dict(attr.HOUSING_FIELDS)[key]
    return Step(key, "choice", prompt=prompt, label=label, options=attr.HOUSING_CHOICES[key],
                when=answer_has("aspects", key))  # fmt: skip


FORM = Form(
    name="housing",
    title=_l("Change in housing or assets"),
    steps=[
        Step("aspects", "multi", prompt=_l("What has changed in your house or belongings?"),
             label=_l("What changed"), options=attr.HOUSING_FIELDS),
        _housing_step("floor", _l("What is most of the floor made of now?")),
        _housing_step("wall", _l("What are most of the walls made of now?")),
        _housing_step("roof", _l("What is most of the roof made of now?")),
        _housing_step("water", _l("Where does your drinking water come from now?")),
        _housing_step("sanitation", _l("Which toilet does your household use now?")),
        _housing_step("electricity", _l("Where does your electricity come from now?")),
        _housing_step("tenure", _l("Who owns the house you live in now?")),
        Step("assets", "multi", prompt=_l("Which of these does your household own now? Select all."),
             label=_l("Household assets"), options=attr.ASSETS, min_choices=0,
             when=answer_has("aspects", "assets")),
    ],
    evidence=Evidence(prompt=_l("If you like, send photos of the house."), label=_l("Photos")),
)  # fmt: skip


async def apply(a: Apply) -> None:
    p: HousingPayload = a.payload
    household = await a.household()
    before = {"details": dict(household.details or {})}
    details = dict(household.details or {})
    for key in p["aspects"]:
        if key in HOUSEHOLD_KEYS:
            details[key] = p.get(key)
    household.details = details
    await a.session.flush()
    a.revise("household_changed", household.id, before=before, after={"details": details})


def fingerprint(_report: Report) -> str | None:
    """None: two housing reports may each be true (a roof mended twice)."""
    return None


KIND = ReportKind(
    form=FORM,
    payload=HousingPayload,
    apply=apply,
    touched=touches_nobody,  # the house, not a person
    fingerprint=fingerprint,
)
