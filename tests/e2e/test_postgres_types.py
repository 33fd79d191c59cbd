"""Every PostgreSQL type the consumer decodes, with NULLs and edge values, read back from
the lake by pyarrow and compared value by value with what the server itself returns (its
output functions, via psycopg), under both the spark and the lossless output profiles.

Edge values: min/max integers, 38-digit numerics, NaN and infinities, infinite and
pre-1900 / pre-1582 timestamps and dates, time zones, empty strings, large text and bytea,
unicode, arrays with NULL elements, enums, domains, and a type without a binary decoder
(read as text with a plan-time warning).
"""
from __future__ import annotations

import datetime as dt
import math
import random
import struct
import uuid
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from conftest import data_files, read_lake_arrow, run_jetflow, run_ok, write_pipeline, parquet_loader
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)

# (column, SQL type, kind used to compare)
COLUMNS = [
    ("i2", "smallint", "int"),
    ("i4", "integer", "int"),
    ("i8", "bigint", "int"),
    ("f4", "real", "float4"),
    ("f8", "double precision", "float8"),
    ("b", "boolean", "bool"),
    ("n18", "numeric(18,4)", "decimal"),
    ("n38", "numeric(38,0)", "decimal"),
    ("n38s", "numeric(38,10)", "decimal"),
    ("nu", "numeric", "text"),  # unconstrained: exact text by default
    ("t", "text", "text"),
    ("vc", "varchar(20)", "text"),
    ("c2", "char(2)", "text"),
    ("by", "bytea", "bytes"),
    ("u", "uuid", "uuid"),
    ("d", "date", "date"),
    ("ts", "timestamp", "timestamp"),
    ("tstz", "timestamptz", "timestamp"),
    ("tm", "time", "time"),
    ("js", "json", "text"),
    ("jb", "jsonb", "text"),
    ("ia", "integer[]", "list"),
    ("ta", "text[]", "list"),
    ("mood", "mood", "text"),
    ("pos", "positive", "int"),
    ("ip", "inet", "text"),
    ("tsv", "tsvector", "text"),  # no binary decoder: text fallback
]

BIG_TEXT = "Zoë 東京 🙂 " * 40000  # ~0.7 MB of multi-byte UTF-8
BIG_BYTES = bytes(range(256)) * 4000

EDGE_ROWS = [
    # minimums, empties, before 1582 / 1900
    dict(i2=-32768, i4=-2147483648, i8=-9223372036854775808, f4="-Infinity", f8="NaN",
         b=False, n18="-99999999999999.9999", n38="-" + "9" * 38,
         n38s="-" + "9" * 28 + "." + "9" * 10, nu="NaN", t="", vc="", c2="", by=b"",
         u="00000000-0000-0000-0000-000000000000", d="1000-06-15",
         ts="1000-01-01 00:00:00", tstz="1899-12-31 23:59:59.999999+00", tm="00:00:00",
         js="{}", jb="[]", ia=[], ta=[], mood="sad", pos=1, ip="0.0.0.0",
         tsv="a fat cat"),
    # maximums, large values, NULL array elements
    dict(i2=32767, i4=2147483647, i8=9223372036854775807, f4="Infinity", f8="1e308",
         b=True, n18="99999999999999.9999", n38="9" * 38, n38s="9" * 28 + "." + "9" * 10,
         nu="-1234567890123456789012345678901234567890.000000000000000000001",
         t=BIG_TEXT, vc="x" * 20, c2="ab", by=BIG_BYTES,
         u="ffffffff-ffff-ffff-ffff-ffffffffffff", d="9999-12-31",
         ts="9999-12-31 23:59:59.999999", tstz="2038-01-19 03:14:07.5+00",
         tm="23:59:59.999999", js='{"a": [1, 2.50, null], "b": "ü"}',
         jb='{"b": 1, "a": [1, 2.50, null]}', ia=[1, None, 3], ta=["a", None, "ü", ""],
         mood="happy", pos=2147483647, ip="2001:db8::1/64", tsv="'quoted' & words"),
    # infinities (clamped by default) and time zones
    dict(f4="NaN", f8="-Infinity", d="infinity", ts="-infinity", tstz="-infinity",
         tm="12:34:56.789", c2="a", t="tab\tnewline\n", mood="ok",
         n18="0.0001", n38="0", n38s="-0.0000000001", nu="0", ip="192.168.1.5"),
    dict(d="-infinity", ts="infinity", tstz="infinity", f8="-0",
         nu="Infinity"),
    dict(tstz="2024-03-31 02:30:00+02", ts="2024-02-29 12:00:00", d="1582-10-15",
         f8="2.2250738585072014e-308", f4="1.17549435e-38", nu="-Infinity"),
    # every column NULL (except the key)
    dict(),
]

