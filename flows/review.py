"""What reviewers see and press: report cards, decisions, rejections, the queue."""

from __future__ import annotations

from html import escape

from flows import engine
from flows.engine import Form, FormState, Step
from flows.io import Button, Ctx, Outcome, Reply
from locales import _, format_date, lazy_gettext, use_locale
from registry import workflow
from registry.errors import DomainError
from registry.households import member_by_nik
from registry.nik import mask
from registry.regions import region_path
from storage.models import Account, Household, Report

STATE_LABELS = {
    workflow.SUBMITTED: lazy_gettext("Submitted"),
    workflow.AWAITING_RT: lazy_gettext("Waiting for the RT head"),
    workflow.AWAITING_KELURAHAN: lazy_gettext("Waiting for the kelurahan/desa"),
    workflow.AWAITING_OFFICER: lazy_gettext("Waiting for an officer"),
    workflow.APPROVED: lazy_gettext("Approved"),
    workflow.APPLIED: lazy_gettext("Approved and entered in the registry"),
    workflow.REJECTED: lazy_gettext("Rejected"),
}
MEMBER_STATUS = {
    "alive": lazy_gettext("living there"),
    "moved": lazy_gettext("recorded as moved away"),
    "deceased": lazy_gettext("recorded as deceased"),
}
TIER_NAMES = {
    workflow.AWAITING_RT: lazy_gettext("the RT head"),
    workflow.AWAITING_KELURAHAN: lazy_gettext("the kelurahan/desa"),
    workflow.AWAITING_OFFICER: lazy_gettext("an officer"),
}
APPROVE_LABELS = {
    workflow.AWAITING_RT: lazy_gettext("✅ Confirm"),
    workflow.AWAITING_KELURAHAN: lazy_gettext("✅ Verify"),
    workflow.AWAITING_OFFICER: lazy_gettext("✅ Approve"),
}
DONE_LABELS = {
    workflow.AWAITING_RT: lazy_gettext("✅ You confirmed this report."),
    workflow.AWAITING_KELURAHAN: lazy_gettext("✅ You verified this report."),
    workflow.AWAITING_OFFICER: lazy_gettext(
        "✅ You approved this report; it is now in the registry."
    ),
}


def kind_title(kind: str) -> str:
    form = engine.form_named(kind)
    return str(form.title) if form is not None else kind


async def render_card(ctx: Ctx, report: Report) -> str:
    """The report as reviewers see it: where, what was answered, what is attached."""
    form = engine.form_named(report.kind)
    payload = report.payload
    anonymous = form is not None and form.anonymous is not None and form.anonymous(payload)
    path = await region_path(ctx.session, report.region_code)
    place = ", ".join(escape(r.name) for r in reversed(path[1:]))
    lines = [f"<b>{escape(kind_title(report.kind))}</b> · <code>{report.number}</code>"]
    household = report.household
    if household is not None:
        lines += [
            _("Household: KK {kk}").format(kk=mask(household.kk) if household.kk else "-"),
            _("Address: {address}, RT {rt} / RW {rw}").format(
                address=escape(household.address), rt=household.rt, rw=household.rw
            ),
        ]
    elif anonymous:
        lines.append(_("Household: not identified in the registry"))
    else:
        lines.append(_("Household: not in the registry yet"))
    if household is None or household.rt != report.rt or household.rw != report.rw:
        lines.append(_("Area: RT {rt} / RW {rw}").format(rt=report.rt, rw=report.rw))
    lines += [place, ""]
    if form is not None:
        lines += engine.summary_lines(form, payload)
    if report.kind == "move_in" and payload.get("nik"):
        lines += await _known_person(ctx, payload["nik"])
    if anonymous:
        lines.append(_("<i>Filed by a resident of this area; who filed it is not shown.</i>"))
    lines += [
        "",
        _("Submitted: {date}").format(date=format_date(report.created_at)),
        _("Status: {state}").format(state=STATE_LABELS[report.state]),
    ]
    return "\n".join(lines)


async def _known_person(ctx: Ctx, nik: str) -> list[str]:
    """A person moving in whom the registry already lists elsewhere: say who and where."""
    member = await member_by_nik(ctx.session, nik)
    if member is None:
        return []
    household = await ctx.session.get(Household, member.household_id)
    kk = mask(household.kk) if household is not None and household.kk else "-"
    return [
        _("⚠️ This NIK is already in the registry: {name}, household KK {kk}, {status}.").format(
            name=escape(member.name), kk=kk, status=MEMBER_STATUS[member.status]
        ),
        _("Approving moves this person's registry entry into the household."),
    ]


def _decision_buttons(report: Report) -> list[list[Button]]:
    base = f"rv:{report.id}:{report.version}"
    return [
        [
            Button(str(APPROVE_LABELS[report.state]), f"{base}:y"),
            Button(_("❌ Reject"), f"{base}:n"),
        ]
    ]


async def card_for_reviewer(ctx: Ctx, report: Report, chat_id: int) -> list[Reply]:
    caption = _("Attachment of {number}").format(number=report.number)
    replies = [
        Reply(chat_id=chat_id, text=caption, photo=a.file_id)
        if a.kind == "photo"
        else Reply(chat_id=chat_id, text=caption, document=a.file_id)
        for a in report.attachments
    ]
    text = await render_card(ctx, report) + "\n\n" + _("Is this true? Please decide.")
    replies.append(Reply(chat_id=chat_id, text=text, buttons=_decision_buttons(report)))
    return replies


async def notify_current_tier(ctx: Ctx, report: Report) -> list[Reply]:
    """A message with decision buttons to every reviewer of the report's current tier."""
    replies: list[Reply] = []
    for account in await workflow.reviewers_for(ctx.session, report):
        with use_locale(account.locale):
            replies.append(
                Reply(chat_id=account.telegram_id, text=_("📥 A new report waits for your review."))
            )
            replies.extend(await card_for_reviewer(ctx, report, account.telegram_id))
    return replies


