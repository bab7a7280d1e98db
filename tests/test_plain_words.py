"""What residents read: plain Indonesian, short messages (issue 17).

"Resident-facing" is every message of the chat: the msgids extracted from flows/,
handlers/ and registry/, except the registry's import and export tooling, whose messages
the command line prints (those, the command line and the sandbox page under bot/ are
read by operators)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from flows.consent import consent_text
from locales import SUPPORTED_LOCALES, _, use_locale

REPO = Path(__file__).resolve().parents[1]
CHAT_DIRS = ("flows", "handlers", "registry")
KEYWORDS = {"_": None, "lazy_gettext": None, "_l": None}
# Modules of registry/ whose messages only the command line prints (files in and out).
OPERATOR_MODULES = {
    "aid.py", "desil.py", "exports.py", "households.py", "opensid.py", "opensid_export.py",
    "population.py", "sync.py", "tables.py", "textfile.py", "usulan.py",
}  # fmt: skip
MAX_MESSAGE = 500
TAG = re.compile(r"<[^>]+>")


def chat_msgids() -> set[str]:
    ids = set()
    for directory in CHAT_DIRS:
        for file, _line, message, _c, _x in extract_from_dir(
            REPO / directory, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            if directory == "registry" and file in OPERATOR_MODULES:
                continue
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def translations(locale: str) -> dict[str, str]:
    with (REPO / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale=locale) if m.id}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_chat_string_is_at_most_500_characters(locale: str) -> None:
    strings = translations(locale)
    long = {i: len(strings[i]) for i in chat_msgids() if len(strings.get(i) or "") > MAX_MESSAGE}
    assert not long, f"{locale}: messages over {MAX_MESSAGE} characters: {long}"


def test_no_indonesian_chat_string_says_registri_or_rumah_tangga() -> None:
    strings = translations("id")
    jargon = sorted(
        strings[i]
        for i in chat_msgids()
        if re.search(r"registri|rumah tangga", strings.get(i) or "", re.IGNORECASE)
    )
    assert not jargon, f"use “keluarga” and plain words instead: {jargon}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_consent_fits_one_short_message_with_a_long_controller_name(locale: str) -> None:
    controller = "Dinas Sosial Pemberdayaan Perempuan Kabupaten Kepulauan Seri"  # 60, the most
    assert len(controller) == 60
    with use_locale(locale):
        text = consent_text(controller) + "\n\n" + _("✅ You agreed.")
    assert controller in text
    assert len(TAG.sub("", text)) <= MAX_MESSAGE, len(TAG.sub("", text))
