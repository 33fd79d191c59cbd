// The built-in functions of the expression language, as one table.
//
// Each entry says everything the compiler needs about one function name: how many
// arguments it takes, how each argument is checked and converted (its ArgumentRule),
// the type of its result (its ResultRule), and how a call is lowered to Arrow compute
// (Arrow's own kernels, or the jetflow_* kernels of kernels.h). CallFunction() applies an
// entry to a call: arity, then the argument rules in argument order, then the lowering,
// then a check that the result has the promised type.
//
// The entries are split by family into functions_<family>.cc, each exposing one
// Register<Family>Functions(FunctionTable*), all called from BuiltinFunctions() — in the
// spirit of Arrow's compute function registry. Everything that lists function names (the
// "unknown function, did you mean" hint, the test that keeps docs/expressions.md in step)
// reads this table.
//
// Threading: the table is built once and is immutable afterwards.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jetflow/transforms/expression/compile_context.h"

namespace jetflow::expression {

/// Where a function is called: its name as the parser gives it (lower case; EXTRACT
/// arrives as date_part) and the offset of that name in the source text.
struct CallSite {
  std::string name;
  int offset = 0;

  /// "name()", how messages name the function.
  std::string what() const { return name + "()"; }
};

/// One argument after its rule ran: the value (possibly converted), plus the value of a
/// constant text or integer argument. (Members have initialisers so that designated
/// initialisers may leave them out without -Wmissing-field-initializers.)
struct Argument {
  Typed value{};
  std::string text{};
  int64_t integer = 0;
};

using Arguments = std::vector<Argument>;

/// How one argument is checked and converted. Rules run in argument order, so the
/// first bad argument is the one reported.
using ArgumentRule = std::function<arrow::Result<Argument>(
    CompileContext&, const CallSite&, const Typed&)>;

/// The type of a call's result, given its arguments after their rules ran. CallFunction
/// checks every lowering against it. `type` may return nullptr only for arguments the
/// lowering rejects (no common type); after a successful lowering, nullptr is a broken
/// promise like a wrong type.
struct ResultRule {
  std::string description;  // e.g. "bool", "the type of argument 1"
  std::function<TypePtr(const Arguments&)> type;
};

/// Lowers a call whose arguments passed their rules.
using Lowering = std::function<arrow::Result<Typed>(CompileContext&, const CallSite&,
                                                    const Arguments&)>;

/// Refused entries need only name, arity and lowering; every other entry needs all
/// fields. Entries are written with designated initialisers, hence the `{}`s.
struct FunctionEntry {
  static constexpr size_t kVariadic = std::numeric_limits<size_t>::max();

  std::string name{};
  size_t min_args = 0;
  size_t max_args = 0;  // kVariadic: any number
  /// One rule per argument position; the last one also covers further arguments of a
  /// variadic function.
  std::vector<ArgumentRule> arguments{};
  ResultRule result{};
  Lowering lower{};
  /// A well-known function the language refuses on purpose (now(), random()): its
  /// lowering is the error that says why. Not offered as a "did you mean" hint;
  /// documented under "Not available".
  bool refused = false;
};

class FunctionTable {
 public:
  /// Invalid if the name is taken or the entry is incomplete (a bug in a Register
  /// function).
  arrow::Status Add(FunctionEntry entry);

  /// nullptr if there is no function of that name.
  const FunctionEntry* Find(std::string_view name) const;

  /// The functions that can be called, in registration order ("did you mean" picks the
  /// first of equally close names).
  const std::vector<std::string>& CallableNames() const { return callable_names_; }

  const std::vector<FunctionEntry>& entries() const { return entries_; }

 private:
  std::vector<FunctionEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string> callable_names_;
};

/// The built-in functions, registered on first use. Thread-safe.
arrow::Result<const FunctionTable*> BuiltinFunctions();

/// Type-checks and lowers a call of `function` with its compiled arguments.
arrow::Result<Typed> CallFunction(CompileContext& context, const FunctionEntry& function,
                                  const CallSite& call, const std::vector<Typed>& args);

// The families, one file each (functions_<family>.cc).
arrow::Status RegisterStringFunctions(FunctionTable* table);
arrow::Status RegisterNumericFunctions(FunctionTable* table);
arrow::Status RegisterConditionalFunctions(FunctionTable* table);
arrow::Status RegisterHashingFunctions(FunctionTable* table);
arrow::Status RegisterEnvironmentFunctions(FunctionTable* table);
arrow::Status RegisterTemporalFunctions(FunctionTable* table);
arrow::Status RegisterJsonFunctions(FunctionTable* table);

// --- Argument rules shared by the families ---

/// Any value, unchanged.
ArgumentRule AnyValue();
/// A string (NULL becomes a utf8 NULL); columns are checked for valid UTF-8.
ArgumentRule StringValue();
/// As StringValue, converted to utf8 (for the jetflow_* kernels).
ArgumentRule Utf8Value();
/// A number; `name() expects a number` otherwise.
ArgumentRule NumberValue();
/// A boolean (NULL becomes a boolean NULL); `what` names it in the error.
ArgumentRule BooleanValue(std::string what);
/// A constant string, its value in Argument::text; `what` names it in the error.
ArgumentRule ConstantText(std::string what);
/// A constant string that must be one of `choices`.
ArgumentRule ConstantChoice(std::string what, std::vector<std::string> choices);
/// A constant integer, its value in Argument::integer. `check`, if given, returns the
/// error message for a value out of range.
ArgumentRule ConstantInteger(
    std::string what, std::function<std::optional<std::string>(int64_t)> check = nullptr);

// --- Result rules shared by the families ---

/// Always `type`.
ResultRule Returns(TypePtr type);
/// The type of argument `index` (0-based) after its rule ran.
ResultRule TypeOfArgument(size_t index);
/// The common type (CommonType) of the arguments from `first` on.
ResultRule CommonTypeOfArguments(size_t first);

}  // namespace jetflow::expression
