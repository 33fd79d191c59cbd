#include "jetflow/core/type_name.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/extension/bool8.h>
#include <arrow/extension/json.h>
#include <arrow/extension/uuid.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"

namespace jetflow {

namespace {

using TypePtr = std::shared_ptr<arrow::DataType>;

// Shown after an unknown type name; docs/types.md has the full grammar.
constexpr const char* kAcceptedForms =
    "expected bool, int8..int64, uint8..uint64, float32, float64, string, "
    "large_string, binary, date32, timestamp (= timestamp[us, UTC]), "
    "timestamp[s|ms|us|ns] (no time zone), timestamp[unit, zone], decimal(p, s), "
    "list<T>, struct<name: T, ...>, map<K, V>, or another type as Arrow prints it "
    "(docs/types.md)";

// Names that stand alone. Names that may or must take parameters are in kForms below.
const std::vector<std::pair<std::string, TypePtr>>& SimpleTypes() {
  static const auto* types = new std::vector<std::pair<std::string, TypePtr>>{
      {"null", arrow::null()},
      {"bool", arrow::boolean()},
      {"boolean", arrow::boolean()},
      {"int8", arrow::int8()},
      {"tinyint", arrow::int8()},
      {"int16", arrow::int16()},
      {"smallint", arrow::int16()},
      {"int32", arrow::int32()},
      {"int", arrow::int32()},
      {"integer", arrow::int32()},
      {"int64", arrow::int64()},
      {"bigint", arrow::int64()},
      {"long", arrow::int64()},
      {"uint8", arrow::uint8()},
      {"uint16", arrow::uint16()},
      {"uint32", arrow::uint32()},
      {"uint64", arrow::uint64()},
      {"float16", arrow::float16()},
      {"halffloat", arrow::float16()},
      {"float32", arrow::float32()},
      {"float", arrow::float32()},
      {"real", arrow::float32()},
      {"float64", arrow::float64()},
      {"double", arrow::float64()},
      {"string", arrow::utf8()},
      {"utf8", arrow::utf8()},
      {"text", arrow::utf8()},
      {"large_string", arrow::large_utf8()},
      {"large_utf8", arrow::large_utf8()},
      {"string_view", arrow::utf8_view()},
      {"binary", arrow::binary()},
      {"large_binary", arrow::large_binary()},
      {"binary_view", arrow::binary_view()},
      {"date", arrow::date32()},
      {"month_interval", arrow::month_interval()},
      {"day_time_interval", arrow::day_time_interval()},
      {"month_day_nano_interval", arrow::month_day_nano_interval()},
  };
  return *types;
}

std::string Lower(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// Arrow resolves zone names lazily, in compute kernels (registered on demand since
// Arrow 21): formatting one timestamp makes an unknown zone fail here, not mid-run.
bool IsKnownTimezone(const std::string& timezone) {
  static const arrow::Status initialized = arrow::compute::Initialize();
  if (!initialized.ok()) return false;
  auto type = arrow::timestamp(arrow::TimeUnit::SECOND, timezone);
  auto scalar = arrow::MakeScalar(type, int64_t{0});
  if (!scalar.ok()) return false;
  auto array = arrow::MakeArrayFromScalar(**scalar, 1);
  if (!array.ok()) return false;
  return arrow::compute::Cast(**array, arrow::utf8()).ok();
}

// A recursive-descent parser over one type name; see docs/types.md for the grammar.
class TypeNameParser {
 public:
  explicit TypeNameParser(std::string_view text) : text_(text) {}

  arrow::Result<TypePtr> ParseAll() {
    if (Trim(text_).empty()) {
      return arrow::Status::Invalid("missing type name; ", kAcceptedForms);
    }
    ARROW_ASSIGN_OR_RAISE(auto type, ParseType());
    SkipSpaces();
    if (pos_ != text_.size()) {
      return Error("unexpected '" + std::string(text_.substr(pos_)) + "' after " +
                   type->ToString());
    }
    return type;
  }

 private:
  using Form = arrow::Result<TypePtr> (TypeNameParser::*)(const std::string& keyword);

  // Names that take (or may take) parameters, and the function that reads them.
  static const std::vector<std::pair<std::string, Form>>& Forms() {
    static const auto* forms = new std::vector<std::pair<std::string, Form>>{
        {"timestamp", &TypeNameParser::Timestamp},
        {"timestamptz", &TypeNameParser::Timestamp},
        {"time32", &TypeNameParser::Time},
        {"time64", &TypeNameParser::Time},
        {"duration", &TypeNameParser::Duration},
        {"date32", &TypeNameParser::Date},
        {"date64", &TypeNameParser::Date},
        {"decimal", &TypeNameParser::Decimal},
        {"numeric", &TypeNameParser::Decimal},
        {"decimal32", &TypeNameParser::Decimal},
        {"decimal64", &TypeNameParser::Decimal},
        {"decimal128", &TypeNameParser::Decimal},
        {"decimal256", &TypeNameParser::Decimal},
        {"varchar", &TypeNameParser::Varchar},
        {"fixed_size_binary", &TypeNameParser::FixedSizeBinary},
        {"list", &TypeNameParser::List},
        {"large_list", &TypeNameParser::List},
        {"list_view", &TypeNameParser::List},
        {"large_list_view", &TypeNameParser::List},
        {"fixed_size_list", &TypeNameParser::FixedSizeList},
        {"struct", &TypeNameParser::Struct},
        {"map", &TypeNameParser::Map},
        {"dictionary", &TypeNameParser::Dictionary},
        {"extension", &TypeNameParser::Extension},
    };
    return *forms;
  }

  static constexpr int kMaxDepth = 64;

  arrow::Result<TypePtr> ParseType() {
    if (++depth_ > kMaxDepth) return Error("types nested too deeply");
    SkipSpaces();
    const size_t start = pos_;
    const std::string name = Lower(Identifier());
    arrow::Result<TypePtr> type = Lookup(name, start);
    --depth_;
    return type;
  }

  arrow::Result<TypePtr> Lookup(const std::string& name, size_t start) {
    for (const auto& [simple, type] : SimpleTypes()) {
      if (name == simple) return type;
    }
    for (const auto& [keyword, form] : Forms()) {
      if (name == keyword) return (this->*form)(keyword);
    }
    std::vector<std::string> known;
    for (const auto& entry : SimpleTypes()) known.push_back(entry.first);
    for (const auto& entry : Forms()) known.push_back(entry.first);
    std::string message;
    if (name.empty()) {
      message = pos_ < text_.size()
                    ? "expected a type name at '" + std::string(text_.substr(pos_)) + "'"
                    : "missing a type name at the end";
    } else {
      message = "unknown type '" + std::string(text_.substr(start, pos_ - start)) + "'";
      if (auto match = ClosestMatch(name, known)) {
        message += " (did you mean '" + *match + "'?)";
      }
    }
    message += std::string("; ") + kAcceptedForms;
    // The whole text is the unknown name: no need to quote it twice.
    if (!name.empty() && Lower(Trim(text_)) == name) {
      return arrow::Status::Invalid(message);
    }
    return Error(message);
  }

  // --- Timestamps, times, durations, dates -------------------------------------------

  // timestamp                    -> timestamp[us, UTC]
  // timestamp[unit[, [tz=]zone]] -> as written
  // timestamp(p)                 -> no time zone, p = 0, 3, 6, 9 digits of fraction
  // timestamptz[(p)]             -> UTC
  arrow::Result<TypePtr> Timestamp(const std::string& keyword) {
    const bool tz = keyword == "timestamptz";
    if (!tz && Accept('[')) {
      constexpr const char* kForm = "timestamp[unit] or timestamp[unit, zone]";
      ARROW_ASSIGN_OR_RAISE(auto unit, Unit(kForm));
      std::string timezone;
      if (Accept(',')) {
        ARROW_ASSIGN_OR_RAISE(timezone, Timezone(kForm));
      }
      ARROW_RETURN_NOT_OK(Expect(']', kForm));
      return arrow::timestamp(unit, timezone);
    }
    const std::string zone = tz ? "UTC" : "";
    if (!Accept('(')) return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
    const std::string form = keyword + "(p) with p = 0, 3, 6 or 9";
    ARROW_ASSIGN_OR_RAISE(int64_t digits, Integer(form));
    ARROW_RETURN_NOT_OK(Expect(')', form));
    switch (digits) {
      case 0:
        return arrow::timestamp(arrow::TimeUnit::SECOND, zone);
      case 3:
        return arrow::timestamp(arrow::TimeUnit::MILLI, zone);
      case 6:
        return arrow::timestamp(arrow::TimeUnit::MICRO, zone);
      case 9:
        return arrow::timestamp(arrow::TimeUnit::NANO, zone);
      default:
        return Error(keyword + " precision must be 0, 3, 6 or 9 (s, ms, us, ns), got " +
                     std::to_string(digits));
    }
  }

  // time32[s|ms], time64[us|ns]
  arrow::Result<TypePtr> Time(const std::string& keyword) {
    const bool is32 = keyword == "time32";
    const std::string form =
        is32 ? "time32[s] or time32[ms]" : "time64[us] or time64[ns]";
    ARROW_RETURN_NOT_OK(Expect('[', form));
    ARROW_ASSIGN_OR_RAISE(auto unit, Unit(form));
    ARROW_RETURN_NOT_OK(Expect(']', form));
    const bool fits =
        is32 ? (unit == arrow::TimeUnit::SECOND || unit == arrow::TimeUnit::MILLI)
             : (unit == arrow::TimeUnit::MICRO || unit == arrow::TimeUnit::NANO);
    if (!fits) return Error("expected " + form);
    return is32 ? arrow::time32(unit) : arrow::time64(unit);
  }

  arrow::Result<TypePtr> Duration(const std::string&) {
    constexpr const char* kForm = "duration[s|ms|us|ns]";
    ARROW_RETURN_NOT_OK(Expect('[', kForm));
    ARROW_ASSIGN_OR_RAISE(auto unit, Unit(kForm));
    ARROW_RETURN_NOT_OK(Expect(']', kForm));
    return arrow::duration(unit);
  }

  // date32 or date32[day]; date64 or date64[ms] (as Arrow prints them).
  arrow::Result<TypePtr> Date(const std::string& keyword) {
    const bool is32 = keyword == "date32";
    if (Accept('[')) {
      const std::string unit = is32 ? "day" : "ms";
      const std::string form = keyword + "[" + unit + "]";
      SkipSpaces();
      if (Lower(Identifier()) != unit) return Error("expected " + form);
      ARROW_RETURN_NOT_OK(Expect(']', form));
    }
    return is32 ? arrow::date32() : arrow::date64();
  }

  arrow::Result<arrow::TimeUnit::type> Unit(const std::string& form) {
    SkipSpaces();
    const std::string unit = Lower(Identifier());
    if (unit == "s") return arrow::TimeUnit::SECOND;
    if (unit == "ms") return arrow::TimeUnit::MILLI;
    if (unit == "us") return arrow::TimeUnit::MICRO;
    if (unit == "ns") return arrow::TimeUnit::NANO;
    return Error("time unit must be s, ms, us or ns, got '" + unit + "' in " + form);
  }

  // "UTC", "tz=UTC", "Europe/Paris", "+05:30": up to the closing ']'.
  arrow::Result<std::string> Timezone(const std::string& form) {
    const size_t end = text_.find(']', pos_);
    if (end == std::string_view::npos) return Error("missing ']' in " + form);
    std::string_view zone = Trim(text_.substr(pos_, end - pos_));
    pos_ = end;
    if (zone.size() >= 3 && Lower(zone.substr(0, 3)) == "tz=") {
      zone = Trim(zone.substr(3));
    }
    if (zone.empty()) return Error("empty time zone in " + form);
    std::string timezone(zone);
    if (Lower(timezone) == "utc") return std::string("UTC");
    if (!IsKnownTimezone(timezone)) {
      return Error("unknown time zone '" + timezone +
                   "' (expected an IANA name such as Europe/Paris, or an offset such as "
                   "+05:30)");
    }
    return timezone;
  }

  // --- Decimals and parameterised strings ----------------------------------------------

  // decimal(p[, s]) and numeric(p[, s]): decimal128 up to precision 38, else decimal256.
  // decimal32/64/128/256(p[, s]): that width.
  arrow::Result<TypePtr> Decimal(const std::string& keyword) {
    const bool any_width = keyword == "decimal" || keyword == "numeric";
    const std::string form = keyword + "(precision[, scale])";
    if (!Accept('(')) return Error(keyword + " needs a precision: " + form);
    ARROW_ASSIGN_OR_RAISE(int64_t precision, Integer(form));
    int64_t scale = 0;
    if (Accept(',')) {
      ARROW_ASSIGN_OR_RAISE(scale, Integer(form));
    }
    ARROW_RETURN_NOT_OK(Expect(')', form));
    int64_t max_precision = 76;
    arrow::Type::type id =
        precision <= 38 ? arrow::Type::DECIMAL128 : arrow::Type::DECIMAL256;
    if (keyword == "decimal32") {
      max_precision = arrow::Decimal32Type::kMaxPrecision;
      id = arrow::Type::DECIMAL32;
    } else if (keyword == "decimal64") {
      max_precision = arrow::Decimal64Type::kMaxPrecision;
      id = arrow::Type::DECIMAL64;
    } else if (keyword == "decimal128") {
      max_precision = arrow::Decimal128Type::kMaxPrecision;
      id = arrow::Type::DECIMAL128;
    } else if (keyword == "decimal256") {
      id = arrow::Type::DECIMAL256;
    }
    if (precision < 1 || precision > max_precision) {
      return Error(keyword + " precision must be between 1 and " +
                   std::to_string(max_precision) + ", got " + std::to_string(precision) +
                   (any_width ? "" : " (decimal(p, s) picks the width)"));
    }
    if (scale > precision) {
      return Error("decimal scale must be between 0 and the precision, got " +
                   std::to_string(scale));
    }
    const auto p = static_cast<int32_t>(precision);
    const auto s = static_cast<int32_t>(scale);
    switch (id) {
      case arrow::Type::DECIMAL32:
        return arrow::decimal32(p, s);
      case arrow::Type::DECIMAL64:
        return arrow::decimal64(p, s);
      case arrow::Type::DECIMAL128:
        return arrow::decimal128(p, s);
      default:
        return arrow::decimal256(p, s);
    }
  }

  // varchar or varchar(n): the SQL length is not enforced.
  arrow::Result<TypePtr> Varchar(const std::string&) {
    if (Accept('(')) {
      ARROW_RETURN_NOT_OK(Integer("varchar(n)").status());
      ARROW_RETURN_NOT_OK(Expect(')', "varchar(n)"));
    }
    return arrow::utf8();
  }

  // fixed_size_binary[n] (as Arrow prints it) or fixed_size_binary(n).
  arrow::Result<TypePtr> FixedSizeBinary(const std::string&) {
    constexpr const char* kForm = "fixed_size_binary[n]";
    const bool parenthesis = Accept('(');
    if (!parenthesis) ARROW_RETURN_NOT_OK(Expect('[', kForm));
    ARROW_ASSIGN_OR_RAISE(int64_t width, Integer(kForm));
    ARROW_RETURN_NOT_OK(Expect(parenthesis ? ')' : ']', kForm));
    if (width > INT32_MAX) return Error("fixed_size_binary width is too large");
    return arrow::fixed_size_binary(static_cast<int32_t>(width));
  }

  // --- Nested types
  // ---------------------------------------------------------------------

  // list<T>, list<name: T [not null]>; likewise large_list, list_view, large_list_view.
  arrow::Result<TypePtr> List(const std::string& keyword) {
    const std::string form = keyword + "<T>";
    ARROW_RETURN_NOT_OK(Expect('<', form));
    ARROW_ASSIGN_OR_RAISE(auto value, Field(/*name_required=*/false, form));
    ARROW_RETURN_NOT_OK(Expect('>', form));
    if (keyword == "large_list") return arrow::large_list(value);
    if (keyword == "list_view") return arrow::list_view(value);
    if (keyword == "large_list_view") return arrow::large_list_view(value);
    return arrow::list(value);
  }

  // fixed_size_list<T>[n], as Arrow prints it.
  arrow::Result<TypePtr> FixedSizeList(const std::string&) {
    constexpr const char* kForm = "fixed_size_list<T>[n]";
    ARROW_RETURN_NOT_OK(Expect('<', kForm));
    ARROW_ASSIGN_OR_RAISE(auto value, Field(/*name_required=*/false, kForm));
    ARROW_RETURN_NOT_OK(Expect('>', kForm));
    ARROW_RETURN_NOT_OK(Expect('[', kForm));
    ARROW_ASSIGN_OR_RAISE(int64_t size, Integer(kForm));
    ARROW_RETURN_NOT_OK(Expect(']', kForm));
    if (size > INT32_MAX) return Error("fixed_size_list size is too large");
    return arrow::fixed_size_list(value, static_cast<int32_t>(size));
  }

  // struct<name: T [not null], ...> or struct<>.
  arrow::Result<TypePtr> Struct(const std::string&) {
    constexpr const char* kForm = "struct<name: T, ...>";
    ARROW_RETURN_NOT_OK(Expect('<', kForm));
    arrow::FieldVector fields;
    if (!Accept('>')) {
      do {
        ARROW_ASSIGN_OR_RAISE(auto field, Field(/*name_required=*/true, kForm));
        fields.push_back(std::move(field));
      } while (Accept(','));
      ARROW_RETURN_NOT_OK(Expect('>', kForm));
    }
    return arrow::struct_(fields);
  }

  // map<K, V> or map<K, V, keys_sorted>.
  arrow::Result<TypePtr> Map(const std::string&) {
    constexpr const char* kForm = "map<K, V>";
    ARROW_RETURN_NOT_OK(Expect('<', kForm));
    ARROW_ASSIGN_OR_RAISE(auto key, ParseType());
    ARROW_RETURN_NOT_OK(Expect(',', kForm));
    ARROW_ASSIGN_OR_RAISE(auto item, ParseType());
    bool keys_sorted = false;
    if (Accept(',')) {
      SkipSpaces();
      if (Lower(Identifier()) != "keys_sorted") return Error("expected keys_sorted");
      keys_sorted = true;
    }
    ARROW_RETURN_NOT_OK(Expect('>', kForm));
    return arrow::map(key, item, keys_sorted);
  }

  // dictionary<values=T, indices=I[, ordered=0|1]>, as Arrow prints it.
  arrow::Result<TypePtr> Dictionary(const std::string&) {
    constexpr const char* kForm = "dictionary<values=T, indices=I, ordered=0>";
    ARROW_RETURN_NOT_OK(Expect('<', kForm));
    ARROW_RETURN_NOT_OK(ExpectKey("values", kForm));
    ARROW_ASSIGN_OR_RAISE(auto values, ParseType());
    ARROW_RETURN_NOT_OK(Expect(',', kForm));
    ARROW_RETURN_NOT_OK(ExpectKey("indices", kForm));
    ARROW_ASSIGN_OR_RAISE(auto indices, ParseType());
    bool ordered = false;
    if (Accept(',')) {
      ARROW_RETURN_NOT_OK(ExpectKey("ordered", kForm));
      ARROW_ASSIGN_OR_RAISE(int64_t flag, Integer(kForm));
      if (flag > 1) return Error("ordered must be 0 or 1");
      ordered = flag == 1;
    }
    ARROW_RETURN_NOT_OK(Expect('>', kForm));
    auto type = arrow::DictionaryType::Make(indices, values, ordered);
    if (!type.ok()) return Error(type.status().message());
    return *type;
  }

  // extension<arrow.uuid>, extension<arrow.bool8>, extension<arrow.json> (string
  // storage).
  arrow::Result<TypePtr> Extension(const std::string&) {
    constexpr const char* kForm = "extension<arrow.uuid>";
    ARROW_RETURN_NOT_OK(Expect('<', kForm));
    SkipSpaces();
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '>' &&
           !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    const std::string name = Lower(text_.substr(start, pos_ - start));
    ARROW_RETURN_NOT_OK(Expect('>', kForm));
    if (name == "arrow.uuid") return arrow::extension::uuid();
    if (name == "arrow.bool8") return arrow::extension::bool8();
    if (name == "arrow.json") return arrow::extension::json(arrow::utf8());
    return Error("unknown extension type '" + name +
                 "'; expected arrow.uuid, arrow.bool8 or arrow.json");
  }

  // A child field: `[name:] T [not null]`. A name runs up to ':'; without one (allowed
  // only where Arrow has a default name) the field is called "item".
  arrow::Result<std::shared_ptr<arrow::Field>> Field(bool name_required,
                                                     const std::string& form) {
    SkipSpaces();
    const size_t start = pos_;
    size_t end = pos_;
    while (end < text_.size() &&
           std::string_view(":,<>[]()").find(text_[end]) == std::string_view::npos) {
      ++end;
    }
    std::string name = "item";
    if (end < text_.size() && text_[end] == ':') {
      name = std::string(Trim(text_.substr(start, end - start)));
      pos_ = end + 1;
    } else if (name_required) {
      return Error("expected 'name: type' in " + form);
    }
    ARROW_ASSIGN_OR_RAISE(auto type, ParseType());
    bool nullable = true;
    SkipSpaces();
    const size_t before = pos_;
    if (Lower(Identifier()) == "not") {
      SkipSpaces();
      if (Lower(Identifier()) != "null") return Error("expected 'not null'");
      nullable = false;
    } else {
      pos_ = before;
    }
    return arrow::field(std::move(name), std::move(type), nullable);
  }

  // --- Lexing
  // ---------------------------------------------------------------------------

  std::string_view Identifier() {
    const size_t start = pos_;
    while (
        pos_ < text_.size() &&
        (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  // A non-negative integer of at most 10 digits.
  arrow::Result<int64_t> Integer(const std::string& form) {
    SkipSpaces();
    const size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    if (pos_ == start || pos_ - start > 10) {
      return Error("expected a number in " + form);
    }
    int64_t value = 0;
    std::from_chars(text_.data() + start, text_.data() + pos_, value);
    return value;
  }

  // Consumes `c` (after spaces) if it is next.
  bool Accept(char c) {
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  arrow::Status Expect(char c, const std::string& form) {
    if (Accept(c)) return arrow::Status::OK();
    const std::string found =
        pos_ < text_.size() ? "'" + std::string(text_.substr(pos_)) + "'" : "the end";
    return Error(std::string("expected '") + c + "' in " + form + ", found " + found);
  }

  // `key=`, as in dictionary<values=...>.
  arrow::Status ExpectKey(const char* key, const std::string& form) {
    SkipSpaces();
    if (Lower(Identifier()) != key) {
      return Error(std::string("expected '") + key + "=' in " + form);
    }
    return Expect('=', form);
  }

  void SkipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  arrow::Status Error(const std::string& message) const {
    return arrow::Status::Invalid("invalid type '", Trim(text_), "': ", message);
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view text) {
  return TypeNameParser(text).ParseAll();
}

}  // namespace jetflow
