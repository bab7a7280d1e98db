"""Webhook delivery: the fake POSTs queued updates to the bot as Telegram does."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from fake_bot_api.errors import TelegramError
from fake_bot_api.objects import unix_now
from fake_bot_api.params import Params, parse_webhook_reply


class WebhookDelivery(NamedTuple):
    """One webhook POST of an update (``FakeBotAPI.webhook_deliveries``, in the order
    the attempts ended).

    ``result`` is the HTTP status the receiver answered, or the failure, as Telegram
    words it in getWebhookInfo: "Connection refused", "Read timeout expired", "Webhook
    connection closed", ...; "cancelled" when deleteWebhook or ``stop()`` aborted it."""

    update_id: int
    target: str
    result: int | str

    @property
    def ok(self) -> bool:
        return isinstance(self.result, int) and 200 <= self.result < 300


WEBHOOK_STRATEGIES = ("round_robin", "random")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
# Methods Telegram does not run when a webhook answer names them (nor any get* method).
_WEBHOOK_REPLY_REFUSED = frozenset({"setwebhook", "deletewebhook", "close", "logout"})
# Update types Telegram's Bot API server queues per chat; the others are queued per
# sender and type (callback queries of a user apart from the user's messages).
_CHAT_QUEUED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
    }
)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _webhook_queue_key(update: dict[str, Any], ordering: str) -> tuple[str, Any] | None:
    """The delivery queue of ``update``: one update of a queue at a time, in order.

    ``ordering="telegram"`` follows Telegram's Bot API server: messages (and edits,
    channel posts) are queued by chat; callback queries, inline queries, shipping and
    pre-checkout queries by sender, one queue per type; polls by poll. ``"chat"`` puts
    every update of a chat (else of a sender) in one queue. None: no queue (sent freely).
    """
    kind = next((key for key in update if key != "update_id"), "")
    payload = update.get(kind)
    if not isinstance(payload, dict):
        return None

    def ident(obj: Any, key: str) -> Any:
        inner = obj.get(key) if isinstance(obj, dict) else None
        return inner.get("id") if isinstance(inner, dict) else None

    chat_id = ident(payload, "chat")
    if chat_id is None:
        chat_id = ident(payload.get("message"), "chat")  # callback_query
    sender_id = ident(payload, "from")
    if sender_id is None:
        sender_id = ident(payload, "user")
    if ordering == "chat":
        who = chat_id if chat_id is not None else sender_id
        return None if who is None else ("chat", who)
    if kind in _CHAT_QUEUED_UPDATES:
        own_chat = ident(payload, "chat")
        return None if own_chat is None else ("chat", own_chat)
    if kind == "poll":
        return ("poll", payload.get("id"))
    if kind == "poll_answer":
        return ("poll", payload.get("poll_id"))
    family = "payment" if kind in ("shipping_query", "pre_checkout_query") else kind
    who = sender_id if sender_id is not None else chat_id
    return None if who is None else (family, who)


