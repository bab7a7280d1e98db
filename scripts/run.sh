#!/usr/bin/env bash
# Install Lapor Warga into .venv and run the bot (SQLite under ./data by default).
# Settings come from the environment or .env (see README.md); arguments go to `lapor-warga run`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/lapor-warga run "$@"
