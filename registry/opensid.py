"""OpenSID's codes and file layout: the one place they are written down.

OpenSID (the village information system most desa run) keeps its population with the
Disdukcapil code lists: SHDK (hubungan dalam keluarga), sex, marital status, education
and occupation, ``status_dasar``, and the event codes (``kode_peristiwa``) of its
population log. Its population workbook (import layout = export layout) names its
columns in the header row. Everything that reads or writes those codes goes through
here: the project's own CSV (Indonesian labels and codes), the OpenSID import, the
SIKS-NG desil import and the OpenSID exports. These are file formats and official code
lists (facts), not OpenSID's code.

A cell holds a numeric code or its label; labels match whatever the case and spaces
(``"kepala keluarga"``, ``"KEPALA KELUARGA"`` and ``"KepalaKeluarga"`` are the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

# ---- code tables ------------------------------------------------------------------------------


def key(text: object) -> str:
    """A cell as it is matched against labels: upper case, without any whitespace."""
    return re.sub(r"\s+", "", str(text)).upper()


@dataclass(frozen=True)
class CodeTable:
    """A Disdukcapil/OpenSID code list: code -> label, with other accepted spellings."""

    column: str
    labels: dict[int, str]
    aliases: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lookup = {key(label): code for code, label in self.labels.items()}
        lookup.update({key(alias): code for alias, code in self.aliases.items()})
        object.__setattr__(self, "_lookup", lookup)

    def parse(self, cell: object) -> int | None:
        """The code a cell names (by number or label), or None."""
        if isinstance(cell, bool):
            return None
        if isinstance(cell, int | float) and float(cell).is_integer():
            return int(cell) if int(cell) in self.labels else None
        text = key(cell)
        if text.isdigit():
            return int(text) if int(text) in self.labels else None
        return self._lookup.get(text)  # type: ignore[attr-defined,no-any-return]

    def label(self, code: int) -> str:
        return self.labels[code]

    def listing(self) -> str:
        """``1 KEPALA KELUARGA, 2 SUAMI, ...`` for an error message."""
        return ", ".join(f"{code} {label}" for code, label in self.labels.items())


SEX = CodeTable(
    "sex",
    {1: "LAKI-LAKI", 2: "PEREMPUAN"},
    {"L": 1, "LK": 1, "M": 1, "LAKI": 1, "P": 2, "PR": 2, "F": 2, "WANITA": 2},
)
SEX_OF_CODE = {1: "M", 2: "F"}  # the registry's sex codes
SEX_CODE = {v: k for k, v in SEX_OF_CODE.items()}

# kk_level (SHDK, Status Hubungan Dalam Keluarga), as on the Kartu Keluarga.
SHDK = CodeTable(
    "kk_level",
    {
        1: "KEPALA KELUARGA", 2: "SUAMI", 3: "ISTRI", 4: "ANAK", 5: "MENANTU", 6: "CUCU",
        7: "ORANG TUA", 8: "MERTUA", 9: "FAMILI LAIN", 10: "PEMBANTU", 11: "LAINNYA",
    },
    {"KK": 1, "KEPALA": 1, "ISTERI": 3, "ORANGTUA": 7, "FAMILI": 9},
)  # fmt: skip
# SHDK code -> the registry's relationship (registry.households.RELATIONSHIPS).
RELATIONSHIP_OF_SHDK = {
    1: "head", 2: "spouse", 3: "spouse", 4: "child", 5: "child_in_law", 6: "grandchild",
    7: "parent", 8: "parent_in_law", 9: "other_relative", 10: "household_help", 11: "other",
}  # fmt: skip


def shdk_code(relationship: str, sex: str) -> int:
    """The SHDK code of a registry relationship (a spouse is Suami or Istri by sex)."""
    if relationship == "spouse":
        return 2 if sex == "M" else 3
    return next(c for c, r in RELATIONSHIP_OF_SHDK.items() if r == relationship)


STATUS_KAWIN = CodeTable(
    "status_kawin",
    {1: "BELUM KAWIN", 2: "KAWIN", 3: "CERAI HIDUP", 4: "CERAI MATI"},
    {"BK": 1, "K": 2, "CH": 3, "CM": 4, "KAWINTERCATAT": 2, "KAWINBELUMTERCATAT": 2},
)
# status_kawin code <-> registry.attributes.MARITAL.
MARITAL_OF_CODE = {1: "single", 2: "married", 3: "divorced", 4: "widowed"}

PENDIDIKAN_KK = CodeTable(
    "pendidikan_kk_id",
    {
        1: "TIDAK / BELUM SEKOLAH", 2: "BELUM TAMAT SD/SEDERAJAT", 3: "TAMAT SD / SEDERAJAT",
        4: "SLTP/SEDERAJAT", 5: "SLTA / SEDERAJAT", 6: "DIPLOMA I / II",
        7: "AKADEMI/ DIPLOMA III/S. MUDA", 8: "DIPLOMA IV/ STRATA I", 9: "STRATA II",
        10: "STRATA III",
    },
    {"SD": 3, "SMP": 4, "SMA": 5, "SMK": 5, "D3": 7, "S1": 8, "D4": 8, "S2": 9, "S3": 10},
)  # fmt: skip
# pendidikan_kk_id -> registry.attributes.EDUCATION (highest level attended).
EDUCATION_OF_CODE = {
    1: "none", 2: "sd", 3: "sd", 4: "smp", 5: "sma", 6: "diploma", 7: "diploma",
    8: "university", 9: "university", 10: "university",
}  # fmt: skip

PEKERJAAN = CodeTable(
    "pekerjaan_id",
    dict(enumerate((
        "BELUM/TIDAK BEKERJA", "MENGURUS RUMAH TANGGA", "PELAJAR/MAHASISWA", "PENSIUNAN",
        "PEGAWAI NEGERI SIPIL (PNS)", "TENTARA NASIONAL INDONESIA (TNI)", "KEPOLISIAN RI (POLRI)",
        "PERDAGANGAN", "PETANI/PEKEBUN", "PETERNAK", "NELAYAN/PERIKANAN", "INDUSTRI",
        "KONSTRUKSI", "TRANSPORTASI", "KARYAWAN SWASTA", "KARYAWAN BUMN", "KARYAWAN BUMD",
        "KARYAWAN HONORER", "BURUH HARIAN LEPAS", "BURUH TANI/PERKEBUNAN",
        "BURUH NELAYAN/PERIKANAN", "BURUH PETERNAKAN", "PEMBANTU RUMAH TANGGA", "TUKANG CUKUR",
        "TUKANG LISTRIK", "TUKANG BATU", "TUKANG KAYU", "TUKANG SOL SEPATU",
        "TUKANG LAS/PANDAI BESI", "TUKANG JAHIT", "TUKANG GIGI", "PENATA RIAS", "PENATA BUSANA",
        "PENATA RAMBUT", "MEKANIK", "SENIMAN", "TABIB", "PARAJI", "PERANCANG BUSANA",
        "PENTERJEMAH", "IMAM MASJID", "PENDETA", "PASTOR", "WARTAWAN", "USTADZ/MUBALIGH",
        "JURU MASAK", "PROMOTOR ACARA", "ANGGOTA DPR-RI", "ANGGOTA DPD", "ANGGOTA BPK",
        "PRESIDEN", "WAKIL PRESIDEN", "ANGGOTA MAHKAMAH KONSTITUSI",
        "ANGGOTA KABINET/KEMENTERIAN", "DUTA BESAR", "GUBERNUR", "WAKIL GUBERNUR", "BUPATI",
        "WAKIL BUPATI", "WALIKOTA", "WAKIL WALIKOTA", "ANGGOTA DPRD PROVINSI",
        "ANGGOTA DPRD KABUPATEN/KOTA", "DOSEN", "GURU", "PILOT", "PENGACARA", "NOTARIS",
        "ARSITEK", "AKUNTAN", "KONSULTAN", "DOKTER", "BIDAN", "PERAWAT", "APOTEKER",
        "PSIKIATER/PSIKOLOG", "PENYIAR TELEVISI", "PENYIAR RADIO", "PELAUT", "PENELITI",
        "SOPIR", "PIALANG", "PARANORMAL", "PEDAGANG", "PERANGKAT DESA", "KEPALA DESA",
        "BIARAWATI", "WIRASWASTA", "LAINNYA",
    ), start=1)),
    {"PETANI": 9, "NELAYAN": 11, "PNS": 5, "TNI": 6, "POLRI": 7, "IRT": 2},
)  # fmt: skip


def _work_of(code: int) -> str | None:
    """pekerjaan_id -> registry.attributes.WORK (None: Lainnya says nothing more)."""
    fixed = {1: "not_working", 2: "housekeeping", 3: "student", 4: "retired", 23: "employee",
             81: "employee", 85: "employee", 86: "employee", 89: None}  # fmt: skip
    if code in fixed:
        return fixed[code]
    if 19 <= code <= 22:
        return "casual"  # buruh
    if code in (8, 9, 10, 11, 82, 83, 84, 88) or 24 <= code <= 47:
        return "self_employed"  # farmers, traders, craftsmen, own trade
    return "employee"  # civil servants, soldiers, employees, officials, professions


WORK_OF_CODE = {code: _work_of(code) for code in PEKERJAAN.labels}
# A registry value with no exact code behind it is written as this code.
EDUCATION_CODE = {"none": 1, "sd": 3, "smp": 4, "sma": 5, "diploma": 7, "university": 8}
WORK_CODE = {
    "not_working": 1, "housekeeping": 2, "student": 3, "retired": 4, "employee": 15,
    "self_employed": 88, "casual": 19, "family_worker": 89,
}  # fmt: skip

STATUS_DASAR = CodeTable(
    "status_dasar",
    {1: "HIDUP", 2: "MATI", 3: "PINDAH", 4: "HILANG", 6: "PERGI", 9: "TIDAK VALID"},
)
LIVING = 1

# log_penduduk.kode_peristiwa: the events an operator enters in OpenSID.
PERISTIWA = CodeTable(
    "kode_peristiwa",
    {1: "LAHIR", 2: "MATI", 3: "PINDAH KELUAR", 4: "HILANG", 5: "PINDAH MASUK", 6: "PERGI"},
)

# ---- the population workbook ------------------------------------------------------------------

# The columns of OpenSID's population import/export workbook, in its order.
POPULATION_COLUMNS = (
    "alamat", "dusun", "rw", "rt", "nama", "no_kk", "nik", "sex", "tempatlahir",
    "tanggallahir", "agama_id", "pendidikan_kk_id", "pendidikan_sedang_id", "pekerjaan_id",
    "status_kawin", "kk_level", "warganegara_id", "ayah_nik", "nama_ayah", "ibu_nik", "nama_ibu",
    "golongan_darah_id", "akta_lahir", "dokumen_pasport", "tanggal_akhir_paspor",
    "dokumen_kitas", "akta_perkawinan", "tanggalperkawinan", "akta_perceraian",
    "tanggalperceraian", "cacat_id", "cara_kb_id", "hamil", "ktp_el", "status_rekam",
    "alamat_sekarang", "status_dasar", "suku", "tag_id_card", "id_asuransi", "no_asuransi",
    "lat", "lng",
)  # fmt: skip
# What Lapor Warga writes for OpenSID's import: the layout without the newer lat/lng
# (an older OpenSID refuses a column it does not know).
EXPORT_COLUMNS = POPULATION_COLUMNS[:-2]
# Without these a row cannot become a member of a household.
REQUIRED_COLUMNS = ("nama", "no_kk", "nik", "sex", "tanggallahir", "kk_level", "rw", "rt")
# Read when present; every other column (religion and blood type among them) is ignored:
# the registry does not keep what DTSEN does not use.
KEPT_COLUMNS = (
    *REQUIRED_COLUMNS, "alamat", "dusun", "tempatlahir", "pendidikan_kk_id", "pekerjaan_id",
    "status_kawin", "status_dasar",
)  # fmt: skip

NO_NIK = "0"  # OpenSID's "no NIK yet"; it then makes a temporary NIK starting with 0


def is_temporary_nik(digits: str) -> bool:
    """NIK ``0`` or an OpenSID temporary NIK (16 digits starting with ``0``)."""
    return digits == NO_NIK or (len(digits) == 16 and digits.isdigit() and digits[0] == "0")


def only_digits(cell: object) -> str:
    """The digits of a NIK/KK cell (Disdukcapil data carries invisible characters; Excel
    may hold the number as a number)."""
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "".join(ch for ch in str(cell) if ch.isascii() and ch.isdigit())


_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")


def parse_date(cell: object) -> date | None:
    """A date cell: an Excel date, ``YYYY-MM-DD``, ``DD-MM-YYYY`` or ``DD/MM/YYYY``."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = str(cell).strip()
    try:
        if m := _YMD.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def rw_rt_number(cell: object) -> int | None:
    """An RW/RT cell (``"003"``, ``3``, ``"RT 03"``) as a number; None for ``-`` or empty."""
    digits = only_digits(cell)
    return int(digits) if digits else None


