#!/usr/bin/env bash
# Install Lapor Warga into .venv and start the sandbox: a local Telegram Bot API
# server, the real bot, a demo registry and a page with four phones on 127.0.0.1.
# No token and no network needed. Arguments go to `lapor-warga sandbox` (e.g. --port 0).
# Deployments with a real BOT_TOKEN use `lapor-warga run` instead (see docs/deploying.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/lapor-warga sandbox "$@"
