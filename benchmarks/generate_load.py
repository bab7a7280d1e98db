"""Fill a migrated PostgreSQL database with a registry-sized load (benchmarks/review_queue.py).

    .venv/bin/python benchmarks/generate_load.py --url postgresql://postgres@127.0.0.1:5432/lw
    .venv/bin/python benchmarks/generate_load.py --url ... --members 200000 --reports 40000

Writes, into an empty database (the schema is created with ``storage.db.upgrade``, the
region codes with ``registry.regions.import_regions``):

* households and members (defaults: 5,000,000 members in about 1,250,000 households)
  spread over every desa/kelurahan of Sumatera Selatan (province 16), five times as
  dense in the four cities, in RTs of about 40 households, five RTs to an RW. NIKs and
  KKs pass validation and are unique; names and addresses are invented.
* reports (default 1,000,000) as residents file them from 2025-01-06 until now, more
  each month, with a realistic mix of types; each report's history is simulated tier by
  tier (RT head, kelurahan/desa, officer) with the review delays, rejections, questions
  to the reporter, withdrawals and SLA escalations of ``registry/workflow.toml``, so
  whatever is still open now is where the simulation left it: waiting at a tier (with
  ``tier_since`` and the last daily ``reminded_at``) or waiting for the reporter's
  answer (``needs_info`` with ``paused_state``). Every transition is a report event,
  as ``registry.workflow`` writes them (``version`` counts the report's updates).
  Some reports are filed by RT heads for residents without a phone (they skip the RT
  tier), disputes about another household skip it too, households missing from the
  registry come from accounts not linked to one. Photos and documents are attachment
  rows with invented Telegram file ids.
* accounts for the reporters (linked to a member of their household, consented, with a
  phone number) and for the reviewers whose decisions the events record: an RT head per
  RT, a lurah per desa/kelurahan and an officer per kabupaten/kota, with role grants.

The people ``benchmarks/review_queue.py`` measures have fixed Telegram ids (below): the
RT head of RT 3 / RW 2 of Tiga-puluh-lima Ilir (16.71.01.1001), its lurah and an officer
of Kota Palembang (16.71), whose queues get tens of reports (the RT and the desa get some
planted on top of the simulated ones; the city's few hundred are the simulation's), a
resident with two reports and an RT head who filed many for his residents.

Not written: registry revisions, household flags, report links, the audit log, the
outbox and drafts (neither the queue nor /status reads them); the registry rows are not
made to agree with the applied reports (a baby of an applied birth is not a member).

Rows are sent with asyncpg's binary COPY. The secondary indexes, unique and foreign-key
constraints of the loaded tables are dropped first and recreated afterwards from their
own definitions (``pg_get_constraintdef`` / ``pg_indexes``), which also checks every
reference and uniqueness; then the id sequences are moved past the rows and the tables
are vacuumed and analyzed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import json
import math
import queue
import random
import sys
import threading
import time
import warnings
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from registry import workflow  # noqa: E402
from registry.forms import Group, Step  # noqa: E402
from registry.kinds import CATALOG  # noqa: E402
from registry.kinds import KINDS as REPORT_KINDS  # noqa: E402
from registry.regions import BUNDLED_REGIONS_CSV, import_regions  # noqa: E402
from storage import db  # noqa: E402
from storage.models import utcnow  # noqa: E402

# ---- whom review_queue.py measures --------------------------------------------------------------

BENCH_VILLAGE = "16.71.01.1001"  # Tiga-puluh-lima Ilir, Ilir Barat Dua, Kota Palembang
BENCH_RW, BENCH_RT = 2, 3
BENCH_CITY = "16.71"  # Kota Palembang
HEAVY_VILLAGE = "16.71.02.1002"  # Satu Ulu: the RT head who files for his residents
HEAVY_RW, HEAVY_RT = 1, 2
TYPICAL_VILLAGE = "16.71.03.1001"  # the resident with two reports
RT_HEAD_TG = 8_100_000_001
LURAH_TG = 8_100_000_002
OFFICER_TG = 8_100_000_003
HEAVY_REPORTER_TG = 8_100_000_004  # an RT head with many reports filed on behalf
TYPICAL_REPORTER_TG = 8_100_000_005  # a resident with two reports
HEAVY_REPORTS = 500
TYPICAL_REPORTS = 2
# Planted on top of the simulation at full size (scaled with --reports): the RT's and the
# desa's queues; the city's officer queue is what the simulation leaves (a few hundred).
PLANTED_AT_RT = 30
PLANTED_AT_KELURAHAN = 50

PROVINCE = "16"
CITY_WEIGHT = 5  # households per kelurahan in a kota, relative to a rural desa
HOUSEHOLDS_PER_RT = 40
RTS_PER_RW = 5
START = datetime(2025, 1, 6)  # first report
IMPORTED = datetime(2025, 1, 3, 2, 0)  # the registry import
EPOCH = datetime(1970, 1, 1)
DAY = 86400.0

# ---- the review simulation ---------------------------------------------------------------------

RT, KEL, OFF = workflow.AWAITING_RT, workflow.AWAITING_KELURAHAN, workflow.AWAITING_OFFICER
DEFAULT_PATH = (RT, KEL, OFF)
SHORT_PATH = (KEL, OFF)  # dispute about another household; filed on behalf by an RT head
_TIERS_JSON = {
    p: json.dumps([workflow.STATE_TIER[s] for s in p]) for p in (DEFAULT_PATH, SHORT_PATH)
}
DECISION_MEAN = {RT: 0.8 * DAY, KEL: 1.2 * DAY, OFF: 1.5 * DAY}  # exponential
SLA = {RT: 3 * DAY, KEL: 5 * DAY}  # registry/workflow.toml; the officer tier keeps its reports
ANSWER_MEAN = 0.8 * DAY
REMIND_EVERY = DAY
P_WITHDRAW = 0.01
P_REJECT = {RT: 0.12, KEL: 0.07, OFF: 0.09}
P_ASK = 0.05
REJECT_REASONS = (("not_true", 30), ("duplicate", 25), ("not_in_area", 10), ("no_evidence", 25),
                  ("other", 10))  # fmt: skip
REJECT_NOTES = ("Sudah dicek ke rumah, tidak sesuai.", "Dokumen belum lengkap.",
                "Warga ini sudah pindah sejak tahun lalu.", "Sudah pernah dilaporkan.")  # fmt: skip
QUESTIONS = ("Mohon kirim foto akta kelahiran.", "Tanggalnya benar? Mohon dicek lagi.",
             "Pindah ke mana tepatnya?", "Siapa yang bisa dihubungi untuk dicek?")  # fmt: skip
ANSWERS = ("Sudah saya kirim, Pak.", "Benar, tanggalnya sesuai surat.", "Ke rumah orang tua.",
           "Bisa hubungi Ketua RT kami.")  # fmt: skip

# Report types filed by linked residents, by weight: every type of the catalog
# (registry.kinds), those not weighted here at DEFAULT_WEIGHT. A missing household comes
# from accounts not linked yet, NEW_HOUSEHOLD_SHARE of all reports; ON_BEHALF_SHARE are
# filed by RT heads.
WEIGHTS = {"birth": 13, "death": 8, "move_out": 11, "move_in": 8, "marriage": 6,
           "member_data": 22, "housing": 12, "identity": 7, "dispute": 8}  # fmt: skip
DEFAULT_WEIGHT = 5
KINDS = tuple((k.name, WEIGHTS.get(k.name, DEFAULT_WEIGHT)) for k in CATALOG if not k.unlinked)
ON_BEHALF_KINDS = ("birth", "death", "move_out", "member_data", "housing", "identity")
NEW_HOUSEHOLD_SHARE = 0.05
ON_BEHALF_SHARE = 0.02
# Reports per reporting account (mean about 2).
REPORTS_PER_ACCOUNT = ((1, 55), (2, 22), (3, 10), (4, 6), (5, 3), (6, 2), (8, 1), (10, 1))
EVIDENCE = {  # kind: (share of reports with files, most files, Telegram kind)
    "birth": (0.85, 1, "photo"), "death": (0.8, 1, "photo"), "move_out": (0.3, 1, "photo"),
    "move_in": (0.4, 1, "photo"), "marriage": (0.8, 1, "photo"), "new_household": (0.5, 3, "photo"),
    "housing": (0.5, 3, "photo"), "identity": (1.0, 2, "photo"), "dispute": (0.2, 2, "document"),
}  # fmt: skip

# ---- invented people --------------------------------------------------------------------------

_SYLLABLES = ("su", "di", "an", "wa", "ti", "ra", "ni", "har", "to", "ma", "ya", "sa", "ri", "ka",
              "na", "de", "wi", "bu", "lan", "ba", "yu", "ha", "ir", "fan", "se", "tia", "ra",
              "gus", "mar", "lin", "dar", "no", "pu", "tri", "an", "jo", "ko", "si", "te", "gu")  # fmt: skip
_STREETS = ("Jl.", "Lr.", "Gg.", "Jl.", "Jl.")
_RELATIONSHIPS = ("head", "spouse", "child", "grandchild", "parent", "other_relative")
REL_HEAD, REL_SPOUSE, REL_CHILD, REL_GRANDCHILD, REL_PARENT, REL_OTHER = range(6)
HOUSEHOLD_SIZES = ((1, 6), (2, 12), (3, 20), (4, 26), (5, 18), (6, 10), (7, 5), (8, 3))


def invented_word(x: int, parts: int) -> str:
    out = []
    for _ in range(parts):
        out.append(_SYLLABLES[x % len(_SYLLABLES)])
        x //= len(_SYLLABLES)
    return "".join(out).capitalize()


_GIVEN = [invented_word(x * 7919 + 13, 2 + x % 2) for x in range(2048)]
_FAMILY = [invented_word(x * 104729 + 7, 3) for x in range(2048)]
_STREET_NAMES = [invented_word(x * 15485863 + 3, 3) for x in range(1024)]


def person_name(key: int) -> str:
    """An invented two-word name, always the same for the same key (a member id)."""
    x = (key * 2654435761 + 97) % 4294967311
    return f"{_GIVEN[x & 2047]} {_FAMILY[(x >> 11) & 2047]}"


def telegram_id(account_id: int) -> int:
    """Unique, scattered over 1e8..8e9 (the fixed benchmark ids lie above)."""
    return 100_000_000 + (account_id * 2654435761) % 7_900_000_000


def ts(moment: datetime) -> float:
    return (moment - EPOCH).total_seconds()


# Six times faster than EPOCH + timedelta(seconds=...); deprecated (not gone) from 3.12.
warnings.filterwarnings("ignore", r"datetime\.datetime\.utcfromtimestamp", DeprecationWarning)
at = datetime.utcfromtimestamp  # naive UTC, as the app stores it


def weighted(rng: random.Random, table: Sequence[tuple[Any, int]]) -> Callable[[], Any]:
    values = [v for v, _w in table]
    cumulative = []
    total = 0
    for _v, w in table:
        total += w
        cumulative.append(total)

    def pick() -> Any:
        return values[bisect.bisect_right(cumulative, rng.random() * total)]

    return pick


class Serials:
    """NIK/KK serials: one counter per (date, sex), so numbers are unique whatever their
    region code is (dates lie within 100 years, so the two-digit year is unambiguous)."""

    def __init__(self) -> None:
        self.next: dict[int, int] = {}
        self._ddmmyy: dict[int, str] = {}

    def number(self, region6: str, ordinal: int, sex: str) -> str:
        key = ordinal * 2 + (sex == "F")
        serial = self.next.get(key, 1)
        if serial > 9999:
            raise RuntimeError("more than 9999 people born on one day: widen the date range")
        self.next[key] = serial + 1
        ddmmyy = self._ddmmyy.get(key)
        if ddmmyy is None:
            d = date.fromordinal(ordinal)
            day = d.day + (40 if sex == "F" else 0)
            ddmmyy = self._ddmmyy[key] = f"{day:02d}{d.month:02d}{d.year % 100:02d}"
        return region6 + ddmmyy + f"{serial:04d}"


# ---- the registry ---------------------------------------------------------------------------


class Registry:
    """Households and members as compact arrays (ids start at 1, in insertion order)."""

    def __init__(self) -> None:
        self.villages: list[str] = []
        self.names: dict[str, str] = {}  # region code -> name
        self.hh_village = array("H")
        self.hh_rw = array("B")
        self.hh_rt = array("B")
        self.hh_first = array("i")  # first member id
        self.hh_size = array("B")
        self.kk: list[str] = []
        self.rt_range: dict[tuple[int, int, int], tuple[int, int]] = {}  # -> (first id, count)
        self.village_range: dict[int, tuple[int, int]] = {}  # village index -> (first id, count)
        self.m_sex = bytearray()  # 1 = F
        self.m_born = array("i")  # date ordinal
        self.m_rel = bytearray()

    @property
    def households(self) -> int:
        return len(self.hh_size)

    def hh(self, household_id: int) -> int:
        return household_id - 1

    def area(self, household_id: int) -> tuple[str, int, int]:
        i = household_id - 1
        return self.villages[self.hh_village[i]], self.hh_rw[i], self.hh_rt[i]

    def members(self, household_id: int) -> range:
        i = household_id - 1
        return range(self.hh_first[i], self.hh_first[i] + self.hh_size[i])

    def place(self, code: str) -> str:
        """ "Village, Kecamatan, Kabupaten" as the region question stores it."""
        return ", ".join(self.names[code[:n]] for n in (13, 8, 5))


async def load_registry(
    conn: asyncpg.Connection,
    copier: Copier,
    reg: Registry,
    members: int,
    rng: random.Random,
    now: datetime,
) -> tuple[int, int]:
    rows = await conn.fetch(
        "SELECT code, name, level FROM regions WHERE code LIKE $1 ORDER BY code", PROVINCE + ".%"
    )
    reg.names = {r["code"]: r["name"] for r in rows}
    reg.villages = [r["code"] for r in rows if r["level"] == 4]
    weights = [CITY_WEIGHT if int(v[3:5]) >= 71 else 1 for v in reg.villages]
    size = weighted(rng, HOUSEHOLD_SIZES)
    mean_size = sum(s * w for s, w in HOUSEHOLD_SIZES) / sum(w for _s, w in HOUSEHOLD_SIZES)
    # 2 % more than needed: the run stops at exactly ``members``, in the last villages.
    planned = max(len(reg.villages), round(members / mean_size * 1.02))
    total_weight = sum(weights)
    per_village = [max(1, planned * w // total_weight) for w in weights]
    bench = reg.villages.index(BENCH_VILLAGE)
    heavy = reg.villages.index(HEAVY_VILLAGE)
    for v in (bench, heavy):  # room for RW 2 / RT 3 however small the run
        per_village[v] = max(per_village[v], HOUSEHOLDS_PER_RT * 2 * RTS_PER_RW)

    serials = Serials()
    kk_serials = Serials()
    today = now.date().toordinal()
    oldest = date(now.year - 99, 1, 1).toordinal()  # two-digit NIK years stay unambiguous
    imported = IMPORTED
    kk_first = date(2005, 1, 1).toordinal()
    kk_span = today - 400 - kk_first
    start, now_ts = ts(START), ts(now)
    rnd = rng.random
    empty = "{}"
    housing_details = [
        json.dumps({"floor": f, "wall": w, "roof": r})
        for f in ("ceramic", "cement", "wood", "earth")
        for w in ("masonry", "wood", "plastered_bamboo")
        for r in ("metal", "clay_tile", "asbestos")
    ]
    member_details = [
        json.dumps(d)
        for d in (
            {"education": "sma", "work": "employee"}, {"education": "sd", "work": "casual",
            "occupation": "buruh tani"}, {"education": "smp", "work": "self_employed",
            "occupation": "pedagang"}, {"disability": "physical"}, {"illness": "hypertension"},
            {"marital": "widowed"},
        )
    ]  # fmt: skip
    h_cols = ["id", "kk", "address", "region_code", "rw", "rt", "desil", "details",
              "created_at", "updated_at"]  # fmt: skip
    m_cols = ["id", "household_id", "nik", "name", "sex", "birth_date", "relationship", "status",
              "details", "created_at"]  # fmt: skip
    h_rows: list[tuple[Any, ...]] = []
    m_rows: list[tuple[Any, ...]] = []
    dates: dict[int, date] = {}
    household_id = 0
    member_id = 0
    started = time.perf_counter()

    def flush(final: bool = False) -> None:
        nonlocal h_rows, m_rows
        if h_rows and (final or len(h_rows) >= 50_000):
            copier.put("households", h_cols, h_rows)
            h_rows = []
        if m_rows and (final or len(m_rows) >= 100_000):
            copier.put("members", m_cols, m_rows)
            m_rows = []

    def a_date(ordinal: int) -> date:
        d = dates.get(ordinal)
        if d is None:
            d = dates[ordinal] = date.fromordinal(ordinal)
        return d

    # The measured villages first, so that a small run cannot end before reaching them.
    special = [reg.villages.index(code) for code in (BENCH_VILLAGE, HEAVY_VILLAGE, TYPICAL_VILLAGE)]
    order = special + [v for v in range(len(reg.villages)) if v not in special]
    for v in order:
        count = per_village[v]
        if member_id >= members:
            break
        village = reg.villages[v]
        region6 = village[:8].replace(".", "")
        rts = max(1, round(count / HOUSEHOLDS_PER_RT))
        first_hh = household_id + 1
        for k in range(rts):
            rw, rt = k // RTS_PER_RW + 1, k % RTS_PER_RW + 1
            in_rt = count // rts + (1 if k < count % rts else 0)
            rt_first = household_id + 1
            for _ in range(in_rt):
                if member_id >= members:
                    break
                household_id += 1
                n = min(size(), members - member_id)
                issued = kk_first + int(rnd() * kk_span)
                kk = kk_serials.number(region6, issued, "M")
                created = imported
                if rnd() < 0.03:  # added after the import
                    created = at(start + rnd() * (now_ts - start))
                h_rows.append((
                    household_id, kk, f"{_STREETS[int(rnd() * 5)]} "
                    f"{_STREET_NAMES[int(rnd() * 1024)]} No. {1 + int(rnd() * 240)}", village, rw,
                    rt, None if rnd() < 0.2 else 1 + int(rnd() * 10),
                    housing_details[int(rnd() * 36)] if rnd() < 0.3 else empty, created, created,
                ))  # fmt: skip
                reg.hh_village.append(v)
                reg.hh_rw.append(rw)
                reg.hh_rt.append(rt)
                reg.hh_first.append(member_id + 1)
                reg.hh_size.append(n)
                reg.kk.append(kk)
                head_born = today - 80 * 365 + int(rnd() * 58 * 365)  # 22 to 80 years old
                head_sex = 1 if rnd() < 0.15 else 0
                for j in range(n):
                    member_id += 1
                    if j == 0:
                        rel, sex, born = REL_HEAD, head_sex, head_born
                    elif j == 1 and rnd() < 0.85:
                        rel, sex = REL_SPOUSE, 1 - head_sex
                        born = min(today - 17 * 365, head_born - 2500 + int(rnd() * 5000))
                    elif rnd() < 0.85:
                        rel, sex = REL_CHILD, int(rnd() * 2)
                        lo = min(head_born + 18 * 365, today - 1)
                        born = lo + int(rnd() * (today - lo))
                    elif rnd() < 0.5 and head_born - 20 * 365 > oldest + 365:
                        rel, sex = REL_PARENT, int(rnd() * 2)
                        lo = max(oldest, head_born - 35 * 365)
                        born = lo + int(rnd() * (head_born - 18 * 365 - lo))
                    else:
                        rel, sex = REL_GRANDCHILD if rnd() < 0.5 else REL_OTHER, int(rnd() * 2)
                        born = today - 60 * 365 + int(rnd() * 60 * 365)
                    born = max(oldest, born)
                    sex_code = "F" if sex else "M"
                    # Babies entered through an approved birth report have no NIK yet.
                    nik = None if today - born < 200 and rnd() < 0.5 else (
                        serials.number(region6, born, sex_code)
                    )  # fmt: skip
                    status = "alive"
                    r = rnd()
                    if r < 0.015:
                        status = "deceased"
                    elif r < 0.035:
                        status = "moved"
                    m_rows.append((
                        member_id, household_id, nik, person_name(member_id), sex_code,
                        a_date(born), _RELATIONSHIPS[rel], status,
                        member_details[int(rnd() * 6)] if rnd() < 0.2 else empty, created,
                    ))  # fmt: skip
                    reg.m_sex.append(sex)
                    reg.m_born.append(born)
                    reg.m_rel.append(rel)
                flush()
            if household_id >= rt_first:
                reg.rt_range[(v, rw, rt)] = (rt_first, household_id - rt_first + 1)
            if member_id >= members:
                break
        reg.village_range[v] = (first_hh, household_id - first_hh + 1)
        if len(reg.village_range) % 500 == 0:
            print(
                f"  registry: {household_id:,} households, {member_id:,} members "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    flush(final=True)
    return household_id, member_id


# ---- reports ----------------------------------------------------------------------------------


class Loader:
    """Accounts, grants, reports, events and attachments, kept until they are sorted."""

    def __init__(self, reg: Registry, rng: random.Random, now: datetime) -> None:
        self.reg = reg
        self.rng = rng
        self.now = ts(now)
        self.start = ts(START)
        self.accounts: list[tuple[Any, ...]] = []
        self.grants: list[tuple[Any, ...]] = []
        self.reports: list[list[Any]] = []
        self.rt_heads: dict[tuple[int, int, int], int] = {}
        self.lurahs: dict[int, int] = {}
        self.officers: dict[str, int] = {}
        self.resident_of: dict[int, int] = {}  # household id -> an account linked to it
        self.account_of: dict[int, int] = {}  # member id -> its account (one each, 0008)
        self.reject_reason = weighted(rng, REJECT_REASONS)
        self.kind = weighted(rng, KINDS)
        self.per_account = weighted(rng, REPORTS_PER_ACCOUNT)

    # -- accounts

    def account(
        self,
        created: float,
        *,
        tg: int | None = None,
        member: int | None = None,
        household: int | None = None,
        phone: bool = True,
    ) -> int:
        account_id = len(self.accounts) + 1
        if member is not None:
            assert member not in self.account_of, "one account per member (migration 0008)"
            self.account_of[member] = account_id
        rng = self.rng
        when = at(created)
        self.accounts.append((
            account_id, tg or telegram_id(account_id),
            person_name(member or account_id + 10**9).split()[0],
            "en" if rng.random() < 0.08 else "id",
            f"+628{rng.randint(11, 99)}{rng.randint(10_000_000, 99_999_999)}" if phone else None,
            member, household, at(created + 300) if household else None, when, when, None,
        ))  # fmt: skip
        return account_id

    def grant(
        self, account_id: int, role: str, region: str, rw: int | None, rt: int | None
    ) -> None:
        granted = at(self.start - 3 * DAY - self.rng.random() * 20 * DAY)
        self.grants.append((len(self.grants) + 1, account_id, role, region, rw, rt, granted, None))

    def reviewer(self, state: str, household_area: tuple[int, int, int]) -> int:
        v, rw, rt = household_area
        if state == RT:
            key = (v, rw, rt)
            if key not in self.rt_heads:
                self.rt_heads[key] = self.account(self.start - 10 * DAY)
                self.grant(self.rt_heads[key], "rt", self.reg.villages[v], rw, rt)
            return self.rt_heads[key]
        if state == KEL:
            if v not in self.lurahs:
                self.lurahs[v] = self.account(self.start - 10 * DAY)
                self.grant(self.lurahs[v], "lurah", self.reg.villages[v], None, None)
            return self.lurahs[v]
        city = self.reg.villages[v][:5]
        if city not in self.officers:
            self.officers[city] = self.account(self.start - 10 * DAY)
            self.grant(self.officers[city], "officer", city, None, None)
        return self.officers[city]

    def resident(self, household_id: int, created: float) -> int:
        """An account linked to a grown-up of the household (the head or the spouse)."""
        account_id = self.resident_of.get(household_id)
        if account_id is None:
            first = self.reg.hh_first[household_id - 1]
            size = self.reg.hh_size[household_id - 1]
            member = first + 1 if size > 1 and self.reg.m_rel[first] == REL_SPOUSE and (
                self.rng.random() < 0.35) else first  # fmt: skip
            account_id = self.account_of.get(member) or self.account(
                created, member=member, household=household_id
            )  # the member may have an account already (the typical reporter)
            self.resident_of[household_id] = account_id
        return account_id

    # -- the review simulation

    def simulate(
        self,
        t0: float,
        path: Sequence[str],
        reporter: int,
        area: tuple[int, int, int],
        *,
        hold: str | None = None,
    ) -> dict[str, Any]:
        """A report's history from its submission at ``t0`` to now (or until it waits at
        ``hold``, every tier before deciding it on time)."""
        rng = self.rng
        now = math.inf if hold else self.now
        events = [(t0, reporter, None, workflow.SUBMITTED, None, None),
                  (t0 + 0.002, None, workflow.SUBMITTED, path[0], None, None)]  # fmt: skip
        version = 2  # the insert, then the flush that numbered and queued it
        t = t0 + 0.002
        i = 0
        asked = False

        def waiting(state: str, since: float) -> dict[str, Any]:
            reminded = None
            if since + REMIND_EVERY <= self.now and hold is None:
                last = since + (self.now - since) // REMIND_EVERY * REMIND_EVERY
                reminded = min(self.now, last + rng.random() * 60)  # the next SLA pass
            return {"state": state, "since": since, "reminded": reminded, "paused": None,
                    "events": events, "version": version, "updated": events[-1][0]}  # fmt: skip

        def final(state: str) -> dict[str, Any]:
            last = events[-1][0]
            return {"state": state, "since": last, "reminded": None, "paused": None,
                    "events": events, "version": version, "updated": last}  # fmt: skip

        while True:
            state = path[i]
            if state == hold:
                return waiting(state, t)
            last_tier = i == len(path) - 1
            delay = rng.expovariate(1 / DECISION_MEAN[state])
            sla = None if last_tier else SLA.get(state)
            if hold is not None and sla is not None:
                delay = min(delay, 0.9 * sla)
            if sla is not None and delay > sla:
                escalated = t + sla + 30 + rng.random() * 60  # the next SLA pass
                if escalated > now:
                    return waiting(state, t)
                events.append((escalated, None, state, path[i + 1], f"{sla / DAY:g}",
                               workflow.ESCALATED))  # fmt: skip
                version += 1
                t, i = escalated, i + 1
                continue
            decided = t + delay
            if decided > now:
                return waiting(state, t)
            reviewer = self.reviewer(state, area)
            r = rng.random() if hold is None else 1.0
            if r < P_WITHDRAW:
                events.append((decided, reporter, state, workflow.WITHDRAWN, None, None))
                version += 1
                return final(workflow.WITHDRAWN)
            r -= P_WITHDRAW
            if r < P_REJECT[state]:
                reason = self.reject_reason()
                note = rng.choice(REJECT_NOTES) if reason == "other" or rng.random() < 0.4 else None
                events.append((decided, reviewer, state, workflow.REJECTED, note, reason))
                version += 1
                return final(workflow.REJECTED)
            r -= P_REJECT[state]
            if r < P_ASK and not asked:
                asked = True
                events.append((decided, reviewer, state, workflow.NEEDS_INFO,
                               rng.choice(QUESTIONS), None))  # fmt: skip
                version += 1
                answered = decided + rng.expovariate(1 / ANSWER_MEAN)
                if answered > now:
                    out = waiting(workflow.NEEDS_INFO, decided)
                    out.update(reminded=None, paused=state)
                    return out
                events.append((answered, reporter, workflow.NEEDS_INFO, state,
                               rng.choice(ANSWERS), None))  # fmt: skip
                version += 1
                t = answered
                continue
            if last_tier:
                events.append((decided, reviewer, state, workflow.APPROVED, None, None))
                events.append((decided + 0.05, reviewer, workflow.APPROVED, workflow.APPLIED,
                               None, None))  # fmt: skip
                version += 2  # approved, then applied in the same transaction
                return final(workflow.APPLIED)
            events.append((decided, reviewer, state, path[i + 1], None, None))
            version += 1
            t, i = decided, i + 1

    # -- report contents

    def _member(self, household_id: int, adult: bool = False) -> int:
        span = self.reg.members(household_id)
        if adult:
            grown = [m for m in span if self.reg.m_born[m - 1] < self._today - 17 * 365]
            if grown:
                return self.rng.choice(grown)
        return self.rng.choice(span)

    def _labels(self, step: str, *members: int) -> dict[str, Any]:
        return {step: {str(m): person_name(m) for m in members}}

    def _village(self) -> dict[str, str]:
        code = self.rng.choice(self.reg.villages)
        return {"code": code, "name": self.reg.place(code)}

    def _day_before(self, created: float, most_days: int) -> str:
        return at(created - self.rng.random() * most_days * DAY).date().isoformat()

    def payload(
        self, kind: str, household_id: int | None, created: float, extra: Any = None
    ) -> dict[str, Any]:
        rng = self.rng
        if kind == "birth":
            assert household_id is not None
            born = self._day_before(created, 60)
            mothers = [m for m in self.reg.members(household_id)
                       if self.reg.m_sex[m - 1] and self.reg.m_rel[m - 1] in (REL_HEAD, REL_SPOUSE)]  # fmt: skip
            mother = str(mothers[0]) if mothers else "outside"
            out = {"name": person_name(rng.getrandbits(40)), "sex": rng.choice("MF"),
                   "birth_date": born, "mother": mother}  # fmt: skip
            if mothers:
                out["_labels"] = self._labels("mother", mothers[0])
            return out
        if kind == "death":
            assert household_id is not None
            m = self._member(household_id)
            return {"member": str(m), "death_date": self._day_before(created, 30),
                    "place": rng.choice(("di rumah", "RSUD Palembang", "Puskesmas")),
                    "_labels": self._labels("member", m)}  # fmt: skip
        if kind == "move_out":
            assert household_id is not None
            destination: dict[str, str] = (
                self._village()
                if rng.random() < 0.8
                else {"text": rng.choice(("Jambi", "Malaysia"))}
            )
            if rng.random() < 0.15:
                return {"scope": "all", "destination": destination,
                        "move_date": self._day_before(created, 45)}  # fmt: skip
            m = self._member(household_id)
            return {"scope": "one", "member": str(m), "destination": destination,
                    "move_date": self._day_before(created, 45), "_labels": self._labels("member", m)}  # fmt: skip
        if kind == "move_in":
            born = date.fromordinal(rng.randint(self._today - 70 * 365, self._today - 1))
            sex = rng.choice("MF")
            # Issued in Jakarta: never one of the generated members' NIKs.
            nik = self._outside.number("317101", born.toordinal(), sex)
            return {"nik": nik, "name": person_name(rng.getrandbits(40)), "sex": sex,
                    "birth_date": born.isoformat(), "relationship": rng.choice(("parent", "child",
                    "other_relative", "child_in_law")), "origin": self._village()}  # fmt: skip
        if kind == "marriage":
            assert household_id is not None
            a = self._member(household_id, adult=True)
            return {"event": "married" if rng.random() < 0.8 else "divorced", "members": [str(a)],
                    "partner": person_name(rng.getrandbits(40)), "event_date": self._day_before(created, 60),
                    "new_household": "no", "_labels": self._labels("members", a)}  # fmt: skip
        if kind == "member_data":
            assert household_id is not None
            m = self._member(household_id)
            field, answers = rng.choice((
                ("education", {"education": "sma"}), ("work", {"work": "casual", "occupation": "tukang ojek"}),
                ("work", {"work": "not_working"}), ("disability", {"disability": "seeing"}),
                ("illness", {"illness": "diabetes"}), ("marital", {"marital": "married"}),
            ))  # fmt: skip
            return {
                "member": str(m),
                "field": field,
                **answers,
                "_labels": self._labels("member", m),
            }
        if kind == "housing":
            answers = rng.choice((
                {"roof": "metal"}, {"floor": "ceramic", "wall": "masonry"},
                {"water": "piped", "assets": ["fridge", "motorcycle"]}, {"assets": []},
            ))  # fmt: skip
            return {"aspects": list(answers), **answers}
        if kind == "identity":
            assert household_id is not None
            m = self._member(household_id)
            what, new = rng.choice((("name", person_name(m + 1)), ("birth_date", "1980-02-03"),
                                    ("sex", "F")))  # fmt: skip
            return {
                "member": str(m),
                "what": what,
                f"new_{what}": new,
                "_labels": self._labels("member", m),
            }
        if kind == "dispute":
            reason = "Penghasilan kami turun sejak suami berhenti kerja."
            subject = extra
            if subject == "desil":
                return {"subject": "desil", "reason": reason}
            if subject == "left_out":
                return {"subject": "left_out", "programmes": ["pkh", "bpnt"], "reason": reason}
            target = extra_kk = None
            if household_id is not None:
                _village, rw, rt = self.reg.area(household_id)
                target, extra_kk = f"Rumah di RT {rt} RW {rw}", self.reg.kk[household_id - 1]
            return {"subject": "other_household", "programmes": ["blt"],
                    "target": target or "Rumah besar dekat masjid", "target_kk": extra_kk,
                    "reason": "Rumahnya besar, punya dua mobil."}  # fmt: skip
        if kind == "new_household":
            village, rw, rt = extra
            born = rng.randint(self._today - 60 * 365, self._today - 20 * 365)
            people = [{"m_name": person_name(rng.getrandbits(40)), "m_nik":
                       self._outside.number("317101", born + k * 700, "MF"[k % 2]),
                       "m_sex": "MF"[k % 2], "m_birth": date.fromordinal(born + k * 700).isoformat(),
                       "m_relationship": "head" if k == 0 else "spouse" if k == 1 else "child"}
                      for k in range(rng.randint(1, 4))]  # fmt: skip
            return {"village": {"code": village, "name": self.reg.place(village)}, "rw": rw,
                    "rt": rt, "address": f"Jl. {invented_word(rng.getrandbits(30), 3)} No. {rng.randint(1, 99)}",
                    "phone": f"+628{rng.randint(11, 99)}{rng.randint(10_000_000, 99_999_999)}",
                    "kk": None, "members": people, "floor": "wood", "wall": "wood", "roof": "metal"}  # fmt: skip
        return self.from_form(kind, household_id, created)

    def from_form(self, kind: str, household_id: int | None, created: float) -> dict[str, Any]:
        """A payload for a report type without a hand-written mix above: each visible
        question of its form answered with a plausible value of its kind."""
        answers: dict[str, Any] = {}
        labels: dict[str, Any] = {}
        for entry in REPORT_KINDS[kind].form.steps:
            if not entry.visible(answers):
                continue
            if isinstance(entry, Group):
                item: dict[str, Any] = {}
                for step in entry.steps:
                    if step.visible({**answers, **item}):
                        item[step.name] = self._answer(step, household_id, created, labels)
                answers[entry.name] = [item]
            elif entry.kind not in ("upload", "location", "contact"):  # files come separately
                answers[entry.name] = self._answer(entry, household_id, created, labels)
        return {**answers, "_labels": labels} if labels else answers

    def _answer(
        self, step: Step, household_id: int | None, created: float, labels: dict[str, Any]
    ) -> Any:
        rng = self.rng
        if step.choices is not None:  # computed from the registry: the household's members
            if household_id is None:
                return None
            m = self._member(household_id)
            labels.update(self._labels(step.name, m))
            return [str(m)] if step.kind == "multi" else str(m)
        values = [value for value, _label in step.options]
        if step.kind == "choice":
            return rng.choice(values)
        if step.kind == "multi":
            return sorted(rng.sample(values, rng.randint(max(step.min_choices, 1), len(values))))
        if step.optional:
            return None
        if step.kind == "date":
            return self._day_before(created, 60)
        if step.kind == "number":
            return step.minimum or 1
        if step.kind == "region":
            return self._village()
        if step.kind == "nik":
            born = rng.randint(self._today - 60 * 365, self._today - 20 * 365)
            return self._outside.number("317101", born, rng.choice("MF"))
        return invented_word(rng.getrandbits(30), 3)

    def attachments(self, kind: str, created: float) -> list[tuple[Any, ...]]:
        share, most, file_kind = EVIDENCE.get(kind, (0.0, 0, "photo"))
        rng = self.rng
        if rng.random() >= share:
            return []
        files = []
        for _ in range(rng.randint(1, most)):
            token = base64.urlsafe_b64encode(rng.randbytes(51)).decode()
            unique = base64.urlsafe_b64encode(rng.randbytes(9)).decode()
            files.append(
                ("evidence", file_kind, "AgACAgUAAxkBAAI" + token, "AQAD" + unique, created)
            )
        return files

    # -- filing

    def file(
        self,
        kind: str,
        created: float,
        reporter: int,
        household_id: int | None,
        area: tuple[int, int, int],
        *,
        path: Sequence[str] = DEFAULT_PATH,
        on_behalf: bool = False,
        hold: str | None = None,
        hold_since: float | None = None,
        subject: str | None = None,
        new_area: tuple[str, int, int] | None = None,
    ) -> None:
        payload = self.payload(
            kind, household_id, created, new_area if kind == "new_household" else subject
        )
        history = self.simulate(created, path, reporter, area, hold=hold)
        files = self.attachments(kind, created)
        if hold is not None:  # moved in time so that it entered its tier at hold_since
            assert hold_since is not None
            shift = hold_since - history["since"]
            history["events"] = [(e[0] + shift, *e[1:]) for e in history["events"]]
            for key in ("since", "updated"):
                history[key] += shift
            created += shift
            files = [(*f[:4], created) for f in files]
            waited = self.now - hold_since
            if waited >= REMIND_EVERY:  # the scheduler's last daily reminder
                last = hold_since + waited // REMIND_EVERY * REMIND_EVERY
                history["reminded"] = min(self.now, last + 5)
        if kind == "new_household" and history["state"] == workflow.APPLIED:
            # The approval created the household; one of the RT's stands in for it.
            first, count = self.reg.rt_range[area]
            household_id = first + self.rng.randrange(count)
        self.reports.append([
            created, kind, history["state"], household_id, self.reg.villages[area[0]], area[1],
            area[2], reporter, on_behalf, json.dumps(payload), history["updated"],
            history["version"], _TIERS_JSON[tuple(path)],
            history["since"], history["reminded"], history["paused"], history["events"], files,
        ])  # fmt: skip

    def created_time(self) -> float:
        """More reports each month: the density grows linearly from START to now."""
        return self.start + math.sqrt(self.rng.random()) * (self.now - 60 - self.start)

    def household_area(self, household_id: int) -> tuple[int, int, int]:
        i = household_id - 1
        return self.reg.hh_village[i], self.reg.hh_rw[i], self.reg.hh_rt[i]

    def fill(self, total: int) -> None:
        rng, reg = self.rng, self.reg
        self._today = at(self.now).date().toordinal()
        self._outside = Serials()
        bench_v = reg.villages.index(BENCH_VILLAGE)
        heavy_v = reg.villages.index(HEAVY_VILLAGE)
        # The measured reviewers come first (granted before anything was filed).
        rt_head = self.account(self.start - 30 * DAY, tg=RT_HEAD_TG)
        self.grant(rt_head, "rt", BENCH_VILLAGE, BENCH_RW, BENCH_RT)
        self.rt_heads[(bench_v, BENCH_RW, BENCH_RT)] = rt_head
        lurah = self.account(self.start - 30 * DAY, tg=LURAH_TG)
        self.grant(lurah, "lurah", BENCH_VILLAGE, None, None)
        self.lurahs[bench_v] = lurah
        officer = self.account(self.start - 30 * DAY, tg=OFFICER_TG)
        self.grant(officer, "officer", BENCH_CITY, None, None)
        self.officers[BENCH_CITY] = officer
        heavy = self.account(self.start - 30 * DAY, tg=HEAVY_REPORTER_TG)
        # A second RT head of that RT (another one decides its RT tier): his reports are
        # exactly the ones filed below.
        self.grant(heavy, "rt", HEAVY_VILLAGE, HEAVY_RW, HEAVY_RT)

        scale = total / 1_000_000
        planted_rt = max(3, round(PLANTED_AT_RT * scale))
        planted_kel = max(5, round(PLANTED_AT_KELURAHAN * scale))
        heavy_reports = min(HEAVY_REPORTS, max(20, total // 100))
        natural = total - planted_rt - planted_kel - heavy_reports - TYPICAL_REPORTS
        if natural < 100:
            raise SystemExit("--reports too small for the planted reports (use at least 1000)")

        # The resident with a typical number of reports: one decided long ago, one recent.
        first, count = reg.village_range[reg.villages.index(TYPICAL_VILLAGE)]
        home = first + rng.randrange(count)
        typical = self.account(self.start + 30 * DAY, tg=TYPICAL_REPORTER_TG,
                               member=reg.hh_first[home - 1], household=home)  # fmt: skip
        # Not in resident_of: other reports of the household come from another member.
        for created in (self.now - 200 * DAY, self.now - 2 * DAY):
            self.file(self.kind_for_resident(), created, typical, home, self.household_area(home),
                      subject="desil")  # fmt: skip

        # The RT head who files for residents without a phone, over the whole period.
        first, count = reg.rt_range[(heavy_v, HEAVY_RW, HEAVY_RT)]
        for _ in range(heavy_reports):
            household_id = first + rng.randrange(count)
            self.file(rng.choice(ON_BEHALF_KINDS), self.created_time(), heavy, household_id,
                      self.household_area(household_id), path=SHORT_PATH, on_behalf=True)  # fmt: skip

        # Planted: recent reports waiting for the measured RT head and lurah.
        first, count = reg.rt_range[(bench_v, BENCH_RW, BENCH_RT)]
        for _ in range(planted_rt):
            household_id = first + rng.randrange(count)
            since = self.now - rng.random() * 0.95 * SLA[RT]
            self.file(self.kind_for_resident(), since, self.resident(household_id, since - DAY),
                      household_id, self.household_area(household_id), hold=RT, hold_since=since,
                      subject="desil")  # fmt: skip
        first, count = reg.village_range[bench_v]
        for _ in range(planted_kel):
            household_id = first + rng.randrange(count)
            since = self.now - rng.random() * 0.95 * SLA[KEL]
            self.file(self.kind_for_resident(), since, self.resident(household_id, since - 5 * DAY),
                      household_id, self.household_area(household_id), hold=KEL, hold_since=since,
                      subject="left_out")  # fmt: skip

        started = time.perf_counter()
        filed = 0
        households = reg.households
        while filed < natural:
            household_id = 1 + int(rng.random() * households)
            area = self.household_area(household_id)
            r = rng.random()
            if r < NEW_HOUSEHOLD_SHARE:
                # Someone not in the registry yet: an account not linked to a household.
                created = self.created_time()
                reporter = self.account(created - rng.random() * DAY)
                village = reg.villages[area[0]]
                self.file("new_household", created, reporter, None, area,
                          new_area=(village, area[1], area[2]))  # fmt: skip
                filed += 1
                continue
            if r < NEW_HOUSEHOLD_SHARE + ON_BEHALF_SHARE:
                created = self.created_time()
                self.file(rng.choice(ON_BEHALF_KINDS), created, self.reviewer(RT, area),
                          household_id, area, path=SHORT_PATH, on_behalf=True)  # fmt: skip
                filed += 1
                continue
            n = min(self.per_account(), natural - filed)
            times = sorted(self.created_time() for _ in range(n))
            reporter = self.resident(household_id, times[0] - rng.random() * 7 * DAY)
            for created in times:
                kind = self.kind()
                if kind != "dispute":
                    self.file(kind, created, reporter, household_id, area)
                    continue
                subject = rng.choice(("desil", "desil", "left_out", "left_out", "other_household"))
                if subject != "other_household":
                    self.file(kind, created, reporter, household_id, area, subject=subject)
                    continue
                # About another household of the village: reviewed where that household
                # lives, without the RT head; unidentified ones in the reporter's RT.
                first, count = reg.village_range[area[0]]
                target = first + rng.randrange(count) if rng.random() < 0.7 else None
                where = self.household_area(target) if target else area
                self.file(kind, created, reporter, target, where, path=SHORT_PATH, subject=subject)
            filed += n
            if filed // 100_000 != (filed - n) // 100_000:
                print(f"  reports: {filed:,} simulated ({time.perf_counter() - started:.0f} s)",
                      flush=True)  # fmt: skip

    def kind_for_resident(self) -> str:
        kind = self.kind()
        return "housing" if kind == "dispute" else kind


class Copier:
    """Binary COPY from a thread of its own (own connection and event loop), so that the
    server writes one batch while the next one is generated."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.batches: queue.Queue[tuple[str, list[str], list[tuple[Any, ...]]] | None]
        self.batches = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.rows: Counter[str] = Counter()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()

    async def _run(self) -> None:
        conn = None
        try:
            conn = await asyncpg.connect(self.dsn)
            await conn.execute("SET synchronous_commit = off")
        except BaseException as exc:
            self.error = exc
        try:
            while (batch := self.batches.get()) is not None:
                if self.error is None and conn is not None:
                    table, columns, rows = batch
                    try:
                        await conn.copy_records_to_table(table, records=rows, columns=columns)
                        self.rows[table] += len(rows)
                    except BaseException as exc:
                        self.error = exc
        finally:
            if conn is not None:
                await conn.close()

    def put(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if self.error is not None:
            raise self.error
        self.batches.put((table, columns, rows))

    def copy(
        self, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]], batch: int = 100_000
    ) -> None:
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                self.put(table, columns, chunk)
                chunk = []
        if chunk:
            self.put(table, columns, chunk)

    def close(self) -> Counter[str]:
        """Wait for every batch; the row counts per table."""
        self.batches.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.rows


