"""Real Spark reads the lakes jetflow writes with the default `spark` output profile.

The profile promises "everything readable by Spark 3.5/4.x with default settings"
(docs/type-mapping.md). These tests check that promise with Spark itself: pyspark from
PyPI (pinned in scripts/requirements-test.txt), `local[2]`, the machine's Java 17, and no
Parquet or legacy settings at all. The only settings are environmental (UI off, driver
memory, shuffle partitions, local/warehouse dirs, loopback address) plus
spark.sql.session.timeZone=UTC, which only changes how timestamps are rendered as text.

Spark reads the lake root with `spark.read.parquet(lake)`: Hive discovery of the `dt=...`
and `part=...` directories, and Spark's own rules for what to skip (`_` and `.` names).
Every value is compared with what pyarrow says the input is, converted as the type-mapping
table documents (uint64 -> Decimal, uint32 -> long, time -> text, ...). UTC-adjusted
timestamps are compared as microseconds since the epoch (`unix_micros`) and as text in the
UTC session time zone, never through Python's local time zone.

Nothing here skips: a missing Java, a Spark that cannot start, a value Spark cannot read or
reads differently fails the test with the column and Spark's error.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import random
import shutil
from decimal import Context, Decimal
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import (INSTANCE, INSTANCE_DIR, check_published_run, data_files,
                      parquet_loader, partition_dirs, read_lake_arrow, run_ok, write_pipeline)

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
SECOND_INSTANCE = "2026-11-26"


# ---------------------------------------------------------------------------------------
# One SparkSession for the module.

def _java_hint() -> str:
    java_home = os.environ.get("JAVA_HOME")
    on_path = shutil.which("java")
    return (f"JAVA_HOME={java_home!r}, `java` on PATH: {on_path!r}. Spark 3.5 needs Java "
            "8/11/17 (Debian: openjdk-17-jre-headless, installed by scripts/install_deps.sh)")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        pytest.fail(f"pyspark is not installed in the test venv ({e}): "
                    ".venv/bin/pip install -r scripts/requirements-test.txt")
    if not os.environ.get("JAVA_HOME") and not shutil.which("java"):
        pytest.fail("no Java for Spark: " + _java_hint())
    scratch = tmp_path_factory.mktemp("spark")
    builder = (SparkSession.builder
               .master("local[2]")
               .appName("jetflow-e2e-spark-reads")
               # Environment only: nothing below changes how Parquet is read.
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.memory", "1g")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.local.dir", str(scratch / "local"))
               .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               # How TimestampType values are rendered as text (date_format, cast).
               .config("spark.sql.session.timeZone", "UTC"))
    error = None
    try:
        session = builder.getOrCreate()
    except Exception as e:  # the JVM did not start: say why, never skip
        error = f"{type(e).__name__}: {e}"
    if error:
        pytest.fail(f"Spark could not start: {error}\n{_java_hint()}")
    session.sparkContext.setLogLevel("OFF")  # errors reach the tests as exceptions
    gateway = session.sparkContext._gateway
    try:
        # Default settings means default settings: nothing may tune the Parquet reader.
        tuned = [k for k, _ in session.sparkContext.getConf().getAll()
                 if k.startswith(("spark.sql.parquet.", "spark.sql.legacy.",
                                  "spark.sql.files.", "spark.sql.sources."))]
        assert not tuned, f"the test session must use Spark's defaults, but sets {tuned}"
        yield session
    finally:
        session.stop()
        # End the JVM this fixture started (it exits when its stdin closes) so later test
        # modules in the same pytest process do not share the machine with it.
        proc = getattr(gateway, "proc", None)
        gateway.shutdown()
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
            proc.wait(timeout=60)
        from pyspark import SparkContext
        SparkContext._gateway = None
        SparkContext._jvm = None


def spark_types(df) -> list[tuple[str, str]]:
    """(column, Spark SQL type) in schema order, e.g. ("u64", "decimal(20,0)")."""
    return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]


def local_paths(uris) -> list[str]:
    """Spark's inputFiles() URIs (file:/..., maybe %-encoded) as sorted local paths."""
    return sorted(unquote(urlparse(u).path) for u in uris)


