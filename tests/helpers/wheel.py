"""The built wheel installed on its own: a fresh venv in a temporary folder, outside the
checkout, and its ``lapor-warga`` run from there (tests/test_wheel.py).

``build_wheel`` builds from a clean copy of the source (the files git knows, tracked or
new; never ``build/`` leftovers, which setuptools would put in the wheel); ``install``
makes the venv and installs the wheel with its dependencies from the package index.
``Installed.cli`` runs the command with nothing of the test's environment but ``PATH``:
no ``PYTHONPATH``, no settings, the working directory outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 600


def _source_files() -> list[str]:
    """The checkout's files as git sees them (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    return sorted({name for name in listed.split("\0") if name and (REPO / name).is_file()})


def source_files() -> list[str]:
    """Relative paths of the source, without git: every file but caches, venvs, builds."""
    if shutil.which("git") and (REPO / ".git").exists():
        return _source_files()
    top = {".venv", ".git", ".hypothesis", "build", "dist", "data", "test-artifacts"}

    def wanted(parts: tuple[str, ...]) -> bool:
        return parts[0] not in top and not any(
            part == "__pycache__" or part.endswith((".egg-info", "_cache")) for part in parts
        )

    return sorted(
        str(p.relative_to(REPO))
        for p in REPO.rglob("*")
        if p.is_file() and p.suffix != ".pyc" and wanted(p.relative_to(REPO).parts)
    )


def _run(args: list[str], **options: object) -> None:
    """Run a build step; a failure shows the tool's own output."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=PIP_TIMEOUT, **options)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def build_wheel(into: Path) -> Path:
    """``pip wheel --no-deps`` of a clean copy of the source; returns the wheel."""
    src = into / "src"
    for name in source_files():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    dist = into / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("lapor_warga-*.whl")
    return wheel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(
    url: str, timeout: float = 10, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET; an HTTP error status is returned, not raised."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@dataclass
class Installed:
    """A venv holding the wheel, and a working folder outside the checkout."""

    venv: Path
    home: Path
    wheel: Path

    @property
    def command(self) -> Path:
        return self.venv / "bin" / "lapor-warga"

    def env(self, **settings: str) -> dict[str, str]:
        """Only PATH, HOME and a UTF-8 locale, plus ``settings``: nothing of the checkout."""
        return {
            "PATH": f"{self.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            **settings,
        }

    def cli(self, *args: str, timeout: float = 300, **settings: str) -> subprocess.CompletedProcess:
        """Run ``lapor-warga ARGS`` from the working folder with these settings."""
        return subprocess.run(
            [str(self.command), *args],
            cwd=self.home, env=self.env(**settings), capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip

    def python(self, code: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code],
            cwd=self.home, env=self.env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    @contextmanager
    def serve(self, *args: str, ready_path: str = "/", **settings: str) -> Iterator[str]:
        """Start ``lapor-warga ARGS`` (``{port}`` in an argument or a setting becomes a
        free port), wait until it answers ``ready_path`` over HTTP, yield its base URL
        (``http://127.0.0.1:PORT``); then Ctrl+C (SIGINT) it and wait for it to end."""
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in args]
        values = {k: v.replace("{port}", str(port)) for k, v in settings.items()}
        log = self.home / f"serve-{port}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(self.command), *argv],
                cwd=self.home, env=self.env(**values), stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise AssertionError(
                        f"lapor-warga {' '.join(argv)} ended ({process.returncode}):\n"
                        + log.read_text()
                    )
                try:
                    http_get(base + ready_path, timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"lapor-warga {' '.join(argv)} never answered:\n{log.read_text()}"
                        ) from None
                    time.sleep(0.2)
            yield base
        finally:
            if process.poll() is None:
                process.send_signal(2)  # SIGINT, Ctrl+C
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def install(wheel: Path, into: Path) -> Installed:
    """A fresh venv under ``into`` with ``wheel`` and its dependencies."""
    venv = into / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-compile", str(wheel)], cwd=into)
    home = into / "work"
    home.mkdir()
    return Installed(venv=venv, home=home, wheel=wheel)
