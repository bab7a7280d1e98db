"""The list of reports for a village meeting (musyawarah desa/kelurahan).

One row per report of an area, oldest first, with what the reviewers' card says in
plain text. The list is read aloud and printed: KK numbers are masked, and who filed a
report is never shown.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows import engine
from flows.review import STATE_LABELS, kind_title
from locales import lazy_gettext
from registry.kinds import kind_named
from registry.nik import mask
from storage.models import Household, Region, Report
from storage.patterns import within_region
from storage.streaming import stream_rows

YIELD_PER = 500

MEETING_HEADER = [
    lazy_gettext("Number"),
    lazy_gettext("Report type"),
    lazy_gettext("Status"),
    lazy_gettext("Submitted"),
    lazy_gettext("Desa/kelurahan"),
    lazy_gettext("RW"),
    lazy_gettext("RT"),
    lazy_gettext("Household KK"),
    lazy_gettext("Summary"),
]
_TAG = re.compile(r"<[^>]+>")


# Read out at a public village meeting: no contact phone and no location pin.
PRIVATE_KINDS = frozenset({"phone", "location"})


def plain_summary(kind: str, payload: dict[str, Any]) -> str:
    """The answers of a report as plain text, one ``• Label: answer`` per line, without
    the reporter's contact phone and location (NIK and KK are masked)."""
    report_kind = kind_named(kind)
    if report_kind is None:
        return ""
    form = report_kind.form
    return "\n".join(
        html.unescape(_TAG.sub("", line))
        for line in engine.summary_lines(form, payload, PRIVATE_KINDS)
    )


def in_area(code: str) -> Any:
    """Reports of the region ``code`` (any level: provinsi down to desa/kelurahan)."""
    return within_region(Report.region_code, code)


async def meeting_rows(
    session: AsyncSession, region_code: str, states: list[str] | None = None
) -> AsyncIterator[list[Any]]:
    """Rows of ``MEETING_HEADER`` for the reports of the area in ``states`` (all when
    empty), oldest first."""
    stmt = (
        select(
            Report.number,
            Report.kind,
            Report.state,
            Report.created_at,
            Region.name,
            Report.rw,
            Report.rt,
            Household.kk,
            Report.payload,
        )
        .join(Region, Region.code == Report.region_code)
        .outerjoin(Household, Household.id == Report.household_id)
        .where(in_area(region_code))
        .order_by(Report.created_at, Report.id)
    )
    if states:
        stmt = stmt.where(Report.state.in_(states))
    async for number, kind, state, created, village, rw, rt, kk, payload in stream_rows(
        session, stmt, YIELD_PER
    ):
        label = STATE_LABELS.get(state)
        yield [
            number,
            kind_title(kind),
            str(label) if label is not None else state,
            created.date(),
            village,
            rw,
            rt,
            mask(kk) if kk else "",
            plain_summary(kind, payload or {}),
        ]
