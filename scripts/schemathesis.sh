#!/usr/bin/env bash
# The native API attacked from its own description (issue 16): schemathesis generates requests from the OpenAPI
# document the server publishes (every operation, valid and invalid data, stateful sequences) and checks each answer:
# no 5xx, every status, header and body as documented, every schema-invalid request refused, undeclared methods 405.
# Starts a throw-away server (SQLite, free loopback port) with an account holding every privilege and a token for
# it, and stops it by its PID.
# Usage: scripts/schemathesis.sh path/to/tessera [MAX_EXAMPLES]   (make test: 25 per operation; make fuzz: more)
set -euo pipefail

bin=$(realpath "$1")
examples=${2:-25}
venv=${TESSERA_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/venv}
[ -x "$venv/bin/schemathesis" ] || { echo "schemathesis is not installed: run .ci/setup test" >&2; exit 1; }
work=$(mktemp -d -t tessera-schemathesis.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$work/schemathesis.db"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
echo "schemathesis-password-1" | "$bin" account create fuzzer --privileges all --password-stdin >/dev/null
# The calling token comes from scripts/schemathesis_hooks.py, re-issued whenever a test rotated or revoked it.
export TESSERA_BIN="$bin" TESSERA_FUZZ_TOKEN_PREFIX="schemathesis-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"

TESSERA_ADMIN_PASSWORD=unused-admin-password "$bin" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

status=0
export TESSERA_BASE_URL="$base"
here=$(cd "$(dirname "$0")" && pwd)
# From the temp dir: schemathesis keeps a cache in the directory it runs in.
cd "$work"
PYTHONPATH="$here" SCHEMATHESIS_HOOKS=schemathesis_hooks "$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "$examples" --seed 20261130 \
  --phases examples,coverage,fuzzing,stateful \
  --no-color || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- server log ----"
  tail -50 "$work/server.log"
fi
exit "$status"
