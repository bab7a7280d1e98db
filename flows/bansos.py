"""/bansos (Cek bansos & desil): what the registry holds about the family's desil and
aid, the family's open reports, and honestly who decides what."""

from __future__ import annotations

from html import escape

from sqlalchemy import select

from flows import menus
from flows.buttons import ChooseReport
from flows.io import Button, Ctx, Outcome
from flows.onboarding import account_of
from flows.review import STATE_LABELS, kind_title
from locales import _, format_date, local_time
from registry import attributes as attr
from registry import workflow
from registry.kinds import kind_named
from registry.nik import mask
from storage.models import Household, RegistryRevision, Report

MAX_OPEN = 5


async def desil_since(ctx: Ctx, household: Household):  # type: ignore[no-untyped-def]
    """When the desil was last written: its last change (``registry import-desil`` from
    SIKS-NG, or an approved report), else when the family was imported."""
    stmt = (
        select(RegistryRevision.created_at, RegistryRevision.after)
        .where(
            RegistryRevision.household_id == household.id,
            RegistryRevision.action == "household_changed",
        )
        .order_by(RegistryRevision.id.desc())
    )
    for created_at, after in await ctx.session.execute(stmt):
        if after and "desil" in after:
            return created_at
    return household.created_at


async def show(ctx: Ctx) -> Outcome:
    account = await account_of(ctx)
    if not menus.linked(account):
        return Outcome([ctx.reply(_("First link your account to your household: send /start."))])
    household = await ctx.session.get(Household, account.household_id)
    assert household is not None
    since = format_date(local_time(await desil_since(ctx, household)))
    lines = [_("<b>Check aid and desil</b> · KK {kk}").format(kk=mask(household.kk))]
    if household.desil is None:
        lines.append(_("Desil: not recorded for your family (as of {date}).").format(date=since))
    else:
        lines.append(
            _("Desil: {desil} (as of {date}). Desil 1 is the poorest tenth of families, desil 10 the best off.").format(
                desil=household.desil, date=since
            )
        )  # fmt: skip
    labels = {code: str(label) for code, label in attr.AID_PROGRAMMES}
    programmes = [labels.get(p, p) for p in (household.details or {}).get("programmes") or []]
    if programmes:
        lines.append(_("Aid recorded for your family: {programmes}.").format(
            programmes=escape(", ".join(programmes))))  # fmt: skip
    else:
        lines.append(_("No aid programme is recorded for your family here."))
    lines += ["", *await _open_reports(ctx, household)]
    buttons = [
        [Button(kind_title("aid_proposal"), ChooseReport("aid_proposal").pack())],
        [Button(kind_title("dispute"), ChooseReport("dispute").pack())],
    ]
    honest = "\n\n".join(
        [
            _("<b>Who decides?</b>"),
            _(
                "The desil comes from DTSEN, the national data. The village meeting proposes "
                "families for aid and Dinas Sosial decides; approved changes are sent on to "
                "DTSEN by the officers. Lapor Warga records your reports; it does not decide aid."
            ),
            _("Think your family needs aid, or your desil is wrong? Press a button below."),
        ]
    )
    return Outcome([ctx.reply("\n".join(lines)), ctx.reply(honest, buttons=buttons)])


def _shown_to(ctx: Ctx, report: Report) -> bool:
    """A report about the family that hides its reporter (a neighbour's sanggahan or
    usulan) is not listed to the family, unless they filed it themselves."""
    kind = kind_named(report.kind)
    anonymous = kind is not None and kind.form.anonymous is not None
    if anonymous and kind.form.anonymous(report.payload):  # type: ignore[union-attr,misc]
        return ctx.account is not None and report.reporter_account_id == ctx.account.id
    return True


async def _open_reports(ctx: Ctx, household: Household) -> list[str]:
    stmt = (
        select(Report)
        .where(Report.household_id == household.id, Report.state.in_(workflow.OPEN_STATES))
        .order_by(Report.id.desc())
        .limit(50)
    )
    reports = [
        r for r in (await ctx.session.execute(stmt)).scalars().unique() if _shown_to(ctx, r)
    ][:MAX_OPEN]
    if not reports:
        return [_("Your family has no report in review.")]
    lines = [_("Your family's reports in review:")]
    for report in reports:
        lines.append(
            f"• <code>{report.number}</code> · {escape(kind_title(report.kind))} · "
            f"{STATE_LABELS[report.state]}"
        )
    return lines


__all__ = ["show"]
