"""What a Dinas Sosial IT team installs works on its own: the wheel, built from a clean
copy of the source and installed into a fresh venv in a temporary folder, runs from
there (no checkout on the path, no settings but those given) on the suite's database.

Each check of something the wheel serves (the sandbox's page, the web console's) is one
function using ``installed.serve``: it starts the command on a free port, waits until it
answers, and stops it with Ctrl+C.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import __version__
from locales import _, use_locale
from testkit.factories import FAMILIES, SARI, registry_rows, write_csv
from tests.helpers.wheel import REPO, Installed, build_wheel, http_get, install, source_files

pytestmark = pytest.mark.release


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    into = tmp_path_factory.mktemp("wheel")
    assert not into.is_relative_to(REPO)
    yield install(build_wheel(into), into)


def shipped_packages() -> list[str]:
    """Top-level packages of the source that pyproject's package list takes."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(
        p.name
        for p in REPO.iterdir()
        if (p / "__init__.py").is_file() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    )


def in_translation(locale: str, message: str) -> str:
    with use_locale(locale):
        return _(message)


def test_wheel_holds_every_file_of_its_packages(installed: Installed) -> None:
    """Templates, static files, catalogs, migrations, region data, workflow.toml: every
    file of a shipped package in the source is in the wheel."""
    packages = shipped_packages()
    assert {"bot", "flows", "handlers", "locales", "registry", "storage"} <= set(packages)
    expected = {
        name
        for name in source_files()
        if name.split("/")[0] in packages and "__pycache__" not in name
    }
    with zipfile.ZipFile(installed.wheel) as wheel:
        inside = set(wheel.namelist())
    assert sorted(expected - inside) == []


def test_help_version_and_imports_come_from_the_venv(installed: Installed) -> None:
    help_ = installed.cli("--help")
    assert help_.returncode == 0, help_.stderr
    for command in ("run", "sandbox", "db", "regions", "registry", "reports", "roles"):
        assert f"\n    {command}" in help_.stdout
    version = installed.cli("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"lapor-warga {__version__}")

    where = installed.python(
        "import sys, importlib; "
        f"print('\\n'.join(importlib.import_module(p).__file__ for p in {shipped_packages()!r})); "
        "print('\\n'.join(sys.path))"
    )
    assert where.returncode == 0, where.stderr
    site = str(installed.venv)
    for line in where.stdout.split("\n")[: len(shipped_packages())]:
        assert line.startswith(site), line
    assert not any(p.startswith(str(REPO)) for p in where.stdout.split("\n") if p)


def test_database_commands_from_the_wheel(
    installed: Installed, empty_database_url: str, tmp_path: Path
) -> None:
    """db upgrade (answering in Indonesian, then English), the bundled region list, a
    small registry file, then the household read back, on this pass's database."""
    db = {"DATABASE_URL": empty_database_url}
    upgraded = installed.cli("db", "upgrade", DEFAULT_LOCALE="id", **db)
    assert upgraded.returncode == 0, upgraded.stderr
    indonesian = in_translation("id", "Database schema is up to date.")
    assert indonesian != "Database schema is up to date."
    assert upgraded.stdout.strip() == indonesian
    again = installed.cli("db", "upgrade", DEFAULT_LOCALE="en", **db)
    assert again.stdout.strip() == "Database schema is up to date."

    regions = installed.cli("regions", "import", DEFAULT_LOCALE="en", **db)
    assert regions.returncode == 0, regions.stderr
    assert "Regions: 91599 added, 0 renamed, 0 unchanged." in regions.stdout

    csv = write_csv(installed.home / "households.csv", registry_rows(FAMILIES))
    imported = installed.cli("registry", "import", csv.name, DEFAULT_LOCALE="id", **db)
    assert imported.returncode == 0, imported.stderr
    shown = installed.cli("registry", "show", "--kk", SARI.kk, **db)
    assert shown.returncode == 0, shown.stderr
    household = json.loads(shown.stdout)
    assert sorted(m["name"] for m in household["members"]) == sorted(p.name for p in SARI.people)


def test_sandbox_serves_its_page_in_both_languages(installed: Installed) -> None:
    """The sandbox starts the real bot (migrations, workflow.toml, the demo) and serves
    its page (page.html) with the catalogs' words."""
    with installed.serve("sandbox", "--port", "{port}") as url:
        for lang in ("id", "en"):
            status, headers, body = http_get(f"{url}/?lang={lang}")
            assert status == 200
            assert headers["Content-Type"].startswith("text/html")
            title = in_translation(lang, "Lapor Warga sandbox")
            assert f"<title>{title}</title>" in body.decode()
        assert in_translation("id", "Lapor Warga sandbox") != "Lapor Warga sandbox"
        status, _headers, body = http_get(f"{url}/api/state")
        assert status == 200
        assert "resident" in json.loads(body)["phones"]


def test_console_serves_its_login_page_and_a_static_file(
    installed: Installed, empty_database_url: str
) -> None:
    """The web console (console/templates, console/static, its catalog words) from the
    wheel: the login page in both languages, its stylesheet and script."""
    db = {"DATABASE_URL": empty_database_url}
    assert installed.cli("db", "upgrade", **db).returncode == 0
    with installed.serve("console", ready_path="/login", CONSOLE_PORT="{port}", **db) as url:
        for lang in ("id", "en"):
            status, headers, body = http_get(f"{url}/login", headers={"Cookie": f"lw_lang={lang}"})
            assert status == 200
            assert headers["Content-Type"].startswith("text/html")
            assert f"<h1>{in_translation(lang, 'Sign in')}</h1>" in body.decode()
        assert in_translation("id", "Sign in") != "Sign in"
        status, headers, body = http_get(f"{url}/static/console.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css") and body
        status, headers, body = http_get(f"{url}/static/console.js")
        assert status == 200 and "javascript" in headers["Content-Type"] and body