INF_DATE = {"infinity": dt.date(9999, 12, 31), "-infinity": dt.date(1, 1, 1)}
INF_TS = {"infinity": dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
          "-infinity": dt.datetime(1, 1, 1)}


def create_table(pg, random_rows: int = 3000) -> None:
    pg.execute("DROP TABLE IF EXISTS all_types; DROP TYPE IF EXISTS mood; "
               "DROP DOMAIN IF EXISTS positive")
    pg.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    pg.execute("CREATE DOMAIN positive AS integer CHECK (VALUE > 0)")
    cols = ", ".join(f"{name} {sql}" for name, sql, _ in COLUMNS)
    pg.execute(f"CREATE TABLE all_types (id bigint PRIMARY KEY, {cols})")
    names = [name for name, _, _ in COLUMNS]
    rows = []
    for i, edge in enumerate(EDGE_ROWS):
        rows.append([i] + [edge.get(n) for n in names])
    rng = random.Random(4)
    for i in range(len(EDGE_ROWS), len(EDGE_ROWS) + random_rows):
        null = i % 7 == 3
        def maybe(v):
            return None if null or rng.random() < 0.05 else v
        rows.append([
            i, maybe(rng.randint(-32768, 32767)), maybe(rng.randint(-2**31, 2**31 - 1)),
            maybe(rng.randint(-2**63, 2**63 - 1)), maybe(repr(rng.uniform(-1e6, 1e6))),
            maybe(repr(rng.uniform(-1e300, 1e300))), maybe(rng.random() < 0.5),
            maybe(str(Decimal(rng.randint(-10**18 + 1, 10**18 - 1)).scaleb(-4))),
            maybe(str(rng.randint(-10**38 + 1, 10**38 - 1))),
            maybe(str(Decimal(rng.randint(-10**38 + 1, 10**38 - 1)).scaleb(-10))),
            maybe(str(Decimal(rng.randint(-10**30, 10**30)).scaleb(-rng.randint(0, 40)))),
            maybe(rng.choice(["", "a", "Zoë", "東京", "🙂", "O'Brien"]) * rng.randint(0, 5)),
            maybe("v" * rng.randint(0, 20)), maybe(rng.choice(["", "a", "zz", "é"])),
            maybe(rng.randbytes(rng.randint(0, 50))), maybe(str(uuid.UUID(int=rng.getrandbits(128)))),
            maybe((dt.date(1, 1, 1) + dt.timedelta(days=rng.randint(0, 3_652_058))).isoformat()),
            maybe((dt.datetime(1, 1, 1) + dt.timedelta(microseconds=rng.randint(0, 315_537_897_599_999_999))).isoformat(" ")),
            maybe((dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=rng.randint(0, 315_537_897_599_999_999))).isoformat(" ")),
            maybe(dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999999)).isoformat()),
            maybe('{"k": %d}' % rng.randint(0, 9)), maybe('{"k": [%d, "x"]}' % rng.randint(0, 9)),
            maybe([rng.choice([None, rng.randint(-5, 5)]) for _ in range(rng.randint(0, 4))]),
            maybe([rng.choice([None, "", "x", "ü"]) for _ in range(rng.randint(0, 4))]),
            maybe(rng.choice(["sad", "ok", "happy"])), maybe(rng.randint(1, 100)),
            maybe(f"10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}"), maybe("x y z"),
        ])
    placeholders = ", ".join(["%s"] * (len(names) + 1))
    with pg.connect() as con:
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO all_types VALUES ({placeholders})", rows)


def server_rows(pg) -> dict[int, dict]:
    """The server's own view of every value: its output function's text (format('%s')),
    except arrays and bytes, which psycopg parses natively."""
    exprs = []
    for name, _, kind in COLUMNS:
        if kind in ("list", "bytes"):
            exprs.append(name)
        else:
            exprs.append(f"CASE WHEN {name} IS NULL THEN NULL ELSE format('%s', {name}) END")
    rows = pg.query(f"SELECT id, {', '.join(exprs)} FROM all_types ORDER BY id")
    return {r[0]: dict(zip([c[0] for c in COLUMNS], r[1:])) for r in rows}


