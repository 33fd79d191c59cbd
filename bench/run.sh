#!/usr/bin/env bash
# The core benchmark: jetflow `generate` -> Parquet against pyarrow writing the same data
# with the same Parquet settings, measured in the same run (docs/benchmarks.md).
#
#   bench/run.sh                 # 10M and 100M rows, prints the table and the ratios
#   bench/run.sh --quick         # 10M rows only
#   bench/run.sh --check         # exit 1 when a goal fails
#   bench/run.sh --sweep --quick # also tries engine settings at 10M rows
#   bench/run.sh --help          # every option (--rows, --reps, --workdir, engine settings)
#   bench/run.sh postgres        # PostgreSQL -> Parquet vs raw COPY and ConnectorX (10M rows)
#   bench/run.sh postgres --quick  # the same at 1M rows
#   bench/run.sh clickhouse [--quick | --rows N]   # ClickHouse -> Parquet against the wire,
#                                # the Parquet ceiling and a peer (bench/clickhouse_to_parquet.py)
#   bench/run.sh transforms      # the transform benchmark: jetflow's transformers against
#                                # the same chain on Arrow compute (10M rows; --rows, --reps,
#                                # --batch-rows, --check)
#   bench/run.sh write-modes     # the Parquet loader's write modes against Arrow's
#                                # WriteTable on the same rows (--rows, --partitions, --reps)
#   bench/run.sh instructions    # instructions (valgrind callgrind), not seconds: jetflow
#                                # generate -> Parquet against pyarrow's write_table (4M rows)
#   bench/run.sh MODE ... --json # also write the run's results file into bench/results/
#                                # (<benchmark>-<UTC date>-<commit>.json, bench/results.py)
#
# Builds only the release `jetflow` binary (scripts/build.sh installs the dependencies and
# the .venv with pyarrow). Set JETFLOW_BENCH_NO_BUILD=1 to use an existing binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# --json may stand anywhere; the drivers get it as their own --json option.
export JETFLOW_BENCH_COMMAND="bench/run.sh $*"
json=()
args=()
for arg in "$@"; do
  if [ "$arg" = "--json" ]; then json=(--json); else args+=("$arg"); fi
done
set -- ${args[@]+"${args[@]}"}
if [ "${1:-}" = "transforms" ] || [ "${1:-}" = "write-modes" ]; then
  mode="$1"
  target="${1//-/_}_benchmark"
  shift
  if [ "${JETFLOW_BENCH_NO_BUILD:-0}" != "1" ]; then
    bash scripts/build.sh release "$target" >&2
  fi
  if [ ${#json[@]} -gt 0 ]; then
    exec "$here/.venv/bin/python" "$here/bench/cxx_results.py" "$mode" \
      "$here/build/release/bench/$target" "$@"
  fi
  exec "$here/build/release/bench/$target" "$@"
fi
if [ "${JETFLOW_BENCH_NO_BUILD:-0}" != "1" ]; then
  bash scripts/build.sh release jetflow >&2
fi
if [ "${1:-}" = "instructions" ]; then
  shift
  exec "$here/.venv/bin/python" "$here/bench/instructions.py" \
    --jetflow "$here/build/release/bin/jetflow" ${json[@]+"${json[@]}"} "$@"
fi
if [ "${1:-}" = "postgres" ] || [ "${1:-}" = "clickhouse" ]; then
  # bench/run.sh postgres|clickhouse [--quick | --rows N] (docs/benchmarks.md)
  source="$1"
  shift
  exec "$here/.venv/bin/python" "$here/bench/${source}_to_parquet.py" \
    --jetflow "$here/build/release/bin/jetflow" ${json[@]+"${json[@]}"} "$@"
fi
exec "$here/.venv/bin/python" "$here/bench/generate_to_parquet.py" \
  --jetflow "$here/build/release/bin/jetflow" ${json[@]+"${json[@]}"} "$@"
