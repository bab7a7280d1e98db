"""The command line as an operator uses it: exit codes and one clear line on errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from registry.households import IMPORT_HEADER
from testkit.factories import FAMILIES, SARI, registry_rows, write_csv
from tests.helpers.db import PG_ADMIN_URL, shared_regions_csv

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a person runs it (no inherited settings)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BOT_TOKEN", "DATABASE_URL", "DEFAULT_LOCALE")
    }
    clean.update(env or {})
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_without_a_token_explains_what_to_set(tmp_path: Path) -> None:
    result = run_cli("run", env={"DEFAULT_LOCALE": "en"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr
    assert "@BotFather" in result.stderr and "lapor-warga sandbox" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL: unsupported database 'mysql'"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL: not a database URL"),
        ({"DEFAULT_LOCALE": "fr"}, "DEFAULT_LOCALE:"),
        (
            {"TELEGRAM_API_BASE": "localhost:8081"},
            "TELEGRAM_API_BASE: must start with http:// or https://",
        ),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN: not a Telegram bot token"),
        ({"DRAFT_REMIND_AFTER": "0"}, "DRAFT_REMIND_AFTER: must be longer than zero"),
        (
            {"DRAFT_REMIND_AFTER": "P7D", "DRAFT_EXPIRE_AFTER": "86400"},
            "DRAFT_EXPIRE_AFTER: must be longer than DRAFT_REMIND_AFTER",
        ),
        ({"SWEEP_INTERVAL": "-1"}, "SWEEP_INTERVAL:"),
    ],
)
def test_malformed_settings_give_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr


@pytest.mark.slow
def test_run_webhook_names_the_settings_it_needs(tmp_path: Path) -> None:
    env = {"DEFAULT_LOCALE": "en", "BOT_TOKEN": "123456:TEST-token"}
    result = run_cli("run", "--webhook", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "--webhook needs WEBHOOK_URL, WEBHOOK_SECRET" in result.stderr
    result = run_cli("run", env={**env, "WEBHOOK_SECRET": "short"}, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("WEBHOOK_SECRET: 16 to 256")


@pytest.mark.slow
def test_run_says_which_port_it_cannot_listen_on(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "DEFAULT_LOCALE": "en",
            "BOT_TOKEN": "123456:TEST-token",
            "DATABASE_URL": database_url,
            "METRICS_PORT": str(port),
        }
        result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert f"METRICS_PORT: cannot listen on 127.0.0.1:{port} (" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_are_read_from_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DATABASE_URL=sqlite:///./elsewhere/db.sqlite3\nDEFAULT_LOCALE=en\n"
    )
    result = run_cli("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Database schema is up to date."
    assert (tmp_path / "elsewhere" / "db.sqlite3").is_file()


def test_default_database_is_a_sqlite_file_under_data(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Skema database sudah terbaru."
    assert (tmp_path / "data" / "lapor-warga.sqlite3").is_file()


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("run", "db", "regions", "registry", "roles"):
        assert command in result.stdout


def test_version_comes_from_one_place(tmp_path: Path) -> None:
    """``lapor-warga --version`` prints bot.__version__, which pyproject.toml reads."""
    import tomllib

    from bot import __version__

    result = run_cli("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"lapor-warga {__version__}\n")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bot.__version__"}


def test_full_official_region_list_imports(empty_database_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    if PG_ADMIN_URL:
        assert main(["regions", "import"]) == 2  # PostgreSQL is never migrated implicitly
        assert "lapor-warga db upgrade" in capsys.readouterr().err
        assert main(["db", "upgrade"]) == 0
    assert main(["regions", "import", str(shared_regions_csv())]) == 0
    assert "Regions: 91599 added, 0 renamed, 0 unchanged." in capsys.readouterr().out
    assert main(["regions", "import"]) == 0  # the bundled copy is the same list
    assert "Regions: 0 added, 0 renamed, 91599 unchanged." in capsys.readouterr().out


def test_bad_region_file_names_each_line_and_writes_nothing(
    database_url, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    bad = tmp_path / "regions.csv"
    bad.write_text(
        "kode,nama\n99,Provinsi Baru\n99.01,Kabupaten Baru\n99.02.01,Kecamatan Yatim\n9X,Salah\n"
    )
    assert main(["regions", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert (
        f"{bad}:4: parent region 99.02 of 99.02.01 is unknown" not in err
    )  # shape errors come first
    assert f"{bad}:5: region code '9X' is not of the form 16.71.01.1001" in err
    bad.write_text("kode,nama\n99,Provinsi Baru\n99.02.01,Kecamatan Yatim\n")
    assert main(["regions", "import", str(bad)]) == 1
    assert f"{bad}:3: parent region 99.02 of 99.02.01 is unknown" in capsys.readouterr().err
    assert main(["regions", "import", str(tmp_path / "missing.csv")]) == 2


def test_roles_grant_checks_region_and_scope(database_url, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    ok = ["roles", "grant", "--telegram-id", "5001", "--role", "rt", "--region", "16.71.01.1001"]
    assert main([*ok, "--rw", "2", "--rt", "3"]) == 0
    assert (
        "Granted rt for 16.71.01.1001 RW 2 RT 3 to Telegram user 5001." in capsys.readouterr().out
    )
    assert main(ok) == 2
    assert "role rt needs --rw" in capsys.readouterr().err
    assert (
        main(
            [
                "roles",
                "grant",
                "--telegram-id",
                "5002",
                "--role",
                "lurah",
                "--region",
                "16.99.99.9999",
            ]
        )
        == 2
    )
    assert "region 16.99.99.9999 is not in the database" in capsys.readouterr().err
    assert (
        main(
            [
                "roles",
                "grant",
                "--telegram-id",
                "5003",
                "--role",
                "officer",
                "--region",
                "16.71.01.1001",
            ]
        )
        == 2
    )
    assert "kabupaten/kota or kecamatan" in capsys.readouterr().err
    assert (
        main(["roles", "grant", "--telegram-id", "5003", "--role", "officer", "--region", "16.71"])
        == 0
    )


def test_registry_history_and_as_of_from_the_command_line(
    database_url, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    rows = write_csv(tmp_path / "reg.csv", registry_rows(FAMILIES))
    assert main(["registry", "import", str(rows)]) == 0
    capsys.readouterr()
    assert main(["registry", "history", "--kk", SARI.kk]) == 0
    assert "No changes have been applied" in capsys.readouterr().out
    assert main(["registry", "show", "--kk", SARI.kk, "--as-of", "2020-01-01"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["as_of"] == "2020-01-01" and len(shown["members"]) == 3  # imported: from the start
    with pytest.raises(SystemExit) as exit_info:
        main(["registry", "show", "--kk", SARI.kk, "--as-of", "1 Juni 2026"])
    assert exit_info.value.code == 2
    assert "is not a date like 2026-06-01" in capsys.readouterr().err
    assert main(["registry", "history", "--kk", "1671019999999999"]) == 1
    assert "No household with that KK number." in capsys.readouterr().err


def test_help_of_the_file_commands(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert "reports" in result.stdout and "export" in result.stdout
    for args, words in (
        (["reports", "list"], ["--region CODE", "--state STATE", "--format {csv,xlsx}"]),
        (["reports", "decide"], ["--file FILE", "--as TELEGRAM_ID", "number,decision"]),
        (["export", "changes"], ["--since YYYY-MM-DD", "--output FILE"]),
        (["registry", "export"], ["--output FILE", "stdout"]),
    ):
        result = run_cli(*args, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        for word in words:
            assert word in " ".join(result.stdout.split()), (args, word)


def test_registry_export_and_reimport_through_the_console_script(
    database_url, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "DEFAULT_LOCALE": "en"}
    rows = write_csv(tmp_path / "reg.csv", registry_rows(FAMILIES))
    assert run_cli("registry", "import", str(rows), env=env, cwd=tmp_path).returncode == 0
    exported = run_cli("registry", "export", env=env, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[0] == ",".join(IMPORT_HEADER)
    assert len(exported.stdout.splitlines()) == 6
    assert "rows" not in exported.stderr  # no progress lines for a small registry
    again = tmp_path / "again.csv"
    again.write_text(exported.stdout, encoding="utf-8")
    result = run_cli("registry", "import", str(again), env=env, cwd=tmp_path)
    assert result.returncode == 1  # the same households are already in the registry
    assert f"{again}: 5 bad row(s); nothing was imported." in result.stderr


@pytest.mark.parametrize("command", [["db", "upgrade"], ["regions", "import"]])
def test_a_database_that_cannot_be_reached_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    """An administrator's first command on a new server, with PostgreSQL not running or
    DATABASE_URL mistyped: what failed, no traceback, no password."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://lapor:s3cret-pw@127.0.0.1:{port}/lapor"
    result = run_cli(*command, env={"DATABASE_URL": url, "DEFAULT_LOCALE": "en"}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Cannot open the database: ConnectionRefusedError" in result.stderr
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr


def test_commands_on_sqlite_print_no_alembic_chatter(tmp_path: Path) -> None:
    """Every command on SQLite looks at the schema; the operator's screen shows the
    command's answer, not Alembic's "Context impl SQLiteImpl." twice. A migration that
    runs is still logged."""
    first = run_cli("db", "upgrade", env={"DEFAULT_LOCALE": "en"}, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Running upgrade" in first.stderr
    again = run_cli("registry", "export", env={"DEFAULT_LOCALE": "en"}, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Context impl" not in again.stderr and "Will assume" not in again.stderr
    assert "Context impl" not in first.stderr
