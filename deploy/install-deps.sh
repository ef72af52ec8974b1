#!/usr/bin/env bash
# Installs every Debian 12 package Enlace needs to build, test, fuzz and run.
# Idempotent; run as root (or with sudo). Skips apt entirely when all are present.
set -euo pipefail
PKGS=(build-essential cmake pkg-config git openssl
      libssl-dev libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
      libinih-dev libcmocka-dev clang libclang-rt-14-dev clang-format
      jq python3 xxd)   # jq, python3, xxd: integration tests read JSON and bytes
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