def write_reports(copier: Copier, loader: Loader) -> None:
    reports = loader.reports
    reports.sort(key=lambda r: r[0])  # ids in the order the reports were filed
    report_cols = ["id", "number", "kind", "state", "household_id", "region_code", "rw", "rt",
                   "reporter_account_id", "filed_on_behalf", "payload", "created_at", "updated_at",
                   "version", "tiers", "tier_since", "reminded_at", "paused_state"]  # fmt: skip

    def report_rows() -> Iterable[tuple[Any, ...]]:
        for report_id, r in enumerate(reports, start=1):
            (created, kind, state, household_id, region, rw, rt, reporter, on_behalf, payload,
             updated, version, tiers, since, reminded, paused, _events, _files) = r  # fmt: skip
            created_at = at(created)
            yield (
                report_id, f"LW-{created_at.year}-{report_id:06d}", kind, state, household_id,
                region, rw, rt, reporter, on_behalf, payload, created_at, at(updated), version,
                tiers, at(since), at(reminded) if reminded is not None else None, paused,
            )  # fmt: skip

    copier.copy("reports", report_cols, report_rows())

    def attachment_rows() -> Iterable[tuple[Any, ...]]:
        attachment_id = 0
        for report_id, r in enumerate(reports, start=1):
            for field, kind, file_id, unique, created in r[17]:
                attachment_id += 1
                yield attachment_id, report_id, field, kind, file_id, unique, at(created)

    copier.copy(
        "attachments",
        ["id", "report_id", "field", "kind", "file_id", "file_unique_id", "created_at"],
        attachment_rows(),
    )
    # Events in the order they happened, across reports, as the app inserts them.
    events = [
        (e[0], report_id, *e[1:]) for report_id, r in enumerate(reports, start=1) for e in r[16]
    ]
    for r in reports:
        r[16] = r[17] = None
    events.sort(key=lambda e: e[0])

    def event_rows() -> Iterable[tuple[Any, ...]]:
        for event_id, (moment, report_id, actor, from_state, to_state, note, reason) in enumerate(
            events, start=1
        ):
            yield event_id, report_id, actor, from_state, to_state, note, reason, at(moment)

    copier.copy(
        "report_events",
        ["id", "report_id", "actor_account_id", "from_state", "to_state", "note", "reason_code",
         "created_at"],
        event_rows(),
    )  # fmt: skip


