#include "jetflow/sources/clickhouse/clickhouse_consumer.h"

#include <arrow/api.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string_view>
#include <system_error>

#include "jetflow/core/error.h"
#include "jetflow/core/secret_redaction.h"
#include "jetflow/sources/key_ranges.h"
#include "jetflow/sources/partition_split.h"
#include "jetflow/sources/source_options.h"
#include "jetflow/sources/table_source_options.h"

namespace jetflow {

namespace {

using clickhouse::QuoteIdentifier;
using clickhouse::QuoteString;

// One TSV field as ClickHouse escapes it (\t \n \\ \' \0 ...).
std::string UnescapeTsv(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out.push_back(field[i]);
      continue;
    }
    out.push_back(clickhouse::UnescapedChar(field[++i]));
  }
  return out;
}

// Rows of a TSV answer, each split into unescaped fields.
std::vector<std::vector<std::string>> ParseTsv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    std::vector<std::string> fields;
    size_t f = 0;
    while (true) {
      const size_t tab = line.find('\t', f);
      fields.push_back(
          UnescapeTsv(line.substr(f, tab == line.npos ? line.npos : tab - f)));
      if (tab == line.npos) break;
      f = tab + 1;
    }
    rows.push_back(std::move(fields));
    start = end + 1;
  }
  return rows;
}

// The fields of a TSV row, tab-separated again (for messages).
std::string Join(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& field : fields) out += (out.empty() ? "" : "\t") + field;
  return out;
}

// A count or another non-negative integer of an answer; nullopt if it is not one.
std::optional<int64_t> ParseCount(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

// Only [A-Za-z0-9._-]; anything else becomes '_'.
std::string Sanitize(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out;
}

// How column names become id prefixes: fixed forever, ids are directory names in lakes.
constexpr sources::IdSpelling kIdSpelling{/*keep_dot_and_dash=*/true, /*lead=*/'c'};

std::string IdPrefix(const std::string& column) {
  return sources::IdText(column, kIdSpelling) + "_";
}

// The condition of the rows of a table partition: its id, and the partition key's value
// too, so that ClickHouse prunes by its min/max index.
std::string PartPredicate(const std::string& partition_id,
                          const std::string& partition_key, const std::string& value) {
  std::string predicate = "_partition_id = " + QuoteString(partition_id);
  if (!partition_key.empty() && value != "tuple()") {
    predicate += " AND (" + partition_key + ") = " + value;
  }
  return predicate;
}

// "`k` BETWEEN lo AND hi" or "isNull(`k`)". REQUIRES: closed bounds or null_keys.
std::string KeyPredicate(const std::string& key, const sources::KeyBounds& bounds) {
  if (bounds.null_keys) return "isNull(" + key + ")";
  return key + " BETWEEN " + sources::KeyValueText(*bounds.lo) + " AND " +
         sources::KeyValueText(*bounds.hi);
}

// SerializationError for an answer that is not what `query` asks for.
arrow::Status UnexpectedAnswer(std::string_view query, std::string_view answer,
                               const std::string& what) {
  return arrow::Status::SerializationError("unexpected answer to ", query, " query: '",
                                           answer.substr(0, 200), "' (", what, ")");
}

// Seconds since 1970-01-01 UTC of a DateTime or Date column, whatever its time zone.
std::string SecondsOf(const std::string& key, bool is_date) {
  return is_date ? "(toUInt32(" + key + ") * 86400)" : "toUInt32(" + key + ")";
}

// Seconds since the epoch of every DateTime (32-bit) and Date (16-bit days) are below
// this; so is the start of every time slice.
constexpr int64_t kSecondsLimit = int64_t{1} << 33;

// The condition of the rows of the time slice [start, end) (seconds since the epoch).
std::string SlicePredicate(const std::string& key, bool is_date, int64_t start,
                           int64_t end) {
  if (is_date) {
    const std::string seconds = SecondsOf(key, true);
    return seconds + " >= " + std::to_string(start) + " AND " + seconds + " < " +
           std::to_string(end);
  }
  return key + " >= toDateTime(" + std::to_string(start) + ") AND " + key +
         " < toDateTime(" + std::to_string(end) + ")";
}

// The type inside Nullable(...), or the type itself.
std::string StripNullable(const std::string& type) {
  if (type.rfind("Nullable(", 0) == 0 && type.back() == ')') {
    return type.substr(9, type.size() - 10);
  }
  return type;
}

bool IsIntegerType(const std::string& type) {
  static const std::set<std::string> kIntegers = {"Int8",  "Int16",  "Int32",  "Int64",
                                                  "UInt8", "UInt16", "UInt32", "UInt64"};
  return kIntegers.count(StripNullable(type)) > 0;
}

std::string FormatUtc(int64_t seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof(text), format, &tm);
  return text;
}

