#include "jetflow/sources/sqlite/sqlite_consumer.h"

#include <arrow/api.h>
#include <arrow/util/decimal.h>
#include <arrow/util/utf8.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <system_error>

#include "jetflow/core/error.h"
#include "jetflow/sources/iso_time.h"
#include "jetflow/sources/key_ranges.h"
#include "jetflow/sources/partition_split.h"
#include "jetflow/sources/register_sources.h"
#include "jetflow/sources/source_options.h"
#include "jetflow/sources/table_source_options.h"

namespace jetflow {

namespace {

// ---------------------------------------------------------------------------------------
// The SQLite C API, wrapped: RAII handles and the one place its error codes become
// Status.

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Database = std::unique_ptr<sqlite3, DatabaseCloser>;
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

/// Maps a SQLite result code to a Status: busy/locked are retryable I/O errors, a corrupt
/// file is a SerializationError, SQL errors (no such table/column) are Invalid.
arrow::Status SqliteStatus(int rc, sqlite3* db, const std::string& what) {
  const std::string message =
      what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return MarkRetryable(arrow::Status::IOError(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return arrow::Status::SerializationError(message);
    case SQLITE_ERROR:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return arrow::Status::Invalid(message);
    default:
      return arrow::Status::IOError(message);
  }
}

arrow::Result<Database> OpenReadOnly(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return arrow::Status::IOError("SQLite database file not found (path ", path, ")");
  }
  sqlite3* raw = nullptr;
  // READONLY never creates the file; NOMUTEX: each connection is used by one thread.
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) {
    return SqliteStatus(rc, db.get(), "cannot open SQLite database (path " + path + ")");
  }
  sqlite3_busy_timeout(db.get(), 10000);
  return db;
}

arrow::Result<Statement> Prepare(sqlite3* db, const std::string& sql,
                                 const std::string& what) {
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db, what);
  if (stmt == nullptr) return arrow::Status::Invalid(what, ": empty SQL statement");
  return stmt;
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  return out + "\"";
}

std::string Upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