# ---- constraints and indexes ---------------------------------------------------------------

BULK_TABLES = ["households", "members", "accounts", "role_grants", "reports", "report_events",
               "attachments"]  # fmt: skip


async def drop_secondary(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """Drop the loaded tables' foreign keys, unique constraints and secondary indexes; return
    how to recreate them (table, kind, definition), unique/indexes before foreign keys."""
    constraints = await conn.fetch(
        "SELECT conrelid::regclass::text AS tab, conname, contype, pg_get_constraintdef(oid) AS def"
        " FROM pg_constraint WHERE conrelid::regclass::text = ANY($1::text[])"
        " AND contype IN ('f', 'u') ORDER BY contype DESC, conname",
        BULK_TABLES,
    )
    indexes = await conn.fetch(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename = ANY($1::text[]) AND indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u')) ORDER BY indexname",
        BULK_TABLES,
    )
    plan: list[tuple[str, str, str]] = []
    for c in constraints:
        await conn.execute(f'ALTER TABLE {c["tab"]} DROP CONSTRAINT "{c["conname"]}"')
        sql = f'ALTER TABLE {c["tab"]} ADD CONSTRAINT "{c["conname"]}" {c["def"]}'
        plan.append((c["tab"], "fk" if c["contype"] == "f" else "index", sql))
    for i in indexes:
        await conn.execute(f'DROP INDEX "{i["indexname"]}"')
        plan.append((i["tablename"], "index", i["indexdef"]))
    return sorted(plan, key=lambda p: p[1] == "fk")


async def recreate(dsn: str, plan: list[tuple[str, str, str]]) -> None:
    """Build the indexes on two connections (two tables at a time), then the foreign keys."""
    by_table: dict[str, list[str]] = {}
    for table, kind, sql in plan:
        if kind == "index":
            by_table.setdefault(table, []).append(sql)
    queue = sorted(by_table.items(), key=lambda item: -len(item[1]))

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            while queue:
                _table, statements = queue.pop(0)
                for sql in statements:
                    await conn.execute(sql)
        finally:
            await conn.close()

    await asyncio.gather(worker(), worker())
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for _table, kind, sql in plan:
            if kind == "fk":
                await conn.execute(sql)
    finally:
        await conn.close()


# ---- main ---------------------------------------------------------------------------------


def urls(url: str) -> tuple[str, str]:
    """(SQLAlchemy URL with the asyncpg driver, plain DSN for asyncpg)."""
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    if not plain.startswith(("postgresql://", "postgres://")):
        raise SystemExit("--url must be a PostgreSQL URL")
    return plain.replace("postgresql://", "postgresql+asyncpg://", 1), plain


class Clock:
    """Wall time of each step, and this process's CPU time (all threads)."""

    def __init__(self) -> None:
        self.begun = self.last = time.perf_counter()
        self.cpu = time.process_time()
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.steps.append((name, now - self.last))
        print(
            f"{name}: {now - self.last:.1f} s, CPU {cpu - self.cpu:.1f} s "
            f"(total {now - self.begun:.1f} s)",
            flush=True,
        )
        self.last, self.cpu = now, cpu


async def generate(url: str, members: int, reports: int, seed: int = 6) -> dict[str, Any]:
    """Fill the (empty) database at ``url``; returns counts and step timings."""
    sa_url, dsn = urls(url)
    clock = Clock()
    engine = db.create_engine(sa_url)
    try:
        await db.upgrade(engine)
        async with db.make_sessionmaker(engine)() as session:
            if await session.scalar(text("SELECT EXISTS (SELECT 1 FROM households)")):
                raise SystemExit("the database already holds households: use an empty one")
            if not await session.scalar(text("SELECT EXISTS (SELECT 1 FROM regions)")):
                await import_regions(session, BUNDLED_REGIONS_CSV)
                await session.commit()
    finally:
        await engine.dispose()
    clock.step("schema and region codes")

    rng = random.Random(seed)
    now = utcnow()
    conn = await asyncpg.connect(dsn)
    counts: dict[str, Any] = {}
    try:
        plan = await drop_secondary(conn)
        copier = Copier(dsn)
        reg = Registry()
        await load_registry(conn, copier, reg, members, rng, now)
        clock.step(f"households ({reg.households:,}) and members ({len(reg.m_rel):,}) generated")
        loader = Loader(reg, rng, now)
        loader.fill(reports)
        clock.step(f"simulated {len(loader.reports):,} reports")
        write_reports(copier, loader)
        clock.step("reports, events and attachments generated")
        account_cols = ["id", "telegram_id", "first_name", "locale", "phone", "member_id",
                        "household_id", "linked_at", "created_at", "consented_at", "deleted_at"]  # fmt: skip
        copier.copy("accounts", account_cols, loader.accounts)
        copier.copy(
            "role_grants",
            ["id", "account_id", "role", "region_code", "rw", "rt", "granted_at", "revoked_at"],
            loader.grants,
        )
        del loader, reg
        counts.update(copier.close())
        clock.step("accounts and role grants generated, every COPY finished")
        await recreate(dsn, plan)
        clock.step("indexes, unique and foreign-key constraints rebuilt")
        for table in BULK_TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(BULK_TABLES)}, regions")
        clock.step("sequences moved, tables vacuumed and analyzed")
        states = await conn.fetch(
            "SELECT state, count(*) AS n FROM reports GROUP BY state ORDER BY 2 DESC"
        )
        counts["states"] = {r["state"]: r["n"] for r in states}  # type: ignore[assignment]
    finally:
        await conn.close()
    return {"counts": counts, "steps": clock.steps, "seconds": time.perf_counter() - clock.begun}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host:port/database (empty)")
    parser.add_argument("--members", type=int, default=5_000_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    result = asyncio.run(generate(args.url, args.members, args.reports, args.seed))
    counts = result["counts"]
    print(f"done in {result['seconds']:.0f} s")
    for name, value in counts.items():
        if name != "states":
            print(f"  {name}: {value:,}")
    print(
        "  report states: "
        + ", ".join(f"{k} {v:,}" for k, v in Counter(counts["states"]).most_common())
    )


if __name__ == "__main__":
    main()
