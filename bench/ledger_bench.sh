#!/usr/bin/env bash
RUN_S=$SECONDS # bash's SECONDS is the caller's value plus the time elapsed: read it first
# Ledger benchmark (issue 24). One command, from the repository root:
#
#   bench/ledger_bench.sh            SECONDS=5 bench/ledger_bench.sh    (a short try)
#
# In one run, on one PostgreSQL with fsync on:
#   1. pgbench -N -M prepared -c CLIENTS -j 2 -T SECONDS on a fresh database ledger_bench
#      (pgbench -i -s 16 first): what this server does with one short write transaction per
#      client request, the reference;
#   2. bench_ledger --scenario all (ledger_bench.cpp) on that same database: durable charges/s
#      from CLIENTS threads through the real storage-postgres.so, over WALLETS wallets ("many")
#      over one hot wallet ("hot"), and as reserve-then-capture pairs over WALLETS wallets
#      ("holds"), each run checked against the wallets' balances.
# Prints the ratios to pgbench against issue 24's targets: many >= 3x, hot >= 1x, and
# reserve-then-capture pairs >= 45% of many's charges/s.
#
# PostgreSQL: TOLLGATE_TEST_PG_DSN (a libpq key=value string naming a superuser) if set, else a
# scratch cluster of our own, durable as in production (not tests/pg/pg.sh's pg_start, which
# turns fsync off for the tests). Refuses to run when the server's fsync is off.
#
# Environment [defaults]: SECONDS [20] per measured run, CLIENTS [16], WALLETS [10000],
# BUILD_DIR [build], OUT [none] (a file the results are appended to).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