// A column whose type the decoder does not support.
struct UnsupportedColumn {
  std::string name;
  std::string type;    // as ClickHouse spells it
  std::string reason;  // the decoder's
  // AggregateFunction(...): the values are the states of an aggregation (bytes), which
  // toString() does not turn into text.
  bool aggregation_state = false;
};

// The plan-time error for `columns`, each with the remedies that work for its type
// (tests/e2e/test_clickhouse_remedies.py runs every one of them). `names` are the
// columns read, `table_sql` the quoted table ("" for a `query:` source).
arrow::Status UnsupportedColumns(const std::vector<UnsupportedColumn>& columns,
                                 const std::vector<std::string>& names,
                                 const std::string& source,
                                 const std::string& table_sql) {
  // The query that reads final values in place of every aggregation state.
  std::string final_values;
  for (const std::string& name : names) {
    auto it = std::find_if(columns.begin(), columns.end(), [&](const auto& c) {
      return c.name == name && c.aggregation_state;
    });
    const std::string quoted = QuoteIdentifier(name);
    final_values +=
        (final_values.empty() ? "SELECT " : ", ") +
        (it == columns.end() ? quoted
                             : "finalizeAggregation(" + quoted + ") AS " + quoted);
  }
  final_values += " FROM " + table_sql + " FINAL";
  std::string message;
  for (const UnsupportedColumn& column : columns) {
    if (!message.empty()) message += "\n";
    message += "ClickHouse column type is not supported: column '" + column.name + "' " +
               column.type + " (" + source + "; " + column.reason + "). ";
    if (!column.aggregation_state) {
      message += "Set 'cast_unsupported_to_string: true' to read it as toString(" +
                 column.name + "), or leave it out with 'columns'";
      continue;
    }
    const std::string quoted = QuoteIdentifier(column.name);
    message +=
        "Its values are states of an aggregation (bytes), not its results. To read the "
        "results, " +
        (table_sql.empty()
             ? "select finalizeAggregation(" + quoted + ") AS " + quoted +
                   " in the query, from the table read with FINAL (which merges the "
                   "rows of each key first)"
             : "read with 'query: \"" + final_values +
                   "\"' (FINAL merges the rows of each key first)") +
        "; to store the states as bytes, set 'cast_unsupported_to_string: true' and '" +
        sources::InvalidUtf8ColumnOption(column.name, sources::InvalidUtf8::kBinary) +
        "'; or leave it out with 'columns'";
  }
  return arrow::Status::Invalid(message);
}

class ClickHouseReader : public PartitionReader {
 public:
  ClickHouseReader(std::shared_ptr<arrow::Schema> schema, int64_t batch_rows,
                   std::string what, const PartitionContext& context)
      : schema_(std::move(schema)),
        batch_rows_(batch_rows),
        what_(std::move(what)),
        stage_(context.source),
        value_changes_(context.value_changes) {}

  arrow::Status Open(const clickhouse::HttpOptions& http, const std::string& sql,
                     std::vector<clickhouse::NativeColumnSpec> specs) {
    ARROW_ASSIGN_OR_RAISE(stream_, clickhouse::QueryStream::Open(http, sql, what_));
    auto reader = clickhouse::NativeBlockReader::Make(stream_, std::move(specs));
    if (!reader.ok()) return AddContext(reader.status(), what_);
    reader_ = std::move(*reader);
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (pending_ != nullptr) return TakePending();
    if (done_) return nullptr;
    auto next = reader_->Next();
    if (!next.ok()) {
      // ClickHouse appends the text of an error that happens after the first block to
      // the body; the decoder then sees garbage. Report the server's error instead.
      // A network failure is what it says (and the tail is then binary data).
      if (IsRetryable(next.status())) return next.status();
      if (auto exception = stream_->ExceptionInTail()) return *exception;
      if (next.status().message().find(what_) != std::string::npos) return next.status();
      return AddContext(next.status(), what_);
    }
    std::shared_ptr<arrow::RecordBatch> batch = std::move(*next);
    if (batch == nullptr) {
      done_ = true;
      ARROW_RETURN_NOT_OK(stream_->Close());
      // Values `invalid_utf8: replace` repaired are reported, never silent.
      const std::vector<int64_t>& replaced = reader_->replaced_values();
      for (size_t i = 0; i < replaced.size(); ++i) {
        value_changes_->Add(sources::InvalidUtf8Replaced(
            stage_, schema_->field(static_cast<int>(i))->name(), replaced[i]));
      }
      return nullptr;
    }
    ARROW_ASSIGN_OR_RAISE(pending_, Conform(std::move(batch)));
    offset_ = 0;
    return TakePending();
  }

