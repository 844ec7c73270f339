#!/usr/bin/env bash
# The load benchmark: demo data at scale, the release server on SQLite and on PostgreSQL,
# driven over HTTP by wrk at 1, 16 and 64 connections, beside the floor (bench/floor: the
# same customer read and filtered list with actix-web and raw sqlx, no auth) on the same data.
#
# Usage: bench/load.sh [sqlite|postgres|both] [customers] [seconds per run]
#        (defaults: both, 1000000, 10)
#   CRM_BIN              the server (default target/release/crm)
#   FLOOR_BIN            the floor (default target/release/crm-floor); skipped when missing
#   CRM_LOAD_BUILD=1     build whichever of the two is missing, with cargo
#   CRM_LOAD_PG_URL      PostgreSQL server to create the benchmark database on
#                        (default postgres://postgres@127.0.0.1:5432/postgres)
#   CRM_LOAD_CONNECTIONS connection counts (default "1 16 64")
#   CRM_LOAD_WARM        seconds each read scenario runs unrecorded before it is measured (default 5)
#   CRM_LOAD_IDLE_WAIT   seconds the idle RSS is read again after the first reading (default 65)
#   CRM_LOAD_PACED       1 (default): each scenario runs once more at the most connections,
#                        offered half the throughput it reached there (0: not)
#   CRM_LOAD_SCENARIOS   scenarios to run (default: all, in the order below)
#   CRM_LOAD_PORT, CRM_LOAD_FLOOR_PORT, CRM_LOAD_TWIN_PORT  ports (default 18098, 18099, 18097)
#   CRM_LOAD_KEEP=DIR    keep the loaded data and reuse it in the next run with the same number
#                        of customers: SQLite in DIR/sqlite-<customers>.db, PostgreSQL in the
#                        database crm_load_<customers>; the load's time is kept beside them.
#                        Each run adds what its writes create (customers, leads, transitions),
#                        numbering its wrk runs on from the last one kept (DIR/<db>-<customers>.runs).
# On PostgreSQL it also runs two copies of the server on the one database, each driven by its
# own wrk with half of the most connections at once, and reports their sum beside one copy.
# Prints a Markdown table per database and appends every result as a JSON line to
# bench/results/<db>-<UTC date>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

WHICH=${1:-both}
CUSTOMERS=${2:-1000000}
DURATION=${3:-10}
CRM_BIN=${CRM_BIN:-target/release/crm}
FLOOR_BIN=${FLOOR_BIN:-target/release/crm-floor}
PG_URL=${CRM_LOAD_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${CRM_LOAD_PORT:-18098}
FLOOR_PORT=${CRM_LOAD_FLOOR_PORT:-18099}
TWIN_PORT=${CRM_LOAD_TWIN_PORT:-18097}
CONNECTIONS=${CRM_LOAD_CONNECTIONS:-1 16 64}
WARM=${CRM_LOAD_WARM:-5}
SCENARIOS=${CRM_LOAD_SCENARIOS:-get_customer list_customers create_customer patch_customer import_leads deal_transition forecast work_orders login}
PASSWORD="Load-pass-$$-crm"
LIST_TAG=重点跟进
export LOAD_WRK_DIR="$PWD/bench/wrk"

case "$WHICH" in sqlite | postgres | both) ;; *)
  echo "usage: bench/load.sh [sqlite|postgres|both] [customers] [seconds per run]" >&2
  exit 2
  ;;
esac

if ! command -v wrk >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y wrk >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
fi
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || { echo "bench/load.sh needs $tool" >&2; exit 1; }
done

if [ ! -x "$CRM_BIN" ] && [ "${CRM_LOAD_BUILD:-}" = 1 ]; then
  cargo build --release --quiet -p crm-server --bin crm
fi
if [ ! -x "$FLOOR_BIN" ] && [ "${CRM_LOAD_BUILD:-}" = 1 ]; then
  cargo build --release --quiet --manifest-path bench/floor/Cargo.toml --target-dir target
