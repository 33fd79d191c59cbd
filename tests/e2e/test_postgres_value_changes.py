"""Values the PostgreSQL decoder writes otherwise than the server holds them are never
silent. `infinity: clamp` (the default) writes -infinity exactly like a real 0001-01-01
and 24:00:00 like 23:59:59.999999; `infinity: null` and `numeric.on_invalid: null` write
NULL; an array's lower bound is dropped (Arrow lists have none). Each such value is
counted per partition and column: a warning per partition naming the column and count,
the totals in the run summary, the counts in every partition manifest (in the lake and
the state store) and in `jetflow status`. Lossless types (time with time zone) report
nothing."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from conftest import (INSTANCE_DIR, MANIFEST, RUN_MANIFEST, load_json, read_lake_arrow,
                      run_jetflow, run_ok, write_pipeline)
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)


def changes_of(entries) -> dict:
    """(column, change, action) -> values."""
    return {(c["column"], c["change"], c["action"]): c["values"] for c in entries}


def partition_manifests(lake) -> dict:
    """partition id -> its manifest in the lake."""
    return {m["partition_id"]: m for m in
            (load_json(p) for p in (lake / INSTANCE_DIR).glob(f"*/{MANIFEST}"))}


def make_temporal(pg):
    pg.execute("""
        DROP TABLE IF EXISTS temporal;
        CREATE TABLE temporal (id int, d date, ts timestamp, tstz timestamptz, t time,
                               tz timetz, stamps timestamp[]);
        INSERT INTO temporal VALUES
          (1, '-infinity', '-infinity', 'infinity', '24:00', '24:00+02', NULL),
          (2, '0001-01-01', '0001-01-01 00:00', '9999-12-31 23:59:59.999999', '23:59:59.999999',
           '12:00:00-08:30', '{-infinity, 2026-01-01}'),
          (3, 'infinity', 'infinity', '-infinity', '12:00', '00:00+00', '{infinity}'),
          (4, '-infinity', '2026-01-01', '2026-01-01', '24:00', NULL, NULL),
          (5, '2026-01-01', NULL, NULL, NULL, NULL, '{2026-01-01}');
    """)


def test_clamped_infinity_is_counted_per_column_and_partition(pg, tmp_path):
    make_temporal(pg)
    pipeline = write_pipeline(tmp_path, pg_consumer(
        pg, table="temporal", partition_by={"column": "id", "partitions": 2}))
    result = run_jetflow("run", pipeline, "--json", "--no-progress", expect=0)
    summary = result.json()
    assert summary["status"] == "succeeded", result.describe()

    # The data is what the default always wrote: a clamped -infinity reads exactly like
    # the real 0001-01-01 of row 2 ...
    rows = {r["id"]: r for r in read_lake_arrow(tmp_path / "lake").to_pylist()}
    assert rows[1]["d"] == rows[2]["d"] == dt.date(1, 1, 1)
    assert rows[1]["ts"] == rows[2]["ts"] == dt.datetime(1, 1, 1)
    # ... so it is reported: the run's totals, per column and kind.
    totals = changes_of(summary["value_changes"])
    assert totals == {
        ("d", "-infinity", "clamp"): 2, ("d", "infinity", "clamp"): 1,
        ("ts", "-infinity", "clamp"): 1, ("ts", "infinity", "clamp"): 1,
        ("tstz", "infinity", "clamp"): 1, ("tstz", "-infinity", "clamp"): 1,
        ("t", "24:00:00", "clamp"): 2,
        ("stamps", "-infinity", "clamp"): 1, ("stamps", "infinity", "clamp"): 1,
    }, summary["value_changes"]
    assert all(c["stage"] == "postgres" and "infinity: clamp" in c["detail"]
               for c in summary["value_changes"])
    # timetz is lossless (PostgreSQL's text, 24:00:00 included): nothing to report.
    assert rows[1]["tz"] == "24:00:00+02" and rows[2]["tz"] == "12:00:00-08:30"
    assert not any(c["column"] == "tz" for c in summary["value_changes"])

    # One warning per partition and column, naming both and the count.
    warnings = [line for line in result.stderr.splitlines() if "changed" in line]
    assert any("partition id_1_3 " in w and "postgres changed 1 -infinity value of column d "
               "written as 0001-01-01" in w for w in warnings), result.stderr
    assert any("partition id_4_5 " in w and "postgres changed 1 24:00:00 value of column t "
               "written as 23:59:59.999999" in w for w in warnings), result.stderr
    assert len(warnings) == len([1 for m in partition_manifests(tmp_path / "lake").values()
                                 for _ in m.get("value_changes", [])]), result.stderr

    # Every partition manifest carries its own counts; the partition of NULL keys, which
    # changed nothing, carries none.
    manifests = partition_manifests(tmp_path / "lake")
    assert set(manifests) == {"id_1_3", "id_4_5", "id_null"}
    assert changes_of(manifests["id_1_3"]["value_changes"])[("d", "-infinity", "clamp")] == 1
    assert changes_of(manifests["id_4_5"]["value_changes"])[("t", "24:00:00", "clamp")] == 1
    assert "value_changes" not in manifests["id_null"]
    run_manifest = load_json(tmp_path / "lake" / INSTANCE_DIR / RUN_MANIFEST)
    assert sum(c["values"] for p in run_manifest["partitions"]
               for c in p.get("value_changes", [])) == sum(totals.values())

    # The human summary says it too, and `status` shows it per partition.
    text = run_jetflow("run", pipeline, "--no-progress", expect=0).stdout
    assert "changed      postgres: 2 -infinity values of column d written as 0001-01-01" \
        in text, text
    status = run_jetflow("status", pipeline, "--json", expect=0).json()
    detail = run_jetflow("status", pipeline, "--run", status[0]["run_id"], "--json",
                         expect=0).json()
    per_partition = {p["partition"]: changes_of(p["value_changes"])
                     for p in detail["partitions"]}
    assert per_partition["id_1_3"][("d", "-infinity", "clamp")] == 1
    assert per_partition["id_null"] == {}
    shown = run_jetflow("status", pipeline, "--run", status[0]["run_id"], expect=0).stdout
    assert "postgres.d: -infinity" in shown, shown


def test_values_a_policy_makes_null_are_counted(pg, tmp_path):
    make_temporal(pg)
    pg.execute("""
        DROP TABLE IF EXISTS invalid_numbers;
        CREATE TABLE invalid_numbers (id int, n numeric(6,2), u numeric, a int[]);
        INSERT INTO invalid_numbers VALUES
          (1, 'NaN', 'Infinity', '[0:1]={1,2}'),
          (2, 1.5, '-Infinity', '{1,2}'),
          (3, NULL, 123456789012345678901234567890, '[5:5]={7}'),
          (4, 2.5, 0.5, NULL);
    """)
    lenient = {"infinity": "null"}
    summary = run_ok(write_pipeline(tmp_path / "a", pg_consumer(pg, table="temporal",
                                                                **lenient)))
    assert changes_of(summary["value_changes"]) == {
        ("d", "-infinity", "null"): 2, ("d", "infinity", "null"): 1,
        ("ts", "-infinity", "null"): 1, ("ts", "infinity", "null"): 1,
        ("tstz", "infinity", "null"): 1, ("tstz", "-infinity", "null"): 1,
        ("t", "24:00:00", "null"): 2,
        ("stamps", "-infinity", "null"): 1, ("stamps", "infinity", "null"): 1,
    }, summary["value_changes"]

    numeric = {"on_invalid": "null", "unconstrained": "decimal", "precision": 20,
               "scale": 2}
    summary = run_ok(write_pipeline(tmp_path / "b", pg_consumer(
        pg, table="invalid_numbers", numeric=numeric)))
    rows = {r["id"]: r for r in read_lake_arrow(tmp_path / "b" / "lake").to_pylist()}
    assert rows[1]["n"] is None and rows[2]["n"] == Decimal("1.50")
    assert rows[1]["a"] == [1, 2] and rows[3]["a"] == [7]
    assert changes_of(summary["value_changes"]) == {
        ("n", "NaN", "null"): 1,
        ("u", "Infinity", "null"): 1, ("u", "-Infinity", "null"): 1,
        ("u", "out-of-range", "null"): 1,
        ("a", "offset array", "drop"): 2,
    }, summary["value_changes"]
    assert all("numeric.on_invalid: null" in c["detail"]
               for c in summary["value_changes"] if c["column"] in ("n", "u"))
    manifest = partition_manifests(tmp_path / "b" / "lake")["all"]
    assert changes_of(manifest["value_changes"]) == changes_of(summary["value_changes"])
    json.dumps(manifest)  # plain JSON