 private:
  // The decoder's batch with exactly the planned schema (field nullability and metadata
  // as planned; the types must already agree).
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      std::shared_ptr<arrow::RecordBatch> batch) {
    if (batch->schema()->Equals(*schema_, /*check_metadata=*/false)) return batch;
    if (batch->num_columns() != schema_->num_fields()) {
      return arrow::Status::SerializationError("ClickHouse block has ",
                                               batch->num_columns(), " columns, planned ",
                                               schema_->num_fields(), " (", what_, ")");
    }
    for (int i = 0; i < batch->num_columns(); ++i) {
      if (!batch->column(i)->type()->Equals(*schema_->field(i)->type())) {
        return arrow::Status::SerializationError(
            "ClickHouse block column has an unexpected type: column '",
            schema_->field(i)->name(), "' ", batch->column(i)->type()->ToString(),
            ", planned ", schema_->field(i)->type()->ToString(), " (", what_, ")");
      }
    }
    return arrow::RecordBatch::Make(schema_, batch->num_rows(), batch->columns());
  }

  std::shared_ptr<arrow::RecordBatch> TakePending() {
    const int64_t rows = pending_->num_rows();
    if (offset_ == 0 && rows <= batch_rows_) return std::exchange(pending_, nullptr);
    const int64_t take = std::min(batch_rows_, rows - offset_);
    auto slice = pending_->Slice(offset_, take);
    offset_ += take;
    if (offset_ >= rows) pending_ = nullptr;
    return slice;
  }

  std::shared_ptr<arrow::Schema> schema_;
  int64_t batch_rows_;
  std::string what_;
  std::string stage_;  // the consumer's name, for its value changes
  std::shared_ptr<ValueChanges> value_changes_;
  std::shared_ptr<clickhouse::QueryStream> stream_;
  std::unique_ptr<clickhouse::NativeBlockReader> reader_;
  std::shared_ptr<arrow::RecordBatch> pending_;
  int64_t offset_ = 0;
  bool done_ = false;
};

}  // namespace