fi
[ -x "$CRM_BIN" ] || { echo "no server at $CRM_BIN (set CRM_BIN, or CRM_LOAD_BUILD=1)" >&2; exit 1; }
HAVE_FLOOR=1
if [ ! -x "$FLOOR_BIN" ]; then
  HAVE_FLOOR=0
  echo "note: no floor at $FLOOR_BIN (set FLOOR_BIN, or CRM_LOAD_BUILD=1): floor runs and ratios skipped" >&2
fi

mkdir -p bench/results
PIDS=()
CLEANUP=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for cmd in "${CLEANUP[@]}"; do eval "$cmd" || true; done
}
trap cleanup EXIT

now_ns() { date +%s%N; }
kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$2/status"; }

# Starts a server in the background (its PID in $STARTED) and waits for its first 200 on
# $2/readyz; the milliseconds from start to that answer in $COLD.
start_and_time() {
  local log=$1 url=$2
  shift 2
  local t0 t1
  if curl -s -o /dev/null "$url/readyz" 2>/dev/null; then
    echo "something already answers at $url: stop it, or set CRM_LOAD_PORT / CRM_LOAD_FLOOR_PORT" >&2
    return 1
  fi
  t0=$(now_ns)
  "$@" >"$log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
  for _ in $(seq 1 20000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz" 2>/dev/null)" = 200 ]; then
      t1=$(now_ns)
      COLD=$(((t1 - t0) / 1000000))
      return 0
    fi
    kill -0 "$STARTED" 2>/dev/null || { echo "server exited; log:" >&2; cat "$log" >&2; return 1; }
    sleep 0.002
  done
  echo "server not ready; log:" >&2
  cat "$log" >&2
  return 1
}

stop() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Waits until the server ($SERVER_PID) is idle (under 4 % of a core for half a second, at
# most a minute) and, on PostgreSQL, no other session of the database is running a statement
# (a background job's, or the tail of the last run's; at most half a minute more): wrk stops
# with requests still in flight, and the next run (and the inputs read for it) must not see
# their tail.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
settle() {
  local prev cur
  prev=$(cpu_ticks "$SERVER_PID")
  for _ in $(seq 1 120); do
    sleep 0.5
    cur=$(cpu_ticks "$SERVER_PID")
    [ $((cur - prev)) -le 2 ] && break
    prev=$cur
  done
  [ "$DB" = postgres ] || return 0
  for _ in $(seq 1 60); do
    [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
      AND state = 'active' AND pid <> pg_backend_pid()")" = 0 ] && return 0
    sleep 0.5
  done
}

# Each wrk run has a number of its own, which the write scenarios build their new customers'
# codes and leads' numbers from. On kept data the count goes on from the last run's, in
# $RUNS_FILE, so that a run never repeats what an earlier one created.
RUN_NO=0
RUNS_FILE=""
next_run() {
  RUN_NO=$((RUN_NO + 1))
  if [ -n "$RUNS_FILE" ]; then echo "$RUN_NO" >"$RUNS_FILE"; fi
}

# One wrk run of scenario $2 against $1 (base URL) for server $3 at $4 connections, offering
# $5 requests a second (0: as many as the server takes); appends its result.
measure() {
  local base=$1 scenario=$2 server=$3 c=$4 rate=$5 t=2 line offered=""
  [ "$c" -lt 2 ] && t=1
  [ "$rate" -gt 0 ] && offered=" offered $rate req/s"
  next_run
  settle
  prepare "$scenario"
  line=$(LOAD_SCENARIO=$scenario LOAD_CONNECTIONS=$c LOAD_THREADS=$t LOAD_RUN=$RUN_NO LOAD_RATE=$rate \
    wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 10s -s "bench/wrk/$scenario.lua" "$base" 2>&1 |
    tee -a "$WORK/wrk.log" | grep '^{"scenario"' || true)
  if [ -z "$line" ]; then
    echo "wrk gave no result for $scenario at $c connections$offered; see below" >&2
    tail -20 "$WORK/wrk.log" >&2
    return 0
  fi
  echo "$line" | jq -c --arg db "$DB" --arg server "$server" '{db: $db, server: $server} + .' |
    tee -a "$RESULTS" >>"$WORK/results.jsonl"
  echo "  $server $scenario c=$c$offered: $(echo "$line" | jq -r '"\(.rps) req/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, errors \(.errors)"')"
}

# Runs one scenario at every connection count against $1 (base URL), appending results; then,
# unless CRM_LOAD_PACED=0, once more at the most connections offering half the throughput
# just measured there (when that is at least a request a second per connection): latency at
# a load the server carries, beside latency at saturation.
drive() {
  local base=$1 scenario=$2 server=$3
  local c most=0 rate
  # A read first runs unrecorded for a few seconds, so that its figures, the server's and the
  # floor's alike, do not depend on which pages the scenarios before it left in the caches.
  case "$scenario" in
    get_customer | list_customers | forecast | work_orders)
      if [ "$WARM" -gt 0 ]; then
        settle
        prepare "$scenario"
        LOAD_SCENARIO=$scenario LOAD_CONNECTIONS=4 LOAD_THREADS=1 LOAD_RUN=0 \
          wrk -t1 -c4 -d"${WARM}s" --timeout 10s -s "bench/wrk/$scenario.lua" "$base" >/dev/null 2>&1 || true
      fi ;;
  esac
  for c in $CONNECTIONS; do
    measure "$base" "$scenario" "$server" "$c" 0
    [ "$c" -gt "$most" ] && most=$c
  done
  [ "${CRM_LOAD_PACED:-1}" = 1 ] || return 0
  rate=$(jq -r --arg s "$scenario" --arg v "$server" --argjson c "$most" \
    'select(.scenario == $s and .server == $v and .connections == $c and .offered_rps == 0) | .rps / 2 | floor' \
    "$WORK/results.jsonl" | tail -1)
  # Below one request a second per connection, a connection would sit idle past the server's
  # keep-alive and be closed under wrk: such scenarios (the import) are measured unpaced only.
  if [ -n "$rate" ] && [ "$rate" -ge "$most" ]; then
    measure "$base" "$scenario" "$server" "$most" "$rate"
  fi
}

