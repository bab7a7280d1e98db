"""A throwaway PostgreSQL 15 cluster in a temporary directory (tests and benchmarks).

``initdb`` refuses to run as root, so as root the cluster runs as the ``postgres``
system user (created when missing), as ``scripts/test.sh`` does. The cluster can be
stopped and started again on the same port (the outage fault test does)::

    with PgCluster() as pg:
        url = pg.url("postgres")          # postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres
        pg.stop(); pg.start()
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self, *, durable: bool = False) -> None:
        """``durable`` keeps fsync and synchronous commit on (benchmarks of commit cost);
        tests run without them, like scripts/test.sh."""
        self.durable = durable
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="lapor-warga-pg."))
        self.dir.chmod(0o755)
        self._as_pg: list[str] = []
        if os.geteuid() == 0:
            if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            shutil.chown(self.dir, "postgres")
            self._as_pg = ["runuser", "-u", "postgres", "--"]
        self._pg(
            "initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust",
            "--no-locale", "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as_pg, str(PG_BIN / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300"
        )
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._pg(
            "pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"),
            "-w", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """The same server for asyncpg/psql (no SQLAlchemy driver suffix)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()
