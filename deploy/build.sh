#!/usr/bin/env bash
# Configures and builds Enlace. Usage: deploy/build.sh [BUILD_DIR] [extra cmake args...]
# Default BUILD_DIR is build/. Uses every core.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
