"""CLI start-up: how long ``lapor-warga --help`` and ``lapor-warga db --help`` take.

    .venv/bin/python benchmarks/cli_startup.py              # 30 runs of each
    .venv/bin/python benchmarks/cli_startup.py --runs 100 --json

Each run starts the installed console script (``.venv/bin/lapor-warga``, or
``python -m bot.cli`` with ``--module``) as its own process, as an operator types it,
without BOT_TOKEN or DATABASE_URL in its environment, and takes its wall time from
spawn to exit. ``--help`` prints the parser's help and exits before any settings,
database or Telegram code runs: the time is Python's start-up plus the imports of
``bot.cli`` and its command modules. A warm-up run of each comes first (not counted),
so the byte-code cache and the file system cache are filled. Prints a Markdown table
(median, p95, min, max), or JSON with ``--json``. The budget is 0.5 s for ``--help``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from runinfo import run_info

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["db", "--help"])
BUDGET = 0.5  # seconds, for `lapor-warga --help`


def launcher(module: bool) -> list[str]:
    script = Path(sys.executable).with_name("lapor-warga")
    if module or not script.exists():
        return [sys.executable, "-m", "bot.cli"]
    return [str(script)]


def time_once(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}: {result.stderr!r}")
    return elapsed


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(math.ceil(pct / 100 * len(ordered)), 1) - 1]


def measure(args_: list[str], base: list[str], runs: int, env: dict[str, str]) -> dict:
    command = [*base, *args_]
    time_once(command, env)  # warm-up: byte-code and file system caches
    times = [time_once(command, env) for _ in range(runs)]
    return {
        "command": "lapor-warga " + " ".join(args_),
        "runs": runs,
        "median_s": round(statistics.median(times), 4),
        "p95_s": round(percentile(times, 95), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--module", action="store_true", help="run `python -m bot.cli`, not the console script"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    base = launcher(args.module)
    info = run_info("cli_startup")  # the commit that runs (the tree may change meanwhile)
    results = [measure(command, base, args.runs, env) for command in COMMANDS]
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "date": datetime.now(UTC).date().isoformat(),
        "launcher": " ".join(Path(part).name for part in base),
    }
    if args.json:
        info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        document = {**info, "launcher": machine["launcher"], "budget_s": BUDGET, "results": results}
        print(json.dumps(document, indent=2))
        return
    print(
        f"Python {machine['python']}, {machine['cpus']} CPUs, {machine['machine']}, "
        f"{machine['date']}, {machine['launcher']}\n"
    )
    print("| command | runs | median | p95 | min | max |\n|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| `{r['command']}` | {r['runs']} | {r['median_s'] * 1000:.0f} ms "
            f"| {r['p95_s'] * 1000:.0f} ms | {r['min_s'] * 1000:.0f} ms "
            f"| {r['max_s'] * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
