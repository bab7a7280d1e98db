"""The fake Bot API server: HTTP routing, updates (getUpdates) and the people it knows."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fake_bot_api.bot_settings import BotSettingsMixin
from fake_bot_api.chat_methods import ChatMethodsMixin
from fake_bot_api.errors import TelegramError
from fake_bot_api.faults import FaultsMixin, Outage
from fake_bot_api.limits import DEFAULT_EXCLUDED_UPDATES
from fake_bot_api.messages import MessagesMixin
from fake_bot_api.objects import Message, StoredFile
from fake_bot_api.params import Params, Upload
from fake_bot_api.person import Person
from fake_bot_api.webhook import WebhookDelivery, WebhookMixin

_Handler = Callable[[Params], Awaitable[Any]]


class FakeBotAPI(FaultsMixin, WebhookMixin, MessagesMixin, ChatMethodsMixin, BotSettingsMixin):
    """An in-process fake Telegram Bot API server (see the package docstring).

    ``person_class`` and ``message_class`` make the people and messages it stores; a test
    driver subclasses them to add waiting and assertions."""

    person_class: type[Person] = Person
    message_class: type[Message] = Message

    def __init__(
        self,
        token: str = "123456:TEST-fake-token",
        bot_username: str = "lapor_warga_test_bot",
        bot_id: int | None = None,
        *,
        bot_first_name: str = "Lapor Warga (test)",
        strict_html: bool = True,
        flood_limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        if bot_id is None:
            head = token.split(":", 1)[0]
            bot_id = int(head) if head.isdigit() else 123456
        self.bot_id = bot_id
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        # Telegram keeps a bare "&" literally; strict mode rejects it to catch unescaped input.
        self.strict_html = strict_html

        self.sent: list[Message] = []
        self.rejected: list[tuple[str, str]] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []  # every update ever queued
        self.dropped_updates: list[dict[str, Any]] = []  # filtered out by allowed_updates
        self.files: dict[str, StoredFile] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        # (name | description | short_description, language_code or "") -> text
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.webhook_url = ""
        self.allowed_updates: list[str] = []
        # Webhook delivery (see "Webhook delivery" below). What the bot registered:
        self.webhook_secret_token: str | None = None
        self.webhook_max_connections = 40
        self.webhook_last_error_date: int | None = None
        self.webhook_last_error_message: str | None = None
        # Knobs for tests: where deliveries really go (as if behind a load balancer; empty:
        # the registered URL) and how a target is chosen for each attempt...
        self.webhook_targets: list[str] = []
        self.webhook_strategy: str | Callable[[dict[str, Any], list[str]], str] = "round_robin"
        self.webhook_random = random.Random()
        # ...timings (Telegram: about 60 s per request; retries after 0, 2, 4... s up to
        # 60-120 s), the delivery queues ("telegram" or "chat", see _webhook_queue_key),
        # and a guard against POSTing to anything but this machine.
        self.webhook_timeout = 10.0
        self.webhook_retry_delay = 0.05  # the first back-off, doubled per failure...
        self.webhook_retry_max_delay = 1.0  # ...up to this; Retry-After is capped by it too
        self.webhook_ordering = "telegram"
        self.webhook_local_only = True
        self.webhook_deliveries: list[WebhookDelivery] = []  # every attempt, as it ended
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_inflight: dict[int, tuple[Any, asyncio.Task[None]]] = {}
        self._webhook_failures: dict[int, int] = {}  # update_id -> failed attempts so far
        self._webhook_retry_at: dict[int, float] = {}  # update_id -> loop time of next try
        self._webhook_rr = itertools.count()
        self.internal_errors: list[str] = []
        # Telegram's global flood control: at most ``flood_limit`` messages (see
        # FLOOD_COUNTED_METHODS) in any one second, across all chats; more get a 429.
        if flood_limit is not None and flood_limit <= 0:
            raise ValueError("flood_limit must be positive")
        self.flood_limit = flood_limit
        self.clock = clock  # seconds, for the flood limit and outages (tests pass their own)
        self.flood_rejections = 0  # 429s answered by the flood limit
        self.outages: list[Outage] = []  # every outage, the last one current

        self._persons: dict[int, Person] = {}
        self._pending: list[dict[str, Any]] = []  # queued, not yet confirmed
        self._update_ids = itertools.count(1)
        self._delivered_upto = 0
        self._poll_generation = 0
        self._open_queries: dict[str, Person] = {}
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._media_groups = itertools.count(1)
        self._failures: dict[str, list[tuple[int, str, int | None]]] = {}
        self._flood_window: deque[float] = deque()  # when the last second's messages came
        self._flood_until = -math.inf  # a 429 told to wait until then: sends refused
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._methods: dict[str, tuple[str, _Handler]] = {}
        for attr in dir(self):
            if attr.startswith("_api_"):
                name = attr[len("_api_") :]
                self._methods[name.lower()] = (name, getattr(self, attr))

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeBotAPI is not started; await api.start() first")
        return self._base_url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI already started")
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_port = runner.addresses[0][1]
        self._base_url = f"http://{host}:{bound_port}"

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._notify()
        await self._stop_webhook_delivery()
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._base_url = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- test-facing helpers -------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None = "id",
        last_name: str | None = None,
        username: str | None = None,
    ) -> Person:
        """The Person with this id (created on first call; the bot can then message it)."""
        existing = self._persons.get(user_id)
        if existing is not None:
            return existing
        person = self.person_class(
            self,
            user_id,
            first_name,
            language_code=language_code,
            last_name=last_name,
            username=username,
        )
        self._persons[user_id] = person
        return person

    @property
    def persons(self) -> dict[int, Person]:
        return dict(self._persons)

    def file_content(self, file_id: str) -> bytes:
        return self.files[file_id].content

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Params of every call of ``method`` (case-insensitive), in order."""
        return [params for name, params in self.requests if name.lower() == method.lower()]

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return it.
        TimeoutError after ``timeout`` seconds."""
        result: list[Any] = []

        def check() -> bool:
            value = predicate()
            if value:
                result.append(value)
                return True
            return False

        if not await self.wait_until(check, timeout):
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        return result[-1]

    async def wait_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has called getUpdates at least once."""
        await self.wait_for(lambda: self.calls("getUpdates"), timeout, "the bot to poll")

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy, re-checked whenever the fake's state changes
        (a request, an update, a message); False if ``timeout`` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._changed
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                pass

    def _queue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        self.updates.append(update)
        self._pending.append(update)
        self._notify()
        return update

    def _new_query_id(self, person: Person) -> str:
        query_id = f"{person.user_id}{next(self._query_ids):08d}"
        self._open_queries[query_id] = person
        return query_id

    def _new_file_ids(self, prefix: str) -> tuple[str, str]:
        n = next(self._file_ids)
        file_id = f"{prefix}{n:06d}-{secrets.token_urlsafe(18)}"
        unique = f"AQAD{n:06d}{secrets.token_hex(3)}"
        return file_id, unique

    # ---- HTTP handlers -------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.method != "POST" or not request.can_read_body:
            return values, files
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                values.update(body)
            return values, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = Upload(value.filename, value.file.read(), value.content_type)
            else:
                values[key] = value
        return values, files

    def _error(
        self, method: str, status: int, description: str, retry_after: int | None = None
    ) -> web.Response:
        self.rejected.append((method, description))
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        requested = request.match_info["method"]
        entry = self._methods.get(requested.lower())
        name = entry[0] if entry else requested
        try:
            values, files = await self._read_params(request)
        except Exception:  # malformed body: treat as no parameters
            values, files = {}, {}
        params = Params(values, files, request)
        self.requests.append((name, params.loggable()))
        self._notify()
        outage = self.current_outage
        if outage is not None:
            return await outage.answer(name, request)
        if token != self.token:
            return self._error(name, 401, "Unauthorized")
        if entry is None:
            return self._error(name, 404, "Not Found")
        failures = self._failures.get(name.lower())
        if failures:
            status, description, retry_after = failures.pop(0)
            return self._error(name, status, description, retry_after)
        if self.flood_limit is not None:
            wait = self._flood_admit(self._flood_cost(name.lower(), params))
            if wait is not None:
                self.flood_rejections += 1
                return self._error(name, 429, f"Too Many Requests: retry after {wait}", wait)

        polling = name == "getUpdates"
        try:
            result = await entry[1](params)
        except TelegramError as exc:
            return self._error(name, exc.status, exc.description, exc.retry_after)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the fake: make it loud but keep serving
            self.internal_errors.append(f"{name}: {type(exc).__name__}: {exc}")
            return self._error(name, 500, f"Internal Server Error: {type(exc).__name__}: {exc}")
        finally:
            if not polling:
                self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                if stored.mime_type:
                    content_type = stored.mime_type
                elif stored.kind == "photo":
                    content_type = "image/png" if path.endswith(".png") else "image/jpeg"
                else:
                    content_type = "application/octet-stream"
                return web.Response(body=stored.content, content_type=content_type)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    # ---- Bot API methods (name after "_api_" is the Telegram method name) ---------------

    async def _api_getMe(self, p: Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_logOut(self, p: Params) -> bool:
        return True

    async def _api_close(self, p: Params) -> bool:
        return True

    def _update_type(self, update: dict[str, Any]) -> str:
        return next(key for key in update if key != "update_id")

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _deliverable(self) -> list[dict[str, Any]]:
        allowed = set(self.allowed_updates)
        kept = []
        for update in self._pending:
            kind = self._update_type(update)
            ok = kind in allowed if allowed else kind not in DEFAULT_EXCLUDED_UPDATES
            if ok:
                kept.append(update)
            else:
                self.dropped_updates.append(update)
        if len(kept) != len(self._pending):
            self._pending = kept
        return kept

    async def _api_getUpdates(self, p: Params) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise TelegramError(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                status=409,
            )
        offset = p.get_int("offset", 0) or 0
        limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
        timeout = max(p.get_int("timeout", 0) or 0, 0)
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        self._confirm(offset)
        self._poll_generation += 1  # a newer getUpdates supersedes a waiting one
        generation = self._poll_generation

        def ready() -> bool:
            return self._closing or generation != self._poll_generation or bool(self._deliverable())

        if timeout:
            await self.wait_until(ready, timeout)
        if self._closing or generation != self._poll_generation:
            return []
        transport = p.request.transport
        if transport is None or transport.is_closing():
            return []  # the client went away; nothing is delivered
        batch = self._deliverable()[:limit]
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
            self._notify()
        return batch
