// Compiler of the expression language: syntax tree -> type-checked, bound Arrow compute
// expression. Every node is bound against the input schema as soon as it is built, so
// its type is known and a type error points at the node's own token.
#include "jetflow/transforms/expression/expression.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/expression.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/type_name.h"
#include "jetflow/transforms/expression/kernels.h"
#include "jetflow/transforms/expression/parser.h"

namespace jetflow::expression {
namespace {

namespace cp = arrow::compute;
using arrow::DataType;
using arrow::Status;
using TypePtr = std::shared_ptr<DataType>;

// A compiled sub-expression: bound, with its type; constants also keep their value.
struct Typed {
  cp::Expression expr;
  TypePtr type;
  int offset = 0;
  std::shared_ptr<arrow::Scalar> constant;  // set if the value is known at compile time
  std::string column;                       // set for a plain column reference
};

bool IsSignedInt(const DataType& t) {
  switch (t.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
      return true;
    default:
      return false;
  }
}
bool IsUnsignedInt(const DataType& t) {
  switch (t.id()) {
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
      return true;
    default:
      return false;
  }
}
bool IsInt(const DataType& t) { return IsSignedInt(t) || IsUnsignedInt(t); }
bool IsFloat(const DataType& t) {
  return t.id() == arrow::Type::FLOAT || t.id() == arrow::Type::DOUBLE ||
         t.id() == arrow::Type::HALF_FLOAT;
}
bool IsDecimal(const DataType& t) {
  return t.id() == arrow::Type::DECIMAL128 || t.id() == arrow::Type::DECIMAL256;
}
bool IsNumeric(const DataType& t) { return IsInt(t) || IsFloat(t) || IsDecimal(t); }
bool IsString(const DataType& t) {
  return t.id() == arrow::Type::STRING || t.id() == arrow::Type::LARGE_STRING ||
         t.id() == arrow::Type::STRING_VIEW;
}
bool IsBinary(const DataType& t) {
  return t.id() == arrow::Type::BINARY || t.id() == arrow::Type::LARGE_BINARY ||
         t.id() == arrow::Type::FIXED_SIZE_BINARY;
}
bool IsTimestamp(const DataType& t) { return t.id() == arrow::Type::TIMESTAMP; }
bool IsDate(const DataType& t) {
  return t.id() == arrow::Type::DATE32 || t.id() == arrow::Type::DATE64;
}
bool IsTemporal(const DataType& t) { return IsTimestamp(t) || IsDate(t); }
bool IsBool(const DataType& t) { return t.id() == arrow::Type::BOOL; }
bool IsNullType(const DataType& t) { return t.id() == arrow::Type::NA; }

int IntWidth(const DataType& t) { return t.byte_width() * 8; }

TypePtr SignedOfWidth(int bits) {
  switch (bits) {
    case 8:
      return arrow::int8();
    case 16:
      return arrow::int16();
    case 32:
      return arrow::int32();
    default:
      return arrow::int64();
  }
}

// The type both values convert to for CASE, COALESCE, IN, least/greatest and `%`;
// nullptr if there is none (the caller reports the error).
TypePtr CommonType(const TypePtr& a, const TypePtr& b) {
  if (a->Equals(*b)) return a;
  if (IsNullType(*a)) return b;
  if (IsNullType(*b)) return a;
  if (IsInt(*a) && IsInt(*b)) {
    if (IsSignedInt(*a) == IsSignedInt(*b)) {
      return IntWidth(*a) >= IntWidth(*b) ? a : b;
    }
    const DataType& u = IsUnsignedInt(*a) ? *a : *b;
    const DataType& s = IsUnsignedInt(*a) ? *b : *a;
    return SignedOfWidth(std::max(IntWidth(s), std::min(64, 2 * IntWidth(u))));
  }
  if ((IsFloat(*a) && IsNumeric(*b)) || (IsNumeric(*a) && IsFloat(*b))) {
    if (a->id() == arrow::Type::FLOAT && b->id() == arrow::Type::FLOAT) return a;
    return arrow::float64();
  }
  if (IsDecimal(*a) || IsDecimal(*b)) {
    auto digits = [](const DataType& t, int* precision, int* scale) {
      if (IsDecimal(t)) {
        const auto& d = static_cast<const arrow::DecimalType&>(t);
        *precision = d.precision();
        *scale = d.scale();
      } else {  // an integer: enough digits for its range
        *precision = IntWidth(t) == 64 ? 20 : IntWidth(t) == 32 ? 10 : 5;
        *scale = 0;
      }
    };
    if (!(IsNumeric(*a) && IsNumeric(*b))) return nullptr;
    int pa, sa, pb, sb;
    digits(*a, &pa, &sa);
    digits(*b, &pb, &sb);
    int scale = std::max(sa, sb);
    int precision = std::max(pa - sa, pb - sb) + scale;
    if (precision > 76) return nullptr;
    if (precision > 38) return arrow::decimal256(precision, scale);
    return arrow::decimal128(precision, scale);
  }
  if (IsString(*a) && IsString(*b)) {
    return a->id() == arrow::Type::LARGE_STRING || b->id() == arrow::Type::LARGE_STRING
               ? arrow::large_utf8()
               : arrow::utf8();
  }
  if (IsTemporal(*a) && IsTemporal(*b)) {
    if (IsDate(*a) && IsDate(*b)) return arrow::date32();
    const auto* ta =
        IsTimestamp(*a) ? &static_cast<const arrow::TimestampType&>(*a) : nullptr;
    const auto* tb =
        IsTimestamp(*b) ? &static_cast<const arrow::TimestampType&>(*b) : nullptr;
    if (ta && tb && ta->timezone() != tb->timezone()) return nullptr;
    if (ta && tb) return ta->unit() >= tb->unit() ? a : b;
    const auto* t = ta ? ta : tb;  // date with timestamp: the timestamp's type
    if (!t->timezone().empty()) return nullptr;
    return ta ? a : b;
  }
  return nullptr;
}

std::string TypeString(const DataType& t) { return t.ToString(); }

class CompiledExpressionImpl : public CompiledExpression {
 public:
  CompiledExpressionImpl(ExpressionSource source, std::shared_ptr<arrow::Schema> schema,
                         cp::Expression bound, TypePtr type,
                         std::shared_ptr<arrow::Scalar> constant,
                         std::vector<std::pair<cp::Expression, int>> steps)
      : source_(std::move(source)),
        schema_(std::move(schema)),
        bound_(std::move(bound)),
        type_(std::move(type)),
        constant_(std::move(constant)),
        steps_(std::move(steps)) {}

  const TypePtr& type() const override { return type_; }
  const ExpressionSource& source() const override { return source_; }

  arrow::Result<std::shared_ptr<arrow::Array>> Evaluate(
      const arrow::RecordBatch& batch) const override;

 private:
  arrow::Result<std::shared_ptr<arrow::Array>> Run(const arrow::RecordBatch& batch) const;

  ExpressionSource source_;
  std::shared_ptr<arrow::Schema> schema_;
  cp::Expression bound_;
  TypePtr type_;
  std::shared_ptr<arrow::Scalar> constant_;
  // Every sub-expression that may fail at run time, innermost first, with the offset of
  // its token: after a failure, the first one that fails on the offending row is
  // reported.
  std::vector<std::pair<cp::Expression, int>> steps_;
};

}  // namespace

/// "file:line:col: message" plus the expression's line and a caret under `offset`.
std::string LocatedMessage(const ExpressionSource& source, int offset,
                           const std::string& message) {
  const std::string& text = source.text;
  offset = std::clamp(offset, 0, static_cast<int>(text.size()));
  int line_index = 0;
  size_t line_start = 0;
  for (int i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line_index;
      line_start = i + 1;
    }
  }
  size_t line_end = text.find('\n', line_start);
  if (line_end == std::string::npos) line_end = text.size();
  // Columns count characters, not bytes (UTF-8 continuation bytes are skipped).
  int chars_before = 0;
  for (size_t i = line_start; i < static_cast<size_t>(offset); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars_before;
  }
  int line = source.line + line_index;
  int column = (line_index == 0 ? source.column : source.indent) + chars_before;
  std::string shown = text.substr(line_start, line_end - line_start);
  std::replace(shown.begin(), shown.end(), '\t', ' ');
  std::string out = (source.file.empty() ? std::string("<expression>") : source.file) +
                    ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                    message + "\n    " + shown + "\n    " +
                    std::string(chars_before, ' ') + "^";
  return out;
}

