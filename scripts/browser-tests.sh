#!/usr/bin/env bash
# Browser tests in the installed Chromium (Debian's `chromium`), driven by
# playwright-core (installed under target/ with axe-core; no browser download),
# against a server on a fresh SQLite file with one seeded workspace: the
# pipeline board (tests/browser/pipeline.mjs) and an accessibility audit of every
# page (tests/browser/a11y.mjs). Screenshots go to target/browser-shots/.
#
#   scripts/browser-tests.sh
#   TENANTRY_BIN=target/debug/tenantry scripts/browser-tests.sh   # a debug build
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_DIR="target/browser-tests"
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ] || [ ! -d "$NODE_DIR/node_modules/axe-core" ]; then
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm init -y >/dev/null && npm install --silent playwright-core@1 axe-core@4)
fi
if [ -z "${TENANTRY_BIN:-}" ]; then
  cargo build --release --quiet
  TENANTRY_BIN="target/release/tenantry"
fi
BIN="$PWD/$TENANTRY_BIN"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export DATABASE_URL="sqlite://$WORK/browser.db" MIGRATION_DATABASE_URL="sqlite://$WORK/browser.db"
export DATA_DIR="$WORK" PORT BASE_DOMAIN=localhost RUST_LOG=warn
export SECRET_KEY="browser-tests-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')"
"$BIN" seed --tenants 1 --leads 300 >/dev/null
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 0.2
done

mkdir -p target/browser-shots
cp tests/browser/*.mjs "$NODE_DIR/"
export BASE="http://demo-1.localhost:$PORT" APEX="http://localhost:$PORT"
SHOTS="$PWD/target/browser-shots" node "$NODE_DIR/pipeline.mjs"
node "$NODE_DIR/a11y.mjs"
