"""Ekspor: the queue's filtered list as CSV or XLSX (KK masked, as the meeting list), and,
for officers and admins, the changes export of their area (full NIK and KK, like
``lapor-warga export changes``). Files are written through registry.tables (formula-proof
cells, a 0600 temporary file) and every export goes into the audit log."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from console.pages import filters_from
from console.web import ACCOUNT, console_of, db, message_page, render
from flows.meeting import MEETING_HEADER, plain_summary
from flows.review import STATE_LABELS, kind_title
from locales import _
from registry import audit, worklist
from registry.exports import CHANGES_HEADER, changed_rows
from registry.nik import mask
from registry.tables import open_table
from storage.models import Account, Household, Region, Report, utcnow
from storage.streaming import stream_rows

MAX_ROWS = 100_000
TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(data: bytes, fmt: str, name: str) -> web.Response:
    return web.Response(
        body=data, content_type=TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )  # fmt: skip


async def export_list(request: web.Request) -> web.Response:
    """The queue's filtered list, streamed from the database into the file (any size up
    to MAX_ROWS, in constant memory)."""
    session, account = db(request), request[ACCOUNT]
    fmt = request.query.get("format", "csv")
    if fmt not in TYPES:
        raise web.HTTPNotFound()
    filters = filters_from(request.query, account)
    where = worklist.matching(account, filters, utcnow(), console_of(request).policy)
    stmt = (
        select(Report.number, Report.kind, Report.state, Report.created_at, Region.name,
               Report.rw, Report.rt, Household.kk, Report.payload)
        .join(Region, Region.code == Report.region_code)
        .outerjoin(Household, Household.id == Report.household_id)
        .where(*where)
        .order_by(*worklist.order_of(filters))
        .limit(MAX_ROWS)
    )  # fmt: skip
    rows = 0
    with tempfile.TemporaryDirectory(prefix="lapor-warga-export-") as tmp:
        path = Path(tmp) / f"laporan.{fmt}"
        with open_table(path, fmt, [str(h) for h in MEETING_HEADER], sheet="laporan",
                        bom=True) as table:  # fmt: skip
            async for number, kind, state, created, village, rw, rt, kk, payload in stream_rows(
                session, stmt, 500
            ):
                table.row([
                    number, kind_title(kind), str(STATE_LABELS.get(state, state)), created.date(),
                    village, rw, rt, mask(kk) if kk else "", plain_summary(kind, payload or {}),
                ])  # fmt: skip
                rows += 1
        data = path.read_bytes()
    audit.record(session, "export.reports", actor=account, by="console", rows=rows, format=fmt)
    return _download(data, fmt, "laporan")


def _change_regions(account: Account) -> list[str]:
    return sorted({g.region_code for g in account.roles if g.role in ("officer", "admin")})


async def export_changes(request: web.Request) -> web.Response:
    session, account = db(request), request[ACCOUNT]
    regions = _change_regions(account)
    if not regions:
        raise web.HTTPForbidden(
            text=_("Only officers and console administrators can export changes.")
        )
    fmt = request.query.get("format", "csv")
    if fmt not in TYPES:
        raise web.HTTPNotFound()
    try:
        since = date.fromisoformat(request.query.get("since", ""))
    except ValueError:
        since = (utcnow() - timedelta(days=30)).date()
    rows = 0
    with tempfile.TemporaryDirectory(prefix="lapor-warga-export-") as tmp:
        path = Path(tmp) / f"perubahan.{fmt}"
        with open_table(path, fmt, CHANGES_HEADER, sheet="changes", bom=True) as table:
            for region in regions:
                async for row in changed_rows(session, since, region):
                    table.row(row)
                    rows += 1
                    if rows > MAX_ROWS:
                        return message_page(
                            request, 413, _("Too many rows"),
                            _("Choose a later date, or use lapor-warga export changes."),
                        )  # fmt: skip
        data = path.read_bytes()
    audit.record(session, "export.changes", actor=account, by="console", rows=rows, format=fmt,
                 since=since.isoformat())  # fmt: skip
    return _download(data, fmt, f"perubahan-{since.isoformat()}")


async def export_page(request: web.Request) -> web.Response:
    return render(
        request, "export.html", query=dict(request.query),
        changes=bool(_change_regions(request[ACCOUNT])),
        since=(utcnow() - timedelta(days=30)).date().isoformat(),
    )  # fmt: skip


def routes() -> list[web.RouteDef]:
    return [
        web.get("/ekspor", export_page),
        web.get("/ekspor/laporan", export_list),
        web.get("/ekspor/perubahan", export_changes),
    ]
