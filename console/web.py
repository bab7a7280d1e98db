"""What every console page shares: the console's state on the application, templates
(Jinja2, autoescaped, gettext from the same catalogs as the chat), the security
headers, one database session per request, the locale, the signed-in account and the
CSRF check."""

from __future__ import annotations

import hmac
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from locales import (
    SUPPORTED_LOCALES,
    _,
    format_date,
    format_datetime,
    gettext,
    in_wib,
    ngettext,
    use_locale,
)
from registry import signin
from registry.accounts import admin_regions
from registry.policy import Policy
from storage.models import Account, ConsoleSession
from storage.updates import is_outage

log = logging.getLogger(__name__)

SESSION_COOKIE = "lw_session"
LANG_COOKIE = "lw_lang"
PRE_COOKIE = "lw_pre"  # binds a sign-in form to the browser that opened the link
# Paths served without a session.
PUBLIC = ("/login", "/static/", "/bahasa/", "/healthz")

# What the middleware keeps on each request.
LANG = web.RequestKey("lang", str)
DB = web.RequestKey("db", AsyncSession)
ACCOUNT = web.RequestKey("account", Account)
SESSION_ROW = web.RequestKey("console_session", ConsoleSession)
WIDGET_PAGE = web.RequestKey("widget_page", bool)
CSRF = web.RequestKey("csrf", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def when(value: Any) -> str:
    """A stored (naive UTC) time as people read it: ``3 Des 2026 14.05 WIB``."""
    return format_datetime(in_wib(value), "short") + " WIB"


class RateLimiter:
    """At most ``limit`` sign-in attempts per client address within ``window`` seconds
    (per process)."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if len(self._hits) > 10_000:  # forget idle clients
            self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < self.window}
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


@dataclass
class Console:
    sessionmaker: async_sessionmaker[AsyncSession]
    policy: Policy
    bot_token: str | None
    bot_username: str | None
    public_url: str | None
    default_locale: str
    evidence: Any  # console.evidence.EvidenceCache
    limiter: RateLimiter = field(default_factory=RateLimiter)
    on_enqueued: Callable[[], None] | None = None  # wakes the outbox sender in this process
    env: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("console", "templates"),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
        )
        self.env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
        self.env.globals.update(format_date=format_date, when=when)

    @property
    def secure(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))

    @property
    def widget(self) -> bool:
        """The Telegram Login Widget works only on an https site with the bot's username."""
        return self.secure and bool(self.bot_username) and bool(self.bot_token)


CONSOLE: web.AppKey[Console] = web.AppKey("console", Console)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def db(request: web.Request) -> AsyncSession:
    return request[DB]


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    console = console_of(request)
    values.setdefault("account", request.get(ACCOUNT))
    account = values["account"]
    values.setdefault("is_admin", account is not None and bool(admin_regions(account)))
    html = console.env.get_template(template).render(
        lang=request[LANG],
        csrf=request.get(CSRF, ""),
        # The language switch comes back here: only to a page a GET can open again.
        path=request.path_qs if request.method == "GET" else "/",
        **values,
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def message_page(request: web.Request, status: int, title: str, text: str) -> web.Response:
    return render(request, "message.html", status=status, title=title, text=text)


def _csp(request: web.Request) -> str:
    widget = request.get(WIDGET_PAGE, False)
    script = "'self' https://telegram.org" if widget else "'self'"
    frame = "https://oauth.telegram.org" if widget else "'none'"
    return (
        f"default-src 'self'; script-src {script}; style-src 'self'; img-src 'self' data:; "
        f"frame-src {frame}; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if exc.status >= 400 and (exc.content_type == "text/plain" or not exc.text):
            response = _error_page(request, exc)
    except Exception:
        # The route's pattern, not the path: a sign-in link's code is in its path.
        route = request.match_info.route.resource
        log.exception("console: error on %s", route.canonical if route else "?")
        response = _error_page(request, web.HTTPInternalServerError())
    response.headers["Content-Security-Policy"] = _csp(request)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException) and response.status >= 300:
        raise response
    return response


def _error_page(request: web.Request, exc: web.HTTPException) -> web.Response:
    """An error as a page in the reader's language (aiohttp's own is English plain text)."""
    lang = request.get(LANG) or _lang(request, console_of(request).default_locale)
    request[LANG] = lang
    default = exc.text is None or exc.text in ("", f"{exc.status}: {exc.reason}")
    with use_locale(lang):
        if exc.status == 404:
            title = _("Page not found")
            text = _("This page does not exist, or it is outside your area.")
        elif exc.status == 403:
            title, text = _("Not allowed"), _("Your role does not allow this.")
        elif exc.status == 405:
            title = _("Page not found")
            text = _("This address cannot be opened like this. Use the buttons on the pages.")
        elif exc.status == 413:  # aiohttp's own text is English and technical
            title = _("The file is too large")
            text = _("Send at most 1 MB at once. Split the file and try again.")
            default = True
        elif exc.status >= 500:
            title = _("Something went wrong")
            text = _("The page could not be made. Please try again. If it happens again, "
                     "tell your administrator the time.")  # fmt: skip
        else:
            title, text = _("Cannot open this page"), _("The address is not valid.")
        if not default:
            text = exc.text or text
        return render(
            request, "message.html", status=exc.status, title=title, text=text, account=None,
            is_admin=False,
        )  # fmt: skip


def _lang(request: web.Request, default: str) -> str:
    lang = request.cookies.get(LANG_COOKIE, default)
    return lang if lang in SUPPORTED_LOCALES else default


@web.middleware
async def per_request(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One database session per request (committed when the page was made), the locale,
    and, off the public paths, the signed-in account, its grants read now, and the CSRF
    token of every POST."""
    console = console_of(request)
    request[LANG] = lang = _lang(request, console.default_locale)
    with use_locale(lang):
        try:
            async with console.sessionmaker() as session:
                request[DB] = session
                public = request.path.startswith(PUBLIC)
                if not public:
                    denied = await _sign_in_check(request, session)
                    if denied is not None:
                        await session.commit()  # an ended session stays ended
                        return denied
                response = await handler(request)
                await session.commit()
                return response
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.error("console: the database is unreachable (%s)", exc.__class__.__name__)
            return message_page(
                request, 503, _("Please try again"),
                _("The service cannot reach its database for a moment. Please try again in a "
                  "few minutes."),
            )  # fmt: skip


async def _sign_in_check(request: web.Request, session: AsyncSession) -> web.Response | None:
    found = await signin.session_account(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        if request.method == "GET":
            response = redirect("/login")
            response.del_cookie(SESSION_COOKIE, path="/")
            return response
        return message_page(
            request, 403, _("Please sign in"),
            _("Your session has ended. Send /masuk to the bot for a new sign-in link."),
        )  # fmt: skip
    row, account = found
    request[SESSION_ROW], request[ACCOUNT], request[CSRF] = row, account, row.csrf_token
    if request.method == "POST":
        form = await request.post()
        given = str(form.get("csrf", ""))
        if not given or not hmac.compare_digest(given.encode(), row.csrf_token.encode()):
            return message_page(
                request, 403, _("The form has expired"),
                _("This form is no longer valid. Go back, reload the page and try again."),
            )  # fmt: skip
    return None


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str,
               max_age: int | None = None) -> None:  # fmt: skip
    response.set_cookie(
        name, value, path="/", httponly=True, samesite="Lax",
        secure=console_of(request).secure, max_age=max_age,
    )  # fmt: skip


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


__all__ = ["CONSOLE", "Console", "console_of", "db", "render", "set_cookie"]
