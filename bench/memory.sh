#!/usr/bin/env bash
# Resident memory of the release server through bursts of sign-ins, each hashing a password
# with argon2id (19 MiB per hash): idle, peak and after, from /proc. Usage:
#   bench/memory.sh [logins] [concurrency]     (defaults 1000 and 16; SQLite in a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."

LOGINS=${1:-1000}
CONCURRENCY=${2:-16}
PORT=${CRM_BENCH_PORT:-18089}
PASSWORD="Memory-pass-$$-crm"

cargo build --release --quiet -p crm-server --bin crm
dir=$(mktemp -d)
export CRM_DATA_DIR="$dir" CRM_ADMIN_PASSWORD="$PASSWORD" CRM_LOG=warn CRM_BIND="127.0.0.1:$PORT"
target/release/crm serve &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "idle RSS: $(rss) KiB"
python3 - "$PORT" "$PASSWORD" "$LOGINS" "$CONCURRENCY" <<'PY'
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, password, logins, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = json.dumps({"username": "admin", "password": password}).encode()
def login(_):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/login", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.status
started = time.time()
with ThreadPoolExecutor(concurrency) as pool:
    statuses = list(pool.map(login, range(logins)))
took = time.time() - started
print(f"{logins} logins, {concurrency} at a time: {statuses.count(200)} × 200 in {took:.1f} s "
      f"({logins / took:.0f}/s)")
PY
echo "RSS right after: $(rss) KiB; peak: $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") KiB"
sleep 5
echo "RSS 5 s later: $(rss) KiB"
