"""`partition_by`: Hive-style column directories inside each partition directory, read
back by pyarrow's and DuckDB's Hive partition discovery, every value compared, the
partition columns included.

Expected values are computed here from the rows we wrote, and directory names from our
own copy of Hive's escaping rules (FileUtils.escapePathName), never from jetflow's output.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from conftest import (INSTANCE_DIR, MANIFEST, RUN_MANIFEST, SUCCESS,
                      assert_no_staging_leftovers, duckdb_connect, lake_digest, load_json,
                      parquet_loader, partition_dirs, run_jetflow, run_ok, write_pipeline,
                      xxh3_128)

DEFAULT = "__HIVE_DEFAULT_PARTITION__"
HIVE_ESCAPED = set(range(0x20)) | {0x7F} | {ord(c) for c in "\"#%'*/:=?\\{[]^"}


def hive_value(value) -> str:
    """The directory text of a partition value, as Hive and Spark write it."""
    if value is None or value == "":
        return DEFAULT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return "".join(f"%{ord(c):02X}" if ord(c) in HIVE_ESCAPED else c for c in value)


def read_back(value):
    """What a Hive reader gets for a partition value: Hive and Spark write the empty
    string as the default partition, i.e. null."""
    return None if value == "" else value


def data_files_below(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.parquet") if p.is_file())


def check_partitioned_run(lake: Path, partition_by: list[str]) -> dict:
    """The run finished; every partition's manifest lists exactly the files below its
    directory (column directories included) with their rows, bytes and checksums; the
    files sit exactly len(partition_by) directories deep, named `<column>=...` in order;
    and no file stores a partition_by column."""
    lake = Path(lake)
    run_dir = lake / INSTANCE_DIR
    assert (run_dir / SUCCESS).is_file()
    run = load_json(run_dir / RUN_MANIFEST)
    assert [c["name"] for c in run["partition_by"]] == partition_by, run["partition_by"]
    assert not {c["name"] for c in run["columns"]} & set(partition_by), run["columns"]
    parts = partition_dirs(lake)
    assert {p["location"] for p in run["partitions"]} == \
        {str(d.relative_to(lake)) for d in parts.values()}
    for folder in parts.values():
        manifest = load_json(folder / MANIFEST)
        listed = {f["path"]: f for f in manifest["files"]}
        present = {str(p.relative_to(lake)) for p in data_files_below(folder)}
        assert set(listed) == present, f"{folder}: manifest {sorted(listed)}, disk {sorted(present)}"
        assert [f["path"] for f in manifest["files"]] == sorted(listed, key=lambda p: (
            p.rsplit("/", 1)[0], p)), "files are not in name order"
        for rel, entry in listed.items():
            path = lake / rel
            levels = path.relative_to(folder).parts[:-1]
            assert [lvl.split("=", 1)[0] for lvl in levels] == partition_by, rel
            meta = pq.ParquetFile(path).metadata
            assert entry["rows"] == meta.num_rows, rel
            assert entry["bytes"] == path.stat().st_size, rel
            assert entry["checksum"] == xxh3_128(path), rel
            stored = set(pq.read_schema(path).names)
            assert not stored & set(partition_by), f"{rel} stores {stored & set(partition_by)}"
        assert manifest["rows"] == sum(e["rows"] for e in listed.values())
        assert not any(p.is_file() for p in folder.iterdir()
                       if p.name != MANIFEST), f"{folder}: files beside the column directories"
    assert_no_staging_leftovers(lake)
    return run


def duckdb_rows(sql: str) -> list[tuple]:
    con = duckdb_connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def glob_of(lake: Path, levels: int) -> str:
    """The DuckDB glob of a lake's data files with `levels` partition_by columns."""
    return str(lake) + "/*/*/" + "*/" * levels + "*.parquet"


def null_if_default(column: str) -> str:
    """DuckDB up to 1.4 reads __HIVE_DEFAULT_PARTITION__ as text; later releases as NULL
    (duckdb/duckdb#20512). Either way this gives NULL."""
    return f"NULLIF({column}, '{DEFAULT}')"


# ---------------------------------------------------------------------------------------
# Strings: escaping, null, the empty string, unicode.

COUNTRIES = ["DE", "FR", None, "a/b", "x=y", "100%", "Köln 日本", "q?#:*[]{}^'\"\\",
             "tab\there\nnewline", "a b+c&d,e;f", "", "..", "emoji 🎉", "US"]


def sales_rows(n: int, seed: int) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append({
            "id": seed * 100_000 + i,
            "country": COUNTRIES[(i * 5 + seed) % len(COUNTRIES)],
            "amount": (i * 37) % 1000 - 500,
            "day": dt.date(2026, 11, 1) + dt.timedelta(days=i % 30),
            "note": None if i % 9 == 4 else f"row {i} ✓",
        })
    return rows


