#!/usr/bin/env bash
# Builds every fuzz target (src/jetflow/**/*_fuzz.cc) with clang + libFuzzer + ASan/UBSan and
# runs each for a while, starting from its seed corpus. New inputs go to a scratch folder,
# crashes to build/fuzz/crashes/. Exits non-zero on the first crash.
#   scripts/fuzz.sh [seconds per target, default 60] [target name filter]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
filter="${2:-}"
bash "$here/scripts/install_deps.sh" fuzz
cd "$here"
cmake --preset fuzz -DJETFLOW_DEPS_DIR="$here/build/_deps" >/dev/null
cmake --build --preset fuzz
mkdir -p build/fuzz/crashes
status=0
for bin in build/fuzz/fuzz/*_fuzz; do
  name="$(basename "$bin")"
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  corpus="$(find src/jetflow -type d -path "*/fuzz_corpus/$name" | head -1)"
  # A dictionary of the input's words, if the target has one: fuzz_corpus/<name>.dict.
  dict=()
  [[ -n "$corpus" && -f "$corpus.dict" ]] && dict=(-dict="$corpus.dict")
  scratch="$(mktemp -d)"
  echo "== $name: ${seconds}s from ${corpus:-an empty corpus}"
  if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
      ${dict[@]+"${dict[@]}"} \
      -artifact_prefix="build/fuzz/crashes/$name-" "$scratch" ${corpus:+"$corpus"} \
      2>"build/fuzz/$name.log"; then
    tail -40 "build/fuzz/$name.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "build/fuzz/$name.log" | tail -2
  fi
  rm -rf "$scratch"
done
exit $status
