"""Both catalogs are complete, consistent with the source and compiled."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from flows.forms import FORMS
from flows.screens import hints
from locales import SUPPORTED_LOCALES, format_date, use_locale
from registry.forms import MAX_PROMPT, Step

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("bot", "handlers", "flows", "registry", "storage", "locales")
KEYWORDS = {"_": None, "lazy_gettext": None, "_l": None}
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z]+>")


def source_msgids() -> set[str]:
    ids = set()
    for directory in SOURCE_DIRS:
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            REPO / directory, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalog(locale: str):
    with (REPO / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_msgid_is_translated(locale: str) -> None:
    cat = catalog(locale)
    translated = {m.id for m in cat if m.id and m.string and not m.fuzzy}
    missing = sorted(source_msgids() - translated)
    assert not missing, f"{locale}: missing or untranslated (run scripts/i18n.py): {missing}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalog_is_not_stale(locale: str) -> None:
    """The .mo holds exactly the .po's translations (the header, with its date, aside)."""
    mo = REPO / "locales" / locale / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as fh:
        compiled = {k: v for k, v in gettext.GNUTranslations(fh)._catalog.items() if k}
    expected = {m.id: m.string for m in catalog(locale) if m.id and m.string and not m.fuzzy}
    assert compiled == expected, f"{mo} is stale: run scripts/i18n.py compile"


def test_translations_keep_placeholders_and_markup() -> None:
    for message in catalog("id"):
        if not message.id:
            continue
        assert PLACEHOLDER.findall(message.id) == PLACEHOLDER.findall(message.string) or sorted(
            PLACEHOLDER.findall(message.id)
        ) == sorted(PLACEHOLDER.findall(message.string)), message.id
        assert sorted(TAG.findall(message.id)) == sorted(TAG.findall(message.string)), message.id


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_static_prompt_is_short(locale: str) -> None:
    with use_locale(locale):
        for form in FORMS.values():
            for step in form.flat:
                assert isinstance(step, Step)
                if not callable(step.prompt) or hasattr(step.prompt, "value"):
                    how = " ".join(hints(step))
                    text = f"{form.title} (10/10) {step.prompt} {how}"
                    assert len(text) < MAX_PROMPT, (form.name, step.name)


def test_dates_are_written_in_the_users_language() -> None:
    from datetime import date

    with use_locale("id"):
        assert format_date(date(2026, 1, 21)) == "21 Januari 2026"
    with use_locale("en"):
        assert format_date(date(2026, 1, 21)) == "January 21, 2026"
