"""Ringkasan: the area's figures, with reports per week as a server-drawn SVG chart."""

from __future__ import annotations

from aiohttp import web

from console.web import ACCOUNT, console_of, db, render
from flows.review import STATE_LABELS, TIER_NAMES, kind_title
from registry import summary
from storage.models import utcnow

CHART_W, CHART_H, BAR_GAP = 600, 160, 6


async def summary_page(request: web.Request) -> web.Response:
    session, account = db(request), request[ACCOUNT]
    now = utcnow()
    counts = [
        {"state": str(STATE_LABELS.get(state, state)), "kind": kind_title(kind), "n": n}
        for state, kind, n in await summary.counts(session, account)
    ]
    overdue = [
        {"tier": str(TIER_NAMES.get(state, state)), "region": code, "n": n}
        for state, code, n in await summary.overdue(
            session, account, now, console_of(request).policy
        )
    ]
    weeks = await summary.per_week(session, account, now)
    top = max([n for _w, n in weeks] + [1])
    width = CHART_W // len(weeks)
    bars = [
        {"x": i * width + BAR_GAP // 2, "w": width - BAR_GAP, "h": round(n * (CHART_H - 20) / top),
         "y": CHART_H - round(n * (CHART_H - 20) / top), "n": n, "week": week}
        for i, (week, n) in enumerate(weeks)
    ]  # fmt: skip
    medians = [
        {"tier": str(TIER_NAMES.get(state, state)), "days": days}
        for state, days in sorted((await summary.median_days(session, account, now)).items())
    ]
    return render(
        request, "summary.html", counts=counts, overdue=overdue, bars=bars, medians=medians,
        chart_w=CHART_W, chart_h=CHART_H, total=sum(c["n"] for c in counts),
    )  # fmt: skip


def routes() -> list[web.RouteDef]:
    return [web.get("/ringkasan", summary_page)]
