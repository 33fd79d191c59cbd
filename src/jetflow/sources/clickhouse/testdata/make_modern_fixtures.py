#!/usr/bin/env python3
"""Records the ClickHouse Native fixtures of a current ClickHouse engine, with chdb.

chdb (PyPI, pinned in scripts/requirements-test.txt) embeds a current ClickHouse;
`chdb.query(sql, "Native")` returns the bytes a server sends for `sql FORMAT Native`.
For each fixture below this writes, next to this script:

  NAME.native    the Native response body of QUERY
  NAME.describe  "name<TAB>type" per column, as the jetflow consumer learns them
                 (`SELECT * FROM (QUERY) LIMIT 0 FORMAT TSVWithNamesAndTypes`)

and the seed ../fuzz_corpus/native_block_reader_fuzz/NAME (the column list, an empty
line, then the Native bytes: the input format of native_block_reader_fuzz.cc). The list
of fixtures in README.md is generated from FIXTURES, between its marker lines.

Every query runs with SETTINGS session_timezone = 'UTC', max_threads = 1 (plus the
fixture's own), so the bytes do not depend on the machine: running this again with the
same chdb rewrites every file byte for byte. `--check` writes nothing and fails if any
file differs from what the queries return now (tests/e2e/test_clickhouse_modern.py runs
it).

    .venv/bin/python src/jetflow/sources/clickhouse/testdata/make_modern_fixtures.py [--check]
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "fuzz_corpus" / "native_block_reader_fuzz"
README = HERE / "README.md"
BEGIN = "<!-- BEGIN modern fixtures (make_modern_fixtures.py) -->"
END = "<!-- END modern fixtures -->"
CHDB_VERSION = "4.4.0"
COMMON_SETTINGS = {"session_timezone": "'UTC'", "max_threads": "1"}


@dataclass
class Fixture:
    name: str
    what: str
    query: str
    settings: dict[str, str] = field(default_factory=dict)

    def sql(self) -> str:
        settings = COMMON_SETTINGS | self.settings
        return (self.query + "\nSETTINGS " +
                ", ".join(f"{k} = {v}" for k, v in settings.items()))


FIXTURES = [
    Fixture(
        "datetime_26_9",
        "DateTime64 of precisions 0, 1, 3, 6, 8, 9 with and without a time zone, Date32, "
        "Date and DateTime: the epoch, the tick before it, the minimum and maximum of "
        "each type (for precisions 8 and 9: of Arrow's nanosecond timestamps), a leap "
        "day, summer time (local times in the zoned columns)",
        """SELECT * FROM VALUES(
  'dt0 DateTime64(0), dt1 DateTime64(1), dt3 DateTime64(3), dt6 DateTime64(6),
   dt8 DateTime64(8, \\'UTC\\'), dt9 DateTime64(9), dt3_kol DateTime64(3, \\'Asia/Kolkata\\'),
   dt6_ny DateTime64(6, \\'America/New_York\\'), d32 Date32, d Date, dt DateTime,
   dt_ber DateTime(\\'Europe/Berlin\\')',
  ('1970-01-01 00:00:00', '1970-01-01 00:00:00.0', '1970-01-01 00:00:00.000',
   '1970-01-01 00:00:00.000000', '1970-01-01 00:00:00.00000000',
   '1970-01-01 00:00:00.000000000', '1970-01-01 05:30:00.000',
   '1969-12-31 19:00:00.000000', '1970-01-01', '1970-01-01', '1970-01-01 00:00:00',
   '1970-01-01 01:00:00'),
  ('1969-12-31 23:59:59', '1969-12-31 23:59:59.9', '1969-12-31 23:59:59.999',
   '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.99999999',
   '1969-12-31 23:59:59.999999999', '1970-01-01 05:29:59.999',
   '1969-12-31 18:59:59.999999', '1969-12-31', '1970-01-02', '1970-01-01 00:00:01',
   '1970-01-01 01:00:01'),
  ('1900-01-01 00:00:00', '1900-01-01 00:00:00.0', '1900-01-01 00:00:00.000',
   '1900-01-01 00:00:00.000000', '1900-01-01 00:00:00.00000000',
   '1900-01-01 00:00:00.000000000', '1900-01-01 05:30:00.000',
   '1899-12-31 19:00:00.000000', '1900-01-01', '1970-01-01', '1970-01-01 00:00:00',
   '1970-01-01 01:00:00'),
  ('2299-12-31 23:59:59', '2299-12-31 23:59:59.9', '2299-12-31 23:59:59.999',
   '2299-12-31 23:59:59.999999', '2262-04-11 23:47:16.85477580',
   '2262-04-11 23:47:16.854775807', '2299-12-31 23:59:59.999',
   '2299-12-31 23:59:59.999999', '2299-12-31', '2149-06-06', '2106-02-07 06:28:15',
   '2106-02-07 07:28:15'),
  ('2024-02-29 12:34:56', '2024-02-29 12:34:56.7', '2024-02-29 12:34:56.789',
   '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.78901234',
   '2024-02-29 12:34:56.789012345', '2024-07-01 18:04:56.789',
   '2024-07-01 08:34:56.789012', '2024-02-29', '2024-02-29', '2024-02-29 12:34:56',
   '2024-07-01 14:34:56'))"""),
    Fixture(
        "numbers_26_9",
        "Bool, Int128, UInt128, Int256, UInt256 and Decimal32/64/128/256 and Decimal(76, 0) "
        "at their limits (the 256-bit integers at ±(10^76 - 1), the widest Arrow's "
        "decimal256 holds), zero and small values",
        """SELECT * FROM VALUES(
  'b Bool, i128 Int128, u128 UInt128, i256 Int256, u256 UInt256, d32 Decimal32(2),
   d64 Decimal64(4), d128 Decimal128(10), d256 Decimal256(20), d76 Decimal(76, 0)',
  (false, '-170141183460469231731687303715884105728', 0,
   '-9999999999999999999999999999999999999999999999999999999999999999999999999999', 0,
   '-9999999.99', '-99999999999999.9999', '-9999999999999999999999999999.9999999999',
   '-99999999999999999999999999999999999999999999999999999999.99999999999999999999',
   '-9999999999999999999999999999999999999999999999999999999999999999999999999999'),
  (true, '170141183460469231731687303715884105727', '340282366920938463463374607431768211455',
   '9999999999999999999999999999999999999999999999999999999999999999999999999999',
   '9999999999999999999999999999999999999999999999999999999999999999999999999999',
   '9999999.99', '99999999999999.9999', '9999999999999999999999999999.9999999999',
   '99999999999999999999999999999999999999999999999999999999.99999999999999999999',
   '9999999999999999999999999999999999999999999999999999999999999999999999999999'),
  (false, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  (true, -1, 1, -1, 1, '-0.01', '0.0001', '-0.0000000001', '0.00000000000000000001', -1))"""),
    Fixture(
        "int256_max_26_9",
        "the largest Int256 (77 digits): more than decimal256(76, 0) holds",
        "SELECT toInt256('57896044618658097711785492504343953926634992332820282019728792003"
        "956564819967') AS i256"),
    Fixture(
        "uint256_max_26_9",
        "the largest UInt256 (78 digits)",
        "SELECT toUInt256('11579208923731619542357098500868790785326998466564056403945758400"
        "7913129639935') AS u256"),
    Fixture(
        "strings_26_9",
        "String, FixedString, UUID, IPv4, IPv6, Enum8 and Enum16 edge values",
        """SELECT * FROM VALUES(
  's String, fs FixedString(4), u UUID, ip4 IPv4, ip6 IPv6,
   e8 Enum8(\\'neg\\' = -128, \\'a\\\\\\'b\\' = 0, \\'c,d\\' = 127),
   e16 Enum16(\\'lo\\' = -32768, \\'hi\\' = 32767)',
  ('', '', '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::', 'neg', 'lo'),
  ('Zoë 東京 🙂', 'abcd', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '255.255.255.255',
   'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'c,d', 'hi'),
  ('tab\\there', 'ab', '01234567-89ab-cdef-fedc-ba9876543210', '1.2.3.4',
   '2001:db8::ff00:42:8329', 'a\\'b', 'lo'),
  ('x', unhex('00ff0001'), '6ba7b810-9dad-11d1-80b4-00c04fd430c8', '10.0.0.1',
   '::ffff:1.2.3.4', 'neg', 'hi'),
  ('y', 'z', '00000000-0000-0000-0000-000000000001', '127.0.0.1', '::1', 'c,d', 'lo'))"""),
    Fixture(
        "nullable_26_9",
        "Nullable of each newer scalar type, and Nullable(Nothing): values, all NULLs, "
        "values",
        """SELECT * FROM VALUES(
  'nb Nullable(Bool), ni128 Nullable(Int128), nu256 Nullable(UInt256),
   nd256 Nullable(Decimal256(20)), ndt9 Nullable(DateTime64(9, \\'UTC\\')),
   nd32 Nullable(Date32), nip4 Nullable(IPv4), nip6 Nullable(IPv6), nu Nullable(UUID),
   nfs Nullable(FixedString(3)), ne Nullable(Enum8(\\'a\\' = 1, \\'b\\' = -1)),
   ns Nullable(String), nothing Nullable(Nothing)',
  (true, -5, 7, '-1.5', '1969-12-31 23:59:59.999999999', '1969-12-31', '1.2.3.4', '::1',
   '01234567-89ab-cdef-fedc-ba9876543210', 'abc', 'b', 'x', NULL),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (false, 0, 0, '0', '2024-02-29 12:34:56.789012345', '2299-12-31', '0.0.0.0', '::',
   '00000000-0000-0000-0000-000000000000', 'z', 'a', '', NULL))"""),
    Fixture(
        "low_cardinality_26_9",
        "LowCardinality of String, Nullable(String), FixedString and Nullable(FixedString), "
        "in Arrays, Map keys and values and a named Tuple; ten rows in blocks of four (the "
        "arrays of `alcn` are all empty in the first block, whose LowCardinality column "
        "then has no granule at all)",
        """SELECT
  toLowCardinality(toString(number % 3)) AS lc,
  CAST(if(number % 4 = 0, NULL, toString(number % 5)) AS LowCardinality(Nullable(String)))
    AS lcn,
  CAST(toString(number % 2) AS LowCardinality(FixedString(2))) AS lcf,
  CAST(if(number % 3 = 1, NULL, toFixedString(char(97 + number % 4), 1))
       AS LowCardinality(Nullable(FixedString(1)))) AS lcnf,
  CAST(arrayMap(x -> toString(x), range(number % 3)) AS Array(LowCardinality(String))) AS alc,
  CAST(if(number < 4, [], [toString(number)]) AS Array(LowCardinality(Nullable(String))))
    AS alcn,
  CAST(mapFromArrays(arrayMap(x -> concat('k', toString(x)), range(number % 3)),
                     arrayMap(x -> if(x = 1, NULL, toString(x * number)), range(number % 3)))
       AS Map(LowCardinality(String), LowCardinality(Nullable(String)))) AS mlc,
  CAST((toString(number % 2), if(number = 7, NULL, 'v'))
       AS Tuple(k LowCardinality(String), v LowCardinality(Nullable(String)))) AS tlc
FROM numbers(10)""",
        {"max_block_size": "4"}),
    Fixture(
        "low_cardinality_wide_26_9",
        "LowCardinality(String) with 300 distinct values: UInt16 indexes",
        "SELECT toLowCardinality(toString(number)) AS lc FROM numbers(300)"),
    Fixture(
        "nested_26_9",
        "Array, Tuple, Map and Nested of the newer types, with empty arrays and maps and "
        "NULLs inside",
        """SELECT * REPLACE (CAST(n AS Nested(a UInt8, b Nullable(String))) AS n) FROM VALUES(
  'ai128 Array(Nullable(Int128)), aadt Array(Array(DateTime64(3, \\'UTC\\'))),
   aip Array(Tuple(IPv4, Nullable(String))),
   t Tuple(b Bool, d Decimal64(3), `a b` LowCardinality(String)),
   tu Tuple(Nullable(UUID), Array(Date32)), m Map(String, Nullable(Decimal64(3))),
   mm Map(String, Map(UInt8, Array(String))), am Array(Map(Int128, IPv6)),
   me Map(Enum8(\\'x\\' = 1, \\'y\\' = 2), Bool),
   n Array(Tuple(a UInt8, b Nullable(String)))',
  ([1, NULL, toInt128('-170141183460469231731687303715884105728')],
   [['1969-12-31 23:59:59.999', '2024-02-29 12:34:56.789'], []],
   [('1.2.3.4', 'x'), ('0.0.0.0', NULL)], (true, -1.5, 'a'),
   ('01234567-89ab-cdef-fedc-ba9876543210', ['1900-01-01', '2299-12-31']),
   map('a', 1.25, 'b', NULL), map('k', map(1, ['x', ''], 2, [])),
   [map(-1, '::1'), map()], map('y', true, 'x', false), [(1, 'one'), (2, NULL)]),
  ([], [], [], (false, 0, ''), (NULL, []), map(), map(), [], map(), []),
  ([NULL], [[]], [('255.255.255.255', '')], (true, '999999999999999.999', 'Zoë'),
   ('00000000-0000-0000-0000-000000000000', ['1970-01-01']), map('', NULL),
   map('', map()), [map()], map('x', true), [(255, '')]))"""),
    Fixture(
        "nothing_26_9",
        "the type of the empty literal []: Array(Nothing)",
        "SELECT number AS id, [] AS empty_array, [[], []] AS empty_arrays FROM numbers(2)"),
    Fixture(
        "unsupported_26_9",
        "types jetflow does not read (it reports the column and its type at plan time): "
        "Variant, JSON, Dynamic, BFloat16, Time, Time64, an interval, the Point geo type, "
        "an aggregate function state, the empty Tuple and the type of map(), "
        "Map(Nothing, Nothing)",
        """SELECT
  number AS k,
  CAST(multiIf(number = 0, 'text'::Variant(String, UInt64, Array(UInt8)),
               number = 1, 42::Variant(String, UInt64, Array(UInt8)),
               number = 2, [1, 2]::Variant(String, UInt64, Array(UInt8)),
               NULL) AS Variant(String, UInt64, Array(UInt8))) AS variant,
  CAST(['{"a": 1, "b": {"c": "x"}}', '{"a": 2.5}', '{}'][number % 3 + 1] AS JSON) AS json,
  CAST([1::Dynamic, 'two'::Dynamic, NULL][number % 3 + 1] AS Dynamic) AS dynamic,
  CAST(number + 0.5 AS BFloat16) AS bfloat16,
  CAST('12:34:56' AS Time) AS time,
  CAST('12:34:56.789' AS Time64(3)) AS time64,
  toIntervalDay(number) AS interval,
  CAST((1.5, number) AS Point) AS point,
  uniqState(number) OVER () AS aggregate,
  tuple() AS empty_tuple,
  map() AS empty_map
FROM numbers(4)""",
        {"allow_experimental_variant_type": "1", "allow_experimental_dynamic_type": "1",
         "allow_experimental_json_type": "1", "enable_time_time64_type": "1"}),
]


def query(sql: str, fmt: str) -> bytes:
    import chdb  # imported here so that --help works without it
    return chdb.query(sql, fmt).bytes()


def tsv_unescape(field: str) -> str:
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f",
               "a": "\a", "v": "\v"}
    while i < len(field):
        if field[i] == "\\" and i + 1 < len(field):
            out.append(escapes.get(field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def record(fixture: Fixture) -> dict[Path, bytes]:
    """The files of one fixture: path -> contents."""
    native = query(fixture.sql(), "Native")
    header = query(f"SELECT * FROM ({fixture.query}) LIMIT 0\nSETTINGS " +
                   ", ".join(f"{k} = {v}" for k, v in
                             (COMMON_SETTINGS | fixture.settings).items()),
                   "TSVWithNamesAndTypes").decode()
    names, types = (line.split("\t") for line in header.splitlines()[:2])
    describe = "".join(f"{n}\t{t}\n" for n, t in zip(names, types))
    seed = "".join(f"{tsv_unescape(n)}\t{tsv_unescape(t)}\n" for n, t in zip(names, types))
    return {HERE / f"{fixture.name}.native": native,
            HERE / f"{fixture.name}.describe": describe.encode(),
            CORPUS / fixture.name: seed.encode() + b"\n" + native}


def readme_section(engine_version: str) -> str:
    intro = (f"Recorded with chdb {CHDB_VERSION} (ClickHouse {engine_version}) by "
             "`make_modern_fixtures.py`, which holds the queries below and rewrites every "
             "file byte for byte (`--check` compares instead). Each query runs with "
             "`SETTINGS " + ", ".join(f"{k} = {v}" for k, v in COMMON_SETTINGS.items()) +
             "` (plus the settings shown). `NAME.native` is the Native body, "
             "`NAME.describe` the columns as `SELECT * FROM (query) LIMIT 0 FORMAT "
             "TSVWithNamesAndTypes` names them; the same bytes seed the fuzz corpus "
             "(`../fuzz_corpus/native_block_reader_fuzz/NAME`). The expected values are "
             "in `native_block_reader_modern_test.cc`.")
    lines = [BEGIN, "", f"## ClickHouse {engine_version} (chdb {CHDB_VERSION})", "",
             textwrap.fill(intro, 90), ""]
    for fixture in FIXTURES:
        extra = ""
        if fixture.settings:
            extra = " Settings: `" + ", ".join(f"{k} = {v}" for k, v in
                                               fixture.settings.items()) + "`."
        lines += [textwrap.fill(f"- `{fixture.name}.native` — {fixture.what}.{extra}", 90,
                                subsequent_indent="  "), "  ```sql"]
        lines += ["  " + line if line else "" for line in fixture.query.splitlines()]
        lines += ["  ```"]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the files on disk instead of writing them")
    args = parser.parse_args()
    import chdb
    if chdb.__version__ != CHDB_VERSION:
        print(f"chdb {chdb.__version__} is installed; the fixtures are of chdb "
              f"{CHDB_VERSION} (scripts/requirements-test.txt)", file=sys.stderr)
        return 2
    engine = query("SELECT version()", "TSV").decode().strip()
    files: dict[Path, bytes] = {}
    for fixture in FIXTURES:
        files.update(record(fixture))
    readme = README.read_text(encoding="utf-8")
    if BEGIN in readme and END in readme:
        before = readme[:readme.index(BEGIN)]
        after = readme[readme.index(END) + len(END):].lstrip("\n")
    else:
        before, after = readme.rstrip("\n") + "\n\n", ""
    files[README] = (before + readme_section(engine) + after).encode()
    differ = []
    for path, contents in files.items():
        if args.check:
            if not path.exists() or path.read_bytes() != contents:
                differ.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(contents)
    if differ:
        for path in differ:
            print(f"differs from what chdb returns now: {path}", file=sys.stderr)
        return 1
    print(("checked " if args.check else "wrote ") + f"{len(files)} files "
          f"(chdb {chdb.__version__}, ClickHouse {engine})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
