"""Sign-in pages: the one-time link from ``/masuk``, the Telegram Login Widget, logout,
the account's open sessions, and the language switch."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets

from aiohttp import web

from console.web import (
    ACCOUNT,
    LANG_COOKIE,
    PRE_COOKIE,
    SESSION_COOKIE,
    SESSION_ROW,
    WIDGET_PAGE,
    console_of,
    db,
    local_path,
    message_page,
    redirect,
    render,
    set_cookie,
)
from locales import SUPPORTED_LOCALES, _
from registry import signin
from storage.models import Account

log = logging.getLogger(__name__)


def _client(request: web.Request) -> str:
    """The address sign-in tries are counted by. Behind the reverse proxy on this machine
    (deploy/nginx: every request comes from 127.0.0.1) it is the last X-Forwarded-For
    entry, the one nginx itself appended; a header from anyone else is not trusted."""
    remote = request.remote or "-"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and _loopback(remote):
        return forwarded.rsplit(",", 1)[-1].strip() or remote
    return remote


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _too_many(request: web.Request) -> web.Response:
    return message_page(
        request, 429, _("Too many tries"),
        _("Too many sign-in tries from this computer. Please wait a minute and try again."),
    )  # fmt: skip


def _refused(request: web.Request, text: str) -> web.Response:
    return message_page(request, 403, _("Cannot sign in"), text)


async def _signed_in(request: web.Request, account: Account, method: str) -> web.Response:
    # A session this browser still had (someone else's on a shared laptop, or one a
    # stranger planted) ends: its cookie is replaced, and it must not live on elsewhere.
    previous = await signin.session_account(db(request), request.cookies.get(SESSION_COOKIE))
    if previous is not None:
        await signin.end_session(db(request), *previous, reason="replaced")
    token, _row = await signin.open_session(
        db(request), account, method=method, user_agent=request.headers.get("User-Agent")
    )
    response = redirect("/")
    set_cookie(response, request, SESSION_COOKIE, token)
    response.del_cookie(PRE_COOKIE, path="/")
    return response


async def login_page(request: web.Request) -> web.Response:
    console = console_of(request)
    request[WIDGET_PAGE] = console.widget
    return render(
        request, "login.html", account=None, widget=console.widget,
        bot_username=console.bot_username or "",
    )  # fmt: skip


async def link_page(request: web.Request) -> web.Response:
    """The link from /masuk shows a button: the code is used by the POST, so a link
    preview or a mail scanner fetching the link does not use it up."""
    nonce = secrets.token_urlsafe(16)
    response = render(request, "login_link.html", account=None, nonce=nonce,
                      code=request.match_info["code"])  # fmt: skip
    set_cookie(response, request, PRE_COOKIE, nonce, max_age=15 * 60)
    return response


async def link_sign_in(request: web.Request) -> web.Response:
    if not console_of(request).limiter.allow(_client(request)):
        return _too_many(request)
    form = await request.post()
    nonce, cookie = str(form.get("nonce", "")), request.cookies.get(PRE_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce.encode(), cookie.encode()):
        return _refused(request, _("Open the sign-in link again in this browser."))
    account = await signin.use_login_code(db(request), request.match_info["code"])
    if account is None:
        return _refused(
            request,
            _("This sign-in link was already used or has expired (links are valid for 10 "
              "minutes). Send /masuk to the bot for a new one."),
        )  # fmt: skip
    return await _signed_in(request, account, "link")


async def widget_sign_in(request: web.Request) -> web.Response:
    console = console_of(request)
    if not console.limiter.allow(_client(request)):
        return _too_many(request)
    if not console.bot_token:
        return _refused(request, _("The sign-in data from Telegram is not valid."))
    try:
        telegram_id = signin.check_widget(request.query, console.bot_token)
    except signin.WidgetRefused as exc:
        return _refused(request, str(exc))
    account = await signin.widget_account(db(request), telegram_id)
    if account is None:
        return _refused(
            request,
            _("Only people with a role can sign in to the web console. Ask your officer "
              "for a role."),
        )  # fmt: skip
    return await _signed_in(request, account, "widget")


async def logout(request: web.Request) -> web.Response:
    await signin.end_session(db(request), request[SESSION_ROW], request[ACCOUNT])
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def sessions_page(request: web.Request) -> web.Response:
    rows = await signin.sessions_of(db(request), request[ACCOUNT])
    return render(request, "sessions.html", rows=rows, current=request[SESSION_ROW].id)


async def revoke_session(request: web.Request) -> web.Response:
    try:
        session_id = int(request.match_info["session_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    if not await signin.revoke_session(db(request), request[ACCOUNT], session_id):
        raise web.HTTPNotFound()
    return redirect("/sesi")


async def language(request: web.Request) -> web.Response:
    lang = request.match_info["lang"]
    if lang not in SUPPORTED_LOCALES:
        raise web.HTTPNotFound()
    response = redirect(local_path(request.query.get("next")))
    set_cookie(response, request, LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    return response


def routes() -> list[web.RouteDef]:
    return [
        web.get("/login", login_page),
        web.get("/login/telegram", widget_sign_in),
        web.get("/login/{code}", link_page),
        web.post("/login/{code}", link_sign_in),
        web.post("/logout", logout),
        web.get("/sesi", sessions_page),
        web.post("/sesi/{session_id}/akhiri", revoke_session),
        web.get("/bahasa/{lang}", language),
    ]
