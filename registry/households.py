"""Households and members: the bulk import, lookups and the JSON view."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from locales import _, lazy_gettext
from registry import opensid
from registry.errors import ImportRejected, RowError
from registry.nik import InvalidIdentityNumber, mask, normalize_digits, parse_nik, validate_kk
from registry.regions import VILLAGE_LEVEL
from registry.tables import csv_unescape
from registry.textfile import csv_rows
from storage.models import Household, Member, Region, utcnow
from storage.streaming import stream_rows

IMPORT_HEADER = [
    "kk", "nik", "name", "sex", "birth_date", "relationship",
    "region_code", "rw", "rt", "address", "desil",
]  # fmt: skip

# Hubungan dalam keluarga, as printed on the Kartu Keluarga.
RELATIONSHIPS = (
    "head", "spouse", "child", "child_in_law", "grandchild",
    "parent", "parent_in_law", "other_relative", "household_help", "other",
)  # fmt: skip
MEMBER_STATUSES = ("alive", "deceased", "moved", "gone")
MAX_NAME = 200
MAX_ADDRESS = 500
MAX_RW_RT = 999


def sex_from(cell: object) -> str | None:
    """``M``/``F`` from L, P, LK, PR, LAKI-LAKI, PEREMPUAN, 1, 2 (or M, F), any case."""
    code = opensid.SEX.parse(cell)
    return None if code is None else opensid.SEX_OF_CODE[code]


def relationship_from(cell: object) -> str | None:
    """A relationship of ``RELATIONSHIPS`` from its English code or an SHDK code or label
    as on the Kartu Keluarga (``4``, ``Anak``, ``KEPALA KELUARGA``), any case."""
    text = str(cell).strip().lower()
    if text in RELATIONSHIPS:
        return text
    code = opensid.SHDK.parse(cell)
    return None if code is None else opensid.RELATIONSHIP_OF_SHDK[code]


def _int_in(value: str, low: int, high: int) -> int | None:
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


_NUMBER_PROBLEMS = {
    "not_16_digits": lazy_gettext("it must be 16 digits"),
    "unknown_province": lazy_gettext("unknown province code"),
    "bad_day": lazy_gettext("the day must be 01-31, or 41-71 for women"),
    "bad_date": lazy_gettext("the date inside it does not exist"),
    "future_date": lazy_gettext("the date inside it is in the future"),
    "zero_serial": lazy_gettext("the serial number cannot be 0000"),
}


def nik_error(exc: InvalidIdentityNumber, label: str) -> str:
    reason = _NUMBER_PROBLEMS.get(exc.code, _NUMBER_PROBLEMS["not_16_digits"])
    return _("{label} is not valid: {reason}").format(label=label, reason=reason)


async def import_households(
    session: AsyncSession,
    path: Path,
    *,
    on_error: Callable[[RowError], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Import a CSV with one row per member; return (households, members) added.

    Every bad row is reported with its line number and reason, and nothing is written
    unless all rows are valid (``ImportRejected``). See :func:`import_household_rows`.
    """
    rows = csv_rows(path)
    try:
        header = next(rows, (1, []))[1]
        if [h.strip().lower() for h in header] != IMPORT_HEADER:
            raise ImportRejected(
                [
                    RowError(
                        1,
                        _("header must be exactly: {header}").format(
                            header=",".join(IMPORT_HEADER)
                        ),
                    )
                ]
            )
        return await import_household_rows(
            session,
            # csv_unescape: a file of `registry export` reads back as it was written.
            ((line, [csv_unescape(cell) for cell in cells]) for line, cells in rows),
            on_error=on_error,
            progress=progress,
        )
    finally:
        rows.close()


