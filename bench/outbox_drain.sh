#!/usr/bin/env bash
# Outbox drain benchmark (issue 26). One command, from the repository root:
#
#   bench/outbox_drain.sh
#
# For each storage (SQLite, then PostgreSQL 15 on a scratch cluster of our own with production
# durability: fsync, synchronous_commit and full_page_writes on), on loopback:
#   1. tollgated with [outbox] worker = off queues at least MESSAGES messages (POST /v1/messages,
#      (wrk, bench/send.lua; every message priced by pricing-static, so each reserves a hold);
#   2. it stops, and tollgated with the worker on starts: the drain is timed from its start until
#      no message is QUEUED or SENDING (counted in the database), every one POSTed to
#      tollgate-twilio-sim, which then posts Twilio's `sent` and `delivered` callbacks back
#      (signed; the daemon records them and captures each hold on `delivered`);
#   3. (PostgreSQL) pgbench -N -M prepared -c 16 on the same cluster, the reference.
# Prints messages/s queued and drained, the daemon's peak RSS, and what the simulator counted
# (POSTs per message must be 1). Results go to OUT; docs/PERFORMANCE.md records them.
#
# Environment [defaults]: MESSAGES [100000], SENDERS [32], BATCH [256] and ROUNDS [4] (the
# worker's [outbox] senders, batch and rounds), SENDER_SPS [1000000] (the one sender's
# [outbox] long_code_sps: set high, as the issue asks, so every claim schedules its sender and
# nothing waits for it; 0 turns pacing off), STORAGES [sqlite postgres], DURATION [20] s of pgbench,
# QUEUED [0]: with more than MESSAGES, copies of a queued message are added straight to the
# outbox table until QUEUED are waiting (no hold each: the issue's "RSS with 1,000,000 queued"),
# and the drain is timed for DRAIN_FOR [60] s only (the copies are not checked after),
# PRICED [1] (0: no pricing plugin, so no hold to reserve or capture: what the holds cost),
# BUILD_DIR [build], OUT [/tmp/tollgate-drain-DATE.txt], KEEP [0] (1: keep the scratch dir).
# Installs what it lacks (wrk, bc, sqlite3, PostgreSQL 15) with apt-get, as webhook_bench.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
MESSAGES=${MESSAGES:-100000}
SENDERS=${SENDERS:-32}
BATCH=${BATCH:-256}
ROUNDS=${ROUNDS:-4}
SENDER_SPS=${SENDER_SPS:-1000000}
QUEUED=${QUEUED:-0}
PRICED=${PRICED:-1}
DRAIN_FOR=${DRAIN_FOR:-60}
STORAGES=${STORAGES:-sqlite postgres}
DURATION=${DURATION:-20}
BUILD=${BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
PG_BIN=/usr/lib/postgresql/15/bin
ACCOUNT=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
TOKEN=0123456789abcdef0123456789abcdef
NUMBER=+14155550100

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v bc >/dev/null || need+=(bc)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v psql >/dev/null || need+=(postgresql-client-15)
[ -x "$PG_BIN/pgbench" ] || need+=(postgresql-15)
apt_install ${need[@]+"${need[@]}"}

cmake --build "$BUILD" -j"$(nproc)" --target tollgated tollgate-twilio-sim storage-sqlite \
  storage-postgres pricing-static >/dev/null
SCR=$(mktemp -d /tmp/tollgate-drain.XXXXXX)
chmod 755 "$SCR"
OUT=${OUT:-/tmp/tollgate-drain-$(date -u +%Y%m%d-%H%M%S).txt}
PIDS=()
PG_DIR=""
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  done
  [ -n "$PG_DIR" ] && runas_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then log "kept $SCR"; else rm -rf "$SCR"; fi
}
trap cleanup EXIT

{
  echo "# bench/outbox_drain.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command:  $0 (MESSAGES=$MESSAGES SENDERS=$SENDERS BATCH=$BATCH ROUNDS=$ROUNDS SENDER_SPS=$SENDER_SPS PRICED=$PRICED DURATION=$DURATION)"
  echo "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/{print $2}') GiB"
  echo "tree:     $(git rev-parse --short HEAD)$(git status --porcelain --untracked-files=no -- daemon plugins | grep -q . && echo ' (uncommitted changes)'), $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt") build"
} | tee "$OUT" >&2

start_pg() {
  PG_DIR=$SCR/pg
  mkdir -p "$PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
  PG_PORT=$(free_port 56432)
  runas_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 >"$PG_DIR/initdb.log" 2>&1 ||
    die "initdb"
  runas_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" start >/dev/null ||
    die "PostgreSQL did not start"
  # WAL segments to recycle, as a cluster that has run a while has (see webhook_bench.sh).
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create table w as select g, repeat('x', 1500) as pad from generate_series(1, 250000) g" \
    -c "drop table w" -c "checkpoint" >/dev/null
  echo "postgres: $(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc "select string_agg(name || '=' || setting, ', ' order by name) from pg_settings where name in ('fsync','synchronous_commit','full_page_writes')")" |
    tee -a "$OUT" >&2
}

