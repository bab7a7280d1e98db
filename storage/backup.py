"""``lapor-warga db backup FILE``: a consistent copy of the database while the bot runs.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database page
by page under the database's own locking, so a running bot may keep writing.
PostgreSQL: ``pg_dump --format=custom`` (restore with ``pg_restore``), the tool the
server ships. Either writes through ``storage.files.output_file``: FILE is checked
(``OutputRefused``: never a folder, device, link or the database itself; an existing
file only with ``force``), the copy goes to a temporary file beside it, renamed when
complete and removed on failure, mode 0600.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.files import database_files, output_file


class BackupError(Exception):
    """The backup could not be made: ``code`` says why (the CLI words it for the person),
    ``detail`` is the tool's own message, if any."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("memory")
    path = Path(database)
    if not path.is_file():
        raise BackupError("missing", str(path))
    return path


def _copy_sqlite(source: Path, url: str, target: Path, force: bool) -> int:
    with output_file(target, force=force, protected=database_files(url)) as partial:
        _backup_into(source, partial)
    return target.stat().st_size


def _backup_into(source: Path, partial: Path) -> None:
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=1024)  # in steps, so writers are not held up for long
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError("sqlite", str(exc)) from None
    finally:
        src.close()


async def backup_sqlite(url: str, target: Path, *, force: bool = False) -> int:
    """Copy the SQLite database of ``url`` to ``target``; returns the file's size."""
    return await asyncio.to_thread(_copy_sqlite, sqlite_path(url), url, target, force)


def find_pg_dump() -> str | None:
    """``pg_dump`` on PATH, else the newest one of Debian's server packages."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_dump"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def pg_dump_command(url: str, target: Path, pg_dump: str = "pg_dump") -> tuple[list[str], dict]:
    """The pg_dump call for ``url`` (password passed in the environment, not argv)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    args = [pg_dump, "--format=custom", "--no-owner", f"--file={target}"]
    if parsed.host:
        args.append(f"--host={parsed.host}")
    if parsed.port:
        args.append(f"--port={parsed.port}")
    if parsed.username:
        args.append(f"--username={parsed.username}")
    args.append(f"--dbname={parsed.database}")
    return args, env


async def backup_postgres(url: str, target: Path, *, force: bool = False) -> int:
    pg_dump = find_pg_dump()
    if pg_dump is None:
        raise BackupError("no_pg_dump")
    with output_file(target, force=force) as partial:
        args, env = pg_dump_command(url, partial, pg_dump)
        process = await asyncio.create_subprocess_exec(
            *args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _out, err = await process.communicate()
        if process.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            raise BackupError("pg_dump", lines[-1] if lines else str(process.returncode))
    return await asyncio.to_thread(os.path.getsize, target)
