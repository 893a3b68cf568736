#!/usr/bin/env bash
# README command 1: install what is needed, build, and run tollgated in the foreground on the
# embedded SQLite storage, with its state under ./.state. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
state="$PWD/.state"
mkdir -p "$state"
port=${TOLLGATE_PORT:-8080}
cat <<EOT

Tollgate is starting on http://127.0.0.1:$port (state in $state).
  health:     curl http://127.0.0.1:$port/readyz
  a tenant:   build/bin/tollgatectl --admin-key-file $state/admin.key --url http://127.0.0.1:$port tenant create "My Company"
  its key:    build/bin/tollgatectl --admin-key-file $state/admin.key --url http://127.0.0.1:$port key issue <tenant id>
  as tenant:  curl -H "Authorization: Bearer <key>" http://127.0.0.1:$port/v1/tenant

EOT
exec build/sbin/tollgated --config conf/tollgate.ini \
  -D daemon.state_dir="$state" -D server.listen="127.0.0.1:$port"
