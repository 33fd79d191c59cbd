#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release), installing dependencies first.
#   scripts/build.sh [release|debug|asan] [ninja targets...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-release}"
shift || true
bash "$here/scripts/install_deps.sh"
cd "$here"
# All build trees share one unpacked Arrow (the pyarrow wheel) under build/_deps.
cmake --preset "$preset" -DJETFLOW_DEPS_DIR="$here/build/_deps" >/dev/null
cmake --build --preset "$preset" ${1:+--target "$@"}