class _Staging:
    """The temporary tables of one import: its rows, its households and its errors.

    Rows are checked one by one as they are read and written here; what involves
    several rows (a NIK twice, a household's head, rows of one KK that disagree, numbers
    already in the registry) is then found with SQL. Memory stays the same however long
    the file is. The tables are temporary: private to the connection and dropped at the
    end (on PostgreSQL also by the transaction's end)."""

    def __init__(self, dialect: str) -> None:
        suffix = uuid.uuid4().hex[:12]
        options: dict[str, Any] = {"prefixes": ["TEMPORARY"]}
        if dialect == "postgresql":
            options["postgresql_on_commit"] = "DROP"
        self.metadata = MetaData()
        self.rows = Table(
            f"lw_import_rows_{suffix}", self.metadata,
            Column("line", Integer, primary_key=True, autoincrement=False),
            Column("kk", Text),  # the KK as written, without separators: groups the rows
            Column("nik", String(16)),  # when valid
            Column("ok", Boolean, nullable=False),  # the row alone has no problem
            Column("dup", Boolean, nullable=False),  # its NIK is on an earlier line
            Column("mismatch", Boolean, nullable=False),  # differs from its household's first
            Column("name", String(MAX_NAME)),
            Column("sex", String(1)),
            Column("birth_date", Date),
            Column("relationship", String(20)),
            Column("region_code", String(13)),
            Column("rw", Integer),
            Column("rt", Integer),
            Column("address", String(MAX_ADDRESS)),
            Column("desil", Integer),
            **options,
        )  # fmt: skip
        self.households = Table(
            f"lw_import_households_{suffix}", self.metadata,
            Column("kk", Text, primary_key=True),
            Column("first_line", Integer, nullable=False),
            Column("first_head", Integer),
            Column("tainted", Boolean),  # a row of this KK is bad: its head count is unknown
            **options,
        )  # fmt: skip
        self.errors = Table(
            f"lw_import_errors_{suffix}", self.metadata,
            Column("id", Integer, primary_key=True),  # keeps a line's reasons in order
            Column("line", Integer, nullable=False),
            Column("code", String(16), nullable=False),
            Column("reason", Text),  # a checked row's reason, already worded
            Column("number", Text),  # the NIK or KK the reason is about
            Column("other_line", Integer),
            **options,
        )  # fmt: skip
        self._suffix = suffix
        self._insert_rows: str | None = None
        Index(f"ix_lw_import_errors_{suffix}", self.errors.c.line, self.errors.c.id)

    async def create(self, session: AsyncSession) -> None:
        connection = await session.connection()
        await connection.run_sync(self.metadata.create_all)

    async def add_rows(self, session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows (tuples in column order) with the driver's executemany: this is the
        bulk of an import, so it skips SQLAlchemy's per-row parameter processing (dates
        must be given as the driver stores them: ISO text on SQLite)."""
        connection = await session.connection()
        if self._insert_rows is None:
            compiled = insert(self.rows).compile(dialect=connection.dialect)
            assert list(compiled.positiontup or []) == [c.name for c in self.rows.columns]
            self._insert_rows = str(compiled)
        await connection.exec_driver_sql(self._insert_rows, rows)

    async def index_rows(self, session: AsyncSession) -> None:
        """Index the rows once they are all in (faster than indexing each insert)."""
        connection = await session.connection()
        for column in ("kk", "nik"):
            index = Index(f"ix_lw_import_{column}_{self._suffix}", self.rows.c[column])
            await connection.run_sync(index.create)

    async def drop(self, session: AsyncSession) -> None:
        connection = await session.connection()
        for table in (self.errors, self.households, self.rows):
            await connection.run_sync(table.drop, checkfirst=True)


_BATCH = 5000
_NO_ROW = (None,) * 9  # name ... desil of a row with a problem
_ERROR_TEMPLATES = {
    "dup_nik": lazy_gettext("NIK {nik} already appears on line {line}"),
    "differs": lazy_gettext(
        "household {kk}: region, RW, RT, address or desil differ from line {line}"
    ),
    "no_head": lazy_gettext("household {kk} has no member with relationship 'head'"),
    "two_heads": lazy_gettext("household {kk} has more than one head"),
    "kk_exists": lazy_gettext("household {kk} is already in the registry"),
    "nik_exists": lazy_gettext("NIK {nik} is already in the registry"),
}


def _error_text(code: str, reason: str | None, number: str | None, other: int | None) -> str:
    if code == "row":
        return reason or ""
    masked = mask(number or "")
    return str(_ERROR_TEMPLATES[code]).format(nik=masked, kk=masked, line=other)


async def import_household_rows(
    session: AsyncSession,
    rows: Iterable[tuple[int, list[str]]],
    *,
    on_error: Callable[[RowError], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Import (line number, row) pairs in ``IMPORT_HEADER`` order; all or nothing.

    A household's rows may be anywhere in the input. Every row is checked; when any is
    bad, every reason is passed to ``on_error`` in line order (or kept in the
    exception's ``errors`` when there is no ``on_error``), the session is rolled back and
    ``ImportRejected`` is raised. ``progress`` is called with the number of rows read
    since its last call. Memory use does not grow with the number of rows."""
    villages = set(
        (await session.execute(select(Region.code).where(Region.level == VILLAGE_LEVEL)))
        .scalars()
        .all()
    )
    dialect = session.get_bind().dialect.name
    staging = _Staging(dialect)
    await staging.create(session)
    errors = staging.errors
    dates_as_text = dialect == "sqlite"
    staged: list[tuple[Any, ...]] = []
    row_errors: list[dict[str, Any]] = []
    read = 0

    async def flush() -> None:
        nonlocal read
        if staged:
            await staging.add_rows(session, staged)
        if row_errors:
            await session.execute(insert(errors), row_errors)
        if progress is not None and read:
            progress(read)
        staged.clear()
        row_errors.clear()
        read = 0

    for line, row in rows:
        read += 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(IMPORT_HEADER):
            reason = _("expected {n} columns, found {m}").format(n=len(IMPORT_HEADER), m=len(row))
            row_errors.append({"line": line, "code": "row", "reason": reason})
        else:
            problems, parsed, nik = _check_row(
                dict(zip(IMPORT_HEADER, (c.strip() for c in row), strict=True)), villages
            )
            # In the column order of _Staging.rows: line, kk, nik, ok, dup, mismatch, ...
            if parsed is None:
                staged.append((line, normalize_digits(row[0]), nik, False, False, False, *_NO_ROW))
            else:
                m = parsed["member"]
                born = m["birth_date"].isoformat() if dates_as_text else m["birth_date"]
                staged.append((
                    line, parsed["kk"], nik, True, False, False, m["name"], m["sex"], born,
                    m["relationship"], *parsed["household"],
                ))  # fmt: skip
            row_errors.extend({"line": line, "code": "row", "reason": p} for p in problems)
        if len(staged) >= _BATCH or len(row_errors) >= _BATCH:
            await flush()
    await flush()
    await staging.index_rows(session)

    bad_rows = await _check_across_rows(session, staging)
    if bad_rows:
        kept: list[RowError] = []
        report = on_error or kept.append
        stmt = select(errors.c.line, errors.c.code, errors.c.reason, errors.c.number,
                      errors.c.other_line).order_by(errors.c.line, errors.c.id)  # fmt: skip
        async for line, code, reason, number, other in stream_rows(session, stmt, _BATCH):
            report(RowError(line, _error_text(code, reason, number, other)))
        await session.rollback()
        await staging.drop(session)
        raise ImportRejected(kept, count=bad_rows)
    counts = await _insert(session, staging)
    await staging.drop(session)
    return counts


