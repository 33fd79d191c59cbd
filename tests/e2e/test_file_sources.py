"""CSV, JSON Lines and Parquet files -> the lake, checked value by value with pyarrow and DuckDB.

Each input is a folder of three files (so three partitions) holding the same kinds of
values: int64 extremes, floats (subnormal, -0.0, huge), decimals, dates before and after
the epoch, timestamps with time-zone offsets (stored as the UTC instant), unicode strings,
NULLs and empty strings. The expected rows are computed here in Python from the values we
wrote, never from jetflow's output.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from conftest import (INSTANCE, assert_no_staging_leftovers, check_published_run,
                      duckdb_connect, duckdb_types, partition_dirs, read_lake_arrow,
                      read_lake_duckdb, run_ok, write_pipeline)

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
COLUMNS = ["id", "qty", "price", "amount", "day", "ts", "name"]

SPECIAL_STRINGS = ["Grüße aus Köln", "日本語のテキスト", "emoji 🎉🚀", "comma, inside",
                   'quote " inside', "tab\tinside", "ÅÄÖ åäö", "a", " leading space",
                   "trailing space ", "Ελληνικά", "עברית", "x" * 300]


def make_rows(file_index: int, n: int, seed: int) -> list[dict]:
    """Rows of one input file. ts is an int (microseconds since the epoch, UTC)."""
    rng = random.Random(seed * 1000 + file_index)
    rows = []
    for i in range(n):
        row = {
            "id": file_index * 100_000 + i,
            "qty": rng.randint(-10**12, 10**12),
            "price": rng.uniform(-1e6, 1e6),
            "amount": Decimal(rng.randint(-10**11, 10**11)).scaleb(-2),
            "day": dt.date(1970, 1, 1) + dt.timedelta(days=rng.randint(-25_000, 40_000)),
            "ts": rng.randint(-2 * 10**15, 4 * 10**15),
            "name": rng.choice(SPECIAL_STRINGS) + f" #{i}",
        }
        # NULLs in every nullable column, and empty strings (which are not NULLs).
        if i % 7 == 3:
            for col in ("qty", "price", "amount", "day", "ts", "name"):
                row[col] = None
        if i % 11 == 5:
            row["name"] = ""
        if i % 13 == 6:
            row[rng.choice(["qty", "price", "amount", "day", "ts"])] = None
        rows.append(row)
    # Edge values, one per file so that every file holds some.
    edges = [
        {"qty": 9223372036854775807, "price": 1.7976931348623157e308,
         "amount": Decimal("9999999999.99"), "day": dt.date(9999, 12, 31),
         "ts": -1, "name": "最後"},
        {"qty": -9223372036854775808, "price": -0.0, "amount": Decimal("-9999999999.99"),
         "day": dt.date(1900, 1, 1), "ts": 0, "name": ""},
        {"qty": 0, "price": 5e-324, "amount": Decimal("0.01"), "day": dt.date(1969, 12, 31),
         "ts": 253402300799999999, "name": "\u00e9\u0301 combining"},
    ]
    edge = dict(edges[file_index % len(edges)])
    edge["id"] = file_index * 100_000 + n
    rows.append(edge)
    return rows


def ts_text(micros: int, variant: int) -> str:
    """The same instant, written with different ISO-8601 offsets and separators."""
    instant = EPOCH + dt.timedelta(microseconds=micros)
    offsets = [None, dt.timedelta(hours=5, minutes=30), dt.timedelta(hours=-8),
               dt.timedelta(hours=1)]
    offset = offsets[variant % len(offsets)]
    if offset is not None:
        try:
            local = instant.astimezone(dt.timezone(offset))
            return local.isoformat(sep=" " if variant % 2 else "T", timespec="microseconds")
        except OverflowError:  # would leave year 1..9999
            pass
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def csv_field(value) -> str:
    """NULL is an empty unquoted field; every string is quoted, so "" is an empty string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_csv(path: Path, rows: list[dict]) -> None:
    lines = [",".join(COLUMNS)]
    for k, row in enumerate(rows):
        values = []
        for col in COLUMNS:
            v = row[col]
            if col == "ts" and v is not None:
                v = ts_text(v, k)
                values.append(v)  # unquoted, like most CSV exporters write timestamps
                continue
            if col == "day" and v is not None:
                values.append(v.isoformat())
                continue
            if col == "amount" and v is not None:
                values.append(str(v))
                continue
            values.append(csv_field(v))
        lines.append(",".join(values))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for k, row in enumerate(rows):
            out = {}
            for col in COLUMNS:
                v = row[col]
                if v is None:
                    out[col] = None
                elif col == "ts":
                    out[col] = ts_text(v, k)
                elif col == "day":
                    out[col] = v.isoformat()
                elif col == "amount":
                    out[col] = str(v)  # decimals as strings: exact, as most exporters do
                else:
                    out[col] = v
            if k % 5 == 1:  # key order must not matter
                out = dict(reversed(list(out.items())))
            f.write(json.dumps(out, ensure_ascii=(k % 2 == 0)) + "\n")