namespace {

class Compiler {
 public:
  Compiler(const ExpressionSource& source, const arrow::Schema& schema,
           const ExpressionEnvironment& environment)
      : source_(source), schema_(schema), environment_(environment) {}

  arrow::Result<Typed> Compile(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kLiteral:
        return CompileLiteral(n);
      case Node::Kind::kColumn:
        return CompileColumn(n);
      case Node::Kind::kUnary:
        return CompileUnary(n);
      case Node::Kind::kBinary:
        return CompileBinary(n);
      case Node::Kind::kIsNull: {
        ARROW_ASSIGN_OR_RAISE(auto v, Compile(*n.args[0]));
        return MakeCall(n.offset, n.negated ? "is_valid" : "is_null", {v});
      }
      case Node::Kind::kIn:
        return CompileIn(n);
      case Node::Kind::kBetween:
        return CompileBetween(n);
      case Node::Kind::kLike:
        return CompileLike(n);
      case Node::Kind::kCase:
        return CompileCase(n);
      case Node::Kind::kCall:
        return CompileCall(n);
      case Node::Kind::kCast:
        return CompileCast(n);
    }
    return Error(n.offset, "unknown syntax node");
  }

  Status Error(int offset, const std::string& message) const {
    return Status::Invalid(LocatedMessage(source_, offset, message));
  }

 private:
  // --- building blocks ---

  // Binds call(name, args) to learn its type; folds it to a literal when every argument
  // is a constant.
  arrow::Result<Typed> MakeCall(int offset, const std::string& function,
                                const std::vector<Typed>& args,
                                std::shared_ptr<cp::FunctionOptions> options = nullptr,
                                const std::string& what = "") {
    std::vector<cp::Expression> exprs;
    bool all_constant = true;
    for (const auto& a : args) {
      exprs.push_back(a.expr);
      all_constant = all_constant && a.constant;
    }
    auto call = cp::call(function, std::move(exprs), std::move(options));
    auto bound = call.Bind(schema_);
    if (!bound.ok()) {
      std::string types;
      for (size_t i = 0; i < args.size(); ++i) {
        types += (i ? ", " : "") + TypeString(*args[i].type);
      }
      return Error(offset, (what.empty() ? function : what) +
                               " is not defined for argument types (" + types + ")");
    }
    Typed out;
    out.expr = *bound;
    out.type = bound->type()->GetSharedPtr();
    out.offset = offset;
    if (!all_constant) steps_.push_back({out.expr, offset});
    if (all_constant && cp::ExpressionHasFieldRefs(*bound) == false) {
      auto value = cp::ExecuteScalarExpression(*bound, cp::ExecBatch({}, 1));
      if (!value.ok()) {
        return Error(offset, "cannot evaluate constant: " + value.status().message());
      }
      std::shared_ptr<arrow::Scalar> scalar;
      if (value->is_scalar()) {
        scalar = value->scalar();
      } else {
        ARROW_ASSIGN_OR_RAISE(scalar, value->make_array()->GetScalar(0));
      }
      return Constant(scalar, offset);
    }
    return out;
  }

  arrow::Result<Typed> Constant(std::shared_ptr<arrow::Scalar> value, int offset) {
    Typed out;
    out.expr = cp::literal(value);
    ARROW_ASSIGN_OR_RAISE(out.expr, out.expr.Bind(schema_));
    out.type = value->type;
    out.offset = offset;
    out.constant = std::move(value);
    return out;
  }

  arrow::Result<Typed> CastTo(const Typed& v, const TypePtr& type) {
    if (v.type->Equals(*type)) return v;
    if (v.constant) {
      auto via_compute = cp::Cast(arrow::Datum(v.constant), type);
      if (via_compute.ok()) return Constant(via_compute->scalar(), v.offset);
      auto cast = v.constant->CastTo(type);
      if (cast.ok()) return Constant(*cast, v.offset);
      return Error(v.offset, "cannot convert constant to " + TypeString(*type) + ": " +
                                 via_compute.status().message());
    }
    if (!cp::CanCast(*v.type, *type)) {
      return Error(v.offset,
                   "cannot convert " + TypeString(*v.type) + " to " + TypeString(*type));
    }
    auto options = std::make_shared<cp::CastOptions>(cp::CastOptions::Safe(type));
    Typed out = v;
    out.column.clear();
    ARROW_ASSIGN_OR_RAISE(out.expr, cp::call("cast", {v.expr}, options).Bind(schema_));
    out.type = type;
    steps_.push_back({out.expr, v.offset});
    return out;
  }

  // Converts every value to one common type; error at the first one that does not fit.
  arrow::Result<std::vector<Typed>> Unify(std::vector<Typed> values,
                                          const std::string& what, TypePtr* common_out) {
    TypePtr common = arrow::null();
    for (const auto& v : values) {
      TypePtr next = CommonType(common, v.type);
      if (!next) {
        return Error(v.offset, what + ": " + TypeString(*v.type) +
                                   " is not compatible with " + TypeString(*common));
      }
      common = next;
    }
    for (auto& v : values) {
      ARROW_ASSIGN_OR_RAISE(v, CastTo(v, common));
    }
    if (common_out) *common_out = common;
    return values;
  }

