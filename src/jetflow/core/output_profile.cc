#include "jetflow/core/output_profile.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/extension/uuid.h>
#include <arrow/extension_type.h>
#include <arrow/util/bitmap_ops.h>
#include <arrow/util/checked_cast.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"

namespace jetflow {

namespace {

// Neither Parquet's writer nor Spark reads Arrow's month_day_nano intervals (PostgreSQL
// `interval`): both profiles write them as this struct, which keeps every value exactly.
std::shared_ptr<arrow::DataType> IntervalStructType() {
  static const auto type =
      arrow::struct_({arrow::field("months", arrow::int32(), false),
                      arrow::field("days", arrow::int32(), false),
                      arrow::field("nanoseconds", arrow::int64(), false)});
  return type;
}

using arrow::internal::checked_cast;

constexpr const char* kExtensionNameKey = "ARROW:extension:name";
constexpr const char* kExtensionMetadataKey = "ARROW:extension:metadata";
constexpr const char* kUuidExtension = "arrow.uuid";
constexpr const char* kBool8Extension = "arrow.bool8";

// Cast kernels live in libarrow_compute, which registers them on demand since Arrow 21.
// Calling Initialize() here keeps every entry point usable without a setup step.
arrow::Status EnsureComputeInitialized() {
  static const arrow::Status status = arrow::compute::Initialize();
  return status;
}

bool IsExtension(const arrow::DataType& type, const char* name) {
  return type.id() == arrow::Type::EXTENSION &&
         checked_cast<const arrow::ExtensionType&>(type).extension_name() == name;
}

// A UUID is either the canonical arrow.uuid extension type or, when the extension is not
// registered by whoever built the schema, fixed_size_binary(16) tagged with its metadata.
bool IsUuidField(const arrow::Field& field) {
  const arrow::DataType& type = *field.type();
  if (IsExtension(type, kUuidExtension)) return true;
  if (type.id() != arrow::Type::FIXED_SIZE_BINARY ||
      checked_cast<const arrow::FixedSizeBinaryType&>(type).byte_width() != 16) {
    return false;
  }
  const auto& metadata = field.metadata();
  if (metadata == nullptr) return false;
  auto name = metadata->Get(kExtensionNameKey);
  return name.ok() && *name == kUuidExtension;
}

std::shared_ptr<arrow::Field> WithoutExtensionMetadata(
    std::shared_ptr<arrow::Field> field) {
  const auto& metadata = field->metadata();
  if (metadata == nullptr) return field;
  auto copy = metadata->Copy();
  for (const char* key : {kExtensionNameKey, kExtensionMetadataKey}) {
    if (copy->Contains(key)) (void)copy->Delete(key);
  }
  return copy->size() == 0 ? field->RemoveMetadata() : field->WithMetadata(copy);
}

// ---------------------------------------------------------------------------------------
// Profile type mapping (docs/type-mapping.md gives the reasons).

bool IsBinaryLike(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
      return true;
    default:
      return false;
  }
}

class ProfileMapper {
 public:
  explicit ProfileMapper(OutputProfile profile) : profile_(profile) {}

  /// The field as written; on a type that cannot be written, records a problem and
  /// returns the field unchanged so that the caller can keep collecting problems.
  std::shared_ptr<arrow::Field> MapField(const std::shared_ptr<arrow::Field>& field,
                                         const std::string& path) {
    if (IsUuidField(*field)) {
      // Spark 4.0 fails on the Parquet UUID logical type; strings are read everywhere.
      if (profile_ == OutputProfile::kSpark) {
        return WithoutExtensionMetadata(field->WithType(arrow::utf8()));
      }
      // Arrow readers turn the tag into the extension type: write what they will read.
      if (field->type()->id() == arrow::Type::FIXED_SIZE_BINARY) {
        return WithoutExtensionMetadata(field->WithType(arrow::extension::uuid()));
      }
      return field;
    }
    std::shared_ptr<arrow::DataType> type = MapType(field, path);
    if (type == nullptr) return field;
    return type->Equals(*field->type()) ? field : field->WithType(type);
  }

  std::vector<std::string> problems;

 private:
  void Reject(const std::string& path, const arrow::DataType& type, const char* reason) {
    problems.push_back("column '" + path + "': type " + type.ToString() +
                       " cannot be written with the spark profile (" + reason +
                       "); cast it or use profile: lossless");
  }