async def _check_across_rows(session: AsyncSession, staging: _Staging) -> int:
    """Record what involves several rows as errors; return the number of bad lines."""
    r, g, e = staging.rows, staging.households, staging.errors
    earlier = r.alias("earlier")
    first = r.alias("first")
    grouped = and_(r.c.ok, ~r.c.dup)  # the rows that make up the households

    async def run(stmt: Any) -> None:
        await session.execute(stmt)

    def errors_from(select_stmt: Any) -> Any:
        return insert(e).from_select([c.name for c in select_stmt.selected_columns], select_stmt)

    # A NIK seen on an earlier line: the later lines are wrong.
    await run(update(r).where(r.c.nik.is_not(None), exists().where(
        earlier.c.nik == r.c.nik, earlier.c.line < r.c.line)).values(dup=True))  # fmt: skip
    first_nik_line = (
        select(func.min(earlier.c.line)).where(earlier.c.nik == r.c.nik).scalar_subquery()
    )
    await run(errors_from(select(
        r.c.line, literal("dup_nik").label("code"), r.c.nik.label("number"),
        first_nik_line.label("other_line"),
    ).where(r.c.dup)))  # fmt: skip

    # Households: the first good row of a KK gives its region, RW, RT, address and desil.
    await run(insert(g).from_select(
        ["kk", "first_line"], select(r.c.kk, func.min(r.c.line)).where(grouped).group_by(r.c.kk)
    ))  # fmt: skip
    differs = or_(
        first.c.region_code != r.c.region_code, first.c.rw != r.c.rw, first.c.rt != r.c.rt,
        first.c.address != r.c.address, first.c.desil.is_distinct_from(r.c.desil),
    )  # fmt: skip
    await run(update(r).where(grouped, exists().where(
        g.c.kk == r.c.kk, first.c.line == g.c.first_line, differs)).values(mismatch=True))  # fmt: skip
    await run(errors_from(select(
        r.c.line, literal("differs").label("code"), r.c.kk.label("number"),
        g.c.first_line.label("other_line"),
    ).join(g, g.c.kk == r.c.kk).where(r.c.mismatch)))  # fmt: skip

    # Exactly one head per household (unknown when one of its rows is bad).
    heads = and_(r.c.kk == g.c.kk, grouped, r.c.relationship == "head")
    bad_row = and_(r.c.kk == g.c.kk, or_(~r.c.ok, r.c.dup, r.c.mismatch))
    await run(update(g).values(
        first_head=select(func.min(r.c.line)).where(heads).scalar_subquery(),
        tainted=exists().where(bad_row),
    ))  # fmt: skip
    await run(errors_from(select(
        g.c.first_line.label("line"), literal("no_head").label("code"), g.c.kk.label("number"),
    ).where(g.c.first_head.is_(None), ~g.c.tainted)))  # fmt: skip
    await run(errors_from(select(
        r.c.line, literal("two_heads").label("code"), r.c.kk.label("number"),
    ).join(g, g.c.kk == r.c.kk).where(grouped, r.c.relationship == "head",
                                       r.c.line > g.c.first_head)))  # fmt: skip

    # Numbers already in the registry.
    await run(errors_from(select(
        g.c.first_line.label("line"), literal("kk_exists").label("code"), g.c.kk.label("number"),
    ).join(Household, Household.kk == g.c.kk)))  # fmt: skip
    await run(errors_from(select(
        func.min(r.c.line).label("line"), literal("nik_exists").label("code"),
        r.c.nik.label("number"),
    ).join(Member, Member.nik == r.c.nik).group_by(r.c.nik)))  # fmt: skip
    return await session.scalar(select(func.count(func.distinct(e.c.line)))) or 0