arrow::Result<ClickHouseConsumer::Options> ClickHouseConsumer::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  const size_t errors_before = sources::ErrorCount(*node.diagnostics());
  Options options;
  options.http.url = node.RequireString("url");
  if (!options.http.url.empty() && options.http.url.rfind("http://", 0) != 0 &&
      options.http.url.rfind("https://", 0) != 0) {
    node.Get("url").Error(
        "'url' must start with http:// or https:// (ClickHouse's HTTP "
        "interface, e.g. http://127.0.0.1:8123)");
  }
  options.http.user = node.GetString("user", "default");
  options.http.password = sources::ParsePasswordEnv(node).value_or("");
  options.http.database = node.GetString("database", "");
  sources::TableOrQuery source =
      sources::ParseTableOrQuery(node, sources::SqlDialect::kClickHouse);
  options.table = std::move(source.table);
  options.query = std::move(source.query);
  if (node.Has("columns")) options.columns = node.GetStringList("columns");
  ConfigNode partition_by = node.Get("partition_by");
  if (partition_by.IsDefined() && !partition_by.IsNull()) {
    if (partition_by.IsScalar()) {
      if (partition_by.AsString() == "parts") {
        options.partition_kind = PartitionKind::kParts;
        if (options.table.empty() && !options.query.empty()) {
          partition_by.Error("'partition_by: parts' needs a 'table' (a MergeTree table)");
        }
      } else {
        partition_by.Error(
            "'partition_by' must be 'parts', {column: k, partitions: N} or "
            "{column: ts, interval: 1h}");
      }
    } else if (partition_by.IsMap()) {
      sources::KeyPartitionBy key = sources::ParseKeyPartitionBy(partition_by, 100'000);
      options.partition_column = std::move(key.column);
      const bool has_interval = partition_by.Has("interval");
      if (key.partitions.has_value() == has_interval) {
        partition_by.Error(
            "'partition_by' needs exactly one of 'partitions' (key ranges) "
            "or 'interval' (time slices)");
      } else if (key.partitions) {
        options.partition_kind = PartitionKind::kKeyRange;
        options.partitions = *key.partitions;
      } else {
        options.partition_kind = PartitionKind::kTimeInterval;
        const auto ms = partition_by.GetDuration("interval", std::chrono::hours(1));
        if (ms.count() < 1000 || ms.count() % 1000 != 0) {
          partition_by.Get("interval").Error("'interval' must be whole seconds, >= 1s");
        } else {
          options.interval = std::chrono::duration_cast<std::chrono::seconds>(ms);
        }
      }
      partition_by.CheckNoUnknownKeys();
    } else {
      partition_by.Error("'partition_by' must be 'parts' or a map");
    }
  }
  ConfigNode settings = node.Get("settings");
  if (settings.IsDefined() && !settings.IsNull()) {
    if (!settings.IsMap()) {
      settings.Error(
          "'settings' must be a map of ClickHouse settings, e.g. "
          "{max_block_size: 65536, max_threads: 1}");
    } else {
      for (const auto& [name, value] : settings.Entries()) {
        if (!value.IsScalar()) {
          value.Error("'" + value.path() + "': a setting's value must be a scalar");
          continue;
        }
        options.http.settings.emplace_back(name, value.AsString());
      }
    }
  }
  const std::string compression =
      node.GetEnum("compression", "none", {"none", "gzip", "deflate"});
  options.http.compression = compression == "none" ? "" : compression;
  options.http.connect_timeout =
      node.GetDuration("connect_timeout", std::chrono::seconds(10));
  options.http.receive_timeout =
      node.GetDuration("receive_timeout", std::chrono::seconds(300));
  options.cast_unsupported_to_string = node.GetBool("cast_unsupported_to_string", false);
  options.invalid_utf8 = sources::ParseInvalidUtf8(node);
  options.batch_rows = sources::ParseBatchRows(node, context);
  ARROW_RETURN_NOT_OK(sources::FinishOptions(node, errors_before));
  return options;
}

arrow::Result<std::unique_ptr<ClickHouseConsumer>> ClickHouseConsumer::Make(
    Options options) {
  if (options.http.url.empty()) {
    return arrow::Status::Invalid("clickhouse: 'url' is required");
  }
  ARROW_RETURN_NOT_OK(
      sources::CheckTableOrQuery(options.table, options.query, "clickhouse"));
  if (options.batch_rows < 1) {
    return arrow::Status::Invalid("batch_rows must be >= 1, got ", options.batch_rows);
  }
  if (options.partition_kind == PartitionKind::kParts && options.table.empty()) {
    return arrow::Status::Invalid("clickhouse: 'partition_by: parts' needs a table");
  }
  return std::unique_ptr<ClickHouseConsumer>(new ClickHouseConsumer(std::move(options)));
}

std::string ClickHouseConsumer::Describe() const {
  std::string out;
  if (options_.table.empty()) {
    out = "query";
  } else {
    out =
        "table " +
        (options_.http.database.empty() ? std::string() : options_.http.database + ".") +
        options_.table;
  }
  return out + " at " + RedactUriUserInfo(options_.http.url);
}

std::string ClickHouseConsumer::SourceSql() const {
  return options_.table.empty() ? "(" + options_.query + ")"
                                : QuoteIdentifier(options_.table);
}

