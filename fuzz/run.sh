#!/usr/bin/env bash
# Schemathesis against a running server: every operation of the served OpenAPI document,
# with the tokens of an admin and of a sales rep, all checks but the documented exclusions
# (docs/API.md, "Schema fuzzing"). Usage:
#   fuzz/run.sh [sqlite|postgres] [seconds per role]     (defaults: sqlite, 90)
# Uses target/release/crm (CRM_BIN to override); PostgreSQL runs create and drop a database
# of their own on CRM_FUZZ_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${1:-sqlite}
SECONDS_PER_ROLE=${2:-90}
BIN=${CRM_BIN:-target/release/crm}
PORT=${CRM_FUZZ_PORT:-18090}
PG_URL=${CRM_FUZZ_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BASE="http://127.0.0.1:$PORT"
ADMIN_PASSWORD="Fuzz-root-$$-pass"
SALES_PASSWORD="Fuzz-rep-$$-pass"

if ! command -v st >/dev/null 2>&1 || ! st --version 2>/dev/null | grep -q "$(sed -n 's/^schemathesis==//p' fuzz/requirements.txt)"; then
  python3 -m pip install --quiet --disable-pip-version-check -r fuzz/requirements.txt
fi

dir=$(mktemp -d)
pid=
pg_db=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$pg_db" ] && psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

export CRM_DATA_DIR="$dir" CRM_ADMIN_PASSWORD="$ADMIN_PASSWORD" CRM_LOG=warn CRM_BIND="127.0.0.1:$PORT"
export CRM_JWT_SECRET="fuzz-secret-$$-0123456789abcdefghijklmnop" CRM_ACCESS_TOKEN_TTL=7200
# Subscriptions the fuzzer makes must not post to whatever hosts it names: no delivery runs
# within the hour after the first.
export CRM_WEBHOOK_INTERVAL_MS=3600000
if [ "$DB" = postgres ]; then
  pg_db="crm_fuzz_$$"
  psql -q "$PG_URL" -c "CREATE DATABASE $pg_db" >/dev/null
  export CRM_DATABASE_URL="${PG_URL%/*}/$pg_db"
fi

"$BIN" migrate up >/dev/null
"$BIN" demo-data --customers 60 --seed 7 >/dev/null
printf '%s' "$SALES_PASSWORD" | "$BIN" create-user --username fuzz.sales --role sales --password-stdin >/dev/null
"$BIN" serve >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

token() {
  curl -fsS "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

status=0
for role in sales admin; do
  if [ "$role" = admin ]; then t=$(token admin "$ADMIN_PASSWORD"); else t=$(token fuzz.sales "$SALES_PASSWORD"); fi
  echo "==> schemathesis on $DB as $role, ${SECONDS_PER_ROLE}s"
  SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$PWD/fuzz${PYTHONPATH:+:$PYTHONPATH}" st --config-file fuzz/schemathesis.toml run "$BASE/api/v1/openapi.json" \
    --header "Authorization: Bearer $t" \
    --checks all \
    --exclude-checks "${CRM_FUZZ_EXCLUDE_CHECKS:-ignored_auth}" \
    --max-time "$SECONDS_PER_ROLE" \
    --workers 1 \
    --seed 1 \
    --no-color \
    --output-truncate false \
    ${CRM_FUZZ_ARGS:-} || status=1
done
if grep -q "request failed" "$dir/server.log"; then
  echo "the server logged failed requests:"; grep "request failed" "$dir/server.log" | head -20; status=1
fi
exit $status
