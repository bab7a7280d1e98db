"""LIKE patterns built from text someone typed: its ``%``, ``_`` and ``\\`` match
themselves, never "anything" (``roles list --region %`` must not list every grant)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_

ESCAPE = "\\"


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern with ``escape=ESCAPE``: every wildcard taken literally."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(column: Any, text: str) -> Any:
    return column.like(f"%{escape_like(text)}%", escape=ESCAPE)


def starts_with(column: Any, text: str) -> Any:
    return column.like(f"{escape_like(text)}%", escape=ESCAPE)


def below_region(column: Any, code: str) -> Any:
    """Region codes under ``code`` (``16.71`` → ``16.71.01``, ``16.71.01.1001``…)."""
    return starts_with(column, code + ".")


def within_region(column: Any, code: str) -> Any:
    """The region ``code`` itself or any region under it."""
    return or_(column == code, below_region(column, code))
