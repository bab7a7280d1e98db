"""/bantuan (/help), and free text that is not an answer: what the bot does, buttons to
start, whom to contact (the person's Ketua RT from the role grants, the desa/kelurahan
office from OFFICE_CONTACTS_FILE) and a short FAQ. Text naming a report ("lahir",
"meninggal", "pindah", "bantuan", "desil"...) is answered with that report's button."""

from __future__ import annotations

import re
from html import escape

from sqlalchemy import select

from flows import engine, menus
from flows.buttons import ChooseReport, MenuAction, MenuPress
from flows.io import Button, Ctx, Outcome
from flows.onboarding import account_of
from locales import _
from registry.kinds import CATALOG
from storage.models import Account, Household, RoleGrant

# Words (Indonesian and English, lower case, whole words or their start) that name a
# report type; "bansos": the /bansos button.
INTENTS: list[tuple[str, tuple[str, ...]]] = [
    ("birth", ("lahir", "kelahiran", "melahirkan", "bayi", "birth", "born", "baby")),
    ("death", ("meninggal", "wafat", "kematian", "mati", "died", "death", "passed away")),
    ("move_out", ("pindah", "pindah keluar", "merantau", "moved", "move")),
    ("move_in", ("pindah", "pindah masuk", "ikut tinggal", "moved", "move")),
    ("marriage", ("nikah", "menikah", "kawin", "cerai", "married", "marriage", "divorce")),
    ("new_household", ("belum terdata", "tidak terdata", "not registered")),
    ("member_data", ("pekerjaan", "kerja", "sekolah", "pendidikan", "disabilitas", "job", "work")),
    ("housing", ("rumah", "lantai", "atap", "dinding", "listrik", "house", "roof", "floor")),
    ("identity", ("salah nama", "nama salah", "salah ketik", "ktp", "typo", "wrong name")),
    ("aid_proposal", ("bantuan", "bansos", "usul", "pkh", "bpnt", "blt", "sembako", "aid")),
    ("dispute", ("desil", "sanggah", "tidak layak", "dispute")),
]
BANSOS_WORDS = ("bantuan", "bansos", "desil", "pkh", "bpnt", "blt", "sembako", "aid")


# A word with the usual Indonesian affixes: "kelahiran", "melahirkan" name "lahir".
_PREFIX = r"(?:me|mem|men|meng|ke|pe|pem|pen|peng|per|ber|di)?"
_SUFFIX = r"(?:kan|an|nya|i)?"


def _mentions(text: str, word: str) -> bool:
    pattern = r"(?<!\w)" + _PREFIX + re.escape(word) + _SUFFIX + r"(?!\w)"
    return re.search(pattern, text) is not None


def intents(text: str) -> tuple[list[str], bool]:
    """The report types a free text names (catalog order), and whether it asks about aid."""
    text = text.casefold()
    kinds = {kind for kind, words in INTENTS if any(_mentions(text, w) for w in words)}
    return [k.name for k in CATALOG if k.name in kinds], any(
        _mentions(text, w) for w in BANSOS_WORDS
    )


def _start_buttons(ctx: Ctx) -> list[list[Button]]:
    if not menus.linked(ctx.account):
        return [
            [Button(_("🔗 Link my household"), MenuPress(MenuAction.START).pack())],
            [
                Button(
                    _("📝 Report a household not yet recorded"),
                    ChooseReport("new_household").pack(),
                )
            ],
        ]
    return [
        [Button(_("📝 Report a change"), MenuPress(MenuAction.REPORT).pack())],
        [
            Button(_("📋 My reports"), MenuPress(MenuAction.STATUS).pack()),
            Button(_("💰 Check aid"), MenuPress(MenuAction.BANSOS).pack()),
        ],
    ]


