#include "jetflow/transforms/row_key.h"

#include <arrow/api.h>

#include "jetflow/core/config_node.h"

namespace jetflow {

namespace {

bool IsKeyType(const arrow::DataType& type) {
  if (type.id() == arrow::Type::BOOL) return true;
  if (arrow::is_binary_like(type.id()) || arrow::is_large_binary_like(type.id()))
    return true;
  return arrow::is_fixed_width(type.id()) && type.id() != arrow::Type::DICTIONARY &&
         type.id() != arrow::Type::EXTENSION;
}

}  // namespace

arrow::Result<RowKeyEncoder> RowKeyEncoder::Make(const arrow::Schema& schema,
                                                 const std::vector<std::string>& keys) {
  RowKeyEncoder encoder;
  std::string problems;
  for (const auto& key : keys) {
    int index = schema.GetFieldIndex(key);
    if (index < 0) {
      auto hint = ClosestMatch(key, schema.field_names());
      problems += (problems.empty() ? "" : "; ") + std::string("no column '") + key +
                  "'" + (hint ? " (did you mean '" + *hint + "'?)" : "");
      continue;
    }
    if (!IsKeyType(*schema.field(index)->type())) {
      problems += (problems.empty() ? "" : "; ") + std::string("column '") + key +
                  "' of type " + schema.field(index)->type()->ToString() +
                  " cannot be a key";
      continue;
    }
    encoder.columns_.push_back(index);
  }
  if (keys.empty()) problems = "no key columns given";
  if (!problems.empty()) return arrow::Status::Invalid(problems);
  return encoder;
}

arrow::Result<std::vector<std::string>> RowKeyEncoder::Encode(
    const arrow::RecordBatch& batch) const {
  const int64_t rows = batch.num_rows();
  std::vector<std::string> keys(static_cast<size_t>(rows));
  for (int index : columns_) {
    const arrow::ArrayData& data = *batch.column(index)->data();
    const arrow::DataType& type = *data.type;
    const arrow::Array& array = *batch.column(index);
    for (int64_t row = 0; row < rows; ++row) {
      std::string& key = keys[static_cast<size_t>(row)];
      if (array.IsNull(row)) {
        key.push_back('\0');
        continue;
      }
      key.push_back('\1');
      if (type.id() == arrow::Type::BOOL) {
        key.push_back(static_cast<const arrow::BooleanArray&>(array).Value(row) ? '1'
                                                                                : '0');
      } else if (arrow::is_binary_like(type.id())) {
        std::string_view value =
            static_cast<const arrow::BinaryArray&>(array).GetView(row);
        uint32_t size = static_cast<uint32_t>(value.size());
        key.append(reinterpret_cast<const char*>(&size), sizeof(size));
        key.append(value);
      } else if (arrow::is_large_binary_like(type.id())) {
        std::string_view value =
            static_cast<const arrow::LargeBinaryArray&>(array).GetView(row);
        uint64_t size = value.size();
        key.append(reinterpret_cast<const char*>(&size), sizeof(size));
        key.append(value);
      } else {
        const int width = type.byte_width();
        const uint8_t* values = data.GetValues<uint8_t>(1, 0);
        key.append(reinterpret_cast<const char*>(values + (data.offset + row) * width),
                   static_cast<size_t>(width));
      }
    }
  }
  return keys;
}

}  // namespace jetflow
