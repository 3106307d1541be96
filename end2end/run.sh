#!/usr/bin/env bash
# Runs the Playwright suite against a freshly started tessera server: a free loopback port, a throw-away
# database, a known admin password. Stops the server (by its PID) whatever happens.
# With E2E_BACKEND=postgres the database is a throw-away PostgreSQL cluster (initdb in a temp dir, a free port,
# stopped by its PID at the end) instead of a SQLite file.
# Usage: [E2E_BACKEND=postgres] end2end/run.sh path/to/tessera [playwright args...]
set -euo pipefail

bin=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d -t tessera-e2e.XXXXXX)

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
# shellcheck source=../scripts/pg_throwaway.sh
. "$here/../scripts/pg_throwaway.sh"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

export TESSERA_BIN="$bin"
export DATABASE_URL="sqlite://$work/e2e.db"
if [ "${E2E_BACKEND:-sqlite}" = postgres ]; then
  pg_start
  DATABASE_URL=$(pg_createdb tessera_e2e)
  export DATABASE_URL
fi
export TESSERA_ADMIN_PASSWORD="e2e-$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
export TESSERA_BASE_URL="http://127.0.0.1:$port"

# Loopback is a trusted proxy, as a real deployment's reverse proxy would be: journeys that fail sign-ins on
# purpose name their own client address (X-Forwarded-For), so the throttling of 127.0.0.1 never blocks the rest.
"$bin" serve --addr "127.0.0.1:$port" --trusted-proxy 127.0.0.1 >"$work/server.log" 2>&1 &
server=$!

for _ in $(seq 1 100); do
  if curl -fsS "$TESSERA_BASE_URL/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/server.log"; echo "tessera did not start" >&2; exit 1; fi
  sleep 0.1
done

cd "$here"
status=0
npx playwright test "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- server log ----"
  cat "$work/server.log"
fi
exit "$status"
