#include "jetflow/sources/postgres/postgres_consumer.h"

#include <arrow/api.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "jetflow/core/error.h"
#include "jetflow/sources/key_ranges.h"
#include "jetflow/sources/partition_split.h"
#include "jetflow/sources/postgres/catalog.h"
#include "jetflow/sources/postgres/copy_binary_decoder.h"
#include "jetflow/sources/source_options.h"
#include "jetflow/sources/table_source_options.h"

namespace jetflow {
namespace postgres {

namespace {

// Type OIDs the planner needs (pg_type.dat).
constexpr uint32_t kInt2 = 21;
constexpr uint32_t kInt4 = 23;
constexpr uint32_t kInt8 = 20;
constexpr uint32_t kText = 25;
constexpr uint32_t kDate = 1082;
constexpr uint32_t kTimestamp = 1114;
constexpr uint32_t kTimestampTz = 1184;
constexpr uint32_t kFloat4 = 700;
constexpr uint32_t kFloat8 = 701;
constexpr uint32_t kNumeric = 1700;

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

// Rows whose arrays plan the dimensions of array columns without array_dimensions.
constexpr int64_t kArraySampleRows = 1000;

std::optional<KeyKind> KeyKindOf(const PgType& type) {
  if (type.kind != PgType::Kind::kBase) return std::nullopt;
  switch (type.oid) {
    case kInt2:
    case kInt4:
    case kInt8:
      return KeyKind::kInteger;
    case kDate:
      return KeyKind::kDate;
    case kTimestamp:
      return KeyKind::kTimestamp;
    case kTimestampTz:
      return KeyKind::kTimestampTz;
    default:
      return std::nullopt;
  }
}

bool ParseInt64(const std::string& text, int64_t* out) {
  std::string_view view(text);
  while (!view.empty() && view.front() == ' ') view.remove_prefix(1);
  while (!view.empty() && view.back() == ' ') view.remove_suffix(1);
  if (!view.empty() && view.front() == '+') view.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(view.data(), view.data() + view.size(), *out);
  return !view.empty() && ec == std::errc() && ptr == view.data() + view.size();
}

/// "90s", "15m", "1h", "1d", "500ms", "2w", or a bare number of seconds -> microseconds.
std::optional<int64_t> ParseDurationMicros(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])))) ++i;
  if (i == 0) return std::nullopt;
  int64_t number = 0;
  if (!ParseInt64(text.substr(0, i), &number)) return std::nullopt;
  std::string unit = text.substr(i);
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  static const std::vector<std::pair<std::string, int64_t>> kUnits = {
      {"", 1000000},
      {"us", 1},
      {"ms", 1000},
      {"s", 1000000},
      {"m", 60000000},
      {"min", 60000000},
      {"h", 3600000000},
      {"d", kMicrosPerDay},
      {"day", kMicrosPerDay},
      {"days", kMicrosPerDay},
      {"w", 7 * kMicrosPerDay}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      if (number > INT64_MAX / factor) return std::nullopt;
      return number * factor;
    }
  }
  return std::nullopt;
}

/// The least cursor value that no incremental window may hold, as an SQL literal of the
/// cursor's type, or nullopt for a type whose values are all finite. PostgreSQL orders
/// +infinity above every finite value and NaN above +infinity (floats, numeric), so
/// `c < limit` holds exactly for the values a window may hold (an index condition), and
/// `c >= limit` for +infinity and NaN. -infinity is below every finite value: a window
/// unbounded below holds it, and as a watermark it lets every later row pass.
std::optional<std::string> CursorLimit(uint32_t oid, int server_version) {
  switch (oid) {
    case kDate:
    case kTimestamp:
    case kTimestampTz:
      return "'infinity'";
    case kFloat4:
    case kFloat8:
      return "'Infinity'";
    case kNumeric:
      // numeric has NaN, and since PostgreSQL 14 also ±Infinity.
      return server_version >= 140000 ? "'Infinity'" : "'NaN'";
    default:
      return std::nullopt;
  }
}

/// For time cursors: an SQL expression of the cursor's type one day ahead of the server's
/// clock (the transaction's start), or nullopt.
std::optional<std::string> DayAheadOfClock(uint32_t oid) {
  switch (oid) {
    case kDate:
      return "current_date + 1";
    case kTimestamp:
      return "localtimestamp + interval '1 day'";
    case kTimestampTz:
      return "now() + interval '1 day'";
    default:
      return std::nullopt;
  }
}

std::string RowsText(int64_t rows) {
  return std::to_string(rows) + (rows == 1 ? " row" : " rows");
}

std::string StripQuery(std::string query) {
  while (!query.empty() && (std::isspace(static_cast<unsigned char>(query.back())) ||
                            query.back() == ';')) {
    query.pop_back();
  }
  return query;
}

// The partition_by mode whose plans have reads of `kind`.
PostgresConsumer::PartitionBy::Mode ModeOf(PartitionRead::Kind kind) {
  using Mode = PostgresConsumer::PartitionBy::Mode;
  switch (kind) {
    case PartitionRead::Kind::kAll:
      return Mode::kNone;
    case PartitionRead::Kind::kKey:
      return Mode::kKey;
    case PartitionRead::Kind::kCtid:
      return Mode::kCtid;
    case PartitionRead::Kind::kNative:
      return Mode::kNative;
  }
  return Mode::kNone;
}

PgType TextType() {
  PgType type;
  type.kind = PgType::Kind::kBase;
  type.oid = kText;
  type.name = "text";
  return type;
}

// ---------------------------------------------------------------------------------------

