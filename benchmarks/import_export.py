"""Registry import and export: speed and peak memory at two sizes.

    .venv/bin/python benchmarks/import_export.py                 # 1,000,000 and 100,000 rows
    .venv/bin/python benchmarks/import_export.py --rows 20000 --rows 2000   # a quick run

For each size: synthetic rows (testkit/synthetic.py) are written to a CSV; a fresh SQLite
database gets the schema and the bundled region codes; then each measured step runs as
its own process, as an operator runs it, and its wall time and peak RSS (``wait4``) are
taken:

* ``registry import FILE``: the command (every row validated, all or nothing);
* a raw insert of the same rows with ``sqlite3.executemany`` (no validation, households
  then members, one transaction) into another fresh database: the floor for the import;
* ``registry export --output FILE``: the command.

Flat memory shows as the same peak RSS at both sizes. Prints a Markdown table, or with
``--json`` one JSON document: ``{**run_info("import_export"), "sqlite": ..., "rows": [...]}``
(``benchmarks/runinfo.py``), a row per step and size.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runinfo import run_info  # noqa: E402

from testkit.synthetic import synthetic_rows  # noqa: E402

HEADER = "kk,nik,name,sex,birth_date,relationship,region_code,rw,rt,address,desil"


def run(args: list[str], database: Path) -> tuple[float, float, int]:
    """Run a command in its own process; return (wall seconds, CPU seconds, peak RSS MiB)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DEFAULT_LOCALE": "en"}
    env["PYTHONPATH"] = str(REPO)
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out}\n{err}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024  # KiB on Linux


def prepare(database: Path, template: Path | None) -> Path:
    """A migrated database holding the region codes (made once, then copied)."""
    if template is None:
        template = database.with_name("template.sqlite3")
        run(["-m", "bot.cli", "regions", "import"], template)
    shutil.copyfile(template, database)
    return template


def raw_insert(database: Path, csv_path: Path) -> None:
    """The rows straight into the tables: no checks, one transaction."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    connection = sqlite3.connect(database)
    households: dict[str, tuple[object, ...]] = {}
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for kk, _nik, _name, _sex, _born, _rel, region, rw, rt, address, desil in reader:
            households.setdefault(
                kk, (kk, address, region, int(rw), int(rt), int(desil) if desil else None, now, now)
            )
    connection.executemany(
        "INSERT INTO households (kk, address, region_code, rw, rt, desil, details, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        households.values(),
    )
    ids = dict(connection.execute("SELECT kk, id FROM households"))
    sex = {"L": "M", "P": "F"}

    def members():  # type: ignore[no-untyped-def]
        with csv_path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for kk, nik, name, s, born, relationship, *_rest in reader:
                yield ids[kk], nik, name, sex[s], born, relationship, now

    connection.executemany(
        "INSERT INTO members (household_id, nik, name, sex, birth_date, relationship, status,"
        " details, created_at) VALUES (?, ?, ?, ?, ?, ?, 'alive', '{}', ?)",
        members(),
    )
    connection.commit()
    connection.close()


def measure(rows: int, workdir: Path, template: Path | None) -> tuple[dict[str, float], Path]:
    csv_path = workdir / f"registry-{rows}.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(HEADER + "\r\n")
        csv.writer(fh).writerows(synthetic_rows(rows))
    imported = workdir / f"import-{rows}.sqlite3"
    template = prepare(imported, template)
    raw = workdir / f"raw-{rows}.sqlite3"
    prepare(raw, template)
    result: dict[str, float] = {"rows": rows}
    result["import_s"], result["import_cpu"], result["import_rss"] = run(
        ["-m", "bot.cli", "registry", "import", str(csv_path)], imported
    )
    result["raw_s"], result["raw_cpu"], result["raw_rss"] = run(
        [str(Path(__file__).resolve()), "--raw-insert", str(raw), str(csv_path)], raw
    )
    exported = workdir / f"export-{rows}.csv"
    result["export_s"], result["export_cpu"], result["export_rss"] = run(
        ["-m", "bot.cli", "registry", "export", "--output", str(exported)], imported
    )
    with exported.open(encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == rows + 1, "the export lost rows"
    for path in (csv_path, imported, raw, exported):
        path.unlink()
    for wal in workdir.glob("*-wal"):
        wal.unlink()
    return result, template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, action="append", help="a size; repeat for several (default: 1e6, 1e5)"
    )
    parser.add_argument("--workdir", type=Path, help="where the files go (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--raw-insert", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_insert:
        raw_insert(*args.raw_insert)
        return
    sizes = args.rows or [1_000_000, 100_000]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lw-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    info = run_info("import_export")  # the commit that runs (the tree may change meanwhile)
    template = None
    results = []
    startup = workdir / "startup.sqlite3"
    template = prepare(startup, template)
    idle = run(["-m", "bot.cli", "db", "upgrade"], startup)
    startup.unlink()
    for rows in sizes:
        result, template = measure(rows, workdir, template)
        results.append(result)
        print(f"done: {rows} rows", file=sys.stderr, flush=True)
    if args.workdir is None:
        shutil.rmtree(workdir)
    steps = [("import", "`registry import`"), ("raw", "raw `executemany` insert"),
             ("export", "`registry export`")]  # fmt: skip
    if args.json:
        rows_out = [
            {"rows": None, "step": "CLI start-up alone (db upgrade)", "rows_per_s": None,
             "wall_s": round(idle[0], 2), "cpu_s": round(idle[1], 2), "peak_rss_mib": idle[2]}
        ]  # fmt: skip
        for r in results:
            n = r["rows"]
            for key, name in steps:
                wall, cpu, rss = r[f"{key}_s"], r[f"{key}_cpu"], r[f"{key}_rss"]
                rows_out.append(
                    {"rows": n, "step": name.replace("`", ""), "rows_per_s": round(n / wall),
                     "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mib": rss}
                )  # fmt: skip
        info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps({**info, "sqlite": sqlite3.sqlite_version, "rows": rows_out}, indent=2))
        return
    print(
        f"SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, "
        f"{datetime.now(UTC).date().isoformat()}\n"
    )
    print(
        "| rows | step | rows/s (wall) | wall time | CPU time | peak RSS |\n"
        "|---:|---|---:|---:|---:|---:|"
    )
    print(
        f"| – | CLI start-up alone (`db upgrade`, nothing to do) | – | {idle[0]:.1f} s "
        f"| {idle[1]:.1f} s | {idle[2]:.0f} MiB |"
    )
    for r in results:
        n = r["rows"]
        for key, name in steps:
            wall, cpu, rss = r[f"{key}_s"], r[f"{key}_cpu"], r[f"{key}_rss"]
            print(
                f"| {n:,} | {name} | {n / wall:,.0f} | {wall:.1f} s | {cpu:.1f} s | {rss:.0f} MiB |"
            )
        print(
            f"\n{n:,} rows: the import takes {r['import_s'] / r['raw_s']:.1f}× the raw insert's "
            f"wall time ({r['import_cpu'] / r['raw_cpu']:.1f}× its CPU time).",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