  // A string argument of a string function; columns are checked for valid UTF-8.
  arrow::Result<Typed> StringArg(const Typed& v, const std::string& function) {
    if (IsNullType(*v.type)) return CastTo(v, arrow::utf8());
    if (!IsString(*v.type)) {
      return Error(v.offset, function + " expects a string, got " + TypeString(*v.type));
    }
    Typed out = v;
    if (v.type->id() == arrow::Type::STRING_VIEW) {
      ARROW_ASSIGN_OR_RAISE(out, CastTo(v, arrow::utf8()));
    }
    if (!v.column.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          out.expr, cp::call("jetflow_check_utf8", {out.expr, cp::literal(v.column)})
                        .Bind(schema_));
      steps_.push_back({out.expr, v.offset});
    }
    out.column.clear();
    return out;
  }

  // A string argument of one of our own kernels, which take utf8 only.
  arrow::Result<Typed> Utf8Arg(const Typed& v, const std::string& function) {
    ARROW_ASSIGN_OR_RAISE(auto s, StringArg(v, function));
    return CastTo(s, arrow::utf8());
  }

  arrow::Result<std::string> ConstantString(const Typed& v, const std::string& what) {
    if (!v.constant || !IsString(*v.type) || !v.constant->is_valid) {
      return Error(v.offset, what + " must be a constant string");
    }
    ARROW_ASSIGN_OR_RAISE(auto s, v.constant->CastTo(arrow::utf8()));
    return std::string(static_cast<const arrow::StringScalar&>(*s).view());
  }

  arrow::Result<int64_t> ConstantInt(const Typed& v, const std::string& what) {
    if (!v.constant || !IsInt(*v.type) || !v.constant->is_valid) {
      return Error(v.offset, what + " must be a constant integer");
    }
    ARROW_ASSIGN_OR_RAISE(auto s, v.constant->CastTo(arrow::int64()));
    return static_cast<const arrow::Int64Scalar&>(*s).value;
  }

  arrow::Result<Typed> Boolean(const Typed& v, const std::string& what) {
    if (IsNullType(*v.type)) return CastTo(v, arrow::boolean());
    if (!IsBool(*v.type)) {
      return Error(v.offset, what + " must be boolean, got " + TypeString(*v.type));
    }
    return v;
  }

  // --- nodes ---

  arrow::Result<Typed> CompileLiteral(const Node& n) {
    switch (n.literal_kind) {
      case Node::LiteralKind::kInteger: {
        int64_t value = 0;
        auto [end, ec] =
            std::from_chars(n.text.data(), n.text.data() + n.text.size(), value);
        if (ec != std::errc() || end != n.text.data() + n.text.size()) {
          return Error(n.offset, "integer literal " + n.text +
                                     " is out of the int64 range (write it as " + n.text +
                                     ".0 for a double)");
        }
        return Constant(arrow::MakeScalar(value), n.offset);
      }
      case Node::LiteralKind::kDecimal: {
        char* end = nullptr;
        double value = std::strtod(n.text.c_str(), &end);
        return Constant(arrow::MakeScalar(value), n.offset);
      }
      case Node::LiteralKind::kString:
        return Constant(std::make_shared<arrow::StringScalar>(n.text), n.offset);
      case Node::LiteralKind::kBool:
        return Constant(arrow::MakeScalar(n.text == "TRUE"), n.offset);
      case Node::LiteralKind::kNull:
        return Constant(std::make_shared<arrow::NullScalar>(), n.offset);
      case Node::LiteralKind::kDate: {
        auto text = std::make_shared<arrow::StringScalar>(n.text);
        auto cast = cp::Cast(arrow::Datum(text), arrow::date32());
        if (!cast.ok() || n.text.size() != 10) {
          return Error(n.offset,
                       "invalid DATE literal '" + n.text + "' (expected 'YYYY-MM-DD')");
        }
        return Constant(cast->scalar(), n.offset);
      }
      case Node::LiteralKind::kTimestamp: {
        auto text = std::make_shared<arrow::StringScalar>(n.text);
        auto naive =
            cp::Cast(arrow::Datum(text), arrow::timestamp(arrow::TimeUnit::MICRO));
        if (naive.ok()) return Constant(naive->scalar(), n.offset);
        auto zoned =
            cp::Cast(arrow::Datum(text), arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
        if (zoned.ok()) return Constant(zoned->scalar(), n.offset);
        return Error(n.offset, "invalid TIMESTAMP literal '" + n.text +
                                   "' (expected 'YYYY-MM-DD HH:MM:SS[.ffffff]' with an "
                                   "optional 'Z' or '+HH:MM' offset)");
      }
    }
    return Error(n.offset, "unknown literal");
  }

  arrow::Result<Typed> CompileColumn(const Node& n) {
    auto indices = schema_.GetAllFieldIndices(n.name);
    if (indices.size() > 1) {
      return Error(n.offset, "column name '" + n.name + "' is ambiguous (" +
                                 std::to_string(indices.size()) + " columns have it)");
    }
    if (indices.empty()) {
      std::vector<std::string> names = schema_.field_names();
      std::string hint;
      for (const auto& name : names) {
        if (name.size() == n.name.size() &&
            std::equal(name.begin(), name.end(), n.name.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            })) {
          hint = " (did you mean '" + name + "'? column names are case-sensitive)";
          break;
        }
      }
      if (hint.empty()) {
        if (auto match = ClosestMatch(n.name, names)) {
          hint = " (did you mean '" + *match + "'?)";
        }
      }
      return Error(n.offset, "no column '" + n.name + "'" + hint);
    }
    Typed out;
    ARROW_ASSIGN_OR_RAISE(out.expr,
                          cp::field_ref(arrow::FieldRef(indices[0])).Bind(schema_));
    out.type = schema_.field(indices[0])->type();
    out.offset = n.offset;
    out.column = n.name;
    return out;
  }

  arrow::Result<Typed> CompileUnary(const Node& n) {
    ARROW_ASSIGN_OR_RAISE(auto v, Compile(*n.args[0]));
    if (n.name == "NOT") {
      ARROW_ASSIGN_OR_RAISE(v, Boolean(v, "the operand of NOT"));
      return MakeCall(n.offset, "invert", {v}, nullptr, "NOT");
    }
    if (!IsNumeric(*v.type) && !IsNullType(*v.type)) {
      return Error(n.offset, "unary - expects a number, got " + TypeString(*v.type));
    }
    if (IsNullType(*v.type)) {
      ARROW_ASSIGN_OR_RAISE(v, CastTo(v, arrow::int64()));
    }
    return MakeCall(n.offset, "negate_checked", {v}, nullptr, "unary -");
  }

  // Decimal arithmetic and comparison with an integer: Arrow needs both sides decimal.
  // A constant integer gets just the digits it needs, so `price + 1` keeps a small
  // precision. With a floating-point operand, the decimal becomes a double.
  arrow::Status MatchDecimals(Typed* a, Typed* b) {
    for (auto [x, y] :
         {std::pair<Typed*, Typed*>{a, b}, std::pair<Typed*, Typed*>{b, a}}) {
      if (!IsDecimal(*x->type)) continue;
      if (IsFloat(*y->type)) {
        ARROW_ASSIGN_OR_RAISE(*x, CastTo(*x, arrow::float64()));
        return Status::OK();
      }
      if (!IsInt(*y->type)) continue;
      int digits = IntWidth(*y->type) == 64   ? (IsSignedInt(*y->type) ? 19 : 20)
                   : IntWidth(*y->type) == 32 ? 10
                   : IntWidth(*y->type) == 16 ? 5
                                              : 3;
      if (y->constant && y->constant->is_valid) {
        ARROW_ASSIGN_OR_RAISE(auto text, y->constant->CastTo(arrow::utf8()));
        std::string_view v = static_cast<const arrow::StringScalar&>(*text).view();
        digits = static_cast<int>(v.size()) - (v[0] == '-' ? 1 : 0);
        ARROW_ASSIGN_OR_RAISE(auto value, arrow::Decimal128::FromString(v));
        ARROW_ASSIGN_OR_RAISE(*y, Constant(std::make_shared<arrow::Decimal128Scalar>(
                                               value, arrow::decimal128(digits, 0)),
                                           y->offset));
        return Status::OK();
      }
      ARROW_ASSIGN_OR_RAISE(*y, CastTo(*y, arrow::decimal128(digits, 0)));
      return Status::OK();
    }
    return Status::OK();
  }

  // NULL literals take the other operand's type.
  arrow::Status MatchNulls(Typed* a, Typed* b) {
    if (IsNullType(*a->type) && !IsNullType(*b->type)) {
      ARROW_ASSIGN_OR_RAISE(*a, CastTo(*a, b->type));
    } else if (IsNullType(*b->type) && !IsNullType(*a->type)) {
      ARROW_ASSIGN_OR_RAISE(*b, CastTo(*b, a->type));
    }
    return Status::OK();
  }

  arrow::Result<Typed> Comparison(int offset, const std::string& op, Typed a, Typed b) {
    static const std::map<std::string, std::string> kFunctions = {
        {"=", "equal"},       {"!=", "not_equal"}, {"<", "less"},
        {"<=", "less_equal"}, {">", "greater"},    {">=", "greater_equal"}};
    ARROW_RETURN_NOT_OK(MatchNulls(&a, &b));
    const DataType& ta = *a.type;
    const DataType& tb = *b.type;
    bool ok = (IsNumeric(ta) && IsNumeric(tb)) || (IsString(ta) && IsString(tb)) ||
              (IsBinary(ta) && IsBinary(tb)) || (IsBool(ta) && IsBool(tb)) ||
              (IsNullType(ta) && IsNullType(tb)) || (IsTemporal(ta) && IsTemporal(tb));
    if (!ok) {
      return Error(offset, "cannot compare " + TypeString(ta) + " with " +
                               TypeString(tb) + " (use CAST to convert one side)");
    }
    if (IsNullType(ta)) {
      ARROW_ASSIGN_OR_RAISE(a, CastTo(a, arrow::int64()));
      ARROW_ASSIGN_OR_RAISE(b, CastTo(b, arrow::int64()));
    }
    ARROW_RETURN_NOT_OK(MatchDecimals(&a, &b));
    if (IsTemporal(ta) && !ta.Equals(tb)) {
      TypePtr common = CommonType(a.type, b.type);
      if (!common) {
        return Error(offset, "cannot compare " + TypeString(ta) + " with " +
                                 TypeString(tb) +
                                 " (a time zone differs or is missing: write TIMESTAMP "
                                 "literals with 'Z' or an offset, or use "
                                 "to_timezone/from_timezone)");
      }
      ARROW_ASSIGN_OR_RAISE(a, CastTo(a, common));
      ARROW_ASSIGN_OR_RAISE(b, CastTo(b, common));
    }
    // A constant compared with a column: convert the constant to the column's type
    // when it fits exactly, so the column need not be converted.
    if (IsNumeric(ta) && IsNumeric(tb) && !ta.Equals(tb)) {
      if (b.constant && !a.constant && IsInt(ta) && IsInt(tb)) {
        auto cast = b.constant->CastTo(a.type);
        auto back = cast.ok() ? (*cast)->CastTo(b.type) : cast;
        if (back.ok() && (*back)->Equals(*b.constant)) {
          ARROW_ASSIGN_OR_RAISE(b, Constant(*cast, b.offset));
        }
      } else if (a.constant && !b.constant && IsInt(ta) && IsInt(tb)) {
        auto cast = a.constant->CastTo(b.type);
        auto back = cast.ok() ? (*cast)->CastTo(a.type) : cast;
        if (back.ok() && (*back)->Equals(*a.constant)) {
          ARROW_ASSIGN_OR_RAISE(a, Constant(*cast, a.offset));
        }
      }
    }
    return MakeCall(offset, kFunctions.at(op), {a, b}, nullptr, "operator " + op);
  }

  arrow::Result<Typed> CompileBinary(const Node& n) {
    ARROW_ASSIGN_OR_RAISE(auto a, Compile(*n.args[0]));
    ARROW_ASSIGN_OR_RAISE(auto b, Compile(*n.args[1]));
    const std::string& op = n.name;
    if (op == "AND" || op == "OR") {
      ARROW_ASSIGN_OR_RAISE(a, Boolean(a, "the left operand of " + op));
      ARROW_ASSIGN_OR_RAISE(b, Boolean(b, "the right operand of " + op));
      return MakeCall(n.offset, op == "AND" ? "and_kleene" : "or_kleene", {a, b}, nullptr,
                      op);
    }
    if (op == "=" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=") {
      return Comparison(n.offset, op, a, b);
    }
    if (op == "||") return Concat(n.offset, {a, b}, "operator ||");
    // Arithmetic.
    ARROW_RETURN_NOT_OK(MatchNulls(&a, &b));
    if (IsNullType(*a.type)) {
      ARROW_ASSIGN_OR_RAISE(a, CastTo(a, arrow::int64()));
      ARROW_ASSIGN_OR_RAISE(b, CastTo(b, arrow::int64()));
    }
    bool temporal_ok = (op == "-" && IsTemporal(*a.type) && IsTemporal(*b.type));
    if (!temporal_ok && (!IsNumeric(*a.type) || !IsNumeric(*b.type))) {
      return Error(n.offset, "operator " + op + " expects numbers, got " +
                                 TypeString(*a.type) + " and " + TypeString(*b.type) +
                                 (IsString(*a.type) && IsString(*b.type) && op == "+"
                                      ? " (use || to concatenate strings)"
                                      : ""));
    }
    if (op == "%") {
      if (IsDecimal(*a.type) || IsDecimal(*b.type)) {
        return Error(n.offset, "operator % is not defined for decimals (CAST to double)");
      }
      TypePtr common;
      ARROW_ASSIGN_OR_RAISE(auto both, Unify({a, b}, "operator %", &common));
      return MakeCall(n.offset, "jetflow_mod", both, nullptr, "operator %");
    }
    ARROW_RETURN_NOT_OK(MatchDecimals(&a, &b));
    static const std::map<std::string, std::string> kFunctions = {
        {"+", "add_checked"},
        {"-", "subtract_checked"},
        {"*", "multiply_checked"},
        {"/", "divide_checked"}};
    return MakeCall(n.offset, kFunctions.at(op), {a, b}, nullptr, "operator " + op);
  }

  arrow::Result<Typed> Concat(int offset, std::vector<Typed> args,
                              const std::string& what) {
    bool large = false;
    for (auto& a : args) {
      if (a.type->id() == arrow::Type::LARGE_STRING) large = true;
    }
    for (auto& a : args) {
      if (IsString(*a.type)) {
        ARROW_ASSIGN_OR_RAISE(a, CastTo(a, large ? arrow::large_utf8() : arrow::utf8()));
      } else if (IsNumeric(*a.type) || IsBool(*a.type) || IsTemporal(*a.type) ||
                 IsNullType(*a.type)) {
        ARROW_ASSIGN_OR_RAISE(a, CastTo(a, large ? arrow::large_utf8() : arrow::utf8()));
      } else {
        return Error(a.offset,
                     what + " cannot convert " + TypeString(*a.type) + " to a string");
      }
    }
    auto separator =
        large ? std::make_shared<arrow::LargeStringScalar>("")
              : std::shared_ptr<arrow::Scalar>(std::make_shared<arrow::StringScalar>(""));
    ARROW_ASSIGN_OR_RAISE(auto sep, Constant(separator, offset));
    args.push_back(sep);
    return MakeCall(offset, "binary_join_element_wise", args,
                    std::make_shared<cp::JoinOptions>(), what);
  }

  arrow::Result<Typed> CompileIn(const Node& n) {
    ARROW_ASSIGN_OR_RAISE(auto left, Compile(*n.args[0]));
    std::vector<Typed> items;
    bool all_constant = true;
    for (size_t i = 1; i < n.args.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto item, Compile(*n.args[i]));
      all_constant = all_constant && item.constant;
      items.push_back(item);
    }
    Typed result;
    if (all_constant && !IsNullType(*left.type)) {
      // Try the column's own type for the value set; otherwise a common type.
      TypePtr type = left.type;
      for (const auto& item : items) {
        if (IsNullType(*item.type)) continue;
        auto fits = CastTo(item, type);
        auto back = fits.ok()
                        ? fits->constant->CastTo(item.type)
                        : arrow::Result<std::shared_ptr<arrow::Scalar>>(fits.status());
        if (!back.ok() || !(*back)->Equals(*item.constant)) {
          std::vector<Typed> all = items;
          all.push_back(left);
          TypePtr common;
          ARROW_RETURN_NOT_OK(Unify(all, "IN list", &common).status());
          type = common;
          break;
        }
      }
      ARROW_ASSIGN_OR_RAISE(left, CastTo(left, type));
      std::unique_ptr<arrow::ArrayBuilder> builder;
      ARROW_RETURN_NOT_OK(
          arrow::MakeBuilder(arrow::default_memory_pool(), type, &builder));
      for (const auto& item : items) {
        ARROW_ASSIGN_OR_RAISE(auto cast, CastTo(item, type));
        ARROW_RETURN_NOT_OK(builder->AppendScalar(*cast.constant));
      }
      ARROW_ASSIGN_OR_RAISE(auto value_set, builder->Finish());
      auto options = std::make_shared<cp::SetLookupOptions>(
          value_set, cp::SetLookupOptions::INCONCLUSIVE);
      ARROW_ASSIGN_OR_RAISE(result, MakeCall(n.offset, "is_in", {left}, options, "IN"));
    } else {
      for (size_t i = 0; i < items.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto eq, Comparison(items[i].offset, "=", left, items[i]));
        if (i == 0) {
          result = eq;
        } else {
          ARROW_ASSIGN_OR_RAISE(result, MakeCall(n.offset, "or_kleene", {result, eq}));
        }
      }
    }
    if (n.negated) return MakeCall(n.offset, "invert", {result});
    return result;
  }

  arrow::Result<Typed> CompileBetween(const Node& n) {
    ARROW_ASSIGN_OR_RAISE(auto v, Compile(*n.args[0]));
    ARROW_ASSIGN_OR_RAISE(auto low, Compile(*n.args[1]));
    ARROW_ASSIGN_OR_RAISE(auto high, Compile(*n.args[2]));
    ARROW_ASSIGN_OR_RAISE(auto ge, Comparison(n.offset, ">=", v, low));
    ARROW_ASSIGN_OR_RAISE(auto le, Comparison(n.offset, "<=", v, high));
    ARROW_ASSIGN_OR_RAISE(auto both, MakeCall(n.offset, "and_kleene", {ge, le}));
    if (n.negated) return MakeCall(n.offset, "invert", {both});
    return both;
  }

  arrow::Result<Typed> CompileLike(const Node& n) {
    ARROW_ASSIGN_OR_RAISE(auto v, Compile(*n.args[0]));
    ARROW_ASSIGN_OR_RAISE(auto p, Compile(*n.args[1]));
    ARROW_ASSIGN_OR_RAISE(v, StringArg(v, "LIKE"));
    ARROW_ASSIGN_OR_RAISE(auto pattern, ConstantString(p, "the LIKE pattern"));
    ARROW_ASSIGN_OR_RAISE(
        auto match,
        MakeCall(n.offset, "match_like", {v},
                 std::make_shared<cp::MatchSubstringOptions>(pattern), "LIKE"));
    if (n.negated) return MakeCall(n.offset, "invert", {match});
    return match;
  }

  arrow::Result<Typed> CompileCase(const Node& n) {
    size_t pairs = n.args.size() / 2;
    std::vector<Typed> conditions;
    std::vector<Typed> values;
    for (size_t i = 0; i < pairs; ++i) {
      ARROW_ASSIGN_OR_RAISE(auto c, Compile(*n.args[2 * i]));
      ARROW_ASSIGN_OR_RAISE(c, Boolean(c, "a WHEN condition"));
      conditions.push_back(c);
      ARROW_ASSIGN_OR_RAISE(auto v, Compile(*n.args[2 * i + 1]));
      values.push_back(v);
    }
    if (n.has_else) {
      ARROW_ASSIGN_OR_RAISE(auto v, Compile(*n.args.back()));
      values.push_back(v);
    }
    TypePtr common;
    ARROW_ASSIGN_OR_RAISE(values, Unify(values, "CASE result", &common));
    if (IsNullType(*common))
      return Constant(std::make_shared<arrow::NullScalar>(), n.offset);
    std::vector<std::string> names;
    for (size_t i = 0; i < conditions.size(); ++i)
      names.push_back("c" + std::to_string(i));
    ARROW_ASSIGN_OR_RAISE(
        auto conds, MakeCall(n.offset, "make_struct", conditions,
                             std::make_shared<cp::MakeStructOptions>(names), "CASE"));
    std::vector<Typed> args = {conds};
    args.insert(args.end(), values.begin(), values.end());
    return MakeCall(n.offset, "case_when", args, nullptr, "CASE");
  }

  arrow::Result<TypePtr> ParseType(const Node& n) {
    // The shared type grammar (core/type_name.h, docs/types.md), spelled as the parser
    // tokenised it: a name and optional integer parameters.
    std::string text = n.type_name;
    for (size_t i = 0; i < n.type_params.size(); ++i) {
      text += (i == 0 ? "(" : ", ") + std::to_string(n.type_params[i]);
    }
    if (!n.type_params.empty()) text += ")";
    // Bare `timestamp` is timestamp[us, UTC] in the grammar but was a naive timestamp in
    // CAST: refused rather than silently given another meaning.
    if (text == "timestamp") {
      return Error(n.type_offset,
                   "CAST to bare 'timestamp' is ambiguous: write timestamp(6) for "
                   "timestamp[us] without a time zone, or timestamptz for "
                   "timestamp[us, UTC]");
    }
    auto type = ParseTypeName(text);
    if (!type.ok()) return Error(n.type_offset, type.status().message());
    return type;
  }

  arrow::Result<Typed> CompileCast(const Node& n) {
    ARROW_ASSIGN_OR_RAISE(auto v, Compile(*n.args[0]));
    ARROW_ASSIGN_OR_RAISE(auto type, ParseType(n));
    if (v.type->Equals(*type)) return v;
    if (!IsNullType(*v.type) && !cp::CanCast(*v.type, *type)) {
      return Error(n.offset,
                   "cannot CAST " + TypeString(*v.type) + " to " + TypeString(*type));
    }
    if (IsString(*v.type)) {
      ARROW_ASSIGN_OR_RAISE(v, StringArg(v, "CAST"));
    }
    if (!n.try_cast) {
      if (v.constant) {
        auto cast = cp::Cast(arrow::Datum(v.constant), type);
        if (!cast.ok()) {
          return Error(n.offset, "cannot CAST constant: " + cast.status().message());
        }
        return Constant(cast->scalar(), n.offset);
      }
      return MakeCall(n.offset, "cast", {v},
                      std::make_shared<cp::CastOptions>(cp::CastOptions::Safe(type)),
                      "CAST");
    }
    ARROW_ASSIGN_OR_RAISE(auto target, Constant(arrow::MakeNullScalar(type), n.offset));
    return MakeCall(n.offset, "jetflow_try_cast", {v, target}, nullptr, "TRY_CAST");
  }

  // --- functions ---

  Status CheckArity(const Node& n, size_t min, size_t max) {
    if (n.args.size() >= min && n.args.size() <= max) return Status::OK();
    std::string expected =
        min == max
            ? std::to_string(min)
            : std::to_string(min) + " to " +
                  (max == SIZE_MAX ? std::string("any number of") : std::to_string(max));
    return Error(n.offset, n.name + "() expects " + expected + " argument" +
                               (max == 1 && min == 1 ? "" : "s") + ", got " +
                               std::to_string(n.args.size()));
  }

  // Runs a function with a constant argument (a regex, a time zone) once at compile
  // time on a one-row probe so that a bad constant is reported at its own location.
  Status Probe(const Typed& constant_arg, const std::string& function,
               const TypePtr& probe_type, std::shared_ptr<arrow::Scalar> probe_value,
               std::shared_ptr<cp::FunctionOptions> options, const std::string& what) {
    ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*probe_value, 1));
    if (!array->type()->Equals(*probe_type)) {
      ARROW_ASSIGN_OR_RAISE(auto cast, cp::Cast(*array, probe_type));
      array = cast;
    }
    auto result = cp::CallFunction(function, {array}, options.get());
    if (!result.ok()) {
      return Error(constant_arg.offset,
                   "invalid " + what + ": " + result.status().message());
    }
    return Status::OK();
  }

  arrow::Result<Typed> Regex(const Node& n, const Typed& pattern_arg,
                             const std::string& function,
                             std::shared_ptr<cp::FunctionOptions> options, Typed s) {
    ARROW_RETURN_NOT_OK(Probe(pattern_arg, function, arrow::utf8(),
                              std::make_shared<arrow::StringScalar>(""), options,
                              "regular expression"));
    return MakeCall(n.offset, function, {s}, options, n.name + "()");
  }

  // Rewrites `pattern` so that capture group `group` (0 = the whole match) is named
  // and every other unnamed group is non-capturing: Arrow's extract_regex returns named
  // groups only and rejects unnamed ones.
  arrow::Result<std::string> NameGroup(const std::string& pattern, int64_t group,
                                       const Typed& at) {
    const std::string kName = "jetflow_group";
    std::string out;
    int64_t count = 0;
    bool found = group == 0;
    bool in_class = false;
    for (size_t i = 0; i < pattern.size(); ++i) {
      char c = pattern[i];
      out.push_back(c);
      if (c == '\\') {
        if (i + 1 < pattern.size()) out.push_back(pattern[++i]);
        continue;
      }
      if (in_class) {
        if (c == ']') in_class = false;
        continue;
      }
      if (c == '[') {
        in_class = true;
        if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
        continue;
      }
      if (c != '(') continue;
      bool named = pattern.compare(i + 1, 3, "?P<") == 0 ||
                   (pattern.compare(i + 1, 2, "?<") == 0 &&
                    pattern.compare(i + 1, 3, "?<=") != 0 &&
                    pattern.compare(i + 1, 3, "?<!") != 0);
      bool capturing = named || i + 1 >= pattern.size() || pattern[i + 1] != '?';
      if (!capturing) continue;
      if (++count == group) {
        found = true;
        if (named) {  // replace the user's name by ours
          size_t close = pattern.find('>', i);
          if (close == std::string::npos) break;
          i = close;
        }
        out += "?P<" + kName + ">";
      } else if (!named) {
        out += "?:";
      }
    }
    if (!found) {
      return Error(at.offset,
                   "the pattern has no capture group " + std::to_string(group));
    }
    if (group == 0) return "(?P<" + kName + ">" + out + ")";
    return out;
  }

  arrow::Result<Typed> Temporal(const Typed& v, const std::string& function) {
    if (IsNullType(*v.type)) return CastTo(v, arrow::timestamp(arrow::TimeUnit::MICRO));
    if (!IsTemporal(*v.type)) {
      return Error(v.offset,
                   function + " expects a date or timestamp, got " + TypeString(*v.type));
    }
    return v;
  }

  arrow::Result<Typed> Timestamp(const Typed& v, const std::string& function) {
    if (IsNullType(*v.type)) return CastTo(v, arrow::timestamp(arrow::TimeUnit::MICRO));
    if (IsDate(*v.type)) return CastTo(v, arrow::timestamp(arrow::TimeUnit::MICRO));
    if (!IsTimestamp(*v.type)) {
      return Error(v.offset,
                   function + " expects a timestamp, got " + TypeString(*v.type));
    }
    return v;
  }

  arrow::Result<Typed> DatePart(const Node& n, const std::string& field, const Typed& at,
                                const Typed& value) {
    ARROW_ASSIGN_OR_RAISE(auto v, Temporal(value, n.name + "()"));
    static const std::map<std::string, std::string> kSimple = {
        {"year", "year"},
        {"quarter", "quarter"},
        {"month", "month"},
        {"week", "iso_week"},
        {"day", "day"},
        {"doy", "day_of_year"},
        {"dayofyear", "day_of_year"},
        {"day_of_year", "day_of_year"},
        {"hour", "hour"},
        {"minute", "minute"},
        {"second", "second"},
        {"millisecond", "millisecond"},
        {"microsecond", "microsecond"}};
    auto it = kSimple.find(field);
    if (it != kSimple.end()) {
      bool time_of_day = field == "hour" || field == "minute" || field == "second" ||
                         field == "millisecond" || field == "microsecond";
      if (time_of_day && IsDate(*v.type)) {
        return Error(value.offset, field + " of a date is not defined");
      }
      return MakeCall(n.offset, it->second, {v}, nullptr, n.name + "()");
    }
    if (field == "dow" || field == "dayofweek" || field == "day_of_week") {
      return MakeCall(n.offset, "day_of_week", {v},
                      std::make_shared<cp::DayOfWeekOptions>(true, 7), n.name + "()");
    }
    if (field == "isodow") {
      return MakeCall(n.offset, "day_of_week", {v},
                      std::make_shared<cp::DayOfWeekOptions>(false, 1), n.name + "()");
    }
    if (field == "epoch") {
      ARROW_ASSIGN_OR_RAISE(v, Timestamp(v, n.name + "()"));
      const auto& ts = static_cast<const arrow::TimestampType&>(*v.type);
      auto options = std::make_shared<cp::CastOptions>(cp::CastOptions::Safe(
          arrow::timestamp(arrow::TimeUnit::SECOND, ts.timezone())));
      options->allow_time_truncate = true;
      ARROW_ASSIGN_OR_RAISE(auto seconds, MakeCall(n.offset, "cast", {v}, options));
      return CastTo(seconds, arrow::int64());
    }
    static const std::vector<std::string> kAll = {
        "year",   "quarter", "month",  "week",   "day",         "doy",         "dow",
        "isodow", "hour",    "minute", "second", "millisecond", "microsecond", "epoch"};
    auto match = ClosestMatch(field, kAll);
    return Error(at.offset, "unknown date part '" + field + "'" +
                                (match ? " (did you mean '" + *match + "'?)" : ""));
  }

  arrow::Result<Typed> CompileCall(const Node& n) {
    const std::string& f = n.name;
    std::vector<Typed> a;
    for (const auto& arg : n.args) {
      ARROW_ASSIGN_OR_RAISE(auto v, Compile(*arg));
      a.push_back(std::move(v));
    }
    std::string fn = f + "()";
    if (f == "lower" || f == "upper") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 1));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      return MakeCall(n.offset, f == "lower" ? "utf8_lower" : "utf8_upper", {s}, nullptr,
                      fn);
    }
    if (f == "trim" || f == "ltrim" || f == "rtrim") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 2));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      std::string prefix = f == "trim"    ? "utf8_trim"
                           : f == "ltrim" ? "utf8_ltrim"
                                          : "utf8_rtrim";
      if (a.size() == 1)
        return MakeCall(n.offset, prefix + "_whitespace", {s}, nullptr, fn);
      ARROW_ASSIGN_OR_RAISE(auto chars, ConstantString(a[1], "the characters to trim"));
      return MakeCall(n.offset, prefix, {s}, std::make_shared<cp::TrimOptions>(chars),
                      fn);
    }
    if (f == "length" || f == "char_length") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 1));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      return MakeCall(n.offset, "utf8_length", {s}, nullptr, fn);
    }
    if (f == "substring" || f == "substr") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 3));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(int64_t start, ConstantInt(a[1], "the start position"));
      if (start == 0) {
        return Error(a[1].offset,
                     "positions are 1-based (1 is the first character; "
                     "negative positions count from the end)");
      }
      int64_t from = start > 0 ? start - 1 : start;
      int64_t to = std::numeric_limits<int64_t>::max();
      if (a.size() == 3) {
        ARROW_ASSIGN_OR_RAISE(int64_t len, ConstantInt(a[2], "the length"));
        if (len < 0) return Error(a[2].offset, "the length must not be negative");
        if (start > 0 || from + len < 0) to = from + len;
      }
      return MakeCall(n.offset, "utf8_slice_codeunits", {s},
                      std::make_shared<cp::SliceOptions>(from, to), fn);
    }
    if (f == "replace") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 3, 3));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto from, ConstantString(a[1], "the text to replace"));
      ARROW_ASSIGN_OR_RAISE(auto to, ConstantString(a[2], "the replacement"));
      if (from.empty())
        return Error(a[1].offset, "the text to replace must not be empty");
      return MakeCall(n.offset, "replace_substring", {s},
                      std::make_shared<cp::ReplaceSubstringOptions>(from, to), fn);
    }
    if (f == "concat") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, SIZE_MAX));
      return Concat(n.offset, a, fn);
    }
    if (f == "regexp_like" || f == "regexp_match") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto pattern, ConstantString(a[1], "the pattern"));
      return Regex(n, a[1], "match_substring_regex",
                   std::make_shared<cp::MatchSubstringOptions>(pattern), s);
    }
    if (f == "regexp_replace") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 3, 3));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto pattern, ConstantString(a[1], "the pattern"));
      ARROW_ASSIGN_OR_RAISE(auto replacement, ConstantString(a[2], "the replacement"));
      return Regex(n, a[1], "replace_substring_regex",
                   std::make_shared<cp::ReplaceSubstringOptions>(pattern, replacement),
                   s);
    }
    if (f == "regexp_extract") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 3));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto pattern, ConstantString(a[1], "the pattern"));
      int64_t group = 0;
      if (a.size() == 3) {
        ARROW_ASSIGN_OR_RAISE(group, ConstantInt(a[2], "the group number"));
        if (group < 0) return Error(a[2].offset, "the group number must be >= 0");
      }
      // Check the user's pattern as written first, so errors do not show our rewrite.
      ARROW_RETURN_NOT_OK(Probe(a[1], "match_substring_regex", arrow::utf8(),
                                std::make_shared<arrow::StringScalar>(""),
                                std::make_shared<cp::MatchSubstringOptions>(pattern),
                                "regular expression"));
      ARROW_ASSIGN_OR_RAISE(auto named,
                            NameGroup(pattern, group, a[a.size() == 3 ? 2 : 1]));
      ARROW_ASSIGN_OR_RAISE(
          auto extracted, MakeCall(n.offset, "extract_regex", {s},
                                   std::make_shared<cp::ExtractRegexOptions>(named), fn));
      return MakeCall(
          n.offset, "struct_field", {extracted},
          std::make_shared<cp::StructFieldOptions>(arrow::FieldRef("jetflow_group")), fn);
    }
    if (f == "split") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto sep, ConstantString(a[1], "the separator"));
      if (sep.empty()) return Error(a[1].offset, "the separator must not be empty");
      return MakeCall(n.offset, "split_pattern", {s},
                      std::make_shared<cp::SplitPatternOptions>(sep), fn);
    }
    if (f == "split_part") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 3, 3));
      ARROW_ASSIGN_OR_RAISE(auto s, Utf8Arg(a[0], fn));
      ARROW_RETURN_NOT_OK(ConstantString(a[1], "the separator").status());
      ARROW_ASSIGN_OR_RAISE(int64_t index, ConstantInt(a[2], "the field number"));
      if (index == 0)
        return Error(a[2].offset, "field numbers are 1-based (or negative)");
      ARROW_ASSIGN_OR_RAISE(auto sep, CastTo(a[1], arrow::utf8()));
      ARROW_ASSIGN_OR_RAISE(auto idx, CastTo(a[2], arrow::int64()));
      return MakeCall(n.offset, "jetflow_split_part", {s, sep, idx}, nullptr, fn);
    }
    if (f == "starts_with" || f == "ends_with" || f == "contains") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto s, StringArg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto pattern, ConstantString(a[1], "the " + f + " text"));
      return MakeCall(n.offset, f == "contains" ? "match_substring" : f, {s},
                      std::make_shared<cp::MatchSubstringOptions>(pattern), fn);
    }
    if (f == "abs") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 1));
      if (!IsNumeric(*a[0].type)) {
        return Error(a[0].offset,
                     "abs() expects a number, got " + TypeString(*a[0].type));
      }
      return MakeCall(n.offset, "abs_checked", {a[0]}, nullptr, fn);
    }
    if (f == "round" || f == "floor" || f == "ceil" || f == "ceiling") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, f == "round" ? 2 : 1));
      if (!IsNumeric(*a[0].type)) {
        return Error(a[0].offset,
                     fn + " expects a number, got " + TypeString(*a[0].type));
      }
      int64_t digits = 0;
      if (a.size() == 2) {
        ARROW_ASSIGN_OR_RAISE(digits, ConstantInt(a[1], "the digits"));
        if (digits < -38 || digits > 38) {
          return Error(a[1].offset, "the digits must be between -38 and 38");
        }
      }
      if (IsInt(*a[0].type) && digits >= 0) return a[0];
      if (f == "round") {
        return MakeCall(n.offset, "round", {a[0]},
                        std::make_shared<cp::RoundOptions>(
                            digits, cp::RoundMode::HALF_TOWARDS_INFINITY),
                        fn);
      }
      return MakeCall(n.offset, f == "floor" ? "floor" : "ceil", {a[0]}, nullptr, fn);
    }
    if (f == "least" || f == "greatest") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, SIZE_MAX));
      TypePtr common;
      ARROW_ASSIGN_OR_RAISE(auto values, Unify(a, fn, &common));
      return MakeCall(n.offset, f == "least" ? "min_element_wise" : "max_element_wise",
                      values, std::make_shared<cp::ElementWiseAggregateOptions>(true),
                      fn);
    }
    if (f == "coalesce") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, SIZE_MAX));
      TypePtr common;
      ARROW_ASSIGN_OR_RAISE(auto values, Unify(a, fn, &common));
      if (IsNullType(*common)) return values[0];
      return MakeCall(n.offset, "coalesce", values, nullptr, fn);
    }
    if (f == "if") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 3, 3));
      ARROW_ASSIGN_OR_RAISE(auto c, Boolean(a[0], "the condition of if()"));
      // Like CASE WHEN: a NULL condition selects the else branch (Arrow's if_else
      // would return NULL).
      ARROW_ASSIGN_OR_RAISE(auto no, Constant(arrow::MakeScalar(false), n.offset));
      ARROW_ASSIGN_OR_RAISE(c, MakeCall(n.offset, "coalesce", {c, no}));
      TypePtr common;
      ARROW_ASSIGN_OR_RAISE(auto values, Unify({a[1], a[2]}, fn, &common));
      if (IsNullType(*common)) return values[0];
      return MakeCall(n.offset, "if_else", {c, values[0], values[1]}, nullptr, fn);
    }
    if (f == "nullif") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto eq, Comparison(n.offset, "=", a[0], a[1]));
      // NULL when equal; a NULL comparison (either side NULL) keeps the first value.
      ARROW_ASSIGN_OR_RAISE(
          auto is_equal, MakeCall(n.offset, "coalesce",
                                  {eq, *Constant(arrow::MakeScalar(false), n.offset)}));
      ARROW_ASSIGN_OR_RAISE(auto null_value,
                            Constant(arrow::MakeNullScalar(a[0].type), n.offset));
      return MakeCall(n.offset, "if_else", {is_equal, null_value, a[0]}, nullptr, fn);
    }
    if (f == "xxhash64" || f == "sha256") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 2));
      Typed v = a[0];
      if (IsString(*v.type) || IsNullType(*v.type)) {
        // Hashes read bytes; they need no UTF-8 validation.
        ARROW_ASSIGN_OR_RAISE(v, CastTo(v, arrow::utf8()));
      } else if (IsBinary(*v.type)) {
        ARROW_ASSIGN_OR_RAISE(v, CastTo(v, arrow::binary()));
      } else if (IsSignedInt(*v.type) ||
                 (IsUnsignedInt(*v.type) && v.type->id() != arrow::Type::UINT64)) {
        ARROW_ASSIGN_OR_RAISE(v, CastTo(v, arrow::int64()));
      } else {
        return Error(v.offset, fn + " hashes strings, binary and integers, got " +
                                   TypeString(*v.type) +
                                   " (CAST it to a string first, knowing the text form)");
      }
      Typed salt;
      if (a.size() == 2) {
        ARROW_RETURN_NOT_OK(ConstantString(a[1], "the salt").status());
        ARROW_ASSIGN_OR_RAISE(salt, CastTo(a[1], arrow::utf8()));
      } else {
        ARROW_ASSIGN_OR_RAISE(
            salt, Constant(std::make_shared<arrow::StringScalar>(""), n.offset));
      }
      return MakeCall(n.offset, "jetflow_" + f, {v, salt}, nullptr, fn);
    }
    if (f == "env") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 1));
      ARROW_ASSIGN_OR_RAISE(auto name, ConstantString(a[0], "the variable name"));
      std::optional<std::string> value;
      if (environment_.getenv) {
        value = environment_.getenv(name);
      } else if (const char* v = std::getenv(name.c_str())) {
        value = std::string(v);
      }
      if (!value) {
        return Error(a[0].offset, "environment variable " + name + " is not set");
      }
      return Constant(std::make_shared<arrow::StringScalar>(*value), n.offset);
    }
    if (f == "date_trunc") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto unit_name, ConstantString(a[0], "the unit"));
      ARROW_ASSIGN_OR_RAISE(auto v, Temporal(a[1], fn));
      static const std::vector<std::pair<std::string, cp::CalendarUnit>> kUnits = {
          {"microsecond", cp::CalendarUnit::MICROSECOND},
          {"millisecond", cp::CalendarUnit::MILLISECOND},
          {"second", cp::CalendarUnit::SECOND},
          {"minute", cp::CalendarUnit::MINUTE},
          {"hour", cp::CalendarUnit::HOUR},
          {"day", cp::CalendarUnit::DAY},
          {"week", cp::CalendarUnit::WEEK},
          {"month", cp::CalendarUnit::MONTH},
          {"quarter", cp::CalendarUnit::QUARTER},
          {"year", cp::CalendarUnit::YEAR}};
      std::vector<std::string> names;
      for (const auto& [name, unit] : kUnits) {
        if (name != unit_name) {
          names.push_back(name);
          continue;
        }
        auto options = std::make_shared<cp::RoundTemporalOptions>(1, unit);
        bool zoned =
            IsTimestamp(*v.type) &&
            !static_cast<const arrow::TimestampType&>(*v.type).timezone().empty();
        if (!zoned || unit > cp::CalendarUnit::HOUR) {
          return MakeCall(n.offset, "floor_temporal", {v}, options, fn);
        }
        // Arrow floors zoned timestamps in local time and converts back, which fails for
        // ambiguous local times (the repeated hour when DST ends). Subtract the local
        // remainder from the instant instead: the UTC offset is kept, so 02:30 CET
        // floors to 02:00 CET, never to 02:00 CEST.
        ARROW_ASSIGN_OR_RAISE(auto local, MakeCall(n.offset, "local_timestamp", {v}));
        ARROW_ASSIGN_OR_RAISE(auto floored,
                              MakeCall(n.offset, "floor_temporal", {local}, options, fn));
        ARROW_ASSIGN_OR_RAISE(auto remainder,
                              MakeCall(n.offset, "subtract", {local, floored}));
        return MakeCall(n.offset, "subtract", {v, remainder}, nullptr, fn);
      }
      auto match = ClosestMatch(unit_name, names);
      return Error(a[0].offset, "unknown unit '" + unit_name + "'" +
                                    (match ? " (did you mean '" + *match + "'?)" : ""));
    }
    if (f == "date_part") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto field, ConstantString(a[0], "the date part"));
      return DatePart(n, field, a[0], a[1]);
    }
    static const std::vector<std::string> kParts = {
        "year",   "quarter", "month",       "week",        "day",         "hour",
        "minute", "second",  "millisecond", "microsecond", "day_of_week", "day_of_year"};
    if (std::find(kParts.begin(), kParts.end(), f) != kParts.end()) {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 1));
      return DatePart(n, f == "day_of_week" ? "isodow" : f, a[0], a[0]);
    }
    if (f == "to_timezone" || f == "convert_tz") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto v, Timestamp(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto zone, ConstantString(a[1], "the time zone"));
      const auto& ts = static_cast<const arrow::TimestampType&>(*v.type);
      auto zoned_type = arrow::timestamp(ts.unit(), zone);
      ARROW_RETURN_NOT_OK(Probe(a[1], "local_timestamp", zoned_type,
                                std::make_shared<arrow::Int64Scalar>(0), nullptr,
                                "time zone"));
      // Naive timestamps are taken to be UTC; changing the zone is metadata only.
      ARROW_ASSIGN_OR_RAISE(auto zoned, CastTo(v, zoned_type));
      return MakeCall(n.offset, "local_timestamp", {zoned}, nullptr, fn);
    }
    if (f == "from_timezone") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 4));
      ARROW_ASSIGN_OR_RAISE(auto v, Timestamp(a[0], fn));
      const auto& ts = static_cast<const arrow::TimestampType&>(*v.type);
      if (!ts.timezone().empty()) {
        return Error(a[0].offset,
                     "from_timezone() expects a local timestamp without a "
                     "time zone, got " +
                         TypeString(*v.type));
      }
      ARROW_ASSIGN_OR_RAISE(auto zone, ConstantString(a[1], "the time zone"));
      auto ambiguous = cp::AssumeTimezoneOptions::AMBIGUOUS_EARLIEST;
      auto nonexistent = cp::AssumeTimezoneOptions::NONEXISTENT_RAISE;
      if (a.size() >= 3) {
        ARROW_ASSIGN_OR_RAISE(auto mode,
                              ConstantString(a[2], "the ambiguous-time policy"));
        if (mode == "earliest") {
          ambiguous = cp::AssumeTimezoneOptions::AMBIGUOUS_EARLIEST;
        } else if (mode == "latest") {
          ambiguous = cp::AssumeTimezoneOptions::AMBIGUOUS_LATEST;
        } else if (mode == "error") {
          ambiguous = cp::AssumeTimezoneOptions::AMBIGUOUS_RAISE;
        } else {
          return Error(a[2].offset, "expected 'earliest', 'latest' or 'error'");
        }
      }
      if (a.size() >= 4) {
        ARROW_ASSIGN_OR_RAISE(auto mode,
                              ConstantString(a[3], "the nonexistent-time policy"));
        if (mode == "earliest") {
          nonexistent = cp::AssumeTimezoneOptions::NONEXISTENT_EARLIEST;
        } else if (mode == "latest") {
          nonexistent = cp::AssumeTimezoneOptions::NONEXISTENT_LATEST;
        } else if (mode == "error") {
          nonexistent = cp::AssumeTimezoneOptions::NONEXISTENT_RAISE;
        } else {
          return Error(a[3].offset, "expected 'earliest', 'latest' or 'error'");
        }
      }
      auto options =
          std::make_shared<cp::AssumeTimezoneOptions>(zone, ambiguous, nonexistent);
      ARROW_RETURN_NOT_OK(Probe(a[1], "assume_timezone", v.type,
                                std::make_shared<arrow::Int64Scalar>(0), options,
                                "time zone"));
      ARROW_ASSIGN_OR_RAISE(auto zoned,
                            MakeCall(n.offset, "assume_timezone", {v}, options, fn));
      return CastTo(zoned, arrow::timestamp(ts.unit(), "UTC"));
    }
    if (f == "json_extract" || f == "json_extract_string" || f == "json_extract_int" ||
        f == "json_extract_double" || f == "json_extract_bool") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 2, 2));
      ARROW_ASSIGN_OR_RAISE(auto s, Utf8Arg(a[0], fn));
      ARROW_ASSIGN_OR_RAISE(auto path, ConstantString(a[1], "the JSON path"));
      std::string pointer;
      auto valid = JsonPathToPointer(path, &pointer);
      if (!valid.ok()) return Error(a[1].offset, "invalid JSON path: " + valid.message());
      ARROW_ASSIGN_OR_RAISE(auto p, CastTo(a[1], arrow::utf8()));
      return MakeCall(n.offset, "jetflow_" + f, {s, p}, nullptr, fn);
    }
    if (f == "json_valid") {
      ARROW_RETURN_NOT_OK(CheckArity(n, 1, 1));
      ARROW_ASSIGN_OR_RAISE(auto s, Utf8Arg(a[0], fn));
      return MakeCall(n.offset, "jetflow_json_valid", {s}, nullptr, fn);
    }
    if (f == "now" || f == "current_timestamp" || f == "current_date" || f == "random" ||
        f == "rand" || f == "uuid") {
      return Error(n.offset,
                   fn + " is not available: expressions must be deterministic so "
                        "that re-running a run instance gives the same output "
                        "(use the run metadata columns instead)");
    }
    auto match = ClosestMatch(f, FunctionNames());
    return Error(n.offset, "unknown function '" + f + "'" +
                               (match ? " (did you mean '" + *match + "'?)" : ""));
  }

 public:
  static const std::vector<std::string>& FunctionNames() {
    static const auto* names = new std::vector<std::string>{"lower",
                                                            "upper",
                                                            "trim",
                                                            "ltrim",
                                                            "rtrim",
                                                            "length",
                                                            "char_length",
                                                            "substring",
                                                            "substr",
                                                            "replace",
                                                            "concat",
                                                            "regexp_like",
                                                            "regexp_match",
                                                            "regexp_replace",
                                                            "regexp_extract",
                                                            "split",
                                                            "split_part",
                                                            "starts_with",
                                                            "ends_with",
                                                            "contains",
                                                            "abs",
                                                            "round",
                                                            "floor",
                                                            "ceil",
                                                            "ceiling",
                                                            "least",
                                                            "greatest",
                                                            "coalesce",
                                                            "if",
                                                            "nullif",
                                                            "xxhash64",
                                                            "sha256",
                                                            "env",
                                                            "date_trunc",
                                                            "date_part",
                                                            "year",
                                                            "quarter",
                                                            "month",
                                                            "week",
                                                            "day",
                                                            "hour",
                                                            "minute",
                                                            "second",
                                                            "millisecond",
                                                            "microsecond",
                                                            "day_of_week",
                                                            "day_of_year",
                                                            "to_timezone",
                                                            "convert_tz",
                                                            "from_timezone",
                                                            "json_extract",
                                                            "json_extract_string",
                                                            "json_extract_int",
                                                            "json_extract_double",
                                                            "json_extract_bool",
                                                            "json_valid"};
    return *names;
  }

  std::vector<std::pair<cp::Expression, int>> TakeSteps() { return std::move(steps_); }

 private:
  const ExpressionSource& source_;
  const arrow::Schema& schema_;
  const ExpressionEnvironment& environment_;
  std::vector<std::pair<cp::Expression, int>> steps_;
};

