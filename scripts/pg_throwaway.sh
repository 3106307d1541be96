# Sourced by end2end/run.sh and bench/run.sh: a throw-away PostgreSQL cluster from Debian's `postgresql` package.
#   pg_start         initdb into a new temp dir, start the server on a free loopback port (and a socket in that
#                    dir), wait until it is ready; sets PG_PID, PG_DIR, PG_PORT, PG_BIN
#   pg_createdb NAME creates a database, prints its URL
#   pg_stop          stops the server by its PID (SIGINT, the fast shutdown) and removes the dir
# PostgreSQL refuses to run as root: as root it runs as the `postgres` user (setpriv execs, so $! is its PID).
# fsync is off: the data is thrown away.

PG_PID=""
PG_DIR=""

pg_start() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL is not installed: run .ci/setup test" >&2; return 1; }
  PG_DIR=$(mktemp -d -t tessera-pg.XXXXXX)
  PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$PG_DIR"
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups)
  fi
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
  "${as_pg[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -k "$PG_DIR" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 >"$PG_DIR/postgres.log" 2>&1 &
  PG_PID=$!
  local _
  for _ in $(seq 1 100); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then return 0; fi
    sleep 0.1
  done
  cat "$PG_DIR/postgres.log" >&2
  echo "PostgreSQL did not start" >&2
  return 1
}

pg_createdb() {
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE $1" postgres
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"
}

pg_stop() {
  if [ -n "$PG_PID" ]; then
    kill -INT "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=""
  fi
  if [ -n "$PG_DIR" ]; then
    rm -rf "$PG_DIR"
    PG_DIR=""
  fi
}
