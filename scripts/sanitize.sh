#!/usr/bin/env bash
# The sanitized builds, each in its own folder, every target in it (the plugins' .so files
# included) built with the same flags (ASan/UBSan with clang, twice as fast to build; TSan with
# gcc, whose shared runtime works):
#   scripts/sanitize.sh asan [ctest args]   AddressSanitizer + UndefinedBehaviorSanitizer
#                                           (build-asan/): the whole suite
#   scripts/sanitize.sh tsan [ctest args]   ThreadSanitizer (build-tsan/): the whole suite
#   scripts/sanitize.sh [all]               both
# Extra arguments go to ctest: CI runs `scripts/sanitize.sh asan -L ...` (scripts/test.sh).
# Any report fails the test it happened in: in-process by the sanitizer's exit, in a child
# process (tollgated, tollgatectl) by the test harness, which reads the child's stderr and
# checks that a daemon exits 0 after SIGTERM (LeakSanitizer reports at exit).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ $# -gt 0 ] && shift
case $what in
  asan | tsan | all) ;;
  *) echo "usage: scripts/sanitize.sh [asan|tsan|all] [ctest args...]" >&2; exit 2 ;;
esac

# Standalone, it installs and starts what the tests need; scripts/test.sh has done that already.
if [ -z "${TOLLGATE_TEST_PG_DSN:-}" ]; then
  scripts/install-deps.sh
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
  # shellcheck source=tests/pg/pg.sh
  source tests/pg/pg.sh
  # shellcheck source=tests/prism/prism.sh
  source tests/prism/prism.sh
  trap 'prism_stop; pg_stop' EXIT
  pg_start
  export TOLLGATE_TEST_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres"
  prism_start
fi

# Reports with their stacks (the children inherit these).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1}

sanitized() {  # preset, ctest args...
  local preset=$1
  shift
  local started=$SECONDS
  cmake --preset "$preset" >/dev/null
  # SANITIZE_TARGET: build only that target (CI: sanitized_suite, what its labels run).
  cmake --build "build-$preset" -j"$(nproc)" ${SANITIZE_TARGET:+--target "$SANITIZE_TARGET"}
  echo "sanitize: $preset built in $((SECONDS - started)) s"
  started=$SECONDS
  ctest --test-dir "build-$preset" --output-on-failure -j"$(nproc)" --timeout 600 "$@"
  echo "sanitize: $preset tests clean in $((SECONDS - started)) s"
}

[ "$what" = tsan ] || sanitized asan "$@"
[ "$what" = asan ] || sanitized tsan "$@"
