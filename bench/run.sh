#!/usr/bin/env bash
# `make bench`: how fast Tessera verifies tokens. Starts the release server on a database seeded with 100,000 tokens
# across 1,000 accounts, loads it over loopback with wrk (closed loop, for rates) and bench_paced (open loop at a
# fixed 10,000 req/s, for latency), several bounded rounds each, and writes the medians to bench/RESULTS.md.
# Then the same verification on PostgreSQL: one instance, and three behind nginx (round robin), same data, same
# client, fewer rounds.
# Usage: bench/run.sh BIN EXAMPLES_DIR   (the Makefile passes both)
set -euo pipefail

bin=$1
examples=$2
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${BENCH_ROUNDS:-7}
seconds=${BENCH_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-32}
accounts=${BENCH_ACCOUNTS:-1000}
tokens=${BENCH_TOKENS:-100000}
paced_rate=10000
# Also paced at half that rate: the latency when the server is not saturated.
paced_low=5000

work=$(mktemp -d)
server_pid=""
pg_servers=()
nginx_pid=""
# shellcheck source=../scripts/pg_throwaway.sh
. "$root/scripts/pg_throwaway.sh"
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  for pid in "${pg_servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  pg_stop
  # BENCH_KEEP=DIR keeps the at-scale database and its token files there, for measuring by hand afterwards.
  if [ -n "${BENCH_KEEP:-}" ] && [ -d "$work/scale" ]; then mkdir -p "$BENCH_KEEP" && cp -r "$work/scale/." "$BENCH_KEEP/"; fi
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

db="sqlite://$work/bench.db"
log "seeding $tokens tokens across $accounts accounts"
seed_start=$(date +%s.%N)
"$examples/bench_seed" "$db" "$accounts" "$tokens" "$work" >&2
seed_time=$(echo "$(date +%s.%N) - $seed_start" | bc)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# Servers on CPU 0, every client (wrk, bench_paced) on CPU 1: neither steals the other's core, so rounds agree.
server_cpu="taskset -c 0"
client_cpu="taskset -c 1"
log "starting $bin on $base"
RUST_LOG=warn TESSERA_ADMIN_PASSWORD=bench-admin-password DATABASE_URL=$db \
  $server_cpu "$bin" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "$base/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }
# The ceiling: axum's hello world on the same runtime (bench/bare.rs), on the same core, idle while Tessera is
# measured and the other way round.
bare_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bare_base="http://127.0.0.1:$bare_port"
$server_cpu "$examples/bench_bare" "127.0.0.1:$bare_port" >"$work/bare.log" 2>&1 &
bare_pid=$!
pg_servers+=("$bare_pid")
for _ in $(seq 100); do curl -fs "$bare_base/healthz" >/dev/null && break; sleep 0.1; done

# A sanity check before measuring: valid tokens pass, malformed ones are refused.
valid_one=$(head -1 "$work/valid.txt" | cut -d' ' -f2)
bad_one=$(head -1 "$work/malformed.txt" | cut -d' ' -f2)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $valid_one" "$base/api/v1/auth?privilege=list-accts")" = 200 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bad_one" "$base/api/v1/auth?privilege=list-accts")" = 401 ]

# What a browser downloads to show the sign-in page and make it live (the page, then the script, module and
# stylesheet it names, and the split modules' loader the script imports), in bytes as sent for an
# Accept-Encoding of $2 ("identity" for the files themselves); each file's size goes to $work/first_load_$1,
# the total to stdout. The signed-in pages' modules are not part of it: the sign-in page never fetches them.
first_load() {
  local page files script total=0 bytes
  page=$(curl -fs "$base/login")
  files=$(echo "$page" | grep -oE '(/assets/[0-9a-f]+)?/pkg/[A-Za-z0-9_.-]+\.(js|wasm|css)' | sort -u)
  script=$(echo "$files" | grep -E '/tessera\.js$' | head -1)
  files="/login $( (echo "$files"; curl -fs "$base$script" | grep -oE '__wasm_split[A-Za-z0-9_.-]*\.js' |
    sed "s|^|${script%/*}/|") | sort -u | tr '\n' ' ')"
  for f in $files; do
    bytes=$(curl -fs -o /dev/null -H "Accept-Encoding: $2" -w '%{size_download}' "$base$f")
    echo "$f $bytes" >>"$work/first_load_$1"
    total=$((total + bytes))
  done
  echo "$total"
}
first_identity=$(first_load identity identity)
first_gzip=$(first_load gzip gzip)
first_br=$(first_load br "gzip, deflate, br")
first_files=$(paste "$work/first_load_identity" "$work/first_load_gzip" "$work/first_load_br" |
  awk '{printf "%-44s identity %9d  gzip %9d  br %9d\n", $1, $2, $4, $6}')
kb() { echo "$(( ($1 + 512) / 1024 )) KB"; }
# The signed-in pages' modules, fetched when a page is first shown (plain and brotli sizes, as built).
split_files=$(cd "$root/target/site/pkg" &&
  for f in split_*.wasm chunk_*.wasm; do
    if [ -e "$f" ]; then
      printf '%-44s identity %9d  br %9d\n' "$f" "$(stat -c %s "$f")" "$(stat -c %s "$f.br" 2>/dev/null || echo 0)"
    fi
  done)
# Where the WASM's bytes go, by crate and by generic function (issue 17).
# The whole program as the compiler left it, before the split (twiggy 0.7 cannot read the split main module).
python3 "$root/bench/wasm_bytes.py" twiggy "${CARGO_TARGET_DIR:-$root/target}/front/wasm32-unknown-unknown/wasm-release/frontend.wasm" \
  >"$work/wasm_bytes"

# wrk SCENARIO PATH TOKEN_FILE -> "requests_per_second p50_ms p99_ms non2xx"
to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v } else { sub(/s$/,"",v); print v*1000 } }'; }
run_wrk() {
  local out
  out=$(BENCH_PATH=$2 TOKEN_FILE=$3 ${wrk_cmd:-$client_cpu wrk} -t1 -c"$connections" -d"${seconds}s" --latency -s "$root/bench/tokens.lua" "$base" 2>&1)
  echo "$out" >>"$work/wrk.log"
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)
  p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  echo "$1 $rps $p50 $p99 ${non2xx:-0}"
}

