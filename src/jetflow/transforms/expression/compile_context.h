// What the expression compiler offers the code that lowers one piece of syntax: binding
// Arrow calls against the input schema, converting values, the argument checks every
// function needs, and errors located in the expression's text.
//
// The node walker (Compiler in expression.cc) derives from CompileContext; the lowerings
// of the function table (function_table.h) receive it. A CompileContext lives for one
// Compile() call and is used by one thread.
#pragma once

#include <arrow/compute/api.h>
#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/transforms/expression/expression.h"
#include "jetflow/transforms/expression/type_rules.h"

namespace jetflow::expression {

/// A compiled sub-expression: bound, with its type; constants also keep their value.
struct Typed {
  arrow::compute::Expression expr;
  TypePtr type;
  int offset = 0;  // the byte offset in the source text that errors about it point at
  std::shared_ptr<arrow::Scalar> constant;  // set if the value is known at compile time
  std::string column;                       // set for a plain column reference
};

class CompileContext {
 public:
  /// REQUIRES: the arguments outlive the context.
  CompileContext(const ExpressionSource& source, const arrow::Schema& schema,
                 const ExpressionEnvironment& environment)
      : source_(source), schema_(schema), environment_(environment) {}

  /// Invalid, "file:line:col: message" with the caret at byte `offset` of the source.
  arrow::Status Error(int offset, const std::string& message) const;

  /// Binds call(function, args) to learn its type; folds it to a literal when every
  /// argument is a constant. A call that may fail at run time is remembered with
  /// `offset`, so that a runtime error points at it. `what` names the call in the
  /// "is not defined for argument types" error (the function's name by default).
  arrow::Result<Typed> MakeCall(
      int offset, const std::string& function, const std::vector<Typed>& args,
      std::shared_ptr<arrow::compute::FunctionOptions> options = nullptr,
      const std::string& what = "");

  /// A literal of `value`.
  arrow::Result<Typed> Constant(std::shared_ptr<arrow::Scalar> value, int offset);

  /// `v` converted to `type` (a safe cast: failing values are runtime errors).
  arrow::Result<Typed> CastTo(const Typed& v, const TypePtr& type);

  /// Converts every value to one common type; error at the first one that does not fit.
  arrow::Result<std::vector<Typed>> Unify(std::vector<Typed> values,
                                          const std::string& what, TypePtr* common_out);

  /// A string argument of a string function; columns are checked for valid UTF-8.
  arrow::Result<Typed> StringArg(const Typed& v, const std::string& function);

  /// A string argument of one of our own kernels, which take utf8 only.
  arrow::Result<Typed> Utf8Arg(const Typed& v, const std::string& function);

  /// The value of a constant string argument; `what` names it in the error.
  arrow::Result<std::string> ConstantString(const Typed& v, const std::string& what);

  /// The value of a constant integer argument; `what` names it in the error.
  arrow::Result<int64_t> ConstantInt(const Typed& v, const std::string& what);

  /// `v` as a boolean (NULL becomes a boolean NULL); `what` names it in the error.
  arrow::Result<Typed> Boolean(const Typed& v, const std::string& what);

  /// `a op b` for op in = != < <= > >=, with the language's comparison rules.
  arrow::Result<Typed> Comparison(int offset, const std::string& op, Typed a, Typed b);

  /// The concatenation of `args` as text (operator || and concat()).
  arrow::Result<Typed> Concat(int offset, std::vector<Typed> args,
                              const std::string& what);

  /// Runs a function with a constant argument (a regex, a time zone) once at compile
  /// time on a one-row probe so that a bad constant is reported at its own location.
  arrow::Status Probe(const Typed& constant_arg, const std::string& function,
                      const TypePtr& probe_type,
                      std::shared_ptr<arrow::Scalar> probe_value,
                      std::shared_ptr<arrow::compute::FunctionOptions> options,
                      const std::string& what);

  /// The value of an environment variable (ExpressionEnvironment::getenv, else the
  /// process environment).
  std::optional<std::string> GetEnv(const std::string& name) const;

  /// Every sub-expression that may fail at run time, innermost first, with the offset
  /// of its token.
  std::vector<std::pair<arrow::compute::Expression, int>> TakeSteps() {
    return std::move(steps_);
  }

 protected:
  // Decimal arithmetic and comparison with an integer: Arrow needs both sides decimal.
  // A constant integer gets just the digits it needs, so `price + 1` keeps a small
  // precision. With a floating-point operand, the decimal becomes a double.
  arrow::Status MatchDecimals(Typed* a, Typed* b);

  // NULL literals take the other operand's type.
  arrow::Status MatchNulls(Typed* a, Typed* b);

  const ExpressionSource& source_;
  const arrow::Schema& schema_;
  const ExpressionEnvironment& environment_;
  std::vector<std::pair<arrow::compute::Expression, int>> steps_;
};

}  // namespace jetflow::expression