// A value as SQLite holds it, for error messages: INTEGER 17, TEXT 'abc', BLOB of 3
// bytes. `storage` is the value's sqlite3_column_type, read before any conversion.
std::string DescribeValue(sqlite3_stmt* stmt, int column, int storage) {
  switch (storage) {
    case SQLITE_INTEGER:
      return "INTEGER " + std::to_string(sqlite3_column_int64(stmt, column));
    case SQLITE_FLOAT:
      return "REAL " + std::string(reinterpret_cast<const char*>(
                           sqlite3_column_text(stmt, column)));
    case SQLITE_TEXT: {
      std::string text(reinterpret_cast<const char*>(sqlite3_column_text(stmt, column)),
                       static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
      if (text.size() > 64) text = text.substr(0, 61) + "...";
      return "TEXT '" + text + "'";
    }
    case SQLITE_BLOB:
      return "BLOB of " + std::to_string(sqlite3_column_bytes(stmt, column)) + " bytes";
    default:
      return "NULL";
  }
}

std::string_view TextOf(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return {text, static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

// ---------------------------------------------------------------------------------------
// Column conversion: SQLite value -> Arrow builder, strictly.

enum class Kind {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kString,
  kBinary,
  kDate32,
  kTimestamp,
  kDecimal128
};

std::optional<Kind> KindOf(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL:
      return Kind::kBool;
    case arrow::Type::INT8:
      return Kind::kInt8;
    case arrow::Type::INT16:
      return Kind::kInt16;
    case arrow::Type::INT32:
      return Kind::kInt32;
    case arrow::Type::INT64:
      return Kind::kInt64;
    case arrow::Type::FLOAT:
      return Kind::kFloat32;
    case arrow::Type::DOUBLE:
      return Kind::kFloat64;
    case arrow::Type::STRING:
      return Kind::kString;
    case arrow::Type::BINARY:
      return Kind::kBinary;
    case arrow::Type::DATE32:
      return Kind::kDate32;
    case arrow::Type::TIMESTAMP:
      return Kind::kTimestamp;
    case arrow::Type::DECIMAL128:
      return Kind::kDecimal128;
    default:
      return std::nullopt;
  }
}

bool ParseInteger(std::string_view text, int64_t* out) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

bool ParseDouble(std::string_view text, double* out) {
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size() && errno != ERANGE;
}

// Why a value was rejected; the caller adds table, column, row and the value.
using Rejection = std::string;

class ColumnConverter {
 public:
  ColumnConverter(std::shared_ptr<arrow::DataType> type, Kind kind)
      : type_(std::move(type)), kind_(kind) {
    if (kind_ == Kind::kTimestamp) {
      switch (static_cast<const arrow::TimestampType&>(*type_).unit()) {
        case arrow::TimeUnit::SECOND:
          micros_per_unit_ = 1000000;
          break;
        case arrow::TimeUnit::MILLI:
          micros_per_unit_ = 1000;
          break;
        case arrow::TimeUnit::MICRO:
          micros_per_unit_ = 1;
          break;
        case arrow::TimeUnit::NANO:
          micros_per_unit_ = 0;
          break;  // x1000
      }
    }
    if (kind_ == Kind::kDecimal128) {
      const auto& dt = static_cast<const arrow::Decimal128Type&>(*type_);
      precision_ = dt.precision();
      scale_ = dt.scale();
    }
  }

  arrow::Status Reset(int64_t capacity) {
    ARROW_ASSIGN_OR_RAISE(builder_, arrow::MakeBuilder(type_));
    return builder_->Reserve(capacity);
  }

  arrow::Result<std::shared_ptr<arrow::Array>> Finish() { return builder_->Finish(); }

  /// Storage class of the value last given to Append.
  int last_storage() const { return last_storage_; }

  /// Appends the value of `column` in the current row. On a value that does not fit the
  /// type, returns false and sets `why`.
  arrow::Result<bool> Append(sqlite3_stmt* stmt, int column, Rejection* why) {
    const int storage = sqlite3_column_type(stmt, column);
    last_storage_ = storage;
    if (storage == SQLITE_NULL) {
      ARROW_RETURN_NOT_OK(builder_->AppendNull());
      return true;
    }
    switch (kind_) {
      case Kind::kBool: {
        bool value = false;
        if (!ToBool(stmt, column, storage, &value)) {
          *why = "not a boolean (0/1, true/false)";
          return false;
        }
        ARROW_RETURN_NOT_OK(As<arrow::BooleanBuilder>().Append(value));
        return true;
      }
      case Kind::kInt8:
        return AppendInteger<arrow::Int8Builder>(stmt, column, storage, why);
      case Kind::kInt16:
        return AppendInteger<arrow::Int16Builder>(stmt, column, storage, why);
      case Kind::kInt32:
        return AppendInteger<arrow::Int32Builder>(stmt, column, storage, why);
      case Kind::kInt64:
        return AppendInteger<arrow::Int64Builder>(stmt, column, storage, why);
      case Kind::kFloat32:
      case Kind::kFloat64: {
        double value = 0;
        if (storage == SQLITE_INTEGER || storage == SQLITE_FLOAT) {
          value = sqlite3_column_double(stmt, column);
        } else if (storage != SQLITE_TEXT || !ParseDouble(TextOf(stmt, column), &value)) {
          *why = "not a number";
          return false;
        }
        if (kind_ == Kind::kFloat32) {
          ARROW_RETURN_NOT_OK(
              As<arrow::FloatBuilder>().Append(static_cast<float>(value)));
        } else {
          ARROW_RETURN_NOT_OK(As<arrow::DoubleBuilder>().Append(value));
        }
        return true;
      }
      case Kind::kString: {
        // Numbers as SQLite renders them; text and blobs must be valid UTF-8.
        std::string_view text = TextOf(stmt, column);
        if ((storage == SQLITE_TEXT || storage == SQLITE_BLOB) &&
            !arrow::util::ValidateUTF8(reinterpret_cast<const uint8_t*>(text.data()),
                                       static_cast<int64_t>(text.size()))) {
          *why = "not valid UTF-8 text";
          return false;
        }
        ARROW_RETURN_NOT_OK(As<arrow::StringBuilder>().Append(text));
        return true;
      }
      case Kind::kBinary: {
        if (storage != SQLITE_BLOB && storage != SQLITE_TEXT) {
          *why = "not a BLOB or TEXT";
          return false;
        }
        const void* bytes = sqlite3_column_blob(stmt, column);
        const int size = sqlite3_column_bytes(stmt, column);
        static const uint8_t kEmpty = 0;  // SQLite returns nullptr for a zero-length blob
        ARROW_RETURN_NOT_OK(As<arrow::BinaryBuilder>().Append(
            size > 0 ? static_cast<const uint8_t*>(bytes) : &kEmpty, size));
        return true;
      }
      case Kind::kDate32: {
        std::optional<int32_t> days;
        if (storage == SQLITE_TEXT) days = sources::ParseIsoDate(TextOf(stmt, column));
        if (!days) {
          *why = "not a date 'YYYY-MM-DD'";
          return false;
        }
        ARROW_RETURN_NOT_OK(As<arrow::Date32Builder>().Append(*days));
        return true;
      }
      case Kind::kTimestamp:
        return AppendTimestamp(stmt, column, storage, why);
      case Kind::kDecimal128:
        return AppendDecimal(stmt, column, storage, why);
    }
    return arrow::Status::UnknownError("unhandled column kind");
  }

 private:
  template <typename Builder>
  Builder& As() {
    return static_cast<Builder&>(*builder_);
  }

  static bool ToBool(sqlite3_stmt* stmt, int column, int storage, bool* out) {
    if (storage == SQLITE_INTEGER || storage == SQLITE_FLOAT) {
      const double v = sqlite3_column_double(stmt, column);
      if (v != 0.0 && v != 1.0) return false;
      *out = v == 1.0;
      return true;
    }
    if (storage != SQLITE_TEXT) return false;
    std::string text = Upper(std::string(TextOf(stmt, column)));
    if (text == "TRUE" || text == "T" || text == "YES" || text == "1") {
      *out = true;
      return true;
    }
    if (text == "FALSE" || text == "F" || text == "NO" || text == "0") {
      *out = false;
      return true;
    }
    return false;
  }

  template <typename Builder>
  arrow::Result<bool> AppendInteger(sqlite3_stmt* stmt, int column, int storage,
                                    Rejection* why) {
    using CType = typename Builder::value_type;
    int64_t value = 0;
    if (storage == SQLITE_INTEGER) {
      value = sqlite3_column_int64(stmt, column);
    } else if (storage == SQLITE_FLOAT) {
      // Only whole numbers, exactly.
      const double d = sqlite3_column_double(stmt, column);
      if (!(std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18)) {
        *why = "not an integer";
        return false;
      }
      value = static_cast<int64_t>(d);
    } else if (storage != SQLITE_TEXT || !ParseInteger(TextOf(stmt, column), &value)) {
      *why = "not an integer";
      return false;
    }
    if (value < std::numeric_limits<CType>::min() ||
        value > std::numeric_limits<CType>::max()) {
      *why = "out of range for " + type_->ToString();
      return false;
    }
    ARROW_RETURN_NOT_OK(As<Builder>().Append(static_cast<CType>(value)));
    return true;
  }

  arrow::Result<bool> AppendTimestamp(sqlite3_stmt* stmt, int column, int storage,
                                      Rejection* why) {
    int64_t micros = 0;
    if (storage == SQLITE_INTEGER) {  // unix seconds
      const int64_t seconds = sqlite3_column_int64(stmt, column);
      if (seconds > INT64_MAX / 1000000000 || seconds < INT64_MIN / 1000000000) {
        *why = "out of range for a timestamp";
        return false;
      }
      micros = seconds * 1000000;
    } else if (storage == SQLITE_TEXT) {
      auto parsed = sources::ParseIsoTimestamp(TextOf(stmt, column));
      if (!parsed) {
        *why = "not an ISO-8601 timestamp (or integer unix seconds)";
        return false;
      }
      micros = *parsed;
    } else {
      *why = "not an ISO-8601 timestamp (or integer unix seconds)";
      return false;
    }
    int64_t value = 0;
    if (micros_per_unit_ == 0) {
      if (micros > INT64_MAX / 1000 || micros < INT64_MIN / 1000) {
        *why = "out of range for " + type_->ToString();
        return false;
      }
      value = micros * 1000;
    } else {
      if (micros % micros_per_unit_ != 0) {
        *why = "more precise than " + type_->ToString();
        return false;
      }
      value = micros / micros_per_unit_;
    }
    ARROW_RETURN_NOT_OK(As<arrow::TimestampBuilder>().Append(value));
    return true;
  }

  arrow::Result<bool> AppendDecimal(sqlite3_stmt* stmt, int column, int storage,
                                    Rejection* why) {
    arrow::Decimal128 value;
    if (storage == SQLITE_INTEGER) {
      value = arrow::Decimal128(sqlite3_column_int64(stmt, column));
      auto rescaled = value.Rescale(0, scale_);
      if (!rescaled.ok()) {
        *why = "out of range for " + type_->ToString();
        return false;
      }
      value = *rescaled;
    } else if (storage == SQLITE_TEXT || storage == SQLITE_FLOAT) {
      // TEXT is parsed exactly. REAL is what SQLite's NUMERIC affinity made of a number:
      // its 15-significant-digit rendering is parsed, never the binary double.
      int32_t precision = 0, scale = 0;
      if (!arrow::Decimal128::FromString(TextOf(stmt, column), &value, &precision, &scale)
               .ok()) {
        *why = "not a decimal number";
        return false;
      }
      if (scale > scale_) {
        // Extra fractional digits are fine only if they are zeros.
        auto reduced = value.Rescale(scale, scale_);
        if (!reduced.ok()) {
          *why = "has more than " + std::to_string(scale_) + " fractional digits";
          return false;
        }
        value = *reduced;
      } else if (scale < scale_) {
        auto increased = value.Rescale(scale, scale_);
        if (!increased.ok()) {
          *why = "out of range for " + type_->ToString();
          return false;
        }
        value = *increased;
      }
    } else {
      *why = "not a decimal number";
      return false;
    }
    if (!value.FitsInPrecision(precision_)) {
      *why = "has more than " + std::to_string(precision_) + " significant digits";
      return false;
    }
    ARROW_RETURN_NOT_OK(As<arrow::Decimal128Builder>().Append(value));
    return true;
  }

  std::shared_ptr<arrow::DataType> type_;
  Kind kind_;
  std::unique_ptr<arrow::ArrayBuilder> builder_;
  int64_t micros_per_unit_ = 1;
  int32_t precision_ = 0;
  int32_t scale_ = 0;
  int last_storage_ = SQLITE_NULL;
};

// ---------------------------------------------------------------------------------------
// Partitions.

// How column names become id prefixes: fixed forever, ids are directory names in lakes.
constexpr sources::IdSpelling kIdSpelling{/*keep_dot_and_dash=*/false, /*lead=*/'k'};

// What a partition reads: every row, or the rows of a key range [lo, hi] (both within
// int64), or the rows whose key is NULL.
struct PartitionRead {
  enum class Kind { kAll, kRange, kNullKey } kind = Kind::kAll;
  int64_t lo = 0;
  int64_t hi = 0;
};

// The split of a partition: {"kind": "all"}, or {"kind": "key"} with its KeyBounds.
std::string AllRowsSplit() { return sources::SplitText({{"kind", "all"}}); }
std::string KeySplit(const sources::KeyBounds& bounds) {
  nlohmann::json split = {{"kind", "key"}};
  sources::WriteKeyBounds(bounds, &split);
  return sources::SplitText(split);
}

// ---------------------------------------------------------------------------------------
// Reading one partition.

class SqliteReader : public PartitionReader {
 public:
  SqliteReader(std::shared_ptr<arrow::Schema> schema, int64_t batch_rows,
               std::string what, int key_column, int rowid_column, std::string key_name)
      : schema_(std::move(schema)),
        batch_rows_(batch_rows),
        what_(std::move(what)),
        key_column_(key_column),
        rowid_column_(rowid_column),
        key_name_(std::move(key_name)) {}

  arrow::Status Open(const std::string& path, const std::string& sql,
                     const PartitionRead& read) {
    ARROW_ASSIGN_OR_RAISE(db_, OpenReadOnly(path));
    ARROW_ASSIGN_OR_RAISE(stmt_,
                          Prepare(db_.get(), sql, "cannot prepare the read of " + what_));
    if (read.kind == PartitionRead::Kind::kRange) {
      sqlite3_bind_int64(stmt_.get(), 1, read.lo);
      sqlite3_bind_int64(stmt_.get(), 2, read.hi);
    }
    for (const auto& field : schema_->fields()) {
      converters_.emplace_back(field->type(), *KindOf(*field->type()));
    }
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (done_) return nullptr;
    const int64_t capacity = std::min<int64_t>(batch_rows_, 65536);
    for (auto& converter : converters_) ARROW_RETURN_NOT_OK(converter.Reset(capacity));
    int64_t rows = 0;
    while (rows < batch_rows_) {
      const int rc = sqlite3_step(stmt_.get());
      if (rc == SQLITE_DONE) {
        done_ = true;
        stmt_.reset();
        db_.reset();
        break;
      }
      if (rc != SQLITE_ROW) {
        return SqliteStatus(
            rc, db_.get(),
            "cannot read " + what_ + " after " + std::to_string(rows_read_) + " rows");
      }
      ++rows_read_;
      for (size_t i = 0; i < converters_.size(); ++i) {
        Rejection why;
        ARROW_ASSIGN_OR_RAISE(
            bool ok, converters_[i].Append(stmt_.get(), static_cast<int>(i), &why));
        if (!ok) return Rejected(static_cast<int>(i), why);
      }
      ++rows;
    }
    if (rows == 0) return nullptr;
    std::vector<std::shared_ptr<arrow::Array>> columns;
    for (auto& converter : converters_) {
      ARROW_ASSIGN_OR_RAISE(auto array, converter.Finish());
      columns.push_back(std::move(array));
    }
    return arrow::RecordBatch::Make(schema_, rows, std::move(columns));
  }

 private:
  arrow::Status Rejected(int column, const Rejection& why) {
    std::string row;
    if (key_column_ >= 0) {
      row = key_name_ + " = " + std::string(TextOf(stmt_.get(), key_column_));
    } else if (rowid_column_ >= 0) {
      row = "rowid " + std::to_string(sqlite3_column_int64(stmt_.get(), rowid_column_));
    } else {
      row = "row " + std::to_string(rows_read_) + " of the partition";
    }
    const auto& field = schema_->field(column);
    return arrow::Status::Invalid(
        "SQLite value does not fit its column type: ", why, " (", what_, ", column '",
        field->name(), "' ", field->type()->ToString(), ", ", row, ", value ",
        DescribeValue(stmt_.get(), column,
                      converters_[static_cast<size_t>(column)].last_storage()),
        ")");
  }

  std::shared_ptr<arrow::Schema> schema_;
  int64_t batch_rows_;
  std::string what_;
  int key_column_;
  int rowid_column_;
  std::string key_name_;
  Database db_;
  Statement stmt_;
  std::vector<ColumnConverter> converters_;
  int64_t rows_read_ = 0;
  bool done_ = false;
};

bool IsSupportedOverride(const arrow::DataType& type) { return KindOf(type).has_value(); }

}  // namespace

std::shared_ptr<arrow::DataType> SqliteConsumer::TypeForDeclaredType(
    const std::string& declared) {
  const std::string t = Upper(declared);
  auto has = [&](const char* part) { return t.find(part) != std::string::npos; };
  // SQLite's affinity rules, in SQLite's order (https://sqlite.org/datatype3.html 3.1).
  if (has("INT")) return arrow::int64();
  if (has("CHAR") || has("CLOB") || has("TEXT")) return arrow::utf8();
  if (t.empty()) return arrow::utf8();
  if (has("BLOB")) return arrow::binary();
  if (has("REAL") || has("FLOA") || has("DOUB")) return arrow::float64();
  // NUMERIC affinity: refined by the declared name.
  if (t.rfind("BOOL", 0) == 0) return arrow::boolean();
  if (has("DATETIME") || has("TIMESTAMP")) {
    return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  }
  if (has("DATE")) return arrow::date32();
  if (t.rfind("DECIMAL", 0) == 0 || t.rfind("NUMERIC", 0) == 0) {
    if (t.find('(') != std::string::npos) {
      auto parsed = sources::ParseColumnType("decimal" + t.substr(t.find('(')));
      if (parsed.ok()) return *parsed;
    }
    return arrow::float64();
  }
  return arrow::utf8();
}

arrow::Result<SqliteConsumer::Options> SqliteConsumer::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  const size_t errors_before = sources::ErrorCount(*node.diagnostics());
  Options options;
  const std::string path = node.RequireString("path");
  if (!path.empty()) options.path = context.ResolvePath(path);
  sources::TableOrQuery source =
      sources::ParseTableOrQuery(node, sources::SqlDialect::kSqlite);
  options.table = std::move(source.table);
  options.query = std::move(source.query);
  ConfigNode columns = node.Get("columns");
  std::set<std::string> overridden;
  for (const auto& [name, type_node] : columns.Entries()) {
    auto type = sources::ParseColumnType(type_node.AsString());
    if (!type.ok()) {
      type_node.Error("'" + type_node.path() + "': " + type.status().message());
    } else if (!IsSupportedOverride(**type)) {
      type_node.Error("'" + type_node.path() + "': the sqlite source cannot produce " +
                      (*type)->ToString() +
                      "; use bool, int8..int64, float32, float64, string, binary, date, "
                      "timestamp or decimal(p, s)");
    } else {
      options.column_types.emplace_back(name, *type);
    }
  }
  ConfigNode partition_by = node.Get("partition_by");
  if (!partition_by.IsNull()) {
    if (!partition_by.IsMap()) {
      partition_by.Error("'partition_by' must be a map like {column: id, partitions: 8}");
    } else {
      sources::KeyPartitionBy key = sources::ParseKeyPartitionBy(partition_by, 1'000'000);
      if (!key.partitions) partition_by.Require("partitions");  // records the error
      PartitionBy by;
      by.column = std::move(key.column);
      by.partitions = key.partitions.value_or(1);
      partition_by.CheckNoUnknownKeys();
      options.partition_by = by;
    }
  }
  options.batch_rows = sources::ParseBatchRows(node, context);
  ARROW_RETURN_NOT_OK(sources::FinishOptions(node, errors_before));
  return options;
}