/// Streams one partition's COPY through the decoder.
class PgPartitionReader : public PartitionReader {
 public:
  PgPartitionReader(std::unique_ptr<PgConnection> conn,
                    std::unique_ptr<CopyBinaryDecoder> decoder, std::string where,
                    int64_t batch_rows, int64_t batch_bytes,
                    const PartitionContext& context)
      : conn_(std::move(conn)),
        decoder_(std::move(decoder)),
        where_(std::move(where)),
        batch_rows_(batch_rows),
        batch_bytes_(batch_bytes),
        stage_(context.source),
        value_changes_(context.value_changes) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (done_) return nullptr;
    for (;;) {
      if (decoder_->buffered_rows() >= batch_rows_ ||
          decoder_->buffered_bytes() >= batch_bytes_) {
        return Flush();
      }
      char* buffer = nullptr;
      const int n = PQgetCopyData(conn_->get(), &buffer, /*async=*/0);
      if (n > 0) {
        arrow::Status consumed =
            decoder_->Consume(reinterpret_cast<const uint8_t*>(buffer), n);
        PQfreemem(buffer);
        if (!consumed.ok()) return AddContext(consumed, Where());
        continue;
      }
      if (n == -2) {
        PgResult result(PQgetResult(conn_->get()));
        return PgStatus(conn_->get(), result.get(), "COPY failed (" + Where() + ")");
      }
      // -1: the COPY ended; its final result says whether it succeeded.
      PgResult result(PQgetResult(conn_->get()));
      if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        return PgStatus(conn_->get(), result.get(), "COPY failed (" + Where() + ")");
      }
      while (PgResult extra{PQgetResult(conn_->get())}) {
      }
      JETFLOW_RETURN_NOT_OK_CTX(decoder_->Finish(), Where());
      done_ = true;
      // Values a policy changed (infinity: clamp, ...) are reported, never silent.
      std::vector<ValueChangeCount> changes = decoder_->value_changes();
      for (ValueChangeCount& change : changes) change.stage = stage_;
      value_changes_->Add(changes);
      (void)conn_->Exec("COMMIT", "commit");
      if (decoder_->buffered_rows() == 0) return nullptr;
      return Flush();
    }
  }

 private:
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Flush() {
    ARROW_ASSIGN_OR_RAISE(auto batch, decoder_->Flush());
    rows_ += batch->num_rows();
    return batch;
  }

  std::string Where() const {
    return where_ + ", after row " + std::to_string(rows_ + decoder_->buffered_rows());
  }

  std::unique_ptr<PgConnection> conn_;
  std::unique_ptr<CopyBinaryDecoder> decoder_;
  std::string where_;
  int64_t batch_rows_;
  int64_t batch_bytes_;
  std::string stage_;
  std::shared_ptr<ValueChanges> value_changes_;
  int64_t rows_ = 0;
  bool done_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Options.

arrow::Result<PostgresConsumer::Options> PostgresConsumer::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  const size_t errors_before = sources::ErrorCount(*node.diagnostics());
  Options options;
  options.component = context.name.empty() ? "postgres" : context.name;
  options.connection.dsn = node.RequireString("dsn");
  if (auto problem = DsnProblem(options.connection.dsn)) {
    node.Get("dsn").Error(*problem);
  }
  options.connection.password = sources::ParsePasswordEnv(node);
  options.connection.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(
      node.GetDuration("connect_timeout", std::chrono::seconds(10)));
  options.connection.statement_timeout =
      node.GetDuration("statement_timeout", std::chrono::milliseconds(0));
  if (node.Has("sslmode")) {
    options.connection.params.emplace_back(
        "sslmode", node.GetEnum("sslmode", "prefer",
                                {"disable", "allow", "prefer", "require", "verify-ca",
                                 "verify-full"}));
  }
  for (const char* key : {"sslrootcert", "sslcert", "sslkey", "sslcrl"}) {
    if (auto path = node.GetOptionalString(key)) {
      options.connection.params.emplace_back(key, context.ResolvePath(*path));
    }
  }
  if (auto name = node.GetOptionalString("application_name")) {
    options.connection.params.emplace_back("application_name", *name);
  }

  sources::TableOrQuery source =
      sources::ParseTableOrQuery(node, sources::SqlDialect::kPostgres);
  options.table = std::move(source.table);
  options.query = StripQuery(std::move(source.query));
  const bool has_query = !options.query.empty();
  if (!options.table.empty()) {
    auto parsed = ParseTableName(options.table);
    if (!parsed.ok()) node.Get("table").Error(parsed.status().message());
  }
  options.columns = node.GetStringList("columns");
  if (node.Has("array_dimensions")) {
    ConfigNode dimensions = node.Get("array_dimensions");
    for (const auto& entry : dimensions.Entries()) {
      options.array_dimensions[entry.first] =
          static_cast<int>(dimensions.GetInt(entry.first, 1, 1, kMaxArrayDimensions));
    }
  }

  if (node.Has("partition_by")) {
    ConfigNode by = node.Get("partition_by");
    PartitionBy& p = options.partition_by;
    if (by.IsScalar()) {
      if (by.AsString() == "native") {
        p.mode = PartitionBy::Mode::kNative;
      } else {
        by.Error(
            "partition_by must be `native` or a map ({column: ..., partitions: N} or "
            "{ctid: {pages_per_partition: N}})");
      }
    } else if (by.IsMap()) {
      if (by.Has("ctid")) {
        p.mode = PartitionBy::Mode::kCtid;
        ConfigNode ctid = by.Get("ctid");
        if (ctid.IsMap()) {
          p.pages_per_partition = ctid.GetInt("pages_per_partition", 10000, 1);
          ctid.CheckNoUnknownKeys();
        } else {
          p.pages_per_partition = 10000;
        }
      } else {
        p.mode = PartitionBy::Mode::kKey;
        sources::KeyPartitionBy key = sources::ParseKeyPartitionBy(by, 100000);
        p.column = std::move(key.column);
        int ways = 0;
        if (key.partitions) {
          p.partitions = *key.partitions;
          ++ways;
        }
        if (by.Has("rows_per_partition")) {
          p.rows_per_partition = by.GetInt("rows_per_partition", 1000000, 1);
          ++ways;
        }
        if (by.Has("interval")) {
          p.interval = by.Get("interval").AsString();
          ++ways;
        }
        if (by.Has("ranges")) {
          for (const auto& element : by.Get("ranges").Elements()) {
            p.ranges.push_back(element.AsString());
          }
          if (p.ranges.empty()) by.Get("ranges").Error("ranges must list split points");
          ++ways;
        }
        if (ways != 1) {
          by.Error(
              "partition_by needs exactly one of `partitions`, `rows_per_partition`, "
              "`interval` and `ranges`");
        }
      }
      by.CheckNoUnknownKeys();
    } else {
      by.Error("partition_by must be `native` or a map");
    }
    if (has_query &&
        (p.mode == PartitionBy::Mode::kCtid || p.mode == PartitionBy::Mode::kNative)) {
      by.Error("CTID and native partitions need a `table`, not a `query`");
    }
  }

  if (node.Has("incremental")) {
    ConfigNode inc = node.Get("incremental");
    Incremental incremental;
    incremental.cursor = inc.RequireString("cursor");
    if (inc.Has("lookback")) incremental.lookback = inc.Get("lookback").AsString();
    if (inc.Has("initial")) incremental.initial = inc.Get("initial").AsString();
    incremental.on_skipped =
        inc.GetEnum("on_skipped", "warn", {"warn", "error"}) == "error"
            ? Incremental::OnSkipped::kError
            : Incremental::OnSkipped::kWarn;
    inc.CheckNoUnknownKeys();
    options.incremental = std::move(incremental);
  }

  if (node.Has("numeric")) {
    ConfigNode numeric = node.Get("numeric");
    NumericOptions& n = options.decode.numeric;
    n.unconstrained =
        numeric.GetEnum("unconstrained", "string", {"string", "decimal"}) == "decimal"
            ? NumericOptions::Unconstrained::kDecimal
            : NumericOptions::Unconstrained::kString;
    n.unconstrained_precision =
        static_cast<int32_t>(numeric.GetInt("precision", 38, 1, 38));
    n.unconstrained_scale = static_cast<int32_t>(numeric.GetInt("scale", 9, 0, 38));
    if (n.unconstrained_scale > n.unconstrained_precision) {
      numeric.Error("numeric.scale must not exceed numeric.precision");
    }
    n.on_invalid = numeric.GetEnum("on_invalid", "error", {"error", "null"}) == "null"
                       ? NumericOptions::OnInvalid::kNull
                       : NumericOptions::OnInvalid::kError;
    numeric.CheckNoUnknownKeys();
  }
  const std::string infinity =
      node.GetEnum("infinity", "clamp", {"clamp", "null", "error"});
  options.decode.infinity = infinity == "null"    ? InfinityPolicy::kNull
                            : infinity == "error" ? InfinityPolicy::kError
                                                  : InfinityPolicy::kClamp;
  options.invalid_utf8 = sources::ParseInvalidUtf8(node);
  options.text_fallback = node.GetBool("text_fallback", true);
  options.snapshot = node.GetBool("snapshot", true);
  options.reconcile_counts = node.GetBool("reconcile_counts", false);
  options.batch_rows = sources::ParseBatchRows(node, context);
  options.batch_bytes = node.GetBytes("batch_bytes", options.batch_bytes);
  ARROW_RETURN_NOT_OK(sources::FinishOptions(node, errors_before));
  return options;
}

