"""What every benchmark's ``--json`` output starts with: which code, which machine, when.

    from runinfo import run_info
    print(json.dumps({**run_info("form_steps"), "rows": rows}, indent=2))

``commit`` is the short hash of HEAD (``-dirty`` when tracked files differ from it, so a
figure from an edited tree is never taken for the commit's), or the revision a benchmark
measured a ``git archive`` of; ``load_average`` is taken when called: the machine is shared,
so a figure without the load beside it cannot be compared."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def commit(repo: Path = REPO) -> str:
    """Short hash of HEAD, with ``-dirty`` when tracked files are changed; ``unknown``
    outside a git checkout (a wheel, an archive)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(repo), "diff", "--quiet", "HEAD", "--"], capture_output=True
        ).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def machine() -> str:
    """OS, cores, CPU model, RAM and Python, in one line."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        ram = f", {pages / 2**30:.0f} GiB RAM"
    except (OSError, ValueError):
        ram = ""
    return (
        f"{platform.platform()}, {os.cpu_count()} cores ({cpu}){ram}, "
        f"Python {platform.python_version()}"
    )


def run_info(benchmark: str, at_commit: str | None = None) -> dict[str, object]:
    """The fields every ``--json`` document starts with."""
    return {
        "benchmark": benchmark,
        "commit": at_commit or commit(),
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
