#!/usr/bin/env bash
# Builds and runs the whole test suite: unit tests (gtest) and end-to-end tests (the CLI on
# real pipelines, output checked with pyarrow and DuckDB) in a release build, then the unit
# and end-to-end tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Installs every dependency it needs. Exits non-zero if any test fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
jobs="$(nproc)"

echo "== release build and tests"
bash scripts/build.sh release
ctest --preset release -j "$jobs"

if [ "${JETFLOW_SKIP_ASAN:-0}" != "1" ]; then
  echo "== ASan + UBSan build and tests"
  bash scripts/build.sh asan
  # Arrow's wheel libraries are not instrumented; leaks inside them are not ours to fix.
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --preset asan -j "$jobs"
fi
