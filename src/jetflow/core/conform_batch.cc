#include "jetflow/core/conform_batch.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/extension_type.h>
#include <arrow/util/bitmap_ops.h>
#include <arrow/util/checked_cast.h>

#include <array>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace jetflow {

namespace {

using arrow::internal::checked_cast;

constexpr const char* kExtensionNameKey = "ARROW:extension:name";
constexpr const char* kUuidExtension = "arrow.uuid";
constexpr const char* kBool8Extension = "arrow.bool8";

// Cast kernels live in libarrow_compute, which registers them on demand since Arrow 21.
// Calling Initialize() here keeps every entry point usable without a setup step.
arrow::Status EnsureComputeInitialized() {
  static const arrow::Status status = arrow::compute::Initialize();
  return status;
}

bool IsStringType(const arrow::DataType& type) {
  return type.id() == arrow::Type::STRING || type.id() == arrow::Type::LARGE_STRING;
}

// True if converting values of `field` needs more than arrow::compute::Cast, i.e. it
// holds a UUID somewhere (Cast would copy the 16 raw bytes into a string) or an interval.
bool NeedsCustomConversion(const arrow::Field& field) {
  if (IsUuidField(field)) return true;
  const arrow::DataType& type = *field.type();
  if (type.id() == arrow::Type::INTERVAL_MONTH_DAY_NANO) return true;
  if (type.id() == arrow::Type::DICTIONARY) {
    const auto& dict = checked_cast<const arrow::DictionaryType&>(type);
    return NeedsCustomConversion(arrow::Field("", dict.value_type()));
  }
  for (const auto& child : type.fields()) {
    if (NeedsCustomConversion(*child)) return true;
  }
  return false;
}

class ArrayConverter {
 public:
  explicit ArrayConverter(arrow::MemoryPool* pool) : pool_(pool), context_(pool) {}

  /// `array` (of type from.type()) as `to`.
  arrow::Result<std::shared_ptr<arrow::Array>> Convert(
      const std::shared_ptr<arrow::Array>& array, const arrow::Field& from,
      const std::shared_ptr<arrow::DataType>& to) {
    if (array->type()->Equals(*to)) return array;
    if (IsExtensionType(*to, kUuidExtension) &&
        array->type_id() == arrow::Type::FIXED_SIZE_BINARY) {
      return arrow::ExtensionType::WrapArray(to, array);  // a tagged UUID, same bytes
    }
    if (IsUuidField(from) && IsStringType(*to)) {
      ARROW_ASSIGN_OR_RAISE(auto text, FormatUuids(*array));
      return Cast(text, to);
    }
    if (array->type_id() == arrow::Type::INTERVAL_MONTH_DAY_NANO &&
        to->Equals(*IntervalStructType())) {
      return IntervalsAsStructs(*array);
    }
    if (NeedsCustomConversion(from)) {
      switch (array->type_id()) {
        case arrow::Type::LIST:
          if (to->id() == arrow::Type::LIST)
            return ConvertList<arrow::ListArray>(array, to);
          break;
        case arrow::Type::LARGE_LIST:
          if (to->id() == arrow::Type::LIST)
            return ConvertList<arrow::LargeListArray>(array, to);
          break;
        case arrow::Type::MAP:
          if (to->id() == arrow::Type::MAP)
            return ConvertList<arrow::MapArray>(array, to);
          break;
        case arrow::Type::FIXED_SIZE_LIST:
          if (to->id() == arrow::Type::FIXED_SIZE_LIST)
            return ConvertFixedSizeList(array, to);
          break;
        case arrow::Type::STRUCT:
          if (to->id() == arrow::Type::STRUCT &&
              to->num_fields() == array->type()->num_fields()) {
            return ConvertStruct(array, to);
          }
          break;
        case arrow::Type::DICTIONARY:
          if (to->id() == arrow::Type::DICTIONARY) return ConvertDictionary(array, to);
          break;
        default:
          break;
      }
      return arrow::Status::NotImplemented("converting ", array->type()->ToString(),
                                           " to ", to->ToString());
    }
    if (array->type_id() == arrow::Type::EXTENSION) {
      // Cast kernels are not registered for most extension types: convert the storage.
      const auto& extension = checked_cast<const arrow::ExtensionArray&>(*array);
      const auto& storage = extension.storage();
      if (IsExtensionType(*array->type(), kBool8Extension) &&
          to->id() == arrow::Type::BOOL) {
        return Cast(storage, to);  // int8 -> bool: nonzero is true, as bool8 defines
      }
      return Convert(storage, arrow::Field(from.name(), storage->type()), to);
    }
    return Cast(array, to);
  }

