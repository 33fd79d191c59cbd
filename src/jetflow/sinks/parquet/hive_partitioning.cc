#include "jetflow/sinks/parquet/hive_partitioning.h"

#include <arrow/array.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/exec.h>
#include <arrow/compute/row/grouper.h>
#include <arrow/type.h>
#include <arrow/util/checked_cast.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "jetflow/core/config_node.h"

namespace jetflow {

namespace {

using arrow::internal::checked_cast;

bool NeedsEscape(unsigned char c) {
  if (c < 0x20 || c == 0x7F) return true;
  switch (c) {
    case '"':
    case '#':
    case '%':
    case '\'':
    case '*':
    case '/':
    case ':':
    case '=':
    case '?':
    case '\\':
    case '{':
    case '[':
    case ']':
    case '^':
      return true;
    default:
      return false;
  }
}

bool IsStringType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
      return true;
    default:
      return false;
  }
}

// The type a key column is grouped as: the Grouper hashes plain strings, not
// dictionaries (whose values may repeat) or views.
std::shared_ptr<arrow::DataType> GroupKeyType(
    const std::shared_ptr<arrow::DataType>& type) {
  if (type->id() == arrow::Type::DICTIONARY) {
    return GroupKeyType(checked_cast<const arrow::DictionaryType&>(*type).value_type());
  }
  if (type->id() == arrow::Type::STRING_VIEW) return arrow::large_utf8();
  return type;
}

// "YYYY-MM-DD", or nullopt outside years 1..9999 (readers parse no other form).
std::optional<std::string> DateText(int32_t days_since_epoch) {
  const std::chrono::year_month_day date{
      std::chrono::sys_days{std::chrono::days{days_since_epoch}}};
  const int year = static_cast<int>(date.year());
  if (year < 1 || year > 9999) return std::nullopt;
  char text[16];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02u", year,
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return std::string(text);
}

template <typename ArrayType>
std::string IntegerText(const arrow::Array& values, int64_t i) {
  return std::to_string(checked_cast<const ArrayType&>(values).Value(i));
}

// The directory text of value `i` of a grouped key column, or nullopt with `*problem`
// set when the value has none.
std::optional<std::string> ValueText(const arrow::Array& values, int64_t i,
                                     std::string* problem) {
  if (values.IsNull(i)) return std::string(kHiveDefaultPartition);
  switch (values.type_id()) {
    case arrow::Type::BOOL:
      return std::string(
          checked_cast<const arrow::BooleanArray&>(values).Value(i) ? "true" : "false");
    case arrow::Type::INT8:
      return IntegerText<arrow::Int8Array>(values, i);
    case arrow::Type::INT16:
      return IntegerText<arrow::Int16Array>(values, i);
    case arrow::Type::INT32:
      return IntegerText<arrow::Int32Array>(values, i);
    case arrow::Type::INT64:
      return IntegerText<arrow::Int64Array>(values, i);
    case arrow::Type::UINT8:
      return IntegerText<arrow::UInt8Array>(values, i);
    case arrow::Type::UINT16:
      return IntegerText<arrow::UInt16Array>(values, i);
    case arrow::Type::UINT32:
      return IntegerText<arrow::UInt32Array>(values, i);
    case arrow::Type::UINT64:
      return IntegerText<arrow::UInt64Array>(values, i);
    case arrow::Type::DATE32: {
      const int32_t days = checked_cast<const arrow::Date32Array&>(values).Value(i);
      auto text = DateText(days);
      if (!text) {
        *problem = "a date outside the years 1..9999 cannot be a directory name (" +
                   std::to_string(days) + " days from 1970-01-01)";
      }
      return text;
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING: {
      std::string_view text =
          values.type_id() == arrow::Type::STRING
              ? checked_cast<const arrow::StringArray&>(values).GetView(i)
              : checked_cast<const arrow::LargeStringArray&>(values).GetView(i);
      // A directory name cannot be empty: Hive and Spark write "" as null.
      if (text.empty()) return std::string(kHiveDefaultPartition);
      return EscapeHivePathValue(text);
    }
    default:
      *problem = "type " + values.type()->ToString() + " has no directory form";
      return std::nullopt;
  }
}

std::string Shorten(std::string_view text, size_t limit = 60) {
  if (text.size() <= limit) return std::string(text);
  // Cut on a UTF-8 character boundary.
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string JoinProblems(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& problem : problems) out += "\n  " + problem;
  return out;
}

}  // namespace

