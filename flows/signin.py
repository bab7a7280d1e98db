"""``/masuk``: a one-time link that signs a reviewer in to the web console."""

from __future__ import annotations

from flows.io import Ctx, Outcome
from locales import _
from registry import signin
from registry.errors import DomainError


async def console_link(ctx: Ctx) -> Outcome:
    """Anyone holding a role gets ``CONSOLE_URL/login/<code>``: valid 10 minutes, once."""
    if not signin.can_sign_in(ctx.account):
        return Outcome([ctx.reply(_("Only people with a role can sign in to the web console."))])
    if not ctx.console_url:
        return Outcome([ctx.reply(_("The web console is not set up for this bot yet."))])
    assert ctx.account is not None
    try:
        code = await signin.new_login_code(ctx.session, ctx.account)
    except DomainError as exc:
        return Outcome([ctx.reply(str(exc))])
    url = f"{ctx.console_url}/login/{code}"
    text = _(
        "Your link to sign in to the web console:\n{url}\n\nIt works once, for 10 minutes. "
        "Do not share it: it opens the console as you."
    ).format(url=url)
    return Outcome([ctx.reply(text)])
