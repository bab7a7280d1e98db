"""Pages of a console administrator (role ``admin`` on a kabupaten/kota): the role grants
of the area (list, grant, revoke) and the audit log of the area."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import segno
from aiohttp import web
from markupsafe import Markup

from console.web import ACCOUNT, console_of, db, message_page, redirect, render, when
from flows.onboarding import ROLE_NAMES
from locales import _
from registry import audit
from registry.accounts import ROLES, admin_regions, administers, grant_area, grant_role
from registry.errors import DomainError
from registry.invites import (
    DEFAULT_DAYS,
    create_invite,
    get_grant,
    list_grants,
    revoke_grant,
    rt_head_rows,
)
from storage.models import Account, utcnow

MAX_UPLOAD = 512 * 1024
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


async def invitations_page(request: web.Request, error: str | None = None,
                           status: int = 200) -> web.Response:  # fmt: skip
    account = _admin(request)
    return render(request, "invitations.html", status=status, error=error,
                  regions=admin_regions(account), sheet=None)  # fmt: skip


async def invitations(request: web.Request) -> web.Response:
    """Invitations for the RT heads of a village from a CSV (rw, rt, name), printed as a
    sheet of QR codes with their t.me links."""
    account = _admin(request)
    console = console_of(request)
    form = await request.post()
    region = str(form.get("region", "")).strip()
    upload = form.get("file")
    days = _number(form.get("days", "")) or DEFAULT_DAYS
    if not console.bot_username:
        return await invitations_page(
            request, _("Set BOT_USERNAME: invitation links need the bot's username."), 400
        )
    if not administers(account, region):
        return await invitations_page(request, _("That area is not in your kabupaten/kota."), 403)
    if not isinstance(upload, web.FileField):
        return await invitations_page(request, _("Choose a CSV file."), 400)
    session = db(request)
    try:
        with tempfile.TemporaryDirectory(prefix="lapor-warga-invites-") as tmp:
            path = Path(tmp) / "rt.csv"
            path.write_bytes(upload.file.read(MAX_UPLOAD))
            rows = rt_head_rows(path)
        sheet = []
        for _line, rw, rt, name in rows:
            invite, code = await create_invite(
                session, "rt", region, rw, rt, created_by=account, days=days, by="console"
            )
            link = f"https://t.me/{console.bot_username}?start={code}"
            qr = Markup(segno.make(link, error="m").svg_inline(scale=3))  # generated, no user text
            sheet.append({"name": name, "rw": rw, "rt": rt, "link": link, "qr": qr,
                          "expires": invite.expires_at})  # fmt: skip
    except DomainError as exc:
        await session.rollback()
        await session.refresh(account)
        return await invitations_page(request, str(exc), 400)
    return render(request, "invitations.html", error=None, regions=admin_regions(account),
                  sheet=sheet, region=region)  # fmt: skip


def routes() -> list[web.RouteDef]:
    return [
        web.get("/peran", roles_page),
        web.post("/peran/beri", grant),
        web.post("/peran/{grant_id}/cabut", revoke),
        web.get("/audit", audit_page),
        web.get("/peran/undangan", invitations_page),
        web.post("/peran/undangan", invitations),
    ]
