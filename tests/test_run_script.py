"""scripts/run.sh says what it does while it installs, before the sandbox starts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_run_sh_prints_a_progress_line_before_and_after_installing() -> None:
    done = subprocess.run(
        [str(REPO / "scripts" / "run.sh"), "--help"],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert lines[0].startswith("run.sh: installing Lapor Warga"), done.stdout
    assert "about a minute the first time" in lines[0]
    assert any(line.startswith("run.sh: installed in ") for line in lines), done.stdout
    assert "--port" in done.stdout  # then `lapor-warga sandbox --help` ran
