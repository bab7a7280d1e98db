"""Text typed into a region filter is matched literally: LIKE's ``%`` and ``_`` are
escaped (``roles list --region %`` listed every grant)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.cli import main
from flows.meeting import in_area
from registry.accounts import grant_role
from registry.broadcasts import count_recipients
from registry.invites import list_grants
from registry.regions import search_regions
from storage.models import Region, Report
from storage.patterns import escape_like, within_region
from testkit.factories import VILLAGE

WILDCARDS = ["%", "_", "16%", "16.7_", "16.71.0_", "16.71.01.100_", "\\", "16\\"]


@pytest.mark.parametrize("typed", WILDCARDS)
async def test_a_wildcard_region_lists_no_grant(session, typed: str) -> None:
    await grant_role(session, 9021, "rt", VILLAGE, 2, 3)
    await grant_role(session, 9022, "officer", "16.71")
    assert await list_grants(session, typed) == []
    assert len(await list_grants(session, "16.71")) == 2


def test_roles_list_region_percent_lists_nothing(cli_db, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        main(["roles", "grant", "--role", "officer", "--telegram-id", "5002", "--region", "16.71"])
        == 0
    )
    capsys.readouterr()
    assert main(["roles", "list", "--region", "%"]) == 0
    assert capsys.readouterr().out.strip() == "No active role grants."
    assert main(["roles", "list", "--region", "16.7_"]) == 0
    assert capsys.readouterr().out.strip() == "No active role grants."


@pytest.mark.parametrize("typed", WILDCARDS)
async def test_within_region_takes_wildcards_literally(session, typed: str) -> None:
    found = await session.scalars(select(Region.code).where(within_region(Region.code, typed)))
    assert list(found) == []
    under = await session.scalars(select(Region.code).where(within_region(Region.code, "16.71")))
    codes = list(under)
    assert "16.71" in codes and VILLAGE in codes
    assert all(c == "16.71" or c.startswith("16.71.") for c in codes)


@pytest.mark.parametrize("typed", WILDCARDS)
async def test_meetings_and_announcements_take_wildcards_literally(session, typed: str) -> None:
    session.add(Report(number="LW-2026-000001", kind="death", state="awaiting_rt",
                       region_code=VILLAGE, rw=2, rt=3, payload={}))  # fmt: skip
    await session.flush()
    assert list(await session.scalars(select(Report.id).where(in_area(typed)))) == []
    assert len(list(await session.scalars(select(Report.id).where(in_area("16"))))) == 1
    assert await count_recipients(session, typed) == 0


async def test_region_search_takes_wildcards_literally(session) -> None:
    assert await search_regions(session, "%") == []
    assert await search_regions(session, "_") == []


def test_escape_like() -> None:
    assert escape_like("a%b_c\\d") == "a\\%b\\_c\\\\d"