def spark_error(e: Exception) -> str:
    """The useful lines of a Spark/Py4J error: the innermost known error class and its
    message, not the Py4J wrapper or the JVM stack."""
    text = str(e)
    for marker in ("SparkUpgradeException", "AnalysisException",
                   "SchemaColumnConvertNotSupportedException", "ParquetDecodingException",
                   "UnsupportedOperationException", "IllegalArgumentException",
                   "SparkException", "Exception:"):
        at = text.find(marker)
        if at >= 0:
            lines = [line for line in text[at:].splitlines()[:4]
                     if not line.lstrip().startswith("at ")]
            return " ".join(lines)[:700]
    return text[:700]


def read_parquet(spark, path: Path, **options):
    """spark.read.parquet(path) with only the given read options (e.g. mergeSchema)."""
    reader = spark.read
    for key, value in options.items():
        reader = reader.option(key, value)
    try:
        return reader.parquet(str(path))
    except Exception as e:  # failed outside the handler: no chained JVM traceback
        error = spark_error(e)
    pytest.fail(f"Spark cannot read the lake {path} (options {options}): {error}")


def collect(df, what: str) -> list:
    try:
        return df.collect()
    except Exception as e:
        error = spark_error(e)
    pytest.fail(f"Spark failed reading {what}: {error}")


def norm(value):
    """Comparable form: NaN equals NaN, -0.0 differs from 0.0, bytearray is bytes, Rows
    are dicts."""
    if isinstance(value, float):
        return ("nan",) if math.isnan(value) else (value, math.copysign(1.0, value))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, list):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if hasattr(value, "asDict"):
        return {k: norm(v) for k, v in value.asDict(recursive=False).items()}
    return value


def utc_text(micros: int) -> str:
    """A UTC instant as Spark's date_format(ts, 'yyyy-MM-dd HH:mm:ss.SSSSSS') renders it."""
    t = EPOCH + dt.timedelta(microseconds=micros)
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}")


def time_text(value: int, unit: str) -> str:
    """What the spark profile writes for a time32/time64 value (docs/type-mapping.md)."""
    per_second = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    seconds, fraction = divmod(value, per_second)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[unit]
    return text + (f".{fraction:0{digits}d}" if digits else "")


def run_file_pipeline(folder: Path) -> tuple[dict, Path]:
    pipeline = write_pipeline(folder, {"type": "file", "path": "in", "format": "parquet"},
                              loaders=[parquet_loader()])  # the default profile: spark
    summary = run_ok(pipeline)
    lake = folder / "lake"
    check_published_run(lake)
    return summary, lake


# ---------------------------------------------------------------------------------------
# (1) Every type the spark profile maps, value by value.

N_ROWS, N_FILES = 30, 3
FILES = ["a", "b", "c"]

US_1900 = -2_208_988_800_000_000          # 1900-01-01T00:00:00Z, Spark 3.5's lower bound
US_9999 = 253_402_300_799_999_999         # 9999-12-31T23:59:59.999999Z
US_0001 = -62_135_596_800_000_000         # 0001-01-01T00:00:00
US_2262 = 9_214_646_400_000_000           # 2262-01-01: within int64 nanoseconds
DAY_US = 86_400_000_000

UNICODE = ["Grüße aus Köln", "日本語のテキスト", "emoji 🎉🚀", "Ελληνικά", "עברית",
           "ÅÄÖ åäö", "tab\tinside", 'quote " inside', "x" * 300, "null", "NULL"]


def exact_decimal(unscaled: int, scale: int) -> Decimal:
    """unscaled * 10^-scale, exactly (the default context would round to 28 digits)."""
    return Decimal(unscaled).scaleb(-scale, context=Context(prec=100))