def parse_ts(text: str) -> dt.datetime:
    if text in INF_TS:
        return INF_TS[text]
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def expected(kind: str, text):
    """The server's value, in the form the lake's value is normalized to."""
    if text is None:
        return None
    if kind == "int":
        return int(text)
    if kind == "float8":
        return float(text)
    if kind == "float4":
        return struct.unpack("f", struct.pack("f", float(text)))[0]
    if kind == "bool":
        return text == "t"
    if kind == "decimal":
        return Decimal(text)
    if kind == "uuid":
        return str(uuid.UUID(text))
    if kind == "date":
        return INF_DATE.get(text) or dt.date.fromisoformat(text)
    if kind == "timestamp":
        return parse_ts(text)
    if kind == "time":
        return dt.time.fromisoformat(text)
    return text  # text, bytes, list


def actual(kind: str, value):
    """A lake value, normalized."""
    if value is None:
        return None
    if kind == "uuid":
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, bytes):
            return str(uuid.UUID(bytes=value))
        return str(uuid.UUID(value))
    if kind == "timestamp" and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if kind == "time" and isinstance(value, str):
        return dt.time.fromisoformat(value)
    return value


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


@pytest.mark.parametrize("profile", ["spark", "lossless"])
def test_every_type_matches_the_server(pg, tmp_path, profile):
    create_table(pg)
    consumer = pg_consumer(pg, table="public.all_types",
                           partition_by={"column": "id", "partitions": 3})
    pipeline = write_pipeline(tmp_path, consumer,
                              loaders=[parquet_loader(profile=profile)],
                              engine={"batch_rows": 500})
    result = run_jetflow("run", pipeline, "--json", "--no-progress", expect=0)
    assert result.json()["status"] == "succeeded"
    # The type without a binary decoder is announced at plan time.
    assert "tsv" in result.stderr and "tsvector" in result.stderr and "text" in result.stderr

    table = read_lake_arrow(tmp_path / "lake")
    server = server_rows(pg)
    assert table.num_rows == len(server)
    rows = table.to_pylist()
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids), "duplicate rows in the lake"
    assert set(ids) == set(server)
    mismatches = []
    for row in rows:
        want_row = server[row["id"]]
        for name, _, kind in COLUMNS:
            want = expected(kind, want_row[name])
            got = actual(kind, row[name])
            if not same(want, got):
                mismatches.append(f"id {row['id']} column {name}: server {want!r:.200} "
                                  f"lake {got!r:.200}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:30])

    # Types as an independent reader sees them.
    schema = pq.read_schema(data_files(tmp_path / "lake")[0])
    assert str(schema.field("i8").type) == "int64"
    assert str(schema.field("n38").type) == "decimal128(38, 0)"
    assert str(schema.field("tstz").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("ia").type).startswith("list")
    assert not schema.field("id").nullable  # NOT NULL from the catalog


def test_schema_command_shows_source_and_output(pg, tmp_path):
    pg.execute("CREATE TABLE IF NOT EXISTS small (id int NOT NULL, name text, price numeric(10,2))")
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="small"))
    result = run_jetflow("schema", pipeline, expect=0)
    assert "price" in result.stdout and "decimal128(10, 2)" in result.stdout, result.stdout
    assert "source schema" in result.stdout


def test_query_source_and_text_fallback_off(pg, tmp_path):
    pg.execute("DROP TABLE IF EXISTS q; "
               "CREATE TABLE q (id int, doc tsvector, n numeric(6,2), place point)")
    pg.execute("INSERT INTO q SELECT g, 'a b', g / 4.0 FROM generate_series(1, 100) g")
    pipeline = write_pipeline(tmp_path / "a", pg_consumer(
        pg, query="SELECT id, n * 2 AS twice, upper('x') AS label FROM q WHERE id % 2 = 0;"))
    run_ok(pipeline)
    rows = read_lake_arrow(tmp_path / "a" / "lake").sort_by("id").to_pylist()
    assert [r["id"] for r in rows] == list(range(2, 101, 2))
    # n * 2 has no typmod: an unconstrained numeric, kept exact as text by default.
    assert rows[0]["twice"] == "1.00" and rows[0]["label"] == "X"

    strict = write_pipeline(tmp_path / "b", pg_consumer(pg, table="q", text_fallback=False))
    result = run_jetflow("run", strict, "--no-progress", expect=2)
    assert "doc" in result.stderr and "tsvector" in result.stderr and "text_fallback" in result.stderr
    # Every such column at once, not the first only.
    assert "'place' (point)" in result.stderr, result.describe()


