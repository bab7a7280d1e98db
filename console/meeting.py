"""Musyawarah desa/kelurahan: choose the reports of a village waiting for its tier for a
meeting on a date, print the list, download the berita acara (DOCX, python-docx), and
record the meeting's outcome per report in one form: each outcome is the village tier's
decision, taken through registry.workflow like any other (only by a lurah of that village;
an operator prepares the meeting but decides nothing)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy import select

from console.pages import _decide_one, _reasons, _results, _villages, _woken
from console.web import ACCOUNT, db, message_page, render
from flows.meeting import plain_summary
from flows.review import kind_title
from locales import _, format_date
from registry import workflow, worklist
from registry.errors import NotFound
from registry.nik import mask
from registry.regions import get_region
from storage.models import Account, Report

MAX_REPORTS = 200


def _meeting_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def _decides_village(account: Account, code: str) -> bool:
    return any(g.role == "lurah" and g.region_code == code for g in account.roles)


async def _waiting(request: web.Request, code: str) -> list[Report]:
    """The village's reports waiting for the village tier that the account may see."""
    stmt = (
        select(Report)
        .where(
            worklist.visible_clause(request[ACCOUNT]),
            Report.region_code == code,
            Report.state == workflow.AWAITING_KELURAHAN,
        )
        .order_by(Report.rw, Report.rt, Report.id)
        .limit(MAX_REPORTS)
    )
    return list((await db(request).execute(stmt)).scalars().unique().all())


async def _chosen(request: web.Request, ids: list[str]) -> list[Report]:
    reports = []
    for value in ids[:MAX_REPORTS]:
        try:
            reports.append(await worklist.visible_report(db(request), request[ACCOUNT], int(value)))
        except (NotFound, ValueError):
            continue
    return reports


def _rows(reports: list[Report]) -> list[dict[str, Any]]:
    return [
        {"report": r, "title": kind_title(r.kind),
         "kk": mask(r.household.kk) if r.household and r.household.kk else "-",
         "summary": plain_summary(r.kind, r.payload or {})}
        for r in reports
    ]  # fmt: skip


async def meeting_start(request: web.Request) -> web.Response:
    account = request[ACCOUNT]
    code = request.query.get("desa", "")
    day = _meeting_date(request.query.get("tanggal"))
    villages = await _villages(request, account)
    rows = _rows(await _waiting(request, code)) if code and day else []
    return render(request, "meeting_start.html", villages=villages, code=code, day=day, rows=rows)


async def _meeting(request: web.Request) -> tuple[str, date, Any, list[Report]]:
    code = request.query.get("desa", "")
    day = _meeting_date(request.query.get("tanggal"))
    region = await get_region(db(request), code) if code else None
    if region is None or day is None:
        raise web.HTTPNotFound()
    reports = [
        r for r in await _chosen(request, request.query.getall("r", [])) if r.region_code == code
    ]
    return code, day, region, reports


async def meeting_page(request: web.Request) -> web.Response:
    code, day, region, reports = await _meeting(request)
    account = request[ACCOUNT]
    return render(
        request, "meeting.html", region=region, day=day, rows=_rows(reports),
        query=request.query_string, decides=_decides_village(account, code), reasons=_reasons(),
        print_view=request.path.endswith("/cetak"),
    )  # fmt: skip


def berita_acara(region_name: str, day: date, rows: list[dict[str, Any]]) -> bytes:
    """The meeting's minutes as a DOCX: the list, attendance lines and signature blocks."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    title = doc.add_heading(_("Minutes of the village meeting (berita acara musyawarah)"), level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(
        _("On {date}, the village meeting of {village} discussed the reports from residents "
          "listed below and decided on each of them.").format(
            date=format_date(day), village=region_name
        )
    )  # fmt: skip
    table = doc.add_table(rows=1, cols=6)
    table.style = "Table Grid"
    header = [_("No."), _("Number"), _("Type"), "RW/RT", _("Summary"), _("Outcome")]
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for i, row in enumerate(rows, 1):
        r = row["report"]
        cells = table.add_row().cells
        values = [str(i), r.number, row["title"], f"{r.rw}/{r.rt}", row["summary"], ""]
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    for paragraph in (p for row in table.rows for c in row.cells for p in c.paragraphs):
        for run in paragraph.runs:
            run.font.size = Pt(9)
    doc.add_heading(_("Attendance"), level=2)
    attendance = doc.add_table(rows=1, cols=4)
    attendance.style = "Table Grid"
    for cell, text in zip(
        attendance.rows[0].cells, [_("No."), _("Name"), _("Position"), _("Signature")], strict=True
    ):
        cell.text = text
    for i in range(1, 16):
        attendance.add_row().cells[0].text = str(i)
    doc.add_paragraph()
    signatures = doc.add_table(rows=1, cols=3)
    blocks = [_("Lurah / kepala desa"), _("Representative of the residents"), _("Village operator")]
    for cell, role in zip(signatures.rows[0].cells, blocks, strict=True):
        cell.text = f"{role}\n\n\n\n(______________________)"
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


async def minutes(request: web.Request) -> web.Response:
    _code, day, region, reports = await _meeting(request)
    data = berita_acara(region.name, day, _rows(reports))
    return web.Response(
        body=data,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={
            "Content-Disposition": f'attachment; filename="berita-acara-{day.isoformat()}.docx"'
        },
    )


async def outcomes(request: web.Request) -> web.Response:
    account = request[ACCOUNT]
    form = await request.post()
    code = str(form.get("desa", ""))
    day = _meeting_date(str(form.get("tanggal", "")))
    if day is None or not _decides_village(account, code):
        return message_page(
            request, 403, _("Not decided"),
            _("Only the lurah or kepala desa of this village records the meeting's outcome."),
        )  # fmt: skip
    note = _("Village meeting of {date}").format(date=format_date(day))
    results = []
    for value in form.getall("pick", []):
        report_id, _sep, version = str(value).partition(":")
        if not (report_id.isdigit() and version.isdigit()):
            continue
        outcome = str(form.get(f"outcome_{report_id}", ""))
        if outcome not in ("approve", "reject"):
            continue  # not decided at the meeting: it stays waiting
        report = await db(request).get(Report, int(report_id))
        if report is None or report.region_code != code:
            # Another village's report: not decided under this village's meeting note.
            results.append((int(report_id), _("This report is not from this village.")))
            continue
        reason = str(form.get(f"note_{report_id}", "")).strip()[:500]
        error = await _decide_one(
            request, int(report_id), int(version), approve=outcome == "approve",
            reason_code=str(form.get(f"code_{report_id}", "")) or None,
            note=f"{note}: {reason}" if reason else note,
        )  # fmt: skip
        results.append((int(report_id), error))
    _woken(request)
    return await _results(request, results)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/musyawarah", meeting_start),
        web.get("/musyawarah/rapat", meeting_page),
        web.get("/musyawarah/cetak", meeting_page),
        web.get("/musyawarah/berita-acara", minutes),
        web.post("/musyawarah/hasil", outcomes),
    ]
