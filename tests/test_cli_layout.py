"""The command line's layout: every subcommand a group declares has a handler, and
importing ``bot.cli`` (what ``--help`` pays for) loads none of the heavy libraries."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import bot.cli
from bot.cli import COMMANDS, GROUPS

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("sqlalchemy", "alembic", "aiogram", "aiohttp", "pydantic", "pydantic_settings")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def test_every_declared_subcommand_has_exactly_one_handler() -> None:
    declared = set()
    for name, group_parser in subcommands(bot.cli._parser()).items():
        actions = subcommands(group_parser)
        declared |= {(name, action) for action in actions} if actions else {(name, None)}
    assert declared == set(COMMANDS)


def test_each_group_declares_only_its_own_command() -> None:
    for group in GROUPS:
        commands = argparse.ArgumentParser().add_subparsers()
        group.register(commands)
        assert list(commands.choices) == [group.NAME], group.__name__
        assert group.HANDLERS, group.__name__


def test_importing_the_cli_loads_no_heavy_library() -> None:
    """``lapor-warga --help`` stays fast (benchmarks/cli_startup.py measures it) only while
    the command modules import SQLAlchemy, Alembic, pydantic and aiogram in their handlers."""
    code = (
        "import sys, bot.cli; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