async def suggest(ctx: Ctx) -> Outcome:
    """Free text outside a form: the reports it names as buttons, or the help."""
    await account_of(ctx)
    kinds, aid = intents(ctx.incoming.text or "")
    if not kinds and not aid:
        return await show(ctx)
    linked = menus.linked(ctx.account)
    titles = {k.name: k for k in CATALOG}
    kinds = [k for k in kinds if linked or titles[k].unlinked]
    buttons = [[Button(str(titles[k].form.title), ChooseReport(k).pack())] for k in kinds]
    if aid and linked:
        buttons.append([Button(_("💰 Check aid"), MenuPress(MenuAction.BANSOS).pack())])
    if not buttons:  # an unlinked person naming a change of a household not linked yet
        return await show(ctx)
    text = _("Do you want to report this? Press a button below, or send /bantuan for help.")
    if not linked:
        text += "\n\n" + _(
            "To report changes in your household, first link your account with /start."
        )
    return Outcome([ctx.reply(text, buttons=buttons)])


async def show(ctx: Ctx) -> Outcome:
    """/bantuan, /help: three short messages (what, who to contact, questions)."""
    account = await account_of(ctx)
    intro = "\n\n".join(
        [
            _("<b>Lapor Warga: help</b>"),
            _(
                "Here you tell the village about changes in your family: a birth, a death, a "
                "move, a marriage, a new job or a changed house. Your Ketua RT and the "
                "kelurahan/desa check each report, then an officer of Dinas Sosial approves it."
            ),
            _("Press a button below to start."),
        ]
    )
    contacts = await contact_text(ctx, account)
    faq = "\n\n".join(
        [
            _("<b>Questions</b>"),
            _("<b>Does my report decide aid?</b> No. The village meeting proposes families and Dinas Sosial decides. Your report keeps your family's data true."),
            _("<b>Where is my report?</b> Press “Status” or send /status."),
            _("<b>Made a mistake?</b> /batal cancels the form you are filling in. A report not yet approved can be withdrawn from /status."),
        ]
    )  # fmt: skip
    if await engine.current_draft(ctx) is not None:  # a menu tap in the middle of a form
        faq += "\n\n" + _("Your unfinished form is kept: /lanjut continues it.")
    contact_reply = ctx.reply(contacts)
    if menus.linked(account):
        contact_reply.menu = menus.main_menu()
    return Outcome([ctx.reply(intro, buttons=_start_buttons(ctx)), contact_reply, ctx.reply(faq)])


async def contact_text(ctx: Ctx, account: Account) -> str:
    """The person's Ketua RT (from the role grants) and desa/kelurahan office."""
    lines = [_("<b>Who can help you</b>")]
    household = (
        await ctx.session.get(Household, account.household_id) if account.household_id else None
    )
    if household is None:
        lines.append(_("Link your account with /start to see your Ketua RT here."))
        return "\n".join(lines)
    heads = await rt_heads(ctx, household)
    area = _("RT {rt} / RW {rw}").format(rt=household.rt, rw=household.rw)
    if heads:
        names = ", ".join(
            f'<a href="tg://user?id={h.telegram_id}">{escape(h.first_name or "Ketua RT")}</a>'
            for h in heads[:3]
        )
        lines.append(_("• Ketua RT ({area}): {names}").format(area=area, names=names))
    else:
        lines.append(
            _("• Ketua RT ({area}): not on Lapor Warga yet; ask them in person.").format(area=area)
        )
    office = ctx.site.office_for(household.region_code)
    if office is not None:
        parts = [escape(office.name)]
        parts += [escape(v) for v in (office.phone, office.address, office.hours) if v]
        lines.append("• " + ", ".join(parts))
    else:
        lines.append(
            _("• The kelurahan/desa office of {place}.").format(place=escape(household.region.name))
        )
    return "\n".join(lines)


async def rt_heads(ctx: Ctx, household: Household) -> list[Account]:
    stmt = (
        select(Account)
        .join(RoleGrant, RoleGrant.account_id == Account.id)
        .where(
            RoleGrant.role == "rt", RoleGrant.revoked_at.is_(None),
            RoleGrant.region_code == household.region_code,
            RoleGrant.rw == household.rw, RoleGrant.rt == household.rt,
            Account.deleted_at.is_(None), Account.telegram_id > 0,
        )
        .order_by(RoleGrant.id)
    )  # fmt: skip
    return list((await ctx.session.execute(stmt)).scalars().unique())


__all__ = ["contact_text", "intents", "show", "suggest"]
