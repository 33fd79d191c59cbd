#!/usr/bin/env bash
# Runs clang-tidy-14 with the repository's .clang-tidy (an allowlist of bugprone-*,
# performance-* and a few modernize-* checks; any finding is an error) over jetflow's own
# code: every src/jetflow/**/*.cc except *_test.cc, *_fuzz.cc and *_benchmark.cc, plus the
# project headers they include. It uses the compile commands of a configured build tree
# (default build/release, configured here with the release preset if it is not yet);
# nothing needs to be built. Two files at a time (JETFLOW_TIDY_JOBS to change). Cost: about
# 12 CPU-minutes for the 86 files of December 2026, i.e. ~6 minutes on 2 free cores.
# Exits non-zero on a finding.
#   scripts/check_tidy.sh [build dir] [file filter (extended regex)]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
build="${1:-build/release}"
filter="${2:-}"
jobs="${JETFLOW_TIDY_JOBS:-2}"
clang_tidy="${CLANG_TIDY:-clang-tidy-14}"
if ! command -v "$clang_tidy" >/dev/null; then
  echo "check_tidy: $clang_tidy not found (scripts/install_deps.sh test installs it)" >&2
  exit 2
fi
if [ ! -f "$build/compile_commands.json" ]; then
  if [ "$build" != build/release ]; then
    echo "check_tidy: $build/compile_commands.json not found; configure that build first" >&2
    exit 2
  fi
  cmake --preset release -DJETFLOW_DEPS_DIR="$here/build/_deps" >/dev/null
fi

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'src/jetflow/*.cc' |
  grep -v -E '_(test|fuzz|benchmark)\.cc$' | grep -E "${filter:-.}" | sort -u)
if ((${#files[@]} == 0)); then
  echo "check_tidy: no files to check" >&2
  exit 2
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
start=$SECONDS
# One clang-tidy per file, its output in its own log so parallel runs do not interleave.
# -Wno-error: the build's -Werror would turn compiler warnings into clang-tidy errors; those
# are the compiler's business (gcc, -Werror) and are not part of the allowlist.
printf '%s\0' "${files[@]}" | xargs -0 -P "$jobs" -I{} sh -c '
  log="$1/$(printf %s "$2" | tr / _).log"
  if ! "$3" -p "$4" --quiet --extra-arg=-Wno-error "$2" >"$log" 2>&1; then
    echo "$2" >>"$1/failed"
  fi' check_tidy "$out" {} "$clang_tidy" "$build"
elapsed=$((SECONDS - start))

if [ -s "$out/failed" ]; then
  mapfile -t failed < <(sort "$out/failed")
  for f in "${failed[@]}"; do
    # The diagnostics only (not clang-tidy's "N warnings generated" chatter).
    grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' \
      "$out/$(printf %s "$f" | tr / _).log" || true
  done
  echo "check_tidy: findings in ${#failed[@]} of ${#files[@]} files (${elapsed}s); fix them," \
       "or, for a check that needs a design change, disable it in .clang-tidy with the reason" >&2
  exit 1
fi
echo "check_tidy: ${#files[@]} files clean (${elapsed}s, $jobs at a time)"
