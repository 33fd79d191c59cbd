// Compiler of the expression language: syntax tree -> type-checked, bound Arrow compute
// expression (the steps are described at the top of expression.h). This file walks the
// tree; function calls are lowered by the function table (function_table.h).
#include "jetflow/transforms/expression/expression.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/expression.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/type_name.h"
#include "jetflow/transforms/expression/compile_context.h"
#include "jetflow/transforms/expression/function_table.h"
#include "jetflow/transforms/expression/kernels.h"
#include "jetflow/transforms/expression/parser.h"
#include "jetflow/transforms/expression/type_rules.h"

namespace jetflow::expression {
namespace {

namespace cp = arrow::compute;
using arrow::DataType;
using arrow::Status;

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

class Compiler : public CompileContext {
 public:
  Compiler(const ExpressionSource& source, const arrow::Schema& schema,
           const ExpressionEnvironment& environment, const FunctionTable& functions)
      : CompileContext(source, schema, environment), functions_(functions) {}

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

 private:
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

  // A function call: the arguments are compiled first (their errors come first), then
  // the function table type-checks and lowers the call.
  arrow::Result<Typed> CompileCall(const Node& n) {
    std::vector<Typed> args;
    for (const auto& arg : n.args) {
      ARROW_ASSIGN_OR_RAISE(auto v, Compile(*arg));
      args.push_back(std::move(v));
    }
    const FunctionEntry* function = functions_.Find(n.name);
    if (!function) {
      auto match = ClosestMatch(n.name, functions_.CallableNames());
      return Error(n.offset, "unknown function '" + n.name + "'" +
                                 (match ? " (did you mean '" + *match + "'?)" : ""));
    }
    return CallFunction(*this, *function, CallSite{n.name, n.offset}, args);
  }

  const FunctionTable& functions_;
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
  ARROW_ASSIGN_OR_RAISE(const FunctionTable* functions, BuiltinFunctions());
  Compiler compiler(source, *schema, environment, *functions);
  ARROW_ASSIGN_OR_RAISE(auto typed, compiler.Compile(*tree));
  return std::make_shared<CompiledExpressionImpl>(source, schema, typed.expr, typed.type,
                                                  typed.constant, compiler.TakeSteps());
}

}  // namespace jetflow::expression