median() { sort -g | awk '{ a[NR]=$1 } END { if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

log "warming up"
run_wrk warmup /api/v1/auth?privilege=list-accts "$work/valid.txt" >/dev/null
base=$bare_base run_wrk warmup /healthz "$work/valid.txt" >/dev/null

# One of the three rate scenarios against the limit: bare axum, Tessera's /healthz, verification.
rate_scenario() {
  case $1 in
    bare) base=$bare_base run_wrk bare /healthz "$work/valid.txt" ;;
    healthz) run_wrk healthz /healthz "$work/valid.txt" ;;
    valid) run_wrk valid "/api/v1/auth?privilege=list-accts" "$work/valid.txt" ;;
  esac
}
: >"$work/results"
for round in $(seq "$rounds"); do
  log "round $round/$rounds (${seconds}s each)"
  # The three in a different order each round, so a drift of the machine does not favour one.
  case $((round % 3)) in
    1) order="bare healthz valid" ;;
    2) order="healthz valid bare" ;;
    0) order="valid bare healthz" ;;
  esac
  for scenario in $order; do rate_scenario "$scenario" >>"$work/results"; done
  run_wrk malformed "/api/v1/auth?privilege=list-accts" "$work/malformed.txt" >>"$work/results"
  read -r sent ok p50 p99 max < <($client_cpu "$examples/bench_paced" "$base/api/v1/auth?privilege=list-accts" "$work/valid.txt" "$paced_rate" "$seconds" spin)
  echo "paced $sent $ok $p50 $p99 $max" >>"$work/results"
  read -r sent ok p50 p99 max < <($client_cpu "$examples/bench_paced" "$base/api/v1/auth?privilege=list-accts" "$work/valid.txt" "$paced_low" "$seconds" spin)
  echo "paced_low $sent $ok $p50 $p99 $max" >>"$work/results"
  # The same open-loop client on /healthz: the latency floor of client, loopback and HTTP stack on this machine.
  read -r sent ok p50 p99 max < <($client_cpu "$examples/bench_paced" "$base/healthz" "$work/valid.txt" "$paced_rate" "$seconds" spin)
  echo "paced_healthz $sent $ok $p50 $p99 $max" >>"$work/results"
  read -r sent ok p50 p99 max < <($client_cpu "$examples/bench_paced" "$bare_base/healthz" "$work/valid.txt" "$paced_rate" "$seconds" spin)
  echo "paced_bare $sent $ok $p50 $p99 $max" >>"$work/results"
done

kill "$server_pid" "$bare_pid"; wait "$server_pid" "$bare_pid" 2>/dev/null || true; server_pid=""