arrow::Result<std::unique_ptr<SqliteConsumer>> SqliteConsumer::Make(Options options) {
  if (options.path.empty()) return arrow::Status::Invalid("sqlite: 'path' is required");
  ARROW_RETURN_NOT_OK(sources::CheckTableOrQuery(options.table, options.query, "sqlite"));
  if (options.batch_rows < 1) {
    return arrow::Status::Invalid("batch_rows must be >= 1, got ", options.batch_rows);
  }
  if (options.partition_by && options.partition_by->partitions < 1) {
    return arrow::Status::Invalid("partition_by.partitions must be >= 1");
  }
  for (const auto& [name, type] : options.column_types) {
    if (!IsSupportedOverride(*type)) {
      return arrow::Status::Invalid("the sqlite source cannot produce ", type->ToString(),
                                    " (column '", name, "')");
    }
  }
  return std::unique_ptr<SqliteConsumer>(new SqliteConsumer(std::move(options)));
}

namespace {

// "table orders in /data/x.db" / "query in /data/x.db", for messages.
std::string Describe(const SqliteConsumer::Options& options) {
  return (options.table.empty() ? std::string("query") : "table " + options.table) +
         " in " + options.path;
}

std::string SourceSql(const SqliteConsumer::Options& options) {
  return options.table.empty() ? "(" + options.query + ")"
                               : QuoteIdentifier(options.table);
}

}  // namespace

