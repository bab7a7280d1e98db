"""Writing a table row by row as CSV or as an Excel workbook, in constant memory.

The exports stream their rows here as they read them from the database: CSV goes
through the ``csv`` module, xlsx through openpyxl's write-only mode (rows are written
to a temporary file as they come, never kept). A file goes through
``storage.files.output_file``: the checks of the target, a temporary name renamed when
complete (a failed export leaves nothing), mode 0600.

No cell of either format is taken by a spreadsheet as a formula: a CSV cell starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe
(the OWASP rule against CSV injection; :func:`csv_unescape` undoes it when a file is read
back), and an xlsx cell is written as text.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from storage.files import output_file

FORMATS = ("csv", "xlsx")
# An Excel sheet holds 1,048,576 rows; a longer table continues on a new sheet.
XLSX_MAX_ROWS = 1_048_576


class TableWriter(Protocol):
    def row(self, values: Sequence[Any]) -> None: ...


def format_for(path: Path | None, chosen: str | None) -> str:
    """The format asked for, else the output file's suffix (``.xlsx``), else CSV."""
    if chosen:
        return chosen
    if path is not None and path.suffix.lower() == ".xlsx":
        return "xlsx"
    return "csv"


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _needs_apostrophe(text: str) -> bool:
    # Apostrophes already in front are counted too, so that csv_unescape is exact: a
    # text "'=x" is written "''=x" and read back as "'=x".
    return text.lstrip("'").startswith(FORMULA_STARTS)


def csv_escape(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet evaluates: a leading apostrophe if needed."""
    return "'" + text if _needs_apostrophe(text) else text


def csv_unescape(text: str) -> str:
    """The text :func:`csv_escape` was given (for files this project wrote and reads back)."""
    return text[1:] if text.startswith("'") and _needs_apostrophe(text[1:]) else text


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return csv_escape(str(value))


class _CsvWriter:
    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream)

    def row(self, values: Sequence[Any]) -> None:
        self._writer.writerow([_csv_text(v) for v in values])


class _XlsxWriter:
    def __init__(self, header: Sequence[str], sheet: str) -> None:
        from openpyxl import Workbook

        self.workbook = Workbook(write_only=True)
        self._header = list(header)
        self._title = sheet
        self._sheets = 0
        self._rows = XLSX_MAX_ROWS

    def _cell(self, value: Any) -> Any:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        if isinstance(value, str):
            # Control characters are not allowed in the file; a text starting with "="
            # would become a formula: residents' answers are written as plain text.
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith("="):
                cell = WriteOnlyCell(self._sheet, value=value)
                cell.data_type = "s"
                return cell
        return value

    def row(self, values: Sequence[Any]) -> None:
        if self._rows >= XLSX_MAX_ROWS:
            self._sheets += 1
            title = self._title if self._sheets == 1 else f"{self._title} {self._sheets}"
            self._sheet = self.workbook.create_sheet(title=title[:31])
            self._sheet.append(self._header)
            self._rows = 1
        self._sheet.append([self._cell(v) for v in values])
        self._rows += 1

    def finish(self, path: Path) -> None:
        if self._sheets == 0:  # no rows: the header alone
            self._rows = XLSX_MAX_ROWS
            self._sheet = self.workbook.create_sheet(title=self._title[:31])
            self._sheet.append(self._header)
        self.workbook.save(path)


@contextmanager
def open_table(
    path: Path | None,
    fmt: str,
    header: Sequence[str],
    *,
    sheet: str = "data",
    bom: bool = False,
    stdout: TextIO | None = None,
    force: bool = False,
    protected: Sequence[Path] = (),
) -> Iterator[TableWriter]:
    """A writer for ``header`` then the rows given to it; CSV to stdout when ``path`` is None.

    ``bom`` writes a UTF-8 byte order mark at the start of a CSV file, so that Excel reads
    it as UTF-8. ``force`` and ``protected`` (files never to write, the live database's)
    are passed to ``storage.files.output_file``, whose ``OutputRefused`` comes out of
    here before anything is written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r}")
    if path is None:
        if fmt != "csv":
            raise ValueError("xlsx needs an output file")
        writer = _CsvWriter(stdout or sys.stdout)
        writer.row(header)
        yield writer
        return
    with output_file(path, force=force, protected=protected) as partial:
        if fmt == "csv":
            with partial.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
                writer = _CsvWriter(fh)
                writer.row(header)
                yield writer
        else:
            xlsx = _XlsxWriter(header, sheet)
            yield xlsx
            xlsx.finish(partial)
