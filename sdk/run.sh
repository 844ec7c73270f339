#!/usr/bin/env bash
# Proves the generated Python client works against a live server: generates the SDKs
# (sdk/generate.sh, unless CRM_SDK_SKIP_GENERATE=1 says it already ran), starts the server on
# a fresh database, and runs sdk/scenario.py through the generated client. Usage:
#   sdk/run.sh [sqlite|postgres] [DOCUMENT]      (defaults: sqlite, openapi/openapi.json)
# Uses target/release/crm (CRM_BIN to override) on port 18190 (CRM_SDK_PORT). PostgreSQL
# runs create and drop a database of their own on CRM_SDK_PG_URL (default
# postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${1:-sqlite}
DOC=${2:-openapi/openapi.json}
BIN=${CRM_BIN:-target/release/crm}
PORT=${CRM_SDK_PORT:-18190}
PG_URL=${CRM_SDK_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
VENV=${CRM_SDK_VENV:-$PWD/sdk/.venv}
BASE="http://127.0.0.1:$PORT"
ADMIN_PASSWORD="Sdk-root-$$-pass"

case "$DB" in sqlite | postgres) ;; *) echo "usage: sdk/run.sh [sqlite|postgres] [DOCUMENT]" >&2; exit 2 ;; esac
[ -x "$BIN" ] || { echo "run.sh: no server binary at $BIN (build it, or set CRM_BIN)" >&2; exit 2; }

if [ "${CRM_SDK_SKIP_GENERATE:-0}" != 1 ]; then
  sdk/generate.sh "$DOC"
fi
"$VENV/bin/python" -c 'import crm_api_client' 2>/dev/null ||
  { echo "run.sh: the generated client is not installed in $VENV (run sdk/generate.sh)" >&2; exit 2; }

dir=$(mktemp -d)
pid=
pg_db=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export CRM_DATA_DIR="$dir" CRM_ADMIN_PASSWORD="$ADMIN_PASSWORD" CRM_LOG=warn CRM_BIND="127.0.0.1:$PORT"
export CRM_JWT_SECRET="sdk-secret-$$-0123456789abcdefghijklmnop"
# The scenario's webhook receiver listens on loopback; deliveries go out within 200 ms.
export CRM_WEBHOOK_ALLOW_PRIVATE=true CRM_WEBHOOK_INTERVAL_MS=200
unset CRM_DATABASE_URL
if [ "$DB" = postgres ]; then
  pg_db="crm_sdk_$$"
  psql -q "$PG_URL" -c "CREATE DATABASE $pg_db" >/dev/null
  export CRM_DATABASE_URL="${PG_URL%/*}/$pg_db"
fi

"$BIN" migrate up >/dev/null
"$BIN" serve >"$dir/server.log" 2>&1 &
pid=$!
ready=
for _ in $(seq 1 300); do
  if curl -fsS "$BASE/healthz" >/dev/null 2>&1 && curl -fsS "$BASE/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "run.sh: the server did not become ready on $BASE:" >&2
  tail -40 "$dir/server.log" >&2
  exit 1
fi

echo "==> scenario through the generated Python client on $DB ($BASE)"
status=0
"$VENV/bin/python" sdk/scenario.py "$BASE" "$ADMIN_PASSWORD" || status=1
if grep -q "request failed" "$dir/server.log"; then
  echo "the server logged failed requests:"; grep "request failed" "$dir/server.log" | head -20; status=1
fi
if [ "$status" != 0 ]; then
  echo "--- server log (last 40 lines)"; tail -40 "$dir/server.log"
fi
exit $status