PARQUET_SCHEMA = pa.schema([
    ("id", pa.int64()), ("qty", pa.int64()), ("price", pa.float64()),
    ("amount", pa.decimal128(12, 2)), ("day", pa.date32()),
    ("ts", pa.timestamp("us", tz="UTC")), ("name", pa.string()),
])


def write_parquet(path: Path, rows: list[dict]) -> None:
    columns = {col: [r[col] for r in rows] for col in COLUMNS}
    columns["ts"] = pa.array(columns["ts"], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    table = pa.table({c: columns[c] for c in COLUMNS}, schema=PARQUET_SCHEMA)
    # Several row groups per file, so the reader has to walk them all.
    pq.write_table(table, path, row_group_size=64, compression="snappy")


FILE_SIZES = [180, 260, 95]


def make_inputs(folder: Path, fmt: str, seed: int = 7) -> list[list[dict]]:
    folder.mkdir(parents=True)
    writer = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[fmt]
    per_file = []
    for k, n in enumerate(FILE_SIZES):
        rows = make_rows(k, n, seed)
        writer(folder / f"orders_{k:02d}.{fmt}", rows)
        per_file.append(rows)
    return per_file


def normalise_expected(row: dict) -> tuple:
    return (row["id"], row["qty"], row["price"],
            None if row["amount"] is None else row["amount"].quantize(Decimal("0.01")),
            row["day"], row["ts"], row["name"])


def arrow_rows(table: pa.Table) -> list[tuple]:
    """Rows as tuples comparable with normalise_expected, sorted by id."""
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC"), table.schema
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    cols = {c: table.column(c).to_pylist() for c in COLUMNS if c != "ts"}
    rows = [(cols["id"][i], cols["qty"][i], cols["price"][i], cols["amount"][i], cols["day"][i],
             ts[i], cols["name"][i]) for i in range(table.num_rows)]
    return sorted(rows, key=lambda r: r[0])


def same_float(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a == b and str(a) == str(b)  # -0.0 stays -0.0


def assert_rows_equal(actual: list[tuple], expected: list[tuple], reader: str) -> None:
    assert len(actual) == len(expected), f"{reader}: {len(actual)} rows, expected {len(expected)}"
    ids = [r[0] for r in actual]
    assert len(set(ids)) == len(ids), f"{reader}: duplicate ids in the lake"
    mismatches = []
    for a, e in zip(actual, expected):
        ok = all(same_float(x, y) if i == 2 else x == y
                 for i, (x, y) in enumerate(zip(a, e)))
        if not ok:
            mismatches.append(f"  id {e[0]}:\n    got      {a!r}\n    expected {e!r}")
    assert not mismatches, (f"{reader}: {len(mismatches)} rows differ from the input:\n"
                            + "\n".join(mismatches[:10]))


def check_lake(lake: Path, per_file: list[list[dict]]) -> None:
    expected = sorted((normalise_expected(r) for rows in per_file for r in rows),
                      key=lambda r: r[0])

    # pyarrow: types and values.
    table = read_lake_arrow(lake)
    schema = table.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("qty").type == pa.int64()
    assert schema.field("price").type == pa.float64()
    assert schema.field("amount").type == pa.decimal128(12, 2), schema
    assert schema.field("day").type == pa.date32(), schema
    assert schema.field("name").type in (pa.string(), pa.large_string()), schema
    assert schema.names == COLUMNS, schema.names
    assert_rows_equal(arrow_rows(table), expected, "pyarrow")

    # DuckDB: its own Parquet reader, its own types.
    types = duckdb_types(lake)
    assert types == {"id": "BIGINT", "qty": "BIGINT", "price": "DOUBLE",
                     "amount": "DECIMAL(12,2)", "day": "DATE",
                     "ts": "TIMESTAMP WITH TIME ZONE", "name": "VARCHAR"}, types
    rows = read_lake_duckdb(lake, "id, qty, price, amount, day, epoch_us(ts), name",
                            order_by="id")
    assert_rows_equal([tuple(r) for r in rows], expected, "DuckDB")

    # One partition per input file, each holding exactly that file's rows.
    parts = partition_dirs(lake)
    assert len(parts) == len(per_file), sorted(parts)
    file_ids = sorted(sorted(r["id"] for r in rows) for rows in per_file)
    part_ids = []
    for part, folder in parts.items():
        files = sorted(folder.glob("*.parquet"))
        assert files, f"partition {part} has no data file"
        part_ids.append(sorted(read_lake_arrow(lake, files).column("id").to_pylist()))
    assert sorted(part_ids) == file_ids

    assert_no_staging_leftovers(lake)


def test_csv_folder_to_lake(tmp_path):
    per_file = make_inputs(tmp_path / "in", "csv")
    pipeline = write_pipeline(tmp_path, {
        "type": "file", "path": "in", "format": "csv",
        "columns": {"amount": "decimal(12,2)", "ts": "timestamp[us, UTC]"},
    })
    summary = run_ok(pipeline)
    total = sum(len(rows) for rows in per_file)
    assert summary["rows_read"] == total and summary["rows_written"] == total, summary
    assert summary["partitions_total"] == len(per_file)
    check_lake(tmp_path / "lake", per_file)


def test_jsonl_glob_to_lake(tmp_path):
    per_file = make_inputs(tmp_path / "in", "jsonl")
    # A file the glob must not match.
    (tmp_path / "in" / "notes.txt").write_text("not data\n")
    pipeline = write_pipeline(tmp_path, {
        "type": "file", "path": "in/*.jsonl", "format": "jsonl",
        "columns": {"amount": "decimal(12,2)", "day": "date", "ts": "timestamp[us, UTC]"},
    })
    summary = run_ok(pipeline)
    total = sum(len(rows) for rows in per_file)
    assert summary["rows_written"] == total, summary
    check_lake(tmp_path / "lake", per_file)


def test_parquet_folder_to_lake(tmp_path):
    per_file = make_inputs(tmp_path / "in", "parquet")
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"})
    summary = run_ok(pipeline)
    total = sum(len(rows) for rows in per_file)
    assert summary["rows_written"] == total, summary
    check_lake(tmp_path / "lake", per_file)


def test_lake_reads_as_hive_dataset(tmp_path):
    """Readers that discover the lake from its root (Hive partitioning) see every row once,
    with the run instance and partition as columns, and nothing from staging or markers."""
    per_file = make_inputs(tmp_path / "in", "parquet")
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"})
    run_ok(pipeline)
    lake = tmp_path / "lake"
    total = sum(len(rows) for rows in per_file)

    dataset = ds.dataset(str(lake), format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert table.num_rows == total
    assert set(table.column("dt").cast(pa.string()).to_pylist()) == {INSTANCE}
    assert len(set(table.column("part").to_pylist())) == len(per_file)

    con = duckdb_connect()
    glob = str(lake).replace("'", "''") + "/*/*/*.parquet"
    count, parts, instances = con.execute(
        f"SELECT count(*), count(DISTINCT part), count(DISTINCT dt) "
        f"FROM read_parquet('{glob}', hive_partitioning = true)").fetchone()
    assert (count, parts, instances) == (total, len(per_file), 1)
    # DuckDB's "**" does not skip "_" folders: after a clean run nothing else is there.
    every = con.execute(
        f"SELECT count(*) FROM read_parquet('{str(lake)}/**/*.parquet')").fetchone()[0]
    assert every == total


def test_single_file_path(tmp_path):
    per_file = make_inputs(tmp_path / "in", "parquet")
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in/orders_01.parquet",
                                         "format": "parquet"})
    summary = run_ok(pipeline)
    assert summary["partitions_total"] == 1
    assert summary["rows_written"] == len(per_file[1])
    ids = sorted(read_lake_arrow(tmp_path / "lake").column("id").to_pylist())
    assert ids == sorted(r["id"] for r in per_file[1])


def test_csv_quoted_newlines_and_delimiters(tmp_path):
    """RFC 4180: a quoted field may hold the delimiter, quotes and line breaks."""
    (tmp_path / "in").mkdir()
    values = ["plain", "comma, inside", 'quote " inside', "line\nbreak", "crlf\r\nbreak",
              "", None, "  spaces  "]
    lines = ["id,text"]
    for i, v in enumerate(values):
        lines.append(f"{i},{csv_field(v)}")
    (tmp_path / "in" / "a.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "csv"})
    run_ok(pipeline)
    table = read_lake_arrow(tmp_path / "lake").sort_by("id")
    assert table.column("id").to_pylist() == list(range(len(values)))
    assert table.column("text").to_pylist() == values
    rows = read_lake_duckdb(tmp_path / "lake", "text", order_by="id")
    assert [r[0] for r in rows] == values


def test_csv_with_bom_and_crlf(tmp_path):
    """Spreadsheet exports: a UTF-8 byte order mark and CRLF line ends."""
    (tmp_path / "in").mkdir()
    text = "id,name\r\n1,\"Grüße\"\r\n2,\"日本\"\r\n3,\"\"\r\n"
    (tmp_path / "in" / "excel.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "csv"})
    run_ok(pipeline)
    table = read_lake_arrow(tmp_path / "lake").sort_by("id")
    assert table.schema.names == ["id", "name"], table.schema.names
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("name").to_pylist() == ["Grüße", "日本", ""]


def test_compressed_inputs(tmp_path):
    """.csv.gz and .jsonl.zst inputs are read transparently (format from the extension)."""
    import gzip
    (tmp_path / "csv").mkdir()
    (tmp_path / "jsonl").mkdir()
    rows = [(i, f"name {i} é") for i in range(2000)]
    csv_text = "id,name\n" + "".join(f'{i},"{n}"\n' for i, n in rows)
    with gzip.open(tmp_path / "csv" / "part.csv.gz", "wt", encoding="utf-8") as f:
        f.write(csv_text)
    with pa.CompressedOutputStream(str(tmp_path / "jsonl" / "part.jsonl.zst"), "zstd") as f:
        f.write("".join(json.dumps({"id": i, "name": n}) + "\n" for i, n in rows).encode())
    for fmt in ("csv", "jsonl"):
        pipeline = write_pipeline(tmp_path / f"p_{fmt}", {"type": "file",
                                                          "path": str(tmp_path / fmt)})
        run_ok(pipeline)
        table = read_lake_arrow(tmp_path / f"p_{fmt}" / "lake").sort_by("id")
        assert list(zip(table.column("id").to_pylist(), table.column("name").to_pylist())) == rows


def test_csv_custom_null_values_and_delimiter(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text(
        "id;note;qty\n1;\\N;5\n2;NULL;\\N\n3;;7\n4;\"\\N\";8\n")
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "csv",
                                         "delimiter": ";", "null_values": ["\\N"]})
    run_ok(pipeline)
    table = read_lake_arrow(tmp_path / "lake").sort_by("id")
    # Only \N is null; "NULL" and the empty field are values; a quoted "\N" is text.
    assert table.column("note").to_pylist() == [None, "NULL", "", "\\N"]
    assert table.column("qty").to_pylist() == [5, None, 7, 8]


def test_empty_input_file_is_an_empty_partition(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("id,name\n1,\"x\"\n2,\"y\"\n")
    (tmp_path / "in" / "b.csv").write_text("id,name\n")
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "csv"})
    summary = run_ok(pipeline)
    assert summary["partitions_total"] == 2 and summary["rows_written"] == 2
    run = check_published_run(tmp_path / "lake")
    assert sorted(p["rows"] for p in run["partitions"]) == [0, 2]
    assert sorted(read_lake_arrow(tmp_path / "lake").column("id").to_pylist()) == [1, 2]
