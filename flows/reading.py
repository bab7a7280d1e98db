"""Reading an incoming message as the answer to a form's question.

Each step kind has its reader: text is checked against the step's length and
parser, dates and numbers are parsed, a region name is searched (the matches are
shown as buttons), NIK/KK/phone numbers are checked, files and locations are taken
as they come. A refused answer raises :class:`~registry.forms.FieldError`.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from flows import fields
from flows.limits import oversized_upload
from flows.parsing import parse_date
from locales import _
from registry.forms import EVIDENCE_STEP, LABELS, VOICE, VOICE_ANSWER, FieldError, Step
from registry.regions import search_regions

if TYPE_CHECKING:
    from flows.engine import FormState

_TYPED = {
    "nik": fields.nik,
    "kk": fields.kk,
    "phone": fields.phone,
}
SHOWN = object()  # a region search: the matches are now on the prompt
MAX_FILES = 10


def file_answer(upload: Any) -> dict[str, str]:
    return {"kind": upload.kind, "file_id": upload.file_id, "unique_id": upload.unique_id}


def takes_more_files(state: FormState) -> bool:
    form = state.form
    if form.evidence is None or not form.entry_visible(form.step(EVIDENCE_STEP), state.answers):
        return False
    return len(state.answers.get(EVIDENCE_STEP) or []) < MAX_FILES


async def read_answer(state: FormState, step: Step) -> Any:
    """The value of an incoming message for ``step``, or FieldError saying what is wrong."""
    incoming = state.ctx.incoming
    if step.kind == "contact":
        if incoming.contact is None:
            raise FieldError(_("Please press the “Share my contact” button below."))
        return {"phone": incoming.contact.phone, "user_id": incoming.contact.user_id}
    if step.voice and incoming.voice is not None:
        return _take_voice(state, step)
    if step.kind == "upload":
        if not incoming.files:
            raise FieldError(
                _("Please send a photo, or press Skip.")
                if step.optional
                else _("Please send a photo.")
            )
        too_big = oversized_upload(state.ctx)
        if too_big is not None:
            raise FieldError(too_big)
        return [file_answer(u) for u in incoming.files]
    if incoming.files:
        if state.form.evidence is None:
            raise FieldError(_("This report takes no photos or documents. Please answer in words."))
        raise FieldError(
            _("Not yet: I will ask for photos at the end. Please answer this question first.")
        )
    if step.kind == "location":
        if incoming.location is None:
            raise FieldError(
                _("Please press “Send my location” below, or Skip.")
                if step.optional
                else _("Please press “Send my location” below.")
            )
        latitude, longitude = incoming.location
        return {"latitude": latitude, "longitude": longitude}
    text = (incoming.text or "").strip()
    if not text and step.kind in ("choice", "multi"):  # a sticker, a voice message...
        raise FieldError(_("Please choose one of the buttons."))
    if not text:
        raise FieldError(_("Please answer with a text message."))
    if step.kind in ("choice", "multi"):
        if step.kind == "choice":
            options = await step.options_for(state)
            for value, label in options:
                if text.casefold() == label.casefold():
                    remember_label(state, step, [value], options)
                    return value
        raise FieldError(_("Please choose one of the buttons."))
    if step.voice:
        _drop_voice(state, step)  # typed words replace an earlier voice note
    if len(text) > step.max_length:
        raise FieldError(_("That is too long: at most {n} characters.").format(n=step.max_length))
    if step.kind == "date":
        parsed = parse_date(text)
        if parsed is None:
            raise FieldError(
                _(
                    "I could not read that date. Write it like 21/01/2026, 21 January 2026 or "
                    "“3 days ago”."
                )
                if step.recent
                else _("I could not read that date. Write it like 21/01/2026 or 21 Januari 2026.")
            )
        return parsed.isoformat()
    if step.kind == "number":
        return fields.number(text, step.minimum, step.maximum)
    if step.kind == "region":
        return await _search(state, step, text)
    if step.kind in _TYPED:
        return _TYPED[step.kind](text)
    return step.parse(text) if step.parse is not None else text


def _take_voice(state: FormState, step: Step) -> str:
    """A voice note answering a text step: kept (it is filed as an attachment of the
    report and sent to the reviewers as it is, not transcribed)."""
    too_big = oversized_upload(state.ctx)
    if too_big is not None:
        raise FieldError(too_big)
    voice = state.ctx.incoming.voice
    assert voice is not None
    notes = dict(state.answers.get(VOICE) or {})
    notes[step.name] = file_answer(voice)
    state.set_answers(**{VOICE: notes})
    return VOICE_ANSWER


def _drop_voice(state: FormState, step: Step) -> None:
    notes = dict(state.answers.get(VOICE) or {})
    if notes.pop(step.name, None) is not None:
        state.set_answers(**{VOICE: notes})


async def _search(state: FormState, step: Step, text: str) -> Any:
    matches = await search_regions(state.session, text, level=step.region_level)
    state.set_context(matches=[[m.code, m.label] for m in matches], query=text)
    if not matches:
        if step.free_text:
            state.notes.append(
                _(
                    "⚠️ No desa/kelurahan is called “{text}”. Try another spelling, or use it as written."
                ).format(text=escape(text))
            )
        elif step.region_level == 3:
            state.notes.append(
                _("⚠️ No kecamatan is called “{text}”. Try another spelling.").format(
                    text=escape(text)
                )
            )
        else:
            state.notes.append(
                _("⚠️ No desa/kelurahan is called “{text}”. Try another spelling.").format(
                    text=escape(text)
                )
            )
        return SHOWN
    state.notes.append(_("Choose the right one below, or type another name."))
    return SHOWN


def remember_label(
    state: FormState, step: Step, values: list[str], options: list[tuple[str, str]]
) -> None:
    """Keep the labels of registry-computed choices, for the review and the reviewers."""
    if step.choices is None:
        return
    labels = dict(options)
    remembered = dict(state.answers.get(LABELS) or {})
    remembered[step.name] = {**(remembered.get(step.name) or {}), **{v: labels[v] for v in values}}
    state.set_answers(**{LABELS: remembered})
