"""The report-type catalog is whole: every type has every part, and every form is listed."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

import pytest

import flows
from flows.forms import CONVERSATION_FORMS, FORMS
from registry.forms import EVIDENCE_STEP, Form, Group
from registry.kinds import CATALOG, KINDS, kind_named
from registry.kinds.base import ReportKind
from registry.policy import DEFAULT_POLICY, VARIANT_ANSWER


def _keys(payload: type) -> set[str]:
    return set(payload.__required_keys__) | set(payload.__optional_keys__)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", CATALOG, ids=lambda k: k.name)
def test_every_report_type_has_form_payload_apply_touched_and_fingerprint(
    kind: ReportKind,
) -> None:
    assert isinstance(kind.form, Form)
    assert kind.form.submit is None, (
        "report forms are filed by the engine, not a submit of their own"
    )
    assert typing.is_typeddict(kind.payload), f"{kind.name}: payload must be a TypedDict"
    assert inspect.iscoroutinefunction(kind.apply), f"{kind.name}: apply must be async"
    assert inspect.iscoroutinefunction(kind.touched), f"{kind.name}: touched must be async"
    assert callable(kind.fingerprint) and not inspect.iscoroutinefunction(kind.fingerprint)
    assert kind_named(kind.name) is kind


@pytest.mark.parametrize("kind", CATALOG, ids=lambda k: k.name)
def test_the_payload_type_names_exactly_what_the_form_asks(kind: ReportKind) -> None:
    asked = {entry.name for entry in kind.form.steps}
    assert _keys(kind.payload) == asked, kind.name
    hints = typing.get_type_hints(kind.payload)
    for entry in kind.form.steps:
        if isinstance(entry, Group):  # a list: its items' TypedDict names the group's steps
            (item,) = typing.get_args(hints[entry.name])
            assert _keys(item) == {step.name for step in entry.steps}, (kind.name, entry.name)
    if kind.form.evidence is not None:
        assert EVIDENCE_STEP in _keys(kind.payload)


def test_every_module_in_registry_kinds_is_in_the_catalog() -> None:
    """A report-type module whose catalog line was forgotten would never be offered."""
    import registry.kinds as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"registry.kinds.{info.name}")
        kind = getattr(module, "KIND", None)
        assert isinstance(kind, ReportKind), f"registry/kinds/{info.name}.py has no KIND"
        assert kind in CATALOG, f"registry/kinds/{info.name}.py is not in the catalog"


def test_the_catalog_names_are_unique_and_the_menu_order_is_kept() -> None:
    names = [kind.name for kind in CATALOG]
    assert len(set(names)) == len(names)
    assert names[0] == "birth" and set(KINDS) == set(names)
    assert [k.name for k in CATALOG if k.unlinked] == ["new_household"]


def test_the_workflow_policy_knows_every_type_and_only_those() -> None:
    assert set(VARIANT_ANSWER) <= set(KINDS)
    for key in DEFAULT_POLICY.types:
        assert key.partition(".")[0] in KINDS


def _module_forms() -> list[tuple[str, Form]]:
    """Every Form bound at module level in flows/ (conversation forms)."""
    found = []
    for info in pkgutil.iter_modules(flows.__path__):
        module = importlib.import_module(f"flows.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Form):
                found.append((f"flows.{info.name}.{name}", value))
    return found


def test_every_form_a_draft_can_name_is_listed_once() -> None:
    listed = set(map(id, FORMS.values()))
    for where, form in _module_forms():
        assert id(form) in listed, f"{where} is not in flows.forms"
    assert len(FORMS) == len(CATALOG) + len(CONVERSATION_FORMS)
    for kind in CATALOG:
        assert FORMS[kind.name] is kind.form
