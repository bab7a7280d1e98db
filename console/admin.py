"""Pages of a console administrator (role ``admin`` on a kabupaten/kota): the role grants
of the area (list, grant, revoke) and the audit log of the area."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from console.web import ACCOUNT, db, message_page, redirect, render, when
from flows.onboarding import ROLE_NAMES
from locales import _
from registry import audit
from registry.accounts import ROLES, admin_regions, administers, grant_area, grant_role
from registry.errors import DomainError
from registry.invites import get_grant, list_grants, revoke_grant
from storage.models import Account, utcnow

# What an admin may hand out in the console (another admin is granted from the command line).
GRANTABLE = tuple(role for role in ROLES if role != "admin")


def _admin(request: web.Request) -> Account:
    account = request[ACCOUNT]
    if not admin_regions(account):
        raise web.HTTPForbidden(text=_("Only console administrators can open this page."))
    return account


async def roles_page(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.Response:
    account = _admin(request)
    grants = []
    for region in admin_regions(account):
        grants += await list_grants(db(request), region)
    rows = [
        {"grant": g, "role": str(ROLE_NAMES.get(g.role, g.role)), "area": grant_area(g),
         "name": g.account.first_name or "-", "telegram_id": g.account.telegram_id,
         "revocable": g.role != "admin"}
        for g in grants
    ]  # fmt: skip
    roles = [(role, str(ROLE_NAMES[role])) for role in GRANTABLE]
    return render(request, "roles.html", status=status, rows=rows, roles=roles, error=error,
                  regions=admin_regions(account))  # fmt: skip


def _number(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


async def grant(request: web.Request) -> web.Response:
    account = _admin(request)
    form = await request.post()
    role, region = str(form.get("role", "")), str(form.get("region", "")).strip()
    telegram_id = _number(form.get("telegram_id", ""))
    if role not in GRANTABLE or telegram_id is None or telegram_id <= 0:
        return await roles_page(request, _("Choose a role and give a Telegram user id."), 400)
    if not administers(account, region):
        return await roles_page(request, _("That area is not in your kabupaten/kota."), 403)
    rw, rt = _number(form.get("rw", "")), _number(form.get("rt", ""))
    session = db(request)
    try:
        made = await grant_role(session, telegram_id, role, region, rw, rt)
    except DomainError as exc:
        return await roles_page(request, str(exc), 400)
    holder = await session.get(Account, made.account_id)
    audit.record(
        session, "role.grant", actor=account, by="console", subject=holder, grant_id=made.id,
        role=made.role, area=grant_area(made),
    )  # fmt: skip
    return redirect("/peran")


async def revoke(request: web.Request) -> web.Response:
    account = _admin(request)
    grant_id = _number(request.match_info["grant_id"])
    session = db(request)
    try:
        found = await get_grant(session, grant_id or 0)
    except DomainError:
        raise web.HTTPNotFound() from None
    if found.role == "admin" or not administers(account, found.region_code):
        raise web.HTTPNotFound()
    try:
        await revoke_grant(session, found.id, by_account=account, by="console")
    except DomainError as exc:
        return message_page(request, 409, _("Not revoked"), str(exc))
    return redirect("/peran")


async def audit_page(request: web.Request) -> web.Response:
    account = _admin(request)
    days = _number(request.query.get("days", "7")) or 7
    days = min(max(days, 1), 366)
    since = utcnow() - timedelta(days=days)
    rows = []
    for region in admin_regions(account):
        for entry, number in await audit.area_entries(db(request), region, since):
            rows.append({"entry": entry, "number": number, "text": audit.details_text(entry)})
    rows.sort(key=lambda row: row["entry"].id, reverse=True)
    return render(request, "audit.html", rows=rows[:200], days=days, when=when)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/peran", roles_page),
        web.post("/peran/beri", grant),
        web.post("/peran/{grant_id}/cabut", revoke),
        web.get("/audit", audit_page),
    ]
