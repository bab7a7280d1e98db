"""Reading the text files people give the command line, safely.

Every file the project reads (the registry and region CSVs, a reviewer's decisions, an
announcement, the workflow file) goes through here, so that a wrong file ends in one
clear line naming the file and the line, never in a traceback:

* the file must be UTF-8 (a byte order mark is allowed); anything else, UTF-16 or an
  Excel workbook included, is refused with what to do: save it as CSV UTF-8;
* binary content (a NUL byte) is refused;
* a row may hold at most ``MAX_ROW_CHARS`` characters and a CSV field at most
  ``MAX_FIELD_CHARS``;
* a broken quote is reported on the line where its row starts.

The file is read in chunks of ``_CHUNK`` bytes and a line is never kept beyond those
limits, so memory stays flat whatever the file holds (a 200 MB single line included).
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from locales import _, format_number
from registry.errors import ConfigError, DomainError

T = TypeVar("T")

MAX_FIELD_CHARS = 10_000
"""Characters in one CSV field (the longest real one, an address, has 500)."""
MAX_ROW_CHARS = 1_000_000
"""Characters in one row, its quoted line breaks included."""
_MAX_LINE_BYTES = 4 * MAX_ROW_CHARS  # a UTF-8 character takes at most 4 bytes
_CHUNK = 1 << 18

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP = b"PK\x03\x04"  # .xlsx, .docx, .ods, .zip
# An OLE compound file: an old Excel .xls, or an .xlsx protected by a password.
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def old_or_locked_workbook() -> str:
    """Why an OLE file (old .xls, or a workbook with a password) cannot be read."""
    return _(
        "this is an old Excel file (.xls) or a workbook protected by a password: open it in "
        "a spreadsheet, remove any password and save it as Excel Workbook (.xlsx)"
    )


class UnreadableFile(DomainError):
    """The file cannot be read as the text it should be; ``str()`` is ``FILE:LINE: reason``."""

    code = "unreadable_file"

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(_("{file}:{line}: {reason}").format(file=path, line=line, reason=reason))


def _too_long() -> str:
    return _("the row is longer than {n} characters: is this the right file?").format(
        n=format_number(MAX_ROW_CHARS)
    )


def _refuse_start(path: Path, head: bytes) -> None:
    if head.startswith(_UTF16_BOMS):
        raise UnreadableFile(
            path, 1, _("the file is UTF-16 (Unicode text), not UTF-8: save it as CSV UTF-8")
        )
    if head.startswith(_ZIP):
        raise UnreadableFile(
            path, 1, _("this is an Excel workbook or a ZIP file, not a CSV: save it as CSV UTF-8")
        )
    if head.startswith(OLE):
        raise UnreadableFile(path, 1, old_or_locked_workbook())


def _decode(path: Path, data: bytes, first_line: int) -> str:
    """``data`` (whole lines starting at ``first_line``) as text, or UnreadableFile."""
    nul = data.find(b"\x00")
    if nul != -1:
        raise UnreadableFile(
            path,
            first_line + data.count(b"\n", 0, nul),
            _("binary content (a NUL byte): this is not a text file; save it as CSV UTF-8"),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        raise UnreadableFile(
            path,
            first_line + data.count(b"\n", 0, exc.start),
            _(
                "not UTF-8 (byte 0x{byte:02X} at character {column} of the line; perhaps "
                "Latin-1 or Windows-1252): save the file as CSV UTF-8"
            ).format(byte=data[exc.start], column=column),
        ) from None


def text_lines(path: Path, fh: BinaryIO) -> Iterator[tuple[int, str]]:
    """(line number, line with its ``\\n``) of a binary stream of UTF-8 text, read in
    bounded chunks; raises UnreadableFile for what is not UTF-8 text or a line too long."""
    line = 1
    pending = bytearray()
    first = True
    while chunk := fh.read(_CHUNK):
        if first:
            _refuse_start(path, chunk)
            if chunk.startswith(_UTF8_BOM):
                chunk = chunk[len(_UTF8_BOM) :]
            first = False
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut:
            text = _decode(path, bytes(pending[:cut]), line)
            del pending[:cut]
            pieces = text.split("\n")
            pieces.pop()  # empty: the text ends with "\n"
            for piece in pieces:
                yield line, piece + "\n"
                line += 1
        if len(pending) > _MAX_LINE_BYTES:
            raise UnreadableFile(path, line, _too_long())
    if pending:
        yield line, _decode(path, bytes(pending), line)


def read_text(path: Path, *, max_chars: int = MAX_ROW_CHARS) -> str:
    """The whole file as text, at most ``max_chars`` characters; UnreadableFile otherwise
    (and OSError when it cannot be opened)."""
    parts: list[str] = []
    size = 0
    with path.open("rb") as fh:
        for line, text in text_lines(path, fh):
            size += len(text)
            if size > max_chars:
                raise UnreadableFile(
                    path,
                    line,
                    _("the file is longer than {n} characters").format(n=format_number(max_chars)),
                )
            parts.append(text)
    return "".join(parts)


class _Feed:
    """The lines given to ``csv.reader``, counting the characters of the current row."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self.line = 0  # the last line given
        self.row_chars = 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        self.line, text = next(self._lines)
        self.row_chars += len(text)
        if self.row_chars > MAX_ROW_CHARS:
            raise _RowTooLong
        return text