# Two copies on one database ($1 the first copy's URL, $2 its PID): a second server (without
# a worker: the first runs the jobs) beside the running one, a wrk on each with half of the
# most connections, at once. Appends one result, server "crm x2": the summed throughput, the
# worse of the two p50, p99 and max.
two_copies() {
  local base=$1 main_pid=$2 twin_url="http://127.0.0.1:$TWIN_PORT" twin half c=0 n lines
  for n in $CONNECTIONS; do if [ "$n" -gt "$c" ]; then c=$n; fi; done
  half=$((c / 2))
  [ "$half" -ge 1 ] || return 0
  CRM_BIND="127.0.0.1:$TWIN_PORT" CRM_RUN_WORKER=false \
    start_and_time "$WORK/twin.log" "$twin_url" "$CRM_BIN" serve || return 1
  twin=$STARTED
  SERVER_PID=$twin
  settle
  SERVER_PID=$main_pid
  settle
  prepare get_customer
  next_run
  local out=()
  for url in "$base" "$twin_url"; do
    LOAD_SCENARIO=get_customer LOAD_CONNECTIONS=$half LOAD_THREADS=1 LOAD_RUN=$RUN_NO \
      wrk -t1 -c"$half" -d"${DURATION}s" --timeout 10s -s bench/wrk/get_customer.lua "$url" \
      >"$WORK/copy-$TWIN_PORT-${#out[@]}.out" 2>&1 &
    out+=("$!")
  done
  wait "${out[@]}"
  lines=$(cat "$WORK"/copy-"$TWIN_PORT"-*.out | grep '^{"scenario"' || true)
  if [ "$(printf '%s\n' "$lines" | grep -c '^{')" -ne 2 ]; then
    echo "two copies: wrk did not report for both; see $WORK/copy-$TWIN_PORT-*.out" >&2
    stop "$twin"
    return 0
  fi
  printf '%s\n' "$lines" |
    jq -sc --arg db "$DB" --argjson c "$c" '{db: $db, server: "crm x2", scenario: "get_customer",
      connections: $c, requests: (map(.requests) | add), seconds: (map(.seconds) | max),
      rps: (map(.rps) | add), p50_ms: (map(.p50_ms) | max), p99_ms: (map(.p99_ms) | max),
      max_ms: (map(.max_ms) | max), errors: (map(.errors) | add)}' |
    tee -a "$RESULTS" >>"$WORK/results.jsonl"
  echo "  crm x2 get_customer c=$c: $(tail -1 "$WORK/results.jsonl" | jq -r '"\(.rps) req/s, p99 \(.p99_ms) ms, errors \(.errors)"')"
  stop "$twin"
}