[ "$RUN_S" -gt 0 ] 2>/dev/null || RUN_S=20
CLIENTS=${CLIENTS:-16}
WALLETS=${WALLETS:-10000}
BUILD=${BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
OUT=${OUT:-}
DB=ledger_bench

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
# Prints a result line, and appends it to OUT when set.
record() {
  if [ -n "$OUT" ]; then printf '%s\n' "$*" | tee -a "$OUT"; else printf '%s\n' "$*"; fi
}

# --- build ------------------------------------------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building bench_ledger and storage-postgres in $BUILD"
cmake --build "$BUILD" -j"$(nproc)" --target bench_ledger storage-postgres >/dev/null
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")

# --- PostgreSQL -------------------------------------------------------------------------------
# shellcheck source=tests/pg/pg.sh
source tests/pg/pg.sh # PG_BIN, _pg_as, _pg_free_port, pg_stop
OWN_PG=0
cleanup() { if [ "$OWN_PG" = 1 ]; then pg_stop; fi; }
trap cleanup EXIT
if [ -n "${TOLLGATE_TEST_PG_DSN:-}" ]; then
  ADMIN_DSN=$TOLLGATE_TEST_PG_DSN
  log "using the PostgreSQL server of TOLLGATE_TEST_PG_DSN"
else
  [ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb missing: install postgresql-15"
  OWN_PG=1
  PG_DIR=$(mktemp -d /tmp/tollgate-ledger-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
  PG_PORT=$(_pg_free_port)
  _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; die "initdb"; }
  # Defaults kept: fsync=on, synchronous_commit=on, full_page_writes=on.
  _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" start >/dev/null ||
    { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
  ADMIN_DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres"
  # A fresh cluster zero-fills and syncs each new WAL segment inside a COMMIT; one that has run
  # for a while recycles them. Write some 400 MB of WAL and checkpoint, as webhook_bench.sh does.
  log "PostgreSQL on 127.0.0.1:$PG_PORT (data in $PG_DIR); warming its WAL"
  psql -d "$ADMIN_DSN" -qc "create table wal_warmup as select g, repeat('x', 1500) as pad from generate_series(1, 250000) g" \
    -c "drop table wal_warmup" -c "checkpoint" >/dev/null || die "warming the cluster's WAL"
fi
case $ADMIN_DSN in *://*) die "TOLLGATE_TEST_PG_DSN: use the key=value form, not a URI" ;; esac
BENCH_DSN="$ADMIN_DSN dbname=$DB" # libpq: the last dbname wins
pg() { PGOPTIONS="-c client_min_messages=warning" psql -d "$1" -v ON_ERROR_STOP=1 -Atq "${@:2}"; }

FSYNC=$(pg "$ADMIN_DSN" -c "show fsync") || die "cannot connect with $ADMIN_DSN"
SYNC_COMMIT=$(pg "$ADMIN_DSN" -c "show synchronous_commit")
FPW=$(pg "$ADMIN_DSN" -c "show full_page_writes")
PG_VERSION=$(pg "$ADMIN_DSN" -c "show server_version")
[ "$FSYNC" = on ] || die "the server has fsync=$FSYNC: these figures would not be durable ones (use a server with fsync on)"
[ "$SYNC_COMMIT" = on ] || log "WARNING: synchronous_commit=$SYNC_COMMIT: a commit may return before its WAL is flushed"

# --- the machine ------------------------------------------------------------------------------
probe_dir=${PG_DIR:-/tmp}
dsync=$(dd if=/dev/zero of="$probe_dir/dsync.probe" bs=8k count=300 oflag=dsync 2>&1 | tail -1 || echo "not measured")
rm -f "$probe_dir/dsync.probe"
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=$(git status --porcelain --untracked-files=no -- daemon plugins sdk bench 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
record "# bench/ledger_bench.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
record "command:  $0 (SECONDS=$RUN_S CLIENTS=$CLIENTS WALLETS=$WALLETS)"
record "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(free -g | awk '/^Mem:/{print $2}') GiB"
record "disk:     8 KiB O_DSYNC writes to $probe_dir: $dsync"
record "tree:     $git_rev${git_dirty:+ (uncommitted changes in: $git_dirty)}, $build_type build"
record "postgres: $PG_VERSION$([ "$OWN_PG" = 1 ] && echo ", scratch cluster" || echo ", TOLLGATE_TEST_PG_DSN"): fsync=$FSYNC synchronous_commit=$SYNC_COMMIT full_page_writes=$FPW"

# --- a fresh database ---------------------------------------------------------------------------
pg "$ADMIN_DSN" -c "drop database if exists $DB" -c "create database $DB" || die "creating database $DB"
log "pgbench -i -s 16 $DB"
pgbench -i -q -s 16 "$BENCH_DSN" >/dev/null 2>&1 || die "pgbench -i"
checkpoint() { pg "$ADMIN_DSN" -c checkpoint >/dev/null 2>&1 || true; }

# --- pgbench ----------------------------------------------------------------------------------
checkpoint
log "pgbench -N -M prepared -c $CLIENTS -j 2 -T $RUN_S (load average $(cut -d' ' -f1-3 /proc/loadavg))"
pgbench_out=$(pgbench -N -M prepared -c "$CLIENTS" -j 2 -T "$RUN_S" "$BENCH_DSN" 2>&1) || die "pgbench: $pgbench_out"
# Older pgbench prints tps including and excluding connection establishment; 14+ one figure
# "(without initial connection time)".
PGBENCH_TPS=$(sed -n 's/^tps = \([0-9.]*\) (excluding.*/\1/p' <<<"$pgbench_out" | head -1)
[ -n "$PGBENCH_TPS" ] || PGBENCH_TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$pgbench_out" | head -1)
[ -n "$PGBENCH_TPS" ] || die "no tps in pgbench's output: $pgbench_out"
record "pgbench:  -N -M prepared -c $CLIENTS -j 2 -T $RUN_S: $(grep -E '^(number of failed|latency average|tps)' <<<"$pgbench_out" | tr '\n' ';')"

# --- bench_ledger -------------------------------------------------------------------------------
checkpoint
log "bench_ledger --scenario all --clients $CLIENTS --wallets $WALLETS --seconds $RUN_S (load average $(cut -d' ' -f1-3 /proc/loadavg))"
ledger_rc=0
ledger_out=$("$BUILD/bench/bench_ledger" --dsn "$BENCH_DSN" --scenario all --clients "$CLIENTS" \
  --wallets "$WALLETS" --seconds "$RUN_S") || ledger_rc=$?
while IFS= read -r line; do [ -n "$line" ] && record "ledger:   $line"; done <<<"$ledger_out"

# --- summary ----------------------------------------------------------------------------------
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2" | head -1; }
scenario_line() { grep "^scenario=$1 " <<<"$ledger_out" | head -1 || true; }
# verdict LABEL RATE REFERENCE TARGET: one line of the summary.
verdict() {
  awk -v l="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
    r = a / b
    printf "%-6s %8.0f/s = %5.2fx pgbench; target >= %gx: %s\n", l, a, r, t, (r >= t ? "PASS" : "MISS")
  }'
}
record ""
record "summary (pgbench -N: $PGBENCH_TPS tps on the same server)"
for s in many:3 hot:1; do
  name=${s%%:*} line=$(scenario_line "${s%%:*}")
  if [ -z "$line" ]; then
    record "$name: no result"
    continue
  fi
  record "$(verdict "$name" "$(field per_s "$line")" "$PGBENCH_TPS" "${s#*:}") (p99 $(field p99_ms "$line") ms, errors $(field errors "$line"), check $(field check "$line"))"
done
holds=$(scenario_line holds) many=$(scenario_line many)
if [ -n "$holds" ] && [ -n "$many" ]; then
  record "$(awk -v a="$(field per_s "$holds")" -v b="$(field per_s "$many")" 'BEGIN {
    r = a / b; printf "holds  %8.0f pairs/s = %3.0f%% of many; target >= 45%%: %s\n", a, 100 * r, (r >= 0.45 ? "PASS" : "MISS") }')"
else
  record "holds: not measured (no hold API yet); target: pairs/s >= 45% of many's charges/s"
fi
record "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$ledger_rc" = 0 ] || die "bench_ledger exited $ledger_rc: a balance check failed or calls raised errors (see above)"