def dusun_name(cell: object) -> str:
    """A dusun as OpenSID writes it, without the ``DUSUN`` prefix (``-``: none)."""
    text = " ".join(str(cell or "").split())
    text = re.sub(r"^DUSUN\s+", "", text, flags=re.IGNORECASE)
    return "" if text in ("", "-") else text


def education_code(details: dict[str, object]) -> int | None:
    """``pendidikan_kk_id`` of a member's details: the exact code while it still says what
    ``education`` says (a report may have changed the level since), else the level's."""
    exact, level = details.get("education_code"), details.get("education")
    if isinstance(exact, int) and EDUCATION_OF_CODE.get(exact) == level:
        return exact
    return EDUCATION_CODE.get(str(level)) if level else None


def work_code(details: dict[str, object]) -> int | None:
    """``pekerjaan_id`` of a member's details (see :func:`education_code`)."""
    exact, work = details.get("work_code"), details.get("work")
    if isinstance(exact, int) and WORK_OF_CODE.get(exact) == work:
        return exact
    return WORK_CODE.get(str(work)) if work else None


def marital_code(details: dict[str, object]) -> int | None:
    """``status_kawin`` of a member's details."""
    marital = details.get("marital")
    return next((c for c, m in MARITAL_OF_CODE.items() if m == marital), None)


