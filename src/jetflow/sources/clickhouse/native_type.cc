// ClickHouse type names: parsing, structural comparison and the Arrow type of each
// (docs/formats/clickhouse-native.md lists the mapping and the reasons).
#include <arrow/api.h>
#include <arrow/extension/uuid.h>

#include <cctype>
#include <charconv>
#include <string>
#include <utility>

#include "jetflow/sources/clickhouse/native_format.h"

namespace jetflow::clickhouse {

char UnescapedChar(char escaped) {
  switch (escaped) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case '0':
      return '\0';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'a':
      return '\a';
    case 'v':
      return '\v';
    default:
      return escaped;  // \\, \', \" and anything else stand for themselves
  }
}

namespace {

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Types whose arguments are all types.
bool TakesTypeArguments(const std::string& name) {
  return name == "Nullable" || name == "Array" || name == "Tuple" || name == "Map" ||
         name == "LowCardinality" || name == "Nested";
}

// Recursive-descent parser over one type spelling. Positions in messages are 0-based
// character offsets into the whole spelling.
class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  arrow::Result<ClickHouseType> ParseAll() {
    ARROW_ASSIGN_OR_RAISE(ClickHouseType type, ParseType(0));
    SkipSpaces();
    if (pos_ != text_.size()) return Error("unexpected text after the type");
    return type;
  }

 private:
  static constexpr int kMaxDepth = 64;