class _RowTooLong(Exception):
    pass


def _row_problem(exc: Exception, *, several_lines: bool) -> str:
    """Why a row could not be read: it grew too long (``_RowTooLong``, or a field past
    csv's own limit, above ours), or csv found it broken."""
    message = str(exc)
    too_long = isinstance(exc, _RowTooLong) or "field limit" in message
    if too_long and several_lines:  # only a quote spans lines: it was left open
        limit = MAX_ROW_CHARS if isinstance(exc, _RowTooLong) else MAX_FIELD_CHARS
        return _("the quote opened in this row is not closed within {n} characters").format(
            n=format_number(limit)
        )
    if isinstance(exc, _RowTooLong):
        return _too_long()
    if "field limit" in message:
        return _field_too_long(None)
    if "unexpected end of data" in message:
        return _("the quote opened in this row is never closed")
    if "expected after" in message:
        return _(
            'a quote closes in the middle of a field: after a closing " only a comma or '
            'the end of the line may follow (write a quote inside a quoted field as "")'
        )
    if "new-line character" in message:
        return _("a line ends with a lone carriage return: save the file as CSV UTF-8")
    return _("the CSV is broken here: {error}").format(error=message)


def _field_too_long(column: int | None) -> str:
    n = format_number(MAX_FIELD_CHARS)
    if column is None:
        return _("a field is longer than {n} characters").format(n=n)
    return _("field {column} is longer than {n} characters").format(column=column, n=n)


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line where the row starts, its cells) for every row of a UTF-8 CSV file, an empty
    line giving ``[]``. Raises UnreadableFile (``FILE:LINE: reason``) on the first thing
    that makes the file unreadable, and OSError when it cannot be opened."""
    with path.open("rb") as fh:
        feed = _Feed(text_lines(path, fh))
        reader = csv.reader(feed, strict=True)
        while True:
            start = feed.line + 1
            feed.row_chars = 0
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (_RowTooLong, csv.Error) as exc:
                reason = _row_problem(exc, several_lines=feed.line > start)
                raise UnreadableFile(path, start, reason) from None
            for column, cell in enumerate(cells, 1):
                if len(cell) > MAX_FIELD_CHARS:
                    raise UnreadableFile(path, start, _field_too_long(column))
            yield start, cells


def check_csv(path: Path) -> None:
    """Read the whole CSV file once, only to raise what :func:`csv_rows` would."""
    for _row in csv_rows(path):
        pass


def read_config(path: Path, parse: Callable[[dict[str, Any]], T]) -> T:
    """A TOML configuration file (WORKFLOW_FILE, OFFICE_CONTACTS_FILE) read safely and
    checked by ``parse``; every problem is a ConfigError that names the file (and the key,
    as ``parse`` words it)."""
    try:
        data = tomllib.loads(read_text(path))
    except UnreadableFile as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return parse(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
