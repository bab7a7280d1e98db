#!/usr/bin/env bash
# Install Lapor Warga into .venv and start the sandbox: a local Telegram Bot API
# server, the real bot, a demo registry and a page with four phones on 127.0.0.1.
# No token and no network needed. Arguments go to `lapor-warga sandbox` (e.g. --port 0).
# Deployments with a real BOT_TOKEN use `lapor-warga run` instead (see docs/deploying.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "run.sh: creating .venv ..."
  "$PYTHON" -m venv .venv
fi
echo "run.sh: installing Lapor Warga and its dependencies into .venv (about a minute the first time) ..."
started=$SECONDS
# One dot every few seconds while pip works, so a slow first install does not look stuck.
( while sleep 5; do printf '.'; done ) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
kill "$ticker" 2>/dev/null || true
wait "$ticker" 2>/dev/null || true
trap - EXIT
[ $((SECONDS - started)) -ge 5 ] && echo
echo "run.sh: installed in $((SECONDS - started)) s; starting the sandbox ..."
exec .venv/bin/lapor-warga sandbox "$@"