SIM_PID="" GW_PID=""
start_sim() {
  rm -f "$SCR/sim.port"
  "$BUILD/bin/tollgate-twilio-sim" --listen 127.0.0.1:0 --port-file "$SCR/sim.port" \
    --account "$ACCOUNT:$TOKEN" --callback-delay-ms 50 --callback-threads 32 --log-level warn 2>"$SCR/sim.log" &
  SIM_PID=$!
  PIDS+=($SIM_PID)
  for _ in $(seq 200); do [ -s "$SCR/sim.port" ] && break; sleep 0.05; done
  SIM_URL=http://127.0.0.1:$(cat "$SCR/sim.port")
}

# start_gateway DIR WORKER(on|off): a daemon on the storage set up in DIR.
start_gateway() {
  local dir=$1 worker=$2
  "$BUILD/sbin/tollgated" --config "$dir/tollgate.ini" -D server.listen="127.0.0.1:$GW_PORT" \
    -D daemon.state_dir="$dir/state" -D plugins.dir="$BUILD/lib/tollgate/plugins" \
    -D storage.plugin="$STORAGE_PLUGIN" -D twilio.account_sid="$ACCOUNT" \
    -D twilio.auth_token_file="$dir/twilio-token" -D twilio.token_key_file="$dir/token.key" \
    -D twilio.api_base_url="$SIM_URL" -D outbox.worker="$worker" -D outbox.senders="$SENDERS" \
    -D outbox.batch="$BATCH" -D outbox.rounds="$ROUNDS" -D outbox.long_code_sps="$SENDER_SPS" \
    2>>"$dir/tollgated.log" &
  GW_PID=$!
  PIDS+=($GW_PID)
  GW_URL=http://127.0.0.1:$GW_PORT
  for _ in $(seq 300); do
    kill -0 "$GW_PID" 2>/dev/null || die "tollgated exited: $(tail -5 "$dir/tollgated.log")"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/readyz")" = 200 ] && return
    sleep 0.1
  done
  die "tollgated not ready"
}
stop_gateway() {
  kill "$GW_PID" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
}
count() { # messages in the outbox in states $1 (SQL list)
  if [ "$STORAGE_PLUGIN" = storage-postgres ]; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$DB" -Atc "select count(*) from outbox where state in ($1)"
  else
    sqlite3 "$DIR/state/tollgate.db" "select count(*) from outbox where state in ($1)"
  fi
}

# bulk_queue N: N copies of a queued message (new ids and bodies, no hold), straight into the
# outbox table, in one statement.
bulk_queue() {
  local cols="tenant_id, from_number, to_number, segments, state, attempts, next_attempt_at_ms, created_at_ms, updated_at_ms, pace_us"
  log "$STORAGE_PLUGIN: adding $1 copies of a queued message to the outbox table"
  if [ "$STORAGE_PLUGIN" = storage-postgres ]; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$DB" -qc "insert into outbox (id, body, $cols) select 'om_bulk' || i, 'bulk ' || i, $cols from generate_series(1, $1) i, (select * from outbox where state = 1 limit 1) o"
  else
    sqlite3 "$DIR/state/tollgate.db" "with recursive n(i) as (select 1 union all select i + 1 from n where i < $1) insert into outbox (id, body, $cols) select 'om_bulk' || i, 'bulk ' || i, $cols from n, (select * from outbox where state = 1 limit 1)"
  fi
}