std::string EscapeHivePathValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (NeedsEscape(byte)) {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> HivePartitionTypeProblem(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
    case arrow::Type::DATE32:
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
      return std::nullopt;
    case arrow::Type::DICTIONARY: {
      const auto& value = *checked_cast<const arrow::DictionaryType&>(type).value_type();
      if (IsStringType(value)) return std::nullopt;
      return HivePartitionTypeProblem(value);
    }
    case arrow::Type::HALF_FLOAT:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      return "floating-point numbers have no text form that every reader parses back to "
             "the same value";
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256:
      return "readers that infer partition types from the path read decimals back as "
             "doubles or strings";
    case arrow::Type::TIMESTAMP:
    case arrow::Type::DATE64:
    case arrow::Type::TIME32:
    case arrow::Type::TIME64:
      return "readers disagree on the text form of times and timestamps (precision, time "
             "zone); partition by a date or a string derived from it";
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      return "binary values are not text";
    default:
      if (arrow::is_nested(type.id())) return "nested values cannot be a directory name";
      return "only integers, strings, dates and booleans can be directory names";
  }
}

// ---------------------------------------------------------------------------------------
// HivePartitioning

arrow::Result<std::shared_ptr<const HivePartitioning>> HivePartitioning::Make(
    const arrow::Schema& input, const std::shared_ptr<arrow::Schema>& output,
    const std::vector<std::string>& columns) {
  std::shared_ptr<HivePartitioning> layout(new HivePartitioning());
  layout->columns_ = columns;
  std::vector<std::string> problems;
  std::vector<bool> is_key(output->num_fields(), false);
  for (const std::string& name : columns) {
    const int index = output->GetFieldIndex(name);
    if (index < 0) {
      if (input.GetFieldIndex(name) >= 0) {
        problems.push_back("partition_by column '" + name +
                           "' is in the stream but not in the declared schema");
        continue;
      }
      std::string problem = "partition_by column '" + name + "' is not in the stream";
      if (auto hint = ClosestMatch(name, output->field_names())) {
        problem += " (did you mean '" + *hint + "'?)";
      }
      problems.push_back(std::move(problem));
      continue;
    }
    const auto& field = output->field(index);
    if (auto why = HivePartitionTypeProblem(*field->type())) {
      std::string problem = "partition_by column '" + name + "': type " +
                            field->type()->ToString() +
                            " cannot be a partition value: " + *why;
      const int source = input.GetFieldIndex(name);
      if (source >= 0 && !input.field(source)->type()->Equals(*field->type())) {
        problem += " (its stream type " + input.field(source)->type()->ToString() +
                   " is written as " + field->type()->ToString() + ")";
      }
      problems.push_back(std::move(problem));
      continue;
    }
    is_key[index] = true;
    layout->key_indices_.push_back(index);
    layout->partition_fields_.push_back(field);
    layout->key_types_.push_back(GroupKeyType(field->type()));
  }
  arrow::FieldVector file_fields;
  for (int i = 0; i < output->num_fields(); ++i) {
    if (is_key[i]) continue;
    layout->file_indices_.push_back(i);
    file_fields.push_back(output->field(i));
  }
  if (problems.empty() && file_fields.empty()) {
    problems.push_back(
        "partition_by takes every column of the output: data files need at least one "
        "column that is not a partition_by column");
  }
  if (!problems.empty()) {
    return arrow::Status::Invalid("cannot partition by these columns:",
                                  JoinProblems(problems));
  }
  layout->file_schema_ = arrow::schema(std::move(file_fields), output->metadata());
  return std::shared_ptr<const HivePartitioning>(std::move(layout));
}

// ---------------------------------------------------------------------------------------
// HiveBatchSplitter

HiveBatchSplitter::HiveBatchSplitter(std::shared_ptr<const HivePartitioning> layout,
                                     std::unique_ptr<arrow::compute::Grouper> grouper)
    : layout_(std::move(layout)), grouper_(std::move(grouper)) {}

HiveBatchSplitter::~HiveBatchSplitter() = default;

