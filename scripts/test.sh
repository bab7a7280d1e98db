#!/usr/bin/env bash
# Install everything the tests need, then run every check:
#   ruff (lint + format), the whole pytest suite on SQLite, and the whole suite
#   again on a throwaway PostgreSQL 15 cluster in a temp dir. The sandbox's browser
#   test needs Debian's chromium and chromium-driver: installed here when missing.
# Extra arguments go to pytest (e.g. scripts/test.sh -k birth).
#
#   scripts/test.sh --quick   the fast lane: ruff, the unit tests and one smoke
#                             end-to-end test (the birth path), on SQLite only; no
#                             e2e, production, slow or release tests (see
#                             docs/testing.md)
#
# Both passes run in one process, or in LW_TEST_WORKERS pytest-xdist workers when set
# (e.g. LW_TEST_WORKERS=2; see docs/testing.md for why one is the default), a test module
# per worker at a time
# (--dist loadfile: module-scoped fixtures such as the wheel are made once). Each worker
# has its own migrated template database, its own fake Bot API servers on ports the
# system picks, and its own PostgreSQL cluster for tests/production.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi

PYTHON=${PYTHON:-python3}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "missing system packages: $* (install them with apt-get as root)" >&2
    exit 1
  fi
}

missing=()
if [ "$quick" = 0 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
  [ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
fi
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

workers=(-n "${LW_TEST_WORKERS:-0}" --dist loadfile)

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

if [ "$quick" = 1 ]; then
  echo "== fast lane on SQLite: unit tests and the smoke e2e test"
  .venv/bin/python -m pytest -m "smoke or not (e2e or production or slow or release)" "$@"
  exit 0
fi

echo "== tests on SQLite"
.venv/bin/python -m pytest "${workers[@]}" "$@"

echo "== tests on PostgreSQL"

pgdir=$(mktemp -d /tmp/lapor-warga-pg.XXXXXX)
chmod 755 "$pgdir"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: run the cluster as the postgres system user.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$pgdir"
  as_pg=(runuser -u postgres --)
fi
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT

"${as_pg[@]}" "$PG_BIN/initdb" -D "$pgdir/data" -U postgres -A trust --no-locale -E UTF8 --no-sync >/dev/null
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -o \
  "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null

LW_TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:$port/postgres" \
  .venv/bin/python -m pytest "${workers[@]}" "$@"