 private:
  arrow::Result<std::shared_ptr<arrow::Array>> Cast(
      const std::shared_ptr<arrow::Array>& array,
      const std::shared_ptr<arrow::DataType>& to) {
    if (array->type()->Equals(*to)) return array;
    ARROW_ASSIGN_OR_RAISE(
        arrow::Datum out,
        arrow::compute::Cast(array, to, arrow::compute::CastOptions::Safe(), &context_));
    return out.make_array();
  }

  // month_day_nano intervals as struct<months, days, nanoseconds>: the same three
  // numbers, in a shape every Parquet reader understands.
  arrow::Result<std::shared_ptr<arrow::Array>> IntervalsAsStructs(
      const arrow::Array& array) {
    const auto& intervals = checked_cast<const arrow::MonthDayNanoIntervalArray&>(array);
    arrow::Int32Builder months(pool_);
    arrow::Int32Builder days(pool_);
    arrow::Int64Builder nanoseconds(pool_);
    ARROW_RETURN_NOT_OK(months.Resize(array.length()));
    ARROW_RETURN_NOT_OK(days.Resize(array.length()));
    ARROW_RETURN_NOT_OK(nanoseconds.Resize(array.length()));
    for (int64_t i = 0; i < array.length(); ++i) {
      const auto value = intervals.GetValue(i);  // zeros under a null
      months.UnsafeAppend(value.months);
      days.UnsafeAppend(value.days);
      nanoseconds.UnsafeAppend(value.nanoseconds);
    }
    std::shared_ptr<arrow::Array> children[3];
    ARROW_RETURN_NOT_OK(months.Finish(&children[0]));
    ARROW_RETURN_NOT_OK(days.Finish(&children[1]));
    ARROW_RETURN_NOT_OK(nanoseconds.Finish(&children[2]));
    std::shared_ptr<arrow::Buffer> validity;
    if (array.null_count() > 0) {
      ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(array.length(), pool_));
      arrow::internal::CopyBitmap(array.null_bitmap_data(), array.offset(),
                                  array.length(), validity->mutable_data(), 0);
    }
    return std::make_shared<arrow::StructArray>(
        IntervalStructType(), array.length(), arrow::ArrayVector(children, children + 3),
        validity, array.null_count());
  }

  // Canonical 8-4-4-4-12 lowercase hex, as PostgreSQL and Java print UUIDs.
  arrow::Result<std::shared_ptr<arrow::Array>> FormatUuids(const arrow::Array& array) {
    const arrow::Array& storage =
        array.type_id() == arrow::Type::EXTENSION
            ? *checked_cast<const arrow::ExtensionArray&>(array).storage()
            : array;
    const auto& bytes = checked_cast<const arrow::FixedSizeBinaryArray&>(storage);
    arrow::StringBuilder builder(pool_);
    ARROW_RETURN_NOT_OK(builder.Reserve(bytes.length()));
    ARROW_RETURN_NOT_OK(builder.ReserveData(36 * (bytes.length() - bytes.null_count())));
    static constexpr char kHex[] = "0123456789abcdef";
    std::array<char, 36> text;
    for (int64_t i = 0; i < bytes.length(); ++i) {
      if (bytes.IsNull(i)) {
        builder.UnsafeAppendNull();
        continue;
      }
      const uint8_t* value = bytes.GetValue(i);
      size_t out = 0;
      for (int b = 0; b < 16; ++b) {
        if (b == 4 || b == 6 || b == 8 || b == 10) text[out++] = '-';
        text[out++] = kHex[value[b] >> 4];
        text[out++] = kHex[value[b] & 0xf];
      }
      builder.UnsafeAppend(std::string_view(text.data(), text.size()));
    }
    return builder.Finish();
  }

  // The validity bitmap of `array` realigned to offset 0, or nullptr without nulls.
  arrow::Result<std::shared_ptr<arrow::Buffer>> Validity(const arrow::Array& array) {
    if (array.null_bitmap_data() == nullptr || array.null_count() == 0) return nullptr;
    if (array.offset() == 0) return array.null_bitmap();
    return arrow::internal::CopyBitmap(pool_, array.null_bitmap_data(), array.offset(),
                                       array.length());
  }

