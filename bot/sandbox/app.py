"""``lapor-warga sandbox``: the real bot, a local Bot API server, a demo registry and
a page with four phones (resident, RT head, lurah, officer), all on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runner import BotRunner
from bot.sandbox.demo import DEMO_HOUSEHOLDS, DEMO_PEOPLE, DEMO_RESIDENT, load_demo
from bot.settings import load_settings
from console.app import ConsoleServer, console_from_settings
from fake_bot_api import FakeBotAPI, Message, NotInChat, Person
from locales import (
    SUPPORTED_LOCALES,
    _,
    format_date,
    format_local,
    lazy_gettext,
    use_locale,
    use_zone,
)
from registry import attributes as attr
from registry.households import household_by_kk
from registry.nik import mask
from registry.regions import zone_of
from storage import db
from storage.models import RegistryRevision, Report

LOOPBACK = "127.0.0.1"
PAGE = Path(__file__).with_name("page.html")

PHONE_TITLES = {
    "resident": lazy_gettext("Resident"),
    "rt": lazy_gettext("RT head"),
    "lurah": lazy_gettext("Lurah / kepala desa"),
    "officer": lazy_gettext("Officer"),
}
RELATIONSHIP_LABELS = attr.RELATIONSHIP_LABELS  # the same words as the chat
STATUS_LABELS = {
    "alive": lazy_gettext("living here"),
    "deceased": lazy_gettext("deceased"),
    "moved": lazy_gettext("moved away"),
    "gone": lazy_gettext("no longer in the village's data"),
}
_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "code": "code",
    "pre": "pre",
}


def entities_to_html(text: str, entities: list[dict[str, Any]]) -> str:
    """What Telegram shows: the plain text escaped, with bold/italic/code... as tags.

    Entity offsets count UTF-16 code units, as in the Bot API.
    """
    starts: dict[int, list[dict[str, Any]]] = {}
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        if entity["type"] in _TAGS:
            starts.setdefault(entity["offset"], []).append(entity)
    out: list[str] = []
    stack: list[tuple[int, str]] = []
    position = 0  # in UTF-16 units
    for char in text + "\0":
        while stack and stack[-1][0] <= position:
            out.append(f"</{stack.pop()[1]}>")
        for entity in starts.get(position, []):
            tag = _TAGS[entity["type"]]
            out.append(f"<{tag}>")
            stack.append((position + entity["length"], tag))
        if char != "\0":
            out.append(escape(char, quote=False))
            position += len(char.encode("utf-16-le")) // 2
    return "".join(out).replace("\n", "<br>")


def revision_text(rev: RegistryRevision) -> str:
    """What an applied change did, in plain words: read from the revision's before and
    after (not only its action name), so that a new report type is labelled too."""
    before, after = rev.before, rev.after
    name = (after or before or {}).get("name")
    if name is None:  # the household itself
        if before is None:
            return _("The family was recorded")
        return _("The family's data was updated")
    if after is None:
        return _("{name} left the family").format(name=name)
    if before is None:
        return _("{name} was added to the family").format(name=name)
    if after.get("status") != before.get("status") and after.get("status") == "deceased":
        return _("{name} died").format(name=name)
    if after.get("status") != before.get("status") and after.get("status") == "moved":
        return _("{name} moved away").format(name=name)
    if after.get("household_id") != before.get("household_id"):
        return _("{name} moved into the family").format(name=name)
    if after.get("relationship") != before.get("relationship"):
        if after.get("relationship") == "head":
            return _("{name} is now the head of the family").format(name=name)
        return _("{name}'s place in the family changed").format(name=name)
    if after.get("name") != before.get("name"):
        return _("{old}'s name was corrected to {name}").format(old=before.get("name"), name=name)
    return _("{name}'s data was updated").format(name=name)


def _message_json(msg: Message) -> dict[str, Any]:
    markup = msg.reply_markup or {}
    data: dict[str, Any] = {
        "id": msg.message_id,
        "mine": not msg.from_bot,
        "html": entities_to_html(msg.plain_text or "", msg.entities) if msg.plain_text else "",
        "buttons": [
            [b.get("text", "") for b in row] for row in markup.get("inline_keyboard") or []
        ],
        "edited": msg.edited > 0,
        "kind": msg.kind,
    }
    if msg.photo_file_id or (msg.photo and msg.kind == "photo"):
        file_id = msg.photo_file_id or msg.photo[-1]["file_id"]  # type: ignore[index]
        data["photo"] = f"/api/file/{file_id}"
    if msg.kind == "document" and msg.document_file_id:  # e.g. /datasaya's file
        name = msg.document_file_name or "document"
        data["document"] = {"url": f"/api/file/{msg.document_file_id}", "name": name}
    if msg.kind == "voice" and msg.voice:
        data["voice"] = f"/api/file/{msg.voice['file_id']}"
    if msg.kind == "contact" and msg.raw:
        data["html"] = "📱 " + escape(msg.raw["contact"]["phone_number"])
    if msg.kind == "location" and msg.raw:
        loc = msg.raw["location"]
        data["html"] = f"📍 {loc['latitude']:.5f}, {loc['longitude']:.5f}"
    return data


def _reply_keyboard(person: Person) -> list[list[dict[str, Any]]] | None:
    """The reply keyboard the person sees now, if any."""
    keyboard = None
    for msg in person.chat():
        if msg.from_bot:
            markup = msg.reply_markup or {}
            if "keyboard" in markup:
                keyboard = (markup["keyboard"], markup.get("one_time_keyboard", False))
            elif markup.get("remove_keyboard"):
                keyboard = None
        elif keyboard is not None and keyboard[1]:
            keyboard = None  # a one-time keyboard hides after the person answered
    if keyboard is None:
        return None
    return [
        [
            {
                "text": b["text"] if isinstance(b, dict) else str(b),
                "contact": bool(isinstance(b, dict) and b.get("request_contact")),
                "location": bool(isinstance(b, dict) and b.get("request_location")),
            }
            for b in row
        ]
        for row in keyboard[0]
    ]


class Sandbox:
    def __init__(self, port: int = 8080, locale: str = "id") -> None:
        self.port = port
        self.locale = locale
        self.api = FakeBotAPI()
        self.phones: dict[str, Person] = {}
        self.runner: BotRunner | None = None
        self.console: ConsoleServer | None = None
        self.console_url = ""
        self._console_engine: AsyncEngine | None = None
        self._web: web.AppRunner | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="lapor-warga-sandbox-"))
        self.url = ""

    async def start(self) -> str:
        await self.api.start(LOOPBACK, 0)
        settings = load_settings(
            bot_token=self.api.token,
            database_url=f"sqlite+aiosqlite:///{self._tmp / 'sandbox.sqlite3'}",
            telegram_api_base=self.api.base_url,
            default_locale=self.locale,
        )
        engine = db.create_engine(settings.database_url, **settings.pool)
        try:
            await db.upgrade(engine)
            async with db.make_sessionmaker(engine)() as session:
                await load_demo(session)
                await session.commit()
        finally:
            await engine.dispose()
        for person in DEMO_PEOPLE:
            self.phones[person.key] = self.api.user(
                person.telegram_id, person.first_name, language_code=self.locale
            )
        # The web console on its own port; /masuk in the phones links to it.
        self._console_engine = db.create_engine(settings.database_url, **settings.pool)
        settings = settings.model_copy(update={"console_cache_dir": self._tmp / "console-cache"})
        self.console = ConsoleServer(
            console_from_settings(
                settings, db.make_sessionmaker(self._console_engine), settings.policy(),
                public_url="http://127.0.0.1", on_enqueued=self._wake_outbox,
            )
        )  # fmt: skip
        console_port = await self.console.start(LOOPBACK, 0)
        self.console_url = f"http://{LOOPBACK}:{console_port}"
        self.console.console.public_url = self.console_url
        settings = settings.model_copy(update={"console_url": self.console_url})
        self.runner = BotRunner(settings)
        await self.runner.start()
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.add_routes(
            [
                web.get("/", self.page),
                web.get("/api/state", self.state),
                web.get("/api/file/{file_id}", self.file),
                web.post("/api/phone/{key}/{action}", self.act),
            ]
        )
        self._web = web.AppRunner(app, access_log=None)
        await self._web.setup()
        site = web.TCPSite(self._web, LOOPBACK, self.port)
        await site.start()
        port = self._web.addresses[0][1]
        self.url = f"http://{LOOPBACK}:{port}/"
        return self.url

    def _wake_outbox(self) -> None:
        if self.runner is not None and self.runner.dp is not None:
            self.runner.dp["outbox"].wake()

    async def stop(self) -> None:
        if self._web is not None:
            await self._web.cleanup()
        if self.console is not None:
            await self.console.stop()
        if self._console_engine is not None:
            await self._console_engine.dispose()
        if self.runner is not None:
            await self.runner.stop()
        await self.api.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # ---- the page -------------------------------------------------------------------------

    def _lang(self, request: web.Request) -> str:
        lang = request.query.get("lang", self.locale)
        return lang if lang in SUPPORTED_LOCALES else self.locale

    async def page(self, request: web.Request) -> web.Response:
        lang = self._lang(request)
        for phone in self.phones.values():
            phone.language_code = lang  # what Telegram would report for new accounts
        household = DEMO_HOUSEHOLDS[0]
        with use_locale(lang):
            strings = {
                "title": _("Lapor Warga sandbox"),
                "intro": _(
                    "Four people talk to the real bot through a Telegram Bot API server on "
                    "this computer. Nothing leaves it."
                ),
                "hint": _("To link the resident, send NIK {nik} and KK {kk}.").format(
                    nik=DEMO_RESIDENT.nik, kk=household.kk
                ),
                "placeholder": _("Write a message…"),
                "send": _("Send"),
                "photo": _("Photo"),
                "location": _("Location"),
                "voice": _("Voice message"),
                "registry": _("Registry"),
                "members": _("Members"),
                "former": _("No longer in this family"),
                "start_hint": _("No messages yet. Press Start to talk to the bot."),
                "start": _("▶️ Start"),
                "revisions": _("Revisions"),
                "no_revisions": _("No change has been applied yet."),
                "language": _("Language"),
                "console": _("Web console for officers"),
                "console_hint": _("The officer sends /masuk for a sign-in link."),
            }
            phones = [
                {"key": p.key, "title": str(PHONE_TITLES[p.key]), "name": p.first_name}
                for p in DEMO_PEOPLE
            ]
        values = {k: escape(v) for k, v in strings.items()}
        values["lang"] = lang
        values["console_url"] = escape(self.console_url + "/login")
        values["config"] = json.dumps({"lang": lang, "phones": phones, "strings": strings}).replace(
            "</", "<\\/"
        )
        html = Template(PAGE.read_text(encoding="utf-8")).substitute(values)
        return web.Response(text=html, content_type="text/html")

    async def state(self, request: web.Request) -> web.Response:
        lang = self._lang(request)
        phones = {
            key: {"messages": [_message_json(m) for m in person.chat() if not m.deleted],
                  "keyboard": _reply_keyboard(person)}
            for key, person in self.phones.items()
        }  # fmt: skip
        with use_locale(lang):
            registry = await self._registry()
        return web.json_response({"phones": phones, "registry": registry})

    async def _registry(self) -> dict[str, Any]:
        assert self.runner is not None
        async with self.runner.session() as session:
            household = await household_by_kk(session, DEMO_HOUSEHOLDS[0].kk)
            assert household is not None
            revisions = (
                await session.execute(
                    select(RegistryRevision, Report.number)
                    .join(Report, Report.id == RegistryRevision.report_id, isouter=True)
                    .where(RegistryRevision.household_id == household.id)
                    .order_by(RegistryRevision.id)
                )
            ).all()

            def when(rev: RegistryRevision) -> str:  # in the family's zone, as the bot says it
                with use_zone(zone_of(household.region_code)):
                    return format_local(rev.created_at)

            return {
                "kk": mask(household.kk),
                "address": f"{household.address}, RT {household.rt} / RW {household.rw}",
                "region": household.region.name,
                # The living members (one head), then those who died or moved away:
                # they keep their place on the KK as history, not as members.
                "members": [
                    {
                        "name": m.name,
                        "relationship": str(
                            RELATIONSHIP_LABELS.get(m.relationship, m.relationship)
                        ),
                        "birth_date": format_date(m.birth_date),
                        "status": str(STATUS_LABELS.get(m.status, m.status)),
                    }
                    for m in household.members
                    if m.status == "alive"
                ],
                "former": [
                    {"name": m.name, "status": str(STATUS_LABELS.get(m.status, m.status))}
                    for m in household.members
                    if m.status != "alive"
                ],
                "revisions": [
                    {
                        "when": when(rev),
                        "text": _("{change} (report {number})").format(
                            change=revision_text(rev), number=number or "-"
                        ),
                    }
                    for rev, number in revisions
                ],
            }

    async def file(self, request: web.Request) -> web.Response:
        try:
            stored = self.api.files[request.match_info["file_id"]]
        except KeyError:
            raise web.HTTPNotFound() from None
        content = stored.content
        if stored.kind in ("document", "voice"):
            return web.Response(
                body=content, content_type=stored.mime_type or "application/octet-stream"
            )
        return web.Response(
            body=content, content_type="image/jpeg" if content[:2] == b"\xff\xd8" else "image/png"
        )

    async def act(self, request: web.Request) -> web.Response:
        person = self.phones.get(request.match_info["key"])
        if person is None:
            raise web.HTTPNotFound()
        action = request.match_info["action"]
        try:
            if action == "photo":
                form = await request.post()
                upload = form.get("file")
                if not isinstance(upload, web.FileField):
                    raise web.HTTPBadRequest(text="no file")
                await person.send_photo(upload.file.read())
                return web.json_response({"ok": True})
            body = await request.json()
            if action == "text":
                text = str(body.get("text", "")).strip()
                if not text:
                    raise web.HTTPBadRequest(text="empty message")
                await person.send_text(text)
            elif action == "press":
                message = next(
                    (m for m in person.messages if m.message_id == int(body["message_id"])), None
                )
                await person.press(str(body["text"]), message)
            elif action == "contact":
                await person.send_contact(f"+62812000{person.user_id % 100000:05d}")
            elif action == "voice":  # a short recorded voice note (synthetic silence)
                await person.send_voice(duration=4)
            elif action == "location":
                await person.send_location(float(body["latitude"]), float(body["longitude"]))
            else:
                raise web.HTTPNotFound()
        except NotInChat as exc:  # the button is no longer on that message
            return web.json_response({"ok": False, "error": str(exc).splitlines()[0]}, status=409)
        except (KeyError, ValueError, TypeError) as exc:
            raise web.HTTPBadRequest(text=f"bad request: {exc.__class__.__name__}") from None
        return web.json_response({"ok": True})


async def serve(port: int, locale: str) -> None:
    """Run the sandbox until interrupted."""
    sandbox = Sandbox(port, locale)
    try:
        url = await sandbox.start()
        with use_locale(locale):
            print(
                _("Lapor Warga sandbox is running at {url} (Ctrl+C stops it).").format(url=url),
                flush=True,
            )
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
    finally:
        await sandbox.stop()


__all__ = ["Sandbox", "entities_to_html", "revision_text", "serve"]