def test_numeric_nan_in_a_decimal_column(pg, tmp_path):
    pg.execute("DROP TABLE IF EXISTS nn; CREATE TABLE nn (id int, v numeric(10,2))")
    pg.execute("INSERT INTO nn VALUES (1, 1.5), (2, 'NaN'), (3, NULL)")
    strict = write_pipeline(tmp_path / "a", pg_consumer(pg, table="nn"))
    result = run_jetflow("run", strict, "--json", "--no-progress")
    assert result.code != 0
    assert "'v'" in result.stdout + result.stderr or " v" in result.stdout + result.stderr
    lenient = write_pipeline(tmp_path / "b", pg_consumer(pg, table="nn",
                                                          numeric={"on_invalid": "null"}))
    run_ok(lenient)
    rows = sorted(read_lake_arrow(tmp_path / "b" / "lake").to_pylist(), key=lambda r: r["id"])
    assert [r["v"] for r in rows] == [Decimal("1.50"), None, None]


def test_composites_ranges_and_multidimensional_arrays(pg, tmp_path):
    pg.execute("""
        DROP TABLE IF EXISTS nested; DROP TYPE IF EXISTS pair;
        CREATE TYPE pair AS (a int, b text);
        CREATE TABLE nested (id int, p pair, r int4range, m int[][]);
        INSERT INTO nested VALUES
          (1, ROW(7, 'x'), int4range(1, 10), '{{1,2},{3,NULL}}'),
          (2, ROW(NULL, ''), 'empty', '{}'),
          (3, NULL, int4range(NULL, 5), NULL),
          (4, ROW(-1, 'ü'), int4range(3, NULL), '{{5}}');
    """)
    run_ok(write_pipeline(tmp_path, pg_consumer(pg, table="nested"),
                          loaders=[parquet_loader(profile="lossless")]))
    rows = {r["id"]: r for r in read_lake_arrow(tmp_path / "lake").to_pylist()}
    server = {r[0]: r for r in pg.query(
        "SELECT id, (p).a, (p).b, p IS NULL, lower(r), upper(r), isempty(r) FROM nested")}
    for key, (_, a, b, p_null, lower, upper, empty) in server.items():
        got = rows[key]
        if p_null:
            assert got["p"] is None
        else:
            assert (got["p"]["a"], got["p"]["b"]) == (a, b), got
        if not empty:
            assert (got["r"]["lower"], got["r"]["upper"]) == (lower, upper), got
    # A column declared int[][] is a list of lists.
    assert rows[1]["m"] == [[1, 2], [3, None]]
    assert rows[4]["m"] == [[5]]
    assert rows[3]["m"] is None


@pytest.mark.parametrize("profile", ["spark", "lossless"])
def test_intervals_are_structs_of_months_days_and_nanoseconds(pg, tmp_path, profile):
    pg.execute("""
        DROP TABLE IF EXISTS iv; CREATE TABLE iv (id int, span interval);
        INSERT INTO iv VALUES (1, '1 year 2 mons -3 days 04:05:06.789012'), (2, NULL),
          (3, '-178000000 years'), (4, '00:00:00.000001'), (5, '-1 days +23:59:59');
    """)
    run_ok(write_pipeline(tmp_path, pg_consumer(pg, table="iv"),
                          loaders=[parquet_loader(profile=profile)]))
    rows = {r["id"]: r["span"] for r in read_lake_arrow(tmp_path / "lake").to_pylist()}
    # The server's own split of each value into months, days and microseconds.
    server = pg.query("""
        SELECT id, span IS NULL,
               (extract(year FROM span) * 12 + extract(month FROM span))::int,
               extract(day FROM span)::int,
               (extract(epoch FROM span - date_trunc('day', span)) * 1000000)::bigint
        FROM iv""")
    assert len(server) == len(rows) == 5
    for key, null, months, days, micros in server:
        if null:
            assert rows[key] is None
        else:
            assert rows[key] == {"months": months, "days": days,
                                 "nanoseconds": micros * 1000}, (key, rows[key])