async def _insert(session: AsyncSession, staging: _Staging) -> tuple[int, int]:
    """Write the staged households and members (all rows are valid by now)."""
    r, g = staging.rows, staging.households
    now = utcnow()
    empty = literal({}, JSON)
    households = Household.__table__
    await session.execute(
        insert(households).from_select(
            ["kk", "address", "region_code", "rw", "rt", "desil", "details", "created_at",
             "updated_at"],
            select(r.c.kk, r.c.address, r.c.region_code, r.c.rw, r.c.rt, r.c.desil, empty,
                   literal(now, DateTime), literal(now, DateTime))
            .join(g, g.c.first_line == r.c.line)
            .order_by(r.c.line),
        )
    )  # fmt: skip
    await session.execute(
        insert(Member.__table__).from_select(
            ["household_id", "nik", "name", "sex", "birth_date", "relationship", "status",
             "details", "created_at"],
            select(households.c.id, r.c.nik, r.c.name, r.c.sex, r.c.birth_date,
                   r.c.relationship, literal("alive"), empty, literal(now, DateTime))
            .join(households, households.c.kk == r.c.kk)
            .order_by(r.c.line),
        )
    )  # fmt: skip
    household_count = await session.scalar(select(func.count()).select_from(g)) or 0
    member_count = await session.scalar(select(func.count()).select_from(r)) or 0
    return household_count, member_count