arrow::Result<std::unique_ptr<PostgresConsumer>> PostgresConsumer::Make(Options options) {
  ARROW_RETURN_NOT_OK(
      sources::CheckTableOrQuery(options.table, options.query, "postgres"));
  return std::unique_ptr<PostgresConsumer>(new PostgresConsumer(std::move(options)));
}

PostgresConsumer::~PostgresConsumer() = default;

// ---------------------------------------------------------------------------------------
// Planning.

arrow::Status PostgresConsumer::EnsureCoordinatorLocked() {
  if (coordinator_ != nullptr && PQstatus(coordinator_->get()) == CONNECTION_OK &&
      PQtransactionStatus(coordinator_->get()) != PQTRANS_INERROR) {
    return arrow::Status::OK();
  }
  coordinator_.reset();
  snapshot_id_.clear();
  ARROW_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(options_.connection));
  if (options_.snapshot) {
    ARROW_RETURN_NOT_OK(
        conn->Exec("SET idle_in_transaction_session_timeout = 0; "
                   "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   "cannot start the planning transaction"));
    ARROW_ASSIGN_OR_RAISE(auto rows, conn->Query("SELECT pg_export_snapshot()",
                                                 "cannot export a snapshot"));
    ARROW_ASSIGN_OR_RAISE(auto snapshot, SingleValue(rows, "pg_export_snapshot()"));
    if (!snapshot || snapshot->empty()) {
      return arrow::Status::SerializationError(
          "unexpected answer of the server: no snapshot id (pg_export_snapshot())");
    }
    snapshot_id_ = std::move(*snapshot);
  }
  coordinator_ = std::move(conn);
  return arrow::Status::OK();
}

std::string PostgresConsumer::SourceSql() const {
  if (!options_.query.empty()) return "(" + options_.query + ") AS jetflow_query";
  return qualified_table_;
}

std::string PostgresConsumer::WindowSql(const std::optional<Window>& window) const {
  if (!options_.incremental || !window) return "";
  const std::string cursor = QuoteIdentifier(options_.incremental->cursor);
  if (!window->high) return "false";
  std::string sql;
  if (window->low) {
    sql = cursor + " > CAST(" + QuoteLiteral(*window->low) + " AS " + cursor_type_ + ")" +
          " AND ";
  }
  return sql + cursor + " <= CAST(" + QuoteLiteral(*window->high) + " AS " +
         cursor_type_ + ")";
}

arrow::Status PostgresConsumer::DescribeLocked() {
  if (described_) return arrow::Status::OK();
  ARROW_RETURN_NOT_OK(EnsureCoordinatorLocked());
  Catalog catalog(coordinator_.get());
  std::string what;
  std::vector<int32_t> declared_dimensions;
  std::vector<std::string> generated;
  if (!options_.table.empty()) {
    ARROW_ASSIGN_OR_RAISE(TableName name, ParseTableName(options_.table));
    ARROW_ASSIGN_OR_RAISE(TableInfo info, catalog.DescribeTable(name));
    source_columns_ = std::move(info.columns);
    declared_dimensions = std::move(info.declared_dimensions);
    generated = std::move(info.generated_columns);
    has_children_ = info.has_children;
    qualified_table_ = info.qualified_name;
    relkind_ = info.relkind;
    what = "table " + options_.table;
  } else {
    ARROW_ASSIGN_OR_RAISE(source_columns_, catalog.DescribeQuery(options_.query));
    what = "the query";
  }
  declared_dimensions.resize(source_columns_.size(), 0);
  std::vector<std::string> names;
  for (const auto& column : source_columns_) names.push_back(column.name);
  auto find = [&](const std::string& name,
                  const std::string& role) -> arrow::Result<size_t> {
    auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return static_cast<size_t>(it - names.begin());
    auto suggestion = ClosestMatch(name, names);
    return arrow::Status::Invalid(
        role, " '", name, "' is not a column of ", what,
        suggestion ? " (did you mean '" + *suggestion + "'?)" : "");
  };

  std::vector<size_t> chosen;
  if (options_.columns.empty()) {
    for (size_t i = 0; i < source_columns_.size(); ++i) chosen.push_back(i);
  } else {
    std::set<std::string> seen;
    for (const auto& name : options_.columns) {
      ARROW_ASSIGN_OR_RAISE(size_t index, find(name, "columns:"));
      if (!seen.insert(name).second) {
        return arrow::Status::Invalid("columns: '", name, "' is listed twice");
      }
      chosen.push_back(index);
    }
  }
  for (const auto& [name, dimensions] : options_.array_dimensions) {
    ARROW_ASSIGN_OR_RAISE(size_t index, find(name, "array_dimensions:"));
    const PgType& type = source_columns_[index].type;
    if (type.kind != PgType::Kind::kArray) {
      return arrow::Status::Invalid("array_dimensions: '", name, "' of ", what,
                                    " is not an array column (it has type ", type.name,
                                    ")");
    }
  }
  selected_.clear();
  std::vector<int32_t> selected_declared;
  selected_.reserve(chosen.size());
  selected_declared.reserve(chosen.size());
  for (size_t index : chosen) {
    selected_.push_back(
        {source_columns_[index], QuoteIdentifier(source_columns_[index].name)});
    selected_declared.push_back(declared_dimensions[index]);
  }
  ARROW_RETURN_NOT_OK(PlanArrayDimensionsLocked(selected_declared));
  std::vector<PgColumn> decoded;
  std::string as_text;  // "'a' (money), 'b' (xml)": every column without a decoder
  for (auto& selected : selected_) {
    if (!IsSupported(selected.column.type)) {
      as_text += (as_text.empty() ? "'" : ", '") + selected.column.name + "' (" +
                 selected.column.type.name + ")";
      selected.column.type = TextType();
      selected.select += "::text";
    }
    selected.column.invalid_utf8 = options_.invalid_utf8.For(selected.column.name);
    decoded.push_back(selected.column);
  }
  // `COPY table (columns) TO` skips the executor's projection, but refuses generated
  // columns and reads no inheritance child (SELECT reads both); every other relation
  // kind it refuses outright.
  plain_copy_ = options_.query.empty() && relkind_ == 'r' && !has_children_;
  for (const auto& selected : selected_) {
    plain_copy_ = plain_copy_ &&
                  selected.select == QuoteIdentifier(selected.column.name) &&
                  std::find(generated.begin(), generated.end(), selected.column.name) ==
                      generated.end();
  }
  {
    std::vector<std::string> read;
    read.reserve(decoded.size());
    for (const auto& column : decoded) read.push_back(column.name);
    ARROW_RETURN_NOT_OK(options_.invalid_utf8.Check(
        read,
        [&decoded](const std::string& name) {
          return std::any_of(decoded.begin(), decoded.end(), [&](const PgColumn& c) {
            return c.name == name && HoldsStoredText(c.type);
          });
        },
        "the columns read from " + what));
  }
  // All of them at once, as every other config error.
  if (!as_text.empty() && !options_.text_fallback) {
    return arrow::Status::Invalid(
        "columns of ", what, " with types that have no binary decoder: ", as_text,
        "; set text_fallback: true to read them as text, or leave them out with "
        "`columns:`");
  }
  if (!as_text.empty()) {
    spdlog::warn(
        "PostgreSQL columns of {} with types that have no binary decoder are read as "
        "text (column::text): {}; set text_fallback: false to make this an error",
        what, as_text);
  }

  PgDecodeOptions decode = options_.decode;
  decode.key_column = -1;
  if (options_.partition_by.mode == PartitionBy::Mode::kKey) {
    ARROW_ASSIGN_OR_RAISE(size_t key,
                          find(options_.partition_by.column, "partition_by.column"));
    if (!KeyKindOf(source_columns_[key].type)) {
      return arrow::Status::Invalid(
          "partition_by.column '", options_.partition_by.column, "' has type ",
          source_columns_[key].type.name,
          "; key ranges need smallint, integer, bigint, date, timestamp or timestamptz "
          "(use partition_by: {ctid: ...} for tables without such a key)");
    }
    for (size_t i = 0; i < selected_.size(); ++i) {
      if (selected_[i].column.name == options_.partition_by.column) {
        decode.key_column = static_cast<int>(i);
      }
    }
  }
  if (options_.incremental) {
    ARROW_ASSIGN_OR_RAISE(size_t cursor,
                          find(options_.incremental->cursor, "incremental.cursor"));
    const PgType& type = source_columns_[cursor].type;
    if (type.kind != PgType::Kind::kBase) {
      return arrow::Status::Invalid("incremental.cursor '", options_.incremental->cursor,
                                    "' has type ", type.name,
                                    "; a cursor must be a scalar, ordered type");
    }
    cursor_type_ = type.name;
    cursor_oid_ = type.oid;
  }
  if (options_.partition_by.mode == PartitionBy::Mode::kCtid && relkind_ != 'r' &&
      relkind_ != 'm') {
    return arrow::Status::Invalid("CTID ranges need a plain table or materialized view; ",
                                  options_.table, " is not one");
  }
  if (options_.partition_by.mode == PartitionBy::Mode::kNative && relkind_ != 'p') {
    return arrow::Status::Invalid("partition_by: native needs a partitioned table; ",
                                  options_.table, " is not partitioned");
  }
  ARROW_ASSIGN_OR_RAISE(auto decoder, CopyBinaryDecoder::Make(decoded, decode));
  options_.decode = decode;
  schema_ = decoder->schema();
  described_ = true;
  return arrow::Status::OK();
}

arrow::Status PostgresConsumer::PlanArrayDimensionsLocked(
    const std::vector<int32_t>& declared) {
  // The array columns to sample: those without array_dimensions that are decoded as
  // arrays (not read as text).
  std::vector<size_t> sampled;
  std::string select;   // min and max dimensions of each sampled column
  std::string columns;  // the sampled columns
  for (size_t i = 0; i < selected_.size(); ++i) {
    PgColumn& column = selected_[i].column;
    if (column.type.kind != PgType::Kind::kArray) continue;
    auto found = options_.array_dimensions.find(column.name);
    if (found != options_.array_dimensions.end()) {
      column.type = WithArrayDimensions(column.type, found->second);
    } else if (IsSupported(column.type)) {
      const std::string quoted = QuoteIdentifier(column.name);
      const std::string comma = sampled.empty() ? "" : ", ";
      select +=
          comma + "min(array_ndims(" + quoted + ")), max(array_ndims(" + quoted + "))";
      columns += comma + quoted;
      sampled.push_back(i);
    }
  }
  if (sampled.empty()) return arrow::Status::OK();
  // PostgreSQL does not enforce a column's declared dimensions, and a view's or a
  // query's columns declare none: the data decides. The first rows are cheap to read
  // from a table; a query that sorts or aggregates computes its result first.
  const std::string what =
      "the dimensions of the array columns of " + SourceName() + " (a sample)";
  ARROW_ASSIGN_OR_RAISE(
      auto rows,
      coordinator_->Query("SELECT " + select + " FROM (SELECT " + columns + " FROM " +
                              SourceSql() + " LIMIT " + std::to_string(kArraySampleRows) +
                              ") AS jetflow_sample",
                          "cannot read " + what));
  ARROW_RETURN_NOT_OK(ExpectColumns(rows, 2 * sampled.size(), what));
  if (rows.size() != 1) {
    return arrow::Status::SerializationError(
        "unexpected answer of the server: ", rows.size(), " rows (", what, ")");
  }
  for (size_t k = 0; k < sampled.size(); ++k) {
    PgColumn& column = selected_[sampled[k]].column;
    const auto& least = rows[0][2 * k];
    const auto& most = rows[0][2 * k + 1];
    if (!least || !most) continue;  // only NULLs and empty arrays: as declared
    ARROW_ASSIGN_OR_RAISE(int64_t low, ServerInt(least, what));
    ARROW_ASSIGN_OR_RAISE(int64_t high, ServerInt(most, what));
    if (low < 1 || high > kMaxArrayDimensions || low > high) {
      return arrow::Status::SerializationError("unexpected answer of the server: ", low,
                                               " to ", high, " dimensions (", what,
                                               ", column '", column.name, "')");
    }
    if (low != high) {
      return arrow::Status::Invalid(
          "array column '", column.name, "' of ", SourceName(), " holds arrays of ", low,
          " and of ", high, " dimensions (in its first ", kArraySampleRows,
          " rows), but a column of the lake has one dimension count: read it as text "
          "(a `query:` selecting ",
          column.name, "::text) or make its arrays' dimensions uniform");
    }
    const int planned = ArrayDimensions(column.type);
    if (high == planned) continue;
    if (declared[sampled[k]] > 0) {
      spdlog::warn(
          "array column '{}' of {} is declared with {} dimensions but holds "
          "{}-dimensional arrays (PostgreSQL does not enforce declared dimensions): "
          "read as {}-dimensional; array_dimensions: {{{}: N}} pins it",
          column.name, SourceName(), declared[sampled[k]], high, high, column.name);
    }
    column.type = WithArrayDimensions(column.type, static_cast<int>(high));
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Schema>> PostgresConsumer::InferSchema() {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(DescribeLocked());
  return schema_;
}

arrow::Result<std::optional<std::string>> PostgresConsumer::SkippedRowsLocked() {
  const Incremental& inc = *options_.incremental;
  const std::string cursor = QuoteIdentifier(inc.cursor);
  const auto limit = CursorLimit(cursor_oid_, PQserverVersion(coordinator_->get()));
  // Two index scans when the cursor is indexed (a btree holds NULLs too).
  std::string sql = "SELECT count(*) FILTER (WHERE " + cursor +
                    " IS NULL), count(*) FILTER (WHERE " + cursor +
                    " IS NOT NULL) FROM " + SourceSql() + " WHERE " + cursor + " IS NULL";
  if (limit) sql += " OR " + cursor + " >= " + *limit;
  const std::string what =
      "the rows of " + SourceName() + " whose cursor " + inc.cursor + " is in no window";
  ARROW_ASSIGN_OR_RAISE(auto rows, coordinator_->Query(sql, "cannot count " + what));
  ARROW_RETURN_NOT_OK(ExpectColumns(rows, 2, what));
  if (rows.size() != 1) {
    return arrow::Status::SerializationError(
        "unexpected answer of the server: ", rows.size(), " rows (", what, ")");
  }
  ARROW_ASSIGN_OR_RAISE(int64_t nulls, ServerInt(rows[0][0], what));
  ARROW_ASSIGN_OR_RAISE(int64_t beyond, ServerInt(rows[0][1], what));
  if (nulls == 0 && beyond == 0) return std::nullopt;
  std::string counts;
  if (nulls > 0) counts = RowsText(nulls) + " with a NULL cursor";
  if (beyond > 0) {
    counts += (counts.empty() ? RowsText(beyond) : " and " + std::to_string(beyond)) +
              " with cursor +infinity or NaN";
  }
  const std::string message =
      "incremental cursor '" + inc.cursor + "' of " + SourceName() + ": " + counts +
      (nulls + beyond == 1 ? " is" : " are") +
      " in no incremental window and not read (a window holds finite cursor values "
      "only; read them with a `query:` whose cursor is e.g. coalesce(" +
      inc.cursor + ", <another column>), or fix the rows)";
  if (inc.on_skipped == Incremental::OnSkipped::kError) {
    return arrow::Status::Invalid(message, " (incremental.on_skipped: error)");
  }
  return message + " (incremental.on_skipped: warn)";
}

arrow::Status PostgresConsumer::CheckFiniteLocked(const std::string& value,
                                                  const std::string& what) {
  const auto limit = CursorLimit(cursor_oid_, PQserverVersion(coordinator_->get()));
  if (!limit) return arrow::Status::OK();
  const std::string question = "whether " + what + " is finite";
  ARROW_ASSIGN_OR_RAISE(
      auto rows, coordinator_->Query(
                     "SELECT (CAST($1 AS " + cursor_type_ + ") >= " + *limit + ")::text",
                     {value}, "cannot check " + question));
  ARROW_ASSIGN_OR_RAISE(auto answer, SingleValue(rows, question));
  if (answer != "true") return arrow::Status::OK();
  return arrow::Status::Invalid(
      "incremental cursor '", options_.incremental->cursor, "' of ", SourceName(), ": ",
      what, " is '", value,
      "', which is not a finite value: no row can follow it, so no new row would ever be "
      "read. Set the watermark back to the last finite cursor value that was loaded "
      "(state store table watermarks) or change incremental.initial");
}

arrow::Result<std::optional<std::string>> PostgresConsumer::AheadOfClockLocked(
    const std::string& value, const std::string& name) {
  const auto ahead = DayAheadOfClock(cursor_oid_);
  if (!ahead) return std::nullopt;
  const std::string question = "whether the watermark is ahead of the server's clock";
  ARROW_ASSIGN_OR_RAISE(
      auto rows, coordinator_->Query("SELECT (CAST($1 AS " + cursor_type_ + ") > " +
                                         *ahead + ")::text, now()::text",
                                     {value}, "cannot check " + question));
  ARROW_RETURN_NOT_OK(ExpectColumns(rows, 2, question));
  if (rows.size() != 1 || !rows[0][0] || !rows[0][1]) {
    return arrow::Status::SerializationError("unexpected answer of the server (",
                                             question, ")");
  }
  if (*rows[0][0] != "true") return std::nullopt;
  return "incremental cursor '" + options_.incremental->cursor + "' of " + SourceName() +
         ": the watermark " + name + " is " + value +
         ", more than a day ahead of the server's clock (" + *rows[0][1] +
         "): rows that arrive later with smaller cursor values are not read until the "
         "clock passes it. If a row holds a wrong far-future value, fix it and set the "
         "watermark back (state store table watermarks)";
}

arrow::Result<RunStatePlan> PostgresConsumer::PlanRunState(const RunInstance& run,
                                                           WatermarkReader* watermarks) {
  if (!options_.incremental) return RunStatePlan{};
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(DescribeLocked());
  ARROW_RETURN_NOT_OK(EnsureCoordinatorLocked());
  const Incremental& inc = *options_.incremental;
  const std::string window_name =
      "postgres." + options_.component + ".window/" + run.id();
  const std::string cursor_name = "postgres." + options_.component + ".cursor";
  const auto limit = CursorLimit(cursor_oid_, PQserverVersion(coordinator_->get()));
  std::optional<std::string> committed;
  window_.reset();  // every plan decides afresh (a plan without state may have run first)
  if (watermarks != nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto stored, watermarks->Get(window_name));
    ARROW_ASSIGN_OR_RAISE(committed, watermarks->Get(cursor_name));
    if (committed) {
      ARROW_RETURN_NOT_OK(
          CheckFiniteLocked(*committed, "the committed watermark " + cursor_name));
    }
    if (stored) {
      auto json = nlohmann::json::parse(*stored, nullptr, /*allow_exceptions=*/false);
      if (!json.is_object()) {
        return arrow::Status::SerializationError("state store holds a malformed window ",
                                                 window_name);
      }
      Window window;
      if (json["low"].is_string()) window.low = json["low"].get<std::string>();
      if (json["high"].is_string()) window.high = json["high"].get<std::string>();
      if (window.high) {
        ARROW_RETURN_NOT_OK(CheckFiniteLocked(
            *window.high, "the high bound of the pinned window " + window_name));
      }
      window_ = window;
    }
  }
  if (!window_) {
    Window window;
    if (committed) {
      window.low = committed;
    } else if (!inc.initial.empty()) {
      window.low = inc.initial;
      ARROW_RETURN_NOT_OK(CheckFiniteLocked(inc.initial, "incremental.initial"));
    }
    const std::string cursor = QuoteIdentifier(inc.cursor);
    if (window.low && !inc.lookback.empty()) {
      std::string step;
      int64_t number = 0;
      if (cursor_type_ == "smallint" || cursor_type_ == "integer" ||
          cursor_type_ == "bigint" || cursor_type_.rfind("numeric", 0) == 0) {
        if (!ParseInt64(inc.lookback, &number)) {
          return arrow::Status::Invalid("incremental.lookback '", inc.lookback,
                                        "' must be a number for cursor '", inc.cursor,
                                        "' of type ", cursor_type_);
        }
        step = std::to_string(number);
      } else {
        auto micros = ParseDurationMicros(inc.lookback);
        if (!micros) {
          return arrow::Status::Invalid(
              "incremental.lookback '", inc.lookback,
              "' must be a duration (e.g. 1h, 30m, 2d) for cursor '", inc.cursor,
              "' of type ", cursor_type_);
        }
        step = "interval '" + std::to_string(*micros) + " microseconds'";
      }
      const std::string what = "cannot apply incremental.lookback";
      ARROW_ASSIGN_OR_RAISE(
          auto rows, coordinator_->Query(
                         "SELECT (CAST($1 AS " + cursor_type_ + ") - " + step + ")::text",
                         {*window.low}, what));
      ARROW_ASSIGN_OR_RAISE(window.low, SingleValue(rows, what));
    }
    // The high bound is the greatest finite value: +infinity or NaN would become a
    // watermark that no later row can pass.
    std::vector<std::string> conditions;
    std::vector<std::string> params;
    if (window.low) {
      conditions.push_back(cursor + " > CAST($1 AS " + cursor_type_ + ")");
      params.push_back(*window.low);
    }
    if (limit) conditions.push_back(cursor + " < " + *limit);
    std::string sql = "SELECT max(" + cursor + ")::text FROM " + SourceSql();
    for (size_t i = 0; i < conditions.size(); ++i) {
      sql += (i == 0 ? " WHERE " : " AND ") + conditions[i];
    }
    const std::string what = "cannot read the cursor's high bound";
    ARROW_ASSIGN_OR_RAISE(auto rows, coordinator_->Query(sql, params, what));
    ARROW_ASSIGN_OR_RAISE(window.high, SingleValue(rows, what));
    if (!window.high && window.low) {
      // Nothing new: the empty window (low, low].
      window.high = window.low;
    }
    window_ = window;
  }
  RunStatePlan plan;
  nlohmann::json json = nlohmann::json::object();
  json["low"] = window_->low ? nlohmann::json(*window_->low) : nlohmann::json(nullptr);
  json["high"] = window_->high ? nlohmann::json(*window_->high) : nlohmann::json(nullptr);
  plan.at_begin.push_back({window_name, json.dump()});
  std::optional<std::string> next = window_->high;
  if (committed && next) {
    const std::string what = "cannot compare cursor values";
    ARROW_ASSIGN_OR_RAISE(
        auto rows, coordinator_->Query("SELECT GREATEST(CAST($1 AS " + cursor_type_ +
                                           "), CAST($2 AS " + cursor_type_ + "))::text",
                                       {*committed, *next}, what));
    ARROW_ASSIGN_OR_RAISE(next, SingleValue(rows, what));
  } else if (committed) {
    next = committed;
  }
  if (next) plan.at_commit.push_back({cursor_name, *next});
  ARROW_ASSIGN_OR_RAISE(auto skipped, SkippedRowsLocked());
  if (skipped) plan.warnings.push_back(std::move(*skipped));
  if (next) {
    ARROW_ASSIGN_OR_RAISE(auto ahead, AheadOfClockLocked(*next, cursor_name));
    if (ahead) plan.warnings.push_back(std::move(*ahead));
  }
  return plan;
}

arrow::Result<std::vector<PlannedPartition>> PostgresConsumer::PlanKeyLocked() {
  const PartitionBy& by = options_.partition_by;
  const PgColumn* key = nullptr;
  for (const auto& column : source_columns_) {
    if (column.name == by.column) key = &column;
  }
  KeyRangeRequest request;
  request.column = by.column;
  request.kind = *KeyKindOf(key->type);
  request.nullable = key->nullable;
  const std::string k = QuoteIdentifier(by.column);
  std::string window = WindowSql(window_);
  std::string filter = window.empty() ? "" : " AND " + window;
  std::string min_max;
  switch (request.kind) {
    case KeyKind::kInteger:
      min_max = "SELECT min(" + k + ")::bigint, max(" + k + ")::bigint FROM " +
                SourceSql() + (window.empty() ? "" : " WHERE " + window);
      break;
    case KeyKind::kDate:
      min_max = "SELECT min(" + k + ") - DATE '1970-01-01', max(" + k +
                ") - DATE '1970-01-01' FROM " + SourceSql() + " WHERE isfinite(" + k +
                ")" + filter;
      break;
    default:
      min_max = "SELECT (extract(epoch FROM min(" + k + ")) * 1000000)::bigint, " +
                "(extract(epoch FROM max(" + k + ")) * 1000000)::bigint FROM " +
                SourceSql() + " WHERE isfinite(" + k + ")" + filter;
  }
  const std::string min_max_what = "min/max of " + by.column + " (" + SourceName() + ")";
  ARROW_ASSIGN_OR_RAISE(auto rows,
                        coordinator_->Query(min_max, "cannot read the " + min_max_what));
  ARROW_RETURN_NOT_OK(ExpectColumns(rows, 2, min_max_what));
  if (rows.size() != 1) {
    return arrow::Status::SerializationError(
        "unexpected answer of the server: ", rows.size(), " rows (", min_max_what, ")");
  }
  request.empty = !rows[0][0] || !rows[0][1];
  if (!request.empty) {
    ARROW_ASSIGN_OR_RAISE(request.min, ServerInt(rows[0][0], min_max_what));
    ARROW_ASSIGN_OR_RAISE(request.max, ServerInt(rows[0][1], min_max_what));
  }
  if (by.partitions > 0) {
    request.partitions = by.partitions;
  } else if (by.rows_per_partition > 0) {
    int64_t estimate = -1;
    // reltuples counts the table's own rows, not its inheritance children's.
    if (!options_.table.empty() && window.empty() && relkind_ == 'r' && !has_children_) {
      const std::string what = "the row estimate of " + SourceName();
      ARROW_ASSIGN_OR_RAISE(
          auto estimated,
          coordinator_->Query("SELECT reltuples::bigint FROM pg_class WHERE oid = "
                              "to_regclass($1)",
                              {qualified_table_}, "cannot read " + what));
      ARROW_ASSIGN_OR_RAISE(auto value, SingleValue(estimated, what));
      if (value) {  // -1: never analyzed
        ARROW_ASSIGN_OR_RAISE(estimate, ServerInt(value, what));
      }
    }
    if (estimate < 0) {
      const std::string what = "the row count of " + SourceName();
      ARROW_ASSIGN_OR_RAISE(
          auto counted,
          coordinator_->Query("SELECT count(*) FROM " + SourceSql() +
                                  (window.empty() ? "" : " WHERE " + window),
                              "cannot count rows"));
      ARROW_ASSIGN_OR_RAISE(auto value, SingleValue(counted, what));
      ARROW_ASSIGN_OR_RAISE(estimate, ServerInt(value, what));
    }
    request.partitions =
        sources::PartitionsForRows(estimate, by.rows_per_partition, 100000);
  } else if (!by.interval.empty()) {
    if (request.kind == KeyKind::kInteger) {
      if (!ParseInt64(by.interval, &request.interval) || request.interval <= 0) {
        return arrow::Status::Invalid("partition_by.interval '", by.interval,
                                      "' must be a positive integer for integer key ",
                                      by.column);
      }
    } else {
      auto micros = ParseDurationMicros(by.interval);
      if (!micros || *micros <= 0) {
        return arrow::Status::Invalid("partition_by.interval '", by.interval,
                                      "' must be a duration (e.g. 1d, 6h) for key ",
                                      by.column);
      }
      if (request.kind == KeyKind::kDate) {
        if (*micros % kMicrosPerDay != 0) {
          return arrow::Status::Invalid("partition_by.interval of date key ", by.column,
                                        " must be whole days");
        }
        request.interval = *micros / kMicrosPerDay;
      } else {
        request.interval = *micros;
      }
    }
  } else {
    for (const auto& bound : by.ranges) {
      int64_t value = 0;
      if (request.kind == KeyKind::kInteger) {
        if (!ParseInt64(bound, &value)) {
          return arrow::Status::Invalid("partition_by.ranges: '", bound,
                                        "' is not an integer (key ", by.column, ")");
        }
      } else {
        std::string sql =
            request.kind == KeyKind::kDate
                ? "SELECT $1::date - DATE '1970-01-01'"
                : std::string("SELECT (extract(epoch FROM $1::") +
                      (request.kind == KeyKind::kTimestamp ? "timestamp"
                                                           : "timestamptz") +
                      ") * 1000000)::bigint";
        auto parsed = coordinator_->Query(sql, {bound}, "partition_by.ranges");
        if (!parsed.ok()) {
          // PostgreSQL reads no negative year: "-3042-07-03" fails with a message about
          // a time zone.
          const bool negative = bound.find_first_not_of(' ') != std::string::npos &&
                                bound[bound.find_first_not_of(' ')] == '-';
          return arrow::Status::Invalid(
              "partition_by.ranges: '", bound, "' is not a valid value of key ",
              by.column, ": ", parsed.status().message(),
              negative ? " (write a year before 1 AD as a BC year: ISO year -3042 is "
                         "'3043-07-03 BC')"
                       : "");
        }
        const std::string what =
            "partition_by.ranges: '" + bound + "' as a value of key " + by.column;
        ARROW_ASSIGN_OR_RAISE(auto text, SingleValue(*parsed, what));
        ARROW_ASSIGN_OR_RAISE(value, ServerInt(text, what));
      }
      request.bounds.push_back(value);
    }
  }
  return PlanKeyRanges(request);
}

arrow::Result<std::vector<PartitionSpec>> PostgresConsumer::PlanPartitions(
    const RunInstance& run) {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(DescribeLocked());
  ARROW_RETURN_NOT_OK(EnsureCoordinatorLocked());
  if (options_.incremental && window_) {
    // Logged here, where the window is used, once per plan: PlanRunState may run more
    // than once for one plan (first without the state store's watermarks).
    spdlog::info("incremental window of {}: {} < {} <= {}", run.id(),
                 window_->low.value_or("-inf"), options_.incremental->cursor,
                 window_->high.value_or("(empty)"));
  }
  if (options_.incremental && window_ && !window_->high)
    return std::vector<PartitionSpec>{};
  std::vector<PlannedPartition> plan;
  const std::string source = options_.table.empty() ? "query" : options_.table;
  switch (options_.partition_by.mode) {
    case PartitionBy::Mode::kNone: {
      PlannedPartition all;
      all.spec.id = "all";
      all.spec.description = "all rows of " + source;
      all.read.kind = PartitionRead::Kind::kAll;
      plan.push_back(std::move(all));
      break;
    }
    case PartitionBy::Mode::kKey: {
      ARROW_ASSIGN_OR_RAISE(plan, PlanKeyLocked());
      break;
    }
    case PartitionBy::Mode::kCtid: {
      const std::string what = "the size in pages of " + SourceName();
      ARROW_ASSIGN_OR_RAISE(
          auto rows, coordinator_->Query("SELECT (pg_relation_size(to_regclass($1)) + "
                                         "current_setting('block_size')::bigint - 1) / "
                                         "current_setting('block_size')::bigint",
                                         {qualified_table_}, "cannot read " + what));
      ARROW_ASSIGN_OR_RAISE(auto text, SingleValue(rows, what));
      ARROW_ASSIGN_OR_RAISE(int64_t pages, ServerInt(text, what));
      ARROW_ASSIGN_OR_RAISE(
          plan, PlanCtidRanges(pages, options_.partition_by.pages_per_partition));
      break;
    }
    case PartitionBy::Mode::kNative: {
      ARROW_ASSIGN_OR_RAISE(
          auto rows,
          coordinator_->Query(
              "SELECT n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || "
              "quote_ident(c.relname) FROM pg_partition_tree(to_regclass($1)) t JOIN "
              "pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = "
              "c.relnamespace WHERE t.isleaf",
              {qualified_table_}, "cannot list the native partitions"));
      ARROW_RETURN_NOT_OK(
          ExpectColumns(rows, 2, "the native partitions of " + SourceName()));
      std::vector<std::string> names, quoted;
      for (const auto& row : rows) {
        names.push_back(row[0].value_or(""));
        quoted.push_back(row[1].value_or(""));
      }
      plan = PlanNativePartitions(names, quoted);
      break;
    }
  }
  const std::string window = WindowSql(window_);
  std::vector<PartitionSpec> specs;
  for (auto& p : plan) {
    nlohmann::json split = SplitOf(p.read);
    if (!window.empty()) {
      p.where = p.where.empty() ? window : "(" + p.where + ") AND " + window;
      p.spec.description += ", " + options_.incremental->cursor + " in (" +
                            window_->low.value_or("-inf") + ", " + *window_->high + "]";
      split["window"] = {
          {"low", window_->low ? nlohmann::json(*window_->low) : nlohmann::json()},
          {"high", *window_->high}};
    }
    if (options_.reconcile_counts) {
      std::string sql = "SELECT count(*) FROM " +
                        (p.from.empty() ? SourceSql() : p.from) +
                        (p.where.empty() ? "" : " WHERE " + p.where);
      const std::string what = "the row count of partition " + p.spec.id;
      ARROW_ASSIGN_OR_RAISE(auto counted,
                            coordinator_->Query(sql, "cannot read " + what));
      ARROW_ASSIGN_OR_RAISE(auto value, SingleValue(counted, what));
      ARROW_ASSIGN_OR_RAISE(p.spec.expected_rows, ServerInt(value, what));
    }
    p.spec.split = sources::SplitText(split);
    specs.push_back(std::move(p.spec));
  }
  return specs;
}

std::string PostgresConsumer::SourceName() const {
  return options_.table.empty() ? "query" : "table " + options_.table;
}

std::string PostgresConsumer::CopySql(const PartitionSql& partition) const {
  std::string columns;
  for (const auto& column : selected_) {
    if (!columns.empty()) columns += ", ";
    columns += column.select;
  }
  if (plain_copy_ && partition.from.empty() && partition.where.empty()) {
    return "COPY " + qualified_table_ + " (" + columns + ") TO STDOUT (FORMAT binary)";
  }
  std::string sql = "COPY (SELECT " + columns + " FROM " +
                    (partition.from.empty() ? SourceSql() : partition.from);
  if (!partition.where.empty()) sql += " WHERE " + partition.where;
  return sql + ") TO STDOUT (FORMAT binary)";
}

arrow::Result<PostgresConsumer::SplitRead> PostgresConsumer::ReadSplit(
    const sources::SplitReader& split) const {
  SplitRead out;
  ARROW_ASSIGN_OR_RAISE(out.read, ReadOfSplit(split));
  if (ModeOf(out.read.kind) != options_.partition_by.mode) {
    return split.Malformed("its kind does not match the consumer's partition_by");
  }
  ARROW_ASSIGN_OR_RAISE(auto window, split.OptionalObject("window"));
  if (window.has_value() != options_.incremental.has_value()) {
    return split.Malformed(
        options_.incremental ? "the consumer is incremental, but the split has no window"
                             : "a window, but the consumer is not incremental");
  }
  if (window) {
    out.window.emplace();
    ARROW_ASSIGN_OR_RAISE(out.window->low, window->OptionalString("low"));
    ARROW_ASSIGN_OR_RAISE(out.window->high, window->String("high"));
  }
  return out;
}

PartitionSql PostgresConsumer::SqlOfRead(const SplitRead& split) const {
  KeyKind kind = KeyKind::kInteger;
  if (split.read.kind == PartitionRead::Kind::kKey) {
    // DescribeLocked checked that the key is a column with a key kind.
    for (const auto& column : source_columns_) {
      if (column.name == options_.partition_by.column) kind = *KeyKindOf(column.type);
    }
  }
  PartitionSql sql = SqlOf(split.read, options_.partition_by.column, kind);
  if (split.window) {
    const std::string condition = WindowSql(split.window);
    sql.where = sql.where.empty() ? condition : "(" + sql.where + ") AND " + condition;
  }
  return sql;
}

// ---------------------------------------------------------------------------------------
// Reading.

arrow::Result<std::unique_ptr<PartitionReader>> PostgresConsumer::OpenPartition(
    const PartitionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto split,
                        sources::SplitReader::Parse(context.partition, "postgres"));
  ARROW_ASSIGN_OR_RAISE(SplitRead read, ReadSplit(split));
  std::string sql;
  std::string snapshot;
  std::vector<PgColumn> columns;
  PgDecodeOptions decode;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A consumer that did not plan describes the source here (and, with `snapshot: true`,
    // exports the snapshot its own readers then share).
    ARROW_RETURN_NOT_OK(DescribeLocked());
    sql = CopySql(SqlOfRead(read));
    snapshot = snapshot_id_;
    for (const auto& column : selected_) columns.push_back(column.column);
    decode = options_.decode;
  }
  const std::string where = SourceName() + ", partition " + context.partition.id;
  ARROW_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(options_.connection));
  JETFLOW_RETURN_NOT_OK_CTX(
      conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "cannot begin"),
      where);
  if (!snapshot.empty()) {
    arrow::Status imported =
        conn->Exec("SET TRANSACTION SNAPSHOT " + QuoteLiteral(snapshot),
                   "cannot import the run's snapshot " + snapshot);
    if (!imported.ok() && !IsRetryable(imported)) {
      // The coordinator that exported it is gone: reading now would silently use a
      // different snapshot than the partitions already read. Fail the run instead; a
      // new run resumes (committed partitions kept) with a fresh snapshot.
      return arrow::Status::IOError(
          "the run's exported snapshot is no longer available (the planning connection "
          "was lost), so this partition cannot be read consistently with the others; "
          "run the pipeline again to resume with a new snapshot (",
          where, "; ", imported.message(), ")");
    }
    ARROW_RETURN_NOT_OK(imported);
  }
  PgResult started(PQexec(conn->get(), sql.c_str()));
  if (!started || PQresultStatus(started.get()) != PGRES_COPY_OUT) {
    return PgStatus(conn->get(), started.get(), "COPY did not start (" + where + ")");
  }
  ARROW_ASSIGN_OR_RAISE(auto decoder,
                        CopyBinaryDecoder::Make(std::move(columns), decode));
  spdlog::debug("partition {}: {}", context.partition.id, sql);
  return std::make_unique<PgPartitionReader>(std::move(conn), std::move(decoder), where,
                                             options_.batch_rows, options_.batch_bytes,
                                             context);
}

}  // namespace postgres

void RegisterPostgresConsumer(ComponentRegistry& registry) {
  registry.RegisterConsumer(
      "postgres",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Consumer>> {
        ARROW_ASSIGN_OR_RAISE(auto options,
                              postgres::PostgresConsumer::ParseOptions(node, context));
        ARROW_ASSIGN_OR_RAISE(auto consumer,
                              postgres::PostgresConsumer::Make(std::move(options)));
        return std::unique_ptr<Consumer>(std::move(consumer));
      });
}

}  // namespace jetflow
