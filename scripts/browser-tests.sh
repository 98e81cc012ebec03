#!/usr/bin/env bash
# Browser tests in the installed Chromium (Debian's `chromium`), driven by
# playwright-core (installed under target/ with axe-core; no browser download),
# against a server on a fresh SQLite file with one seeded workspace: the
# pipeline board (tests/browser/pipeline.mjs), tasks, the dashboard, bulk changes
# and imports (tests/browser/daily.mjs), and an accessibility audit of every
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
LEADS=300
. scripts/seeded-server.sh

mkdir -p target/browser-shots
cp tests/browser/*.mjs "$NODE_DIR/"
export BASE="http://demo-1.localhost:$PORT" APEX="http://localhost:$PORT"
SHOTS="$PWD/target/browser-shots" node "$NODE_DIR/pipeline.mjs"
SHOTS="$PWD/target/browser-shots" node "$NODE_DIR/daily.mjs"
node "$NODE_DIR/a11y.mjs"
