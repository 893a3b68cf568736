#!/usr/bin/env bash
# README command 2 (and what CI runs): install what is needed, build, start a throwaway
# PostgreSQL 15 cluster and Prism (serving Twilio's and Stripe's OpenAPI files) on loopback,
# run every test through ctest (the libFuzzer targets too with FUZZ_SECONDS set), then the unit,
# storage and end-to-end tests again in the AddressSanitizer + UndefinedBehaviorSanitizer build
# (scripts/sanitize.sh runs the rest, and ThreadSanitizer: both builds and every test would not
# fit CI's 15 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Precompiled headers (the clang builds) are cached by ccache only with these (harmless
# without ccache, as in CI).
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}
# Independent peers for the e2e and contract tests (Twilio's and Stripe's official libraries,
# Prism), pinned by the committed lock file: downloaded while the build compiles.
npm_log=$(mktemp)
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1 &
npm_pid=$!
# clang with precompiled headers builds this tree in 255 s where gcc takes 347 s (cold, 2 cores,
# measured 2026-12-07); the gateway a user runs (scripts/run.sh) and the benchmarks stay on gcc,
# and the TSan pass (scripts/sanitize.sh tsan) builds with gcc too. Only a fresh build tree
# reads these.
export CC=${CC:-clang} CXX=${CXX:-clang++}
# The benchmark helpers are not run by ctest: bench/*.sh builds them when it runs.
CMAKE_ARGS="${CMAKE_ARGS:-} -DTOLLGATE_BUILD_BENCH=OFF" scripts/build.sh
build=${BUILD_DIR:-build}
wait "$npm_pid" || { cat "$npm_log"; echo "npm ci in tests/node failed" >&2; exit 1; }
rm -f "$npm_log"

# shellcheck source=tests/pg/pg.sh
source tests/pg/pg.sh
# shellcheck source=tests/prism/prism.sh
source tests/prism/prism.sh
trap 'prism_stop; pg_stop' EXIT
pg_start
export TOLLGATE_TEST_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres"
# Prism serving Twilio's and Stripe's official OpenAPI files, for the contract tests (label
# "contract").
prism_start

ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"

# The libFuzzer targets (clang, ASan+UBSan) run only with FUZZ_SECONDS set (each target that
# long from its committed corpus; tests/fuzz/run.sh SECONDS does the same): their build and
# runs cost CI about a minute of its fifteen, and what they found is replayed above by
# fuzz_regressions_test (label unit) on every run.
if [ "${FUZZ_SECONDS:-0}" -gt 0 ]; then tests/fuzz/run.sh "$FUZZ_SECONDS"; fi

# Only what those labels run is built there (tests/CMakeLists.txt, sanitized_suite).
SANITIZE_TARGET=sanitized_suite scripts/sanitize.sh asan -L "unit|storage|e2e"