def _check_row(
    raw: dict[str, str], villages: set[str]
) -> tuple[list[str], dict[str, Any] | None, str | None]:
    """The row's problems, its parsed values (when it has none) and its NIK (when valid)."""
    problems: list[str] = []
    kk = nik = None
    try:
        kk = validate_kk(raw["kk"])
    except InvalidIdentityNumber as exc:
        problems.append(nik_error(exc, "KK"))
    info = None
    try:
        info = parse_nik(raw["nik"])
        nik = info.nik
    except InvalidIdentityNumber as exc:
        problems.append(nik_error(exc, "NIK"))
    name = raw["name"]
    if not name:
        problems.append(_("name is empty"))
    elif len(name) > MAX_NAME:
        problems.append(_("name is longer than {n} characters").format(n=MAX_NAME))
    sex = sex_from(raw["sex"])
    if sex is None:
        problems.append(_("sex must be L or P (or LK, PR, LAKI-LAKI, PEREMPUAN, 1, 2, M, F)"))
    elif info is not None and info.sex != sex:
        problems.append(_("sex does not match the NIK"))
    birth_date = opensid.parse_date(raw["birth_date"])
    if birth_date is None:
        problems.append(_("birth_date must be a date written YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY"))
    if birth_date is not None and info is not None and info.birth_date != birth_date:
        problems.append(_("birth_date does not match the NIK"))
    relationship = relationship_from(raw["relationship"])
    if relationship is None:
        problems.append(
            _("relationship must be one of: {values}; or an SHDK code or label: {shdk}").format(
                values=", ".join(RELATIONSHIPS), shdk=opensid.SHDK.listing()
            )
        )
    region_code = raw["region_code"]
    if region_code not in villages:
        problems.append(
            _(
                "region_code {code} is not a known desa/kelurahan (import the region codes first)"
            ).format(code=region_code or "-")
        )
    rw = _int_in(raw["rw"], 1, MAX_RW_RT)
    rt = _int_in(raw["rt"], 1, MAX_RW_RT)
    if rw is None:
        problems.append(_("rw must be a number from 1 to {n}").format(n=MAX_RW_RT))
    if rt is None:
        problems.append(_("rt must be a number from 1 to {n}").format(n=MAX_RW_RT))
    address = raw["address"]
    if not address:
        problems.append(_("address is empty"))
    elif len(address) > MAX_ADDRESS:
        problems.append(_("address is longer than {n} characters").format(n=MAX_ADDRESS))
    desil = None
    if raw["desil"]:
        desil = _int_in(raw["desil"], 1, 10)
        if desil is None:
            problems.append(_("desil must be empty or a number from 1 to 10"))
    if problems:
        return problems, None, nik
    assert kk and nik and sex and birth_date and rw and rt
    return (
        problems,
        {
            "kk": kk,
            "household": (region_code, rw, rt, address, desil),
            "member": {
                "nik": nik,
                "name": name,
                "sex": sex,
                "birth_date": birth_date,
                "relationship": relationship,
                "status": "alive",
            },
        },
        nik,
    )


async def household_by_kk(session: AsyncSession, kk: str) -> Household | None:
    return (await session.execute(select(Household).where(Household.kk == kk))).scalar_one_or_none()


async def member_by_nik(session: AsyncSession, nik: str) -> Member | None:
    return (await session.execute(select(Member).where(Member.nik == nik))).scalar_one_or_none()


async def living_head(session: AsyncSession, household_id: int) -> Member | None:
    """:func:`head_of` by a query (for a household whose members may not be loaded)."""
    return await session.scalar(
        select(Member).where(
            Member.household_id == household_id,
            Member.relationship == "head",
            Member.status == "alive",
        )
    )


def head_of(household: Household) -> Member | None:
    """The living head of the family. A head who died or moved away keeps the place on
    the KK as history (as OpenSID keeps ``kk_level``), beside the new head."""
    return next(
        (m for m in household.members if m.relationship == "head" and m.status == "alive"), None
    )


def member_snapshot(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "nik": member.nik,
        "name": member.name,
        "sex": member.sex,
        "birth_date": member.birth_date.isoformat(),
        "relationship": member.relationship,
        "status": member.status,
        "household_id": member.household_id,
        "details": dict(member.details or {}),
    }


def household_snapshot(household: Household) -> dict[str, Any]:
    """The household as plain JSON-ready data (used by ``registry show``)."""
    return {
        "kk": household.kk,
        "address": household.address,
        "region_code": household.region_code,
        "region_name": household.region.name,
        "rw": household.rw,
        "rt": household.rt,
        "desil": household.desil,
        "details": dict(household.details or {}),
        "members": [member_snapshot(m) for m in household.members],
    }
