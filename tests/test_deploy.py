"""deploy/: the systemd units and the reverse proxy run commands the CLI accepts, with
settings the settings class knows, on the ports the docs enable; the units are valid
for systemd (``systemd-analyze verify``, when it is installed); the commands in the
code blocks of docs/deploying.md and docs/operations.md are accepted too."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import _parser
from bot.settings import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
DOCS = REPO / "docs" / "deploying.md"
UNITS = sorted(p for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))
INSTALLED_AT = "/opt/lapor-warga/venv/bin/lapor-warga"
ENV_FILE = "/etc/lapor-warga/lapor-warga.env"
EXEC_KEYS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop")


def unit_lines(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit file, in order (keys may repeat)."""
    section, out = "", []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(path: Path, key: str) -> list[str]:
    return [v for _s, k, v in unit_lines(path) if k == key]


def command_line(value: str, instance: str = "8081") -> list[str]:
    """An Exec line as systemd runs it: prefixes dropped, specifiers and $$ resolved."""
    value = value.lstrip("@-:+!")
    value = value.replace("%%", "\0").replace("%i", instance).replace("\0", "%")
    return shlex.split(value.replace("$$", "$"))


def lapor_warga_calls(argv: list[str]) -> list[list[str]]:
    """Every ``lapor-warga ...`` an Exec line runs, also inside ``/bin/sh -c '...'``."""
    if argv[0] == INSTALLED_AT:
        return [argv[1:]]
    if Path(argv[0]).name == "sh" and argv[1] == "-c":
        words = shlex.split(argv[2])
        calls = []
        for i, word in enumerate(words):
            if word == INSTALLED_AT:
                args = []
                for arg in words[i + 1 :]:
                    if arg in (";", "&&", "||", "|"):
                        break
                    args.append(arg)
                calls.append(args)
        return calls
    return []


def accepted(args: list[str]) -> None:
    """The CLI's argparse takes ``args``."""
    try:
        _parser().parse_args(args)
    except SystemExit as exc:  # --help and --version exit 0
        if exc.code == 0:
            return
        raise AssertionError(f"lapor-warga {' '.join(args)}: not accepted") from exc


def test_there_are_the_units_the_docs_install() -> None:
    names = {p.name for p in UNITS}
    assert names == {
        "lapor-warga-bot@.service",
        "lapor-warga-console.service",
        "lapor-warga-backup.service",
        "lapor-warga-backup.timer",
    }
    docs = DOCS.read_text(encoding="utf-8")
    for name in names:
        assert f"deploy/{name}" in docs, f"docs/deploying.md never installs {name}"


@pytest.mark.parametrize("unit", [p for p in UNITS if p.suffix == ".service"], ids=str)
def test_services_run_commands_and_settings_that_exist(unit: Path) -> None:
    calls = [
        call
        for key in EXEC_KEYS
        for value in values(unit, key)
        for call in lapor_warga_calls(command_line(value))
    ]
    assert calls, f"{unit.name} runs no lapor-warga command"
    for call in calls:
        accepted(call)
    assert values(unit, "EnvironmentFile") == [ENV_FILE]
    known = {name.upper() for name in Settings.model_fields}
    for value in values(unit, "Environment"):
        for pair in command_line(value):
            name, _, setting = pair.partition("=")
            assert name in known, f"{unit.name}: {name} is no setting of bot/settings.py"
            try:
                load_settings(**{name.lower(): setting})
            except SettingsError as exc:
                raise AssertionError(f"{unit.name}: {exc}") from None


def test_the_bot_unit_is_a_template_for_instances_on_their_own_ports() -> None:
    unit = DEPLOY / "lapor-warga-bot@.service"
    (environment,) = values(unit, "Environment")
    settings = dict(pair.split("=", 1) for pair in command_line(environment, "8082"))
    assert settings["WEBHOOK_PORT"] == "8082"
    assert settings["METRICS_PORT"] == "18082"
    assert settings["WEBHOOK_HOST"] == "127.0.0.1"  # only the proxy reaches it
    assert command_line(values(unit, "ExecStart")[0])[1:] == ["run", "--webhook"]


def test_the_timer_runs_the_backup_daily() -> None:
    timer = DEPLOY / "lapor-warga-backup.timer"
    assert values(timer, "OnCalendar") == ["daily"]
    assert values(timer, "Persistent") == ["true"]
    assert (DEPLOY / "lapor-warga-backup.service").is_file()  # the timer's own name
    (start,) = values(DEPLOY / "lapor-warga-backup.service", "ExecStart")
    (call,) = lapor_warga_calls(command_line(start))
    assert call[:2] == ["db", "backup"]
    assert call[2].startswith("/var/backups/lapor-warga/lapor-warga-$(date -u +%Y-%m-%dT")