  arrow::Result<ClickHouseType> ParseType(int depth) {
    if (depth > kMaxDepth) return Error("type nested too deeply");
    SkipSpaces();
    const size_t start = pos_;
    ClickHouseType type;
    type.name = Identifier();
    if (type.name.empty()) return Error("expected a type name");
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      ARROW_RETURN_NOT_OK(ParseArguments(&type, depth));
    }
    type.spelling = std::string(Trim(text_.substr(start, pos_ - start)));
    return type;
  }

  // After '(' up to and including ')'.
  arrow::Status ParseArguments(ClickHouseType* type, int depth) {
    const bool function_first =
        type->name == "AggregateFunction" || type->name == "SimpleAggregateFunction";
    const bool types_only = TakesTypeArguments(type->name);
    for (int index = 0;; ++index) {
      SkipSpaces();
      if (pos_ >= text_.size()) return Error("missing ')'");
      if (text_[pos_] == ')' && index == 0) {
        ++pos_;
        return arrow::Status::OK();
      }
      if (function_first && index == 0) {
        ARROW_ASSIGN_OR_RAISE(std::string raw, RawArgument());
        type->parameters.push_back(std::move(raw));
      } else if (text_[pos_] == '\'') {
        if (types_only) return Error("expected a type");
        ARROW_ASSIGN_OR_RAISE(std::string literal, Quoted('\''));
        SkipSpaces();
        if (pos_ < text_.size() && text_[pos_] == '=') {
          ++pos_;
          SkipSpaces();
          ARROW_ASSIGN_OR_RAISE(std::string value, Number());
          literal += "=" + value;
        }
        type->parameters.push_back(std::move(literal));
      } else if (std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
                 text_[pos_] == '-' || text_[pos_] == '+') {
        if (types_only) return Error("expected a type");
        ARROW_ASSIGN_OR_RAISE(std::string number, Number());
        type->parameters.push_back(std::move(number));
      } else if (IsIdentifierStart(text_[pos_]) || text_[pos_] == '`') {
        std::string element_name;
        if (type->name == "Tuple" || type->name == "Nested") {
          ARROW_ASSIGN_OR_RAISE(element_name, ElementName());
        }
        ARROW_ASSIGN_OR_RAISE(ClickHouseType child, ParseType(depth + 1));
        type->children.push_back(std::move(child));
        if (!element_name.empty()) {
          if (type->child_names.size() + 1 != type->children.size()) {
            return Error("a Tuple must name all of its elements or none");
          }
          type->child_names.push_back(std::move(element_name));
        } else if (!type->child_names.empty()) {
          return Error("a Tuple must name all of its elements or none");
        }
      } else {
        return Error(std::string("unexpected character '") + text_[pos_] + "'");
      }
      SkipSpaces();
      if (pos_ >= text_.size()) return Error("missing ')'");
      if (text_[pos_] == ')') {
        ++pos_;
        return arrow::Status::OK();
      }
      if (text_[pos_] != ',') return Error("expected ',' or ')'");
      ++pos_;
    }
  }

  // In a Tuple, "name Type" names the element; a lone "Type" does not. Returns "" when
  // the next token is the type itself.
  arrow::Result<std::string> ElementName() {
    const size_t saved = pos_;
    std::string name;
    if (text_[pos_] == '`') {
      ARROW_ASSIGN_OR_RAISE(name, Quoted('`'));
    } else {
      name = Identifier();
    }
    SkipSpaces();
    if (pos_ < text_.size() && (IsIdentifierStart(text_[pos_]))) return name;
    if (text_[saved] == '`') return Error("expected a type after the element name");
    pos_ = saved;
    return std::string();
  }

  // An argument kept verbatim (an aggregate function with its parameters).
  arrow::Result<std::string> RawArgument() {
    const size_t start = pos_;
    int parens = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\'') {
        ARROW_RETURN_NOT_OK(Quoted('\'').status());
        continue;
      }
      if (c == '(') ++parens;
      if (c == ')') {
        if (parens == 0) break;
        --parens;
      }
      if (c == ',' && parens == 0) break;
      ++pos_;
    }
    if (pos_ >= text_.size()) return Error("missing ')'");
    std::string raw(Trim(text_.substr(start, pos_ - start)));
    if (raw.empty()) return Error("expected an aggregate function name");
    return raw;
  }

  arrow::Result<std::string> Quoted(char quote) {
    const size_t start = pos_;
    ++pos_;
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == quote) {
        // SQL-style doubled quote.
        if (pos_ < text_.size() && text_[pos_] == quote) {
          out.push_back(quote);
          ++pos_;
          continue;
        }
        return out;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case 'x': {
          if (pos_ + 2 > text_.size()) return ErrorAt(pos_, "bad \\x escape");
          unsigned value = 0;
          auto [ptr, ec] =
              std::from_chars(text_.data() + pos_, text_.data() + pos_ + 2, value, 16);
          if (ec != std::errc() || ptr != text_.data() + pos_ + 2) {
            return ErrorAt(pos_, "bad \\x escape");
          }
          out.push_back(static_cast<char>(value));
          pos_ += 2;
          break;
        }
        default:
          out.push_back(UnescapedChar(e));
          break;
      }
    }
    return ErrorAt(start, "unterminated quoted string");
  }

  arrow::Result<std::string> Number() {
    const size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
    const size_t digits = pos_;
    while (
        pos_ < text_.size() &&
        (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) {
      ++pos_;
    }
    if (pos_ == digits) return ErrorAt(start, "expected a number");
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string Identifier() {
    const size_t start = pos_;
    if (pos_ < text_.size() && IsIdentifierStart(text_[pos_])) {
      while (pos_ < text_.size() && IsIdentifierChar(text_[pos_])) ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  void SkipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  static std::string_view Trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
      s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
      s.remove_suffix(1);
    }
    return s;
  }

  arrow::Status Error(const std::string& message) const { return ErrorAt(pos_, message); }

  arrow::Status ErrorAt(size_t pos, const std::string& message) const {
    return arrow::Status::Invalid("ClickHouse type '", text_, "': ", message,
                                  " at position ", pos);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

arrow::Result<int> IntParameter(const ClickHouseType& type, size_t index, int min,
                                int max) {
  if (index >= type.parameters.size()) {
    return arrow::Status::Invalid("ClickHouse type '", type.spelling, "' needs ",
                                  index + 1, " argument(s)");
  }
  const std::string& text = type.parameters[index];
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min ||
      value > max) {
    return arrow::Status::Invalid("ClickHouse type '", type.spelling, "': argument '",
                                  text, "' must be an integer from ", min, " to ", max);
  }
  return value;
}

arrow::Status ExpectArity(const ClickHouseType& type, size_t children, size_t params) {
  if (type.children.size() != children || type.parameters.size() != params) {
    return arrow::Status::Invalid("ClickHouse type '", type.spelling,
                                  "' has the wrong number of arguments");
  }
  return arrow::Status::OK();
}

std::string TimeZoneOf(const ClickHouseType& type, size_t index) {
  return index < type.parameters.size() ? type.parameters[index] : std::string("UTC");
}

}  // namespace

arrow::Result<ClickHouseType> ParseClickHouseType(std::string_view spelling) {
  return TypeParser(spelling).ParseAll();
}

arrow::Result<DecimalSpec> DecimalSpecOf(const ClickHouseType& type) {
  DecimalSpec spec;
  if (type.name == "Decimal") {
    if (type.parameters.size() == 1) {
      ARROW_ASSIGN_OR_RAISE(spec.precision, IntParameter(type, 0, 1, 76));
      spec.scale = 0;
    } else {
      ARROW_RETURN_NOT_OK(ExpectArity(type, 0, 2));
      ARROW_ASSIGN_OR_RAISE(spec.precision, IntParameter(type, 0, 1, 76));
      ARROW_ASSIGN_OR_RAISE(spec.scale, IntParameter(type, 1, 0, spec.precision));
    }
  } else {
    int precision = 0;
    if (type.name == "Decimal32") precision = 9;
    if (type.name == "Decimal64") precision = 18;
    if (type.name == "Decimal128") precision = 38;
    if (type.name == "Decimal256") precision = 76;
    if (precision == 0) {
      return arrow::Status::Invalid("ClickHouse type '", type.spelling,
                                    "' is not a decimal");
    }
    ARROW_RETURN_NOT_OK(ExpectArity(type, 0, 1));
    spec.precision = precision;
    ARROW_ASSIGN_OR_RAISE(spec.scale, IntParameter(type, 0, 0, precision));
  }
  spec.wire_bytes = spec.precision <= 9    ? 4
                    : spec.precision <= 18 ? 8
                    : spec.precision <= 38 ? 16
                                           : 32;
  return spec;
}

bool IsNullableType(const ClickHouseType& type) {
  if (type.name == "Nullable" || type.name == "Nothing") return true;
  if (type.name == "LowCardinality" && type.children.size() == 1) {
    return type.children[0].name == "Nullable";
  }
  if (type.name == "SimpleAggregateFunction" && type.children.size() == 1) {
    return IsNullableType(type.children[0]);
  }
  return false;
}

bool SameClickHouseType(const ClickHouseType& a, const ClickHouseType& b) {
  auto is_decimal = [](const std::string& name) { return name.rfind("Decimal", 0) == 0; };
  if (is_decimal(a.name) && is_decimal(b.name)) {
    auto da = DecimalSpecOf(a);
    auto db = DecimalSpecOf(b);
    return da.ok() && db.ok() && da->precision == db->precision && da->scale == db->scale;
  }
  // A time zone changes how a DateTime prints, not its value or wire format, and old
  // servers drop it from block headers (18.16 sends DateTime for a DateTime('Asia/Tokyo')
  // column): only the precision of DateTime64 must match.
  if (a.name == "DateTime" && b.name == "DateTime") return true;
  if (a.name == "DateTime64" && b.name == "DateTime64") {
    return !a.parameters.empty() && !b.parameters.empty() &&
           a.parameters[0] == b.parameters[0];
  }
  if (a.name != b.name || a.parameters.size() != b.parameters.size() ||
      a.children.size() != b.children.size() || a.child_names != b.child_names) {
    return false;
  }
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    if (a.parameters[i] == b.parameters[i]) continue;
    // "Enum8('a' = 1)" and "Enum8('a'=1)" parse alike; numbers may differ in spelling
    // ("+1", "01") only in hand-written types, which are compared as text.
    return false;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!SameClickHouseType(a.children[i], b.children[i])) return false;
  }
  return true;
}

