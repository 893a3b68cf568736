#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan+UBSan) into build-fuzz/ (override with
# FUZZ_BUILD_DIR) and runs each one for a bounded time from a copy of its committed corpus.
# Fails on any crash, leak, sanitizer report or oracle failure; the input that caused it is kept
# under <build>/artifacts/<target>/. Usage: tests/fuzz/run.sh [seconds-per-target, default 15]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-15}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=(form signature twiml template address json)

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found; scripts/install-deps.sh installs clang and libclang-rt-14-dev" >&2
  exit 1
fi
generator=()
[ -f "$build/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S tests/fuzz -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j"${JOBS:-$(nproc)}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One target: runs it for $seconds and leaves "ok" or "FAILED" in $work/$t.status.
fuzz_one() {
  local t=$1 status=ok
  # A copy: what the run adds to the corpus stays out of the source tree.
  cp -r "tests/fuzz/corpus/$t" "$work/$t"
  local artifacts="$build/artifacts/$t"
  mkdir -p "$artifacts"
  local log="$build/fuzz_$t.log"
  # -timeout is generous because CI machines are shared: a unit that takes seconds here is a
  # stall, a hang runs into it anyway.
  "$build/fuzz_$t" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work/$t" >"$log" 2>&1 || status=FAILED
  echo "$status" >"$work/$t.status"
}

# As many targets at once as there are cores (each libFuzzer run uses one): every target
# still gets its full $seconds.
jobs=${JOBS:-$(nproc)}
running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

failed=()
for t in "${targets[@]}"; do
  log="$build/fuzz_$t.log"
  status=$(cat "$work/$t.status" 2>/dev/null || echo FAILED)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "fuzz_$t: $status, ${runs:-?} executions in ${seconds} s (${rate:-?}/s)"
  if [ "$status" != ok ]; then
    failed+=("$t")
    grep -E -A40 "^==[0-9]+==|oracle failed|runtime error|^SUMMARY" "$log" | head -80 >&2 || true
    echo "fuzz_$t: full log $log, input kept in $build/artifacts/$t/" >&2
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets clean"