arrow::Result<std::shared_ptr<arrow::Array>> CompiledExpressionImpl::Run(
    const arrow::RecordBatch& batch) const {
  if (constant_) return arrow::MakeArrayFromScalar(*constant_, batch.num_rows());
  cp::ExecBatch input(batch);
  ARROW_ASSIGN_OR_RAISE(auto result, cp::ExecuteScalarExpression(bound_, input));
  if (result.is_scalar()) {
    return arrow::MakeArrayFromScalar(*result.scalar(), batch.num_rows());
  }
  return result.make_array();
}

arrow::Result<std::shared_ptr<arrow::Array>> CompiledExpressionImpl::Evaluate(
    const arrow::RecordBatch& batch) const {
  if (batch.schema().get() != schema_.get() &&
      !batch.schema()->Equals(*schema_, /*check_metadata=*/false)) {
    return Status::Invalid(LocatedMessage(
        source_, 0,
        "batch schema differs from the schema the expression was compiled for: " +
            batch.schema()->ToString() + " vs " + schema_->ToString()));
  }
  auto result = Run(batch);
  if (result.ok()) return result;
  // Find the first failing row: the shortest failing prefix (failures are row-local).
  int64_t low = 1;
  int64_t high = batch.num_rows();
  while (low < high) {
    int64_t mid = low + (high - low) / 2;
    if (Run(*batch.Slice(0, mid)).ok()) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  std::string message = "error evaluating the expression";
  int offset = 0;
  if (batch.num_rows() > 0) {
    int64_t row = high - 1;
    message += " at row " + std::to_string(row);
    cp::ExecBatch one_row(*batch.Slice(row, 1));
    for (const auto& [step, step_offset] : steps_) {
      if (!cp::ExecuteScalarExpression(step, one_row).ok()) {
        offset = step_offset;
        break;
      }
    }
  }
  message += ": " + result.status().message();
  return Status(result.status().code(), LocatedMessage(source_, offset, message));
}

}  // namespace

arrow::Result<std::shared_ptr<CompiledExpression>> CompiledExpression::Compile(
    const ExpressionSource& source, const arrow::Schema& input,
    const ExpressionEnvironment& environment) {
  ARROW_RETURN_NOT_OK(RegisterExpressionKernels());
  ParseError error;
  auto tree = Parse(source.text, &error);
  if (!tree) return Status::Invalid(LocatedMessage(source, error.offset, error.message));
  auto schema = std::make_shared<arrow::Schema>(input.fields(), input.metadata());
  Compiler compiler(source, *schema, environment);
  ARROW_ASSIGN_OR_RAISE(auto typed, compiler.Compile(*tree));
  return std::make_shared<CompiledExpressionImpl>(source, schema, typed.expr, typed.type,
                                                  typed.constant, compiler.TakeSteps());
}

}  // namespace jetflow::expression