# Usage counting and rate limits (issue 15): the same verification on two copies of the database, interleaved
# round by round: one server counting nothing (--no-usage-counting), one counting usage with a rate limit set on
# every token (high enough never to refuse, so every call pays for the check). Both servers on CPU 0, wrk on
# CPU 1; each server warmed up past its first usage write (which also records each token's first address, once);
# rounds of 60 s, the writer's interval, so each holds one usage write; the order of the two alternates, and the
# servers are started in both orders (`usage_phase`).
log "usage counting and rate limits: two servers, interleaved"
usage_rounds=${BENCH_USAGE_ROUNDS:-4}
usage_seconds=60
cp "$work/bench.db" "$work/plain.db"
cp "$work/bench.db" "$work/usage.db"
python3 - "$work/usage.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE tokens SET rate_limit = '1000000/second'")
db.commit()
PY
start_server() { # PORT DATABASE EXTRA... -> pid
  local port=$1 database=$2
  shift 2
  RUST_LOG=warn TESSERA_ADMIN_PASSWORD=bench-admin-password DATABASE_URL=$database \
    taskset -c 0 "$bin" serve --addr "127.0.0.1:$port" "$@" >>"$work/usage-server.log" 2>&1 &
  echo $!
}
# wrk pinned to CPU 1 for these rounds.
usage_wrk() { # SCENARIO PORT
  base="http://127.0.0.1:$2"
  seconds=$usage_seconds wrk_cmd="taskset -c 1 wrk" run_wrk "$1" "/api/v1/auth?privilege=list-accts" "$work/valid.txt"
}
# The same comparison by what each call costs the server's core: both servers under the same open-loop load at
# the same time (two bench_paced clients, ${usage_paced_rate} req/s each for ${usage_seconds} s, so each window holds one
# usage write; well below what either can answer, since a saturated server's cost per call changes with the load),
# each process's CPU time (user and system, from /proc) divided by the calls it answered. On a core of its own a
# server's top rate is the inverse of that cost. Measured side by side, whatever else the machine does in a window
# (its other guests, our own writers) weighs on both alike: measured one after the other, 5-second slices of the
# very same server differed by up to 20% here.
usage_paced_rate=${BENCH_USAGE_PACED_RATE:-5000}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
paced_calls() { # PORT OUT: bench_paced's "sent ok ..." line into OUT
  taskset -c 1 "$examples/bench_paced" "http://127.0.0.1:$1/api/v1/auth?privilege=list-accts" "$work/valid.txt" \
    "$usage_paced_rate" "$usage_seconds" >"$2"
}
per_call() { # SCENARIO TICKS ANSWERED -> "SCENARIO microseconds_per_call answered"
  echo "$1 $(echo "scale=3; $2 * 1000000 / $ticks_per_second / $3" | bc) $3"
}
usage_cpu_rounds=${BENCH_USAGE_CPU_ROUNDS:-6}
# Which server is started first weighs on the comparison: two identical servers (the same binary, both counting
# usage under limits), measured side by side like this by hand, found the one started second costing 2% more per
# call in 5 of 6 rounds (median ratio 0.980, whichever client started first). So the rounds run in two halves, the
# servers started in one order for the first half and in the other for the second.
usage_phase() { # FIRST (plain|usage) WRK_ROUNDS CPU_ROUNDS
  local first=$1 wrk_rounds=$2 cpu_rounds=$3 round
  plain_port=$(free_port)
  usage_port=$(free_port)
  if [ "$first" = plain ]; then
    plain_pid=$(start_server "$plain_port" "sqlite://$work/plain.db" --no-usage-counting)
    usage_pid=$(start_server "$usage_port" "sqlite://$work/usage.db")
  else
    usage_pid=$(start_server "$usage_port" "sqlite://$work/usage.db")
    plain_pid=$(start_server "$plain_port" "sqlite://$work/plain.db" --no-usage-counting)
  fi
  pg_servers+=("$plain_pid" "$usage_pid")
  for port in "$plain_port" "$usage_port"; do
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  done
  # The usage server's first write comes 60 s after its start: its warm-up (after the other's 12 s) runs past it.
  base="http://127.0.0.1:$plain_port"
  seconds=12 wrk_cmd="taskset -c 1 wrk" run_wrk warmup "/api/v1/auth?privilege=list-accts" "$work/valid.txt" >/dev/null
  base="http://127.0.0.1:$usage_port"
  seconds=55 wrk_cmd="taskset -c 1 wrk" run_wrk warmup "/api/v1/auth?privilege=list-accts" "$work/valid.txt" >/dev/null
  for round in $(seq "$wrk_rounds"); do
    log "usage round $round/$wrk_rounds ($first started first)"
    if [ $((round % 2)) = 1 ]; then
      usage_wrk plain_valid "$plain_port" >>"$work/results"
      usage_wrk usage_valid "$usage_port" >>"$work/results"
    else
      usage_wrk usage_valid "$usage_port" >>"$work/results"
      usage_wrk plain_valid "$plain_port" >>"$work/results"
    fi
  done
  for round in $(seq "$cpu_rounds"); do
    log "usage CPU round $round/$cpu_rounds ($first started first; both servers at once)"
    plain_before=$(cpu_ticks "$plain_pid")
    usage_before=$(cpu_ticks "$usage_pid")
    paced_calls "$plain_port" "$work/plain_paced" &
    plain_client=$!
    paced_calls "$usage_port" "$work/usage_paced" &
    usage_client=$!
    wait "$plain_client" "$usage_client"
    plain_ticks=$(( $(cpu_ticks "$plain_pid") - plain_before ))
    usage_ticks=$(( $(cpu_ticks "$usage_pid") - usage_before ))
    # A round in which either server left calls unanswered (the machine stalled, connections failed) compares
    # nothing: its CPU went to fewer calls. It is listed, and left out of the ratios.
    read -r plain_sent plain_ok _ <"$work/plain_paced"
    read -r usage_sent usage_ok _ <"$work/usage_paced"
    suffix=""
    if [ $((plain_ok * 100)) -lt $((plain_sent * 99)) ] || [ $((usage_ok * 100)) -lt $((usage_sent * 99)) ]; then
      suffix="_short"
      log "usage CPU round $round: answered $plain_ok and $usage_ok of $plain_sent and $usage_sent calls; left out"
    fi
    per_call "plain_cpu$suffix" "$plain_ticks" "$plain_ok" >>"$work/results"
    per_call "usage_cpu$suffix" "$usage_ticks" "$usage_ok" >>"$work/results"
  done
}
usage_phase plain $(( (usage_rounds + 1) / 2 )) $(( (usage_cpu_rounds + 1) / 2 ))
kill "$plain_pid" "$usage_pid"; wait "$plain_pid" "$usage_pid" 2>/dev/null || true
usage_phase usage $(( usage_rounds / 2 )) $(( usage_cpu_rounds / 2 ))
usage_waiting=$(curl -fs "http://127.0.0.1:$usage_port/metrics" | awk '$1=="tessera_usage_counters_waiting" {print $2}')
rate_tokens=$(curl -fs "http://127.0.0.1:$usage_port/metrics" | awk '$1=="tessera_rate_limit_tokens" {print $2}')
plain_rss=$(( $(ps -o rss= -p "$plain_pid") / 1024 ))
usage_rss=$(( $(ps -o rss= -p "$usage_pid") / 1024 ))
usage_rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*), coalesce(sum(count),0) FROM token_usage").fetchone())' "$work/usage.db")
kill "$plain_pid" "$usage_pid"; wait "$plain_pid" "$usage_pid" 2>/dev/null || true
# The memory counting and limits hold with every one of the $tokens tokens active between two writes.
cp "$work/bench.db" "$work/memory.db"
read -r memory_tokens memory_waiting memory_limiter memory_after memory_cached < <("$examples/bench_usage_memory" "sqlite://$work/memory.db")
mib() { printf '%.1f MiB' "$(echo "scale=3; $1 / 1048576" | bc)"; }
per_token() { echo "$(( $1 / memory_tokens )) bytes"; }

# At scale (issue 17): 1,000,000 tokens, 100,000 of them in one account that signs in. Cold start, memory, the
# list and search through the server function the browser calls, and a storm of sign-ins under verification load.
scale_tokens=${BENCH_SCALE_TOKENS:-1000000}
scale_big=${BENCH_SCALE_BIG:-100000}
scale_password=bench-list-password
log "at scale: seeding $scale_tokens tokens, $scale_big in one account"
mkdir -p "$work/scale"
BENCH_PASSWORD=$scale_password "$examples/bench_seed" "sqlite://$work/scale/scale.db" 1000 "$scale_tokens" "$work/scale" "$scale_big" >&2
# A fleet in service: every token's address (loopback) already recorded, so the storm below meets the steady state,
# not the first calls of 1,000,000 tokens (those are recorded 10,000 a write, with an audit event each).
python3 - "$work/scale/scale.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO token_addresses (token_id, ip, first_seen, last_seen) SELECT id, '127.0.0.1', created_at, created_at FROM tokens")
db.commit()
PY
scale_port=$(free_port)
scale_base="http://127.0.0.1:$scale_port"
serve_scale() {
  RUST_LOG=warn TESSERA_ADMIN_PASSWORD=bench-admin-password DATABASE_URL="sqlite://$work/scale/scale.db" \
    $server_cpu "$bin" serve --addr "127.0.0.1:$scale_port" >>"$work/scale/server.log" 2>&1 &
  scale_pid=$!
  pg_servers+=("$scale_pid")
}
# The first start migrates (indexes on a million rows); the second is the cold start measured, five times.
serve_scale
for _ in $(seq 3000); do curl -fs "$scale_base/healthz" >/dev/null && break; sleep 0.01; done
kill "$scale_pid"; wait "$scale_pid" 2>/dev/null || true
: >"$work/scale/cold"
for _ in 1 2 3 4 5; do
  start_ns=$(date +%s%N)
  serve_scale
  until curl -fs "$scale_base/healthz" >/dev/null 2>&1; do sleep 0.005; done
  echo $(( ($(date +%s%N) - start_ns) / 1000000 )) >>"$work/scale/cold"
  kill "$scale_pid"; wait "$scale_pid" 2>/dev/null || true
