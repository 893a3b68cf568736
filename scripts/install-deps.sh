#!/usr/bin/env bash
# Installs everything Tollgate needs to build, run and test, from Debian 12 packages only.
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config binutils curl ca-certificates openssl
  libpoco-dev libboost-dev libboost-filesystem-dev libspdlog-dev libfmt-dev
  libsystemd-dev libphonenumber-dev libssl-dev libpq-dev libsqlite3-dev
  libhowardhinnant-date-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  postgresql-15 postgresql-client-15 sqlite3 systemd
  nodejs
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs comes without npm (its own package); other builds of nodejs bundle it.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