bool HoldsString(const ClickHouseType& type) {
  if (type.name == "String") return true;
  for (const ClickHouseType& child : type.children) {
    if (HoldsString(child)) return true;
  }
  return false;
}

arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(
    const ClickHouseType& type, sources::InvalidUtf8 invalid_utf8) {
  const std::string& name = type.name;
  // Children map under the same policy.
  auto child_type = [invalid_utf8](const ClickHouseType& child) {
    return ArrowTypeFor(child, invalid_utf8);
  };
  auto leaf = [&](std::shared_ptr<arrow::DataType> result)
      -> arrow::Result<std::shared_ptr<arrow::DataType>> {
    ARROW_RETURN_NOT_OK(ExpectArity(type, 0, 0));
    return result;
  };
  if (name == "Int8") return leaf(arrow::int8());
  if (name == "Int16") return leaf(arrow::int16());
  if (name == "Int32") return leaf(arrow::int32());
  if (name == "Int64") return leaf(arrow::int64());
  if (name == "UInt8") return leaf(arrow::uint8());
  if (name == "UInt16") return leaf(arrow::uint16());
  if (name == "UInt32") return leaf(arrow::uint32());
  if (name == "UInt64") return leaf(arrow::uint64());
  // Arrow has no 128/256-bit integers; decimals with scale 0 hold every value of the
  // 128-bit types exactly (39 digits). 256-bit values beyond 76 digits fail at decode.
  if (name == "Int128" || name == "UInt128") return leaf(arrow::decimal256(39, 0));
  if (name == "Int256" || name == "UInt256") return leaf(arrow::decimal256(76, 0));
  if (name == "Float32") return leaf(arrow::float32());
  if (name == "Float64") return leaf(arrow::float64());
  if (name == "Bool") return leaf(arrow::boolean());
  if (name == "String") {
    return leaf(invalid_utf8 == sources::InvalidUtf8::kBinary ? arrow::binary()
                                                              : arrow::utf8());
  }
  if (name == "UUID") return leaf(arrow::extension::uuid());
  if (name == "IPv4" || name == "IPv6") return leaf(arrow::utf8());
  if (name == "Date" || name == "Date32") return leaf(arrow::date32());
  if (name == "Nothing") return leaf(arrow::null());
  if (name.rfind("Decimal", 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(DecimalSpec spec, DecimalSpecOf(type));
    if (spec.precision <= 38) return arrow::decimal128(spec.precision, spec.scale);
    return arrow::decimal256(spec.precision, spec.scale);
  }
  if (name == "FixedString") {
    ARROW_RETURN_NOT_OK(ExpectArity(type, 0, 1));
    ARROW_ASSIGN_OR_RAISE(int width, IntParameter(type, 0, 1, 1 << 20));
    return arrow::fixed_size_binary(width);
  }
  if (name == "DateTime") {
    if (!type.children.empty() || type.parameters.size() > 1) {
      return ExpectArity(type, 0, 1);
    }
    return arrow::timestamp(arrow::TimeUnit::SECOND, TimeZoneOf(type, 0));
  }
  if (name == "DateTime64") {
    if (!type.children.empty() || type.parameters.empty() || type.parameters.size() > 2) {
      return ExpectArity(type, 0, 2);
    }
    ARROW_ASSIGN_OR_RAISE(int precision, IntParameter(type, 0, 0, 9));
    const arrow::TimeUnit::type unit = precision == 0   ? arrow::TimeUnit::SECOND
                                       : precision <= 3 ? arrow::TimeUnit::MILLI
                                       : precision <= 6 ? arrow::TimeUnit::MICRO
                                                        : arrow::TimeUnit::NANO;
    return arrow::timestamp(unit, TimeZoneOf(type, 1));
  }
  if (name == "Enum8" || name == "Enum16") {
    if (!type.children.empty() || type.parameters.empty()) {
      return arrow::Status::Invalid("ClickHouse type '", type.spelling,
                                    "' needs at least one 'name' = value entry");
    }
    return arrow::dictionary(arrow::int32(), arrow::utf8());
  }
  if (name == "Nullable") {
    ARROW_RETURN_NOT_OK(ExpectArity(type, 1, 0));
    const ClickHouseType& inner = type.children[0];
    if (inner.name == "Nullable" || inner.name == "Array" || inner.name == "Map" ||
        inner.name == "Tuple" || inner.name == "Nested" ||
        inner.name == "LowCardinality") {
      return arrow::Status::NotImplemented("ClickHouse type '", type.spelling,
                                           "' is not supported");
    }
    return child_type(inner);
  }
  if (name == "LowCardinality") {
    ARROW_RETURN_NOT_OK(ExpectArity(type, 1, 0));
    const ClickHouseType* inner = &type.children[0];
    if (inner->name == "Nullable") {
      ARROW_RETURN_NOT_OK(ExpectArity(*inner, 1, 0));
      inner = &inner->children[0];
    }
    ARROW_ASSIGN_OR_RAISE(auto value_type, child_type(*inner));
    // Dictionaries of nested or null values have no use and no reader support.
    const arrow::Type::type id = value_type->id();
    if (id == arrow::Type::DICTIONARY || id == arrow::Type::NA || arrow::is_nested(id)) {
      return arrow::Status::NotImplemented("ClickHouse type '", type.spelling,
                                           "' is not supported");
    }
    return arrow::dictionary(arrow::int32(), value_type);
  }
  if (name == "Array") {
    ARROW_RETURN_NOT_OK(ExpectArity(type, 1, 0));
    ARROW_ASSIGN_OR_RAISE(auto value_type, child_type(type.children[0]));
    return arrow::list(
        arrow::field("item", value_type, IsNullableType(type.children[0])));
  }
  if (name == "Tuple" || name == "Nested") {
    if (!type.parameters.empty()) return ExpectArity(type, type.children.size(), 0);
    // The empty Tuple() of newer servers has no Arrow struct that Parquet can store.
    if (type.children.empty()) {
      return arrow::Status::NotImplemented("ClickHouse type '", type.spelling,
                                           "' is not supported");
    }
    if (name == "Nested" && type.child_names.empty()) {
      return arrow::Status::Invalid("ClickHouse type '", type.spelling,
                                    "' must name its elements");
    }
    arrow::FieldVector fields;
    for (size_t i = 0; i < type.children.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto child, child_type(type.children[i]));
      std::string field_name =
          type.child_names.empty() ? std::to_string(i + 1) : type.child_names[i];
      fields.push_back(
          arrow::field(std::move(field_name), child, IsNullableType(type.children[i])));
    }
    // Nested(a T, b U) is an array of named tuples (flatten_nested = 0 keeps it whole).
    if (name == "Nested") {
      return arrow::list(arrow::field("item", arrow::struct_(fields), false));
    }
    return arrow::struct_(fields);
  }
  if (name == "Map") {
    ARROW_RETURN_NOT_OK(ExpectArity(type, 2, 0));
    // Map(Nothing, Nothing), the type of the empty literal map(), would need null-typed
    // keys, which Arrow maps (not nullable keys) and Parquet (NULL columns are optional)
    // cannot have.
    if (type.children[0].name == "Nothing") {
      return arrow::Status::NotImplemented(
          "ClickHouse type '", type.spelling,
          "' is not supported (map keys of type Nothing, e.g. of the literal map())");
    }
    if (IsNullableType(type.children[0])) {
      return arrow::Status::NotImplemented("ClickHouse type '", type.spelling,
                                           "': nullable map keys are not supported");
    }
    ARROW_ASSIGN_OR_RAISE(auto key, child_type(type.children[0]));
    ARROW_ASSIGN_OR_RAISE(auto item, child_type(type.children[1]));
    return std::make_shared<arrow::MapType>(
        arrow::field("key", key, false),
        arrow::field("value", item, IsNullableType(type.children[1])));
  }
  if (name == "SimpleAggregateFunction") {
    ARROW_RETURN_NOT_OK(ExpectArity(type, 1, 1));
    return child_type(type.children[0]);
  }
  return arrow::Status::NotImplemented("ClickHouse type '", type.spelling,
                                       "' is not supported");
}

}  // namespace jetflow::clickhouse
