# Sourced by the scripts that test a running server: a release build (or
# $TENANTRY_BIN) serving a fresh SQLite file with one seeded workspace,
# `demo-1`, of $LEADS leads (and, given $REQUESTS_PER_MINUTE, that budget) on a
# free loopback port, stopped and removed when the script exits. Sets BIN, WORK
# and PORT, and waits until the server answers.
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
export DATABASE_URL="sqlite://$WORK/tenantry.db" MIGRATION_DATABASE_URL="sqlite://$WORK/tenantry.db"
export DATA_DIR="$WORK" PORT BASE_DOMAIN=localhost RUST_LOG=warn
export SECRET_KEY="test-server-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')"
"$BIN" seed --tenants 1 --leads "${LEADS:-200}" >/dev/null
if [ -n "${REQUESTS_PER_MINUTE:-}" ]; then
  "$BIN" tenants limits demo-1 --requests-per-minute "$REQUESTS_PER_MINUTE" >/dev/null
fi
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 0.2
done
