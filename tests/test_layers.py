"""The code keeps its layers: handlers -> flows -> registry -> storage, aiogram only at the edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "handlers", "console", "flows", "registry", "storage", "locales")
# What each package may import of the project (besides itself and locales).
ALLOWED = {
    "storage": set(),
    "registry": {"storage"},
    "flows": {"registry", "storage"},
    "handlers": {"flows", "registry", "storage"},
    # The web console: another adapter on the same flows and rules (no aiogram).
    "console": {"flows", "registry", "storage"},
    "bot": {"handlers", "console", "flows", "registry", "storage", "fake_bot_api"},
    "locales": set(),
}
PROJECT = {*PRODUCT, "tests", "testkit", "benchmarks", "fake_bot_api"}
MAX_LINES = 600
# Alembic's env.py runs under the alembic command too, and reads the bot's settings there.
WIRING = {Path("storage/migrations/env.py")}


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PRODUCT)
def test_dependencies_point_down(package: str) -> None:
    allowed = ALLOWED[package] | {package, "locales"}
    for path in _files(package):
        if path.relative_to(ROOT) in WIRING:
            continue
        wrong = (_imports(path) & PROJECT) - allowed
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


@pytest.mark.parametrize("package", PRODUCT)
def test_only_handlers_and_bot_import_aiogram(package: str) -> None:
    if package in ("handlers", "bot"):
        return
    for path in _files(package):
        assert "aiogram" not in _imports(path), f"{path.relative_to(ROOT)} imports aiogram"


@pytest.mark.parametrize("package", ("bot", "handlers", "console", "flows", "registry", "storage"))
def test_no_module_is_too_long_to_read(package: str) -> None:
    for path in _files(package):
        if "migrations" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= MAX_LINES, f"{path.relative_to(ROOT)}: {lines} lines"
