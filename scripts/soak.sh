#!/usr/bin/env bash
# The soak (issue 16): the release binary on a throw-away SQLite database under mixed traffic for SECONDS, sampled
# every 10 s (scripts/soak.py); writes REPORT.md and a PNG plot beside it, and fails when memory or descriptors
# grow after the warm-up, a request fails, or the p99 drifts. `make soak` runs 30 minutes into bench/SOAK.md;
# `make test` runs 2 minutes into a temporary report.
# Usage: scripts/soak.sh path/to/tessera SECONDS REPORT.md
set -euo pipefail

bin=$(realpath "$1")
seconds=$2
report=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
venv=${TESSERA_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/venv}
[ -x "$venv/bin/python" ] || { echo "the Python test tools are not installed: run .ci/setup test" >&2; exit 1; }
work=$(mktemp -d -t tessera-soak.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

db="$work/soak.db"
export DATABASE_URL="sqlite://$db"
password="soak-password-$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
echo "$password" | "$bin" account create soak --privileges "manage-api-tokens,list-accts" --password-stdin >/dev/null
for i in $(seq 1 20); do
  "$bin" token create --account soak --name "verify-$i" --privilege list-accts --expires never >>"$work/tokens.txt"
done
manager=$("$bin" token create --account soak --name manager --privilege manage-api-tokens --privilege list-accts --expires never)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
RUST_LOG=warn TESSERA_ADMIN_PASSWORD=unused-admin-password "$bin" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

mkdir -p "$(dirname "$report")"
status=0
"$venv/bin/python" "$here/soak.py" "$base" "$server" "$db" "$work/tokens.txt" "$manager" "$password" "$seconds" \
  "$report" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- server log ----"
  tail -30 "$work/server.log"
fi
exit "$status"
