# Sourced by the benchmark scripts: apt_install PACKAGE... installs the Debian packages given
# (none: nothing), with sudo when not root.
apt_install() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  printf '%s installing %s\n' "$(date +%H:%M:%S)" "$*" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}
