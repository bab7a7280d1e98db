"""The queue (Antrian), a report (Laporan), decisions and evidence.

Every decision goes through :func:`registry.workflow.decide` / ``ask_info`` (tier order,
area, optimistic locking, audit) and :func:`flows.review.notify_decision` (the reporter
and the next tier hear of it through the outbox, each in their language), like a press
of a button in chat."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from markupsafe import Markup

from console.evidence import EvidenceUnavailable, content_type
from console.web import ACCOUNT, console_of, db, message_page, redirect, render
from flows import review
from locales import _
from registry import attributes as attr
from registry import audit, links, queues, workflow, worklist
from registry.accounts import grant_covers
from registry.errors import DomainError, NotFound
from registry.kinds import CATALOG
from registry.regions import region_path
from storage.models import Account, Attachment, Report, utcnow

RELATIONSHIPS = attr.RELATIONSHIP_LABELS  # the same words as the chat
BY = "console"  # the audit log's word for decisions taken in the web console
MAX_SIDE_BY_SIDE = 3  # linked reports whose cards are shown beside this one


def _int(value: str | None, low: int = 1, high: int = 10**9) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if low <= number <= high else None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def filters_from(query: Any, account: Account) -> worklist.Filters:
    default = worklist.MINE if queues.decides_a_tier(account) else worklist.OPEN
    state = query.get("state") or default
    kinds = {k.name for k in CATALOG}
    return worklist.Filters(
        state=state if state in worklist.STATE_FILTERS else default,
        kind=query.get("kind") if query.get("kind") in kinds else None,
        region=(query.get("region") or "").strip()[:13] or None,
        rw=_int(query.get("rw"), 1, 999),
        rt=_int(query.get("rt"), 1, 999),
        overdue=query.get("overdue") == "1",
        date_from=_date(query.get("from")),
        date_to=_date(query.get("to")),
        q=(query.get("q") or "").strip()[:60] or None,
        sort=query.get("sort") if query.get("sort") in worklist.SORTS else "oldest",
        page=_int(query.get("page")) or 1,
    )


async def _villages(request: web.Request, account: Account) -> list[tuple[str, str]]:
    """The desa/kelurahan of the account's areas (for the filter and the meeting)."""
    return await worklist.villages_of(db(request), account)


def _state_options() -> list[tuple[str, str]]:
    return [
        (worklist.MINE, _("Waiting for my decision")),
        (worklist.OPEN, _("All open reports")),
        (worklist.DONE, _("Finished (approved, rejected, withdrawn)")),
        (worklist.ALL, _("All reports")),
        *((state, str(label)) for state, label in review.STATE_LABELS.items()),
    ]


def _sort_options() -> list[tuple[str, str]]:
    return [
        ("oldest", _("Oldest first")),
        ("newest", _("Newest first")),
        ("waiting", _("Longest waiting at its tier")),
    ]


async def queue_page(request: web.Request) -> web.Response:
    account: Account = request[ACCOUNT]
    console = console_of(request)
    filters = filters_from(request.query, account)
    now = utcnow()
    page = await worklist.find_reports(db(request), account, filters, console.policy, now=now)
    rows = [
        {
            "report": r,
            "title": review.kind_title(r.kind),
            "state": str(review.STATE_LABELS[r.state]),
            "overdue": worklist.is_overdue(r, now, console.policy),
            "decidable": _decidable(account, r),
        }
        for r in page.reports
    ]
    query = {k: v for k, v in request.query.items() if k != "page"}
    villages = await _villages(request, account)
    return render(
        request, "queue.html", page=page, rows=rows, filters=filters, query=query,
        kinds=[(k.name, str(k.form.title)) for k in CATALOG], villages=villages,
        village_names=dict(villages),
        states=_state_options(), sorts=_sort_options(), notice=request.query.get("done"),
        can_decide=queues.decides_a_tier(account),
    )  # fmt: skip


def _decidable(account: Account, report: Report) -> bool:
    try:
        workflow.check_can_decide(account, report)
    except DomainError:
        return False
    return True


