#!/usr/bin/env bash
# Every plugin is built so it loads under MemoryDenyWriteExecute=yes and exports nothing but
# its entry symbol: no TEXTREL, a non-executable GNU_STACK, hidden visibility.
# usage: check_elf.sh PLUGIN.so...
set -euo pipefail
fail=0
for so in "$@"; do
  if readelf -dW "$so" | grep -qE 'TEXTREL|\(FLAGS\).*TEXTREL'; then
    echo "$so: has text relocations"; fail=1
  fi
  stack=$(readelf -lW "$so" | awk '$1 == "GNU_STACK" { print $7 }')
  if [ -z "$stack" ] || [[ "$stack" == *E* ]]; then
    echo "$so: stack is executable or GNU_STACK missing (flags '$stack')"; fail=1
  fi
  exported=$(readelf --dyn-syms -W "$so" |
    awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK" || $5 == "UNIQUE") && $6 == "DEFAULT" { print $8 }' |
    grep -vxE '_init|_fini|__bss_start|_edata|_end' || true)
  if [ "$exported" != "tollgate_plugin_entry_v1" ]; then
    echo "$so: exports more or other than tollgate_plugin_entry_v1:"; echo "$exported" | sed 's/^/  /'; fail=1
  fi
  [ $fail -eq 0 ] && echo "$so: ok"
done
exit $fail
