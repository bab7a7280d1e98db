"""OpenSID population workbook in: a village's first import and its re-import (a sync).

    .venv/bin/python benchmarks/opensid_import.py                  # 20,000 people
    .venv/bin/python benchmarks/opensid_import.py --people 5000 --json

A village of ``--people`` synthetic residents (testkit/synthetic.py, one desa) is written
as an OpenSID workbook (testkit/opensid.py's layout, numeric codes); a fresh SQLite
database gets the schema and the bundled region codes. Then, each as its own process as
an operator runs it, with wall time and peak RSS (``wait4``):

* ``registry import FILE.xlsx --region CODE``: the first import (every row a change);
* the same again: a sync that finds nothing to change;
* a sync after 1% of the people changed their name and 1% left the file.

The workbook is read whole into memory (registry/population.py): this shows what a large
village costs. Prints a Markdown table, or JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runinfo import run_info  # noqa: E402

from benchmarks.import_export import run as run_command  # noqa: E402
from registry import opensid  # noqa: E402
from testkit.synthetic import synthetic_rows  # noqa: E402

VILLAGE = "16.71.01.1001"


def run(args: list[str], database: Path) -> dict[str, float | int]:
    seconds, _cpu, peak_rss_mib = run_command(args, database)
    return {"seconds": round(seconds, 2), "peak_rss_mib": peak_rss_mib}


def write_workbook(path: Path, people: int, *, changed: int = 0, left: int = 0) -> None:
    """The village as an OpenSID workbook; the first ``changed`` people renamed and the
    last ``left`` non-head people left out."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("penduduk")
    sheet.append(list(opensid.EXPORT_COLUMNS))
    rows = list(synthetic_rows(people, villages=(VILLAGE,)))
    drop = {i for i in range(len(rows) - 1, -1, -1) if rows[i][5] != "head"}
    drop = set(sorted(drop, reverse=True)[:left])
    for i, (kk, nik, name, sex, born, relationship, _v, rw, rt, address, _d) in enumerate(rows):
        if i in drop:
            continue
        code = opensid.SEX_CODE["M" if sex == "L" else "F"]
        values = {
            "alamat": address, "dusun": "DUSUN I", "rw": rw, "rt": rt,
            "nama": f"{name} BARU" if i < changed else name, "no_kk": kk, "nik": nik,
            "sex": code, "tempatlahir": "PALEMBANG", "tanggallahir": born, "agama_id": 1,
            "pendidikan_kk_id": 5, "pekerjaan_id": 88, "status_kawin": 2,
            "kk_level": opensid.shdk_code(relationship, "M" if sex == "L" else "F"),
            "status_dasar": 1,
        }  # fmt: skip
        sheet.append([values.get(c) for c in opensid.EXPORT_COLUMNS])
    book.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000, help="residents of the village")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    info = run_info("opensid_import")  # the commit that runs (the tree may change meanwhile)
    results: dict[str, dict[str, float | int]] = {}
    with tempfile.TemporaryDirectory(prefix="lw-opensid-") as tmp:
        folder = Path(tmp)
        template, database = folder / "template.sqlite3", folder / "village.sqlite3"
        run(["-m", "bot.cli", "regions", "import"], template)
        shutil.copyfile(template, database)
        first, again = folder / "penduduk.xlsx", folder / "penduduk-baru.xlsx"
        write_workbook(first, args.people)
        one_percent = max(args.people // 100, 1)
        write_workbook(again, args.people, changed=one_percent, left=one_percent)
        command = ["-m", "bot.cli", "registry", "import"]
        results["first import"] = run([*command, str(first), "--region", VILLAGE], database)
        results["sync, no change"] = run([*command, str(first), "--region", VILLAGE], database)
        results["sync, 1% renamed, 1% left"] = run(
            [*command, str(again), "--region", VILLAGE], database
        )
        size = first.stat().st_size
    if args.json:
        info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps({**info, "people": args.people,
                          "workbook_kb": size // 1024, "results": results}, indent=2))  # fmt: skip
        return
    print(f"{args.people} people, workbook {size // 1024} KiB\n")
    print("| step | seconds | peak RSS |\n|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['seconds']} | {r['peak_rss_mib']} MiB |")


if __name__ == "__main__":
    main()
