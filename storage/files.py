"""Writing an output file safely: the one way every command writes a file.

Exports, meeting lists and backups hold personal data (full NIK/KK in most), and a
careless path must not cost the registry. :func:`output_file`:

* refuses the live SQLite database and its ``-wal``/``-shm``/``-journal`` files,
  whatever the flags;
* refuses anything that is not a regular file, even with ``--force``: a folder, a
  device (``/dev/null``), a FIFO, a socket, and every symbolic link (to a file or not:
  ``--force`` never follows or replaces a link; name the file itself);
* refuses an existing regular file unless ``force``;
* writes to a hidden temporary file beside the target (created ``0600``: only its owner
  can read it), flushes it to disk and renames it over the target when complete, so
  the target is never half written; the temporary file is removed on any failure.

The messages are one translated line each (:class:`OutputRefused`), for the CLI to print.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from locales import _

FILE_MODE = 0o600  # exports and backups hold full NIK/KK: the owner only
DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")


class OutputRefused(Exception):
    """The target must not be written; the message (translated, one line) says why."""


def database_files(url: str) -> list[Path]:
    """The files of a SQLite database URL (the database and its journals); none for
    another database or an in-memory one."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return []
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return []
    return [Path(database + suffix) for suffix in DATABASE_SUFFIXES]


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # a hard link, a bind mount
    except OSError:
        return False


def check_output(path: Path, *, force: bool, protected: Iterable[Path] = ()) -> None:
    """Raise :class:`OutputRefused` unless ``path`` may be written (see the module)."""
    if any(_same_file(path, p) for p in protected):
        raise OutputRefused(
            _("{file} is the bot's database; write the file somewhere else.").format(file=path)
        )
    if not path.parent.is_dir():
        raise OutputRefused(_("{dir}: no such folder.").format(dir=path.parent))
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise OutputRefused(
            _(
                "{file} is a symbolic link; name the file itself (even --force does not follow a link)."
            ).format(file=path)
        )
    if stat.S_ISDIR(mode):
        raise OutputRefused(_("{file} is a folder; give a file name.").format(file=path))
    if not stat.S_ISREG(mode):
        raise OutputRefused(
            _("{file} is a device, FIFO or socket, not a regular file; give a file name.").format(
                file=path
            )
        )
    if not force:
        raise OutputRefused(
            _("{file} exists; choose another name or add --force to replace it.").format(file=path)
        )


@contextmanager
def output_file(
    path: Path, *, force: bool = False, protected: Iterable[Path] = ()
) -> Iterator[Path]:
    """The temporary file to write instead of ``path``; renamed to ``path`` (mode 0600)
    when the block ends without an error, removed otherwise. The checks of
    :func:`check_output` are made before and again just before the rename."""
    protected = list(protected)
    check_output(path, force=force, protected=protected)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        os.chmod(partial, FILE_MODE)
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        check_output(path, force=force, protected=protected)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
