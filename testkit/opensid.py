"""OpenSID population workbooks for tests: synthetic families in OpenSID's layout.

Rows carry numeric codes or their labels (``labels=True``), the way a village operator's
export looks; openpyxl writes them. The people are testkit.factories' invented families.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry import opensid
from testkit.factories import Family

LAYOUT = opensid.EXPORT_COLUMNS  # the columns of an OpenSID release without lat/lng


def opensid_rows(families: list[Family], *, labels: bool = False) -> list[dict[str, Any]]:
    """One dict per person, keyed by OpenSID column (religion and blood type filled in, as
    a real file has them)."""
    rows = []
    for fam in families:
        for p in fam.people:
            shdk = opensid.shdk_code(p.relationship, p.sex)
            sex = opensid.SEX_CODE[p.sex]
            education, work, marital = (8, 15, 2) if p.relationship != "child" else (2, 3, 1)
            row: dict[str, Any] = {
                "alamat": fam.address, "dusun": "DUSUN MAWAR", "rw": f"{fam.rw:03d}",
                "rt": f"{fam.rt:03d}", "nama": p.name.upper(), "no_kk": fam.kk, "nik": p.nik,
                "sex": sex, "tempatlahir": "PALEMBANG",
                "tanggallahir": p.birth_date.strftime("%d-%m-%Y"), "agama_id": 1,
                "pendidikan_kk_id": education, "pekerjaan_id": work, "status_kawin": marital,
                "kk_level": shdk, "warganegara_id": 1, "golongan_darah_id": 13,
                "status_dasar": 1, "ktp_el": 2,
            }  # fmt: skip
            if labels:
                row.update(
                    sex=opensid.SEX.label(sex).lower(), kk_level=opensid.SHDK.label(shdk).title(),
                    pendidikan_kk_id=opensid.PENDIDIKAN_KK.label(education),
                    pekerjaan_id=opensid.PEKERJAAN.label(work).lower(),
                    status_kawin=opensid.STATUS_KAWIN.label(marital), status_dasar="HIDUP",
                    tanggallahir=p.birth_date,
                )  # fmt: skip
            rows.append(row)
    return rows


def write_population(
    path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str] = LAYOUT
) -> Path:
    """An .xlsx with a header row of ``columns`` and a row per dict (missing keys empty)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "penduduk"
    sheet.append(list(columns))
    for row in rows:
        sheet.append([row.get(c, "") for c in columns])
    book.save(path)
    return path
