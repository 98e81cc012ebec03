#!/usr/bin/env bash
# Fuzzes the JSON API with Schemathesis (an OpenAPI fuzzer from PyPI that no one
# here wrote) against a real server: a release build on a fresh SQLite file with
# one seeded workspace and a `write` API key made through the settings page.
# Every response must be no 5xx and must match the OpenAPI document the server
# publishes (status codes, content types, headers, bodies).
#
#   scripts/schemathesis.sh            # 25 cases per operation, 2 minutes at most
#   TENANTRY_BIN=target/debug/tenantry scripts/schemathesis.sh   # a debug build
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

# A budget the fuzzer cannot reach (the budget itself has tests of its own).
LEADS=200 REQUESTS_PER_MINUTE=1000000
. scripts/seeded-server.sh

HOST="demo-1.localhost"
BASE="http://127.0.0.1:$PORT"

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
