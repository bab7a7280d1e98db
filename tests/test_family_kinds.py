"""The family changes of issue 17 without a bot: relationships after a split or a merge,
the Dukcapil document each approved type names, the mother's age and the same baby."""

from __future__ import annotations

from datetime import date

import pytest

from locales import use_locale
from registry.kinds import KINDS, birth, merge_households, split_household
from registry.neighbours import search_words
from storage.models import Member


def person(relationship: str, born: date = date(1990, 1, 1), name: str = "X") -> Member:
    return Member(name=name, sex="F", birth_date=born, relationship=relationship, status="alive")


@pytest.mark.parametrize(
    ("head", "member", "expected"),
    [
        ("head", "spouse", "spouse"),  # the old head leaves with his wife and children
        ("head", "child", "child"),
        ("spouse", "head", "spouse"),
        ("child", "child_in_law", "spouse"),  # a son leaves with his wife and their child
        ("child", "grandchild", "child"),
        ("child", "spouse", "parent"),  # ... and with his mother
        ("child", "child", "other_relative"),  # a sibling
        ("other_relative", "child", "other_relative"),
    ],
)
def test_relationships_in_the_family_that_splits_off(head, member, expected) -> None:
    new_head = person(head)
    assert split_household.relabel(new_head, new_head) == "head"
    assert split_household.relabel(new_head, person(member)) == expected


@pytest.mark.parametrize(
    ("joining_head_as", "member", "expected"),
    [
        ("child", "head", "child"),
        ("child", "spouse", "child_in_law"),  # a married son's family joins his parents' KK
        ("child", "child", "grandchild"),
        ("parent", "spouse", "parent"),  # the parents join their son's KK
        ("spouse", "child", "child"),
        ("other_relative", "child", "other_relative"),
    ],
)
def test_relationships_of_the_family_that_joins(joining_head_as, member, expected) -> None:
    assert merge_households.relabel(joining_head_as, person(member)) == expected


@pytest.mark.parametrize(
    ("kind", "payload", "document"),
    [
        ("birth", {}, "akta kelahiran"),
        ("death", {}, "akta kematian"),
        ("move_out", {}, "surat pindah"),
        ("move_in", {}, "surat pindah"),
        ("marriage", {"event": "married", "new_household": "no"}, "buku nikah"),
        ("marriage", {"event": "divorced", "new_household": "no"}, "akta cerai"),
        ("marriage", {"event": "married", "new_household": "yes"}, "KK baru"),
        ("new_household", {"kk": None}, "KK (kartu keluarga)"),
        ("head_change", {}, "KK baru"),
        ("split_household", {}, "KK baru"),
        ("merge_households", {}, "KK baru"),
        ("identity", {}, "perbaikan KK"),
    ],
)
def test_the_dukcapil_document_of_each_approved_type(kind, payload, document) -> None:
    with use_locale("id"):
        assert document in KINDS[kind].dukcapil_document(payload)


@pytest.mark.parametrize("kind", ["member_data", "housing", "dispute"])
def test_no_dukcapil_document_where_none_is_needed(kind) -> None:
    assert KINDS[kind].dukcapil_document({}) is None
    assert KINDS["new_household"].dukcapil_document({"kk": "1671011203150007"}) is None


def test_the_mother_is_old_enough() -> None:
    born = date(2026, 12, 1)
    assert birth.old_enough(person("spouse", date(2016, 12, 1)), born, 10)
    assert not birth.old_enough(person("child", date(2016, 12, 2)), born, 10)
    assert birth.old_enough(person("spouse", date(2000, 2, 28)), date(2024, 2, 29), 24)
    assert not birth.old_enough(person("spouse", date(2000, 3, 1)), date(2024, 2, 29), 24)


@pytest.mark.parametrize(
    ("name", "same"),
    [("PUTRI AYU", True), ("putri  ayu lestari", True), ("Putri", True), ("PUTRI AYUNI", False),
     ("MUHAMMAD HASAN", False)],
)  # fmt: skip
def test_the_same_baby_in_any_case_or_spacing(name, same) -> None:
    member = person("child", date(2026, 12, 1), name="Putri Ayu")
    assert birth.same_baby(member, name, "2026-12-01") is same
    assert birth.same_baby(member, name, "2026-12-02") is False


def test_search_words() -> None:
    assert search_words("  Siti_Aminah, binti  ") == ["siti", "aminah", "binti"]
    assert search_words("%_") == []
