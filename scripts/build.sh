#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release), installing what building needs
# first (scripts/install_deps.sh build; fuzz for the clang presets, fuzz and asan). No target
# needs the Python virtual environment to build.
#   scripts/build.sh [release|debug|asan|fuzz] [ninja targets...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-release}"
shift || true
if [ "$preset" = fuzz ] || [ "$preset" = asan ]; then
  bash "$here/scripts/install_deps.sh" fuzz
else
  bash "$here/scripts/install_deps.sh" build
fi
cd "$here"
# All build trees share one unpacked Arrow (the pyarrow wheel) under build/_deps.
cmake --preset "$preset" -DJETFLOW_DEPS_DIR="$here/build/_deps" >/dev/null
cmake --build --preset "$preset" ${1:+--target "$@"}
