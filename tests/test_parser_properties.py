"""Property-based tests of every parser (issue 19): whatever the input, a valid result or
the project's clear error (``FILE:LINE: reason`` for files), never a traceback.

Kept fast for the normal suite: a modest number of examples each, no deadline (the
machine may be busy). Files go through the real command line, as an operator would."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from flows.parsing import parse_date
from registry.nik import InvalidIdentityNumber, parse_nik, validate_kk
from registry.textfile import MAX_FIELD_CHARS, UnreadableFile, csv_rows
from testkit.factories import FAMILIES, SARI, registry_rows
from tests.helpers.db import in_db
from tests.helpers.world import registry_world

FAST = settings(max_examples=60, deadline=None)
CLI = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

digits = st.text(st.sampled_from("0123456789"), min_size=14, max_size=18)
id_text = st.one_of(
    digits,
    st.text(max_size=24),
    st.builds(lambda d, sep: sep.join([d[:6], d[6:12], d[12:]]), digits, st.sampled_from(" .-")),
    st.text(st.sampled_from("0123456789٠١٢٣۴²³ \u00a0.-"), max_size=20),  # non-ASCII digits
)


@FAST
@given(id_text)
def test_nik_and_kk_are_parsed_or_refused_with_a_reason(text: str) -> None:
    for parse in (lambda t: parse_nik(t).nik, validate_kk):
        try:
            number = parse(text)
        except InvalidIdentityNumber as exc:
            assert exc.code
        else:
            assert number.isascii() and number.isdigit() and len(number) == 16


@FAST
@given(
    st.one_of(
        st.text(max_size=30),
        st.builds(
            lambda d, m, y, sep: f"{d}{sep}{m}{sep}{y}",
            st.integers(-5, 99),
            st.integers(-5, 99),
            st.integers(0, 99999),
            st.sampled_from(["/", "-", ".", " "]),
        ),
        st.builds(
            lambda d, m, y: f"{d} {m} {y}",
            st.integers(0, 40),
            st.sampled_from(["Januari", "Agt", "nopember", "Mei.", "x"]),
            st.integers(0, 9999),
        ),
    )
)
def test_a_date_is_parsed_or_none(text: str) -> None:
    assert parse_date(text) is None or isinstance(parse_date(text), date)


MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
             "September", "Oktober", "November", "Desember"]  # fmt: skip
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@FAST
@given(days, st.sampled_from(["{d}/{m}/{y}", "{d:02d}-{m:02d}-{y}", "{d}.{m}.{y}", "{y}-{m:02d}-{d:02d}",
                              "{d} {name} {y}", "{d} {short} {y}", "{d} {lower} {y}"]))  # fmt: skip
def test_every_written_form_of_a_date_reads_back(day: date, pattern: str) -> None:
    name = MONTHS_ID[day.month - 1]
    text = pattern.format(d=day.day, m=day.month, y=day.year, name=name, short=name[:3],
                          lower=name.lower())  # fmt: skip
    assert parse_date(text) == day


@FAST
@given(days, st.integers(0, 99999))
def test_n_days_ago_counts_back_from_today(today: date, n: int) -> None:
    expected = today.toordinal() - n
    for text in (f"{n} hari lalu", f"{n} days ago"):
        parsed = parse_date(text, today=today)
        if expected < 1 or n > 36600:
            assert parsed is None
        else:
            assert parsed is not None and parsed.toordinal() == expected


@FAST
@given(days, st.integers(1, 31), st.integers(1, 12))
def test_a_date_without_a_year_is_never_in_the_future(today: date, d: int, m: int) -> None:
    parsed = parse_date(f"{d} {MONTHS_ID[m - 1]}", today=today)
    if parsed is not None:
        assert parsed <= today and (parsed.month, parsed.day) == (m, d)
        assert (today - parsed).days < 366 * 4 + 1  # this year or last (29 February: up to 4)


# ---- files ---------------------------------------------------------------------------------

_PIECES = st.sampled_from([
    b",", b'"', b'""', b"\n", b"\r\n", b"\r", b"\x00", b"\xe9", b"\x96", b"\xef\xbb\xbf",
    b"\xff\xfe", b"PK\x03\x04", "é".encode(), b" ", b"x" * (MAX_FIELD_CHARS + 1),
    b"1671", b"LW-2026-000001", b"approve", b"reject", b"other", b"16.71.01.1001", b"99",
])  # fmt: skip
junk = st.lists(st.one_of(_PIECES, st.binary(max_size=12)), max_size=25).map(b"".join)


def _spoiled(valid: bytes):
    """``valid`` with junk put somewhere in it, or junk alone."""
    return st.one_of(
        junk,
        st.builds(
            lambda at, bad: valid[: at % (len(valid) + 1)] + bad + valid[at % (len(valid) + 1) :],
            st.integers(0, 10_000),
            junk,
        ),
    )


def _clear_error_or_result(path: Path, err: str, code: int) -> None:
    assert code in (0, 1), err
    for line in err.strip().splitlines():
        assert re.fullmatch(
            rf"{re.escape(str(path))}(:[1-9]\d*: .+|: \d+ bad row\(s\); nothing was \w+\.)", line
        ), line


@FAST
@given(junk)
def test_csv_rows_give_rows_or_file_and_line(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(data)
    try:
        rows = list(csv_rows(path))
    except UnreadableFile as exc:
        assert exc.line >= 1 and exc.reason and str(exc).startswith(f"{path}:{exc.line}: ")
    else:
        lines = [line for line, _cells in rows]
        assert lines == sorted(set(lines)) and all(line >= 1 for line in lines)


@FAST
@given(st.lists(st.lists(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=8),
                         min_size=1, max_size=4), max_size=6))  # fmt: skip
def test_csv_rows_read_back_what_csv_writes(tmp_path_factory, table: list[list[str]]) -> None:
    text = io.StringIO()
    csv.writer(text).writerows(table)
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    expected = list(csv.reader(io.StringIO(text.getvalue())))
    rows = list(csv_rows(path))
    assert [cells for _line, cells in rows] == expected
    starts, line = [], 1
    for row in expected:  # a row starts after the line breaks of the rows before it
        starts.append(line)
        out = io.StringIO()
        csv.writer(out).writerow(row)
        line += out.getvalue().count("\n")
    assert [line for line, _cells in rows] == starts


_REGISTRY = "\n".join(",".join(r) for r in [
    ["kk", "nik", "name", "sex", "birth_date", "relationship", "region_code", "rw", "rt",
     "address", "desil"], *registry_rows(FAMILIES)]).encode()  # fmt: skip


@CLI
@given(_spoiled(_REGISTRY))
def test_registry_import_never_fails_with_a_traceback(cli_db, tmp_path, capsys, data) -> None:
    path = tmp_path / "registry.csv"
    path.write_bytes(data)
    code = main(["registry", "import", str(path)])
    _clear_error_or_result(path, capsys.readouterr().err, code)


@CLI
@given(_spoiled(b"kode,nama\n99,Provinsi Baru\n99.01,Kabupaten Baru\n"))
def test_regions_import_never_fails_with_a_traceback(cli_db, tmp_path, capsys, data) -> None:
    path = tmp_path / "regions.csv"
    path.write_bytes(data)
    code = main(["regions", "import", str(path)])
    _clear_error_or_result(path, capsys.readouterr().err, code)


@pytest.fixture
def reviewer(cli_db, tmp_path) -> int:
    """An RT head of SARI's RT in the registry world, with no report to decide."""
    in_db(cli_db, lambda s: registry_world(s, tmp_path, rt={7: [(SARI.rw, SARI.rt)]}))
    return 7


@CLI
@given(_spoiled(b"number,decision,reason_code,note\nLW-2026-000001,reject,other,Pindah\n"))
def test_reports_decide_never_fails_with_a_traceback(reviewer, tmp_path, capsys, data) -> None:
    path = tmp_path / "keputusan.csv"
    path.write_bytes(data)
    code = main(["reports", "decide", "--file", str(path), "--as", str(reviewer)])
    _clear_error_or_result(path, capsys.readouterr().err, code)