def reporter_update(report: Report, note: str | None = None) -> list[Reply]:
    """Tell the reporter, in their language, where the report stands now."""
    reporter: Account | None = report.reporter
    if reporter is None:
        return []
    with use_locale(reporter.locale):
        messages = {
            workflow.AWAITING_RT: _(
                "📨 Report {number} was sent. It now waits for your RT head to confirm it."
            ),
            workflow.AWAITING_KELURAHAN: _(
                "👍 Report {number} was confirmed by your RT head. It now waits for the kelurahan/desa."
            ),
            workflow.AWAITING_OFFICER: _(
                "👍 Report {number} was verified by the kelurahan/desa. It now waits for an officer."
            ),
            workflow.APPLIED: _("🎉 Report {number} was approved and is now in the registry."),
            workflow.REJECTED: _("❌ Report {number} was rejected by {tier}. Reason: {reason}"),
        }
        template = messages.get(report.state, _("Report {number}: {state}"))
        rejected_at = report.events[-1].from_state if report.events else None
        text = template.format(
            number=f"<code>{report.number}</code>",
            tier=TIER_NAMES.get(rejected_at or "", "-"),
            reason=escape(note or "-"),
            state=STATE_LABELS[report.state],
        )
        if report.state == workflow.APPLIED and report.kind == "birth":
            text += " " + _("{name} is now a member of your household.").format(
                name=escape(report.payload["name"])
            )
        if report.state == workflow.APPLIED and report.kind == "dispute":
            text += " " + _("The officers will take it into account at the next desil review.")
        return [Reply(chat_id=reporter.telegram_id, text=text)]


async def on_decision(ctx: Ctx, data: str) -> Outcome:
    """``rv:<report id>:<version>:<y|n>`` pressed on a report card."""
    try:
        _prefix, report_id, version, verdict = data.split(":")
        report_id_int, version_int = int(report_id), int(version)
    except ValueError:
        return Outcome(notice=_("This button has expired."))
    if ctx.account is None:
        return Outcome(notice=_("This button has expired."))
    try:
        report = await workflow.get_report(ctx.session, report_id_int)
        if verdict == "n":
            workflow.check_can_decide(ctx.account, report, version_int)
            return await engine.start(
                ctx,
                REJECT_FORM,
                {"report_id": report.id, "version": version_int, "number": report.number},
            )
        tier = report.state
        decision = await workflow.decide(
            ctx.session, report, ctx.account, approve=True, expected_version=version_int
        )
    except DomainError as exc:
        return Outcome(notice=str(exc), alert=True)
    card = await render_card(ctx, decision.report)
    outcome = Outcome(
        [
            ctx.reply(
                card + "\n\n" + str(DONE_LABELS[tier]), edit_message_id=ctx.incoming.message_id
            )
        ],
        notice=str(DONE_LABELS[tier]),
    )
    outcome.replies += reporter_update(decision.report)
    outcome.replies += await notify_current_tier(ctx, decision.report)
    return outcome


async def _reject(state: FormState) -> Outcome:
    context = state.draft.context
    try:
        report = await workflow.get_report(state.session, int(context["report_id"]))
        await workflow.decide(
            state.session, report, state.account, approve=False,
            note=state.answers["reason"], expected_version=int(context["version"]),
        )  # fmt: skip
    except DomainError as exc:  # decided by someone else while the reason was typed
        return Outcome([state.ctx.reply(str(exc))])
    text = _("Report {number} was rejected. The reporter has been told the reason.").format(
        number=f"<code>{report.number}</code>"
    )
    return Outcome([state.ctx.reply(text), *reporter_update(report, state.answers["reason"])])


def _reject_prompt(state: FormState) -> str:
    return _("Why do you reject report {number}? The reporter will read your reason.").format(
        number=f"<code>{state.draft.context['number']}</code>"
    )


REJECT_FORM = engine.register(
    Form(
        name="reject",
        title=lazy_gettext("Reject a report"),
        review=False,
        submit=_reject,
        steps=[
            Step(
                "reason",
                "text",
                prompt=_reject_prompt,
                label=lazy_gettext("Reason"),
                max_length=500,
            ),
        ],
    )
)


async def queue(ctx: Ctx) -> Outcome:
    """/antrian: what waits for this reviewer."""
    if ctx.account is None or not ctx.account.roles:
        return Outcome([ctx.reply(_("You have no reviewer role."))])
    reports = await workflow.queue_for(ctx.session, ctx.account)
    if not reports:
        return Outcome([ctx.reply(_("Nothing is waiting for you. 👌"))])
    lines = [_("<b>Waiting for your decision: {n}</b>").format(n=len(reports))]
    buttons = []
    for report in reports[:20]:
        label = f"{report.number} · {kind_title(report.kind)}"
        lines.append(f"• {label} · {format_date(report.created_at)}")
        buttons.append([Button(label, f"rq:{report.id}")])
    return Outcome([ctx.reply("\n".join(lines), buttons=buttons)])


async def open_from_queue(ctx: Ctx, data: str) -> Outcome:
    """``rq:<report id>``: show one queued report with its decision buttons."""
    try:
        report = await workflow.get_report(ctx.session, int(data.split(":")[1]))
        if ctx.account is None:
            raise DomainError(_("This button has expired."))
        workflow.check_can_decide(ctx.account, report)
    except (DomainError, ValueError, IndexError) as exc:
        message = str(exc) if isinstance(exc, DomainError) else _("This button has expired.")
        return Outcome(notice=message, alert=True)
    return Outcome(await card_for_reviewer(ctx, report, ctx.incoming.chat_id))