  // ListArray, LargeListArray or MapArray -> list or map with int32 offsets, converting
  // only the values the (possibly sliced) array refers to.
  template <typename ListArrayType>
  arrow::Result<std::shared_ptr<arrow::Array>> ConvertList(
      const std::shared_ptr<arrow::Array>& array,
      const std::shared_ptr<arrow::DataType>& to) {
    const auto& list = checked_cast<const ListArrayType&>(*array);
    const int64_t length = list.length();
    const int64_t start = list.value_offset(0);
    const int64_t end = list.value_offset(length);
    const auto& from_value = *array->type()->field(0);
    std::shared_ptr<arrow::Array> values = list.values()->Slice(start, end - start);
    ARROW_ASSIGN_OR_RAISE(auto converted,
                          Convert(values, from_value, to->field(0)->type()));
    if (end - start > std::numeric_limits<int32_t>::max()) {
      return arrow::Status::CapacityError("list values exceed 2^31 elements");
    }
    ARROW_ASSIGN_OR_RAISE(auto offsets,
                          arrow::AllocateBuffer((length + 1) * sizeof(int32_t), pool_));
    auto* out = reinterpret_cast<int32_t*>(offsets->mutable_data());
    for (int64_t i = 0; i <= length; ++i) {
      out[i] = static_cast<int32_t>(list.value_offset(i) - start);
    }
    ARROW_ASSIGN_OR_RAISE(auto validity, Validity(list));
    auto data = arrow::ArrayData::Make(to, length, {validity, std::move(offsets)},
                                       {converted->data()}, list.null_count());
    return arrow::MakeArray(data);
  }

  arrow::Result<std::shared_ptr<arrow::Array>> ConvertFixedSizeList(
      const std::shared_ptr<arrow::Array>& array,
      const std::shared_ptr<arrow::DataType>& to) {
    const auto& list = checked_cast<const arrow::FixedSizeListArray&>(*array);
    const int64_t size = list.list_type()->list_size();
    auto values = list.values()->Slice(list.value_offset(0), list.length() * size);
    ARROW_ASSIGN_OR_RAISE(
        auto converted, Convert(values, *array->type()->field(0), to->field(0)->type()));
    ARROW_ASSIGN_OR_RAISE(auto validity, Validity(list));
    auto data = arrow::ArrayData::Make(to, list.length(), {validity}, {converted->data()},
                                       list.null_count());
    return arrow::MakeArray(data);
  }

  arrow::Result<std::shared_ptr<arrow::Array>> ConvertStruct(
      const std::shared_ptr<arrow::Array>& array,
      const std::shared_ptr<arrow::DataType>& to) {
    const auto& source = checked_cast<const arrow::StructArray&>(*array);
    std::vector<std::shared_ptr<arrow::ArrayData>> children;
    for (int i = 0; i < source.num_fields(); ++i) {
      // field(i) is already sliced to the struct's offset and length.
      ARROW_ASSIGN_OR_RAISE(auto child, Convert(source.field(i), *array->type()->field(i),
                                                to->field(i)->type()));
      children.push_back(child->data());
    }
    ARROW_ASSIGN_OR_RAISE(auto validity, Validity(source));
    auto data = arrow::ArrayData::Make(to, source.length(), {validity},
                                       std::move(children), source.null_count());
    return arrow::MakeArray(data);
  }

  arrow::Result<std::shared_ptr<arrow::Array>> ConvertDictionary(
      const std::shared_ptr<arrow::Array>& array,
      const std::shared_ptr<arrow::DataType>& to) {
    const auto& source = checked_cast<const arrow::DictionaryArray&>(*array);
    const auto& from_type = checked_cast<const arrow::DictionaryType&>(*array->type());
    const auto& to_type = checked_cast<const arrow::DictionaryType&>(*to);
    ARROW_ASSIGN_OR_RAISE(
        auto dictionary,
        Convert(source.dictionary(), arrow::Field("", from_type.value_type()),
                to_type.value_type()));
    ARROW_ASSIGN_OR_RAISE(auto indices, Cast(source.indices(), to_type.index_type()));
    return arrow::DictionaryArray::FromArrays(to, indices, dictionary);
  }

  arrow::MemoryPool* pool_;
  arrow::compute::ExecContext context_;
};

