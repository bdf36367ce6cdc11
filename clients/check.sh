#!/usr/bin/env bash
# Client-generator checks on the served OpenAPI document (issue 18). Fails on any regression:
#   1. openapi-python-client generates a client with ZERO warnings;
#   2. openapi-typescript generates types, and clients/typescript/first-hour.ts (lists products, places an
#      order, branches on an error code) type-checks with `tsc --strict`;
#   3. Redocly CLI lints the document with no errors.
# Every tool is pinned and installed under .tools/ (gitignored). The document checked is the one the
# server serves (nuvlyx.api.openapi.load_spec), written to .tools/openapi.json.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAPI_PYTHON_CLIENT=0.29.1
OPENAPI_TYPESCRIPT=7.13.0
OPENAPI_FETCH=0.17.0
TYPESCRIPT=5.9.3
REDOCLY_CLI=2.77.0

TOOLS="$PWD/.tools"
PY="${PY:-$PWD/.venv/bin/python}"
mkdir -p "$TOOLS"

# --- tools (installed once, re-installed when a pin changes) ---
stamp="$TOOLS/.pins"
pins="$OPENAPI_PYTHON_CLIENT $OPENAPI_TYPESCRIPT $OPENAPI_FETCH $TYPESCRIPT $REDOCLY_CLI"
if [ "$(cat "$stamp" 2>/dev/null)" != "$pins" ]; then
  rm -rf "$TOOLS/venv" "$TOOLS/node"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet "openapi-python-client==$OPENAPI_PYTHON_CLIENT"
  mkdir -p "$TOOLS/node"
  (cd "$TOOLS/node" && echo '{"private": true}' > package.json && npm install --silent --no-audit --no-fund \
    "openapi-typescript@$OPENAPI_TYPESCRIPT" "openapi-fetch@$OPENAPI_FETCH" "typescript@$TYPESCRIPT" \
    "@redocly/cli@$REDOCLY_CLI")
  echo "$pins" > "$stamp"
fi

# --- the served document ---
DJANGO_SETTINGS_MODULE=nuvlyx.test_settings "$PY" -c \
  'import django, json, sys; django.setup(); from nuvlyx.api.openapi import load_spec; json.dump(load_spec(), sys.stdout, indent=1)' \
  > "$TOOLS/openapi.json"

# --- 1. openapi-python-client: zero warnings ---
out="$TOOLS/python-client"
rm -rf "$out"
log="$TOOLS/openapi-python-client.log"
"$TOOLS/venv/bin/openapi-python-client" generate --path "$TOOLS/openapi.json" --output-path "$out" \
  --meta none --overwrite --config clients/openapi-python-client.yaml > "$log" 2>&1 || { cat "$log"; echo "openapi-python-client failed" >&2; exit 1; }
if grep -qiE "warning|error" "$log"; then
  cat "$log"; echo "openapi-python-client printed warnings" >&2; exit 1
fi
echo "openapi-python-client: generated with zero warnings"

# --- 2. openapi-typescript + tsc --strict ---
"$TOOLS/node/node_modules/.bin/openapi-typescript" "$TOOLS/openapi.json" -o "$TOOLS/node/nuvlyx-api.d.ts" --silent
mkdir -p "$TOOLS/node/src"
cp clients/typescript/first-hour.ts "$TOOLS/node/src/first-hour.ts"
"$TOOLS/node/node_modules/.bin/tsc" --strict --noEmit --target es2022 --module nodenext \
  --moduleResolution nodenext --lib es2022,dom "$TOOLS/node/src/first-hour.ts"
echo "openapi-typescript + tsc --strict: OK"

# --- 3. Redocly lint: no errors ---
"$TOOLS/node/node_modules/.bin/redocly" lint --config clients/redocly.yaml --format stylish "$TOOLS/openapi.json"
echo "redocly lint: no errors"