done
cold_ms=$(median <"$work/scale/cold")
serve_scale
until curl -fs "$scale_base/healthz" >/dev/null 2>&1; do sleep 0.005; done
rss_of() { echo $(( $(ps -o rss= -p "$1") / 1024 )); }
# Where resident memory is: the heap (anonymous) and file pages, nearly all of them the executable's code (clean,
# shared with the page cache, which the kernel takes back first when memory runs short).
rss_parts_of() {
  awk '/^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {printf "heap %d MiB, files (the code) %d MiB", a / 1024, f / 1024}' \
    "/proc/$1/status"
}
rss_idle=$(rss_of "$scale_pid")
rss_idle_parts=$(rss_parts_of "$scale_pid")
log "at scale: list and search timings"
"${TESSERA_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/venv}/bin/python" "$root/bench/lists.py" \
  "$scale_base" user0000 "$scale_password" "$scale_big" "${BENCH_LIST_CALLS:-40}" >>"$work/results"
# Time to usable in the browser (headless Chromium, CPU slowed 4x, pinned to CPU 1): the tokens page of an account
# with 1,000 tokens (a server of its own), and a keystroke in the search box of the 100,000-token account above.
log "at scale: time to usable in Chromium, CPU slowed 4x"
mkdir -p "$work/small"
BENCH_PASSWORD=$scale_password "$examples/bench_seed" "sqlite://$work/small/small.db" 1 1000 "$work/small" 1000 >&2
small_port=$(free_port)
RUST_LOG=warn TESSERA_ADMIN_PASSWORD=bench-admin-password DATABASE_URL="sqlite://$work/small/small.db" \
  $server_cpu "$bin" serve --addr "127.0.0.1:$small_port" >>"$work/small/server.log" 2>&1 &
small_pid=$!
pg_servers+=("$small_pid")
until curl -fs "http://127.0.0.1:$small_port/healthz" >/dev/null 2>&1; do sleep 0.05; done
NODE_PATH="$root/end2end/node_modules" $client_cpu node "$root/bench/usable.cjs" "http://127.0.0.1:$small_port" \
  "$scale_base" user0000 "$scale_password" "${BENCH_USABLE_ROUNDS:-9}" >>"$work/results"
kill "$small_pid"; wait "$small_pid" 2>/dev/null || true
# Query plans of the list's statements, as SQLite runs them (the statements store::tokens::page sends).
python3 - "$work/scale/scale.db" >"$work/scale/plans" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
account = db.execute("SELECT id FROM accounts WHERE username = 'user0000'").fetchone()[0]
for label, sql in [
    ("newest first", "SELECT * FROM tokens WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0"),
    ("by name, last page", "SELECT * FROM tokens WHERE account_id = ? ORDER BY name_key DESC, id DESC LIMIT 20 OFFSET 99980"),
    ("expiry, dated run", "SELECT * FROM tokens WHERE account_id = ? AND expires_at IS NOT NULL ORDER BY expires_at DESC, id DESC LIMIT 20"),
    ("the whole list's sizes (kept by triggers, m0015)", "SELECT tokens, never_expire FROM token_counts WHERE account_id = ?"),
    ("last use, never-used run count", "SELECT count(*) FROM tokens WHERE account_id = ? AND last_used_at IS NULL"),
    ("a big account's search (1,000 tokens or more), newest first or by name: its names are searched in memory (store::name_index) once the account's change counter (m0017) is read", "SELECT tokens, changes FROM token_counts WHERE account_id = ?"),
    ("the same, its names read again after a change", "SELECT id, name_key FROM tokens WHERE account_id = ? ORDER BY created_at, id"),
    ("the same, the page's rows", "SELECT * FROM tokens WHERE account_id = ? AND id IN (1, 2, 3)"),
    ("a smaller account's search, or one sorted by expiry, last use or requests (infix)", "SELECT * FROM tokens WHERE account_id = ? AND name_key LIKE '%-04217%' ORDER BY created_at DESC, id DESC LIMIT 20"),
    ("by requests (30 d), kept beside the tokens (m0016)", "SELECT tokens.* FROM tokens JOIN token_requests r ON r.token_id = tokens.id WHERE r.account_id = ? ORDER BY r.requests DESC, r.token_id DESC LIMIT 20"),
    ("a search's count", "SELECT count(*) FROM tokens WHERE account_id = ? AND name_key LIKE '%-04217%'"),
]:
    plan = "; ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, (account,)))
    print(f"{label}: {plan}")
PY
log "at scale: 100,000 tokens verified (all cached), then 50 sign-ins at once under 10,000 verifications a second"
# Every sampled token used (20 s of wrk), then 15 s for the writers to take in their first uses (last use, usage,
# and the first batches of new addresses), so the storm meets the steady state, not a fleet's first minute.
BENCH_PATH="/api/v1/auth?privilege=list-accts" TOKEN_FILE="$work/scale/valid.txt" $client_cpu wrk -t1 -c"$connections" -d20s \
  -s "$root/bench/tokens.lua" "$scale_base" >/dev/null 2>&1
