"""The menus a person sees: the main menu under the text field (a persistent reply
keyboard for linked residents) and the "/" command menu of their chat, by role and
language.

Telegram keeps a chat's command menu (``setMyCommands`` with a chat scope) until it is
changed, so the account remembers which menu it was given (``Account.command_menu``):
every update compares it with what the person should see now and sends the new menu
when they differ. Grants and revocations made elsewhere (the command line, an officer's
/peran) post the new menu to the outbox at once (:func:`post_refresh`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from flows.io import Outcome, Reply
from flows.notify import post
from locales import SUPPORTED_LOCALES, use_locale
from locales import lazy_gettext as _l
from storage.models import Account

# The main menu's buttons: (action, label); a tap sends the label as a message.
REPORT, STATUS, BANSOS, HELP = "report", "status", "bansos", "help"
MAIN_MENU = [
    (REPORT, _l("📝 Report")),
    (STATUS, _l("📋 Status")),
    (BANSOS, _l("💰 Check aid")),
    (HELP, _l("❓ Help")),
]

# The "/" menu: everyone's commands, then the reviewers', then the officers'.
MAIN_COMMANDS = [
    ("lapor", _l("Report a change in your household")),
    ("status", _l("Your reports and their state")),
    ("bansos", _l("Your desil and aid")),
    ("bantuan", _l("Help and contacts")),
]
OTHER_COMMANDS = [
    ("lanjut", _l("Continue the form you started")),
    ("batal", _l("Cancel the form you are filling in")),
    ("start", _l("Start and link your household")),
    ("datasaya", _l("Get a copy of your data")),
    ("hapusakun", _l("Delete your account")),
    ("bahasa", _l("Change the language")),
]
RESIDENT_COMMANDS = MAIN_COMMANDS + OTHER_COMMANDS
REVIEWER_COMMANDS = [
    ("antrian", _l("Reports waiting for your review")),
    ("peran", _l("Your reviewer roles")),
    ("masuk", _l("Sign in to the web console (reviewers)")),
]
OFFICER_COMMANDS = [
    ("umumkan", _l("Announce to the residents (officers)")),
    ("undang", _l("Invite a reviewer (officers)")),
]
REVIEWER_ONLY = {name for name, _d in REVIEWER_COMMANDS + OFFICER_COMMANDS}


def main_menu() -> list[list[str]]:
    """The main menu's rows, in the current language."""
    labels = [str(label) for _a, label in MAIN_MENU]
    return [labels[:2], labels[2:]]


def menu_action(text: str | None) -> str | None:
    """The main-menu button a message is (its label in any language), if it is one."""
    text = (text or "").strip()
    if not text:
        return None
    for locale in SUPPORTED_LOCALES:
        with use_locale(locale):
            for action, label in MAIN_MENU:
                if text == str(label):
                    return action
    return None


def linked(account: Account | None) -> bool:
    return account is not None and account.household_id is not None and account.deleted_at is None


def with_main_menu(account: Account | None, outcome: Outcome) -> Outcome:
    """For a linked resident, a reply that would take the keyboard away brings the main
    menu back instead."""
    if linked(account):
        assert account is not None
        for reply in outcome.replies:
            if reply.remove_keyboard and reply.chat_id == account.telegram_id:
                reply.remove_keyboard = False
                reply.menu = main_menu()
    return outcome


def menu_key(account: Account) -> str | None:
    """Which command menu the account should have: ``<language>:<role>``, or None (no
    menu of its own: not agreed yet, or deleted)."""
    if account.consented_at is None or account.deleted_at is not None or account.telegram_id <= 0:
        return None
    roles = {grant.role for grant in account.roles}
    level = "officer" if "officer" in roles else "reviewer" if roles else "resident"
    return f"{account.locale or 'id'}:{level}"


def commands_for(key: str) -> list[list[str]]:
    """The command menu of ``key`` (see :func:`menu_key`): [[command, description], ...]."""
    locale, _sep, level = key.partition(":")
    entries = list(MAIN_COMMANDS)
    if level in ("reviewer", "officer"):
        entries += REVIEWER_COMMANDS
    if level == "officer":
        entries += OFFICER_COMMANDS
    entries += OTHER_COMMANDS
    with use_locale(locale):
        return [[name, str(description)] for name, description in entries]


def sync(account: Account | None, chat_id: int | None = None) -> Reply | None:
    """The chat's command menu, if it is not the one the account should have now (an
    empty list: back to the bot's default menu). ``chat_id``: the person's chat, when the
    account no longer names it (just deleted with /hapusakun)."""
    if account is None:
        return None
    key = menu_key(account)
    if key == account.command_menu:
        return None
    account.command_menu = key
    chat = account.telegram_id if account.telegram_id > 0 else chat_id
    if chat is None:
        return None
    return Reply(chat, "", commands=commands_for(key) if key else [])


async def post_refresh(session: AsyncSession, account: Account) -> None:
    """After a grant or revocation made outside the person's own update: their command
    menu, through the outbox."""
    await session.refresh(account, ["roles"])
    reply = sync(account)
    if reply is not None:
        post(session, [reply], "menu")


__all__ = [
    "MAIN_MENU",
    "REVIEWER_ONLY",
    "commands_for",
    "linked",
    "main_menu",
    "menu_action",
    "post_refresh",
    "sync",
    "with_main_menu",
]