def _selected(form: Any) -> list[tuple[int, int]]:
    """``report_id:version`` pairs of the ticked reports."""
    chosen = []
    for value in form.getall("pick", []):
        report_id, _sep, version = str(value).partition(":")
        rid, ver = _int(report_id), _int(version)
        if rid is not None and ver is not None:
            chosen.append((rid, ver))
    return chosen[:100]


async def _decide_one(
    request: web.Request, report_id: int, version: int, *, approve: bool,
    reason_code: str | None = None, note: str | None = None,
) -> str | None:  # fmt: skip
    """Decide one report in its own transaction; None when done, else why not."""
    session, account = db(request), request[ACCOUNT]
    try:
        report = await worklist.visible_report(session, account, report_id)
        decision = await workflow.decide(
            session, report, account, approve=approve, reason_code=reason_code, note=note,
            expected_version=version, by=BY,
        )  # fmt: skip
        await review.notify_decision(session, decision)
        await session.commit()
    except DomainError as exc:
        await session.rollback()
        return str(exc)
    finally:
        await session.refresh(account)  # expired by the commit or rollback
    return None


def _woken(request: web.Request) -> None:
    wake = console_of(request).on_enqueued
    if wake is not None:
        wake()


async def bulk_decide(request: web.Request) -> web.Response:
    form = await request.post()
    chosen = _selected(form)
    if not chosen:
        return message_page(request, 400, _("Nothing chosen"), _("Tick at least one report."))
    if form.get("action") == "reject":
        session, account = db(request), request[ACCOUNT]
        reports = []
        for report_id, version in chosen:
            try:
                reports.append(
                    (await worklist.visible_report(session, account, report_id), version)
                )
            except NotFound:
                continue
        return render(request, "reject.html", reports=reports, reasons=_reasons())
    results = []
    for report_id, version in chosen:
        error = await _decide_one(request, report_id, version, approve=True)
        results.append((report_id, error))
    _woken(request)
    return await _results(request, results)


async def bulk_reject(request: web.Request) -> web.Response:
    form = await request.post()
    results = []
    for report_id, version in _selected(form):
        code = str(form.get(f"code_{report_id}", ""))
        note = str(form.get(f"note_{report_id}", "")).strip()[:500] or None
        error = await _decide_one(
            request, report_id, version, approve=False, reason_code=code, note=note
        )
        results.append((report_id, error))
    _woken(request)
    return await _results(request, results)


async def _results(request: web.Request, results: list[tuple[int, str | None]]) -> web.Response:
    session = db(request)
    rows = []
    for report_id, error in results:
        report = await session.get(Report, report_id)
        if report is not None and not any(grant_covers(g, report) for g in request[ACCOUNT].roles):
            report = None  # another area's report: not even its number
        rows.append({"report": report, "id": report_id, "error": error,
                     "state": str(review.STATE_LABELS[report.state]) if report else "-"})  # fmt: skip
    return render(request, "results.html", rows=rows)


def _reasons() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in review.REJECT_REASON_LABELS.items()]


async def _report_for(request: web.Request) -> Report:
    report_id = _int(request.match_info["report_id"])
    if report_id is None:
        raise web.HTTPNotFound()
    try:
        return await worklist.visible_report(db(request), request[ACCOUNT], report_id)
    except NotFound:
        raise web.HTTPNotFound() from None


def _location(report: Report) -> dict[str, Any] | None:
    spot = report.payload.get("location")
    if not isinstance(spot, dict):
        return None
    try:
        lat, lon = float(spot["latitude"]), float(spot["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    return {
        "lat": f"{lat:.6f}", "lon": f"{lon:.6f}",
        "url": f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}",
    }  # fmt: skip