arrow::Status ClickHouseConsumer::DescribeLocked() {
  if (described_) return arrow::Status::OK();
  const std::string what = "cannot read the columns of " + Describe();
  std::string select = "*";
  if (!options_.columns.empty()) {
    select.clear();
    for (const auto& c : options_.columns) {
      select += (select.empty() ? "" : ", ") + QuoteIdentifier(c);
    }
  }
  ARROW_ASSIGN_OR_RAISE(
      std::string text,
      clickhouse::QueryText(options_.http,
                            "SELECT " + select + " FROM " + SourceSql() +
                                " LIMIT 0 FORMAT TSVWithNamesAndTypes",
                            what));
  auto rows = ParseTsv(text);
  if (rows.size() < 2 || rows[0].size() != rows[1].size()) {
    return arrow::Status::IOError("unexpected answer to the schema query (", what, ")");
  }
  const auto& names = rows[0];
  const auto& types = rows[1];
  arrow::FieldVector fields;
  std::vector<clickhouse::NativeColumnSpec> specs;
  std::set<std::string> seen;
  std::string select_list;
  std::vector<UnsupportedColumn> unsupported;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (!seen.insert(name).second) {
      return arrow::Status::Invalid("duplicate column name '", name,
                                    "'; give the columns distinct names with AS (",
                                    Describe(), ")");
    }
    type_names_[name] = types[i];
    std::string expression = QuoteIdentifier(name);
    const sources::InvalidUtf8 invalid_utf8 = options_.invalid_utf8.For(name);
    auto parsed = clickhouse::ParseClickHouseType(types[i]);
    arrow::Result<std::shared_ptr<arrow::DataType>> arrow_type =
        parsed.ok() ? clickhouse::ArrowTypeFor(*parsed, invalid_utf8) : parsed.status();
    clickhouse::ClickHouseType type;
    if (arrow_type.ok()) {
      type = *parsed;
    } else if (options_.cast_unsupported_to_string) {
      ARROW_ASSIGN_OR_RAISE(type, clickhouse::ParseClickHouseType("String"));
      ARROW_ASSIGN_OR_RAISE(arrow_type, clickhouse::ArrowTypeFor(type, invalid_utf8));
      expression = "toString(" + QuoteIdentifier(name) + ") AS " + QuoteIdentifier(name);
    } else {
      unsupported.push_back({name, types[i], arrow_type.status().message(),
                             parsed.ok() && parsed->name == "AggregateFunction"});
      continue;
    }
    const bool nullable = type.name == "Nullable" ||
                          (type.name == "LowCardinality" && !type.children.empty() &&
                           type.children[0].name == "Nullable") ||
                          type.name == "Nothing";
    fields.push_back(arrow::field(name, *arrow_type, nullable));
    specs.push_back({name, type, invalid_utf8});
    select_list += (select_list.empty() ? "" : ", ") + expression;
  }
  if (!unsupported.empty()) {
    return UnsupportedColumns(unsupported, names, Describe(),
                              options_.table.empty() ? "" : SourceSql());
  }
  ARROW_RETURN_NOT_OK(options_.invalid_utf8.Check(
      names,
      [&specs](const std::string& name) {
        for (const auto& spec : specs) {
          if (spec.name == name) return clickhouse::HoldsString(spec.type);
        }
        return false;
      },
      Describe()));
  if (options_.partition_kind == PartitionKind::kKeyRange ||
      options_.partition_kind == PartitionKind::kTimeInterval) {
    auto it = type_names_.find(options_.partition_column);
    if (it == type_names_.end()) {
      return arrow::Status::Invalid("partition_by column does not exist: '",
                                    options_.partition_column, "' (", Describe(), ")");
    }
    const std::string base = StripNullable(it->second);
    if (options_.partition_kind == PartitionKind::kKeyRange && !IsIntegerType(base)) {
      return arrow::Status::Invalid("partition_by column must be an integer column: '",
                                    options_.partition_column, "' is ", it->second, " (",
                                    Describe(), ")");
    }
    if (options_.partition_kind == PartitionKind::kTimeInterval && base != "Date" &&
        base.rfind("DateTime", 0) != 0) {
      return arrow::Status::Invalid(
          "partition_by interval needs a DateTime or Date column: '",
          options_.partition_column, "' is ", it->second, " (", Describe(), ")");
    }
    if (options_.partition_kind == PartitionKind::kTimeInterval && base == "Date" &&
        options_.interval.count() % 86400 != 0) {
      return arrow::Status::Invalid(
          "partition_by interval of a Date column must be whole days: '",
          options_.partition_column, "' (", Describe(), ")");
    }
  }
  schema_ = arrow::schema(std::move(fields));
  specs_ = std::move(specs);
  select_list_ = std::move(select_list);
  described_ = true;
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Schema>> ClickHouseConsumer::InferSchema() {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(DescribeLocked());
  return schema_;
}

