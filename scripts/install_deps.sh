#!/usr/bin/env bash
# Installs everything jetflow needs to build and test on a fresh Debian 12 machine:
# Debian packages (compiler libraries, yaml-cpp, SQLite, CLI11, spdlog/fmt, GoogleTest,
# Google Benchmark) and a Python virtual environment with the independent Parquet readers
# (pyarrow, DuckDB) that the tests use. Idempotent: a second run does almost nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build pkg-config python3-venv
  libyaml-cpp-dev libsqlite3-dev sqlite3 libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libxxhash-dev
  openjdk-17-jre-headless  # Java for pyspark (tests/e2e/test_spark_reads.py)
  libpq-dev postgresql-15  # PostgreSQL consumer; the tests start their own server
  libcurl4-openssl-dev clickhouse-server clickhouse-client  # ClickHouse consumer and tests
  clang-14 libclang-rt-14-dev  # libFuzzer for scripts/fuzz.sh
  libssl-dev  # sha256() in expressions (OpenSSL libcrypto)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_deps: installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python readers used by the tests and the benchmark, pinned.
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import pyarrow, duckdb, pytest, psutil, xxhash, pyspark, psycopg, clickhouse_driver, numpy, pandas, chdb" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/scripts/requirements-test.txt"
fi