sleep 15
rss_cached=$(rss_of "$scale_pid")
rss_cached_parts=$(rss_parts_of "$scale_pid")
cached_entries=$(curl -fs "$scale_base/metrics" | awk '$1=="tessera_verification_cache_entries" {print $2}')
$client_cpu "$examples/bench_paced" "$scale_base/api/v1/auth?privilege=list-accts" "$work/scale/valid.txt" "$paced_rate" 3 spin \
  >"$work/scale/quiet"
$client_cpu "$examples/bench_paced" "$scale_base/api/v1/auth?privilege=list-accts" "$work/scale/valid.txt" "$paced_rate" 6 spin \
  >"$work/scale/storm" &
paced_pid=$!
sleep 1
storm_start=$(date +%s%N)
python3 - "$scale_base" "$scale_password" >"$work/scale/storm_signins" <<'PY'
import sys, threading, urllib.parse, urllib.request
base, password = sys.argv[1], sys.argv[2]
codes = []
def sign_in():
    data = urllib.parse.urlencode({"username": "user0000", "password": password}).encode()
    request = urllib.request.Request(base + "/rpc/login", data=data, headers={"Origin": base})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            codes.append(response.status)
    except urllib.error.HTTPError as err:
        codes.append(err.code)
threads = [threading.Thread(target=sign_in) for _ in range(50)]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(f"{code}:{codes.count(code)}" for code in sorted(set(codes))))
PY
storm_ms=$(( ($(date +%s%N) - storm_start) / 1000000 ))
wait "$paced_pid"
read -r quiet_sent quiet_ok quiet_p50 quiet_p99 quiet_max <"$work/scale/quiet"
read -r storm_sent storm_ok storm_p50 storm_p99 storm_max <"$work/scale/storm"
storm_codes=$(cat "$work/scale/storm_signins")
sleep 2
rss_storm=$(rss_of "$scale_pid")
rss_storm_parts=$(rss_parts_of "$scale_pid")
# The tokens table's first page, four times a second for 65 s (so one minute's usage write of the verified tokens
# falls inside), while 10,000 verifications a second run: a page adds the calls waiting in memory to what the
# database holds, it does not write them nor wait for a write under way.
log "at scale: the tokens table under 10,000 verifications a second, across a usage write"
$client_cpu "$examples/bench_paced" "$scale_base/api/v1/auth?privilege=list-accts" "$work/scale/valid.txt" "$paced_rate" 68 spin \
  >"$work/scale/table_load" &
paced_pid=$!
sleep 2
"${TESSERA_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/venv}/bin/python" "$root/bench/lists.py" \
  "$scale_base" user0000 "$scale_password" "$scale_big" 65 under_load >>"$work/results"
wait "$paced_pid"
kill "$scale_pid"; wait "$scale_pid" 2>/dev/null || true

# PostgreSQL: the same data in a throw-away cluster, one instance, then three behind nginx.
pg_rounds=${BENCH_PG_ROUNDS:-3}
log "PostgreSQL: seeding the same $tokens tokens"
pg_start
pg_url=$(pg_createdb tessera_bench)
mkdir -p "$work/pg"
"$examples/bench_seed" "$pg_url" "$accounts" "$tokens" "$work/pg" >&2
# serve_pg PORT: an instance on the PostgreSQL database, waited for.
serve_pg() {
  RUST_LOG=warn TESSERA_ADMIN_PASSWORD=bench-admin-password DATABASE_URL=$pg_url \
    "$bin" serve --addr "127.0.0.1:$1" --trusted-proxy 127.0.0.1 >>"$work/pg-server.log" 2>&1 &
  pg_servers+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.1; done
  cat "$work/pg-server.log" >&2
  return 1
}
pg_ports=("$(free_port)")
serve_pg "${pg_ports[0]}"
base="http://127.0.0.1:${pg_ports[0]}"
# pg_rounds_against LABEL WHAT: the PostgreSQL rounds against $base, results named LABEL_healthz, LABEL_valid,
# LABEL_paced_low.
pg_rounds_against() {
  run_wrk warmup /api/v1/auth?privilege=list-accts "$work/pg/valid.txt" >/dev/null
  for round in $(seq "$pg_rounds"); do
    log "PostgreSQL, $2: round $round/$pg_rounds"
    run_wrk "$1_healthz" /healthz "$work/pg/valid.txt" >>"$work/results"
    run_wrk "$1_valid" "/api/v1/auth?privilege=list-accts" "$work/pg/valid.txt" >>"$work/results"
    read -r sent ok p50 p99 max < <("$examples/bench_paced" "$base/api/v1/auth?privilege=list-accts" "$work/pg/valid.txt" "$paced_low" "$seconds")
    echo "$1_paced_low $sent $ok $p50 $p99 $max" >>"$work/results"
  done
}
pg_rounds_against pg "one instance"
pg_ports+=("$(free_port)" "$(free_port)")
serve_pg "${pg_ports[1]}"
serve_pg "${pg_ports[2]}"
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/client_body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    upstream tessera {
        server 127.0.0.1:${pg_ports[0]};
        server 127.0.0.1:${pg_ports[1]};
        server 127.0.0.1:${pg_ports[2]};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://tessera;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
    }
}
NGINX
/usr/sbin/nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
base="http://127.0.0.1:$nginx_port"
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
pg_rounds_against pg3 "three instances behind nginx"
pg_valid_non2xx=$(awk '$1=="pg_valid" || $1=="pg3_valid" {s+=$5} END {print s+0}' "$work/results")

col() { awk -v s="$1" -v c="$2" '$1==s {print $c}' "$work/results" | median; }
# ratios A B -> the per-round ratios of A's rate to B's (the k-th of each is round k), one per line.
ratios() { paste <(awk -v s="$1" '$1==s {print $2}' "$work/results") <(awk -v s="$2" '$1==s {print $2}' "$work/results") |
  awk '{printf "%.3f\n", $1/$2}'; }