arrow::Result<std::vector<PartitionSpec>> ClickHouseConsumer::PlanPartitions(
    const RunInstance&) {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(DescribeLocked());
  switch (options_.partition_kind) {
    case PartitionKind::kParts:
      return PlanParts();
    case PartitionKind::kKeyRange:
      return PlanKeyRanges();
    case PartitionKind::kTimeInterval:
      return PlanTimeSlices();
    case PartitionKind::kNone:
      break;
  }
  std::vector<PartitionSpec> partitions;
  int64_t expected = -1;
  if (!options_.table.empty()) {
    const std::string what = "cannot count the rows of " + Describe();
    ARROW_ASSIGN_OR_RAISE(
        std::string count,
        clickhouse::QueryText(options_.http, "SELECT count() FROM " + SourceSql(), what));
    auto value = ParseCount(std::string_view(count).substr(0, count.find('\n')));
    if (!value) return UnexpectedAnswer("the row count", count, what);
    expected = *value;
  }
  partitions.push_back({"all",
                        options_.table.empty() ? "all rows of the query"
                                               : "all rows of table " + options_.table,
                        expected, sources::SplitText({{"kind", "all"}})});
  return partitions;
}

arrow::Result<std::vector<PartitionSpec>> ClickHouseConsumer::PlanParts() {
  const std::string what = "cannot list the partitions of " + Describe();
  const std::string database = options_.http.database.empty()
                                   ? std::string("currentDatabase()")
                                   : QuoteString(options_.http.database);
  ARROW_ASSIGN_OR_RAISE(
      std::string table_text,
      clickhouse::QueryText(options_.http,
                            "SELECT engine, partition_key FROM system.tables WHERE "
                            "database = " +
                                database + " AND name = " + QuoteString(options_.table) +
                                " FORMAT TSV",
                            what));
  auto table_rows = ParseTsv(table_text);
  if (table_rows.empty() || table_rows[0].size() < 2) {
    return arrow::Status::Invalid("table not found in system.tables (", Describe(), ")");
  }
  const std::string engine = table_rows[0][0];
  const std::string partition_key = table_rows[0][1];
  if (engine.find("MergeTree") == std::string::npos) {
    return arrow::Status::Invalid(
        "'partition_by: parts' needs a MergeTree-family table; the table's engine is ",
        engine, " (", Describe(), ")");
  }
  ARROW_ASSIGN_OR_RAISE(
      std::string text,
      clickhouse::QueryText(options_.http,
                            "SELECT partition_id, any(partition), sum(rows) FROM "
                            "system.parts WHERE active AND database = " +
                                database + " AND table = " + QuoteString(options_.table) +
                                " GROUP BY partition_id ORDER BY partition_id FORMAT TSV",
                            what));
  std::vector<PartitionSpec> partitions;
  std::set<std::string> ids;
  for (const auto& row : ParseTsv(text)) {
    auto rows = row.size() == 3 ? ParseCount(row[2]) : std::nullopt;
    if (!rows) return UnexpectedAnswer("the system.parts", text, what);
    const std::string& partition_id = row[0];
    const std::string& value = row[1];
    PartitionSpec spec;
    spec.id = "part_" + Sanitize(partition_id);
    spec.description = "partition " + value + " (partition_id " + partition_id + ")";
    spec.expected_rows = *rows;
    spec.split = sources::SplitText({{"kind", "part"},
                                     {"partition_id", partition_id},
                                     {"partition", value},
                                     {"partition_key", partition_key}});
    if (!ids.insert(spec.id).second) {
      return arrow::Status::Invalid("two partitions sanitize to the same id '", spec.id,
                                    "' (", Describe(), ")");
    }
    partitions.push_back(std::move(spec));
  }
  return partitions;
}