arrow::Result<std::unique_ptr<HiveBatchSplitter>> HiveBatchSplitter::Make(
    std::shared_ptr<const HivePartitioning> layout) {
  std::vector<arrow::TypeHolder> types(layout->key_types_.begin(),
                                       layout->key_types_.end());
  ARROW_ASSIGN_OR_RAISE(auto grouper, arrow::compute::Grouper::Make(types));
  return std::unique_ptr<HiveBatchSplitter>(
      new HiveBatchSplitter(std::move(layout), std::move(grouper)));
}

arrow::Result<std::vector<HiveGroup>> HiveBatchSplitter::Split(
    const std::shared_ptr<arrow::RecordBatch>& batch, int64_t first_row) {
  const HivePartitioning& layout = *layout_;
  std::vector<HiveGroup> groups;
  const int64_t rows = batch->num_rows();
  if (rows == 0) return groups;
  ARROW_ASSIGN_OR_RAISE(auto file_rows, batch->SelectColumns(layout.file_indices_));

  std::vector<arrow::Datum> keys;
  for (size_t k = 0; k < layout.key_indices_.size(); ++k) {
    const auto& column = batch->column(layout.key_indices_[k]);
    if (column->type()->Equals(*layout.key_types_[k])) {
      keys.emplace_back(column);
    } else {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum decoded,
                            arrow::compute::Cast(column, layout.key_types_[k]));
      keys.push_back(std::move(decoded));
    }
  }
  const arrow::compute::ExecBatch key_batch(std::move(keys), rows);
  // Group ids restart at 0 for every batch: memory does not grow with the number of
  // distinct values seen, and ids are in the order of first appearance in the batch.
  ARROW_RETURN_NOT_OK(grouper_->Reset());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum ids,
                        grouper_->Consume(arrow::compute::ExecSpan(key_batch)));
  const uint32_t num_groups = grouper_->num_groups();
  ARROW_ASSIGN_OR_RAISE(arrow::compute::ExecBatch uniques, grouper_->GetUniques());
  std::vector<std::shared_ptr<arrow::Array>> unique_values;
  for (const auto& value : uniques.values) unique_values.push_back(value.make_array());

  // The directory of group `g`, whose first row is `row` of the batch.
  auto directory = [&](uint32_t g, int64_t row) -> arrow::Result<std::string> {
    std::string path;
    for (size_t k = 0; k < unique_values.size(); ++k) {
      const std::string& column = layout.columns_[k];
      std::string problem;
      auto text = ValueText(*unique_values[k], g, &problem);
      if (!text) {
        return arrow::Status::Invalid(
            "partition_by value cannot be a directory name: ", problem, ", column '",
            column, "', row ", first_row + row);
      }
      std::string name = column + "=" + *text;
      if (name.size() > kMaxHiveDirectoryNameBytes) {
        return arrow::Status::Invalid(
            "partition_by value too long for a directory name (at most ",
            kMaxHiveDirectoryNameBytes, " bytes once escaped): column '", column,
            "', row ", first_row + row, ", ", name.size(), " bytes: '", Shorten(name),
            "'");
      }
      if (!path.empty()) path.push_back('/');
      path += name;
    }
    return path;
  };

  if (num_groups == 1) {
    ARROW_ASSIGN_OR_RAISE(std::string dir, directory(0, 0));
    groups.push_back({std::move(dir), std::move(file_rows)});
    return groups;
  }
  // Row indices ordered by group (a stable counting sort), gathered with one Take; each
  // group is then a zero-copy slice.
  const auto id_array = std::static_pointer_cast<arrow::UInt32Array>(ids.make_array());
  ARROW_ASSIGN_OR_RAISE(auto groupings,
                        arrow::compute::Grouper::MakeGroupings(*id_array, num_groups));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum taken,
                        arrow::compute::Take(file_rows, groupings->values()));
  const std::shared_ptr<arrow::RecordBatch>& ordered = taken.record_batch();
  const auto& order = checked_cast<const arrow::Int32Array&>(*groupings->values());
  groups.reserve(num_groups);
  for (uint32_t g = 0; g < num_groups; ++g) {
    const int64_t offset = groupings->value_offset(g);
    const int64_t length = groupings->value_length(g);
    ARROW_ASSIGN_OR_RAISE(std::string dir, directory(g, order.Value(offset)));
    groups.push_back({std::move(dir), ordered->Slice(offset, length)});
  }
  return groups;
}

}  // namespace jetflow
