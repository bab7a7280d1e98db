"""Reading a village's population workbook from OpenSID (its import/export layout).

The header row names the columns, in any order; columns the registry does not keep
(religion, blood type, passports, ...) are ignored. Each row is checked on its own, then
the rows of a file together (a NIK twice, rows of one KK that disagree, one Kepala
Keluarga per household). Every problem is a :class:`~registry.errors.RowError` with the
workbook's row number; the codes and labels come from :mod:`registry.opensid`.

A village's file holds thousands of people, not millions: it is read whole into memory
(a few kilobytes a row), which keeps the sync simple (:mod:`registry.sync`); a file of
more than ``MAX_ROWS`` rows is refused.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from locales import _, format_number
from registry import opensid
from registry.errors import ImportRejected, RowError
from registry.households import MAX_ADDRESS, MAX_NAME, MAX_RW_RT, nik_error
from registry.nik import InvalidIdentityNumber, mask, parse_nik, validate_kk
from registry.textfile import OLE, UnreadableFile, old_or_locked_workbook

XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xls")  # .xls: refused with what to do
MAX_ROWS = 200_000  # people in one village's file (the largest desa have some tens of thousands)
_ZIP = b"PK\x03\x04"
LISTED_CODES = 12  # an unknown code's message lists a code list this long, or less


def is_workbook(path: Path) -> bool:
    """Whether a file is an Excel workbook (by its first bytes, whatever its name): an
    .xlsx, or an old .xls / a workbook with a password (refused when opened)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(OLE))
    except OSError:
        return False
    return head.startswith(_ZIP) or head == OLE


@dataclass
class Person:
    """One row of the workbook, checked. ``nik`` is None for NIK ``0`` or a temporary one
    (``temporary``); ``status`` is OpenSID's ``status_dasar`` (1: living)."""

    line: int
    kk: str
    nik: str | None
    temporary: bool
    name: str
    status: int
    sex: str = ""
    birth_date: date | None = None
    relationship: str = ""
    address: str = ""
    dusun: str = ""
    rw: int = 0
    rt: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def living(self) -> bool:
        return self.status == opensid.LIVING

    @property
    def place(self) -> tuple[str, str, int, int]:
        return (self.address, self.dusun, self.rw, self.rt)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value != "" else ""


def open_workbook(path: Path) -> tuple[Any, Any, int | None]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with path.open("rb") as fh:
        head = fh.read(len(OLE))
    if not head:
        raise UnreadableFile(path, 1, _("the file is empty"))
    if head == OLE:
        raise UnreadableFile(path, 1, old_or_locked_workbook())
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except InvalidFileException:  # openpyxl goes by the name: a workbook named .xls
        raise UnreadableFile(
            path, 1, _("an Excel workbook must be named .xlsx: rename the file to .xlsx")
        ) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise UnreadableFile(
            path, 1, _("this is not an Excel workbook (.xlsx): export the population from OpenSID")
        ) from None
    sheet = book.worksheets[0]
    total = sheet.max_row - 1 if sheet.max_row else None
    return book, sheet.iter_rows(values_only=True), total


def count_rows(path: Path) -> int | None:
    """The number of data rows the workbook declares (for a progress bar), if it does."""
    try:
        book, _rows, total = open_workbook(path)
    except UnreadableFile:
        return None
    book.close()
    return total