  // Nested types are mapped child by child under both profiles.
  std::shared_ptr<arrow::DataType> MapType(const std::shared_ptr<arrow::Field>& field,
                                           const std::string& path) {
    const std::shared_ptr<arrow::DataType>& type = field->type();
    const bool spark = profile_ == OutputProfile::kSpark;
    switch (type->id()) {
      case arrow::Type::LIST:
      case arrow::Type::LARGE_LIST:
      case arrow::Type::LIST_VIEW:
      case arrow::Type::LARGE_LIST_VIEW: {
        auto value = MapField(type->field(0), path + "[]");
        if (!spark) return ReplaceChildren(type, {value});
        return arrow::list(value);
      }
      case arrow::Type::FIXED_SIZE_LIST: {
        const auto& list = checked_cast<const arrow::FixedSizeListType&>(*type);
        return arrow::fixed_size_list(MapField(list.value_field(), path + "[]"),
                                      list.list_size());
      }
      case arrow::Type::STRUCT: {
        arrow::FieldVector children;
        for (const auto& child : type->fields()) {
          children.push_back(MapField(child, path + "." + child->name()));
        }
        return arrow::struct_(children);
      }
      case arrow::Type::MAP: {
        const auto& map = checked_cast<const arrow::MapType&>(*type);
        auto key = MapField(map.key_field(), path + "{key}");
        auto item = MapField(map.item_field(), path + "{value}");
        auto entries = map.value_field()->WithType(arrow::struct_({key, item}));
        auto mapped = arrow::MapType::Make(entries, map.keys_sorted());
        if (!mapped.ok()) {
          problems.push_back("column '" + path + "': " + mapped.status().message());
          return nullptr;
        }
        return *mapped;
      }
      case arrow::Type::DICTIONARY: {
        // Dictionary encoding is a Parquet encoding; Arrow restores dictionary arrays of
        // strings and binaries only, so other value types are written decoded.
        const auto& dict = checked_cast<const arrow::DictionaryType&>(*type);
        auto value = MapField(arrow::field(field->name(), dict.value_type()), path);
        std::shared_ptr<arrow::DataType> value_type = value->type();
        if (!IsBinaryLike(*value_type)) return value_type;
        // Dictionaries come back with 32-bit offsets; a dictionary's values fit in them.
        if (value_type->id() == arrow::Type::LARGE_STRING) value_type = arrow::utf8();
        if (value_type->id() == arrow::Type::LARGE_BINARY) value_type = arrow::binary();
        return arrow::dictionary(dict.index_type(), value_type, dict.ordered());
      }
      case arrow::Type::EXTENSION: {
        if (!spark) return type;  // restored from ARROW:schema
        if (IsExtension(*type, kBool8Extension)) return arrow::boolean();
        // Other extensions are written as their storage type, mapped in turn.
        const auto& extension = checked_cast<const arrow::ExtensionType&>(*type);
        return MapType(arrow::field(field->name(), extension.storage_type()), path);
      }
      default:
        return spark ? SparkLeaf(type, path) : LosslessLeaf(type);
    }
  }

  // Parquet has no seconds unit and no date64: these are written with an exact wider
  // unit, which readers then report.
  static std::shared_ptr<arrow::DataType> LosslessLeaf(
      const std::shared_ptr<arrow::DataType>& type) {
    switch (type->id()) {
      case arrow::Type::TIME32:
        if (checked_cast<const arrow::Time32Type&>(*type).unit() ==
            arrow::TimeUnit::SECOND) {
          return arrow::time32(arrow::TimeUnit::MILLI);
        }
        return type;
      case arrow::Type::TIMESTAMP: {
        const auto& ts = checked_cast<const arrow::TimestampType&>(*type);
        if (ts.unit() != arrow::TimeUnit::SECOND) return type;
        return arrow::timestamp(arrow::TimeUnit::MILLI, ts.timezone());
      }
      case arrow::Type::DATE64:
        return arrow::date32();
      case arrow::Type::INTERVAL_MONTH_DAY_NANO:
        return IntervalStructType();
      default:
        return type;
    }
  }

