"""What reviewers see and press: report cards, decisions, questions, the queue.

Messages to other people than the one who acted (the reporter, the next tier) are
posted to the outbox in the decision's transaction (:mod:`flows.notify`)."""

from __future__ import annotations

from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from flows import engine, notify
from flows.buttons import Decide, InfoAction, NeedsInfo, OpenQueued, Verdict, Withdraw
from flows.engine import FormState
from flows.io import Button, Ctx, Outcome, Reply
from locales import _, format_date, lazy_gettext, local_time, use_locale
from registry import audit, links, queues, workflow
from registry.errors import DomainError
from registry.forms import VOICE_ANSWER, FieldError, Form, Step
from registry.households import living_head, member_by_nik
from registry.kinds import kind_named
from registry.nik import mask, mask_identity_numbers
from registry.regions import region_path
from storage.models import Account, Household, Report, ReportEvent

STATE_LABELS = {
    workflow.SUBMITTED: lazy_gettext("Submitted"),
    workflow.AWAITING_RT: lazy_gettext("Waiting for the RT head"),
    workflow.AWAITING_KELURAHAN: lazy_gettext("Waiting for the kelurahan/desa"),
    workflow.AWAITING_OFFICER: lazy_gettext("Waiting for an officer"),
    workflow.APPROVED: lazy_gettext("Approved"),
    workflow.APPLIED: lazy_gettext("Approved and entered in the registry"),
    workflow.REJECTED: lazy_gettext("Rejected"),
    workflow.NEEDS_INFO: lazy_gettext("Waiting for more information from the reporter"),
    workflow.WITHDRAWN: lazy_gettext("Withdrawn by the reporter"),
}
REJECT_REASON_LABELS = {
    "not_true": lazy_gettext("The reported change is not true"),
    "duplicate": lazy_gettext("Already reported"),
    "not_in_area": lazy_gettext("Not in this area"),
    "no_evidence": lazy_gettext("Not enough evidence"),
    "other": lazy_gettext("Another reason"),
}
assert set(REJECT_REASON_LABELS) == set(workflow.REJECT_REASONS)
MEMBER_STATUS = {
    "alive": lazy_gettext("living there"),
    "moved": lazy_gettext("recorded as moved away"),
    "deceased": lazy_gettext("recorded as deceased"),
    "gone": lazy_gettext("no longer in the village's data"),
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
    report_kind = kind_named(kind)
    return str(report_kind.form.title) if report_kind is not None else kind


def reason_text(event: ReportEvent) -> str:
    """A rejection's reason as the reporter and reviewers read it (escaped)."""
    if event.reason_code == "duplicate" and event.actor_account_id is None:
        return _("the same change was entered in the registry through {number}").format(
            number=escape(event.note or "-")
        )
    parts = []
    if event.reason_code in REJECT_REASON_LABELS:
        parts.append(str(REJECT_REASON_LABELS[event.reason_code]))
    if event.note:
        parts.append(escape(event.note))
    return ": ".join(parts) or "-"


def event_line(event: ReportEvent) -> str:
    """One event of a report's history: its state and what was said."""
    line = str(STATE_LABELS[event.to_state])
    if event.reason_code == workflow.ESCALATED:
        line += " · " + _("escalated: no decision within {days} days").format(days=event.note)
    elif event.to_state == workflow.REJECTED:
        line += " · " + reason_text(event)
    elif event.to_state == workflow.NEEDS_INFO:
        line += " · " + _("question: {text}").format(text=escape(event.note or ""))
    elif event.reason_code == workflow.REPORTER_GONE:
        line += " · " + _("unanswered: the reporter deleted their account")
    elif event.from_state == workflow.NEEDS_INFO:
        line += " · " + (
            _("answer: {text}").format(
                text=_("🎤 a voice message") if event.note == VOICE_ANSWER else escape(event.note)
            )
            if event.note
            else _("the reporter edited the report")
        )
    elif event.note:
        line += " · " + escape(event.note)
    return line


async def _link_lines(session: AsyncSession, report: Report) -> list[str]:
    lines = []
    for link in await links.links_of(session, report):
        other = link.other
        title, number = escape(kind_title(other.kind)), f"<code>{other.number}</code>"
        state = STATE_LABELS[other.state]
        if link.relation == links.DUPLICATE and other.state == workflow.APPLIED:
            lines.append(
                _("⚠️ The same change is already in the registry through {number}.").format(
                    number=number
                )
            )
        elif link.relation == links.DUPLICATE:
            lines.append(
                _("⚠️ Possibly the same change as {number} ({state}).").format(
                    number=number, state=state
                )
            )
        elif other.state in workflow.OPEN_STATES:
            lines.append(
                _("⚠️ Conflicts with {number}, {title} of the same person ({state}).").format(
                    number=number, title=title, state=state
                )
            )
    return lines


def _conversation_lines(report: Report) -> list[str]:
    """Questions to the reporter and their answers (a NIK or KK typed in them masked),
    and escalations."""
    lines = []
    for event in report.events:
        if event.to_state == workflow.NEEDS_INFO or event.from_state == workflow.NEEDS_INFO:
            lines.append("• " + mask_identity_numbers(event_line(event)))
        elif event.reason_code == workflow.ESCALATED:
            lines.append(
                "• "
                + _("⏫ {tier} did not decide within {days} days.").format(
                    tier=TIER_NAMES.get(event.from_state or "", "-"), days=event.note
                )
            )
    return lines


def _kk(kk: str | None, full_ids: bool) -> str:
    if not kk:
        return "-"
    return kk if full_ids else mask(kk)


def shows_full_ids(reviewer: Account, report: Report) -> bool:
    """Officers deciding a report at their tier see full NIK and KK numbers; everyone
    else (RT heads, lurah) sees them masked."""
    grant = workflow.tier_grant(reviewer, report)
    return report.state == workflow.AWAITING_OFFICER and grant is not None


async def render_card(session: AsyncSession, report: Report, *, full_ids: bool = False) -> str:
    """The report as reviewers see it: where, what was answered, what is attached. NIK
    and KK numbers are masked unless ``full_ids`` (an officer at the officer tier)."""
    report_kind = kind_named(report.kind)
    form = report_kind.form if report_kind is not None else None
    payload = report.payload
    anonymous = form is not None and form.anonymous is not None and form.anonymous(payload)
    path = await region_path(session, report.region_code)
    place = ", ".join(escape(r.name) for r in reversed(path[1:]))
    lines = [f"<b>{escape(kind_title(report.kind))}</b> · <code>{report.number}</code>"]
    household = report.household
    if household is not None:
        head = await living_head(session, household.id)  # a masked KK names no family
        lines += [
            _("Household: {head}, KK {kk}").format(
                head=escape(head.name), kk=_kk(household.kk, full_ids)
            )
            if head is not None
            else _("Household: KK {kk}").format(kk=_kk(household.kk, full_ids)),
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
        lines += engine.summary_lines(form, payload, full_ids=full_ids)
    if report.kind == "move_in" and payload.get("nik"):
        lines += await _known_person(session, payload["nik"], full_ids)
    if anonymous:
        lines.append(_("<i>Filed by a resident of this area; who filed it is not shown.</i>"))
    if report.filed_on_behalf:
        lines.append(
            _("📝 <i>Filed by the RT head for this household (the resident has no phone).</i>")
        )
    flagged = await _link_lines(session, report)
    talk = _conversation_lines(report)
    lines += [""] * bool(flagged or talk) + flagged + talk
    lines += [
        "",
        _("Submitted: {date}").format(date=format_date(local_time(report.created_at))),
        _("Status: {state}").format(state=STATE_LABELS[report.state]),
    ]
    return "\n".join(lines)


async def _known_person(session: AsyncSession, nik: str, full_ids: bool = False) -> list[str]:
    """A person moving in whom the registry already lists elsewhere: say who and where."""
    member = await member_by_nik(session, nik)
    if member is None:
        return []
    household = await session.get(Household, member.household_id)
    kk = _kk(household.kk if household is not None else None, full_ids)
    return [
        _("⚠️ This NIK is already in the registry: {name}, household KK {kk}, {status}.").format(
            name=escape(member.name), kk=kk, status=MEMBER_STATUS[member.status]
        ),
        _("Approving moves this person's registry entry into the household."),
    ]


def _decision_buttons(report: Report) -> list[list[Button]]:
    def data(verdict: Verdict) -> str:
        return Decide(report.id, report.version, verdict).pack()

    return [
        [
            Button(str(APPROVE_LABELS[report.state]), data(Verdict.APPROVE)),
            Button(_("❌ Reject"), data(Verdict.REJECT)),
        ],
        [Button(_("❓ Ask the reporter"), data(Verdict.ASK))],
    ]


def _voice_caption(report: Report, field: str) -> str:
    """What a voice note of the report answers: a question of its form (the reason of a
    dispute), or a reviewer's question."""
    kind = kind_named(report.kind)
    steps = {s.name: s for s in kind.form.flat} if kind is not None else {}
    if field in steps:
        about = str(steps[field].label)
    else:
        about = _("answer to the question")
    return _("🎤 Voice message of {number}: {about}").format(number=report.number, about=about)


async def card_for_reviewer(
    session: AsyncSession, report: Report, reviewer: Account, chat_id: int | None = None
) -> list[Reply]:
    """The report's attachments and card with decision buttons, for ``reviewer`` (to
    ``chat_id``, by default their own chat). Every card shown is a view of the report's
    personal data: it goes into the audit log."""
    chat_id = reviewer.telegram_id if chat_id is None else chat_id
    full_ids = shows_full_ids(reviewer, report)
    audit.record(
        session, "report.view", actor=reviewer, report=report, state=report.state,
        full_ids=full_ids,
    )  # fmt: skip
    caption = _("Attachment of {number}").format(number=report.number)
    about = report.id
    replies = [
        Reply(chat_id=chat_id, text=_voice_caption(report, a.field), voice=a.file_id,
              about_report=about)
        if a.kind == "voice"
        else Reply(chat_id=chat_id, text=caption, photo=a.file_id, about_report=about)
        if a.kind == "photo"
        else Reply(chat_id=chat_id, text=caption, document=a.file_id, about_report=about)
        for a in report.attachments
    ]  # fmt: skip
    text = await render_card(session, report, full_ids=full_ids)
    text += "\n\n" + _("Is this true? Please decide.")
    buttons = _decision_buttons(report)
    replies.append(Reply(chat_id=chat_id, text=text, buttons=buttons, about_report=about))
    return replies


def _arrival_note(report: Report) -> str:
    last = report.events[-1] if report.events else None
    if last is not None and last.reason_code == workflow.ESCALATED:
        return _(
            "⏫ A report was escalated to you: {tier} did not decide within {days} days."
        ).format(tier=TIER_NAMES.get(last.from_state or "", "-"), days=last.note)
    if last is not None and last.reason_code == workflow.REPORTER_GONE:
        return _(
            "↩️ A report your tier asked about is back unanswered: its reporter deleted their "
            "account. Please decide with what you have."
        )
    if last is not None and last.from_state == workflow.NEEDS_INFO:
        return _("💬 The reporter answered your tier's question about a report.")
    return _("📥 A new report waits for your review.")


async def notify_current_tier(session: AsyncSession, report: Report) -> list[Reply]:
    """A message with decision buttons to every reviewer of the report's current tier."""
    replies: list[Reply] = []
    for account in await queues.reviewers_for(session, report):
        with use_locale(account.locale):
            note = _arrival_note(report)
            replies.append(Reply(account.telegram_id, note, about_report=report.id))
            replies.extend(await card_for_reviewer(session, report, account))
    return replies


def reporter_buttons(report: Report) -> list[list[Button]]:
    """What the reporter can do with the report now."""
    rows = []
    if report.state == workflow.NEEDS_INFO:
        rows.append(
            [
                Button(_("✍️ Answer"), NeedsInfo(report.id, InfoAction.ANSWER).pack()),
                Button(_("✏️ Edit the report"), NeedsInfo(report.id, InfoAction.EDIT).pack()),
            ]
        )
    if report.state in (workflow.SUBMITTED, *workflow.WAITING, workflow.NEEDS_INFO):
        rows.append([Button(_("↩️ Withdraw"), Withdraw(report.id).pack())])
    return rows


def reporter_update(report: Report) -> list[Reply]:
    """Tell the reporter, in their language, where the report stands after its last event."""
    reporter: Account | None = report.reporter
    if reporter is None:
        return []
    last = report.events[-1]
    number = f"<code>{report.number}</code>"
    with use_locale(reporter.locale):
        buttons: list[list[Button]] = []
        if last.reason_code == workflow.ESCALATED:
            text = _(
                "⏫ Report {number} had no decision from {tier} within {days} days. "
                "It now waits for {next}."
            ).format(
                number=number, tier=TIER_NAMES.get(last.from_state or "", "-"),
                days=last.note, next=TIER_NAMES.get(report.state, "-"),
            )  # fmt: skip
        elif report.state == workflow.NEEDS_INFO:
            text = _(
                "❓ {tier} asks about report {number}:\n\n{question}\n\n"
                "Answer with the button below, or edit the report."
            ).format(
                tier=TIER_NAMES.get(last.from_state or "", "-"), number=number,
                question=escape(last.note or ""),
            )  # fmt: skip
            buttons = reporter_buttons(report)
        elif report.state == workflow.REJECTED and last.actor_account_id is None:
            text = _("Report {number} was closed: {reason}.").format(
                number=number, reason=reason_text(last)
            )
        elif report.state == workflow.REJECTED:
            text = _("❌ Report {number} was rejected by {tier}. Reason: {reason}").format(
                number=number, tier=TIER_NAMES.get(last.from_state or "", "-"),
                reason=reason_text(last),
            )  # fmt: skip
        else:
            messages = {
                workflow.AWAITING_KELURAHAN: _("👍 Report {number} was confirmed by your RT head. It now waits for {next}."),
                workflow.AWAITING_OFFICER: _("👍 Report {number} was verified by the kelurahan/desa. It now waits for {next}."),
                workflow.APPLIED: _("🎉 Report {number} was approved and is now in the registry."),
            }  # fmt: skip
            if last.from_state == workflow.SUBMITTED and report.state == workflow.AWAITING_RT:
                messages[report.state] = _(
                    "📨 Report {number} was sent. It now waits for your RT head to confirm it."
                )
            elif last.from_state == workflow.SUBMITTED:
                messages[report.state] = _("📨 Report {number} was sent. It now waits for {next}.")
            elif last.from_state == workflow.AWAITING_RT:
                messages[report.state] = messages[workflow.AWAITING_KELURAHAN]
            template = messages.get(report.state, _("Report {number}: {state}"))
            text = template.format(
                number=number, state=STATE_LABELS[report.state],
                next=TIER_NAMES.get(report.state, "-"),
            )  # fmt: skip
            if report.state == workflow.APPLIED and report.kind == "birth":
                template = (
                    _("{name} is now a member of the household.")
                    if report.filed_on_behalf
                    else _("{name} is now a member of your household.")
                )
                text += " " + template.format(name=escape(report.payload["name"]))
            if report.state == workflow.APPLIED and report.kind == "dispute":
                text += " " + _("The officers will take it into account at the next desil review.")
            if report.state == workflow.APPLIED and report.kind == "aid_proposal":
                text += " " + _(
                    "The proposal goes to the village meeting and Dinas Sosial, who decide "
                    "who receives aid."
                )
        replies = [Reply(reporter.telegram_id, text, buttons, about_report=report.id)]
        if report.state == workflow.APPLIED:
            replies.extend(_dukcapil_note(report, reporter))
        return replies


def _dukcapil_note(report: Report, reporter: Account) -> list[Reply]:
    """Which civil-registry document to arrange now that the change is approved, if any
    (the kind's ``dukcapil``), in one short message in the reporter's language."""
    kind = kind_named(report.kind)
    document = kind.dukcapil_document(report.payload) if kind is not None else None
    if document is None:
        return []
    text = _(
        "📄 Next step: at the Disdukcapil office (or its service at the kecamatan), "
        "please arrange {document}. Show report {number} and the family's KK."
    ).format(document=document, number=f"<code>{report.number}</code>")
    return [Reply(reporter.telegram_id, text, about_report=report.id)]


async def notify_decision(session: AsyncSession, decision: workflow.Decision) -> int:
    """Queue what a transition means for others: the reporter's update, the next tier's
    cards, and the reporters of duplicates it closed. Returns the number of messages."""
    report = decision.report
    replies = reporter_update(report)
    replies += await notify_current_tier(session, report)
    for closed in decision.closed:
        replies += reporter_update(closed)
    return notify.post(session, replies, purpose="review")


async def on_decision(ctx: Ctx, press: Decide) -> Outcome:
    """A decision pressed on a report card."""
    if ctx.account is None:
        return Outcome(notice=_("This button has expired."))
    version, verdict = press.version, press.verdict
    try:
        report = await workflow.get_report(ctx.session, press.report_id)
        if verdict is not Verdict.APPROVE:
            workflow.check_can_decide(ctx.account, report, version)
            context = {"report_id": report.id, "version": version, "number": report.number}
            form = REJECT_FORM if verdict is Verdict.REJECT else ASK_FORM
            return await engine.start(ctx, form, context)
        tier = report.state
        full_ids = shows_full_ids(ctx.account, report)  # the card keeps what it showed
        decision = await workflow.decide(
            ctx.session, report, ctx.account, approve=True, expected_version=version
        )
    except DomainError as exc:
        return Outcome(notice=str(exc), alert=True)
    card = await render_card(ctx.session, decision.report, full_ids=full_ids)
    await notify_decision(ctx.session, decision)
    return Outcome(
        [
            ctx.reply(
                card + "\n\n" + str(DONE_LABELS[tier]), edit_message_id=ctx.incoming.message_id
            )
        ],
        notice=str(DONE_LABELS[tier]),
    )


async def _report_of(state: FormState) -> Report:
    return await workflow.get_report(state.session, int(state.draft.context["report_id"]))


async def _reject(state: FormState) -> Outcome:
    context = state.draft.context
    try:
        report = await _report_of(state)
        decision = await workflow.decide(
            state.session, report, state.account, approve=False,
            note=state.answers.get("reason"), reason_code=state.answers["code"],
            expected_version=int(context["version"]),
        )  # fmt: skip
    except DomainError as exc:  # decided by someone else while the reason was typed
        return Outcome([state.ctx.reply(str(exc))])
    await notify_decision(state.session, decision)
    text = _("Report {number} was rejected. The reporter has been told the reason.").format(
        number=f"<code>{report.number}</code>"
    )
    return Outcome([state.ctx.reply(text)])


async def _other_needs_words(state: FormState) -> None:
    if state.answers.get("code") == "other" and not state.answers.get("reason"):
        raise FieldError(_("Please write the reason."), step="reason")


def _number_prompt(template: object):  # type: ignore[no-untyped-def]
    """A prompt naming the report (``template`` is a lazy string with ``{number}``)."""

    def prompt(state: FormState) -> str:
        return str(template).format(number=f"<code>{state.draft.context['number']}</code>")

    return prompt


REJECT_FORM = Form(
    name="reject",
    title=lazy_gettext("Reject a report"),
    review=False,
    submit=_reject,
    validate=_other_needs_words,
    steps=[
        Step(
            "code",
            "choice",
            prompt=_number_prompt(lazy_gettext("Why do you reject report {number}?")),
            label=lazy_gettext("Reason"),
            options=list(REJECT_REASON_LABELS.items()),
        ),
        Step(
            "reason",
            "text",
            prompt=_number_prompt(
                lazy_gettext(
                    "Explain the reason in a few words; the reporter of {number} will read "
                    "it. (Optional unless you chose another reason.)"
                )
            ),
            label=lazy_gettext("Explanation"),
            optional=True,
            max_length=500,
        ),
    ],
)


async def _ask(state: FormState) -> Outcome:
    context = state.draft.context
    try:
        report = await _report_of(state)
        decision = await workflow.ask_info(
            state.session, report, state.account, state.answers["question"],
            expected_version=int(context["version"]),
        )  # fmt: skip
    except DomainError as exc:
        return Outcome([state.ctx.reply(str(exc))])
    await notify_decision(state.session, decision)
    text = _(
        "Your question about report {number} was sent to the reporter. "
        "The report comes back to your tier with the answer."
    ).format(number=f"<code>{report.number}</code>")
    return Outcome([state.ctx.reply(text)])


ASK_FORM = Form(
    name="ask_info",
    title=lazy_gettext("Ask the reporter"),
    review=False,
    submit=_ask,
    steps=[
        Step(
            "question",
            "text",
            prompt=_number_prompt(
                lazy_gettext(
                    "What do you want to ask the reporter of {number}? "
                    "They will read your question."
                )
            ),
            label=lazy_gettext("Question"),
            max_length=500,
        ),
    ],
)


async def queue(ctx: Ctx) -> Outcome:
    """/antrian: what waits for this reviewer."""
    if ctx.account is None or not ctx.account.roles:
        return Outcome([ctx.reply(_("You have no reviewer role."))])
    reports = await queues.queue_page(ctx.session, ctx.account)  # the oldest QUEUE_PAGE
    if not reports:
        return Outcome([ctx.reply(_("Nothing is waiting for you. 👌"))])
    waiting = len(reports)
    if waiting == queues.QUEUE_PAGE:  # maybe more than listed: count them all
        waiting = await queues.queue_size(ctx.session, ctx.account)
    lines = [_("<b>Waiting for your decision: {n}</b>").format(n=waiting)]
    buttons = []
    for report in reports:
        label = f"{report.number} · {kind_title(report.kind)}"
        lines.append(f"• {label} · {format_date(local_time(report.created_at))}")
        buttons.append([Button(label, OpenQueued(report.id).pack())])
    return Outcome([ctx.reply("\n".join(lines), buttons=buttons)])


async def open_from_queue(ctx: Ctx, press: OpenQueued) -> Outcome:
    """Show one queued report with its decision buttons."""
    try:
        report = await workflow.get_report(ctx.session, press.report_id)
        if ctx.account is None:
            raise DomainError(_("This button has expired."))
        workflow.check_can_decide(ctx.account, report)
    except DomainError as exc:
        return Outcome(notice=str(exc), alert=True)
    return Outcome(await card_for_reviewer(ctx.session, report, ctx.account, ctx.incoming.chat_id))
