"""Report forms as scripts of answers, and the world of the report-type walks.

A :class:`Walk` is one person filling in a form: it waits for each question (``Act.prompt``)
and answers it (``Act.op``), counting the user actions. The walks' world (``seed``) has its
own people (ids 71xx/11xx, apart from ``tests.helpers.chat``'s), all agreed before, Sari
linked to her household."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts import ensure_account, grant_role, link_account, record_consent
from registry.households import import_households
from storage.models import Report
from testkit.factories import FAMILIES, SARI, VILLAGE, registry_rows, write_csv

RT_ID, LURAH_ID, OFFICER_ID, SARI_ID, FAJAR_ID = 7101, 7102, 7103, 1101, 1102
OUR_VILLAGE = "Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang"

# User actions of each report type's happy path, printed at the end of the run (conftest).
ACTION_COUNTS: dict[str, int] = {}


# ---- what a person does ---------------------------------------------------------------------


@dataclass
class Op:
    kind: str  # text | press | toggle | photo | album | location | region | written
    value: Any = None
    pick: str | None = None  # region: the match to press


def text(value: str) -> Op:
    return Op("text", value)


def press(label: str) -> Op:
    return Op("press", label)


def toggle(*labels: str) -> Op:
    return Op("toggle", labels)


SKIP = press("Skip »")


@dataclass
class Act:
    prompt: str  # a fragment of the question
    op: Op


@dataclass
class Script:
    title: str
    acts: list[Act]
    invalid: tuple[int, Op, str]  # at act i: a wrong answer and the error it gets
    back_at: int  # at act i press Back: act i-1 is asked again
    edit: tuple[str, list[Act], str]  # edit-menu label, new answers, text then on the review
    check: Callable[[AsyncSession, Report], Awaitable[None]]
    person: int = SARI_ID
    review_shows: list[str] = field(default_factory=list)


class Walk:
    def __init__(self, person) -> None:
        self.person = person
        self.actions = 0

    async def prompt(self, fragment: str):
        message = await self.person.expect(fragment)
        assert len(message.plain_text) < 500, message.plain_text
        return message

    async def do(self, op: Op) -> None:
        person = self.person
        if op.kind == "text":
            await person.send_text(op.value)
        elif op.kind == "press":
            await person.press(op.value)
        elif op.kind == "toggle":
            for label in op.value:
                await person.press(f"▫️ {label}")
                assert f"✅ {label}" in (await person.expect_edit()).buttons()
                self.actions += 1
            await person.press("✔ Done")
        elif op.kind == "photo":
            await person.send_photo()
        elif op.kind == "album":
            for _ in range(op.value):
                await person.send_photo(media_group_id="album-1")
        elif op.kind == "location":
            await person.send_location(*op.value)
        elif op.kind in ("region", "written"):
            await person.send_text(op.value)
            self.actions += 1
            if op.kind == "region":
                await person.expect("Choose the right one")
                await person.press(op.pick)
            else:
                await person.expect("No desa/kelurahan is called")
                await person.press(f"✍️ Use “{op.value}” as written")
        else:  # pragma: no cover - a typo in a script
            raise AssertionError(op.kind)
        self.actions += 1

    async def answer(self, act: Act) -> None:
        await self.prompt(act.prompt)
        await self.do(act.op)

    async def open(self, title: str) -> None:
        await self.person.send_text("/lapor")
        await self.person.expect("What do you want to report?")
        await self.person.press(title)
        self.actions += 2

    async def submit(self) -> str:
        await self.person.press("✅ Submit")
        self.actions += 1
        sent = await self.person.expect("tracking number")
        return next(w for w in sent.plain_text.split() if w.startswith("LW-")).rstrip(".")


# ---- the walks' world ----------------------------------------------------------------------


async def seed(running, fake_api) -> dict[int, Any]:
    async with running.session() as session:
        await import_households(
            session, write_csv(running.tmp / "reg.csv", registry_rows(FAMILIES))
        )
        for rw, rt in ((2, 3), (2, 5), (4, 7)):
            await grant_role(session, RT_ID, "rt", VILLAGE, rw=rw, rt=rt)
        await grant_role(session, LURAH_ID, "lurah", VILLAGE)
        await grant_role(session, OFFICER_ID, "officer", "16.71")
        for telegram_id in (RT_ID, LURAH_ID, OFFICER_ID, SARI_ID, FAJAR_ID):  # agreed before
            await record_consent(session, telegram_id, locale="en")
        sari = await ensure_account(session, SARI_ID)
        await link_account(session, sari, SARI.person("Sari Wulandari").nik, SARI.kk)
        await session.commit()
    names = {RT_ID: "Pak RT", LURAH_ID: "Bu Lurah", OFFICER_ID: "Petugas", SARI_ID: "Sari",
             FAJAR_ID: "Fajar"}  # fmt: skip
    return {i: fake_api.user(i, name, language_code="en") for i, name in names.items()}


async def report_numbered(running, number: str) -> Report:
    async with running.session() as session:
        return (await session.execute(select(Report).where(Report.number == number))).scalar_one()