def read_population(path: Path, *, progress: Callable[[int], None] | None = None) -> list[Person]:
    """Every row of an OpenSID population workbook, checked; ``ImportRejected`` with every
    bad row (``RowError`` by workbook row) when any is bad, ``UnreadableFile`` when the
    file is no workbook. ``progress`` is called with the rows read."""
    book, rows, _count = open_workbook(path)
    try:
        header = [str(_cell(h)).lower() for h in next(rows, ())]
        missing = [c for c in opensid.REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ImportRejected([RowError(1, _(
                "this is not OpenSID's population layout: the header row lacks {columns} "
                "(it needs {required})"
            ).format(columns=", ".join(missing), required=", ".join(opensid.REQUIRED_COLUMNS)))])  # fmt: skip
        where = {name: header.index(name) for name in opensid.KEPT_COLUMNS if name in header}
        people: list[Person] = []
        errors: list[RowError] = []
        first_of_nik: dict[str, int] = {}
        tainted: set[str] = set()  # KKs with a bad row: whether they have a head is unknown
        for line, values in enumerate(rows, start=2):
            if progress is not None:
                progress(1)
            if line > MAX_ROWS + 1:
                raise UnreadableFile(path, line, _(
                    "more than {n} rows: an OpenSID file holds one desa/kelurahan"
                ).format(n=format_number(MAX_ROWS)))  # fmt: skip
            cells = {name: _cell(values[i]) if i < len(values) else "" for name, i in where.items()}
            if all(v == "" for v in cells.values()):
                continue
            problems, person = _check(line, cells)
            digits = opensid.only_digits(cells["nik"])
            if len(digits) == 16 and not opensid.is_temporary_nik(digits):
                if digits in first_of_nik:
                    problems.append(_("NIK {nik} already appears on row {line}").format(
                        nik=mask(digits), line=first_of_nik[digits]))  # fmt: skip
                    person = None
                else:
                    first_of_nik[digits] = line
            errors.extend(RowError(line, p) for p in problems)
            if person is not None and not problems:
                people.append(person)
            elif problems:
                tainted.add(opensid.only_digits(cells["no_kk"]))
    finally:
        book.close()
    errors.extend(_across_rows(people, tainted))
    if errors:
        errors.sort(key=lambda e: e.line)
        raise ImportRejected(errors, count=len({e.line for e in errors}))
    return people


def _code(
    table: opensid.CodeTable, cells: dict[str, Any], problems: list[str], *, required: bool = False
) -> int | None:
    value = cells.get(table.column, "")
    if value == "":
        if required:
            problems.append(_("{column} is empty").format(column=table.column))
        return None
    code = table.parse(value)
    if code is None and len(table.labels) > LISTED_CODES:
        # pekerjaan_id's 89 labels would make one row's message thousands of characters
        first = ", ".join(f"{c} {label}" for c, label in list(table.labels.items())[:3])
        problems.append(
            _(
                "{column}: unknown code or label {value} (use a code from {low} to {high} of "
                "OpenSID's list, or its label: {first}, ...)"
            ).format(
                column=table.column, value=_text(value)[:40], low=min(table.labels),
                high=max(table.labels), first=first,
            )
        )  # fmt: skip
    elif code is None:
        problems.append(
            _("{column}: unknown code or label {value} (use one of: {codes})").format(
                column=table.column, value=_text(value)[:40], codes=table.listing()
            )
        )
    return code


def _check(line: int, cells: dict[str, Any]) -> tuple[list[str], Person | None]:
    problems: list[str] = []
    kk = nik = None
    try:
        kk = validate_kk(opensid.only_digits(cells["no_kk"]))
    except InvalidIdentityNumber as exc:
        problems.append(nik_error(exc, "no_kk"))
    digits = opensid.only_digits(cells["nik"])
    temporary = opensid.is_temporary_nik(digits)
    info = None
    if not temporary:
        try:
            info = parse_nik(digits)
            nik = info.nik
        except InvalidIdentityNumber as exc:
            problems.append(nik_error(exc, "NIK"))
    name = _text(cells["nama"])
    if not name:
        problems.append(_("nama is empty"))
    elif len(name) > MAX_NAME:
        problems.append(_("nama is longer than {n} characters").format(n=MAX_NAME))
    status = opensid.LIVING
    if cells.get("status_dasar", "") != "":
        status = _code(opensid.STATUS_DASAR, cells, problems) or opensid.LIVING
    if status != opensid.LIVING:
        # Not a living member: only who it is matters (to mark them in the registry).
        if problems or kk is None:
            return problems, None
        return problems, Person(line, kk, nik, temporary, name, status)
    person = Person(line, kk or "", nik, temporary, name, status)
    sex = _code(opensid.SEX, cells, problems, required=True)
    if sex is not None:
        person.sex = opensid.SEX_OF_CODE[sex]
        if info is not None and info.sex != person.sex:
            problems.append(_("sex does not match the NIK"))
    person.birth_date = opensid.parse_date(cells["tanggallahir"])
    if person.birth_date is None:
        problems.append(
            _("tanggallahir must be a date written YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY")
        )
    elif info is not None and info.birth_date != person.birth_date:
        problems.append(_("tanggallahir does not match the NIK"))
    shdk = _code(opensid.SHDK, cells, problems, required=True)
    if shdk is not None:
        person.relationship = opensid.RELATIONSHIP_OF_SHDK[shdk]
    rw, rt = opensid.rw_rt_number(cells["rw"]), opensid.rw_rt_number(cells["rt"])
    for column, number in (("rw", rw), ("rt", rt)):
        if number is None and _text(cells[column]) in ("", "-"):
            # OpenSID writes "-" for a household without RW/RT; the registry routes a
            # family's reports to its Ketua RT, so it needs both.
            problems.append(_(
                "{column} is empty or '-': every household needs its RW and RT, a number "
                "from 1 to {n} (its reports go to the Ketua RT); fill it in OpenSID and export again"
            ).format(column=column, n=MAX_RW_RT))  # fmt: skip
        elif number is None or not 1 <= number <= MAX_RW_RT:
            problems.append(_("{column} must be a number from 1 to {n}, not {value}").format(
                column=column, n=MAX_RW_RT, value=_text(cells[column])[:20]))  # fmt: skip
    person.rw, person.rt = rw or 0, rt or 0
    person.dusun = opensid.dusun_name(cells.get("dusun", ""))
    address = _text(cells.get("alamat", ""))
    if address in ("", "-"):
        address = _default_address(person.dusun, person.rw, person.rt)
    if len(address) > MAX_ADDRESS:
        problems.append(_("alamat is longer than {n} characters").format(n=MAX_ADDRESS))
    person.address = address
    person.details = _details(cells, problems)
    return problems, (None if problems else person)


def _default_address(dusun: str, rw: int, rt: int) -> str:
    """The address of a household whose ``alamat`` is empty: where it is in the desa."""
    place = f"RT {rt:03d} RW {rw:03d}"
    return f"Dusun {dusun}, {place}" if dusun else place


def _details(cells: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Education, work, marital status and birthplace as kept in ``Member.details``: the
    registry's codes (``registry.attributes``) and, for education and work, the exact
    Disdukcapil code behind them."""
    details: dict[str, Any] = {}
    education = _code(opensid.PENDIDIKAN_KK, cells, problems)
    if education is not None:
        details["education"] = opensid.EDUCATION_OF_CODE[education]
        details["education_code"] = education
    work = _code(opensid.PEKERJAAN, cells, problems)
    if work is not None:
        if opensid.WORK_OF_CODE[work] is not None:
            details["work"] = opensid.WORK_OF_CODE[work]
        details["work_code"] = work
    marital = _code(opensid.STATUS_KAWIN, cells, problems)
    if marital is not None:
        details["marital"] = opensid.MARITAL_OF_CODE[marital]
    birth_place = _text(cells.get("tempatlahir", ""))[:MAX_NAME]
    if birth_place and birth_place != "-":
        details["birth_place"] = birth_place
    return details


def _across_rows(people: list[Person], tainted: set[str]) -> list[RowError]:
    """Rows of one KK at different places; one Kepala Keluarga per household."""
    errors: list[RowError] = []
    first_of_kk: dict[str, Person] = {}
    heads: dict[str, list[Person]] = {}
    for p in people:
        if not p.living:
            continue
        first = first_of_kk.setdefault(p.kk, p)
        if first.place != p.place:
            errors.append(RowError(p.line, _(
                "household {kk}: alamat, dusun, RW or RT differ from row {line}"
            ).format(kk=mask(p.kk), line=first.line)))  # fmt: skip
        heads.setdefault(p.kk, [])
        if p.relationship == "head":
            heads[p.kk].append(p)
    for kk, found in heads.items():
        if not found and kk not in tainted:
            errors.append(RowError(first_of_kk[kk].line, _(
                "household {kk} has no living Kepala Keluarga (kk_level 1)"
            ).format(kk=mask(kk))))  # fmt: skip
        for extra in found[1:]:
            errors.append(RowError(extra.line, _(
                "household {kk} has more than one Kepala Keluarga (first on row {line})"
            ).format(kk=mask(kk), line=found[0].line)))  # fmt: skip
    return errors