arrow::Status SqliteConsumer::DescribeLocked() {
  if (described_) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(Database db, OpenReadOnly(options_.path));
  const std::string what = Describe(options_);
  // The table itself (not a subquery) so that SQLite reports declared types.
  const std::string sql = options_.table.empty()
                              ? options_.query
                              : "SELECT * FROM " + QuoteIdentifier(options_.table);
  ARROW_ASSIGN_OR_RAISE(Statement stmt,
                        Prepare(db.get(), sql, "cannot read the columns of " + what));
  const int count = sqlite3_column_count(stmt.get());
  if (count == 0)
    return arrow::Status::Invalid("the query returns no columns (", what, ")");
  std::map<std::string, std::shared_ptr<arrow::DataType>> overrides(
      options_.column_types.begin(), options_.column_types.end());
  arrow::FieldVector fields;
  std::set<std::string> names;
  for (int i = 0; i < count; ++i) {
    const std::string name = sqlite3_column_name(stmt.get(), i);
    if (!names.insert(name).second) {
      return arrow::Status::Invalid("duplicate column name '", name,
                                    "'; give the columns distinct names with AS (", what,
                                    ")");
    }
    const char* declared = sqlite3_column_decltype(stmt.get(), i);
    auto type = TypeForDeclaredType(declared != nullptr ? declared : "");
    if (auto it = overrides.find(name); it != overrides.end()) {
      type = it->second;
      overrides.erase(it);
    }
    fields.push_back(arrow::field(name, type));
  }
  if (!overrides.empty()) {
    return arrow::Status::Invalid("'columns' overrides a column that does not exist: '",
                                  overrides.begin()->first, "' (", what, ")");
  }
  if (options_.partition_by && !names.count(options_.partition_by->column)) {
    return arrow::Status::Invalid("partition_by column does not exist: '",
                                  options_.partition_by->column, "' (", what, ")");
  }
  has_rowid_ = false;
  if (!options_.table.empty() && !names.count("_rowid_")) {
    sqlite3_stmt* raw = nullptr;
    const std::string probe = "SELECT _rowid_ FROM " + QuoteIdentifier(options_.table);
    if (sqlite3_prepare_v2(db.get(), probe.c_str(), -1, &raw, nullptr) == SQLITE_OK) {
      has_rowid_ = true;
    }
    sqlite3_finalize(raw);
  }
  schema_ = arrow::schema(std::move(fields));
  described_ = true;
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Schema>> SqliteConsumer::InferSchema() {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(DescribeLocked());
  return schema_;
}

namespace {

// Runs a query that returns one row; the row's values as int64 (NULL -> nullopt).
arrow::Result<std::vector<std::optional<int64_t>>> QueryRow(
    sqlite3* db, const std::string& sql, const std::string& what,
    std::vector<int64_t> binds = {}) {
  ARROW_ASSIGN_OR_RAISE(Statement stmt, Prepare(db, sql, what));
  for (size_t i = 0; i < binds.size(); ++i) {
    sqlite3_bind_int64(stmt.get(), static_cast<int>(i + 1), binds[i]);
  }
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteStatus(rc, db, what);
  std::vector<std::optional<int64_t>> values;
  for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
    if (sqlite3_column_type(stmt.get(), i) == SQLITE_NULL) {
      values.push_back(std::nullopt);
    } else {
      values.push_back(sqlite3_column_int64(stmt.get(), i));
    }
  }
  return values;
}

// What the split of a partition says to read, checked against the options.
arrow::Result<PartitionRead> ReadSplit(const sources::SplitReader& split,
                                       const SqliteConsumer::Options& options) {
  ARROW_ASSIGN_OR_RAISE(std::string kind, split.String("kind"));
  if (kind == "all") {
    if (options.partition_by) {
      return split.Malformed("it reads all rows, but the consumer has a partition_by");
    }
    return PartitionRead{};
  }
  if (kind != "key") return split.Malformed("unknown kind '" + kind + "'");
  if (!options.partition_by) {
    return split.Malformed("it reads a key range, but the consumer has no partition_by");
  }
  ARROW_ASSIGN_OR_RAISE(sources::KeyBounds bounds, sources::ReadKeyBounds(split));
  if (bounds.null_keys) return PartitionRead{PartitionRead::Kind::kNullKey};
  constexpr sources::KeyValue kMin = std::numeric_limits<int64_t>::min();
  constexpr sources::KeyValue kMax = std::numeric_limits<int64_t>::max();
  if (!bounds.lo || !bounds.hi || *bounds.lo < kMin || *bounds.hi > kMax) {
    return split.Malformed("a key range needs 'lo' and 'hi' within 64-bit integers");
  }
  return PartitionRead{PartitionRead::Kind::kRange, static_cast<int64_t>(*bounds.lo),
                       static_cast<int64_t>(*bounds.hi)};
}

}  // namespace