def test_the_backup_service_writes_a_dated_backup_and_prunes_old_ones(
    database_url: str, tmp_path: Path
) -> None:
    """The service's own command lines, run as systemd would (escapes resolved), with
    this checkout's command and a temporary folder for /var/backups/lapor-warga."""
    unit = DEPLOY / "lapor-warga-backup.service"
    ours = str(Path(sys.executable).with_name("lapor-warga"))
    backups = tmp_path / "backups"
    backups.mkdir()
    now = time.time()
    old, recent = backups / "lapor-warga-old.backup", backups / "lapor-warga-recent.backup"
    for path, days in ((old, 15), (recent, 13)):
        path.write_text("an earlier backup")
        os.utime(path, (now - days * 86400, now - days * 86400))
    env = {**os.environ, "DATABASE_URL": database_url, "DEFAULT_LOCALE": "en"}
    for key in ("ExecStart", "ExecStartPost"):
        for value in values(unit, key):
            argv = [
                word.replace(INSTALLED_AT, ours).replace("/var/backups/lapor-warga", str(backups))
                for word in command_line(value)
            ]
            done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
    made = [p for p in backups.iterdir() if p not in (old, recent)]
    assert len(made) == 1
    assert re.fullmatch(r"lapor-warga-\d{4}-\d\d-\d\dT\d{6}Z\.backup", made[0].name)
    assert made[0].stat().st_mode & 0o777 == 0o600 and made[0].stat().st_size > 0
    assert not old.exists() and recent.exists()  # kept 14 days


def test_the_proxy_sends_the_webhook_to_the_instances_and_the_rest_to_the_console() -> None:
    conf = (DEPLOY / "nginx" / "lapor-warga.conf").read_text(encoding="utf-8")
    docs = DOCS.read_text(encoding="utf-8")
    bot = re.search(r"upstream lapor_warga_bot \{(.*?)\}", conf, re.S)
    assert bot is not None
    ports = re.findall(r"server 127\.0\.0\.1:(\d+)", bot.group(1))
    assert len(ports) >= 2
    enabled = set(re.findall(r"lapor-warga-bot@(\d+)", docs))
    assert set(ports) == enabled, "the proxy's instances are the ones the docs enable"
    webhook_url = re.search(r"WEBHOOK_URL=https://bot\.example\.org(/\S*)", docs)
    assert webhook_url is not None
    assert f"location = {webhook_url.group(1)} {{" in conf
    console = re.search(r"upstream lapor_warga_console \{\s*server 127\.0\.0\.1:(\d+);", conf)
    assert console is not None
    console_env = values(DEPLOY / "lapor-warga-console.service", "Environment")
    assert f"CONSOLE_PORT={console.group(1)}" in console_env
    assert "ssl_certificate " in conf and "listen 443 ssl" in conf


@pytest.mark.parametrize("guide", [DOCS, REPO / "docs" / "operations.md"], ids=lambda p: p.name)
def test_every_command_of_the_guides_is_accepted(guide: Path) -> None:
    docs = guide.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", docs, re.S)
    calls = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            command: list[str] = []
            for word in [*shlex.split(line, comments=True), ";"]:
                if word not in (";", "&&", "||", "|"):
                    command.append(word)
                    continue
                if command and command[0].endswith(("bin/lapor-warga", "lapor-warga")):
                    calls.append(command[1:])
                command = []
    assert calls
    for call in calls:
        accepted(call)
    known = {name.upper() for name in Settings.model_fields}
    for name in re.findall(r"^\s*([A-Z][A-Z0-9_]+)=", "\n".join(blocks), re.M):
        assert name in known, f"{guide.name} sets {name}, no setting of bot/settings.py"


def test_the_administrators_command_runs_the_installed_one_as_the_bot() -> None:
    wrapper = DEPLOY / "lapor-warga"
    assert wrapper.stat().st_mode & 0o111, "deploy/lapor-warga is not executable"
    assert subprocess.run(["sh", "-n", str(wrapper)], capture_output=True).returncode == 0
    text = wrapper.read_text(encoding="utf-8")
    assert f". {ENV_FILE}" in text and f'{INSTALLED_AT} "$@"' in text
    for unit in UNITS:
        if unit.suffix == ".service":
            assert values(unit, "User") == ["lapor-warga"], unit.name
            assert values(unit, "WorkingDirectory") == ["/var/lib/lapor-warga"], unit.name
    assert "runuser -u lapor-warga" in text and "cd /var/lib/lapor-warga" in text


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """Every key known to systemd and well-formed (the installed command swapped for
    this checkout's, so that systemd finds it)."""
    ours = Path(sys.executable).with_name("lapor-warga")
    for unit in UNITS:
        name = unit.name.replace("@.service", "@8081.service")
        text = unit.read_text(encoding="utf-8").replace(INSTALLED_AT, str(ours))
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")


def _systemctl_units(doc: Path) -> list[tuple[str, str]]:
    """(line, unit) of every unit a ``systemctl enable|start|stop|restart`` line of the
    doc's shell blocks names (an instance or a glob of the bot's template counts as it)."""
    found = []
    for line in doc.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line) if line.startswith("systemctl ") else []
        if len(words) < 3 or words[1] not in ("enable", "start", "stop", "restart"):
            continue
        for word in words[2:]:
            if word in ("&&", "||", ";", "|"):
                break
            if word.startswith("-"):
                continue
            name = re.sub(r"@[^.]*", "@", word)
            found.append((line, name if "." in name else f"{name}.service"))
    return found


@pytest.mark.parametrize("doc", [DOCS, REPO / "docs" / "operations.md"], ids=lambda p: p.name)
def test_the_docs_start_only_units_whose_commands_exist(doc: Path) -> None:
    """An administrator following the guide gets no unit that fails at once: every unit
    the docs enable, start or stop runs commands this release has."""
    units = _systemctl_units(doc)
    assert units, f"{doc.name} starts no unit"
    for line, name in units:
        unit = DEPLOY / name
        assert unit.is_file(), f"{doc.name}: {line!r} names {name}, not in deploy/"
        for key in EXEC_KEYS:
            for value in values(unit, key):
                for call in lapor_warga_calls(command_line(value)):
                    accepted(call)