  std::shared_ptr<arrow::DataType> SparkLeaf(const std::shared_ptr<arrow::DataType>& type,
                                             const std::string& path) {
    switch (type->id()) {
      case arrow::Type::BOOL:
      case arrow::Type::INT8:
      case arrow::Type::INT16:
      case arrow::Type::INT32:
      case arrow::Type::INT64:
      case arrow::Type::FLOAT:
      case arrow::Type::DOUBLE:
      case arrow::Type::STRING:
      case arrow::Type::BINARY:
      case arrow::Type::FIXED_SIZE_BINARY:
      case arrow::Type::DATE32:
      case arrow::Type::DECIMAL128:
        return type;
      // Unsigned Parquet types read as wider signed types (Spark >= 3.2); UINT64 has no
      // wider integer, decimal(20,0) holds every value exactly.
      case arrow::Type::UINT8:
        return arrow::int16();
      case arrow::Type::UINT16:
        return arrow::int32();
      case arrow::Type::UINT32:
        return arrow::int64();
      case arrow::Type::UINT64:
        return arrow::decimal128(20, 0);
      case arrow::Type::HALF_FLOAT:
        return arrow::float32();
      case arrow::Type::LARGE_STRING:
      case arrow::Type::STRING_VIEW:
        return arrow::utf8();
      case arrow::Type::LARGE_BINARY:
      case arrow::Type::BINARY_VIEW:
        return arrow::binary();
      case arrow::Type::DATE64:
        return arrow::date32();
      case arrow::Type::TIMESTAMP: {
        // NANOS fails in Spark; the time zone decides TIMESTAMP vs TIMESTAMP_NTZ, keep
        // it.
        const auto& ts = checked_cast<const arrow::TimestampType&>(*type);
        return arrow::timestamp(arrow::TimeUnit::MICRO, ts.timezone());
      }
      case arrow::Type::TIME32:
      case arrow::Type::TIME64:
      case arrow::Type::NA:
        // Spark < 4.1 fails on TIME and on the NULL logical type.
        return arrow::utf8();
      case arrow::Type::DECIMAL32:
      case arrow::Type::DECIMAL64:
      case arrow::Type::DECIMAL256: {
        const auto& decimal = checked_cast<const arrow::DecimalType&>(*type);
        if (decimal.precision() > 38) {
          Reject(path, *type, "Spark reads decimals up to precision 38");
          return nullptr;
        }
        return arrow::decimal128(decimal.precision(), decimal.scale());
      }
      case arrow::Type::INTERVAL_MONTH_DAY_NANO:
        return IntervalStructType();
      case arrow::Type::DURATION:
      case arrow::Type::INTERVAL_MONTHS:
      case arrow::Type::INTERVAL_DAY_TIME:
        Reject(path, *type, "Spark cannot read it");
        return nullptr;
      default:
        Reject(path, *type, "neither Spark nor the Parquet writer supports it");
        return nullptr;
    }
  }

  // `type` (a list-like type) with its value field replaced.
  static std::shared_ptr<arrow::DataType> ReplaceChildren(
      const std::shared_ptr<arrow::DataType>& type, const arrow::FieldVector& children) {
    if (type->field(0) == children[0]) return type;
    switch (type->id()) {
      case arrow::Type::LARGE_LIST:
        return arrow::large_list(children[0]);
      case arrow::Type::LIST_VIEW:
        return arrow::list_view(children[0]);
      case arrow::Type::LARGE_LIST_VIEW:
        return arrow::large_list_view(children[0]);
      default:
        return arrow::list(children[0]);
    }
  }

