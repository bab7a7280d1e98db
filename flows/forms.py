"""Every form the engine can ask, listed by hand: a draft names its form here.

The report types come from the catalog (:mod:`registry.kinds`); the others are the
conversation's own forms. Nothing registers itself on import: a form missing from
this list is a form no draft can reach, and ``tests/test_kinds.py`` checks that the
list is whole.
"""

from __future__ import annotations

from flows.broadcast import BROADCAST_FORM, BROADCAST_PICK_FORM
from flows.invites import INVITE_FORM
from flows.on_behalf import KK_FORM
from flows.onboarding import LINK_FORM
from flows.reports import ANSWER_FORM
from flows.review import ASK_FORM, REJECT_FORM
from registry.forms import Form
from registry.kinds import CATALOG

CONVERSATION_FORMS: tuple[Form, ...] = (
    LINK_FORM,
    KK_FORM,
    ANSWER_FORM,
    REJECT_FORM,
    ASK_FORM,
    INVITE_FORM,
    BROADCAST_FORM,
    BROADCAST_PICK_FORM,
)
FORMS: dict[str, Form] = {
    form.name: form for form in (*(kind.form for kind in CATALOG), *CONVERSATION_FORMS)
}
assert len(FORMS) == len(CATALOG) + len(CONVERSATION_FORMS), "two forms share a name"


def form_named(name: str) -> Form | None:
    return FORMS.get(name)


__all__ = ["CONVERSATION_FORMS", "FORMS", "form_named"]
