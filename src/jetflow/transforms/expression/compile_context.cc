#include "jetflow/transforms/expression/compile_context.h"

#include <arrow/api.h>
#include <arrow/compute/cast.h>

#include <cstdlib>
#include <map>

namespace jetflow::expression {

namespace cp = arrow::compute;
using arrow::DataType;
using arrow::Status;

Status CompileContext::Error(int offset, const std::string& message) const {
  return Status::Invalid(LocatedMessage(source_, offset, message));
}

arrow::Result<Typed> CompileContext::MakeCall(
    int offset, const std::string& function, const std::vector<Typed>& args,
    std::shared_ptr<cp::FunctionOptions> options, const std::string& what) {
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

arrow::Result<Typed> CompileContext::Constant(std::shared_ptr<arrow::Scalar> value,
                                              int offset) {
  Typed out;
  out.expr = cp::literal(value);
  ARROW_ASSIGN_OR_RAISE(out.expr, out.expr.Bind(schema_));
  out.type = value->type;
  out.offset = offset;
  out.constant = std::move(value);
  return out;
}

arrow::Result<Typed> CompileContext::CastTo(const Typed& v, const TypePtr& type) {
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

arrow::Result<std::vector<Typed>> CompileContext::Unify(std::vector<Typed> values,
                                                        const std::string& what,
                                                        TypePtr* common_out) {
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

arrow::Result<Typed> CompileContext::StringArg(const Typed& v,
                                               const std::string& function) {
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
        out.expr,
        cp::call("jetflow_check_utf8", {out.expr, cp::literal(v.column)}).Bind(schema_));
    steps_.push_back({out.expr, v.offset});
  }
  out.column.clear();
  return out;
}

arrow::Result<Typed> CompileContext::Utf8Arg(const Typed& v,
                                             const std::string& function) {
  ARROW_ASSIGN_OR_RAISE(auto s, StringArg(v, function));
  return CastTo(s, arrow::utf8());
}

arrow::Result<std::string> CompileContext::ConstantString(const Typed& v,
                                                          const std::string& what) {
  if (!v.constant || !IsString(*v.type) || !v.constant->is_valid) {
    return Error(v.offset, what + " must be a constant string");
  }
  ARROW_ASSIGN_OR_RAISE(auto s, v.constant->CastTo(arrow::utf8()));
  return std::string(static_cast<const arrow::StringScalar&>(*s).view());
}

arrow::Result<int64_t> CompileContext::ConstantInt(const Typed& v,
                                                   const std::string& what) {
  if (!v.constant || !IsInt(*v.type) || !v.constant->is_valid) {
    return Error(v.offset, what + " must be a constant integer");
  }
  ARROW_ASSIGN_OR_RAISE(auto s, v.constant->CastTo(arrow::int64()));
  return static_cast<const arrow::Int64Scalar&>(*s).value;
}

arrow::Result<Typed> CompileContext::Boolean(const Typed& v, const std::string& what) {
  if (IsNullType(*v.type)) return CastTo(v, arrow::boolean());
  if (!IsBool(*v.type)) {
    return Error(v.offset, what + " must be boolean, got " + TypeString(*v.type));
  }
  return v;
}

arrow::Status CompileContext::MatchDecimals(Typed* a, Typed* b) {
  for (auto [x, y] : {std::pair<Typed*, Typed*>{a, b}, std::pair<Typed*, Typed*>{b, a}}) {
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

arrow::Status CompileContext::MatchNulls(Typed* a, Typed* b) {
  if (IsNullType(*a->type) && !IsNullType(*b->type)) {
    ARROW_ASSIGN_OR_RAISE(*a, CastTo(*a, b->type));
  } else if (IsNullType(*b->type) && !IsNullType(*a->type)) {
    ARROW_ASSIGN_OR_RAISE(*b, CastTo(*b, a->type));
  }
  return Status::OK();
}

arrow::Result<Typed> CompileContext::Comparison(int offset, const std::string& op,
                                                Typed a, Typed b) {
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
    return Error(offset, "cannot compare " + TypeString(ta) + " with " + TypeString(tb) +
                             " (use CAST to convert one side)");
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

arrow::Result<Typed> CompileContext::Concat(int offset, std::vector<Typed> args,
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

Status CompileContext::Probe(const Typed& constant_arg, const std::string& function,
                             const TypePtr& probe_type,
                             std::shared_ptr<arrow::Scalar> probe_value,
                             std::shared_ptr<cp::FunctionOptions> options,
                             const std::string& what) {
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

std::optional<std::string> CompileContext::GetEnv(const std::string& name) const {
  if (environment_.getenv) return environment_.getenv(name);
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  return std::nullopt;
}

}  // namespace jetflow::expression
