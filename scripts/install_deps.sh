#!/usr/bin/env bash
# Installs what jetflow needs on a fresh Debian 12 machine, for one or more modes:
#
#   build       compiler, CMake/Ninja, the libraries jetflow links (yaml-cpp, SQLite, CLI11,
#               spdlog/fmt, libpq, libcurl, OpenSSL, xxhash), GoogleTest and Google Benchmark
#               (the default build has tests and benchmarks), python3-pip (CMake fetches
#               the pinned pyarrow wheel, whose Arrow C++ libraries we link, with pip).
#               No database server, no Java, no virtual environment.
#   quickstart  build + the sqlite3 shell + a virtual environment .venv/ with DuckDB only
#               (scripts/quickstart.sh reads the lake back with it).
#   test        build + the sqlite3 shell, PostgreSQL 15 and ClickHouse servers (the tests
#               start their own), Java 17 for pyspark, clang-format-14/clang-tidy-14 (the
#               checks in scripts/test.sh), the fuzz mode's clang (scripts/test.sh's ASan
#               pass is a clang build with the fuzz targets) and .venv/ with every pinned
#               package of scripts/requirements-test.txt (pyarrow, DuckDB, pytest, ...).
#   fuzz        build + clang-14 and libFuzzer (scripts/fuzz.sh, the asan preset).
#
#   scripts/install_deps.sh MODE [MODE...]     (no mode: build)
#
# Used by scripts/build.sh (build), scripts/quickstart.sh (quickstart), scripts/test.sh
# (test) and scripts/fuzz.sh (fuzz). Idempotent and fast when everything is there: one
# dpkg query, and a Python import check of the virtual environment; apt and pip run only
# for what is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

build_packages=(
  build-essential cmake ninja-build pkg-config
  python3 python3-pip  # CMake downloads the pinned pyarrow wheel with pip
  libyaml-cpp-dev libsqlite3-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libxxhash-dev
  libpq-dev             # PostgreSQL consumer (libpq)
  libcurl4-openssl-dev  # ClickHouse consumer (HTTP)
  libssl-dev            # sha256() in expressions (OpenSSL libcrypto)
  libgtest-dev libgmock-dev libbenchmark-dev  # unit tests and micro-benchmarks
)
quickstart_packages=(
  sqlite3 python3-venv
)
test_packages=(
  sqlite3 python3-venv
  postgresql-15                         # tests/servers/postgres.py starts its own server
  clickhouse-server clickhouse-client   # tests/servers/clickhouse.py likewise
  openjdk-17-jre-headless               # Java for pyspark (tests/e2e/test_spark_reads.py)
  clang-format-14 clang-tidy-14         # scripts/check_format.sh, scripts/check_tidy.sh
)
fuzz_packages=(
  clang-14 libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes for clang
)

modes=("$@")
((${#modes[@]})) || modes=(build)
packages=("${build_packages[@]}")
venv_kind=""  # "", "quickstart" (DuckDB only) or "test" (requirements-test.txt)
for mode in "${modes[@]}"; do
  case "$mode" in
    build) ;;
    quickstart)
      packages+=("${quickstart_packages[@]}")
      [ "$venv_kind" = test ] || venv_kind=quickstart ;;
    test)
      packages+=("${test_packages[@]}" "${fuzz_packages[@]}")
      venv_kind=test ;;
    fuzz) packages+=("${fuzz_packages[@]}") ;;
    *)
      echo "install_deps: unknown mode '$mode' (build, quickstart, test, fuzz)" >&2
      exit 2 ;;
  esac
done

# Debian packages: one dpkg query for all of them; apt only for the missing ones.
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null |
  awk '$NF == "installed" {print $1}' || true)"
missing=()
for p in "${packages[@]}"; do
  grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_deps (${modes[*]}): installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The virtual environment with the independent readers (tests, quickstart), pinned.
[ -n "$venv_kind" ] || exit 0
venv="$here/.venv"
requirements="$here/scripts/requirements-test.txt"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# pins_met FILE: every "name==version" line of FILE is installed in the virtual environment
# at that version. Reads package metadata only (fast; imports nothing), and catches a
# changed pin.
pins_met() {
  "$venv/bin/python" - "$@" <<'PY'
import re, sys
from importlib import metadata
lines = open(sys.argv[1]).read().splitlines() if sys.argv[1:] else []
for line in lines:
    line = line.split("#", 1)[0].strip()
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line)
    if not m:
        continue
    try:
        if metadata.version(m.group(1)) != m.group(3):
            sys.exit(1)
    except metadata.PackageNotFoundError:
        sys.exit(1)
PY
}
if [ "$venv_kind" = test ]; then
  if ! pins_met "$requirements"; then
    echo "install_deps: installing the test virtual environment ($requirements)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  fi
else
  duckdb_pin="$(grep -E '^duckdb==' "$requirements")"  # the tests' pin, kept in one place
  if ! pins_met <(echo "$duckdb_pin"); then
    echo "install_deps: installing $duckdb_pin into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$duckdb_pin"
  fi
fi
