#!/usr/bin/env bash
# Generates the client SDKs from the OpenAPI document and fails unless they come out clean:
#   - a Python client with openapi-python-client (default settings) into sdk/out/python,
#     installed into the tool venv so that sdk/scenario.py can import it;
#   - TypeScript types with openapi-typescript into sdk/out/typescript/schema.d.ts, and
#     sdk/example.ts type-checked against them with `tsc --strict`.
# Usage:
#   sdk/generate.sh [DOCUMENT]        (default: openapi/openapi.json)
# Fails on any warning either generator prints, on an error response that a generated
# client would not parse into the Problem model, on an object type that TypeScript would
# see as holding nothing, and on any type error.
# Needs python3.11 (or CRM_SDK_PYTHON) with venv/pip, and node 20 with npm. Tools are pinned
# in sdk/requirements.txt and sdk/package-lock.json and installed on first use (again when
# those files change); CRM_SDK_VENV moves the venv (default sdk/.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DOC=${1:-openapi/openapi.json}
[ -f "$DOC" ] || { echo "generate.sh: no document at $DOC" >&2; exit 2; }
DOC=$(cd "$(dirname "$DOC")" && pwd)/$(basename "$DOC")
PYTHON=${CRM_SDK_PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=${CRM_SDK_VENV:-$ROOT/sdk/.venv}
OUT=$ROOT/sdk/out
status=0

fail() { echo "FAIL: $*" >&2; status=1; }

# --- tools -------------------------------------------------------------------------------
stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

want=$(stamp sdk/requirements.txt)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$want" ]; then
  echo "==> installing the Python tools into $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r sdk/requirements.txt
  echo "$want" >"$VENV/.installed"
fi

want=$(stamp sdk/package.json sdk/package-lock.json)
if [ ! -d sdk/node_modules ] || [ "$(cat sdk/node_modules/.installed 2>/dev/null)" != "$want" ]; then
  echo "==> installing the TypeScript tools into sdk/node_modules"
  (cd sdk && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >sdk/node_modules/.installed
fi

# The generator runs ruff on its output (its post-hooks); it must be on PATH.
export PATH="$VENV/bin:$ROOT/sdk/node_modules/.bin:$PATH"

rm -rf "$OUT/python" "$OUT/typescript"
mkdir -p "$OUT/python" "$OUT/typescript"

# --- Python ------------------------------------------------------------------------------
echo "==> openapi-python-client $(openapi-python-client --version | awk '{print $NF}') on $DOC"
log=$OUT/python-generate.log
(cd "$OUT/python" && openapi-python-client generate --path "$DOC") >"$log" 2>&1 || {
  cat "$log" >&2; fail "openapi-python-client exited with an error"; }
# Anything beyond the one "Generating <dir>" line is a warning, an error, or a skipped hook.
if grep -qv '^Generating ' "$log"; then
  grep -v '^Generating ' "$log" >&2
  fail "openapi-python-client printed warnings (above)"
fi
pkg=$(find "$OUT/python" -mindepth 1 -maxdepth 1 -type d | head -1)
if [ -n "$pkg" ]; then
  # An error status that parses to None instead of the Problem model.
  untyped=$(grep -rlE 'response_[45][0-9]{2} = cast\(Any, None\)' "$pkg" | sort || true)
  if [ -n "$untyped" ]; then
    echo "$untyped" | sed "s|^$pkg/||" | head -20 >&2
    fail "$(echo "$untyped" | wc -l) operations have error responses without a Problem body: they parse to None in the Python client"
  fi
  echo "==> installing the generated Python client ($(basename "$pkg")) into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --no-build-isolation --force-reinstall "$pkg" ||
    fail "the generated Python client does not install"
else
  fail "openapi-python-client wrote no client"
fi

# --- TypeScript --------------------------------------------------------------------------
echo "==> openapi-typescript $(openapi-typescript --version 2>/dev/null | awk '{print $NF}') on $DOC"
log=$OUT/typescript-generate.log
openapi-typescript "$DOC" -o "$OUT/typescript/schema.d.ts" >"$log" 2>&1 || {
  cat "$log" >&2; fail "openapi-typescript exited with an error"; }
# Its only lines on success are the banner and the "document → file" line.
if grep -qvE '^(✨ openapi-typescript|🚀 )' "$log"; then
  grep -vE '^(✨ openapi-typescript|🚀 )' "$log" >&2
  fail "openapi-typescript printed warnings (above)"
fi
# A schema `{"type": "object"}` with nothing declared is an object that may hold nothing.
if grep -nE 'Record<string, never>' "$OUT/typescript/schema.d.ts" |
  grep -vE 'export type (webhooks|\$defs) = ' >&2; then
  fail "objects typed Record<string, never> (above): declare their properties or additionalProperties"
fi

echo "==> tsc $(tsc --version | awk '{print $NF}') --strict on sdk/example.ts"
tsc -p sdk/tsconfig.json --noEmit --strict || fail "sdk/example.ts does not type-check against the generated types"

if [ "$status" = 0 ]; then
  echo "SDKs generated cleanly: $OUT/python, $OUT/typescript/schema.d.ts"
fi
exit $status