arrow::Result<std::vector<PartitionSpec>> SqliteConsumer::PlanPartitions(
    const RunInstance&) {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(DescribeLocked());
  ARROW_ASSIGN_OR_RAISE(Database db, OpenReadOnly(options_.path));
  const std::string what = Describe(options_);
  const std::string source = SourceSql(options_);
  std::vector<PartitionSpec> partitions;
  if (!options_.partition_by) {
    ARROW_ASSIGN_OR_RAISE(auto row, QueryRow(db.get(), "SELECT COUNT(*) FROM " + source,
                                             "cannot count the rows of " + what));
    partitions.push_back({"all",
                          options_.table.empty() ? "all rows of the query"
                                                 : "all rows of table " + options_.table,
                          row[0].value_or(0), AllRowsSplit()});
    return partitions;
  }
  const std::string& column = options_.partition_by->column;
  const std::string key = QuoteIdentifier(column);
  ARROW_ASSIGN_OR_RAISE(
      auto stats, QueryRow(db.get(),
                           "SELECT MIN(" + key + "), MAX(" + key + "), COUNT(*), COUNT(" +
                               key + "), COUNT(CASE WHEN typeof(" + key +
                               ") NOT IN ('integer', 'null') THEN 1 END) FROM " + source,
                           "cannot read the key range of " + what));
  if (stats[4].value_or(0) > 0) {
    ARROW_ASSIGN_OR_RAISE(Statement example,
                          Prepare(db.get(),
                                  "SELECT " + key + " FROM " + source + " WHERE typeof(" +
                                      key + ") NOT IN ('integer', 'null') LIMIT 1",
                                  "cannot read the key column of " + what));
    std::string value = "?";
    if (sqlite3_step(example.get()) == SQLITE_ROW) {
      value = DescribeValue(example.get(), 0, sqlite3_column_type(example.get(), 0));
    }
    return arrow::Status::Invalid("partition_by column must hold integers: ", *stats[4],
                                  " rows hold other values, e.g. ", value, " (", what,
                                  ", column '", column, "')");
  }
  sources::ClosedCut cut;
  cut.column = column;
  cut.spelling = kIdSpelling;
  if (stats[0] && stats[1]) {
    cut.min = *stats[0];
    cut.max = *stats[1];
  }
  cut.partitions = options_.partition_by->partitions;
  const int64_t null_keys = stats[2].value_or(0) - stats[3].value_or(0);
  cut.null_keys = null_keys > 0;
  ARROW_ASSIGN_OR_RAISE(auto ranges, sources::CutClosedRanges(cut));
  for (auto& range : ranges) {
    int64_t rows = null_keys;
    if (!range.bounds.null_keys) {
      // Bounds of a cut of int64 keys are int64.
      const auto lo = static_cast<int64_t>(*range.bounds.lo);
      const auto hi = static_cast<int64_t>(*range.bounds.hi);
      ARROW_ASSIGN_OR_RAISE(auto counted,
                            QueryRow(db.get(),
                                     "SELECT COUNT(*) FROM " + source + " WHERE " + key +
                                         " BETWEEN ?1 AND ?2",
                                     "cannot count the rows of " + what, {lo, hi}));
      rows = counted[0].value_or(0);
    }
    partitions.push_back({std::move(range.id), std::move(range.description), rows,
                          KeySplit(range.bounds)});
  }
  return partitions;
}