async def report_page(request: web.Request) -> web.Response:
    session, account = db(request), request[ACCOUNT]
    report = await _report_for(request)
    full_ids = review.shows_full_ids(account, report)
    audit.record(
        session, "report.view", actor=account, by=BY, report=report, state=report.state,
        full_ids=full_ids,
    )  # fmt: skip
    card = await review.render_card(session, report, full_ids=full_ids)
    linked = []
    for link in await links.links_of(session, report):
        other = link.other
        visible = any(grant_covers(g, other) for g in account.roles)
        card_of_other = None
        if visible and len([x for x in linked if x["card"]]) < MAX_SIDE_BY_SIDE:
            other_full = review.shows_full_ids(account, other)
            audit.record(
                session, "report.view", actor=account, by=BY, report=other, state=other.state,
                full_ids=other_full,
            )  # fmt: skip
            card_of_other = Markup(await review.render_card(session, other, full_ids=other_full))
        linked.append(
            {"relation": link.relation, "other": other, "title": review.kind_title(other.kind),
             "state": str(review.STATE_LABELS[other.state]), "visible": visible,
             "card": card_of_other}
        )  # fmt: skip
    timeline = [
        {"event": e, "text": Markup(review.event_line(e))}  # event_line escapes what people typed
        for e in report.events
    ]
    path = await region_path(session, report.region_code)
    return render(
        request, "report.html", report=report, card=Markup(card), timeline=timeline,
        linked=linked, location=_location(report), household=report.household,
        place=", ".join(r.name for r in reversed(path[1:])), decidable=_decidable(account, report),
        approve_label=str(review.APPROVE_LABELS.get(report.state, "")), reasons=_reasons(),
        title=review.kind_title(report.kind), state=str(review.STATE_LABELS[report.state]),
        full_ids=full_ids, relationships=RELATIONSHIPS, statuses=review.MEMBER_STATUS,
    )  # fmt: skip


async def decide_page(request: web.Request) -> web.Response:
    report = await _report_for(request)
    report_id = report.id
    form = await request.post()
    version = _int(str(form.get("version", ""))) or 0
    action = form.get("action")
    if action == "ask":
        session, account = db(request), request[ACCOUNT]
        try:
            decision = await workflow.ask_info(
                session, report, account, str(form.get("question", ""))[:500],
                expected_version=version,
            )  # fmt: skip
            await review.notify_decision(session, decision)
            await session.commit()
            error = None
        except DomainError as exc:
            await session.rollback()
            error = str(exc)
        await session.refresh(account)
    else:
        error = await _decide_one(
            request, report_id, version, approve=action == "approve",
            reason_code=str(form.get("code", "")) or None,
            note=str(form.get("note", "")).strip()[:500] or None,
        )  # fmt: skip
    _woken(request)
    if error is not None:
        return message_page(request, 409, _("Not decided"), error)
    return redirect(f"/laporan/{report_id}")


async def evidence(request: web.Request) -> web.Response:
    report = await _report_for(request)
    attachment_id = _int(request.match_info["attachment_id"])
    found = next((a for a in report.attachments if a.id == attachment_id), None)
    if found is None:
        raise web.HTTPNotFound()
    attachment: Attachment = found
    try:
        data = await console_of(request).evidence.get(attachment.file_id, attachment.file_unique_id)
    except EvidenceUnavailable:
        return message_page(
            request, 502, _("File not available"),
            _("The file cannot be fetched from Telegram right now. Please try again later."),
        )  # fmt: skip
    kind = content_type(data)
    inline = kind.startswith("image/") or kind == "application/pdf"
    headers = {
        "Content-Disposition": ("inline" if inline else "attachment")
        + f'; filename="{report.number}-{attachment.id}"',
        "Cache-Control": "private, no-store",
    }
    return web.Response(body=data, content_type=kind, headers=headers)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", queue_page),
        web.post("/keputusan", bulk_decide),
        web.post("/keputusan/tolak", bulk_reject),
        web.get("/laporan/{report_id}", report_page),
        web.post("/laporan/{report_id}/putuskan", decide_page),
        web.get("/laporan/{report_id}/berkas/{attachment_id}", evidence),
    ]
