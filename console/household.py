"""Keluarga: a household's members now or as of a date, and its revisions (NIK and KK
masked), for whoever may see the household's area."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from console.pages import RELATIONSHIPS
from console.web import ACCOUNT, db, render
from flows.review import MEMBER_STATUS
from registry import audit
from registry.accounts import grant_covers
from registry.exports import describe_changes
from registry.history import household_as_of, household_history
from registry.households import household_snapshot
from registry.nik import mask, mask_identity_numbers
from storage.models import Household


async def household_page(request: web.Request) -> web.Response:
    session, account = db(request), request[ACCOUNT]
    try:
        household_id = int(request.match_info["household_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    household = await session.get(Household, household_id)
    if household is None or not any(grant_covers(g, household) for g in account.roles):
        raise web.HTTPNotFound()
    day = None
    try:
        day = date.fromisoformat(request.query.get("tanggal", ""))
    except ValueError:
        day = None
    snapshot = (
        await household_as_of(session, household, day) if day else household_snapshot(household)
    )
    audit.record(session, "household.view", actor=account, by="console", household_id=household.id)
    history = [
        {
            **entry,
            "changes": mask_identity_numbers(describe_changes(entry["before"], entry["after"])),
        }
        for entry in await household_history(session, household)
    ]
    members = [
        {**m, "nik": mask(m["nik"]) if m.get("nik") else "-",
         "relationship": str(RELATIONSHIPS.get(m["relationship"], m["relationship"])),
         "status": str(MEMBER_STATUS.get(m["status"], m["status"]))}
        for m in (snapshot or {}).get("members", [])
    ]  # fmt: skip
    return render(
        request, "household.html", household=household, kk=mask(household.kk or "") or "-",
        members=members, existed=snapshot is not None, day=day, history=history,
    )  # fmt: skip


def routes() -> list[web.RouteDef]:
    return [web.get("/keluarga/{household_id}", household_page)]