# A query on the benchmark database, one row per line, fields separated by spaces.
sql() {
  if [ "$DB" = sqlite ]; then
    sqlite3 -separator ' ' "$DB_FILE" "$1"
  else
    psql "$DB_URL" -AtF ' ' -c "$1"
  fi
}
uuid() {
  if [ "$DB" = sqlite ]; then
    echo "lower(substr(hex($1),1,8)||'-'||substr(hex($1),9,4)||'-'||substr(hex($1),13,4)||'-'||substr(hex($1),17,4)||'-'||substr(hex($1),21))"
  else
    echo "$1::text"
  fi
}

# Inputs that depend on the current state: versions of the customers and deals to change.
prepare() {
  case "$1" in
    patch_customer)
      sql "SELECT $(uuid id), version FROM customers WHERE archived_at IS NULL ORDER BY id LIMIT 4000" >"$WORK/patch.txt"
      export LOAD_IDS="$WORK/patch.txt" ;;
    deal_transition)
      sql "SELECT $(uuid o.id), o.version, o.probability FROM opportunities o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'open' AND c.archived_at IS NULL ORDER BY o.id LIMIT 4000" >"$WORK/deals.txt"
      export LOAD_IDS="$WORK/deals.txt" ;;
    *) export LOAD_IDS="$WORK/ids.txt" ;;
  esac
}

