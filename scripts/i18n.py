"""Maintain the gettext catalogs: extract msgids, update both catalogs, compile.

    python scripts/i18n.py          # extract + update + compile
    python scripts/i18n.py compile  # only compile the .po files to .mo

Message ids are English, so the ``en`` catalog's empty entries are filled with
their msgid; the ``id`` catalog is translated by hand (empty entries are listed).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
KEYWORDS = ["-k", "_", "-k", "lazy_gettext", "-k", "_l"]


def _po(locale: str) -> Path:
    return LOCALES / locale / "LC_MESSAGES" / "messages.po"


def extract() -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", *KEYWORDS,
         "--no-location", "--sort-output", "--project=lapor-warga", "--omit-header", "-o", str(POT), "."],
        cwd=ROOT, check=True,
    )  # fmt: skip


def update() -> None:
    for locale in ("id", "en"):
        po = _po(locale)
        if not po.exists():
            po.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "babel.messages.frontend", "init", "-i", str(POT), "-d",
                 str(LOCALES), "-l", locale], check=True,
            )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "update", "-i", str(POT), "-d",
             str(LOCALES), "-l", locale, "--no-fuzzy-matching", "--omit-header", "--ignore-obsolete"],
            check=True,
        )  # fmt: skip
    with _po("en").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
    with _po("en").open("wb") as fh:
        write_po(fh, catalog, omit_header=True, sort_output=True, ignore_obsolete=True, width=100)


def compile_all() -> None:
    for locale in ("id", "en"):
        with _po(locale).open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        missing = [m.id for m in catalog if m.id and not m.string]
        if missing:
            print(f"{locale}: {len(missing)} untranslated message(s):", *missing, sep="\n  ")
        with (_po(locale).with_suffix(".mo")).open("wb") as fh:
            write_mo(fh, catalog)


if __name__ == "__main__":
    if sys.argv[1:] != ["compile"]:
        extract()
        update()
    compile_all()