def _specs():
    """name -> (Arrow type, edge values, random value generator). Edges go to rows 0, 3,
    6, ... (so every input file holds some); other rows are random or NULL."""
    def ints(bits, signed):
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
        edges = [lo, hi, 0, 1, lo + 1, hi - 1] + ([-1] if signed else [])
        return edges, lambda r: r.randint(lo, hi)

    def dec(p, s):
        top = 10 ** p - 1
        return ([exact_decimal(top, s), exact_decimal(-top, s), Decimal(0),
                 exact_decimal(1, s), exact_decimal(-1, s)],
                lambda r: exact_decimal(r.randint(-top, top), s))

    specs = {}
    for bits in (8, 16, 32, 64):
        specs[f"i{bits}"] = (getattr(pa, f"int{bits}")(), *ints(bits, True))
        specs[f"u{bits}"] = (getattr(pa, f"uint{bits}")(), *ints(bits, False))
    specs["f32"] = (pa.float32(), [float("nan"), float("inf"), float("-inf"), -0.0, 0.0,
                                   3.4028234663852886e38, -3.4028234663852886e38,
                                   1.401298464324817e-45, 0.1],
                    lambda r: r.uniform(-1e6, 1e6))
    specs["f64"] = (pa.float64(), [float("nan"), float("inf"), float("-inf"), -0.0, 0.0,
                                   1.7976931348623157e308, -1.7976931348623157e308, 5e-324,
                                   0.1], lambda r: r.uniform(-1e12, 1e12))
    specs["flag"] = (pa.bool_(), [True, False], lambda r: r.random() < 0.5)
    specs["text"] = (pa.string(), ["", " ", *UNICODE[:6]],
                     lambda r: r.choice(UNICODE) + f" #{r.randint(0, 999)}")
    specs["blob"] = (pa.binary(), [b"", b"\x00", b"\xff\xfe\x00\x80", "ü".encode()],
                     lambda r: r.randbytes(r.randint(0, 24)))
    specs["dec38"] = (pa.decimal128(38, 10), *dec(38, 10))
    specs["dec18"] = (pa.decimal128(18, 6), *dec(18, 6))
    specs["dec9"] = (pa.decimal128(9, 4), *dec(9, 4))
    specs["dec5"] = (pa.decimal128(5, 2), *dec(5, 2))
    specs["day"] = (pa.date32(), [dt.date(1582, 10, 15), dt.date(1900, 1, 1),
                                  dt.date(1969, 12, 31), dt.date(1970, 1, 1),
                                  dt.date(2000, 2, 29), dt.date(9999, 12, 31)],
                    lambda r: dt.date.fromordinal(r.randint(dt.date(1583, 1, 1).toordinal(),
                                                            dt.date(9999, 12, 31).toordinal())))
    # UTC-adjusted timestamps (Spark TIMESTAMP), as integers in the column's unit.
    specs["ts_us"] = (pa.timestamp("us", tz="UTC"), [US_1900, -1, 0, 1, US_9999,
                                                     1_795_609_696_789_012],
                      lambda r: r.randint(US_1900, US_9999))
    specs["ts_ns"] = (pa.timestamp("ns", tz="UTC"),
                      [US_1900 * 1000, -1000, 0, 1000, US_2262 * 1000,
                       1_795_609_696_789_012_000],
                      lambda r: r.randint(US_1900, US_2262) * 1000)
    specs["ts_ms_ny"] = (pa.timestamp("ms", tz="America/New_York"),
                         [US_1900 // 1000, -1, 0, 1_710_054_000_000],  # a DST switch day
                         lambda r: r.randint(US_1900 // 1000, US_9999 // 1000))
    specs["ts_s"] = (pa.timestamp("s", tz="UTC"), [US_1900 // 1_000_000, 0, -1,
                                                   US_9999 // 1_000_000],
                     lambda r: r.randint(US_1900 // 1_000_000, US_9999 // 1_000_000))
    # Naive timestamps (Spark TIMESTAMP_NTZ): no calendar rebase, any year.
    specs["ntz_us"] = (pa.timestamp("us"), [US_0001, -1, 0, US_9999, 1_795_609_696_789_012],
                       lambda r: r.randint(US_0001, US_9999))
    specs["ntz_ns"] = (pa.timestamp("ns"), [-1000, 0, US_2262 * 1000],
                       lambda r: r.randint(-US_2262, US_2262) * 1000)
    specs["t_us"] = (pa.time64("us"), [0, DAY_US - 1, 45_296_789_012],
                     lambda r: r.randint(0, DAY_US - 1))
    specs["t_ns"] = (pa.time64("ns"), [0, DAY_US * 1000 - 1, 45_296_789_012_345],
                     lambda r: r.randint(0, DAY_US * 1000 - 1))
    specs["t_ms"] = (pa.time32("ms"), [0, 86_399_999, 45_296_789],
                     lambda r: r.randint(0, 86_399_999))
    specs["t_s"] = (pa.time32("s"), [0, 86_399, 45_296], lambda r: r.randint(0, 86_399))
    specs["ints"] = (pa.list_(pa.int32()), [[], [None], [-2**31, 2**31 - 1, None, 0], [7]],
                     lambda r: [None if r.random() < 0.1 else r.randint(-1000, 1000)
                                for _ in range(r.randint(0, 5))])
    point = pa.struct([("x", pa.int32()), ("label", pa.string()), ("u", pa.uint32()),
                       ("price", pa.decimal128(10, 2)), ("tags", pa.list_(pa.string()))])
    specs["point"] = (point,
                      [{"x": None, "label": None, "u": None, "price": None, "tags": None},
                       {"x": -2**31, "label": "Köln 🎉", "u": 2**32 - 1,
                        "price": Decimal("-99999999.99"), "tags": []},
                       {"x": 0, "label": "", "u": 0, "price": Decimal("0.01"),
                        "tags": ["a", None, "ü"]}],
                      lambda r: {"x": r.randint(-10**6, 10**6), "label": r.choice(UNICODE),
                                 "u": r.randint(0, 2**32 - 1),
                                 "price": exact_decimal(r.randint(-10**10 + 1, 10**10 - 1), 2),
                                 "tags": [r.choice(UNICODE[:4]) for _ in range(r.randint(0, 3))]})
    return specs


# What docs/type-mapping.md promises Spark sees for each column.
EXPECTED_SPARK_TYPES = [
    ("id", "bigint"),
    ("i8", "tinyint"), ("u8", "smallint"), ("i16", "smallint"), ("u16", "int"),
    ("i32", "int"), ("u32", "bigint"), ("i64", "bigint"), ("u64", "decimal(20,0)"),
    ("f32", "float"), ("f64", "double"), ("flag", "boolean"), ("text", "string"),
    ("blob", "binary"), ("dec38", "decimal(38,10)"), ("dec18", "decimal(18,6)"),
    ("dec9", "decimal(9,4)"), ("dec5", "decimal(5,2)"), ("day", "date"),
    ("ts_us", "timestamp"), ("ts_ns", "timestamp"), ("ts_ms_ny", "timestamp"),
    ("ts_s", "timestamp"), ("ntz_us", "timestamp_ntz"), ("ntz_ns", "timestamp_ntz"),
    ("t_us", "string"), ("t_ns", "string"), ("t_ms", "string"), ("t_s", "string"),
    ("ints", "array<int>"),
    ("point", "struct<x:int,label:string,u:bigint,price:decimal(10,2),tags:array<string>>"),
    # Hive directories: dt=2026-11-25 is inferred as a date, part=f_a as a string.
    ("dt", "date"), ("part", "string"),
]
LTZ_COLUMNS = ("ts_us", "ts_ns", "ts_ms_ny", "ts_s")


def all_types_table(seed: int = 11) -> pa.Table:
    rng = random.Random(seed)
    columns = {"id": pa.array(range(N_ROWS), pa.int64())}
    fields = [pa.field("id", pa.int64(), nullable=False)]
    # Column order as in EXPECTED_SPARK_TYPES.
    specs = _specs()
    order = [name for name, _ in EXPECTED_SPARK_TYPES if name in specs]
    assert sorted(order) == sorted(specs)
    for k, name in enumerate(order):
        arrow_type, edges, random_value = specs[name]
        values = []
        for i in range(N_ROWS):
            if i % 3 == 0 and i // 3 < len(edges):
                values.append(edges[i // 3])
            elif i == N_ROWS - 1 or (i % 3 != 0 and (i + k) % 5 == 1):
                values.append(None)  # NULLs in every column of every file; last row all NULL
            else:
                values.append(random_value(rng))
        columns[name] = pa.array(values, arrow_type)
        fields.append(pa.field(name, arrow_type))
    return pa.table(columns, schema=pa.schema(fields))


def expected_rows(source: pa.Table) -> dict[int, dict]:
    """id -> {column: the value Spark must return}, from pyarrow's reading of the input
    and the conversions of docs/type-mapping.md."""
    cols = {}
    for name in source.column_names:
        column = source.column(name)
        t = column.type
        if name in LTZ_COLUMNS:
            # Whole microseconds: a safe cast fails if a digit would be lost.
            micros = column.cast(pa.timestamp("us", tz=t.tz)).cast(pa.int64()).to_pylist()
            cols[name] = micros
            cols[name + "__utc"] = [None if v is None else utc_text(v) for v in micros]
        elif pa.types.is_timestamp(t):
            cols[name] = column.cast(pa.timestamp("us")).to_pylist()
        elif pa.types.is_time(t):
            cols[name] = [None if v is None else time_text(v, t.unit)
                          for v in column.cast(pa.int64() if t.bit_width == 64
                                               else pa.int32()).to_pylist()]
        elif t == pa.uint64():
            cols[name] = [None if v is None else Decimal(v) for v in column.to_pylist()]
        else:
            cols[name] = column.to_pylist()  # struct: dict; uint32 inside -> int
    ids = cols["id"]
    return {ids[i]: {name: values[i] for name, values in cols.items()}
            for i in range(source.num_rows)}


def test_every_spark_profile_type_value_by_value(spark, tmp_path):
    table = all_types_table()
    per_file = N_ROWS // N_FILES
    (tmp_path / "in").mkdir()
    for f, name in enumerate(FILES):
        pq.write_table(table.slice(f * per_file, per_file), tmp_path / "in" / f"{name}.parquet")
    # What pyarrow says the input is (read back from the files jetflow reads).
    source = pa.concat_tables(pq.read_table(tmp_path / "in" / f"{name}.parquet")
                              for name in FILES)
    assert source.schema.field("u64").type == pa.uint64()
    assert source.schema.field("ts_ns").type == pa.timestamp("ns", tz="UTC")
    assert source.schema.field("t_ns").type == pa.time64("ns")
    expected = expected_rows(source)

    summary, lake = run_file_pipeline(tmp_path)
    assert summary["rows_written"] == N_ROWS, summary

    df = read_parquet(spark, lake)
    assert spark_types(df) == EXPECTED_SPARK_TYPES, (
        "Spark's schema differs from docs/type-mapping.md:\n"
        + "\n".join(f"  {g} vs expected {w}" for g, w in
                    zip(spark_types(df), EXPECTED_SPARK_TYPES) if g != w)
        + f"\nfull: {spark_types(df)}")
    assert local_paths(df.inputFiles()) == [str(p) for p in data_files(lake)]

    select = []
    for name, _ in EXPECTED_SPARK_TYPES:
        if name in LTZ_COLUMNS:
            select += [f"unix_micros(`{name}`) AS `{name}`",
                       f"date_format(`{name}`, 'yyyy-MM-dd HH:mm:ss.SSSSSS') AS `{name}__utc`"]
        else:
            select.append(f"`{name}`")
    rows = collect(df.selectExpr(*select), "the all-types lake")
    got = {row["id"]: row.asDict(recursive=True) for row in rows}
    assert len(rows) == len(got) == N_ROWS, f"{len(rows)} rows, {len(got)} distinct ids"
    assert set(got) == set(expected)

    mismatches = []
    for row_id in sorted(expected):
        want, have = expected[row_id], got[row_id]
        for name, value in want.items():
            if norm(have[name]) != norm(value):
                mismatches.append(f"id {row_id}, {name}: Spark {have[name]!r}, input {value!r}")
        file_name = FILES[row_id // per_file]
        if have["dt"] != dt.date.fromisoformat(INSTANCE) or have["part"] != f"f_{file_name}":
            mismatches.append(f"id {row_id}: dt={have['dt']!r} part={have['part']!r}, "
                              f"expected {INSTANCE} and f_{file_name}")
    assert not mismatches, (f"{len(mismatches)} values differ:\n  "
                            + "\n  ".join(mismatches[:40]))


# ---------------------------------------------------------------------------------------
# Dates and timestamps before the Julian/Gregorian switch (a known Spark 3.x trap).

def test_ancient_dates_and_timestamps(spark, tmp_path):
    """Dates before 1582-10-15 and UTC timestamps before 1900-01-01T00:00:00Z (e.g. the
    0001-01-01 sentinel many databases use). Spark 3.0-3.5 reads such values from a
    Parquet file only when the footer says which calendar wrote them (Spark's
    `org.apache.spark.version` key-value metadata); otherwise its default
    datetimeRebaseModeInRead=EXCEPTION fails the query (READ_ANCIENT_DATETIME). Spark
    4.0 changed that default to CORRECTED. Arrow writes the proleptic Gregorian calendar,
    which is what Spark must return."""
    days = [dt.date(1, 1, 1), dt.date(1000, 6, 15), dt.date(1582, 10, 4),
            dt.date(1582, 10, 14), dt.date(1582, 10, 15), None]
    micros = [US_0001, -12_219_336_000_000_000,  # 1582-10-14T12:00:00Z
              -5_364_662_400_000_000,            # 1800-01-01T00:00:00Z
              US_1900 - 1, US_1900, None]
    table = pa.table({
        "id": pa.array(range(len(days)), pa.int64()),
        "day": pa.array(days, pa.date32()),
        "ts": pa.array(micros, pa.timestamp("us", tz="UTC")),
        "ntz": pa.array(micros, pa.timestamp("us")),
    })
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "old.parquet")
    _, lake = run_file_pipeline(tmp_path)

    df = read_parquet(spark, lake)
    assert spark_types(df)[:4] == [("id", "bigint"), ("day", "date"), ("ts", "timestamp"),
                                   ("ntz", "timestamp_ntz")]
    footer = pq.ParquetFile(data_files(lake)[0]).metadata.metadata or {}
    keys = sorted(k.decode() for k in footer)
    expected = {
        "day": days,
        "ts": micros,
        "ntz": [None if v is None else dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=v)
                for v in micros],
    }
    problems = []
    for name, want in expected.items():
        expr = f"unix_micros(`{name}`) AS `{name}`" if name == "ts" else f"`{name}`"
        try:
            rows = df.selectExpr("id", expr).orderBy("id").collect()
        except Exception as e:
            problems.append(f"column {name!r} ({dict(spark_types(df))[name]}): Spark "
                            f"{spark.version} fails: {spark_error(e)}")
            continue
        have = [r[name] for r in rows]
        if have != want:
            problems.append(f"column {name!r}: Spark read {have}, input is {want}")
    assert not problems, (
        f"Spark {spark.version} cannot read jetflow's ancient dates/timestamps with default "
        f"settings. Footer key-value metadata keys: {keys}; Spark 3.x applies its default "
        "datetimeRebaseModeInRead=EXCEPTION to files whose footer has no "
        "'org.apache.spark.version':\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------
# (2) generate mixed10, several partitions, two run instances.

MIXED10_SPARK_TYPES = [
    ("id", "bigint"), ("account_id", "int"), ("amount", "decimal(18,4)"), ("price", "double"),
    ("created_at", "timestamp"), ("name", "string"), ("country", "string"),
    ("is_active", "boolean"), ("score", "double"), ("comment", "string"),
    ("dt", "date"), ("part", "string"),
]


def test_generate_two_instances_counts_and_merge_schema(spark, tmp_path):
    rows, partitions = 24_000, 4
    pipeline = write_pipeline(tmp_path, {"type": "generate", "rows": rows,
                                         "partitions": partitions, "seed": 99,
                                         "preset": "mixed10"},
                              engine={"batch_rows": 4096})
    first = run_ok(pipeline)
    second = run_ok(pipeline, "--instance", SECOND_INSTANCE)
    again = run_ok(pipeline)  # a re-run of the first instance must not duplicate anything
    lake = tmp_path / "lake"
    written = {INSTANCE: again["rows_written"], SECOND_INSTANCE: second["rows_written"]}
    assert first["rows_written"] == rows and written == {INSTANCE: rows,
                                                         SECOND_INSTANCE: rows}
    dirs = {}
    for instance in written:
        check_published_run(lake, f"dt={instance}")
        dirs[instance] = sorted(partition_dirs(lake, f"dt={instance}"))
        assert len(dirs[instance]) == partitions, dirs

    df = read_parquet(spark, lake)
    assert spark_types(df) == MIXED10_SPARK_TYPES
    total = collect(df.selectExpr("count(*) AS n"), "the mixed10 lake")[0]["n"]
    assert total == sum(written.values()), f"Spark counts {total}, jetflow wrote {written}"

    from pyspark.sql import functions as F
    per_instance = collect(df.groupBy("dt").agg(
        F.count("*").alias("n"), F.countDistinct("id").alias("ids"), F.min("id").alias("lo"),
        F.max("id").alias("hi"), F.collect_set("part").alias("parts")), "per-instance counts")
    seen = {}
    for r in per_instance:
        seen[r["dt"].isoformat()] = (r["n"], r["ids"], r["lo"], r["hi"], sorted(r["parts"]))
    assert seen == {instance: (written[instance], written[instance], 0,
                               written[instance] - 1, dirs[instance])
                    for instance in written}, seen

    # Values: aggregates over every row, and every column of a sample of rows, compared
    # with pyarrow's reading of the same files.
    arrow = read_lake_arrow(lake)
    sums = collect(df.selectExpr(
        "sum(id) AS id", "sum(account_id) AS account_id", "sum(amount) AS amount",
        "sum(cast(unix_micros(created_at) AS decimal(38,0))) AS created_at",
        "count(score) AS score_n", "count(comment) AS comment_n",
        "sum(length(name)) AS name_chars", "count(DISTINCT country) AS countries",
        "sum(cast(is_active AS int)) AS active", "sum(price) AS price"), "aggregates")[0]
    assert sums["id"] == pc.sum(arrow["id"]).as_py()
    assert sums["account_id"] == pc.sum(arrow["account_id"]).as_py()
    assert sums["amount"] == pc.sum(arrow["amount"]).as_py()
    assert sums["created_at"] == sum(arrow["created_at"].cast(pa.int64()).to_pylist())
    assert sums["score_n"] == arrow.num_rows - arrow["score"].null_count
    assert sums["comment_n"] == arrow.num_rows - arrow["comment"].null_count
    assert sums["name_chars"] == pc.sum(pc.utf8_length(arrow["name"])).as_py()
    assert sums["countries"] == len(pc.unique(arrow["country"]))
    assert sums["active"] == pc.sum(arrow["is_active"].cast(pa.int64())).as_py()
    assert math.isclose(sums["price"], pc.sum(arrow["price"]).as_py(), rel_tol=1e-12)

    sample = collect(df.where(f"dt = DATE'{INSTANCE}' AND id % 997 = 0").selectExpr(
        "id", "account_id", "amount", "price", "unix_micros(created_at) AS created_at",
        "name", "country", "is_active", "score", "comment").orderBy("id"), "sampled rows")
    first_lake = read_lake_arrow(lake, data_files(lake / INSTANCE_DIR)).sort_by("id")
    want = [r for r in first_lake.to_pylist() if r["id"] % 997 == 0]
    for r in want:
        r["created_at"] = int((r["created_at"] - EPOCH) / dt.timedelta(microseconds=1))
    assert [r.asDict() for r in sample] == want

    # Both instances have one schema: mergeSchema reads every footer and must agree.
    merged = read_parquet(spark, lake, mergeSchema="true")
    assert spark_types(merged) == MIXED10_SPARK_TYPES
    assert collect(merged.selectExpr("count(*) AS n"), "mergeSchema")[0]["n"] == total
    schemas = {str(pq.ParquetFile(p).schema_arrow) for p in data_files(lake)}
    assert len(schemas) == 1, f"files with different schemas: {schemas}"


# ---------------------------------------------------------------------------------------
# (3) What Spark must not read: staging, trash, manifests, markers.

def test_spark_ignores_staging_trash_and_bookkeeping_files(spark, tmp_path):
    rows = 3000
    pipeline = write_pipeline(tmp_path, {"type": "generate", "rows": rows, "partitions": 3,
                                         "seed": 5, "preset": "mixed10"})
    summary = run_ok(pipeline)
    lake = tmp_path / "lake"
    check_published_run(lake)
    real = data_files(lake)
    assert len(real) == 3
    # The lake's own bookkeeping files are there, next to the data.
    run_dir = lake / INSTANCE_DIR
    assert (run_dir / "_SUCCESS").is_file() and (run_dir / "_jetflow_run.json").is_file()
    assert all((p.parent / "_jetflow_manifest.json").is_file() for p in real)

    # Leftovers a crash could leave: a complete copy of a data file in staging (would add
    # rows), a file with another schema (would add a column) and garbage named .parquet in
    # the trash (would fail the read).
    attempt = lake / "_jetflow_staging" / INSTANCE_DIR / "p00000" / "attempt-9"
    attempt.mkdir(parents=True)
    shutil.copy(real[0], attempt / "part-00000.parquet")
    pq.write_table(pa.table({"junk": pa.array(["x"] * 5)}), attempt / "part-00001.parquet")
    trash = lake / "_jetflow_trash" / INSTANCE_DIR / "p00001" / "0123abcd"
    trash.mkdir(parents=True)
    (trash / "part-00000.parquet").write_bytes(b"this is not a parquet file\n" * 10)

    for merge in ("false", "true"):
        df = read_parquet(spark, lake, mergeSchema=merge)
        assert local_paths(df.inputFiles()) == [str(p) for p in real], (
            f"mergeSchema={merge}: Spark reads {df.inputFiles()}")
        assert spark_types(df) == MIXED10_SPARK_TYPES, f"mergeSchema={merge}"
        counts = collect(df.selectExpr("count(*) AS n", "count(DISTINCT id) AS ids"),
                         f"the lake with leftovers (mergeSchema={merge})")[0]
        assert counts["n"] == counts["ids"] == summary["rows_written"] == rows, counts
