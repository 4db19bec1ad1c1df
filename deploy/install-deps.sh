#!/usr/bin/env bash
# Installs the Debian 12 packages actiondrop needs to build, test and run.
# Idempotent; run as root (or through sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libssh-dev libboost-dev libboost-filesystem-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  doctest-dev libsqlite3-dev sqlite3 libpq-dev libsystemd-dev libssl-dev
  libhowardhinnant-date-dev tzdata libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev
  python3
)
if [ "${1:-}" = "--test" ]; then
  # Real servers for integration tests (vsftpd also for the FTP pull tests, with the
  # certificates openssl makes); clang 16 and its libFuzzer for tests/fuzz; GNU time for the
  # peak memory the hostile-file test measures; PgBouncer for the store behind a pooler.
  PKGS+=(openssh-server openssh-client postgresql pgbouncer vsftpd openssl curl clang-16 libclang-rt-16-dev time)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