# ---- what an approved report asks of the village's OpenSID ------------------------------------


@dataclass(frozen=True)
class Peristiwa:
    """An event an operator enters by hand in OpenSID (its import cannot carry it):
    ``code`` as OpenSID numbers it (``log_penduduk.kode_peristiwa``, or
    ``log_keluarga.id_peristiwa`` when ``log`` says so; None when OpenSID has no code and
    the operator edits the person's data); ``changes``: which of a member's changes the
    kind's event is (``ended``: died or moved away, ``moved``: to another KK, ``shdk``:
    another kk_level); and which answers of the report give the event's date, the place
    of death and the destination."""

    code: int | None
    label: str
    changes: frozenset[str] = frozenset({"ended"})  # of "ended", "moved", "shdk"
    log: str = "log_penduduk"
    date_key: str | None = None
    place_key: str | None = None
    destination_key: str | None = None


# Report kind -> the event of the members it ended, moved to another KK or gave another
# SHDK. One line per kind; a kind not listed gets the fallback below for such members.
WORKLIST_EVENTS: dict[str, Peristiwa] = {
    "death": Peristiwa(2, PERISTIWA.label(2), date_key="death_date", place_key="place"),
    "move_out": Peristiwa(
        3, PERISTIWA.label(3), date_key="move_date", destination_key="destination"
    ),
}
# A member's change OpenSID's import cannot make, from a kind not in WORKLIST_EVENTS.
FALLBACK_EVENTS: dict[str, Peristiwa] = {
    "ended": Peristiwa(None, "UBAH STATUS DASAR"),
    "moved": Peristiwa(None, "PINDAH KK (UBAH NO_KK)"),
    "shdk": Peristiwa(None, "UBAH HUBUNGAN DALAM KELUARGA (KK_LEVEL)"),
}
# Fields of a person OpenSID's import takes for an existing NIK (a corrected field goes
# in the import workbook); the others it cannot change (status_dasar, kk_level, no_kk,
# alamat, dusun, rw, rt) go in the worklist.
IMPORTABLE_FIELDS = ("nik", "name", "sex", "birth_date")
IMPORTABLE_DETAILS = (
    "education", "education_code", "work", "work_code", "marital", "birth_place",
)  # fmt: skip

# The worklist's columns.
WORKLIST_COLUMNS = (
    "nik", "nama", "no_kk", "kode_peristiwa", "peristiwa", "tabel_log", "tanggal_peristiwa",
    "tanggal_lapor", "tempat_meninggal", "alamat_tujuan", "catatan", "nomor_laporan",
)  # fmt: skip