std::string ValueText(const arrow::Array& array, int64_t row) {
  auto scalar = array.GetScalar(row);
  if (!scalar.ok()) return "?";
  std::string text = (*scalar)->ToString();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

// Converts one column; on a failure that depends on values, bisects the column to name
// the first row that fails on its own (O(n) extra work, only on the error path).
arrow::Result<std::shared_ptr<arrow::Array>> ConvertColumn(
    ArrayConverter* converter, const std::shared_ptr<arrow::Array>& array,
    const arrow::Field& from, const arrow::Field& to, const ConformOptions& options) {
  auto converted = converter->Convert(array, from, to.type());
  if (converted.ok()) return converted;
  const arrow::Status& failure = converted.status();
  const std::string what = "column '" + to.name() + "': cannot convert " +
                           from.type()->ToString() + " to " + to.type()->ToString();
  if (failure.IsNotImplemented() || failure.IsTypeError()) {
    return arrow::Status::Invalid(what, ": ", failure.message());
  }
  auto fails = [&](int64_t offset, int64_t length) {
    return !converter->Convert(array->Slice(offset, length), from, to.type()).ok();
  };
  int64_t begin = 0;
  int64_t length = array->length();
  while (length > 1) {
    int64_t half = length / 2;
    if (fails(begin, half)) {
      length = half;
    } else {
      begin += half;
      length -= half;
    }
  }
  if (length == 1 && fails(begin, 1)) {
    return arrow::Status::Invalid(what, " without losing data at row ",
                                  options.first_row + begin, " (value ",
                                  ValueText(*array, begin), "): ", failure.message());
  }
  return arrow::Status::Invalid(what, ": ", failure.message());
}

arrow::Status CheckNoNulls(const arrow::Array& array, const arrow::Field& field,
                           const ConformOptions& options) {
  if (field.nullable() || array.null_count() == 0) return arrow::Status::OK();
  int64_t row = 0;
  while (row < array.length() && !array.IsNull(row)) ++row;
  return arrow::Status::Invalid("column '", field.name(), "' is not nullable but row ",
                                options.first_row + row, " is null");
}

}  // namespace

std::shared_ptr<arrow::DataType> IntervalStructType() {
  static const auto type =
      arrow::struct_({arrow::field("months", arrow::int32(), false),
                      arrow::field("days", arrow::int32(), false),
                      arrow::field("nanoseconds", arrow::int64(), false)});
  return type;
}

bool IsExtensionType(const arrow::DataType& type, std::string_view extension_name) {
  return type.id() == arrow::Type::EXTENSION &&
         checked_cast<const arrow::ExtensionType&>(type).extension_name() ==
             extension_name;
}

bool IsUuidField(const arrow::Field& field) {
  const arrow::DataType& type = *field.type();
  if (IsExtensionType(type, kUuidExtension)) return true;
  if (type.id() != arrow::Type::FIXED_SIZE_BINARY ||
      checked_cast<const arrow::FixedSizeBinaryType&>(type).byte_width() != 16) {
    return false;
  }
  const auto& metadata = field.metadata();
  if (metadata == nullptr) return false;
  auto name = metadata->Get(kExtensionNameKey);
  return name.ok() && *name == kUuidExtension;
}

bool CanConform(const arrow::Field& from, const arrow::DataType& to) {
  if (from.type()->Equals(to)) return true;
  if (IsUuidField(from)) {
    return IsStringType(to) || IsExtensionType(to, kUuidExtension) ||
           to.Equals(*arrow::fixed_size_binary(16));
  }
  if (!EnsureComputeInitialized().ok()) return false;
  const arrow::DataType* source = from.type().get();
  if (source->id() == arrow::Type::EXTENSION) {
    source = checked_cast<const arrow::ExtensionType&>(*source).storage_type().get();
  }
  return arrow::compute::CanCast(*source, to);
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConformBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Schema>& output, const ConformOptions& options) {
  const arrow::Schema& input = *batch->schema();
  if (input.Equals(*output, /*check_metadata=*/false)) {
    for (int i = 0; i < output->num_fields(); ++i) {
      ARROW_RETURN_NOT_OK(CheckNoNulls(*batch->column(i), *output->field(i), options));
    }
    if (batch->schema() == output) return batch;
    return arrow::RecordBatch::Make(output, batch->num_rows(), batch->columns());
  }
  ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
  ArrayConverter converter(options.pool);
  arrow::ArrayVector columns;
  columns.reserve(output->num_fields());
  for (const auto& field : output->fields()) {
    int index = input.GetFieldIndex(field->name());
    if (index < 0) {
      return arrow::Status::Invalid("column '", field->name(),
                                    "' of the output schema is missing from the batch");
    }
    ARROW_ASSIGN_OR_RAISE(
        auto column, ConvertColumn(&converter, batch->column(index), *input.field(index),
                                   *field, options));
    ARROW_RETURN_NOT_OK(CheckNoNulls(*column, *field, options));
    columns.push_back(std::move(column));
  }
  return arrow::RecordBatch::Make(output, batch->num_rows(), std::move(columns));
}

}  // namespace jetflow
