"""``lapor-warga``: run the bot and administer the registry."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.settings import Settings, SettingsError, load_settings
from locales import _, format_number, set_default_locale
from registry.errors import DomainError, ImportRejected, RowError
from registry.nik import normalize_digits
from storage import backup, db

if TYPE_CHECKING:
    from storage.models import Household

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

log = logging.getLogger(__name__)


def no_token_help() -> str:
    return _("""\
BOT_TOKEN is not set, so the bot cannot start.

  1. Ask @BotFather on Telegram for a bot token (/newbot).
  2. Put it in the environment or in a .env file here:  BOT_TOKEN=123456:ABC...
  3. Load the registry: lapor-warga regions import; lapor-warga registry import FILE.csv
  4. Start again: lapor-warga run

To try the bot without a token or Telegram, run: lapor-warga sandbox""")


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lapor-warga",
        description="Lapor Warga: residents report household changes to the DTSEN registry over Telegram.",
        epilog="Settings come from the environment or .env: BOT_TOKEN, DATABASE_URL, "
        "TELEGRAM_API_BASE, DEFAULT_LOCALE, LOG_LEVEL, WORKFLOW_FILE and more (see README.md, "
        "Configuration).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run_help = (
        "run the bot; needs BOT_TOKEN. Long polling by default (one process); --webhook "
        "serves Telegram's webhook instead (several processes on one PostgreSQL). "
        "METRICS_PORT adds /healthz and /metrics. SIGTERM stops it after the updates in hand."
    )
    run = sub.add_parser("run", help=run_help, description=run_help)
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve webhooks on WEBHOOK_HOST:WEBHOOK_PORT (default 0.0.0.0:8080) and register "
        "WEBHOOK_URL with WEBHOOK_SECRET at Telegram",
    )

    sandbox = sub.add_parser(
        "sandbox",
        help="try the bot without a token: a local Bot API server, the real bot, a demo "
        "registry and a page with four phones, all on 127.0.0.1",
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port of the page (default: 8080; 0 picks a free one)",
    )

    db_parser = sub.add_parser("db", help="database schema and backups")
    db_sub = db_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply all Alembic migrations")
    db_backup = db_sub.add_parser(
        "backup",
        help="copy the database to FILE while the bot may keep running "
        "(SQLite: online backup API; PostgreSQL: pg_dump --format=custom, restore with pg_restore)",
    )
    db_backup.add_argument("file", type=Path, metavar="FILE")
    db_backup.add_argument("--force", action="store_true", help="replace FILE if it exists")

    regions = sub.add_parser("regions", help="Kemendagri region codes")
    regions_sub = regions.add_subparsers(dest="action", required=True, metavar="ACTION")
    r_import = regions_sub.add_parser("import", help="import region codes from a kode,nama CSV")
    r_import.add_argument(
        "file", nargs="?", type=Path, help="CSV file (default: the bundled Kepmendagri 2025 list)"
    )

    registry = sub.add_parser("registry", help="households and members")
    registry_sub = registry.add_subparsers(dest="action", required=True, metavar="ACTION")
    g_import = registry_sub.add_parser(
        "import",
        help="import households from a CSV, one row per member "
        "(kk,nik,name,sex,birth_date,relationship,region_code,rw,rt,address,desil)",
    )
    g_import.add_argument("file", type=Path)
    show = registry_sub.add_parser("show", help="print one household as JSON")
    show.add_argument("--kk", required=True, help="the 16-digit KK number")
    show.add_argument(
        "--as-of", type=_day, metavar="YYYY-MM-DD",
        help="the household as it was at the end of that day (UTC)",
    )  # fmt: skip
    history = registry_sub.add_parser("history", help="list one household's revisions")
    history.add_argument("--kk", required=True, help="the 16-digit KK number")
    r_export = registry_sub.add_parser(
        "export",
        help="write every living member as CSV in the `registry import` format (full NIK/KK)",
    )
    r_export.add_argument(
        "--output", type=Path, metavar="FILE", help="CSV file to write (default: stdout)"
    )

    reports = sub.add_parser(
        "reports", help="reports: lists for village meetings (musyawarah), batch decisions"
    )
    reports_sub = reports.add_subparsers(dest="action", required=True, metavar="ACTION")
    r_list = reports_sub.add_parser(
        "list",
        help="list an area's reports, oldest first, for a village meeting (KK masked)",
    )
    r_list.add_argument(
        "--region",
        required=True,
        metavar="CODE",
        help="region code of any level: 16.71.01.1001 (desa/kelurahan), 16.71.01, 16.71, 16",
    )
    r_list.add_argument(
        "--state",
        action="append",
        metavar="STATE",
        help="only reports in this state, e.g. awaiting_rt or applied "
        "(repeat for several; default: every state)",
    )
    _add_table_output(r_list)
    decide = reports_sub.add_parser(
        "decide",
        help="apply a reviewer's decisions from a CSV (number,decision,reason_code,note): "
        "all or nothing",
    )
    decide.add_argument(
        "--file",
        type=Path,
        required=True,
        metavar="FILE",
        help="CSV with the header number,decision,reason_code,note; decision is approve or "
        "reject; a rejection needs a reason_code, and reason_code other needs a note",
    )
    decide.add_argument(
        "--as",
        dest="as_telegram_id",
        type=int,
        required=True,
        metavar="TELEGRAM_ID",
        help="the reviewer deciding: must hold the role of each report's current tier",
    )

    export = sub.add_parser("export", help="files for the national system (full NIK/KK)")
    export_sub = export.add_subparsers(dest="action", required=True, metavar="ACTION")
    changes = export_sub.add_parser(
        "changes",
        help="every change applied to the registry since a day: a row per member changed, "
        "household changes and disputes with empty member columns",
    )
    changes.add_argument(
        "--since",
        type=_day,
        required=True,
        metavar="YYYY-MM-DD",
        help="changes applied from the start of that day (UTC)",
    )
    _add_table_output(changes)

    audit = sub.add_parser(
        "audit",
        help="the audit log, oldest first: decisions, views of personal data, exports, data "
        "requests, account deletions, role changes",
    )
    audit.add_argument(
        "--since",
        type=_day,
        required=True,
        metavar="YYYY-MM-DD",
        help="entries from the start of that day (UTC)",
    )
    audit.add_argument(
        "--format", choices=["text", "csv"], default="text", help="text (default) or csv"
    )

    broadcast = sub.add_parser(
        "broadcast",
        help="announce a text to every linked resident of a region; the running bot "
        "(lapor-warga run) delivers it",
    )
    broadcast.add_argument(
        "--region",
        required=True,
        metavar="CODE",
        help="region code of any level: 16 (provinsi), 16.71, 16.71.01, 16.71.01.1001",
    )
    broadcast.add_argument(
        "--text-file",
        type=Path,
        required=True,
        metavar="FILE",
        help="UTF-8 text of the announcement (plain text, at most 3500 characters)",
    )
    broadcast.add_argument(
        "--no-wait",
        action="store_true",
        help="only queue the messages; do not wait until every one has gone out",
    )

    roles = sub.add_parser("roles", help="reviewer roles")
    roles_sub = roles.add_subparsers(dest="action", required=True, metavar="ACTION")
    grant = roles_sub.add_parser("grant", help="give a Telegram user a reviewer role in an area")
    grant.add_argument("--telegram-id", type=int, required=True)
    grant.add_argument("--role", choices=["rt", "rw", "lurah", "officer"], required=True)
    grant.add_argument(
        "--region",
        required=True,
        help="desa/kelurahan code for rt, rw and lurah; kabupaten/kota or kecamatan code for officer",
    )
    grant.add_argument("--rw", type=int)
    grant.add_argument("--rt", type=int)
    r_list = roles_sub.add_parser(
        "list", help="active role grants: id, Telegram id, role, area, date granted"
    )
    r_list.add_argument(
        "--region", metavar="CODE", help="only grants in this region (itself or anything under it)"
    )
    revoke = roles_sub.add_parser(
        "revoke", help="end a role grant now (its holder can no longer decide)"
    )
    revoke.add_argument("grant_id", type=int, metavar="GRANT_ID", help="the id `roles list` shows")

    invite = sub.add_parser("invite", help="single-use invitation links to reviewer roles")
    invite_sub = invite.add_subparsers(dest="action", required=True, metavar="ACTION")
    create_help = (
        "print a t.me link that gives one person a reviewer role once it is opened; "
        "needs BOT_USERNAME, or BOT_TOKEN to ask Telegram for the bot's username"
    )
    i_create = invite_sub.add_parser("create", help=create_help, description=create_help)
    i_create.add_argument("--role", choices=["rt", "rw", "lurah", "officer"], required=True)
    i_create.add_argument(
        "--region",
        required=True,
        help="desa/kelurahan code for rt, rw and lurah; kabupaten/kota or kecamatan code for officer",
    )
    i_create.add_argument("--rw", type=int, help="needed for rt and rw")
    i_create.add_argument("--rt", type=int, help="needed for rt")
    i_create.add_argument(
        "--days", type=int, default=7, help="days the link stays valid, 1 to 30 (default 7)"
    )
    return parser


def _add_table_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=["csv", "xlsx"],
        help="csv or xlsx (default: from the --output suffix, else csv)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="file to write (default: CSV on stdout; xlsx needs a file)",
    )


async def _open_database(settings: Settings) -> AsyncEngine:
    """The engine, with the schema migrated (SQLite) or checked (PostgreSQL)."""
    engine = db.create_engine(settings.database_url)
    try:
        if settings.is_sqlite:
            await db.upgrade(engine)
        elif not await db.is_up_to_date(engine):
            raise CliError(
                _("The database schema is not up to date: run `lapor-warga db upgrade`."),
                EXIT_CONFIG,
            )
    except CliError:
        await engine.dispose()
        raise
    except Exception as exc:  # connection refused, bad credentials, ...
        await engine.dispose()
        raise CliError(
            _("Cannot open the database: {error}").format(error=exc.__class__.__name__), EXIT_CONFIG
        ) from None
    return engine


async def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    engine = await _open_database(settings)
    try:
        async with db.make_sessionmaker(engine)() as session:
            code = await work(session)
            if code == EXIT_OK:
                await session.commit()
            return code
    finally:
        await engine.dispose()


async def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()
    print(_("Database schema is up to date."))
    return EXIT_OK


def _backup_failure(exc: backup.BackupError) -> str:
    messages = {
        "memory": _("An in-memory SQLite database has nothing to back up."),
        "missing": _("{file}: no such database file.").format(file=exc.detail),
        "sqlite": _("The SQLite backup failed: {error}").format(error=exc.detail),
        "no_pg_dump": _(
            "pg_dump was not found: install the PostgreSQL client (apt-get install "
            "postgresql-client), or run pg_dump --format=custom yourself."
        ),
        "pg_dump": _("pg_dump failed: {error}").format(error=exc.detail),
    }
    return messages[exc.code]


def _backup_target(target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise CliError(
            _("{file} exists; choose another name or add --force to replace it.").format(
                file=target
            )
        )
    if not target.parent.is_dir():
        raise CliError(_("{dir}: no such folder.").format(dir=target.parent))


async def _db_backup(settings: Settings, args: argparse.Namespace) -> int:
    target: Path = args.file
    _backup_target(target, args.force)
    try:
        if settings.is_sqlite:
            size = await backup.backup_sqlite(settings.database_url, target)
        else:
            size = await backup.backup_postgres(settings.database_url, target)
    except backup.BackupError as exc:
        raise CliError(_backup_failure(exc)) from None
    print(
        _("Backed up the database to {file} ({size} bytes).").format(
            file=target, size=format_number(size)
        )
    )
    return EXIT_OK


def _report_rejected(exc: ImportRejected, path: Path) -> int:
    print(
        _("{file}: {n} bad row(s); nothing was imported.").format(file=path, n=len(exc.errors)),
        file=sys.stderr,
    )
    for error in exc.errors:
        print(
            _("{file}:{line}: {reason}").format(file=path, line=error.line, reason=error.reason),
            file=sys.stderr,
        )
    return EXIT_FAILED


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise CliError(_("{file}: no such file").format(file=path), EXIT_CONFIG)


async def _regions_import(settings: Settings, args: argparse.Namespace) -> int:
    from registry.regions import BUNDLED_REGIONS_CSV, import_regions

    path = args.file or BUNDLED_REGIONS_CSV
    _require_file(path)

    async def work(session: AsyncSession) -> int:
        try:
            result = await import_regions(session, path)
        except ImportRejected as exc:
            return _report_rejected(exc, path)
        print(
            _("Regions: {added} added, {renamed} renamed, {unchanged} unchanged.").format(
                added=result.added, renamed=result.renamed, unchanged=result.unchanged
            )
        )
        return EXIT_OK

    return await _in_session(settings, work)


def _data_lines(path: Path) -> int:
    """About how many rows a CSV file has after its header (for the progress bar)."""
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return max(lines - (last == b"\n"), 0)


async def _registry_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.progress import Progress
    from registry.households import import_households

    _require_file(args.file)

    async def work(session: AsyncSession) -> int:
        progress = Progress(_("registry import"), _data_lines(args.file))

        def bad_row(error: RowError) -> None:
            progress.close()
            print(_bad_row(args.file, error), file=sys.stderr)

        try:
            households, members = await import_households(
                session, args.file, on_error=bad_row, progress=progress.update
            )
        except ImportRejected as exc:
            for error in exc.errors:  # a wrong header: before any row was read
                bad_row(error)
            print(
                _("{file}: {n} bad row(s); nothing was imported.").format(
                    file=args.file, n=exc.count
                ),
                file=sys.stderr,
            )
            return EXIT_FAILED
        finally:
            progress.close()
        print(_("Imported {h} household(s) with {m} member(s).").format(h=households, m=members))
        return EXIT_OK

    return await _in_session(settings, work)


def _bad_row(path: Path, error: RowError) -> str:
    return _("{file}:{line}: {reason}").format(file=path, line=error.line, reason=error.reason)


def _table_format(args: argparse.Namespace) -> str:
    from registry.tables import format_for

    fmt = format_for(args.output, args.format)
    if fmt == "xlsx" and args.output is None:
        raise CliError(_("--format xlsx needs --output FILE."), EXIT_CONFIG)
    return fmt


def _cannot_write(path: Path | None, exc: OSError) -> CliError:
    return CliError(
        _("Cannot write {file}: {error}").format(
            file=path or "-", error=exc.strerror or exc.__class__.__name__
        )
    )


async def _registry_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.progress import Progress
    from registry.exports import registry_export_counts, registry_rows
    from registry.households import IMPORT_HEADER
    from registry.tables import open_table

    async def work(session: AsyncSession) -> int:
        counts = await registry_export_counts(session)
        try:
            with (
                Progress(_("registry export"), counts.rows) as progress,
                open_table(args.output, "csv", IMPORT_HEADER) as table,
            ):
                async for row in registry_rows(session):
                    table.row(row)
                    progress.update()
        except OSError as exc:
            raise _cannot_write(args.output, exc) from None
        skipped = [
            (counts.not_living, _("{n} member(s) who died or moved away")),
            (counts.without_nik, _("{n} living member(s) without a NIK yet")),
            (counts.without_kk, _("{n} member(s) of households without a KK number")),
        ]
        for n, text in skipped:
            if n:
                print(_("Not exported: {what}.").format(what=text.format(n=n)), file=sys.stderr)
        if counts.households_without_head:
            print(
                _(
                    "Warning: {n} exported household(s) have no head among their rows; "
                    "`registry import` will refuse them."
                ).format(n=counts.households_without_head),
                file=sys.stderr,
            )
        if args.output is not None:
            print(_("Exported {n} member(s) to {file}.").format(n=counts.rows, file=args.output))
        _audit_cli(session, "export", "registry export", rows=counts.rows)
        return EXIT_OK

    return await _in_session(settings, work)


async def _reports_list(settings: Settings, args: argparse.Namespace) -> int:
    from flows.meeting import MEETING_HEADER, meeting_rows
    from registry.regions import get_region
    from registry.tables import open_table
    from registry.workflow import STATES

    fmt = _table_format(args)
    states = args.state or []
    for state in states:
        if state not in STATES:
            raise CliError(
                _("Unknown state {state}; use one of: {states}").format(
                    state=state, states=", ".join(STATES)
                ),
                EXIT_CONFIG,
            )

    async def work(session: AsyncSession) -> int:
        if await get_region(session, args.region.strip()) is None:
            raise CliError(
                _("Region {code} is not in the database.").format(code=args.region), EXIT_CONFIG
            )
        count = 0
        try:
            with open_table(
                args.output, fmt, [str(h) for h in MEETING_HEADER], sheet=_("Reports"), bom=True
            ) as table:
                async for row in meeting_rows(session, args.region.strip(), states):
                    table.row(row)
                    count += 1
        except OSError as exc:
            raise _cannot_write(args.output, exc) from None
        if args.output is not None:
            print(_("{n} report(s) written to {file}.").format(n=count, file=args.output))
        _audit_cli(
            session, "export", "reports list", region=args.region.strip(), states=states, rows=count
        )
        return EXIT_OK

    return await _in_session(settings, work)


async def _reports_decide(settings: Settings, args: argparse.Namespace) -> int:
    from flows.batch import apply_decisions, read_decisions
    from flows.review import STATE_LABELS
    from registry.accounts import account_by_telegram_id

    _require_file(args.file)

    def refused(exc: ImportRejected) -> int:
        for error in exc.errors:
            print(_bad_row(args.file, error), file=sys.stderr)
        print(
            _("{file}: {n} bad row(s); nothing was decided.").format(
                file=args.file, n=len({e.line for e in exc.errors})
            ),
            file=sys.stderr,
        )
        return EXIT_FAILED

    async def work(session: AsyncSession) -> int:
        account = await account_by_telegram_id(session, args.as_telegram_id)
        if account is None or not account.roles:
            raise CliError(
                _("Telegram user {id} has no reviewer role.").format(id=args.as_telegram_id),
                EXIT_CONFIG,
            )
        try:
            rows = await read_decisions(session, args.file, account)
            decided = await apply_decisions(session, rows, account)
        except ImportRejected as exc:
            return refused(exc)
        approved = 0
        for item in decided:
            decision = item.decision
            approved += item.row.approve
            print(
                _("{number}: {old} -> {new}").format(
                    number=decision.report.number,
                    old=STATE_LABELS[decision.from_state],
                    new=STATE_LABELS[decision.to_state],
                )
            )
            for closed in decision.closed:
                print(
                    _("{number}: closed as a duplicate of {original}").format(
                        number=closed.number, original=decision.report.number
                    )
                )
        print(
            _("Decided {n} report(s): {a} approved, {r} rejected.").format(
                n=len(decided), a=approved, r=len(decided) - approved
            )
        )
        return EXIT_OK

    return await _in_session(settings, work)


async def _export_changes(settings: Settings, args: argparse.Namespace) -> int:
    from bot.progress import Progress
    from registry.exports import CHANGES_HEADER, changed_rows, count_changes
    from registry.tables import open_table

    fmt = _table_format(args)

    async def work(session: AsyncSession) -> int:
        total = await count_changes(session, args.since)
        try:
            with (
                Progress(_("export changes"), total) as progress,
                open_table(args.output, fmt, CHANGES_HEADER, sheet="changes") as table,
            ):
                async for row in changed_rows(session, args.since):
                    table.row(row)
                    progress.update()
        except OSError as exc:
            raise _cannot_write(args.output, exc) from None
        if args.output is not None:
            print(
                _("{n} change(s) since {day} written to {file}.").format(
                    n=progress.count, day=args.since.isoformat(), file=args.output
                )
            )
        _audit_cli(
            session, "export", "export changes", since=args.since.isoformat(), rows=progress.count
        )
        return EXIT_OK

    return await _in_session(settings, work)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a date like 2026-06-01").format(text=text)
        ) from None


async def _household(session: AsyncSession, kk_text: str) -> Household:
    from registry.households import household_by_kk

    household = await household_by_kk(session, normalize_digits(kk_text))
    if household is None:
        raise CliError(_("No household with that KK number."))
    return household


async def _registry_show(settings: Settings, args: argparse.Namespace) -> int:
    from registry.history import household_as_of
    from registry.households import household_snapshot

    async def work(session: AsyncSession) -> int:
        household = await _household(session, args.kk)
        if args.as_of is None:
            snapshot = household_snapshot(household)
        else:
            snapshot = await household_as_of(session, household, args.as_of)
            if snapshot is None:
                raise CliError(
                    _("That household was not in the registry yet on {day}.").format(
                        day=args.as_of.isoformat()
                    )
                )
        print(json.dumps(snapshot, ensure_ascii=False, indent=2))
        as_of = args.as_of.isoformat() if args.as_of is not None else None
        _audit_cli(session, "view", "registry show", household=household.id, as_of=as_of)
        return EXIT_OK

    return await _in_session(settings, work)


async def _registry_history(settings: Settings, args: argparse.Namespace) -> int:
    from registry.history import household_history

    async def work(session: AsyncSession) -> int:
        household = await _household(session, args.kk)
        entries = await household_history(session, household)
        _audit_cli(session, "view", "registry history", household=household.id)
        if not entries:
            print(_("No changes have been applied to this household since it was imported."))
        for entry in entries:
            print(
                "\t".join(
                    [
                        entry["at"], entry["action"], entry["member"] or "-",
                        entry["report"] or "-", str(entry["approved_by"] or "-"),
                    ]
                )
            )  # fmt: skip
        return EXIT_OK

    return await _in_session(settings, work)


def _audit_cli(session: AsyncSession, action: str, command: str, **details: object) -> None:
    """Record an export or a view of personal data from the command line (with the
    operating-system user who ran it, when known)."""
    import getpass

    from registry import audit

    try:
        user: str | None = getpass.getuser()
    except (OSError, KeyError):  # no user name in a bare container
        user = None
    audit.record(session, action, by=audit.CLI, command=command, os_user=user, **details)


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    import csv
    from datetime import datetime, time

    from registry.audit import LISTING_HEADER, listing

    async def work(session: AsyncSession) -> int:
        since = datetime.combine(args.since, time())
        writer = csv.writer(sys.stdout) if args.format == "csv" else None
        if writer is not None:
            writer.writerow(LISTING_HEADER)
        count = 0
        async for row in listing(session, since):
            count += 1
            if writer is not None:
                writer.writerow(["" if row[k] is None else row[k] for k in LISTING_HEADER])
            else:
                print("\t".join([row["time"], row["who"], row["action"], row["report"] or "-",
                                 row["text"]]))  # fmt: skip
        if writer is None and count == 0:
            print(_("No audit entries since {day}.").format(day=args.since.isoformat()))
        return EXIT_OK

    return await _in_session(settings, work)


async def _roles_grant(settings: Settings, args: argparse.Namespace) -> int:
    from registry import audit
    from registry.accounts import grant_area, grant_role
    from storage.models import Account

    async def work(session: AsyncSession) -> int:
        try:
            grant = await grant_role(
                session, args.telegram_id, args.role, args.region, args.rw, args.rt
            )
        except DomainError as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        holder = await session.get(Account, grant.account_id)
        audit.record(
            session, "role.grant", by=audit.CLI, subject=holder,
            grant_id=grant.id, role=grant.role, area=grant_area(grant),
        )  # fmt: skip
        print(
            _("Granted {role} for {area} to Telegram user {id}.").format(
                role=grant.role, area=grant_area(grant), id=args.telegram_id
            )
        )
        return EXIT_OK

    return await _in_session(settings, work)


async def _roles_list(settings: Settings, args: argparse.Namespace) -> int:
    from registry.accounts import grant_area
    from registry.invites import list_grants

    async def work(session: AsyncSession) -> int:
        grants = await list_grants(session, args.region)
        if not grants:
            print(_("No active role grants."))
        for grant in grants:
            print(
                "\t".join(
                    [
                        str(grant.id), str(grant.account.telegram_id), grant.role,
                        grant_area(grant), grant.granted_at.date().isoformat(),
                    ]
                )
            )  # fmt: skip
        return EXIT_OK

    return await _in_session(settings, work)


async def _roles_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from registry.accounts import grant_area
    from registry.audit import CLI
    from registry.invites import revoke_grant

    async def work(session: AsyncSession) -> int:
        try:
            grant = await revoke_grant(session, args.grant_id, by=CLI)
        except DomainError as exc:
            raise CliError(str(exc)) from None
        print(
            _("Revoked {role} for {area} of Telegram user {id}.").format(
                role=grant.role, area=grant_area(grant), id=grant.account.telegram_id
            )
        )
        return EXIT_OK

    return await _in_session(settings, work)


async def _bot_username(settings: Settings) -> str:
    """BOT_USERNAME, or the username Telegram (TELEGRAM_API_BASE) gives for BOT_TOKEN."""
    if settings.bot_username:
        return settings.bot_username
    if settings.bot_token is None:
        raise CliError(
            _("Set BOT_USERNAME (the bot's @username) or BOT_TOKEN to print invitation links."),
            EXIT_CONFIG,
        )
    from aiogram.exceptions import TelegramAPIError

    from bot.factory import create_bot

    bot = create_bot(settings)
    try:
        me = await bot.get_me()
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        raise CliError(
            _("Cannot ask Telegram for the bot's username ({error}); set BOT_USERNAME.").format(
                error=exc.__class__.__name__
            ),
            EXIT_CONFIG,
        ) from None
    finally:
        await bot.session.close()
    if not me.username:
        raise CliError(_("The bot has no username; set BOT_USERNAME."), EXIT_CONFIG)
    return me.username


async def _invite_create(settings: Settings, args: argparse.Namespace) -> int:
    from flows.invites import deep_link
    from registry.accounts import grant_area
    from registry.audit import CLI
    from registry.invites import create_invite

    username = await _bot_username(settings)

    async def work(session: AsyncSession) -> int:
        try:
            invite, code = await create_invite(
                session, args.role, args.region, args.rw, args.rt,
                created_by=None, days=args.days, by=CLI,
            )  # fmt: skip
        except DomainError as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        print(
            _("Invitation for {role} in {area}, single use, valid until {expiry} UTC:").format(
                role=invite.role,
                area=grant_area(invite),
                expiry=invite.expires_at.isoformat(sep=" ", timespec="minutes"),
            )
        )
        print(deep_link(username, code))
        return EXIT_OK

    return await _in_session(settings, work)


BROADCAST_POLL = 1.0  # seconds between looks at a broadcast's progress


def _announcement(path: Path) -> str:
    from flows.broadcast import MAX_TEXT, text_length

    _require_file(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        error = exc.strerror if isinstance(exc, OSError) else None
        raise CliError(
            _("Cannot read {file}: {error}").format(
                file=path, error=error or exc.__class__.__name__
            ),
            EXIT_CONFIG,
        ) from None
    if not text:
        raise CliError(_("{file} is empty: nothing to announce.").format(file=path), EXIT_CONFIG)
    if text_length(text) > MAX_TEXT:
        raise CliError(
            _("{file}: the announcement has {n} characters; at most {max} fit.").format(
                file=path, n=text_length(text), max=MAX_TEXT
            ),
            EXIT_CONFIG,
        )
    return text


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from flows.broadcast import announce, region_name
    from registry.broadcasts import tally
    from registry.regions import get_region, region_level

    text = _announcement(args.text_file)
    code = args.region.strip()
    engine = await _open_database(settings)
    try:
        sessionmaker = db.make_sessionmaker(engine)
        async with sessionmaker() as session:
            if region_level(code) is None or await get_region(session, code) is None:
                raise CliError(
                    _("Region {code} is not in the database.").format(code=code), EXIT_CONFIG
                )
            name = await region_name(session, code)
            broadcast = await announce(session, code, text)
            if broadcast is None:
                print(
                    _(
                        "No resident of {region} has linked their account yet: nothing was queued."
                    ).format(region=name)
                )
                return EXIT_OK
            await session.commit()
        print(
            _(
                "Queued {n} message(s) to the linked residents of {region} (broadcast {id}). "
                "The running bot (lapor-warga run) delivers them."
            ).format(n=broadcast.total, region=name, id=broadcast.id)
        )
        if args.no_wait:
            return EXIT_OK
        print(
            _("Waiting until every message has gone out (Ctrl+C stops waiting; they stay queued)."),
            file=sys.stderr,
        )
        shown = None
        while True:
            async with sessionmaker() as session:
                counts = await tally(session, broadcast.id)
            if counts != shown:
                print(
                    _("{done} of {total} done: {sent} delivered, {blocked} blocked, {failed} failed").format(
                        done=counts.total - counts.pending, total=counts.total, sent=counts.sent,
                        blocked=counts.undeliverable, failed=counts.failed,
                    ),
                    file=sys.stderr,
                )  # fmt: skip
                shown = counts
            if counts.done:
                break
            await asyncio.sleep(BROADCAST_POLL)
        summary = _("Broadcast {id}: {sent} delivered, {blocked} blocked the bot, {failed} failed.")
        print(
            summary.format(
                id=broadcast.id,
                sent=counts.sent,
                blocked=counts.undeliverable,
                failed=counts.failed,
            )
        )
        return EXIT_OK
    finally:
        await engine.dispose()


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.bot_token is None:
        print(no_token_help(), file=sys.stderr)
        return EXIT_CONFIG
    from aiogram.utils.token import TokenValidationError, validate_token

    from bot.factory import create_bot, create_dispatcher, set_commands
    from bot.monitor import CannotListen, Monitor

    try:
        validate_token(settings.bot_token.get_secret_value())
    except TokenValidationError:
        raise CliError(
            _("BOT_TOKEN: not a Telegram bot token (expected 123456:ABC...)"), EXIT_CONFIG
        ) from None
    if args.webhook:
        missing = [
            name
            for name, value in (
                ("WEBHOOK_URL", settings.webhook_url),
                ("WEBHOOK_SECRET", settings.webhook_secret),
            )
            if value is None
        ]
        if missing:
            raise CliError(
                _("--webhook needs {names} (see README.md, Production).").format(
                    names=", ".join(missing)
                ),
                EXIT_CONFIG,
            )
    engine = await _open_database(settings)
    bot = create_bot(settings)
    monitor = None
    try:
        dp = create_dispatcher(engine, settings)
        if settings.metrics_port is not None:
            monitor = Monitor(engine, dp["sessionmaker"], dp["metrics"])
            await monitor.start(settings.metrics_host, settings.metrics_port)
        await set_commands(bot, settings.default_locale)
        if args.webhook:
            from bot.webhook import serve

            await serve(dp, bot, settings)
        else:
            # getUpdates does not work while a webhook is registered (a previous
            # --webhook run): polling takes over, the pending updates are kept.
            if (await bot.get_webhook_info()).url:
                log.warning("removing the registered webhook: this process polls instead")
                await bot.delete_webhook(drop_pending_updates=False)
            # aiogram stops polling on SIGTERM and SIGINT; the dispatcher's shutdown
            # then waits for the updates in hand (SHUTDOWN_TIMEOUT).
            await dp.start_polling(bot, close_bot_session=False)
    except CannotListen as exc:
        raise CliError(
            _("{setting}: cannot listen on {host}:{port} ({error}).").format(
                setting=exc.setting, host=exc.host, port=exc.port, error=exc.reason
            ),
            EXIT_CONFIG,
        ) from None
    finally:
        if monitor is not None:
            await monitor.stop()
        await bot.session.close()
        await engine.dispose()
    return EXIT_OK


async def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox.app import serve

    if not 0 <= args.port <= 65535:
        raise CliError(_("--port must be between 0 and 65535"), EXIT_CONFIG)
    try:
        await serve(args.port, settings.default_locale)
    except OSError as exc:
        raise CliError(
            _("Cannot listen on 127.0.0.1:{port} ({error}); try --port 0.").format(
                port=args.port, error=exc.strerror or exc.__class__.__name__
            ),
            EXIT_CONFIG,
        ) from None
    return EXIT_OK


COMMANDS: dict[tuple[str, str | None], Callable[[Settings, argparse.Namespace], Awaitable[int]]] = {
    ("run", None): _run,
    ("sandbox", None): _sandbox,
    ("db", "upgrade"): _db_upgrade,
    ("db", "backup"): _db_backup,
    ("regions", "import"): _regions_import,
    ("registry", "import"): _registry_import,
    ("registry", "show"): _registry_show,
    ("registry", "history"): _registry_history,
    ("registry", "export"): _registry_export,
    ("reports", "list"): _reports_list,
    ("reports", "decide"): _reports_decide,
    ("export", "changes"): _export_changes,
    ("roles", "grant"): _roles_grant,
    ("roles", "list"): _roles_list,
    ("roles", "revoke"): _roles_revoke,
    ("invite", "create"): _invite_create,
    ("broadcast", None): _broadcast,
    ("audit", None): _audit,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    set_default_locale(settings.default_locale)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from bot.redaction import install as redact_logs

    redact_logs()  # no full NIK, KK or phone number in the log, whatever slips through
    command = COMMANDS[(args.command, getattr(args, "action", None))]
    try:
        return asyncio.run(command(settings, args))
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except SettingsError as exc:  # e.g. a wrong WORKFLOW_FILE, read when the bot starts
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
