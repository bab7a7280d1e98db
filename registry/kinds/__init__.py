"""The catalog of report types: every change residents report, in the /lapor menu's order.

Each type lives in one module of this package (its form, payload shape, apply,
touched and fingerprint: see :class:`~registry.kinds.base.ReportKind`). The form
engine, ``registry.apply``, ``registry.links``, the workflow policy, the tests and
the benchmarks read this list; adding a type is one new module, its line here and
its translations (``tests/test_kinds.py`` checks that every entry is whole).
"""

from __future__ import annotations

from registry.kinds import (
    aid_proposal,
    birth,
    death,
    dispute,
    head_change,
    housing,
    identity,
    marriage,
    member_data,
    merge_households,
    move_in,
    move_out,
    new_household,
    split_household,
)
from registry.kinds.base import ReportKind

CATALOG: tuple[ReportKind, ...] = (
    birth.KIND,
    death.KIND,
    move_out.KIND,
    move_in.KIND,
    marriage.KIND,
    head_change.KIND,
    split_household.KIND,
    merge_households.KIND,
    new_household.KIND,
    member_data.KIND,
    housing.KIND,
    identity.KIND,
    aid_proposal.KIND,
    dispute.KIND,
)

KINDS: dict[str, ReportKind] = {kind.name: kind for kind in CATALOG}
assert len(KINDS) == len(CATALOG), "two report types share a name"


def kind_named(name: str) -> ReportKind | None:
    return KINDS.get(name)


__all__ = ["CATALOG", "KINDS", "ReportKind", "kind_named"]
