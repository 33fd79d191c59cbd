// ClickHouse Native format: type names, and blocks read straight into Arrow arrays
// (format: docs/formats/clickhouse-native.md).
//
// The consumer gets column names and type names from DESCRIBE / system.columns, parses
// the types with ParseClickHouseType, derives the Arrow schema with ArrowTypeFor before
// any data moves, then reads `SELECT ... FORMAT Native` through a NativeBlockReader.
// Fixed-width columns are bulk-copied, strings become offsets + data, LowCardinality
// stays dictionary encoded.
//
// Threading: one NativeBlockReader per partition reader; not thread-safe.
#pragma once

#include <arrow/io/interfaces.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jetflow/sources/invalid_utf8.h"

namespace jetflow::clickhouse {

/// A parsed ClickHouse type, e.g. Nullable(Decimal(18, 4)) or Map(String, Array(UInt32)).
struct ClickHouseType {
  /// The outer type name as ClickHouse spells it: "Nullable", "Decimal", "DateTime64",
  /// ...
  std::string name;
  /// Type arguments that are types (Nullable, Array, Tuple, Map, LowCardinality,
  /// SimpleAggregateFunction's value type).
  std::vector<ClickHouseType> children;
  /// Tuple element names, when the Tuple is named; empty otherwise.
  std::vector<std::string> child_names;
  /// Other arguments verbatim, unquoted: precision/scale, N of FixedString, the time zone
  /// of DateTime('UTC'), Enum entries as "name=value", the function of
  /// SimpleAggregateFunction.
  std::vector<std::string> parameters;
  /// The full original spelling, for messages.
  std::string spelling;
};

/// The character a backslash escape stands for in ClickHouse's quoted strings and TSV
/// output (`n` -> newline, `0` -> NUL, ...; any other character stands for itself).
char UnescapedChar(char escaped);

/// Parses a type name as ClickHouse prints it. Invalid (with the position) on bad syntax.
arrow::Result<ClickHouseType> ParseClickHouseType(std::string_view spelling);

/// True for the types whose values may be NULL: Nullable(T), LowCardinality(Nullable(T)),
/// Nothing (and SimpleAggregateFunction of one of these).
bool IsNullableType(const ClickHouseType& type);

/// True if `a` and `b` are the same type however they are spelled: whitespace and
/// quoting do not matter, Decimal32(S) is Decimal(9, S) (likewise 64/128/256), and the
/// time zone of DateTime/DateTime64 is ignored (it does not change the values; old
/// servers omit it from block headers), as DESCRIBE and block headers may differ so.
bool SameClickHouseType(const ClickHouseType& a, const ClickHouseType& b);

/// Precision, scale and wire width of Decimal(P, S) / Decimal32..256(S).
struct DecimalSpec {
  int precision = 0;
  int scale = 0;
  /// 4, 8, 16 or 32: the width of the unscaled little-endian integer on the wire.
  int wire_bytes = 0;
};
arrow::Result<DecimalSpec> DecimalSpecOf(const ClickHouseType& type);

/// The lossless Arrow type for a ClickHouse type. NotImplemented naming the type for
/// types the decoder does not support (the consumer turns that into a plan-time error
/// naming the column, or casts the column to String when the user opted in). String is
/// utf8, or binary (at any depth) under `invalid_utf8: binary`; FixedString(N) is
/// fixed_size_binary(N) whatever the policy.
arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(
    const ClickHouseType& type,
    sources::InvalidUtf8 invalid_utf8 = sources::InvalidUtf8::kError);

/// True if values of `type` hold a String somewhere (themselves, or array elements, map
/// keys or values, tuple fields, dictionary values): where `invalid_utf8` applies.
bool HoldsString(const ClickHouseType& type);

struct NativeColumnSpec {
  std::string name;
  ClickHouseType type;
  /// What a String value of the column (at any depth) that is not valid UTF-8 becomes
  /// (sources/invalid_utf8.h).
  sources::InvalidUtf8 invalid_utf8 = sources::InvalidUtf8::kError;
};

struct NativeReaderOptions {
  arrow::MemoryPool* pool = arrow::default_memory_pool();
  /// A block bigger than this (declared sizes, before allocation) is a
  /// SerializationError: corrupt or hostile input must not make us allocate unbounded
  /// memory.
  int64_t max_block_bytes = int64_t{1} << 31;
};

class NativeBlockReader {
 public:
  virtual ~NativeBlockReader() = default;

  /// `input` yields a `FORMAT Native` response body. `columns` is what the consumer
  /// planned with; every block must have exactly these names and types, in order, or
  /// reading fails with SerializationError naming the column.
  static arrow::Result<std::unique_ptr<NativeBlockReader>> Make(
      std::shared_ptr<arrow::io::InputStream> input,
      std::vector<NativeColumnSpec> columns, NativeReaderOptions options = {});

  /// Schema of every batch: the columns' ArrowTypeFor.
  virtual const std::shared_ptr<arrow::Schema>& schema() const = 0;

  /// The next block as a batch (empty blocks are skipped), or nullptr at a clean end of
  /// the stream. A stream that ends inside a block, or holds malformed data, is a
  /// SerializationError naming the block number, the column and the byte offset; an
  /// error from `input` is returned as it is. A String value that is not valid UTF-8
  /// in a column under `invalid_utf8: error` is Invalid naming the column, the row
  /// (0-based within the stream) and the option.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() = 0;

  /// Per column (in `columns` order): the String values replaced under
  /// `invalid_utf8: replace` so far. An array element, map key or value and tuple field
  /// counts alone; a LowCardinality value counts once per row that holds it.
  virtual const std::vector<int64_t>& replaced_values() const = 0;
};

}  // namespace jetflow::clickhouse