run_storage() {
  local storage=$1
  STORAGE_PLUGIN=storage-$storage
  DIR=$SCR/gw-$storage
  mkdir -p "$DIR/state"
  cp "$ROOT/conf/tollgate.ini" "$DIR/"
  cp -r "$ROOT/conf/plugins.d" "$DIR/"
  printf '%s\n' "$TOKEN" >"$DIR/twilio-token"
  (umask 077 && openssl rand -hex 32 >"$DIR/token.key")
  if [ "$PRICED" = 1 ]; then
    sed -i -e 's/^enabled = false/enabled = true/' -e "s|^table = .*|table = $ROOT/conf/prices.csv|" \
      "$DIR/plugins.d/pricing-static.ini"
  fi
  if [ "$storage" = postgres ]; then
    DB=bench_drain
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database $DB" >/dev/null
    sed -i -e 's/^enabled = false/enabled = true/' \
      -e "s|^dsn = .*|dsn = host=127.0.0.1 port=$PG_PORT dbname=$DB user=postgres|" \
      "$DIR/plugins.d/storage-postgres.ini"
  fi
  GW_PORT=$(free_port 18280)
  start_sim
  start_gateway "$DIR" off
  local admin tenant key r
  admin=$(cat "$DIR/state/admin.key")
  r=$(curl -sf -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"name":"Drain Co"}' "$GW_URL/admin/v1/tenants")
  tenant=$(sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p' <<<"$r")
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"e164":"'"$NUMBER"'"}' "$GW_URL/admin/v1/tenants/$tenant/numbers"
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"amount_micros":10000000000,"reason":"bench","idempotency_key":"bench"}' \
    "$GW_URL/admin/v1/tenants/$tenant/wallet/credits" || die "funding the wallet"
  r=$(curl -sf -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{}' \
    "$GW_URL/admin/v1/tenants/$tenant/keys")
  key=$(sed -n 's/.*"key" *: *"\([^"]*\)".*/\1/p' <<<"$r")

  log "$storage: queueing $MESSAGES messages through POST /v1/messages (worker off)"
  local t0 t1 out
  t0=$(date +%s.%N)
  local queued=0 run=0
  while [ "$queued" -lt "$MESSAGES" ]; do
    run=$((run + 1))
    out=$(RUN=$run KEY=$key wrk -t2 -c16 -d5s -s "$ROOT/bench/send.lua" "$GW_URL" 2>&1) || die "wrk: $out"
    grep -q "Non-2xx" <<<"$out" && die "$storage: refused sends: $out"
    queued=$(count 1)
  done
  t1=$(date +%s.%N)
  echo "$storage: queued $queued in $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s: $(printf '%.0f' "$(echo "$queued / ($t1 - $t0)" | bc -l)") messages/s through the send API ($(grep -E 'Latency' <<<"$out" | awk '{print "latency avg " $2 ", max " $4}'))" |
    tee -a "$OUT" >&2
  stop_gateway
  if [ "$QUEUED" -gt "$queued" ]; then
    bulk_queue $((QUEUED - queued))
    queued=$(count 1)
    echo "$storage: $queued queued ($((QUEUED - MESSAGES)) of them copies added to the table)" |
      tee -a "$OUT" >&2
  fi

  log "$storage: draining (worker on: senders $SENDERS, batch $BATCH, rounds $ROUNDS)"
  t0=$(date +%s.%N)
  start_gateway "$DIR" on
  local left peak=0 rss
  while :; do
    left=$(count 1,2)
    rss=$(awk '/^VmHWM/ {print $2}' "/proc/$GW_PID/status")
    [ "$left" = 0 ] && break
    kill -0 "$GW_PID" || die "tollgated exited while draining"
    if [ "$QUEUED" -gt 0 ] && [ "$(echo "$(date +%s.%N) - $t0 > $DRAIN_FOR" | bc)" = 1 ]; then
      queued=$((queued - left))  # what was drained in DRAIN_FOR
      break
    fi
    if [ "$QUEUED" -gt 0 ]; then sleep 2; else sleep 0.2; fi  # a count of 1,000,000 rows costs
  done
  t1=$(date +%s.%N)
  local secs
  secs=$(echo "$t1 - $t0" | bc)
  if [ "$QUEUED" -gt 0 ]; then
    echo "$storage: drained $queued of $(count 1,2,3,4,5,6,7) in $(printf '%.1f' "$secs") s: $(printf '%.0f' "$(echo "$queued / $secs" | bc -l)") messages/s; peak RSS $((rss / 1024)) MiB with them queued" |
      tee -a "$OUT" >&2
    stop_gateway
    kill "$SIM_PID" 2>/dev/null || true
    return
  fi
  # The callbacks and charges still in flight finish; then every message is checked.
  for _ in $(seq 600); do
    [ "$(count 3,4,2,1)" = 0 ] && break
    sleep 0.5
  done
  local stats
  stats=$(curl -sf "$SIM_URL/sim/stats")
  echo "$storage: drained $queued in $(printf '%.1f' "$secs") s: $(printf '%.0f' "$(echo "$queued / $secs" | bc -l)") messages/s; peak RSS $((rss / 1024)) MiB; simulator: $stats; delivered $(count 5), not final $(count 1,2,3,4)" |
    tee -a "$OUT" >&2
  local posts_per
  posts_per=$(curl -sf "$SIM_URL/sim/messages" | grep -o '"posts":[0-9]*' | sort | uniq -c | tr '\n' ' ')
  echo "$storage: POSTs per message at the simulator: $posts_per" | tee -a "$OUT" >&2
  curl -sf -H "Authorization: Bearer $admin" "$GW_URL/admin/v1/tenants/$tenant/wallet" | tee -a "$OUT" >&2
  echo | tee -a "$OUT" >&2
  stop_gateway
  kill "$SIM_PID" 2>/dev/null || true
}

case "$STORAGES" in *postgres*) start_pg ;; esac
for s in $STORAGES; do run_storage "$s"; done
if [ -n "$PG_DIR" ]; then
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database bench_pgbench" >/dev/null
  "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -i -q -s 10 bench_pgbench >/dev/null 2>&1
  out=$("$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -N -M prepared -c 16 -j 2 \
    -T "$DURATION" bench_pgbench 2>&1)
  echo "pgbench:  -N -M prepared -c 16 -j 2 -T $DURATION: $(grep -E '^tps' <<<"$out")" | tee -a "$OUT" >&2
fi
log "results in $OUT"
