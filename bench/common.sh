# Sourced by the benchmark scripts (bench/*.sh): logging, installing what a script lacks, the
# postgres user, free ports.
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
# apt_install PACKAGE...: installs the Debian packages given (none: nothing), with sudo when
# not root.
apt_install() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  log "installing $*"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}
# Runs a command as the postgres user when root (PostgreSQL refuses to run as root).
runas_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# The first port from $1 on that nothing listens on.
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 200))); do
    (echo >/dev/tcp/127.0.0.1/"$p") 2>/dev/null || { echo "$p"; return; }
  done
  die "no free port from $1"
}