arrow::Result<std::unique_ptr<PartitionReader>> SqliteConsumer::OpenPartition(
    const PartitionContext& context) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ARROW_RETURN_NOT_OK(DescribeLocked());
  }
  const std::string what = Describe(options_);
  ARROW_ASSIGN_OR_RAISE(auto split,
                        sources::SplitReader::Parse(context.partition, "sqlite"));
  ARROW_ASSIGN_OR_RAISE(PartitionRead read, ReadSplit(split, options_));
  std::string columns;
  for (const auto& field : schema_->fields()) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(field->name());
  }
  int key_column = -1;
  int rowid_column = -1;
  std::string sql;
  if (read.kind == PartitionRead::Kind::kRange) {
    const std::string key = QuoteIdentifier(options_.partition_by->column);
    key_column = schema_->GetFieldIndex(options_.partition_by->column);
    sql = "SELECT " + columns + " FROM " + SourceSql(options_) + " WHERE " + key +
          " BETWEEN ?1 AND ?2 ORDER BY " + key;
  } else {
    if (has_rowid_) {
      rowid_column = schema_->num_fields();
      columns += ", _rowid_";
    }
    sql = "SELECT " + columns + " FROM " + SourceSql(options_);
    if (read.kind == PartitionRead::Kind::kNullKey) {
      sql += " WHERE " + QuoteIdentifier(options_.partition_by->column) + " IS NULL";
    }
  }
  auto reader = std::make_unique<SqliteReader>(
      schema_, options_.batch_rows, what, key_column, rowid_column,
      options_.partition_by ? options_.partition_by->column : "");
  ARROW_RETURN_NOT_OK(reader->Open(options_.path, sql, read));
  return reader;
}

void RegisterSqliteConsumer(ComponentRegistry& registry) {
  registry.RegisterConsumer(
      "sqlite",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Consumer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, SqliteConsumer::ParseOptions(node, context));
        ARROW_ASSIGN_OR_RAISE(auto consumer, SqliteConsumer::Make(std::move(options)));
        return std::unique_ptr<Consumer>(std::move(consumer));
      });
}

}  // namespace jetflow