run_db() {
  DB=$1
  DB_URL=$2
  WORK=$(mktemp -d)
  CLEANUP+=("rm -rf '$WORK'")
  RESULTS="bench/results/$DB-$(date -u +%Y%m%d-%H%M%S).jsonl"
  local crm_url="http://127.0.0.1:$PORT" floor_url="http://127.0.0.1:$FLOOR_PORT"
  DB_FILE="$WORK/crm.db"
  local loaded=""
  if [ -n "${CRM_LOAD_KEEP:-}" ]; then
    mkdir -p "$CRM_LOAD_KEEP"
    DB_FILE="$CRM_LOAD_KEEP/sqlite-$CUSTOMERS.db"
    loaded="$CRM_LOAD_KEEP/$DB-$CUSTOMERS.load-seconds"
    # A load that did not finish left no time beside it: start that file again.
    [ "$DB" = sqlite ] && [ ! -f "$loaded" ] && rm -f "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm"
    RUNS_FILE="$CRM_LOAD_KEEP/$DB-$CUSTOMERS.runs"
    [ -f "$loaded" ] || rm -f "$RUNS_FILE"
    RUN_NO=$(cat "$RUNS_FILE" 2>/dev/null || echo 0)
  fi
  [ "$DB" = sqlite ] && DB_URL="sqlite://$DB_FILE?mode=rwc"
  # The admin's password is the first load's: a kept database keeps its accounts.
  [ -n "$loaded" ] && [ -f "$loaded.password" ] && PASSWORD=$(cat "$loaded.password")
  export CRM_DATA_DIR="$WORK" CRM_DATABASE_URL="$DB_URL" CRM_ADMIN_PASSWORD="$PASSWORD" \
    CRM_LOG=warn CRM_BIND="127.0.0.1:$PORT" CRM_ACCESS_TOKEN_TTL=86400
  echo "== $DB: $CUSTOMERS customers, $DURATION s per run, connections $CONNECTIONS"

  local t0 t1 load_s orders=$((CUSTOMERS / 20))
  [ "$orders" -lt 40 ] && orders=40
  if [ -n "$loaded" ] && [ -f "$loaded" ]; then
    load_s=$(cat "$loaded")
    echo "reusing the data loaded (in $load_s s) into $([ "$DB" = sqlite ] && echo "$DB_FILE" || echo "${DB_URL%%\?*}")"
  else
    t0=$(now_ns)
    "$CRM_BIN" demo-data --customers "$CUSTOMERS" --work-orders "$orders" | grep -v password
    t1=$(now_ns)
    load_s=$(((t1 - t0) / 1000000000))
    if [ -n "$loaded" ]; then
      echo "$PASSWORD" >"$loaded.password"
      echo "$load_s" >"$loaded"
    fi
  fi
  # The database server's settings that the figures depend on, recorded with them.
  local settings=""
  if [ "$DB" = postgres ]; then
    settings=$(sql "SELECT string_agg(name || ' = ' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
      WHERE name IN ('shared_buffers', 'max_wal_size', 'synchronous_commit', 'autovacuum', 'max_connections')")
    echo "PostgreSQL $(sql "SHOW server_version"): $settings"
  fi
  sql "SELECT status, probability, count(*) FROM opportunities GROUP BY status, probability ORDER BY status, probability" |
    awk '{printf "%s%s at %s: %s", (NR > 1 ? ", " : "deals: "), $1, $2, $3} END {print ""}'

  # Cold start to the first 200 from /readyz, then idle memory once the start's work is done.
  local cold pid idle idle_anon idle_file peak
  start_and_time "$WORK/serve.log" "$crm_url" "$CRM_BIN" serve || exit 1
  cold=$COLD
  pid=$STARTED
  # Idle: once the jobs a start runs (re-tiering, reminders, the SLA sweep) have finished.
  SERVER_PID=$pid
  sleep 2
  settle
  idle=$(kib VmRSS "$pid")
  # Of it: the process's own memory, and the pages of files it maps (its own code, and
  # SQLite's database file): those are the operating system's file cache, shared with other
  # processes and given back under memory pressure.
  idle_anon=$(kib RssAnon "$pid")
  idle_file=$(kib RssFile "$pid")
  echo "cold start ${cold} ms, idle RSS ${idle} KiB (own ${idle_anon}, mapped files ${idle_file})"
  # And once the server has been idle a while: SQLite connections close a minute after they
  # opened (or after 30 s unused) and give their page caches and maps back.
  local idle_wait=${CRM_LOAD_IDLE_WAIT:-65} idle_later idle_later_anon
  sleep "$idle_wait"
  idle_later=$(kib VmRSS "$pid")
  idle_later_anon=$(kib RssAnon "$pid")
  echo "idle RSS after $idle_wait s more: ${idle_later} KiB (own ${idle_later_anon})"

  export LOAD_TOKEN LOAD_PASSWORD="$PASSWORD" LOAD_USERNAME=admin LOAD_PREFIX=/api/v1
  LOAD_TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$crm_url/api/v1/auth/login" | jq -r .access_token)

  sql "SELECT $(uuid id) FROM customers WHERE archived_at IS NULL ORDER BY random() LIMIT 10000" >"$WORK/ids.txt"
  export LOAD_REGIONS LOAD_LIST_QUERY
  LOAD_REGIONS=$(sql "SELECT region FROM customers GROUP BY region ORDER BY count(*) DESC LIMIT 6" | paste -sd, -)
  LOAD_LIST_QUERY="tier=key&tag=$(jq -rn --arg t "$LIST_TAG" '$t|@uri')&limit=50"

  # The floor, on the same data, with the same request scripts (no prefix, no token), started
  # beside the server and driven right after it on each of its two requests, so that both
  # meet the database's and the system's caches as the same scenario left them.
  local floor_cold="" floor_idle="" fpid=""
  if [ "$HAVE_FLOOR" = 1 ]; then
    local floor_db=$DB_URL
    [ "$DB" = sqlite ] && floor_db="sqlite://$DB_FILE"
    FLOOR_BIND="127.0.0.1:$FLOOR_PORT" FLOOR_DATABASE_URL="$floor_db" \
      start_and_time "$WORK/floor.log" "$floor_url" "$FLOOR_BIN" || exit 1
    floor_cold=$COLD
    fpid=$STARTED
    sleep 2
    floor_idle=$(kib VmRSS "$fpid")
  fi

  for scenario in $SCENARIOS; do
    SERVER_PID=$pid
    drive "$crm_url" "$scenario" crm
    if [ -n "$fpid" ] && { [ "$scenario" = get_customer ] || [ "$scenario" = list_customers ]; }; then
      SERVER_PID=$fpid
      LOAD_TOKEN="" LOAD_PREFIX="" drive "$floor_url" "$scenario" floor
    fi
  done
  SERVER_PID=$pid
  peak=$(kib VmHWM "$pid")
  if [ "$DB" = postgres ] && [[ " $SCENARIOS " == *" get_customer "* ]]; then
    two_copies "$crm_url" "$pid"
  fi
  # The background jobs that ran since the start (beside the requests), from the metrics:
  # {kind: {runs, seconds}}, seconds being their total running time.
  local jobs
  jobs=$(curl -fsS "$crm_url/metrics" | awk '
    /^crm_job_duration_seconds_(sum|count)\{/ {
      match($0, /kind="[^"]*"/); kind = substr($0, RSTART + 6, RLENGTH - 7)
      if ($0 ~ /_sum\{/) sum[kind] = $NF; else count[kind] = $NF
    }
    END {
      printf "{"; sep = ""
      for (k in count) { printf "%s\"%s\":{\"runs\":%d,\"seconds\":%.6f}", sep, k, count[k], sum[k]; sep = "," }
      printf "}"
    }') || jobs='{}'
  echo "background jobs during the run: $(jq -r 'to_entries | map("\(.key) \(.value.runs) × \(.value.seconds / .value.runs * 1000 | round) ms") | join(", ")' <<<"$jobs")"
  stop "$pid"

  [ -n "$fpid" ] && stop "$fpid"

  jq -cn --arg db "$DB" --argjson customers "$CUSTOMERS" --argjson cold "$cold" --argjson idle "$idle" \
    --argjson idle_anon "$idle_anon" --argjson idle_file "$idle_file" \
    --argjson idle_wait "$idle_wait" --argjson idle_later "$idle_later" --argjson idle_later_anon "$idle_later_anon" \
    --argjson peak "$peak" --argjson load "$load_s" --arg fcold "$floor_cold" --arg fidle "$floor_idle" \
    --argjson jobs "$jobs" --arg settings "$settings" \
    '{db: $db, server: "crm", scenario: "process", customers: $customers, demo_data_s: $load, jobs: $jobs,
      settings: $settings,
      cold_start_ms: $cold, idle_rss_kib: $idle, idle_rss_anon_kib: $idle_anon,
      idle_rss_file_kib: $idle_file, idle_wait_s: $idle_wait, idle_rss_later_kib: $idle_later,
      idle_rss_later_anon_kib: $idle_later_anon, peak_rss_kib: $peak,
      floor_cold_start_ms: ($fcold | tonumber? // null), floor_idle_rss_kib: ($fidle | tonumber? // null)}' |
    tee -a "$RESULTS" >>"$WORK/results.jsonl"

  python3 - "$WORK/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
proc = next(r for r in rows if r["scenario"] == "process")
runs = [r for r in rows if r["scenario"] != "process" and not r.get("offered_rps")]
paced = [r for r in rows if r["scenario"] != "process" and r.get("offered_rps")]
db = proc["db"]
print(f"\n### {db}: {proc['customers']:,} customers (demo data loaded in {proc['demo_data_s']} s)\n")
print("| server | scenario | connections | req/s | p50 ms | p99 ms | max ms | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in runs:
    print(f"| {r['server']} | {r['scenario']} | {r['connections']} | {r['rps']:,.1f} | {r['p50_ms']:.2f} "
          f"| {r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['errors']} |")
if paced:
    print("\nAt half the throughput reached at the most connections (offered, not saturating):\n")
    print("| server | scenario | connections | offered req/s | req/s | p50 ms | p99 ms | max ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in paced:
        print(f"| {r['server']} | {r['scenario']} | {r['connections']} | {r['offered_rps']:,.0f} | {r['rps']:,.1f} "
              f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['errors']} |")
print()
if proc.get("settings"):
    print(f"- database settings: {proc['settings']}")
print(f"- cold start to the first answer from /readyz: {proc['cold_start_ms']} ms")
print(f"- idle RSS: {proc['idle_rss_kib'] / 1024:.1f} MiB (the process's own {proc['idle_rss_anon_kib'] / 1024:.1f}, "
      f"mapped files {proc['idle_rss_file_kib'] / 1024:.1f}); peak RSS (VmHWM) after every run: {proc['peak_rss_kib'] / 1024:.1f} MiB")
if proc.get("idle_rss_later_kib") is not None:
    print(f"- idle RSS {proc['idle_wait_s']} s later: {proc['idle_rss_later_kib'] / 1024:.1f} MiB "
          f"(the process's own {proc['idle_rss_later_anon_kib'] / 1024:.1f})")
if proc.get("floor_cold_start_ms") is not None:
    print(f"- floor: cold start {proc['floor_cold_start_ms']} ms, idle RSS {proc['floor_idle_rss_kib'] / 1024:.1f} MiB")
imports = [r for r in runs if r["scenario"] == "import_leads" and r["connections"] == 1 and r["server"] == "crm"]
for r in imports:
    print(f"- lead import, 1,000 rows per request at 1 connection: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
errors = sum(r["errors"] for r in runs + paced)
for twin in (r for r in runs if r["server"] == "crm x2"):
    one = next((r for r in runs if r["server"] == "crm" and r["scenario"] == twin["scenario"]
                and r["connections"] == twin["connections"]), None)
    if one and one["rps"] > 0:
        print(f"- two copies on one database, {twin['connections']} connections split between them: "
              f"{twin['rps']:,.1f} req/s against {one['rps']:,.1f} for one copy ({twin['rps'] / one['rps']:.2f}x)")
print(f"- errors over every run: {errors}")
floor = {(r["scenario"], r["connections"]): r for r in runs if r["server"] == "floor"}
if floor:
    print("\n| scenario | connections | crm req/s | floor req/s | crm / floor |")
    print("|---|---:|---:|---:|---:|")
    for r in runs:
        f = floor.get((r["scenario"], r["connections"]))
        if r["server"] == "crm" and f and f["rps"] > 0:
            print(f"| {r['scenario']} | {r['connections']} | {r['rps']:,.1f} | {f['rps']:,.1f} | {r['rps'] / f['rps']:.2f}x |")
else:
    print("- floor: not run (no binary); no ratios")
PY
  echo "results appended to $RESULTS"
  unset CRM_DATABASE_URL
}

if [ "$WHICH" = sqlite ] || [ "$WHICH" = both ]; then
  run_db sqlite ""
fi
if [ "$WHICH" = postgres ] || [ "$WHICH" = both ]; then
  if [ -n "${CRM_LOAD_KEEP:-}" ]; then
    name="crm_load_$CUSTOMERS"
    # A load that did not finish left no time beside it: start that database again.
    if [ ! -f "$CRM_LOAD_KEEP/postgres-$CUSTOMERS.load-seconds" ]; then
      psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"
      psql "$PG_URL" -qc "CREATE DATABASE $name"
    fi
  else
    name="crm_load_$$"
    psql "$PG_URL" -qc "CREATE DATABASE $name"
    CLEANUP+=("psql '$PG_URL' -qc 'DROP DATABASE IF EXISTS $name WITH (FORCE)'")
  fi
  # Loopback: no TLS between the server and its database (see docs/PERFORMANCE.md).
  run_db postgres "${PG_URL%/*}/$name?sslmode=disable"
fi
