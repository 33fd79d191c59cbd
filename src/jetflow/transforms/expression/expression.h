// The jetflow expression language: small, SQL-like, vectorized (grammar and functions:
// docs/expressions.md).
//
// An expression is parsed and type-checked against the input schema once, at plan time;
// errors point at file:line:col inside the pipeline YAML. Evaluation runs on whole Arrow
// arrays with Arrow compute kernels — never row by row.
//
// How Compile works:
//  1. The parser (parser.h) turns the text into a syntax tree; each node keeps the byte
//     offset of its token, which every error about the node points at.
//  2. The compiler (expression.cc) walks the tree bottom-up. Each node becomes a bound
//     arrow::compute::Expression as soon as it is built (CompileContext::MakeCall in
//     compile_context.h), so its type is known and a type error points at its own
//     token. A call whose arguments are all constants is evaluated at once and becomes
//     a literal, so a bad constant (1 / 0, a bad regex or time zone) is a compile error.
//  3. Operators and syntax forms (arithmetic, comparison, IN, BETWEEN, LIKE, CASE, CAST)
//     are compiled by the compiler itself, with the type rules of type_rules.h (type
//     classes, the common type of CASE branches and IN lists).
//  4. Function calls go through the function table (function_table.h). The arguments
//     are compiled first; then the function's entry checks the arity, runs one rule per
//     argument in argument order (conversions, "must be a constant" checks), lowers the
//     call to Arrow compute functions (or to the jetflow_* functions of kernels.h where
//     Arrow has none) and checks the result against the entry's result type. Entries are
//     grouped by family in functions_<family>.cc. The "unknown function, did you mean"
//     hint reads the table, and a test keeps docs/expressions.md listing exactly its
//     functions: a new function is one entry plus one row in the docs.
//  5. Every call that can fail at run time is recorded with its offset. Evaluate runs
//     the bound expression once per batch; only after a failure does it bisect for the
//     first failing row and re-run the recorded calls on that row, to point the message
//     at the operator or function that failed.
//
// Threading: a CompiledExpression is immutable after Compile and may be evaluated from
// several threads at once.
#pragma once

#include <arrow/compute/api.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace jetflow::expression {

/// Where an expression's text sits in its file, so errors can point inside it. `line`
/// and `column` (1-based) locate text[0]; a multi-line block scalar gives `indent`, the
/// column of its continuation lines.
struct ExpressionSource {
  std::string text;
  std::string file;
  int line = 1;
  int column = 1;
  int indent = 1;
};

/// What an expression may read besides the batch's columns.
struct ExpressionEnvironment {
  /// Values of environment variables (for salts: `sha256(email, env('PII_SALT'))`);
  /// std::getenv by default. Missing variables are a compile-time error.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

class CompiledExpression {
 public:
  virtual ~CompiledExpression() = default;

  /// Parses and type-checks `source` against `input`. Invalid with file:line:col of the
  /// offending token and what was expected (unknown column with a did-you-mean, unknown
  /// function, wrong argument types, ...).
  static arrow::Result<std::shared_ptr<CompiledExpression>> Compile(
      const ExpressionSource& source, const arrow::Schema& input,
      const ExpressionEnvironment& environment = {});

  /// The type of the result.
  virtual const std::shared_ptr<arrow::DataType>& type() const = 0;

  /// Evaluates on one batch; the result is an array of batch.num_rows() values. Runtime
  /// failures (overflow, a bad cast) are Invalid naming the expression's location and the
  /// first offending row.
  virtual arrow::Result<std::shared_ptr<arrow::Array>> Evaluate(
      const arrow::RecordBatch& batch) const = 0;

  /// The expression as written, for messages and the run summary.
  virtual const ExpressionSource& source() const = 0;
};

/// "file:line:col: message", followed by the expression's line and a caret (^) under
/// the character at byte `offset` of `source.text`. For messages that point inside an
/// expression, e.g. from the stage that uses it.
std::string LocatedMessage(const ExpressionSource& source, int offset,
                           const std::string& message);

}  // namespace jetflow::expression
