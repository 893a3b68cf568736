#!/usr/bin/env bash
# Issue 26's kill -9 run at full size: the daemon killed 20 times at spread-out points while
# 10,000 messages are sent and drained to tollgate-twilio-sim, on SQLite and on PostgreSQL
# (TOLLGATE_TEST_PG_DSN, as scripts/test.sh provides it). CI runs the same test small.
#   bench/outbox_kill9.sh [KILLS [MESSAGES]]
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20}
messages=${2:-10000}
cmake --build build --target durability_test >/dev/null
for storage in sqlite postgres; do
  if [[ $storage == postgres && -z "${TOLLGATE_TEST_PG_DSN:-}" ]]; then
    echo "postgres: skipped (no TOLLGATE_TEST_PG_DSN)"
    continue
  fi
  echo "== $storage: $kills kills during $messages messages"
  start=$(date +%s)
  TOLLGATE_E2E_STORAGE=$storage TOLLGATE_OUTBOX_KILLS=$kills TOLLGATE_OUTBOX_MESSAGES=$messages \
    build/tests/durability_test --gtest_filter='OutboxDurabilityTest.*' | grep -E '^\[|Failure|Expected|Which|is |kills during'
  echo "   $(($(date +%s) - start)) s"
done
