#!/usr/bin/env bash
# ctest `install.relocated` (label install): the installed tree runs wherever it is moved.
#   relocated_install_test.sh CMAKE BUILD_DIR VERSION BUNDLED_ARROW(0|1)
# Installs BUILD_DIR to a temporary prefix, moves the whole tree to another folder, and,
# with LD_LIBRARY_PATH unset, checks that
#  - bin/jetflow has RUNPATH $ORIGIN/../lib and every library it needs resolves;
#  - with BUNDLED_ARROW=1 (Arrow from the pyarrow wheel): the Arrow/Parquet libraries are
#    in the moved lib/, each with RUNPATH $ORIGIN, and resolve there (not in the build tree);
#  - `jetflow --version` prints VERSION;
#  - a `generate` -> Parquet pipeline, run from another working directory, commits its
#    partitions: Parquet files (PAR1 at both ends) and _SUCCESS.
set -euo pipefail
cmake_bin="$1"
build_dir="$2"
version="$3"
bundled_arrow="$4"

work="$(mktemp -d "${TMPDIR:-/tmp}/jetflow-install-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

unset LD_LIBRARY_PATH
if ! "$cmake_bin" --install "$build_dir" --prefix "$work/prefix" >"$work/install.log" 2>&1; then
  cat "$work/install.log" >&2
  fail "cmake --install $build_dir failed"
fi
mkdir -p "$work/elsewhere/opt"
mv "$work/prefix" "$work/elsewhere/opt/jetflow"
root="$work/elsewhere/opt/jetflow"
[ ! -e "$work/prefix" ] || fail "the install prefix is still there after the move"
bin="$root/bin/jetflow"
[ -x "$bin" ] || fail "$bin is missing"
echo "installed and moved to $root:"
(cd "$root" && find bin lib -type f | sort)

runpath="$(readelf -d "$bin" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
rpath="$(readelf -d "$bin" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')"
[ "$runpath" = '$ORIGIN/../lib' ] || fail "bin/jetflow has RUNPATH '$runpath', expected \$ORIGIN/../lib"
[ -z "$rpath" ] || fail "bin/jetflow has an RPATH '$rpath' besides its RUNPATH"

ldd "$bin" >"$work/ldd.txt" 2>&1 || { cat "$work/ldd.txt" >&2; fail "ldd $bin failed"; }
if grep -q "not found" "$work/ldd.txt"; then
  cat "$work/ldd.txt" >&2
  fail "bin/jetflow has unresolved libraries"
fi

# arrow_resolved_in_lib LDD_OUTPUT WHAT [allow-none]: every Arrow/Parquet library in the
# ldd output resolves to a file in the moved lib/ (not the build tree's unpacked wheel).
arrow_resolved_in_lib() {
  local found=0 name arrow path
  while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    [[ "$name" =~ ^lib(arrow|parquet) ]] || continue
    found=1
    [ "$(dirname "$(realpath "$path")")" = "$(realpath "$root/lib")" ] ||
      fail "$2 loads $name from $path, outside $root/lib"
  done <"$1"
  [ "$found" = 1 ] || [ "${3:-}" = allow-none ] || fail "ldd shows no Arrow library for $2"
}

if [ "$bundled_arrow" = 1 ]; then
  for name in libarrow libarrow_compute libparquet; do
    lib="$(ls "$root/lib/$name".so.* 2>/dev/null | head -1)"
    [ -n "$lib" ] || fail "lib/$name.so.* was not installed"
  done
  for lib in "$root"/lib/lib*.so.*; do
    lib_runpath="$(readelf -d "$lib" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
    [ "$lib_runpath" = '$ORIGIN' ] || fail "$(basename "$lib") has RUNPATH '$lib_runpath', expected \$ORIGIN"
    ldd "$lib" >"$work/ldd-lib.txt" 2>&1 || { cat "$work/ldd-lib.txt" >&2; fail "ldd $lib failed"; }
    if grep -q "not found" "$work/ldd-lib.txt"; then
      cat "$work/ldd-lib.txt" >&2
      fail "$(basename "$lib") has unresolved libraries"
    fi
    arrow_resolved_in_lib "$work/ldd-lib.txt" "$(basename "$lib")" allow-none
  done
  arrow_resolved_in_lib "$work/ldd.txt" bin/jetflow
fi

got_version="$(cd / && "$bin" --version)"
[ "$got_version" = "jetflow $version" ] || fail "jetflow --version printed '$got_version', expected 'jetflow $version'"
echo "jetflow --version: $got_version"

mkdir -p "$work/run" "$work/cwd"
cat >"$work/run/pipeline.yaml" <<'YAML'
pipeline: install_check
run_instance: {key: dt, value: "2026-01-01"}
consumer:
  type: generate
  rows: 5000
  partitions: 2
loaders:
  - type: parquet
    name: lake
    path: lake/events
state:
  path: state.db
YAML
if ! (cd "$work/cwd" && "$bin" run "$work/run/pipeline.yaml") >"$work/run.log" 2>&1; then
  cat "$work/run.log" >&2
  fail "jetflow run failed"
fi
mapfile -t files < <(find "$work/run/lake/events" -name '*.parquet' -type f | sort)
((${#files[@]} >= 2)) || { find "$work/run" >&2; fail "expected a Parquet file per partition (2), found ${#files[@]}"; }
for f in "${files[@]}"; do
  [ "$(head -c 4 "$f")" = PAR1 ] && [ "$(tail -c 4 "$f")" = PAR1 ] || fail "$f is not a Parquet file"
done
[ -n "$(find "$work/run/lake/events" -name _SUCCESS)" ] || { find "$work/run" >&2; fail "no _SUCCESS marker"; }
[ -f "$work/run/state.db" ] || fail "no state store at $work/run/state.db"
echo "generate -> Parquet from the moved tree: ${#files[@]} files"
echo "PASS"