# spread A B -> "median (min–max)" of those ratios.
spread() { local r; r=$(ratios "$1" "$2"); echo "$(echo "$r" | median) ($(echo "$r" | sort -g | head -1)–$(echo "$r" | sort -g | tail -1))"; }
bare_rps=$(col bare 2); bare_p50=$(col bare 3); bare_p99=$(col bare 4)
healthz_vs_bare=$(ratios healthz bare | median); valid_vs_bare=$(ratios valid bare | median)
bare_floor_p50=$(col paced_bare 4); bare_floor_p99=$(col paced_bare 5); bare_floor_max=$(col paced_bare 6)
healthz_rps=$(col healthz 2); valid_rps=$(col valid 2); malformed_rps=$(col malformed 2)
healthz_p99=$(col healthz 4); valid_p99=$(col valid 4); malformed_p99=$(col malformed 4)
healthz_p50=$(col healthz 3); valid_p50=$(col valid 3); malformed_p50=$(col malformed 3)
paced_p50=$(col paced 4); paced_p99=$(col paced 5); paced_max=$(col paced 6)
paced_sent=$(col paced 2); paced_ok=$(col paced 3)
low_p50=$(col paced_low 4); low_p99=$(col paced_low 5); low_max=$(col paced_low 6)
low_sent=$(col paced_low 2); low_ok=$(col paced_low 3)
floor_p50=$(col paced_healthz 4); floor_p99=$(col paced_healthz 5); floor_max=$(col paced_healthz 6)
valid_non2xx=$(awk '$1=="valid" {s+=$5} END {print s+0}' "$work/results")
ratio=$(ratios valid healthz | median)
malformed_ratio=$(printf '%.3f' "$(echo "scale=3; $malformed_rps / $valid_rps" | bc)")
pass() { if [ "$(echo "$1" | bc)" = 1 ]; then echo "met"; else echo "**missed**"; fi; }
# Per-round ratios of usage_valid to plain_valid (rounds interleaved), then their median, min and max.
usage_ratios=$(paste <(awk '$1=="usage_valid" {print $2}' "$work/results") <(awk '$1=="plain_valid" {print $2}' "$work/results") |
  awk '{printf "%.3f\n", $1/$2}')
usage_ratio=$(echo "$usage_ratios" | median)
usage_ratio_min=$(echo "$usage_ratios" | sort -g | head -1)
usage_ratio_max=$(echo "$usage_ratios" | sort -g | tail -1)
# By CPU time per call: the rate without over the rate with is the cost with over the cost without.
cpu_ratios=$(paste <(awk '$1=="plain_cpu" {print $2}' "$work/results") <(awk '$1=="usage_cpu" {print $2}' "$work/results") |
  awk '{printf "%.3f\n", $1/$2}')
cpu_ratio=$(echo "$cpu_ratios" | median)
cpu_ratio_min=$(echo "$cpu_ratios" | sort -g | head -1)
cpu_ratio_max=$(echo "$cpu_ratios" | sort -g | tail -1)
cpu_rounds_short=$(awk '$1=="plain_cpu_short"' "$work/results" | wc -l)

commit=$(git -C "$root" rev-parse --short HEAD)
dirty=$(git -C "$root" status --porcelain -- app server bench | grep -q . && echo " (with uncommitted changes)" || true)
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
cat >"$root/bench/RESULTS.md" <<MD
# Token verification benchmark