  OutputProfile profile_;
};

std::string Lower(std::string_view text) {
  std::string out;
  for (char c : text)
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

// Duplicate names break selection by name; Spark also matches names case-insensitively.
void CheckColumnNames(const arrow::Schema& schema, OutputProfile profile,
                      std::vector<std::string>* problems) {
  std::map<std::string, std::string> seen;  // key -> first name
  for (const auto& field : schema.fields()) {
    std::string key =
        profile == OutputProfile::kSpark ? Lower(field->name()) : field->name();
    auto [it, inserted] = seen.emplace(key, field->name());
    if (inserted) continue;
    if (it->second == field->name()) {
      problems->push_back("column '" + field->name() + "' appears more than once");
    } else {
      problems->push_back("columns '" + it->second + "' and '" + field->name() +
                          "' differ only in case, and Spark matches column names "
                          "case-insensitively; rename one of them");
    }
  }
}

arrow::Status ProblemsToStatus(const std::vector<std::string>& problems) {
  if (problems.empty()) return arrow::Status::OK();
  std::string text;
  for (const auto& problem : problems) text += (text.empty() ? "" : "\n") + problem;
  return arrow::Status::Invalid(text);
}

// ---------------------------------------------------------------------------------------
// Type names in declared schemas.

class TypeNameParser {
 public:
  explicit TypeNameParser(std::string_view text) : text_(text) {}

  arrow::Result<std::shared_ptr<arrow::DataType>> ParseAll() {
    ARROW_ASSIGN_OR_RAISE(auto type, ParseType());
    SkipSpaces();
    if (pos_ != text_.size())
      return Error("unexpected '" + std::string(text_.substr(pos_)) + "'");
    return type;
  }

 private:
  arrow::Result<std::shared_ptr<arrow::DataType>> ParseType() {
    SkipSpaces();
    std::string name = Lower(Identifier());
    static const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>
        kSimple = {{"int8", arrow::int8()},       {"int16", arrow::int16()},
                   {"int32", arrow::int32()},     {"int64", arrow::int64()},
                   {"uint8", arrow::uint8()},     {"uint16", arrow::uint16()},
                   {"uint32", arrow::uint32()},   {"uint64", arrow::uint64()},
                   {"float32", arrow::float32()}, {"float", arrow::float32()},
                   {"float64", arrow::float64()}, {"double", arrow::float64()},
                   {"bool", arrow::boolean()},    {"boolean", arrow::boolean()},
                   {"string", arrow::utf8()},     {"utf8", arrow::utf8()},
                   {"binary", arrow::binary()},   {"date", arrow::date32()},
                   {"date32", arrow::date32()}};
    for (const auto& [simple, type] : kSimple) {
      if (name == simple) return type;
    }
    if (name == "timestamp") return ParseTimestamp();
    if (name == "decimal") return ParseDecimal();
    if (name == "list") {
      ARROW_RETURN_NOT_OK(Expect('<', "list<T>"));
      ARROW_ASSIGN_OR_RAISE(auto value, ParseType());
      ARROW_RETURN_NOT_OK(Expect('>', "list<T>"));
      return arrow::list(value);
    }
    std::vector<std::string> known = {"timestamp", "decimal", "list"};
    for (const auto& entry : kSimple) known.push_back(entry.first);
    std::string hint;
    if (auto match = ClosestMatch(name, known))
      hint = " (did you mean '" + *match + "'?)";
    std::string message =
        (name.empty() ? "missing type name" : "unknown type '" + name + "'") + hint +
        "; expected int8..int64, uint8..uint64, float32, float64, bool, "
        "string, binary, date, timestamp[us], timestamp[us, UTC], "
        "decimal(p,s) or list<T>";
    // The whole text is the unknown name: no need to quote it twice.
    if (!name.empty() && Lower(Trim(text_)) == name)
      return arrow::Status::Invalid(message);
    return Error(message);
  }

  arrow::Result<std::shared_ptr<arrow::DataType>> ParseTimestamp() {
    constexpr const char* kForm = "timestamp[unit] or timestamp[unit, time zone]";
    ARROW_RETURN_NOT_OK(Expect('[', kForm));
    SkipSpaces();
    std::string unit_name = Lower(Identifier());
    arrow::TimeUnit::type unit;
    if (unit_name == "s") {
      unit = arrow::TimeUnit::SECOND;
    } else if (unit_name == "ms") {
      unit = arrow::TimeUnit::MILLI;
    } else if (unit_name == "us") {
      unit = arrow::TimeUnit::MICRO;
    } else if (unit_name == "ns") {
      unit = arrow::TimeUnit::NANO;
    } else {
      return Error("timestamp unit must be s, ms, us or ns, got '" + unit_name + "'");
    }
    SkipSpaces();
    std::string timezone;
    if (pos_ < text_.size() && text_[pos_] == ',') {
      ++pos_;
      size_t end = text_.find(']', pos_);
      if (end == std::string_view::npos)
        return Error("missing ']' in " + std::string(kForm));
      timezone = Trim(text_.substr(pos_, end - pos_));
      pos_ = end;
      if (timezone.empty()) return Error("empty time zone in " + std::string(kForm));
      ARROW_RETURN_NOT_OK(CheckTimezone(timezone));
    }
    ARROW_RETURN_NOT_OK(Expect(']', kForm));
    return arrow::timestamp(unit, timezone);
  }

  arrow::Result<std::shared_ptr<arrow::DataType>> ParseDecimal() {
    constexpr const char* kForm = "decimal(precision, scale)";
    ARROW_RETURN_NOT_OK(Expect('(', kForm));
    ARROW_ASSIGN_OR_RAISE(int precision, Integer(kForm));
    ARROW_RETURN_NOT_OK(Expect(',', kForm));
    ARROW_ASSIGN_OR_RAISE(int scale, Integer(kForm));
    ARROW_RETURN_NOT_OK(Expect(')', kForm));
    if (precision < 1 || precision > 76) {
      return Error("decimal precision must be between 1 and 76, got " +
                   std::to_string(precision));
    }
    if (scale < 0 || scale > precision) {
      return Error("decimal scale must be between 0 and the precision, got " +
                   std::to_string(scale));
    }
    if (precision <= 38) return arrow::decimal128(precision, scale);
    return arrow::decimal256(precision, scale);
  }

  // Arrow resolves zone names lazily; converting one timestamp makes a typo fail here.
  arrow::Status CheckTimezone(const std::string& timezone) {
    ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
    auto type = arrow::timestamp(arrow::TimeUnit::SECOND, timezone);
    ARROW_ASSIGN_OR_RAISE(auto scalar, arrow::MakeScalar(type, int64_t{0}));
    ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*scalar, 1));
    auto formatted = arrow::compute::Cast(*array, arrow::utf8());
    if (!formatted.ok()) return Error("unknown time zone '" + timezone + "'");
    return arrow::Status::OK();
  }

