#!/usr/bin/env bash
# Builds jetflow and runs the quickstart pipeline: an embedded SQLite shop database
# (examples/quickstart/shop.db, made from shop.sql) into a local Parquet lake
# (examples/quickstart/lake/), then reads the lake back with DuckDB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Build dependencies, the sqlite3 shell and a virtual environment with DuckDB.
bash "$here/scripts/install_deps.sh" quickstart
bash "$here/scripts/build.sh" release jetflow
jetflow="$here/build/release/bin/jetflow"
example="$here/examples/quickstart"

if [ ! -f "$example/shop.db" ]; then
  echo "quickstart: creating $example/shop.db from shop.sql"
  sqlite3 "$example/shop.db.tmp" < "$example/shop.sql"
  mv "$example/shop.db.tmp" "$example/shop.db"
fi

echo "quickstart: $jetflow run examples/quickstart/pipeline.yaml"
"$jetflow" run "$example/pipeline.yaml"
echo
"$jetflow" status "$example/pipeline.yaml" --limit 3
echo
echo "quickstart: the lake, read back by DuckDB:"
"$here/.venv/bin/python" - "$example/lake" <<'PY'
import sys, duckdb
lake = sys.argv[1]
q = f"SELECT dt, status, count(*) AS orders, sum(amount) AS amount FROM read_parquet('{lake}/orders/*/*/*.parquet', hive_partitioning=true) GROUP BY ALL ORDER BY status"
print(duckdb.sql(q))
PY
