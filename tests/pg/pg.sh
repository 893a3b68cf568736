# Throwaway PostgreSQL 15 cluster on 127.0.0.1 for the tests. Source it, then pg_start/pg_stop.
# initdb refuses to run as root, so as root the cluster runs as the unprivileged "postgres"
# user (created by the postgresql package); as anyone else it runs as that user.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_pg_free_port() {
  local p
  for p in $(seq 55432 55532); do
    (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
  echo "no free port for PostgreSQL" >&2
  return 1
}

pg_start() {
  PG_DIR=$(mktemp -d /tmp/tollgate-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
  PG_PORT=$(_pg_free_port)
  _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log"; return 1; }
  _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=300" start >/dev/null ||
    { cat "$PG_DIR/server.log"; return 1; }
  echo "PostgreSQL 15 on 127.0.0.1:$PG_PORT (data in $PG_DIR)"
  export PG_DIR PG_PORT
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