  std::string Identifier() {
    size_t start = pos_;
    while (
        pos_ < text_.size() &&
        (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  arrow::Result<int> Integer(const char* form) {
    SkipSpaces();
    size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])) &&
           pos_ - start < 4) {
      ++pos_;
    }
    if (pos_ == start) return Error("expected a number in " + std::string(form));
    return std::stoi(std::string(text_.substr(start, pos_ - start)));
  }

  arrow::Status Expect(char c, const std::string& form) {
    SkipSpaces();
    if (pos_ >= text_.size() || text_[pos_] != c) {
      return Error(std::string("expected '") + c + "' in " + form);
    }
    ++pos_;
    return arrow::Status::OK();
  }

  void SkipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }

  static std::string Trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
      s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
      s.remove_suffix(1);
    return std::string(s);
  }

  arrow::Status Error(const std::string& message) const {
    return arrow::Status::Invalid("invalid type '", text_, "': ", message);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------
// Batch conversion.

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
    if (IsExtension(*to, kUuidExtension) &&
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
      if (IsExtension(*array->type(), kBool8Extension) && to->id() == arrow::Type::BOOL) {
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

arrow::Result<OutputProfile> ParseOutputProfile(std::string_view name) {
  if (name == "spark") return OutputProfile::kSpark;
  if (name == "lossless") return OutputProfile::kLossless;
  return arrow::Status::Invalid("unknown output profile '", name,
                                "'; expected spark or lossless");
}

std::string_view ToString(OutputProfile profile) {
  return profile == OutputProfile::kSpark ? "spark" : "lossless";
}

arrow::Result<std::shared_ptr<arrow::Schema>> ApplyOutputProfile(
    const std::shared_ptr<arrow::Schema>& input, OutputProfile profile) {
  std::vector<std::string> problems;
  CheckColumnNames(*input, profile, &problems);
  ProfileMapper mapper(profile);
  arrow::FieldVector fields;
  bool changed = false;
  for (const auto& field : input->fields()) {
    fields.push_back(mapper.MapField(field, field->name()));
    changed = changed || fields.back() != field;
  }
  problems.insert(problems.end(), mapper.problems.begin(), mapper.problems.end());
  ARROW_RETURN_NOT_OK(ProblemsToStatus(problems));
  if (!changed) return input;
  return arrow::schema(std::move(fields), input->metadata());
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view text) {
  return TypeNameParser(text).ParseAll();
}

std::string SchemaFingerprint(const arrow::Schema& schema) {
  // Length-prefixed names keep the text unambiguous whatever characters names contain.
  std::string canonical;
  for (const auto& field : schema.fields()) {
    canonical += std::to_string(field->name().size()) + ":" + field->name() + " " +
                 field->type()->ToString(/*show_metadata=*/false) +
                 (field->nullable() ? " null\n" : " not null\n");
  }
  XXH128_hash_t hash = XXH3_128bits(canonical.data(), canonical.size());
  XXH128_canonical_t bytes;
  XXH128_canonicalFromHash(&bytes, hash);
  std::string out = "xxh3-128:";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char byte : bytes.digest) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

bool CanConform(const arrow::Field& from, const arrow::DataType& to) {
  if (from.type()->Equals(to)) return true;
  if (IsUuidField(from)) {
    return IsStringType(to) || IsExtension(to, kUuidExtension) ||
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
