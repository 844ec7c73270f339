#!/usr/bin/env bash
# Loads demo data (customers, a deal per customer in every stage, leads, rules) into a fresh
# database and measures over HTTP with a real token: the customer get and list, the weighted
# forecast, and 10 imports of 1,000 leads — beside a plain COPY of the same rows into the same
# PostgreSQL database. Usage: bench/run.sh [sqlite|postgres|both] [customers] [requests]
#   CRM_BENCH_PG_URL   PostgreSQL server to create the benchmark database on
#                      (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."

WHICH=${1:-both}
CUSTOMERS=${2:-100000}
REQUESTS=${3:-2000}
PG_URL=${CRM_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${CRM_BENCH_PORT:-18088}
PASSWORD="Bench-pass-$$-crm"

cargo build --release --quiet -p crm-server --bin crm
cargo build --release --quiet -p crm-tests --bin crm-bench
CRM=target/release/crm
BENCH=target/release/crm-bench

run() {
  local label=$1 url=$2 dir
  dir=$(mktemp -d)
  echo "== $label: $CUSTOMERS customers"
  local env=(CRM_DATA_DIR="$dir" CRM_ADMIN_PASSWORD="$PASSWORD" CRM_LOG=warn CRM_BIND="127.0.0.1:$PORT")
  [ -n "$url" ] && env+=(CRM_DATABASE_URL="$url")
  env "${env[@]}" "$CRM" demo-data --customers "$CUSTOMERS" --deals "$CUSTOMERS" | grep -v password
  env "${env[@]}" "$CRM" serve &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$BENCH" --url "http://127.0.0.1:$PORT" --username admin --password "$PASSWORD" --requests "$REQUESTS" \
    --csv-out "$dir/leads.csv" || true
  kill -TERM "$pid"
  wait "$pid" || true
  if [ -n "$url" ] && [ -f "$dir/leads.csv" ]; then
    # The floor for the import: the same rows, COPY'd into a plain table of the same database.
    psql "$url" -qc "CREATE TABLE lead_copy_baseline (source text, source_detail text, company_name text,
      contact_name text, mobile text, email text, region text, industry_code text, needs text)"
    echo "plain COPY of the same $(($(wc -l <"$dir/leads.csv") - 1)) leads into one table:"
    psql "$url" -c '\timing on' -c "\copy lead_copy_baseline FROM '$dir/leads.csv' WITH (FORMAT csv, HEADER true)" |
      grep -E '^(COPY|Time)'
  fi
  rm -rf "$dir"
}

if [ "$WHICH" = sqlite ] || [ "$WHICH" = both ]; then
  run sqlite ""
fi
if [ "$WHICH" = postgres ] || [ "$WHICH" = both ]; then
  name="crm_bench_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $name"
  base=${PG_URL%/*}
  # Loopback: no TLS between the server and its database (see docs/PERFORMANCE.md).
  run postgresql "$base/$name?sslmode=disable"
  psql "$PG_URL" -qc "DROP DATABASE $name WITH (FORCE)"
fi