arrow::Result<std::vector<PartitionSpec>> ClickHouseConsumer::PlanKeyRanges() {
  const std::string what = "cannot read the key range of " + Describe();
  const std::string& column = options_.partition_column;
  const std::string key = QuoteIdentifier(column);
  ARROW_ASSIGN_OR_RAISE(
      std::string text,
      clickhouse::QueryText(options_.http,
                            "SELECT toString(min(" + key + ")), toString(max(" + key +
                                ")), count(), count(" + key + ") FROM " + SourceSql() +
                                " FORMAT TSV",
                            what));
  auto rows = ParseTsv(text);
  if (rows.size() != 1 || rows[0].size() != 4) {
    return UnexpectedAnswer("the key range", text, what);
  }
  auto total = ParseCount(rows[0][2]);
  auto non_null = ParseCount(rows[0][3]);
  if (!total || !non_null || *non_null > *total) {
    return UnexpectedAnswer("the key range", text, what);
  }
  sources::ClosedCut cut;
  cut.column = column;
  cut.spelling = kIdSpelling;
  cut.partitions = options_.partitions;
  cut.null_keys = *total > *non_null;
  if (*non_null > 0) {
    cut.min = sources::ParseKeyValue(rows[0][0]);
    cut.max = sources::ParseKeyValue(rows[0][1]);
    if (!cut.min || !cut.max) return UnexpectedAnswer("the key range", text, what);
  }
  ARROW_ASSIGN_OR_RAISE(auto ranges, sources::CutClosedRanges(cut));
  // One query counts the rows of every range.
  std::string counts;
  for (const auto& range : ranges) {
    if (range.bounds.null_keys) continue;
    counts += (counts.empty() ? "SELECT " : ", ") + std::string("countIf(") +
              KeyPredicate(key, range.bounds) + ")";
  }
  std::vector<std::string> count_row;
  if (!counts.empty()) {
    const std::string count_what = "cannot count the rows of " + Describe();
    ARROW_ASSIGN_OR_RAISE(
        std::string count_text,
        clickhouse::QueryText(
            options_.http, counts + " FROM " + SourceSql() + " FORMAT TSV", count_what));
    auto count_rows = ParseTsv(count_text);
    if (count_rows.size() != 1) {
      return UnexpectedAnswer("the row count", count_text, count_what);
    }
    count_row = std::move(count_rows[0]);
  }
  std::vector<PartitionSpec> partitions;
  size_t counted = 0;
  for (auto& range : ranges) {
    int64_t expected = *total - *non_null;
    if (!range.bounds.null_keys) {
      auto n = counted < count_row.size() ? ParseCount(count_row[counted]) : std::nullopt;
      if (!n) return UnexpectedAnswer("the row count", Join(count_row), what);
      expected = *n;
      ++counted;
    }
    nlohmann::json split = {{"kind", "key"}};
    sources::WriteKeyBounds(range.bounds, &split);
    partitions.push_back({std::move(range.id), std::move(range.description), expected,
                          sources::SplitText(split)});
  }
  if (counted != count_row.size()) {
    return UnexpectedAnswer("the row count", Join(count_row), what);
  }
  return partitions;
}

// More slices than this is a mistake (an interval far too short): refused. The server
// sends at most this many (+2: one to tell, one for NULLs), however many there are.
constexpr size_t kMaxTimeSlices = 100'000;

arrow::Result<std::vector<PartitionSpec>> ClickHouseConsumer::PlanTimeSlices() {
  const std::string& column = options_.partition_column;
  const std::string key = QuoteIdentifier(column);
  const std::string seconds = SecondsOf(key, IsDateColumn());
  const int64_t step = options_.interval.count();
  const std::string what = "cannot read the time slices of " + Describe();
  ARROW_ASSIGN_OR_RAISE(
      std::string text,
      clickhouse::QueryText(options_.http,
                            "SELECT isNull(" + key + ") AS n, intDiv(assumeNotNull(" +
                                seconds + "), " + std::to_string(step) +
                                ") AS slot, count() FROM " + SourceSql() +
                                " GROUP BY n, slot ORDER BY n, slot LIMIT " +
                                std::to_string(kMaxTimeSlices + 2) + " FORMAT TSV",
                            what));
  std::vector<PartitionSpec> partitions;
  const std::string prefix = IdPrefix(column);
  int64_t null_rows = 0;
  for (const auto& row : ParseTsv(text)) {
    auto slot = row.size() == 3 ? ParseCount(row[1]) : std::nullopt;
    auto n = row.size() == 3 ? ParseCount(row[2]) : std::nullopt;
    if (!slot || !n || *slot > kSecondsLimit / step || (row[0] != "0" && row[0] != "1")) {
      return UnexpectedAnswer("the time slice", text, what);
    }
    if (row[0] == "1") {
      null_rows += *n;
      continue;
    }
    if (partitions.size() >= kMaxTimeSlices) {
      return arrow::Status::Invalid("partition_by interval gives more than ",
                                    kMaxTimeSlices, " slices; use a longer interval (",
                                    Describe(), ")");
    }
    const int64_t start = *slot * step;
    const int64_t end = start + step;
    partitions.push_back(
        {prefix + FormatUtc(start, "%Y%m%dT%H%M%S"),
         column + " in [" + FormatUtc(start, "%Y-%m-%d %H:%M:%S") + ", " +
             FormatUtc(end, "%Y-%m-%d %H:%M:%S") + ") UTC",
         *n, sources::SplitText({{"kind", "slice"}, {"start", start}, {"end", end}})});
  }
  if (null_rows > 0) {
    partitions.push_back({prefix + "null", column + " is null", null_rows,
                          sources::SplitText({{"kind", "slice"}, {"null", true}})});
  }
  return partitions;
}