def _retry_after_header(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class WebhookMixin:
    """Webhook methods and delivery of :class:`~fake_bot_api.server.FakeBotAPI`."""

    async def wait_webhook(self, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        """Wait until the bot has set a webhook (setWebhook with a URL); return its URL."""
        return str(await self.wait_for(lambda: self.webhook_url, timeout, "the bot's setWebhook"))

    async def wait_webhook_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the webhook has got (with a 2xx) every update queued so far."""
        if not await self.wait_until(
            lambda: not self._webhook_inflight and not self._deliverable(), timeout
        ):
            raise TimeoutError(
                f"timed out after {timeout}s waiting for the webhook to take every update: "
                f"{len(self._pending)} pending, webhook {self.webhook_url!r}, last error "
                f"{self.webhook_last_error_message!r}"
            )

    async def redeliver(self, update_id: int, target: str | None = None) -> int | str:
        """POST update ``update_id`` to the webhook once more, now, as Telegram does when
        it got no answer in time, e.g. from a slow bot process: the update may reach a
        second process while the first still handles it.

        It goes to ``target`` or else to the next target the strategy picks (see
        ``webhook_targets``), with the secret header; it is recorded in
        ``webhook_deliveries`` and leaves the queue alone. Returns the HTTP status or
        the failure (see :class:`WebhookDelivery`)."""
        update = next((u for u in self.updates if u["update_id"] == update_id), None)
        if update is None:
            raise KeyError(f"no update {update_id} was ever queued")
        url = self._webhook_resolve(target) if target else self._webhook_target(update)
        if not url:
            raise RuntimeError("no webhook is set and no target was given")
        async with aiohttp.ClientSession() as session:
            result, _ = await self._webhook_post(session, update, url)
        return result

    # ---- Webhook delivery ----------------------------------------------------------------
    #
    # While a webhook is set, a background task POSTs the queued updates (the queue
    # getUpdates serves, filtered by allowed_updates the same way) as JSON to the webhook,
    # with "X-Telegram-Bot-Api-Secret-Token" when a secret is set. As Telegram's Bot API
    # server does:
    # * an update is delivered, and leaves the queue, only on a 2xx answer; any other
    #   status (redirects included), a refused or dropped connection or no answer within
    #   ``webhook_timeout`` is a failure, shown in getWebhookInfo's last_error_*, and the
    #   update is tried again after a back-off (``webhook_retry_delay`` doubled per
    #   failure up to ``webhook_retry_max_delay``; a Retry-After header counts instead,
    #   capped the same way), for as long as the webhook is set (Telegram gives up
    #   after a while; the fake does not);
    # * updates are sent in queues, one update of a queue at a time in update_id order:
    #   a queue's next update waits until the previous one got its 2xx (even through
    #   retries), while other queues proceed. Queues follow Telegram (messages per chat,
    #   callback queries per user apart from messages, ...; see _webhook_queue_key), or
    #   with ``webhook_ordering = "chat"`` every update of a chat is in one queue;
    # * at most ``max_connections`` requests are in flight;
    # * a 2xx answer whose body names a Bot API method (JSON, URL-encoded or multipart:
    #   aiogram's SimpleRequestHandler(handle_in_background=False) answers so) has it
    #   run, the result discarded; get* methods, setWebhook, deleteWebhook, close and
    #   logOut are not run.
    # deleteWebhook (or setWebhook with no URL) and stop() end the deliveries, aborting
    # the requests in flight ("cancelled"); their updates stay queued.
    #
    # Each attempt goes to the registered URL, or, when tests set ``webhook_targets``, to
    # one of them, as if a load balancer stood behind the URL: "round_robin" (each
    # attempt, retries too, to the next target), "random" (``webhook_random``, seedable)
    # or a callable ``(update, targets) -> target``. A target without a path gets the
    # registered URL's path and query. Every attempt is recorded in
    # ``webhook_deliveries``. Only loopback hosts get requests (``webhook_local_only``);
    # for any other host the attempt fails without a connection.

    def _check_webhook_url(self, url: str) -> None:
        bad = "Bad Request: bad webhook: "
        if "://" not in url:
            raise TelegramError(bad + "HTTPS url must be provided for webhook")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise TelegramError(bad + "Unsupported URL protocol")
        host = parts.hostname
        if not host:
            raise TelegramError(bad + "URL host is empty")
        try:
            port = parts.port
        except ValueError:
            raise TelegramError(bad + "Wrong port number specified in the URL") from None
        if _is_loopback(host):
            return  # tests: plain http and any port (Telegram itself would refuse these)
        if scheme != "https":
            raise TelegramError(bad + "HTTPS url must be provided for webhook")
        if port not in (None, 80, 88, 443, 8443):
            raise TelegramError(bad + "Webhook can be set up only on ports 80, 88, 443 or 8443")

    async def _api_deleteWebhook(self, p: Params) -> bool:
        self.webhook_url = ""
        await self._stop_webhook_delivery()
        self.webhook_last_error_date = self.webhook_last_error_message = None
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_setWebhook(self, p: Params) -> bool:
        url = p.get_str("url") or ""
        if url:
            self._check_webhook_url(url)
        secret = p.get_str("secret_token") or None
        if secret is not None:
            if len(secret) > 256:
                raise TelegramError("Bad Request: secret token is too long")
            if not _SECRET_TOKEN_RE.fullmatch(secret):
                raise TelegramError("Bad Request: secret token contains unallowed characters")
        max_connections = p.get_int("max_connections", 40)
        allowed = p.get_json("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise TelegramError("Bad Request: can't parse allowed_updates JSON object")
        if not url:
            return await self._api_deleteWebhook(p)
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        if url != self.webhook_url:
            self.webhook_last_error_date = self.webhook_last_error_message = None
        self.webhook_url = url
        self.webhook_secret_token = secret
        # Telegram clamps max_connections to 1-100 rather than refusing it.
        self.webhook_max_connections = min(
            max(40 if max_connections is None else max_connections, 1), 100
        )
        self._poll_generation += 1  # a waiting getUpdates ends (empty): the webhook takes over
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._webhook_loop(), name="webhook")
        self._notify()
        return True

    async def _api_getWebhookInfo(self, p: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook_url:
            if self.webhook_last_error_date is not None:
                info["last_error_date"] = self.webhook_last_error_date
                info["last_error_message"] = self.webhook_last_error_message
            info["max_connections"] = self.webhook_max_connections
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._webhook_failures.clear()
        self._webhook_retry_at.clear()

    def _webhook_resolve(self, target: str) -> str:
        parts = urlsplit(target)
        if parts.path or not self.webhook_url:
            return target
        registered = urlsplit(self.webhook_url)
        return urlunsplit((parts.scheme, parts.netloc, registered.path, registered.query, ""))

    def _webhook_target(self, update: dict[str, Any]) -> str:
        targets = list(self.webhook_targets)
        if not targets:
            return self.webhook_url
        strategy = self.webhook_strategy
        if callable(strategy):
            chosen = strategy(update, targets)
        elif strategy == "round_robin":
            chosen = targets[next(self._webhook_rr) % len(targets)]
        elif strategy == "random":
            chosen = self.webhook_random.choice(targets)
        else:
            raise ValueError(
                f"webhook_strategy must be one of {WEBHOOK_STRATEGIES} or a callable, "
                f"not {strategy!r}"
            )
        return self._webhook_resolve(chosen)

    async def _webhook_loop(self) -> None:
        loop = asyncio.get_running_loop()
        session = aiohttp.ClientSession()
        inflight = self._webhook_inflight
        try:
            while self.webhook_url and not self._closing:
                changed = self._changed
                now = loop.time()
                wake_at: float | None = None
                busy = {key for key, _ in inflight.values() if key is not None}
                for update in self._deliverable():
                    update_id = update["update_id"]
                    if update_id in inflight:
                        continue
                    key = _webhook_queue_key(update, self.webhook_ordering)
                    if key is not None:
                        if key in busy:
                            continue  # not this queue's turn: its earlier update is not done
                        busy.add(key)
                    retry_at = self._webhook_retry_at.get(update_id, 0.0)
                    if retry_at > now:
                        wake_at = retry_at if wake_at is None else min(wake_at, retry_at)
                        continue
                    if len(inflight) >= self.webhook_max_connections:
                        continue  # an ending request notifies: the scan runs again
                    task = asyncio.create_task(self._webhook_attempt(session, update))
                    inflight[update_id] = (key, task)
                delay = None if wake_at is None else max(0.0, wake_at - loop.time())
                try:
                    async with asyncio.timeout(delay):
                        await changed.wait()
                except TimeoutError:
                    pass
        except Exception as exc:  # a bug in the fake: deliveries stop, loudly
            self.internal_errors.append(f"webhook loop: {type(exc).__name__}: {exc}")
            raise
        finally:
            tasks = [task for _, task in inflight.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            inflight.clear()
            await session.close()

    async def _webhook_attempt(
        self, session: aiohttp.ClientSession, update: dict[str, Any]
    ) -> None:
        update_id = update["update_id"]
        try:
            url = self._webhook_target(update)
            result, retry_after = await self._webhook_post(session, update, url)
            if isinstance(result, int) and 200 <= result < 300:
                self._pending = [u for u in self._pending if u["update_id"] != update_id]
                self._webhook_failures.pop(update_id, None)
                self._webhook_retry_at.pop(update_id, None)
            else:
                self._webhook_retry_later(update_id, retry_after)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the fake or a bad strategy: loud, and retried
            self.internal_errors.append(f"webhook: {type(exc).__name__}: {exc}")
            self._webhook_retry_later(update_id, None)
        finally:
            self._webhook_inflight.pop(update_id, None)
            self._notify()

    def _webhook_retry_later(self, update_id: int, retry_after: float | None) -> None:
        failures = self._webhook_failures[update_id] = self._webhook_failures.get(update_id, 0) + 1
        if retry_after is None:
            retry_after = self.webhook_retry_delay * 2 ** (failures - 1)
        delay = min(retry_after, self.webhook_retry_max_delay)
        self._webhook_retry_at[update_id] = asyncio.get_running_loop().time() + delay

    async def _webhook_post(
        self, session: aiohttp.ClientSession, update: dict[str, Any], url: str
    ) -> tuple[int | str, float | None]:
        """One POST of ``update`` to ``url``: (status or failure, Retry-After seconds)."""
        update_id = update["update_id"]
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret_token
        result: int | str
        error: str | None = None
        retry_after: float | None = None
        reply: tuple[str, bytes] | None = None
        host = urlsplit(url).hostname
        if self.webhook_local_only and not _is_loopback(host):
            result = error = f"the fake Bot API delivers only to this machine, not to {host}"
        else:
            try:
                async with session.post(
                    url,
                    data=json.dumps(update, ensure_ascii=False).encode(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    allow_redirects=False,
                ) as response:
                    body = await response.read()
                result = response.status
                if 200 <= result < 300:
                    reply = (response.headers.get("Content-Type", ""), body)
                else:
                    error = f"Wrong response from the webhook: {result} {response.reason or ''}"
                    error = error.rstrip()
                    retry_after = _retry_after_header(response.headers.get("Retry-After"))
            except asyncio.CancelledError:
                self.webhook_deliveries.append(WebhookDelivery(update_id, url, "cancelled"))
                raise
            except TimeoutError:
                result = error = "Read timeout expired"
            except aiohttp.ClientConnectorError as exc:
                refused = isinstance(exc.os_error, ConnectionRefusedError)
                result = error = "Connection refused" if refused else f"Connection error: {exc}"
            except aiohttp.ServerDisconnectedError:
                result = error = "Webhook connection closed"
            except aiohttp.ClientError as exc:
                result = error = f"{type(exc).__name__}: {exc}"
        self.webhook_deliveries.append(WebhookDelivery(update_id, url, result))
        if error is not None:
            self.webhook_last_error_date = unix_now()
            self.webhook_last_error_message = error
        self._notify()
        if reply is not None:
            await self._webhook_reply(session, *reply)
        return result, retry_after

    async def _webhook_reply(
        self, session: aiohttp.ClientSession, content_type: str, body: bytes
    ) -> None:
        """Run the Bot API call a webhook answered with, through this server (so it is
        logged, validated, flood-limited like any call); the result is discarded."""
        values, files = parse_webhook_reply(content_type, body)
        method = str(values.pop("method", "") or "")
        lowered = method.lower()
        if not method or lowered.startswith("get") or lowered in _WEBHOOK_REPLY_REFUSED:
            return
        if self._base_url is None:
            return
        form = aiohttp.FormData()
        for key, value in values.items():
            if value is not None:
                form.add_field(key, value if isinstance(value, str) else json.dumps(value))
        for key, upload in files.items():
            form.add_field(
                key,
                upload.content,
                filename=upload.filename or key,
                content_type=upload.content_type or "application/octet-stream",
            )
        try:
            async with session.post(
                f"{self._base_url}/bot{self.token}/{method}",
                data=form,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            pass  # Telegram does not tell either
