#!/usr/bin/env bash
# Fuzzes the JSON API with Schemathesis (an OpenAPI fuzzer from PyPI that no one
# here wrote) against a real server: a release build on a fresh SQLite file with
# one seeded workspace and a `write` API key made through the settings page.
# Every response must be no 5xx and must match the OpenAPI document the server
# publishes (status codes, content types, headers, bodies).
#
#   scripts/schemathesis.sh            # 25 cases per operation, 2 minutes at most
#   EXAMPLES=100 scripts/schemathesis.sh
#
# Bounded: loopback only, EXAMPLES cases per operation, MAX_TIME seconds at most.
# Needs Python 3 (it installs Schemathesis into a virtualenv under target/).
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES="${EXAMPLES:-25}"
MAX_TIME="${MAX_TIME:-120}"
VENV="target/schemathesis-venv"
SCHEMATHESIS_VERSION="4.32.5"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --release --quiet
BIN="$PWD/target/release/tenantry"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export DATABASE_URL="sqlite://$WORK/fuzz.db" MIGRATION_DATABASE_URL="sqlite://$WORK/fuzz.db"
export DATA_DIR="$WORK" PORT BASE_DOMAIN=localhost RUST_LOG=warn
export SECRET_KEY="schemathesis-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')"
"$BIN" seed --tenants 1 --leads 200 >/dev/null
# A budget the fuzzer cannot reach (the budget itself has tests of its own).
"$BIN" tenants limits demo-1 --requests-per-minute 1000000 >/dev/null
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!

HOST="demo-1.localhost"
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "$BASE/healthz" && break
  sleep 0.2
done

# Log in as the seeded admin and make a key, as an admin would.
JAR="$WORK/cookies"
csrf() { grep -o 'name="csrf_token" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//'; }
TOKEN="$(curl -fsS -c "$JAR" -b "$JAR" -H "Host: $HOST" "$BASE/login" | csrf)"
curl -fsS -o /dev/null -c "$JAR" -b "$JAR" -H "Host: $HOST" \
  --data-urlencode "csrf_token=$TOKEN" --data-urlencode "email=admin@demo-1.test" \
  --data-urlencode "password=demo-password" "$BASE/login"
TOKEN="$(curl -fsS -c "$JAR" -b "$JAR" -H "Host: $HOST" "$BASE/settings/api" | csrf)"
KEY="$(curl -fsS -c "$JAR" -b "$JAR" -H "Host: $HOST" \
  --data-urlencode "csrf_token=$TOKEN" --data-urlencode "name=Schemathesis" \
  --data-urlencode "scope=write" --data-urlencode "expires_in_days=1" \
  "$BASE/settings/api/keys" | grep -o 'value="tnt_[^"]*"' | sed 's/value="//; s/"$//')"
[ -n "$KEY" ] || { echo "could not make an API key"; exit 1; }

curl -fsS -H "Host: $HOST" "$BASE/api/v1/openapi.json" >"$WORK/openapi.json"

set +e
"$VENV/bin/schemathesis" run "$WORK/openapi.json" \
  --url "$BASE" \
  -H "Host: $HOST" \
  -H "Authorization: Bearer $KEY" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$EXAMPLES" \
  --max-time "$MAX_TIME" \
  --workers 2 \
  --seed 20261203 \
  --no-color
STATUS=$?
set -e
if grep -q '"level":"ERROR"\| ERROR ' "$WORK/server.log"; then
  echo "the server logged errors:"; grep 'ERROR' "$WORK/server.log" | head -20
  STATUS=1
fi
exit $STATUS