SALES_SCHEMA = pa.schema([("id", pa.int64()), ("country", pa.string()),
                          ("amount", pa.int64()), ("day", pa.date32()),
                          ("note", pa.string())])


def write_sales(folder: Path, per_file: list[list[dict]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, rows in enumerate(per_file):
        table = pa.Table.from_pylist(rows, schema=SALES_SCHEMA)
        pq.write_table(table, folder / f"sales_{k:02d}.parquet", row_group_size=50)


def test_string_partitions_read_back_in_pyarrow_and_duckdb(tmp_path):
    per_file = [sales_rows(400, 1), sales_rows(250, 2)]
    write_sales(tmp_path / "in", per_file)
    pipeline = write_pipeline(
        tmp_path, {"type": "file", "path": "in", "format": "parquet"},
        loaders=[parquet_loader(partition_by=["country"], max_file_rows=10)],
        engine={"batch_rows": 64})
    summary = run_ok(pipeline)
    rows = [r for file_rows in per_file for r in file_rows]
    assert summary["rows_written"] == len(rows), summary
    lake = tmp_path / "lake"
    check_partitioned_run(lake, ["country"])

    # The directories are exactly Hive's names for the values.
    for folder in partition_dirs(lake).values():
        names = sorted(p.name for p in folder.iterdir() if p.is_dir())
        assert all(n.startswith("country=") for n in names), names
    seen = {p.name for folder in partition_dirs(lake).values() for p in folder.iterdir()
            if p.is_dir()}
    assert seen == {"country=" + hive_value(c) for c in COUNTRIES}, sorted(seen)
    # Rolling happens inside a value directory.
    first = next(iter(partition_dirs(lake).values()))
    assert (first / "country=DE" / "part-00001.parquet").is_file()

    expected = sorted((r["id"], read_back(r["country"]), r["amount"], r["day"], r["note"])
                      for r in rows)

    # pyarrow, types inferred from the paths.
    table = ds.dataset(str(lake), format="parquet", partitioning="hive").to_table()
    assert pa.types.is_string(table.schema.field("country").type), table.schema
    got = sorted(zip(*(table.column(c).to_pylist()
                       for c in ("id", "country", "amount", "day", "note"))))
    assert got == expected

    # DuckDB's Hive partitioning.
    got = duckdb_rows(f"""
        SELECT id, {null_if_default('country')}, amount, day, note
        FROM read_parquet('{glob_of(lake, 1)}', hive_partitioning = true,
                          hive_types = {{'country': VARCHAR}})
        ORDER BY id""")
    assert got == expected


# ---------------------------------------------------------------------------------------
# Integers, dates and booleans, nested in order.

def typed_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append({
            "id": i,
            "day": None if i % 11 == 3 else dt.date(1999, 12, 30) + dt.timedelta(days=i % 4),
            "active": None if i % 7 == 2 else i % 3 == 0,
            "shard": None if i % 13 == 5 else (i % 5) - 2,
            "value": i * 1.5,
        })
    return rows


def test_several_typed_columns_nest_in_order(tmp_path):
    rows = typed_rows(500)
    schema = pa.schema([("id", pa.int64()), ("day", pa.date32()), ("active", pa.bool_()),
                        ("shard", pa.int32()), ("value", pa.float64())])
    (tmp_path / "in").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "in" / "t.parquet")
    partition_by = ["day", "active", "shard"]
    pipeline = write_pipeline(
        tmp_path, {"type": "file", "path": "in", "format": "parquet"},
        loaders=[parquet_loader(partition_by=partition_by)], engine={"batch_rows": 100})
    run_ok(pipeline)
    lake = tmp_path / "lake"
    run = check_partitioned_run(lake, partition_by)
    assert [(c["name"], c["type"]) for c in run["partition_by"]] == \
        [("day", "date32[day]"), ("active", "bool"), ("shard", "int32")]

    (folder,) = partition_dirs(lake).values()
    expected_dirs = {"/".join(f"{c}={hive_value(r[c])}" for c in partition_by) for r in rows}
    got_dirs = {str(p.parent.relative_to(folder)) for p in data_files_below(folder)}
    assert got_dirs == expected_dirs
    assert "day=1999-12-31/active=true/shard=-2" in got_dirs

    expected = sorted((r["id"], r["day"], r["active"], r["shard"], r["value"]) for r in rows)

    hive = ds.partitioning(pa.schema([("day", pa.date32()), ("active", pa.bool_()),
                                      ("shard", pa.int32())]), flavor="hive")
    table = ds.dataset(str(lake), format="parquet", partitioning=hive).to_table()
    got = sorted(zip(*(table.column(c).to_pylist()
                       for c in ("id", "day", "active", "shard", "value"))))
    assert got == expected

    got = duckdb_rows(f"""
        SELECT id, CAST({null_if_default('day')} AS DATE),
               CAST({null_if_default('active')} AS BOOLEAN),
               CAST({null_if_default('shard')} AS INTEGER), value
        FROM read_parquet('{glob_of(lake, 3)}', hive_partitioning = true,
                          hive_types = {{'day': VARCHAR, 'active': VARCHAR, 'shard': VARCHAR}})
        ORDER BY id""")
    assert got == expected


# ---------------------------------------------------------------------------------------
# generate: the partitioned lake holds exactly the rows of an unpartitioned one.

def generate(rows: int, partitions: int) -> dict:
    return {"type": "generate", "rows": rows, "partitions": partitions, "seed": 77,
            "preset": "mixed10"}


def test_generate_by_country_equals_the_unpartitioned_lake(tmp_path):
    plain = write_pipeline(tmp_path / "plain", generate(30_000, 3),
                           engine={"batch_rows": 4096})
    run_ok(plain)
    reference = ds.dataset(str(tmp_path / "plain" / "lake"), format="parquet",
                           partitioning="hive").to_table().drop_columns(["dt", "part"])
    reference = reference.sort_by("id")

    # 50 countries through 8 open files: evicted countries continue in new part files.
    pipeline = write_pipeline(
        tmp_path / "hive", generate(30_000, 3),
        loaders=[parquet_loader(partition_by=["country"], max_open_files=8)],
        engine={"batch_rows": 4096})
    run_ok(pipeline)
    lake = tmp_path / "hive" / "lake"
    check_partitioned_run(lake, ["country"])
    parts = partition_dirs(lake)
    files = [p for folder in parts.values() for p in data_files_below(folder)]
    countries = {p.parent.name for p in files}
    assert len(countries) == 50, sorted(countries)
    assert len(files) > 3 * 50, "max_open_files=8 over 50 values must roll to more files"

    table = ds.dataset(str(lake), format="parquet", partitioning="hive").to_table()
    table = table.drop_columns(["dt", "part"]).select(reference.column_names).sort_by("id")
    assert table.num_rows == reference.num_rows
    for name in reference.column_names:  # (the Hive column is nullable, the file's is not)
        assert table.column(name).equals(reference.column(name)), f"column {name} differs"

    got = duckdb_rows(f"""
        SELECT count(*), count(DISTINCT id), count(DISTINCT country)
        FROM read_parquet('{glob_of(lake, 1)}', hive_partitioning = true)""")
    assert got == [(30_000, 30_000, 50)]
    mismatched = duckdb_rows(f"""
        SELECT count(*) FROM read_parquet('{glob_of(lake, 1)}', hive_partitioning = true) h
        JOIN read_parquet('{tmp_path / "plain" / "lake"}/*/*/*.parquet') p USING (id)
        WHERE h.country IS DISTINCT FROM p.country OR h.amount IS DISTINCT FROM p.amount""")
    assert mismatched == [(0,)]

    # Deterministic: a re-run writes the same files, names and bytes.
    digest = lake_digest(lake)
    run_ok(pipeline)
    assert lake_digest(lake) == digest


# ---------------------------------------------------------------------------------------
# Re-runs and plan-time errors.

def test_rerun_replaces_value_directories(tmp_path):
    write_sales(tmp_path / "in", [[{"id": 1, "country": "DE", "amount": 1, "day": None,
                                    "note": None},
                                   {"id": 2, "country": "FR", "amount": 2, "day": None,
                                    "note": None}]])
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                              loaders=[parquet_loader(partition_by=["country"])])
    run_ok(pipeline)
    lake = tmp_path / "lake"
    (folder,) = partition_dirs(lake).values()
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["country=DE", "country=FR"]

    os.remove(tmp_path / "in" / "sales_00.parquet")
    write_sales(tmp_path / "in", [[{"id": 3, "country": "US", "amount": 3, "day": None,
                                    "note": None}]])
    run_ok(pipeline)
    check_partitioned_run(lake, ["country"])
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["country=US"]
    table = ds.dataset(str(lake), format="parquet", partitioning="hive").to_table()
    assert table.column("id").to_pylist() == [3]
    assert table.column("country").to_pylist() == ["US"]


def test_plan_time_errors_move_nothing(tmp_path):
    cases = {
        "typo": (["contry"], "partition_by column 'contry' is not in the stream "
                             "(did you mean 'country'?)"),
        "float": (["price"], "partition_by column 'price': type double cannot be a "
                             "partition value"),
        "timestamp": (["created_at"], "partition_by column 'created_at': type "
                                      "timestamp[us, tz=UTC] cannot be a partition value"),
        "clash": (["part"], "partition_by column 'part' clashes with partition_column "
                            "'part'"),
    }
    for name, (partition_by, message) in cases.items():
        folder = tmp_path / name
        pipeline = write_pipeline(folder, generate(100, 1),
                                  loaders=[parquet_loader(partition_by=partition_by)])
        result = run_jetflow("run", pipeline, expect=2)
        assert message in result.stderr, result.describe()
        assert not (folder / "lake").exists(), f"{name}: the lake was touched"