bool ClickHouseConsumer::IsDateColumn() const {
  auto it = type_names_.find(options_.partition_column);
  return it != type_names_.end() && StripNullable(it->second) == "Date";
}

arrow::Result<ClickHouseConsumer::SplitRead> ClickHouseConsumer::ReadSplit(
    const sources::SplitReader& split) const {
  ARROW_ASSIGN_OR_RAISE(std::string kind, split.String("kind"));
  static const std::map<std::string, PartitionKind> kKinds = {
      {"all", PartitionKind::kNone},
      {"part", PartitionKind::kParts},
      {"key", PartitionKind::kKeyRange},
      {"slice", PartitionKind::kTimeInterval}};
  auto found = kKinds.find(kind);
  if (found == kKinds.end()) return split.Malformed("unknown kind '" + kind + "'");
  if (found->second != options_.partition_kind) {
    return split.Malformed("its kind '" + kind +
                           "' does not match the consumer's partition_by");
  }
  SplitRead read;
  read.kind = found->second;
  switch (read.kind) {
    case PartitionKind::kNone:
      break;
    case PartitionKind::kParts: {
      ARROW_ASSIGN_OR_RAISE(read.partition_id, split.String("partition_id"));
      ARROW_ASSIGN_OR_RAISE(read.partition, split.String("partition"));
      ARROW_ASSIGN_OR_RAISE(read.partition_key, split.String("partition_key"));
      break;
    }
    case PartitionKind::kKeyRange: {
      ARROW_ASSIGN_OR_RAISE(read.key, sources::ReadKeyBounds(split));
      if (!read.key.null_keys && (!read.key.lo || !read.key.hi)) {
        return split.Malformed("a key range needs 'lo' and 'hi'");
      }
      break;
    }
    case PartitionKind::kTimeInterval: {
      ARROW_ASSIGN_OR_RAISE(read.key.null_keys, split.Bool("null", false));
      if (read.key.null_keys) break;
      ARROW_ASSIGN_OR_RAISE(read.start, split.Int("start"));
      ARROW_ASSIGN_OR_RAISE(read.end, split.Int("end"));
      if (read.start < 0 || read.end <= read.start) {
        return split.Malformed("a time slice needs 0 <= start < end");
      }
      break;
    }
  }
  return read;
}

std::string ClickHouseConsumer::PredicateOf(const SplitRead& read) const {
  const std::string key = QuoteIdentifier(options_.partition_column);
  switch (read.kind) {
    case PartitionKind::kNone:
      break;
    case PartitionKind::kParts:
      return PartPredicate(read.partition_id, read.partition_key, read.partition);
    case PartitionKind::kKeyRange:
      return KeyPredicate(key, read.key);
    case PartitionKind::kTimeInterval:
      if (read.key.null_keys) return "isNull(" + key + ")";
      return SlicePredicate(key, IsDateColumn(), read.start, read.end);
  }
  return "";
}

arrow::Result<std::unique_ptr<PartitionReader>> ClickHouseConsumer::OpenPartition(
    const PartitionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto split,
                        sources::SplitReader::Parse(context.partition, "clickhouse"));
  ARROW_ASSIGN_OR_RAISE(SplitRead read, ReadSplit(split));
  std::string predicate;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ARROW_RETURN_NOT_OK(DescribeLocked());
    predicate = PredicateOf(read);
  }
  std::string sql = "SELECT " + select_list_ + " FROM " + SourceSql();
  if (!predicate.empty()) sql += " WHERE " + predicate;
  sql += " FORMAT Native";
  auto reader = std::make_unique<ClickHouseReader>(
      schema_, options_.batch_rows, Describe() + ", partition " + context.partition.id,
      context);
  ARROW_RETURN_NOT_OK(reader->Open(options_.http, sql, specs_));
  return reader;
}

void RegisterClickHouseConsumer(ComponentRegistry& registry) {
  registry.RegisterConsumer(
      "clickhouse",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Consumer>> {
        ARROW_ASSIGN_OR_RAISE(auto options,
                              ClickHouseConsumer::ParseOptions(node, context));
        ARROW_ASSIGN_OR_RAISE(auto consumer,
                              ClickHouseConsumer::Make(std::move(options)));
        return std::unique_ptr<Consumer>(std::move(consumer));
      });
}

}  // namespace jetflow
