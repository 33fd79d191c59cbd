#include "jetflow/sinks/parquet/output_profile.h"

#include <arrow/api.h>
#include <arrow/extension/uuid.h>
#include <arrow/extension_type.h>
#include <arrow/util/checked_cast.h>

#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/core/conform_batch.h"

namespace jetflow {

namespace {

using arrow::internal::checked_cast;

constexpr const char* kExtensionNameKey = "ARROW:extension:name";
constexpr const char* kExtensionMetadataKey = "ARROW:extension:metadata";
constexpr const char* kBool8Extension = "arrow.bool8";

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

// Maps types field by field as docs/type-mapping.md says (and gives the reasons).
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
        if (IsExtensionType(*type, kBool8Extension)) return arrow::boolean();
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

}  // namespace jetflow
