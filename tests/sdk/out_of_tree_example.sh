#!/usr/bin/env bash
# Installs the SDK from the build tree into a scratch prefix, builds sdk/examples/sms-echo
# against that installation only (CMake package and pkg-config), runs its fake-host unit
# tests, then has the real tollgated load the resulting .so.
# usage: out_of_tree_example.sh BUILD_DIR SOURCE_DIR TOLLGATED PLUGIN_BUILD_DIR
set -euo pipefail
build=$1 src=$2 tollgated=$3 plugin_dir=$4
work=$(mktemp -d /tmp/tollgate-sdk.XXXXXX)
pid=""
# Never "kill 0" (that is the whole process group, ctest included): only a pid we started.
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" --component sdk >/dev/null
test -f "$work/prefix/include/tollgate/abi/plugin.h"

# CMake package: configure with nothing but the installed prefix.
cmake -S "$src/sdk/examples/sms-echo" -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/example" >/dev/null
ctest --test-dir "$work/example" --output-on-failure >/dev/null
so="$work/example/sms-echo.so"
test -f "$so"

# pkg-config: the flags it gives are enough to compile a plain C99 plugin against the ABI.
pcdir=$(dirname "$(find "$work/prefix" -name tollgate-sdk.pc)")
cflags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags tollgate-sdk)
libs=$(PKG_CONFIG_PATH="$pcdir" pkg-config --libs tollgate-sdk)
printf '#include <tollgate/abi/tollgate.h>\nint tg_probe(void){return TG_ABI_MAJOR;}\n' >"$work/probe.c"
# shellcheck disable=SC2086
cc -std=c99 -pedantic-errors -Wall -Werror -shared -fPIC $cflags "$work/probe.c" -o "$work/probe.so" $libs

# The daemon loads the out-of-tree plugin.
port=""
# Below the ephemeral range (32768-60999 on Linux), where outbound connections of tests running
# alongside take their ports.
for p in $(shuf -i 20000-32000 -n 50); do
  (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { port=$p; break; }
done
mkdir -p "$work/conf/plugins.d"
cat >"$work/conf/tollgate.ini" <<EOT
[server]
listen = 127.0.0.1:$port
[daemon]
state_dir = $work/state
[plugins]
dir = $plugin_dir
EOT
printf '[plugin]\nfile = storage-sqlite.so\nrequired = true\n' >"$work/conf/plugins.d/10-storage.ini"
printf '[plugin]\nfile = %s\nrequired = true\n[settings]\nprefix = hi \n' "$so" >"$work/conf/plugins.d/50-echo.ini"
"$tollgated" --check-config --config "$work/conf/tollgate.ini"
"$tollgated" --config "$work/conf/tollgate.ini" 2>"$work/log" &
pid=$!
# Bounded at 60 s: a loaded CI machine may take seconds to start it.
for _ in $(seq 600); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
key=$(cat "$work/state/admin.key")
plugins=$(curl -fs -H "Authorization: Bearer $key" "http://127.0.0.1:$port/admin/v1/plugins")
echo "$plugins" | grep -q '"id":"sms-echo"' || { echo "sms-echo not loaded: $plugins"; cat "$work/log"; exit 1; }
grep -q "plugin sms-echo 1.0.0 (sms-keywords) loaded from $so" "$work/log" || { cat "$work/log"; exit 1; }
kill -TERM "$pid"
wait "$pid"
pid=""
echo "out-of-tree sms-echo built against the installed SDK and loaded by tollgated"
