"""Pathological files: peak memory and time of `registry import` refusing them.

    .venv/bin/python benchmarks/bad_files.py               # 200 MB each
    .venv/bin/python benchmarks/bad_files.py --mb 20 --json

Each file has the registry header, then one pathological body of the given size:

* ``single line``: one line of 200 MB, no line break;
* ``tiny fields``: one line of 200 MB of ``1,`` (100 million one-character fields);
* ``open quote``: a quote opened on line 2 and never closed, then 200 MB of ordinary lines.

``registry import FILE`` runs in its own process on a fresh, migrated SQLite database, as an
operator runs it; its wall time and peak RSS (``wait4``) are taken, and its exit code
and stderr (one ``FILE:LINE: reason`` line) checked. For comparison, ``baseline`` is the
same command on a valid 3-row file. Flat memory shows as the same peak RSS for all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runinfo import run_info  # noqa: E402

from testkit.factories import FAMILIES, registry_rows  # noqa: E402

HEADER = b"kk,nik,name,sex,birth_date,relationship,region_code,rw,rt,address,desil\n"
_BLOCK = 1 << 20


def _repeat(fh: BinaryIO, unit: bytes, size: int) -> None:
    block = unit * (_BLOCK // len(unit))
    written = 0
    while written < size:
        fh.write(block)
        written += len(block)


def single_line(fh: BinaryIO, size: int) -> None:
    _repeat(fh, b"x", size)


def tiny_fields(fh: BinaryIO, size: int) -> None:
    _repeat(fh, b"1,", size)


def open_quote(fh: BinaryIO, size: int) -> None:
    fh.write(b'1671010101010001,"never closed\n')
    _repeat(fh, b"1671010101010001,3171010101900001,Nama,L,1990-01-01,head\n", size)


def baseline(fh: BinaryIO, size: int) -> None:
    for row in registry_rows(FAMILIES)[:3]:
        fh.write((",".join(row) + "\n").encode())


CASES: dict[str, Callable[[BinaryIO, int], None]] = {
    "baseline": baseline,
    "single line": single_line,
    "tiny fields": tiny_fields,
    "open quote": open_quote,
}


def run(path: Path, database: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DEFAULT_LOCALE": "en",
        "LOG_LEVEL": "WARNING",
    }
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*command, "db", "upgrade"], cwd=REPO, env=env, capture_output=True, check=True)
    start = time.perf_counter()
    process = subprocess.Popen(
        [*command, "registry", "import", str(path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    err = process.stderr.read().decode() if process.stderr else ""
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(seconds, 2),
        "peak_rss_mib": usage.ru_maxrss // 1024,  # KiB on Linux
        "stderr": err.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="size of each body in MB")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    info = run_info("bad_files")  # the commit that runs (the tree may change meanwhile)
    results = {}
    with tempfile.TemporaryDirectory(prefix="lw-bad-files-") as tmp:
        for name, body in CASES.items():
            path = Path(tmp) / f"{name.replace(' ', '-')}.csv"
            with path.open("wb") as fh:
                fh.write(HEADER)
                body(fh, args.mb * 1_000_000)
            result = {"file_mb": round(path.stat().st_size / 1e6)}
            result.update(run(path, Path(tmp) / f"{name.replace(' ', '-')}.sqlite3"))
            path.unlink()
            results[name] = result
            if name != "baseline" and (
                result["exit"] != 1 or len(result["stderr"].splitlines()) != 1
            ):
                raise SystemExit(f"{name}: expected one error line and exit 1, got {result}")
    if args.json:
        info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps({**info, "results": results}, indent=2))
        return
    print("| file | size | exit | seconds | peak RSS |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['file_mb']} MB | {r['exit']} | {r['seconds']} | {r['peak_rss_mib']} MiB |"
        )
    for name, r in results.items():
        if r["stderr"]:
            print(f"{name}: {r['stderr'].rsplit('/', 1)[-1]}")


if __name__ == "__main__":
    main()
