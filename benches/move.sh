#!/usr/bin/env bash
# The move bench: a tenant of 100,000 leads (5,000 companies, 10,000 notes)
# moved between placements with `tenantry tenants move`, on SQLite (shared ->
# dedicated -> shared) and on PostgreSQL (shared -> schema -> dedicated ->
# shared). Prints each move's total time and write pause from its report.
#
#   benches/move.sh [LEADS]      (default 100000; needs PostgreSQL on
#                                 127.0.0.1:5432 with trust auth for its half)
set -euo pipefail
cd "$(dirname "$0")/.."
LEADS="${1:-100000}"
# TENANTRY_BIN: a binary built already (the default builds target/release).
if [ -z "${TENANTRY_BIN:-}" ]; then cargo build --release --quiet; fi
BIN="${TENANTRY_BIN:-$PWD/target/release/tenantry}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export SECRET_KEY="$(head -c 48 /dev/urandom | base64)" RUST_LOG=warn
# Nothing serves during the bench: the old store may go at once.
export TENANT_CACHE_TTL_SECS=0

moves() {
  local engine="$1"; shift
  "$BIN" seed --tenants 1 --leads "$LEADS" --placement shared | tail -n 1
  for to in "$@"; do
    "$BIN" tenants move demo-1 --to "$to" | grep '^moved ' |
      sed -E "s/^moved \`demo-1\` from ([a-z]+).* to ([a-z]+).*writes paused ([0-9]+) ms.* ([0-9.]+) s in all$/$engine: \1 -> \2: pause \3 ms, total \4 s/"
  done
}

echo "== SQLite, $LEADS leads"
(export DATABASE_URL="sqlite://$WORK/main.db" DATA_DIR="$WORK"; moves sqlite dedicated shared)

if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  DB="tenantry_move_bench_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" postgres
  trap 'rm -rf "$WORK"; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres; for d in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE '"'"'${DB}_tenant_%'"'"'" postgres); do psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $d WITH (FORCE)" postgres; done' EXIT
  echo "== PostgreSQL, $LEADS leads"
  (export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" MIGRATION_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"; moves postgres schema dedicated shared)
else
  echo "PostgreSQL is not reachable on 127.0.0.1:5432: its half is skipped"
fi
