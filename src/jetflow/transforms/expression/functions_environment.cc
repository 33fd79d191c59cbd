// What an expression may read from outside the batch: environment variables, as
// compile-time constants (for salts). The clock and randomness are refused, because a
// re-run of a run instance must reproduce its output exactly
// (docs/expressions.md, "Environment" and "Not available").
#include <arrow/api.h>

#include <optional>
#include <string>

#include "jetflow/transforms/expression/function_table.h"

namespace jetflow::expression {

arrow::Status RegisterEnvironmentFunctions(FunctionTable* table) {
  ARROW_RETURN_NOT_OK(
      table->Add({.name = "env",
                  .min_args = 1,
                  .max_args = 1,
                  .arguments = {ConstantText("the variable name")},
                  .result = Returns(arrow::utf8()),
                  .lower = [](CompileContext& context, const CallSite& call,
                              const Arguments& a) -> arrow::Result<Typed> {
                    const std::string& name = a[0].text;
                    std::optional<std::string> value = context.GetEnv(name);
                    if (!value) {
                      return context.Error(a[0].value.offset, "environment variable " +
                                                                  name + " is not set");
                    }
                    return context.Constant(std::make_shared<arrow::StringScalar>(*value),
                                            call.offset);
                  }}));
  for (const char* name :
       {"now", "current_timestamp", "current_date", "random", "rand", "uuid"}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 0,
         .max_args = FunctionEntry::kVariadic,
         .lower = [](CompileContext& context, const CallSite& call,
                     const Arguments&) -> arrow::Result<Typed> {
           return context.Error(call.offset,
                                call.what() +
                                    " is not available: expressions must be "
                                    "deterministic so that re-running a run instance "
                                    "gives the same output (use the run metadata "
                                    "columns instead)");
         },
         .refused = true}));
  }
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