Written by \`make bench\` (bench/run.sh). Do not edit by hand; rerun it.

- **Date:** $(date -u '+%Y-%m-%d %H:%M UTC')
- **Commit:** $commit$dirty
- **Machine:** $(nproc) cores, $cpu, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)
- **Data:** $accounts accounts, $tokens tokens (SQLite, WAL), seeded in ${seed_time%.*} s; requests cycle through
  $(wc -l <"$work/valid.txt") different tokens of all accounts.
- **Load:** over loopback, the server pinned to CPU 0 and every client to CPU 1 (\`taskset\`). wrk (1 thread,
  $connections connections, ${seconds} s, closed loop) for rates; bench_paced (open loop, $paced_rate req/s, ${seconds} s, latency from
  each request's due time; hyper's HTTP/1 on one thread that yields until each due time, so the client's own
  wake-ups add nothing) for latency under a fixed load. $rounds rounds; the three rate scenarios against the limit
  (bare axum, \`/healthz\`, verification) in a different order each round; **medians** of the rounds, and of the
  per-round ratios with their min–max.
- **The limit:** \`bench_bare\` (bench/bare.rs), axum's hello world on the same runtime and hyper connection builder,
  pinned to the same core, idle while Tessera is measured.
  Every scenario runs through the same wrk Lua script (one \`Authorization\` header per request), so the client's work
  is the same and only the server's differs.

| scenario | requests/s | p50 | p99 |
|---|---:|---:|---:|
| bare axum, \`GET /healthz\` (the limit) | $bare_rps | $bare_p50 ms | $bare_p99 ms |
| \`GET /healthz\` | $healthz_rps | $healthz_p50 ms | $healthz_p99 ms |
| \`GET /api/v1/auth?privilege=list-accts\`, valid tokens | $valid_rps | $valid_p50 ms | $valid_p99 ms |
| same, malformed tokens (bad checksum) | $malformed_rps | $malformed_p50 ms | $malformed_p99 ms |
| valid tokens at a fixed $paced_rate req/s (open loop) | $paced_rate offered, $paced_ok of $paced_sent answered 200 | $paced_p50 ms | $paced_p99 ms (max $paced_max ms) |
| valid tokens at a fixed $paced_low req/s (open loop) | $paced_low offered, $low_ok of $low_sent answered 200 | $low_p50 ms | $low_p99 ms (max $low_max ms) |
| \`GET /healthz\` at a fixed $paced_rate req/s (open loop; the client's and stack's floor) | $paced_rate offered | $floor_p50 ms | $floor_p99 ms (max $floor_max ms) |
| bare axum at a fixed $paced_rate req/s (open loop; the client's and loopback's floor) | $paced_rate offered | $bare_floor_p50 ms | $bare_floor_p99 ms (max $bare_floor_max ms) |

![Rates against bare axum, per round](rates.png)
![Latency percentiles under a fixed load](latency.png)

Non-2xx answers to valid tokens over all rounds: $valid_non2xx.

## PostgreSQL (issue 12)

The same $tokens tokens in a throw-away PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') cluster on this
machine (fsync off), the same client; $pg_rounds rounds, medians. With three instances, everything (three servers,
nginx, PostgreSQL and the client) shares the same $(nproc) cores, so this shows what the proxy hop costs, not how
far three machines scale.

| scenario | requests/s | p50 | p99 |
|---|---:|---:|---:|
| one instance, \`GET /healthz\` | $(col pg_healthz 2) | $(col pg_healthz 3) ms | $(col pg_healthz 4) ms |
| one instance, valid tokens | $(col pg_valid 2) | $(col pg_valid 3) ms | $(col pg_valid 4) ms |
| one instance, valid tokens at a fixed $paced_low req/s (open loop) | $(col pg_paced_low 3) of $(col pg_paced_low 2) answered 200 | $(col pg_paced_low 4) ms | $(col pg_paced_low 5) ms |
| three instances behind nginx, \`GET /healthz\` | $(col pg3_healthz 2) | $(col pg3_healthz 3) ms | $(col pg3_healthz 4) ms |
| three instances behind nginx, valid tokens | $(col pg3_valid 2) | $(col pg3_valid 3) ms | $(col pg3_valid 4) ms |
| three instances behind nginx, valid tokens at a fixed $paced_low req/s | $(col pg3_paced_low 3) of $(col pg3_paced_low 2) answered 200 | $(col pg3_paced_low 4) ms | $(col pg3_paced_low 5) ms |

Valid tokens on one PostgreSQL instance: $(printf '%.3f' "$(echo "scale=3; $(col pg_valid 2) / $valid_rps" | bc)") × the
SQLite rate above. Non-2xx answers to valid tokens on PostgreSQL over all rounds: $pg_valid_non2xx.

## Targets (issues 5 and 17)

| target | measured (median of per-round ratios; min–max) | |
|---|---|---|
| \`/healthz\` ≥ 0.95 × bare axum | $(spread healthz bare) × | $(pass "$healthz_vs_bare >= 0.95") |
| valid-token verification ≥ 0.85 × bare axum | $(spread valid bare) × | $(pass "$valid_vs_bare >= 0.85") |
| valid-token verification ≥ 0.85 × the \`/healthz\` rate (issue 5) | $(spread valid healthz) × | $(pass "$ratio >= 0.85") |
| p99 < 1 ms at 10,000 req/s | $paced_p99 ms | $(pass "$paced_p99 < 1") |
| malformed tokens refused at ≥ the valid-token rate | $malformed_ratio × | $(pass "$malformed_ratio >= 1") |

## At scale (issue 17)

$scale_tokens tokens in all, $scale_big of them in one account (\`user0000\`, names like \`deploy-000042\`; a third never
expire, half never used; every token's address already recorded, as for a fleet in service), SQLite. The server
pinned to CPU 0, clients to CPU 1.

| measure | measured | target | |
|---|---:|---:|---|
| cold start with $scale_tokens tokens: process start to \`/healthz\` answering (median of 5, migrations already applied) | $cold_ms ms | ≤ 300 ms | $(pass "$cold_ms <= 300") |
| resident memory, idle after start ($rss_idle_parts) | $rss_idle MiB | | |
| resident memory with $cached_entries tokens cached for verification, after 20 s of load and 15 s of quiet ($rss_cached_parts) | $rss_cached MiB | ≤ 60 MiB | $(pass "$rss_cached <= 60") |
| verification p99 at $paced_rate req/s, quiet (3 s) | $quiet_p99 ms ($quiet_ok of $quiet_sent answered 200) | | |
| verification p99 at $paced_rate req/s while 50 sign-ins run at once (6 s, the storm from the 2nd second; it took $storm_ms ms) | $storm_p99 ms (max $storm_max ms; $storm_ok of $storm_sent answered 200) | < 5 ms | $(pass "$storm_p99 < 5") |
| resident memory 2 s after the storm (sign-in answers: $storm_codes; $rss_storm_parts) | $rss_storm MiB | | |

Listing and searching that account's tokens through \`POST /rpc/token_table\` (what the tokens page calls: the
page, its requests (30 d) and the expiring-soon notice; with its session cookie, over HTTP), 20 a page,
$(awk '/^list_/ && !/under_load/ {n++} END {print n}' "$work/results") scenarios × ${BENCH_LIST_CALLS:-40} calls each after one warm-up call; the last row, the first page four
times a second for 65 s while 10,000 verifications a second run (one minute's usage write of the tokens they use
falls inside; $(awk '{print $2 " of " $1}' "$work/scale/table_load") verifications answered 200):

| scenario | p50 | p95 | matching | target p95 < 15 ms |
|---|---:|---:|---:|---|
$(awk '/^list_/ { name=$1; sub(/^list_/, "", name); gsub(/_/, " ", name); printf "| %s | %.2f ms | %.2f ms | %s | %s |\n", name, $2, $3, $4, ($3 < 15 ? "met" : "**missed**") }' "$work/results")

![List and search timings](lists.png)

Time to usable in headless Chromium on loopback with the CPU slowed 4x (\`Emulation.setCPUThrottlingRate\`), the
browser pinned to CPU 1, times taken in the page (\`performance.now()\`), ${BENCH_USABLE_ROUNDS:-9} rounds each, the files
already in the browser's cache as for a returning person (\`bench/usable.cjs\`):

| measure | median | max | target | |
|---|---:|---:|---:|---|
| tokens page of an account with 1,000 tokens: navigation start to hydrated | $(col usable_hydrated_1k 2) ms | $(col usable_hydrated_1k 3) ms | ≤ 1000 ms | $(pass "$(col usable_hydrated_1k 2) <= 1000") |
| the same, to the rows sorted by a click on “Name” made once hydrated | $(col usable_sort_1k 2) ms | $(col usable_sort_1k 3) ms | | |
| 100,000 tokens: a keystroke in the search box (after a pause) to the filtered rows shown | $(col usable_keystroke_100k 2) ms | $(col usable_keystroke_100k 3) ms | ≤ 150 ms | $(pass "$(col usable_keystroke_100k 2) <= 150") |
| its parts: the keystroke to the list's server call sent | $(col usable_keystroke_to_call 2) ms | $(col usable_keystroke_to_call 3) ms | | |
| the call (\`/rpc/token_table\`, over loopback) | $(col usable_keystroke_call 2) ms | $(col usable_keystroke_call 3) ms | | |
| its answer to the filtered rows on screen | $(col usable_keystroke_render 2) ms | $(col usable_keystroke_render 3) ms | | |

Query plans (SQLite's \`EXPLAIN QUERY PLAN\` for the statements the list sends):

\`\`\`
$(cat "$work/scale/plans")
\`\`\`

## Usage counting and rate limits (issue 15)

Two release servers on copies of the same database, measured round by round ($usage_rounds rounds of ${usage_seconds} s, the
order alternating; both servers pinned to CPU 0, wrk to CPU 1; warmed up (12 s and 55 s) past the first usage
write; the servers started in one order for the first half of the rounds and restarted in the other for the
second, since two identical servers measured side by side by hand differed by 2% per call depending on which was
started first): one started with \`--no-usage-counting\` and no rate limits, one counting every verification's outcome per
token and hour (written once a minute) with a rate limit of \`1000000/second\` on every one of the $tokens tokens (checked
on every call, never reached).

| server | requests/s, closed loop (median) | CPU per call at ${usage_paced_rate} req/s (median) | resident memory after the rounds |
|---|---:|---:|---:|
| no usage counting, no limits | $(col plain_valid 2) | $(col plain_cpu 2) µs | $plain_rss MiB |
| usage counting and a limit on every token | $(col usage_valid 2) | $(col usage_cpu 2) µs | $usage_rss MiB |

The CPU rounds ($usage_cpu_rounds, of which $cpu_rounds_short left out: a round in which either server answered fewer than 99% of
its calls compares nothing): both servers at once, each under its own open-loop load of ${usage_paced_rate} req/s for ${usage_seconds} s (one
usage write in each window), each process's CPU time (user and system) over the calls it answered; a server alone
on its core can answer at most one call per that much CPU, so the rate with usage over the rate without is the cost
without over the cost with. It is the steadier measure of the two on a shared machine: whatever else the machine
does in a window weighs on both servers alike, while closed-loop rounds against the very same server differ by up
to a fifth from one to the next.

| target | measured (median of per-round ratios; min–max) | |
|---|---|---|
| with usage and limits ≥ 0.95 × without, by CPU time per call | $cpu_ratio × ($cpu_ratio_min–$cpu_ratio_max) | $(pass "$cpu_ratio >= 0.95") |
| the same, by closed-loop rate (wrk) | $usage_ratio × ($usage_ratio_min–$usage_ratio_max) | $(pass "$usage_ratio >= 0.95") |

After the rounds: $rate_tokens tokens with rate-limit state in memory (bounded: cells older than two hours are
dropped when more than 100,000 are held), $usage_waiting usage counters waiting for the next write (one flush
interval's worth), and (rows, calls) in \`token_usage\`: $usage_rows.

Memory with all $memory_tokens tokens active between two writes, each from an address of its own (the worst case for
the address maps), as bytes held by heap allocations (\`bench_usage_memory\`, a counting allocator):

| held | bytes | per token |
|---|---:|---:|
| usage counters and addresses waiting for the write | $(mib "$memory_waiting") | $(per_token "$memory_waiting") |
| rate-limit cells (kept; tidied above 100,000 tokens) | $(mib "$memory_limiter") | $(per_token "$memory_limiter") |
| after the write: recorded addresses remembered (at most 200,000), maps sized for the next interval, the database driver's caches | $(mib "$memory_after") | $(per_token "$memory_after") |
| verification rows cached, every token looked up once (issue 17; the rows verification needs, not whole token rows) | $(mib "$memory_cached") | $(per_token "$memory_cached") |

## First load (issue 4)

What a browser downloads to open the sign-in page and hydrate it: the HTML, \`tessera.js\`, \`tessera.wasm\`,
\`tessera.css\` and the split modules' loader, as this server sends them (the static files precompressed at build
time; the page compressed on the fly). The signed-in pages are split out of \`tessera.wasm\` (\`cargo leptos build
--split\`): each page's module is fetched when the page is first shown, and is not counted here (the sizes of all of
them are listed below the table).

| encoding the browser accepts | bytes sent |
|---|---:|
| none (identity) | $(kb "$first_identity") |
| gzip | $(kb "$first_gzip") |
| gzip, deflate, br (every current browser) | $(kb "$first_br") |

| target | measured | |
|---|---|---|
| first load ≤ 200 KB (issue 4) | $(kb "$first_br") | $(pass "$first_br <= 204800") |
| first load ≤ 350 KB (issue 17) | $(kb "$first_br") | $(pass "$first_br <= 358400") |

\`\`\`
$first_files
\`\`\`

The signed-in pages' modules (and the chunks they share), each fetched once when a page that needs it is first shown:

\`\`\`
$split_files
\`\`\`

Where the WASM's bytes go: \`twiggy top\` of the whole program (the main module and the signed-in pages' together) as
the compiler left it (after LTO, before the split, wasm-bindgen and wasm-opt, which shrink it but keep the
proportions; twiggy 0.7 cannot read the split modules themselves), summed by crate and by generic function with all
its instantiations (\`bench/wasm_bytes.py\`).

$(cat "$work/wasm_bytes")

## Every round

\`\`\`
scenario  rps-or-sent  p50/ok  p99/p50  non2xx/p99  max
$(cat "$work/results")
\`\`\`
MD
"${TESSERA_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/venv}/bin/python" "$root/bench/charts.py" "$work/results" "$root/bench"
log "wrote bench/RESULTS.md and its charts"
cat "$root/bench/RESULTS.md"
