"""``.env.example``: every setting, with its default and its meaning, as the settings
class has them (regenerate with ``.venv/bin/python scripts/env_example.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings, env_example

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / ".env.example"
SETTING = re.compile(r"^# ([A-Z0-9_]+)=(.*)$")


def test_env_example_is_the_one_the_settings_class_writes() -> None:
    assert EXAMPLE.is_file(), "no .env.example: run .venv/bin/python scripts/env_example.py"
    assert EXAMPLE.read_text(encoding="utf-8") == env_example(), (
        ".env.example is stale: run .venv/bin/python scripts/env_example.py"
    )


def test_every_setting_has_a_one_line_meaning() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name.upper()} has no description in bot/settings.py"
        assert "\n" not in field.description and len(field.description) <= 100, name


def test_uncommenting_the_example_gives_every_default(tmp_path: Path, monkeypatch) -> None:
    names = [m.group(1) for m in map(SETTING.match, EXAMPLE.read_text().splitlines()) if m]
    assert names == [name.upper() for name in Settings.model_fields]
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    uncommented = tmp_path / "uncommented.env"
    uncommented.write_text(
        "\n".join(
            m.group(0)[2:]
            for m in map(SETTING.match, EXAMPLE.read_text().splitlines())
            if m and m.group(2)
        )
    )
    written = Settings(_env_file=uncommented)  # type: ignore[call-arg]
    assert written.model_dump() == Settings(_env_file=None).model_dump()  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["DRAFT_EXPIRE_AFTER", "OUTBOX_RATE", "METRICS_HOST"])
def test_a_changed_default_makes_it_stale(name: str, monkeypatch) -> None:
    """The comparison above sees a default that moved (so the example cannot drift)."""
    field = Settings.model_fields[name.lower()]
    monkeypatch.setattr(field, "default", "changed")
    assert f"# {name}=changed" in env_example()
    assert env_example() != EXAMPLE.read_text(encoding="utf-8")
