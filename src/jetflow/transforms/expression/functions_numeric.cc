// Numeric functions: abs and rounding (docs/expressions.md, "Numbers").
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <optional>
#include <string>

#include "jetflow/transforms/expression/function_table.h"

namespace jetflow::expression {
namespace {

namespace cp = arrow::compute;

// round(), floor(), ceil(): integers are already whole for digits >= 0 and come back
// unchanged.
Lowering Rounding(std::string kernel) {
  return [kernel = std::move(kernel)](CompileContext& context, const CallSite& call,
                                      const Arguments& a) -> arrow::Result<Typed> {
    int64_t digits = a.size() == 2 ? a[1].integer : 0;
    if (IsInt(*a[0].value.type) && digits >= 0) return a[0].value;
    if (kernel == "round") {
      return context.MakeCall(call.offset, "round", {a[0].value},
                              std::make_shared<cp::RoundOptions>(
                                  digits, cp::RoundMode::HALF_TOWARDS_INFINITY),
                              call.what());
    }
    return context.MakeCall(call.offset, kernel, {a[0].value}, nullptr, call.what());
  };
}

}  // namespace

arrow::Status RegisterNumericFunctions(FunctionTable* table) {
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "abs",
       .min_args = 1,
       .max_args = 1,
       .arguments = {NumberValue()},
       .result = TypeOfArgument(0),
       .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
         return context.MakeCall(call.offset, "abs_checked", {a[0].value}, nullptr,
                                 call.what());
       }}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "round",
       .min_args = 1,
       .max_args = 2,
       .arguments = {NumberValue(),
                     ConstantInteger("the digits",
                                     [](int64_t digits) -> std::optional<std::string> {
                                       if (digits >= -38 && digits <= 38)
                                         return std::nullopt;
                                       return "the digits must be between -38 and 38";
                                     })},
       .result = TypeOfArgument(0),
       .lower = Rounding("round")}));
  for (auto [name, kernel] :
       {std::pair{"floor", "floor"}, {"ceil", "ceil"}, {"ceiling", "ceil"}}) {
    ARROW_RETURN_NOT_OK(table->Add({.name = name,
                                    .min_args = 1,
                                    .max_args = 1,
                                    .arguments = {NumberValue()},
                                    .result = TypeOfArgument(0),
                                    .lower = Rounding(kernel)}));
  }
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
