#!/usr/bin/env bash
# Configures and builds into build/ (override with BUILD_DIR). Used by run.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
generator=()
[ -f "$build/CMakeCache.txt" ] || generator=(-G Ninja)  # keep whatever an existing tree uses
# shellcheck disable=SC2086  # CMAKE_ARGS: extra -D options, split on spaces
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
